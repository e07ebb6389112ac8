r"""sBG: the shifted-beta-geometric model of contract renewals.

In a contractual setting each customer renews at the end of every period with probability
:math:`1 - \theta`, and :math:`\theta \sim \mathrm{Beta}(\alpha, \beta)` across customers; the
period :math:`T` in which a customer churns is shifted-geometric. Heterogeneity makes the
aggregate retention rate rise over time. Equations as in Fader & Hardie (2007) [1]_ and, for
the discounted expected residual lifetime, Fader & Hardie (2010) [2]_.

Data: one row per customer (or per group, with a count as weight) with ``period`` (the last
period observed: the one in which the customer churned, or the last one she was seen active)
and ``churned`` (1 if she churned in ``period``, 0 if still active, i.e. right-censored).
:func:`clvmodels.data.contractual.renewals_from_survival` turns a cohort's survival table into that form.

References
----------
.. [1] Fader, P. S. and Hardie, B. G. S. (2007). "How to project customer retention".
   Journal of Interactive Marketing 21(1), 76-90.
.. [2] Fader, P. S. and Hardie, B. G. S. (2010). "Customer-base valuation in a contractual
   setting: the perils of ignoring heterogeneity". Marketing Science 29(1), 85-93.
"""

from __future__ import annotations

import numpy as np

from clvmodels.models.spec import DataField, ModelSpec, Param
from clvmodels.special import log_hyp2f1

__all__ = [
    "ShiftedBetaGeo",
    "loglik",
    "survival",
    "retention_rate",
    "churn_probability",
    "discounted_expected_residual_lifetime",
]


def loglik(xp, alpha, beta, *, period, churned):
    r"""Log-likelihood of one customer's (period, churned), equations (1)-(3) of [1]_.

    .. math::

        P(T = t) = \frac{B(\alpha+1, \beta+t-1)}{B(\alpha,\beta)}, \qquad
        S(t) = P(T > t) = \frac{B(\alpha, \beta+t)}{B(\alpha,\beta)}

    A churned customer contributes :math:`\log P(T = t)`, an active one :math:`\log S(t)`.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(loglik(backend.numpy, 0.668, 3.806, period=1, churned=1)), 6)
    -1.90175
    """
    t = period
    died = xp.betaln(alpha + 1.0, beta + t - 1.0)
    alive = xp.betaln(alpha, beta + t)
    return xp.where(churned > 0, died, alive) - xp.betaln(alpha, beta)


def survival(xp, alpha, beta, *, t):
    r"""S(t): share of a cohort still active after ``t`` periods, equation (3) of [1]_.

    .. math:: S(t) = \frac{B(\alpha, \beta+t)}{B(\alpha,\beta)}

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(survival(backend.numpy, 0.668, 3.806, t=1)), 3)
    0.851
    """
    return xp.exp(xp.betaln(alpha, beta + t) - xp.betaln(alpha, beta))


def churn_probability(xp, alpha, beta, *, t):
    r"""P(T = t): share of a cohort churning in period ``t``, equation (2) of [1]_.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(churn_probability(backend.numpy, 0.668, 3.806, t=1)), 3)
    0.149
    """
    return xp.exp(xp.betaln(alpha + 1.0, beta + t - 1.0) - xp.betaln(alpha, beta))


def retention_rate(xp, alpha, beta, *, t):
    r"""r(t) = S(t)/S(t-1): retention rate in period ``t``, equation (4) of [1]_.

    .. math:: r(t) = \frac{\beta + t - 1}{\alpha + \beta + t - 1}

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(retention_rate(backend.numpy, 0.668, 3.806, t=2)), 4)
    0.878
    """
    return (beta + t - 1.0) / (alpha + beta + t - 1.0)


def discounted_expected_residual_lifetime(xp, alpha, beta, *, renewals, discount_rate):
    r"""DERL of a customer who has made ``renewals`` renewals, equation (6) of [2]_.

    The expected number of further periods the customer pays for, each discounted at
    ``discount_rate`` per period, counting the current one (at the end of which she renews
    or not) at full value, with :math:`n - 1` = ``renewals``:

    .. math::

        \mathrm{DERL}(d \mid n-1) = \frac{B(\alpha, \beta+n)}{B(\alpha, \beta+n-1)}\,
        {}_2F_1\!\left(1, \beta+n; \alpha+\beta+n; \tfrac{1}{1+d}\right)

    The hypergeometric term diverges as :math:`d \to 0` when :math:`\alpha \le 1` (undiscounted
    lifetime is infinite); it is evaluated in log space.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(discounted_expected_residual_lifetime(backend.numpy, 0.668, 3.806,
    ...                                                   renewals=0, discount_rate=0.1)), 4)
    5.4149
    """
    n = renewals + 1.0
    return xp.exp(
        xp.betaln(alpha, beta + n) - xp.betaln(alpha, beta + n - 1.0)
        + log_hyp2f1(xp, 1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + discount_rate))
    )


def simulate(rng, n, alpha, beta, *, horizon=7):
    """Draw ``n`` customers' (period, churned) observed for ``horizon`` periods.

    Examples
    --------
    >>> import numpy as np
    >>> d = simulate(np.random.default_rng(1), 5, 0.7, 3.8)
    >>> sorted(d), bool(np.all(d["period"] <= 7))
    (['churned', 'period'], True)
    """
    horizon = np.broadcast_to(np.asarray(horizon, dtype=float), (n,))
    theta = rng.beta(alpha, beta, n)
    churn_at = rng.geometric(theta).astype(float)
    churned = churn_at <= horizon
    return {"period": np.where(churned, churn_at, horizon), "churned": churned.astype(float)}


SPEC = ModelSpec(
    name="sbg",
    title="sBG",
    params=(
        Param("alpha", symbol=r"\alpha", prior=("HalfNormal", {"sigma": 10.0})),
        Param("beta", symbol=r"\beta", prior=("HalfNormal", {"sigma": 10.0})),
    ),
    data=(
        DataField("period", "positive_count", description="last period observed (churn period, or last active one)"),
        DataField("churned", "binary", description="1 if the customer churned in 'period', 0 if still active"),
    ),
    loglik=loglik,
    predictions={
        "survival": survival,
        "retention_rate": retention_rate,
        "churn_probability": churn_probability,
        "discounted_expected_residual_lifetime": discounted_expected_residual_lifetime,
    },
    reference="Fader & Hardie (2007), J. Interactive Marketing 21(1)",
    simulate=simulate,
    aliases=("shifted_beta_geometric",),
)
