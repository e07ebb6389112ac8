"""The one reduction of draws to a point and an interval: mean, sd and highest-density interval.

Every interval clvmodels reports (parameter tables, per-customer predictions, CLV, customer
equity, holdout checks, the report) comes from :func:`summarize` here, so the report's
sections can never disagree on what "94 % HDI" means. A leaf module: NumPy only.
"""

from __future__ import annotations

import numpy as np

from clvmodels.checks import check_probability

__all__ = ["hdi", "summarize", "STATISTICS"]

#: The columns a reduction gives, in order.
STATISTICS = ("mean", "sd", "hdi_lower", "hdi_upper")


def hdi(values: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Highest-density interval of each column of ``values`` (draws along axis 0).

    The narrowest interval holding ``floor(prob * n)`` + 1 sorted draws, the same rule as
    :func:`arviz.hdi` (``method="nearest"``). NaN draws sort last and never start the interval.

    Examples
    --------
    >>> import arviz as az
    >>> x = np.random.default_rng(0).gamma(2.0, size=(2000, 1))
    >>> lo, hi = hdi(x, 0.9)
    >>> bool(np.allclose([lo[0], hi[0]], az.hdi(x[:, 0], prob=0.9)))
    True
    """
    prob = check_probability("hdi_prob", prob)
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    xs = np.sort(values.T, axis=1)
    n = xs.shape[1]
    k = int(np.floor(prob * n))
    if k >= n or n < 2:
        return xs[:, 0], xs[:, -1]
    widths = xs[:, k:] - xs[:, : n - k]
    start = np.argmin(np.where(np.isnan(widths), np.inf, widths), axis=1)
    rows = np.arange(xs.shape[0])
    return xs[rows, start], xs[rows, start + k]


def summarize(values: np.ndarray, prob: float) -> dict[str, np.ndarray]:
    """Mean, sd (ddof 1; 0 for a single draw) and HDI of each column of ``values`` (draws on axis 0).

    Examples
    --------
    >>> s = summarize(np.array([[1.0], [2.0], [3.0]]), 0.5)
    >>> {k: float(v[0]) for k, v in s.items()}
    {'mean': 2.0, 'sd': 1.0, 'hdi_lower': 1.0, 'hdi_upper': 2.0}
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    lo, hi = hdi(values, prob)
    sd = values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros(values.shape[1])
    return {"mean": values.mean(axis=0), "sd": sd, "hdi_lower": lo, "hdi_upper": hi}
