r"""sBG: the shifted-beta-geometric model of contract renewals.

In a contractual setting each customer renews at the end of every period with probability
:math:`1 - \theta`, and :math:`\theta \sim \mathrm{Beta}(\alpha, \beta)` across customers; the
period :math:`T` in which a customer churns is shifted-geometric. Heterogeneity makes the
aggregate retention rate rise over time. Equations as in Fader & Hardie (2007) [1]_ and, for
the discounted expected residual lifetime, Fader & Hardie (2010) [2]_.

Data: one row per customer (or per group, with a count as weight) with ``period`` (the last
period observed: the one in which the customer churned, or the last one she was seen active)
and ``churned`` (1 if she churned in ``period``, 0 if still active, i.e. right-censored).
:func:`renewals_from_survival` turns a cohort's survival table into that form.

References
----------
.. [1] Fader, P. S. and Hardie, B. G. S. (2007). "How to project customer retention".
   Journal of Interactive Marketing 21(1), 76-90.
.. [2] Fader, P. S. and Hardie, B. G. S. (2010). "Customer-base valuation in a contractual
   setting: the perils of ignoring heterogeneity". Marketing Science 29(1), 85-93.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clvmodels.errors import ClvDataError
from clvmodels.models.base import CLVModel
from clvmodels.models.spec import DataField, ModelSpec, Param
from clvmodels.special import log_hyp2f1

__all__ = [
    "ShiftedBetaGeo",
    "loglik",
    "survival",
    "retention_rate",
    "churn_probability",
    "discounted_expected_residual_lifetime",
    "renewals_from_survival",
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

    .. math:: P(T = t) = \frac{B(\alpha+1, \beta+t-1)}{B(\alpha,\beta)}, \quad t \ge 1

    and 0 at :math:`t = 0`: nobody churns before the first renewal (the printed form there is
    :math:`B(\alpha+1, \beta-1)/B(\alpha,\beta)`, not a probability).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(churn_probability(backend.numpy, 0.668, 3.806, t=1)), 3)
    0.149
    """
    started = t >= 1
    t_safe = xp.where(started, t, 1.0)
    return xp.where(started, xp.exp(xp.betaln(alpha + 1.0, beta + t_safe - 1.0) - xp.betaln(alpha, beta)), 0.0)


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


def renewals_from_survival(survival, n_customers: int) -> pd.DataFrame:
    """A cohort's survival table as (period, churned, count) rows for :meth:`ShiftedBetaGeo.fit`.

    Parameters
    ----------
    survival : sequence of float
        Shares in (0, 1] (or counts) of the cohort still active at the end of periods 1, 2, ...
    n_customers : int
        Cohort size at period 0. Shares become counts ``round(share * n_customers)``.

    Returns
    -------
    DataFrame
        One row per period with the customers lost in it (``churned=1``) and one row for
        those still active after the last period (``churned=0``), with their ``count``.

    Examples
    --------
    >>> renewals_from_survival([0.869, 0.743], n_customers=1000)
       period  churned  count
    0       1        1    131
    1       2        1    126
    2       2        0    743
    """
    values = np.asarray(survival, dtype=float)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values) & (values > 0)):
        raise ClvDataError(
            f"The 'survival' table must be a non-empty 1-d sequence of positive numbers, one per period; got {survival!r}."
        )
    n0 = float(n_customers)
    counts = np.round(values * n0) if np.all(values <= 1) else values
    alive = np.concatenate([[n0], counts])
    lost = -np.diff(alive)
    if np.any(lost < 0):
        first = int(np.flatnonzero(lost < 0)[0]) + 1
        raise ClvDataError(
            f"Survival must not increase: period {first} has more active customers than period {first - 1} "
            f"(n_customers={n_customers}). Check the table and the cohort size."
        )
    periods = np.arange(1, values.size + 1)
    rows = pd.DataFrame({"period": periods, "churned": 1, "count": lost.astype(int)})
    last = pd.DataFrame({"period": [values.size], "churned": [0], "count": [int(counts[-1])]})
    return pd.concat([rows, last], ignore_index=True)


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
)


class ShiftedBetaGeo(CLVModel):
    """Shifted-beta-geometric model of contract renewals (Fader & Hardie 2007).

    Fit on individual renewal data (``period``, ``churned``, one row per customer) or on a
    cohort's survival table via :meth:`fit_survival`.

    Examples
    --------
    >>> import clvmodels as clv
    >>> sbg = clv.ShiftedBetaGeo().fit_survival([.869, .743, .653, .593, .551, .517, .491], n_customers=1000)
    >>> {k: round(v, 3) for k, v in sbg.params_.items()}
    {'alpha': 0.668, 'beta': 3.806}
    >>> sbg.survival([1, 2]).round(3).tolist()
    [0.851, 0.747]
    """

    spec = SPEC

    def fit_survival(self, survival, n_customers: int, **kwargs):
        """Fit from a cohort's survival table (shares with ``n_customers``, or counts).

        Examples
        --------
        >>> import clvmodels as clv
        >>> m = clv.ShiftedBetaGeo().fit_survival([.631, .468, .382, .326, .289, .262, .241], n_customers=1000)
        >>> round(m.params_["alpha"], 3), round(m.params_["beta"], 3)
        (0.704, 1.182)
        """
        table = renewals_from_survival(survival, n_customers)
        return self.fit(table, weights=table["count"].to_numpy(dtype=float), **kwargs)

    def survival(self, t):
        """S(t): share of a new cohort still active after ``t`` periods (float or Series by t).

        Examples
        --------
        >>> import clvmodels as clv
        >>> clv.ShiftedBetaGeo.from_params(alpha=0.668, beta=3.806).survival(0)
        1.0
        """
        return self._predict_population("survival", "t", t)

    def retention_rate(self, t):
        """r(t) = S(t)/S(t-1): the retention rate of period ``t`` (rises with t).

        Examples
        --------
        >>> import clvmodels as clv
        >>> clv.ShiftedBetaGeo.from_params(alpha=0.668, beta=3.806).retention_rate([1, 10]).round(3).tolist()
        [0.851, 0.95]
        """
        return self._predict_population("retention_rate", "t", t)

    def churn_probability(self, t):
        """P(T = t): share of a new cohort churning in period ``t``.

        Examples
        --------
        >>> import clvmodels as clv
        >>> round(clv.ShiftedBetaGeo.from_params(alpha=0.668, beta=3.806).churn_probability(1), 3)
        0.149
        """
        return self._predict_population("churn_probability", "t", t)

    def discounted_expected_residual_lifetime(self, discount_rate: float, renewals=0):
        """DERL: discounted expected residual lifetime (in periods) after ``renewals`` renewals.

        Examples
        --------
        >>> import clvmodels as clv
        >>> m = clv.ShiftedBetaGeo.from_params(alpha=0.668, beta=3.806)
        >>> m.discounted_expected_residual_lifetime(0.1, renewals=[0, 4]).round(2).tolist()
        [5.41, 6.9]
        """
        return self._predict_population("discounted_expected_residual_lifetime", "renewals", renewals,
                                        discount_rate=float(discount_rate))
