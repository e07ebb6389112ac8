"""Declarations and mathematics shared by several models.

The continuous-time models (BG/NBD, MBG/NBD, Pareto/NBD) read the same three summary
columns, and every purchase-count model turns its new-customer P(X(t) = n) into the
conditional one the same way: a customer alive at the end of observation behaves, from then
on, like a customer just acquired whose parameters are the posterior ones given alive.
"""

from __future__ import annotations

import numpy as np

from clvmodels.data.compress import TABLE_MAX, column_codes
from clvmodels.models.spec import DataField

__all__ = ["RFM_FIELDS", "pmf_given_history", "n_log_share", "distinct", "on_distinct"]

#: (x, t_x, T) of the continuous-time models. T = 0 (first purchase on the calibration end, as
#: rfm_summary gives) is allowed: such a customer contributes likelihood 1 and is predicted
#: like a new customer.
RFM_FIELDS = (
    DataField("frequency", "count", description="repeat purchases x"),
    DataField("recency", "time", at_most="T", description="time of the last purchase t_x"),
    DataField("T", "time", description="time observed since the first purchase"),
)


def pmf_given_history(xp, p_alive, pmf_if_alive, n):
    r"""P(n purchases in the next period | history) from P(alive) and the alive customer's pmf.

    .. math:: P(Y = n \mid \text{history}) = (1 - P(\text{alive}))\,[n = 0]
              + P(\text{alive})\, P(X = n \mid \text{alive, posterior parameters})

    An inactive customer makes no purchase; an active one is, by the memorylessness of the
    purchase and dropout processes, a new customer with the parameters updated by the history.

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> pmf_given_history(backend.numpy, 0.25, np.array([0.5, 0.3, 0.2]), np.arange(3)).tolist()
    [0.875, 0.075, 0.05]
    """
    return xp.where(n == 0, 1.0 - p_alive, 0.0) + p_alive * pmf_if_alive


def n_log_share(xp, n, alpha, t):
    r""":math:`n \log\frac{t}{\alpha+t}`, the NBD pmf's power of the purchase share, with its
    limits at :math:`t = 0`: 0 for :math:`n = 0` (so :math:`P(X(0) = 0) = 1`) and
    :math:`-\infty` for :math:`n \ge 1`, where the printed form gives :math:`0 \times (-\infty)`.

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> n_log_share(backend.numpy, np.array([0.0, 1.0, 2.0]), 4.0, 0.0).tolist()
    [0.0, -inf, -inf]
    >>> round(float(n_log_share(backend.numpy, 2.0, 4.0, 4.0)), 6)  # 2 log(1/2)
    -1.386294
    """
    positive = t > 0
    t_safe = xp.where(positive, t, 1.0)
    log_q = xp.log(t_safe) - xp.log(alpha + t_safe)
    return xp.where(n > 0, n * log_q, 0.0) + xp.where(positive | (n <= 0), 0.0, -xp.inf)


#: Below this many rows a formula is evaluated row by row (coding the rows costs more).
_DISTINCT_MIN_ROWS = 4096


def _codes(col: np.ndarray) -> tuple[np.ndarray, int]:
    codes, values = column_codes(col)
    return codes, len(values)


def distinct(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of equal-length, non-empty float ``columns`` and, for each row, its distinct row.

    The distinct rows come in no particular order. Whole-number columns with a narrow range
    are coded without sorting; their codes combine into one integer key, whose occurring
    values are numbered through a table.

    Examples
    --------
    >>> import numpy as np
    >>> (x, T), inv = distinct(np.array([1.0, 0.0, 1.0]), np.array([5.0, 2.5, 5.0]))
    >>> x[inv].tolist(), T[inv].tolist(), len(x)
    ([1.0, 0.0, 1.0], [5.0, 2.5, 5.0], 2)
    """
    cols = [np.asarray(c, dtype=float).ravel() for c in columns]
    n = cols[0].size
    key, size = _codes(cols[0])
    for col in cols[1:]:
        if size > TABLE_MAX:  # renumber the key so that the product stays small
            uniq, key = np.unique(key, return_inverse=True)
            key, size = key.astype(np.intp, copy=False).ravel(), len(uniq)
        codes, k = _codes(col)
        key, size = key * k + codes, size * k
    if size <= max(TABLE_MAX, 4 * n):
        seen = np.flatnonzero(np.bincount(key, minlength=size))
        number = np.empty(size, dtype=np.intp)
        number[seen] = np.arange(len(seen))
        inverse, m = number[key], len(seen)
    else:
        uniq, inverse = np.unique(key, return_inverse=True)
        inverse, m = inverse.astype(np.intp, copy=False).ravel(), len(uniq)
    row = np.empty(m, dtype=np.intp)
    row[inverse] = np.arange(n, dtype=np.intp)  # one row of each distinct combination
    return [col[row] for col in cols], inverse


def on_distinct(xp, fn, *columns, params=()):
    """``fn(*columns, *params)``, evaluated once per distinct combination of the data ``columns``.

    For a costly factor that depends on few of the summary's columns (BG/NBD's hypergeometric
    factor depends on frequency and T alone: ~27,000 distinct pairs among 10,000,000
    customers). ``params`` are the model parameters ``fn`` reads: draws x 1 for a model
    without covariates, passed through as they are; a parameter that varies by customer (a
    covariate model's ``alpha_i``) becomes one more column of the distinct rows. The columns
    must vary along their last axis only (``(1, rows)`` or ``(rows,)``). Other shapes, small
    inputs and the PyTensor backend evaluate ``fn`` directly: the result is the same array
    either way.

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> x = np.tile([0.0, 1.0, 2.0], 2000)[None, :]
    >>> out = on_distinct(backend.numpy, lambda v, c: v ** 2 + c, x, params=(1.0,))
    >>> out.shape, out[0, :4].tolist()
    ((1, 6000), [1.0, 2.0, 5.0, 1.0])
    >>> c = np.tile([1.0, 2.0], 3000)[None, :]  # a parameter per customer
    >>> on_distinct(backend.numpy, lambda v, c: v ** 2 + c, x, params=(c,))[0, :4].tolist()
    [1.0, 3.0, 5.0, 2.0]
    """
    params = tuple(params)
    if xp.name != "numpy":
        return fn(*columns, *params)
    per_row = [np.ndim(p) > 0 and np.shape(p)[-1] > 1 for p in params]
    varying = [p for p, row in zip(params, per_row) if row]
    cols = np.broadcast_arrays(*(np.asarray(c, dtype=float) for c in (*columns, *varying)))
    shape = cols[0].shape
    if len(shape) == 0 or shape[-1] < _DISTINCT_MIN_ROWS or any(d != 1 for d in shape[:-1]):
        return fn(*columns, *params)
    values, inverse = distinct(*cols)
    values = [v.reshape(shape[:-1] + (len(v),)) for v in values]
    given, rows = iter(values[len(columns):]), values[:len(columns)]
    out = np.asarray(fn(*rows, *(next(given) if row else p for p, row in zip(params, per_row))))
    return np.take(out, inverse, axis=-1)
