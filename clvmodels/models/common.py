"""Declarations and mathematics shared by several models.

The continuous-time models (BG/NBD, MBG/NBD, Pareto/NBD) read the same three summary
columns, and every purchase-count model turns its new-customer P(X(t) = n) into the
conditional one the same way: a customer alive at the end of observation behaves, from then
on, like a customer just acquired whose parameters are the posterior ones given alive.
"""

from __future__ import annotations

from clvmodels.models.spec import DataField

__all__ = ["RFM_FIELDS", "pmf_given_history", "n_log_share"]

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
