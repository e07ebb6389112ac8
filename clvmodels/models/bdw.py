r"""BdW: the beta-discrete-Weibull model of contract renewals (duration dependence).

As in the sBG (:mod:`clvmodels.models.sbg`) each customer churns at the end of a period with
a probability of her own, :math:`\theta \sim \mathrm{Beta}(\alpha, \beta)`, but that
probability changes with tenure: the individual survival is discrete Weibull,
:math:`S(t \mid \theta) = (1-\theta)^{t^c}`. With :math:`c < 1` a customer's churn
probability falls as she stays (her ties strengthen), with :math:`c > 1` it rises; :math:`c
= 1` is the sBG. Mixing over :math:`\theta` gives [1]_

.. math:: S(t) = \frac{B(\alpha, \beta + t^c)}{B(\alpha, \beta)}, \qquad
          P(T = t) = S(t-1) - S(t), \qquad r(t) = \frac{S(t)}{S(t-1)}.

Data as for the sBG: one row per customer (or group, with a count) with ``period`` and
``churned``; :func:`clvmodels.data.contractual.renewals_from_survival` turns a cohort's
survival table into that form.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S., Liu, Y., Davin, J. and Steenburgh, T. (2018). "How to
   project customer retention" revisited: the role of duration dependence. Journal of
   Interactive Marketing 43, 1-16.
"""

from __future__ import annotations

import numpy as np

from clvmodels.models.sbg import SPEC as SBG
from clvmodels.models.spec import NUMPY_ONLY, ModelSpec, Param, Prediction
from clvmodels.special import log_diff_exp

__all__ = ["loglik", "survival", "retention_rate", "churn_probability", "discounted_expected_residual_lifetime"]


def _tenure(xp, t, c):
    # t^c with its limit 0 at t = 0, without log(0) reaching the gradient in c
    positive = t > 0
    return xp.where(positive, xp.exp(c * xp.log(xp.where(positive, t, 1.0))), 0.0)


def _log_survival(xp, alpha, beta, c, t):
    return xp.betaln(alpha, beta + _tenure(xp, t, c)) - xp.betaln(alpha, beta)


def loglik(xp, alpha, beta, c, *, period, churned):
    r"""Log-likelihood of one customer's (period, churned): :math:`\log P(T = t)` if she
    churned in period :math:`t`, :math:`\log S(t)` if still active.

    Examples
    --------
    >>> from clvmodels import backend
    >>> from clvmodels.models import sbg
    >>> round(float(loglik(backend.numpy, 0.668, 3.806, 1.0, period=3, churned=1)), 6)
    -2.56311
    >>> round(float(sbg.loglik(backend.numpy, 0.668, 3.806, period=3, churned=1)), 6)  # c = 1 is the sBG
    -2.56311
    """
    t = period
    died = log_diff_exp(xp, _log_survival(xp, alpha, beta, c, t - 1.0), _log_survival(xp, alpha, beta, c, t))
    return xp.where(churned > 0, died, _log_survival(xp, alpha, beta, c, t))


def survival(xp, alpha, beta, c, *, t):
    r"""S(t): share of a cohort still active after ``t`` periods.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(survival(backend.numpy, 0.668, 3.806, 1.0, t=1)), 3)  # the sBG's 0.851
    0.851
    """
    return xp.exp(_log_survival(xp, alpha, beta, c, t))


def churn_probability(xp, alpha, beta, c, *, t):
    r"""P(T = t) = S(t-1) - S(t): share of a cohort churning in period ``t`` (0 at t = 0).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(churn_probability(backend.numpy, 0.668, 3.806, 1.0, t=1)), 3)
    0.149
    """
    started = t >= 1
    t_safe = xp.where(started, t, 1.0)
    log_p = log_diff_exp(xp, _log_survival(xp, alpha, beta, c, t_safe - 1.0), _log_survival(xp, alpha, beta, c, t_safe))
    return xp.where(started, xp.exp(log_p), 0.0)


