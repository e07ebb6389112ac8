"""The array namespace every model's mathematics is written against.

Each model module writes its log-likelihood and its predictions once, as functions whose
first argument ``xp`` is one of the namespaces below. :data:`numpy` evaluates them eagerly
with NumPy/SciPy (predictions, fixed-parameter likelihoods); :data:`pytensor` builds a
symbolic graph from the very same code (gradients for maximum likelihood, the PyMC model).

Only the operations the models need are exposed, so a formula cannot silently reach for a
function that exists in one backend and not the other.

Examples
--------
>>> from clvmodels import backend
>>> float(backend.numpy.betaln(2.0, 3.0))  # log B(2, 3) = log(1/12)
-2.4849066497880004
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import scipy.special as sc

__all__ = ["numpy", "pytensor", "BACKENDS"]


def _np_where(cond, a, b):
    return np.where(cond, a, b)


numpy = SimpleNamespace(
    name="numpy",
    asarray=np.asarray,
    gammaln=sc.gammaln,
    betaln=sc.betaln,
    hyp2f1=sc.hyp2f1,
    betainc=sc.betainc,
    log=np.log,
    log1p=np.log1p,
    exp=np.exp,
    expm1=np.expm1,
    logaddexp=np.logaddexp,
    sqrt=np.sqrt,
    abs=np.abs,
    maximum=np.maximum,
    minimum=np.minimum,
    where=_np_where,
    sum=np.sum,
    isinf=np.isinf,
    inf=np.inf,
)
"""NumPy/SciPy namespace: eager evaluation, broadcasting like NumPy."""


def _load_pytensor() -> SimpleNamespace:
    import pytensor.tensor as pt
    from pytensor.tensor import special as pts

    return SimpleNamespace(
        name="pytensor",
        asarray=pt.as_tensor_variable,
        gammaln=pt.gammaln,
        betaln=pts.betaln,
        hyp2f1=pt.hyp2f1,
        betainc=pt.betainc,
        log=pt.log,
        log1p=pt.log1p,
        exp=pt.exp,
        expm1=pt.expm1,
        logaddexp=pt.logaddexp,
        sqrt=pt.sqrt,
        abs=pt.abs,
        maximum=pt.maximum,
        minimum=pt.minimum,
        where=pt.switch,
        sum=pt.sum,
        isinf=pt.isinf,
        inf=np.inf,
    )


class _LazyPytensor:
    """Import PyTensor on first use: NumPy-only work (summaries, scoring) stays fast to start."""

    _ns: SimpleNamespace | None = None

    def __getattr__(self, item):
        if _LazyPytensor._ns is None:
            _LazyPytensor._ns = _load_pytensor()
        return getattr(_LazyPytensor._ns, item)


pytensor = _LazyPytensor()
"""PyTensor namespace: symbolic graphs for gradients and PyMC (imported lazily)."""

BACKENDS = {"numpy": numpy, "pytensor": pytensor}
