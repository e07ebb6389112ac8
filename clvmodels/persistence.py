"""Loading saved models of any kind (JSON point estimates; no pickle, no code execution)."""

from __future__ import annotations

import json
from pathlib import Path

from clvmodels.errors import ModelFileError

__all__ = ["load_model", "read_payload"]


def read_payload(path: str | Path) -> dict:
    """The JSON object stored in a model file, or a :class:`ModelFileError` saying why not.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp(), "x.json")
    >>> _ = path.write_text("[1, 2]")
    >>> read_payload(path)
    Traceback (most recent call last):
    ...
    clvmodels.errors.ModelFileError: ... is not a clvmodels JSON model file: it holds a list, not an object.
    """
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        # binary files (pickles, NetCDF of another program) fail to decode, not to parse
        raise ModelFileError(f"{path} is not a clvmodels JSON model file: {exc}") from None
    if not isinstance(payload, dict):
        raise ModelFileError(
            f"{path} is not a clvmodels JSON model file: it holds a {type(payload).__name__}, not an object."
        )
    return payload


def load_model(path: str | Path):
    """Load a model saved with ``model.save(path)``, whichever model it is.

    JSON files hold point estimates; NetCDF-4 files hold posteriors (written after
    ``model.sample``; see :func:`clvmodels.posterior.load_posterior`). Nothing is unpickled.

    Examples
    --------
    >>> import clvmodels as clv, tempfile, os
    >>> path = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44).save(os.path.join(tempfile.mkdtemp(), "gg.json"))
    >>> load_model(path)
    GammaGamma(p=6.25, q=3.74, gamma=15.44)
    """
    from clvmodels.models import REGISTRY
    from clvmodels.posterior import is_posterior_file, load_posterior

    if is_posterior_file(path):
        # NetCDF-4 posterior written by model.save after model.sample
        return load_posterior(path)
    payload = read_payload(path)
    cls = REGISTRY.get(payload.get("model"))
    if cls is None:
        raise ModelFileError(f"{path} holds an unknown model {payload.get('model')!r}; known: {', '.join(REGISTRY)}.")
    return cls.from_dict(payload)