def retention_rate(xp, alpha, beta, c, *, t):
    r"""r(t) = S(t)/S(t-1): the retention rate of period ``t``.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(retention_rate(backend.numpy, 0.668, 3.806, 1.0, t=2)), 4)
    0.878
    """
    return xp.exp(_log_survival(xp, alpha, beta, c, t) - _log_survival(xp, alpha, beta, c, t - 1.0))


#: Periods summed for DERL: the discounted tail beyond them is below (1 + d)^-_TERMS of the sum.
_TERMS = 4000


def discounted_expected_residual_lifetime(xp, alpha, beta, c, *, renewals, discount_rate):
    r"""DERL of a customer who has made ``renewals`` renewals, in discounted periods.

    .. math:: \mathrm{DERL}(d \mid n-1) = \sum_{t \ge n} \frac{S(t)}{S(n-1)}\,(1+d)^{-(t-n)},

    with :math:`n - 1` = ``renewals``: period :math:`n` (the current one, at the end of which
    she renews or not) at full value if she stays through it, each later one discounted (the sBG's closed form, equation (6) of Fader & Hardie 2010,
    is this sum at :math:`c = 1`). No closed form exists for :math:`c \ne 1`; the series is
    summed over 4,000 periods, beyond which :math:`(1+d)^{-k}` bounds the tail (use a
    discount rate of at least 1 % per period).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(discounted_expected_residual_lifetime(backend.numpy, 0.668, 3.806, 1.0,
    ...                                                   renewals=0, discount_rate=0.1)), 4)  # sBG: 5.4149
    5.4149
    """
    n1 = np.asarray(renewals, dtype=float)[..., None]
    k = np.arange(_TERMS, dtype=float)
    alpha, beta, c = (np.asarray(v, dtype=float)[..., None] for v in (alpha, beta, c))
    rate = np.asarray(discount_rate, dtype=float)[..., None]
    log_terms = (_log_survival(xp, alpha, beta, c, n1 + 1.0 + k) - _log_survival(xp, alpha, beta, c, n1)
                 - k * np.log1p(rate))
    return np.exp(log_terms).sum(axis=-1)


def simulate(rng, n, alpha, beta, c, *, horizon=7):
    """Draw ``n`` customers' (period, churned) observed for ``horizon`` periods.

    Examples
    --------
    >>> import numpy as np
    >>> d = simulate(np.random.default_rng(1), 5, 0.7, 3.8, 0.8)
    >>> sorted(d), bool(np.all(d["period"] <= 7))
    (['churned', 'period'], True)
    """
    horizon = np.broadcast_to(np.asarray(horizon, dtype=float), (n,))
    theta = rng.beta(alpha, beta, n)
    # the churn period T is the smallest t with (1 - theta)^(t^c) < U, U uniform
    u = rng.uniform(size=n)
    with np.errstate(divide="ignore"):
        churn_at = np.ceil((np.log(u) / np.log1p(-theta)) ** (1.0 / c))
    churn_at = np.maximum(churn_at, 1.0)
    churned = churn_at <= horizon
    return {"period": np.where(churned, churn_at, horizon), "churned": churned.astype(float)}


SPEC = ModelSpec(
    name="bdw",
    title="BdW",
    params=(
        Param("alpha", symbol=r"\alpha", prior=("HalfNormal", {"sigma": 10.0})),
        Param("beta", symbol=r"\beta", prior=("HalfNormal", {"sigma": 10.0})),
        Param("c", symbol="c", prior=("LogNormal", {"mu": 0.0, "sigma": 1.0})),
    ),
    data=SBG.data,
    loglik=loglik,
    predictions={
        "survival": survival,
        "retention_rate": retention_rate,
        "churn_probability": churn_probability,
        "discounted_expected_residual_lifetime": Prediction(discounted_expected_residual_lifetime, backends=NUMPY_ONLY),
    },
    reference="Fader, Hardie, Liu, Davin & Steenburgh (2018), J. Interactive Marketing 43",
    simulate=simulate,
    aliases=("beta_discrete_weibull", "betadiscreteweibull"),
)
