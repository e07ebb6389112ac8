"""Loading saved models of any kind (JSON point estimates; no pickle, no code execution)."""

from __future__ import annotations

import json
from pathlib import Path

from clvmodels.errors import ModelFileError

__all__ = ["load_model"]


def load_model(path: str | Path):
    """Load a model saved with ``model.save(path)``, whichever model it is.

    Examples
    --------
    >>> import clvmodels as clv, tempfile, os
    >>> path = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44).save(os.path.join(tempfile.mkdtemp(), "gg.json"))
    >>> load_model(path)
    GammaGamma(p=6.25, q=3.74, gamma=15.44)
    """
    from clvmodels.models import REGISTRY

    try:
        payload = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path} is not a clvmodels JSON model file: {exc}") from None
    cls = REGISTRY.get(payload.get("model"))
    if cls is None:
        raise ModelFileError(f"{path} holds an unknown model {payload.get('model')!r}; known: {', '.join(REGISTRY)}.")
    return cls.from_dict(payload)
