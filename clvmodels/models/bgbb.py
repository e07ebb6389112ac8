r"""BG/BB: the beta-geometric/beta-Bernoulli model of discrete-time repeat behaviour.

Transactions can occur only at discrete opportunities (annual donation drives, weekly
events). While alive, a customer transacts at each opportunity with probability
:math:`p \sim \mathrm{Beta}(\alpha, \beta)`; at the start of each opportunity she becomes
permanently inactive with probability :math:`\theta \sim \mathrm{Beta}(\gamma, \delta)`.
A customer's history over :math:`n` opportunities is summarised by :math:`x` (number of
transactions), :math:`t_x` (opportunity of the last one, 0 if none) and :math:`n`. Equations
numbered as in Fader, Hardie & Shang (2010) [1]_.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). "Customer-base analysis in a
   discrete-time noncontractual setting". Marketing Science 29(6), 1086-1108.
"""

from __future__ import annotations

import numpy as np

from clvmodels.models.base import TransactionModel
from clvmodels.models.spec import DataField, ModelSpec, Param
from clvmodels.special import log_hyp2f1

__all__ = [
    "BetaGeoBetaBinom",
    "loglik",
    "probability_alive",
    "expected_purchases",
    "expected_purchases_new_customer",
    "probability_of_purchases",
    "discounted_expected_transactions",
]


def _col(xp, v):
    # a trailing axis for the sum over opportunities
    return xp.asarray(v)[..., None]


def _log_alive_term(xp, alpha, beta, gamma, delta, x, n):
    # B(a+x, b+n-x)/B(a,b) * B(g, d+n)/B(g,d): transacted x times in n opportunities, alive throughout
    return xp.betaln(alpha + x, beta + n - x) - xp.betaln(alpha, beta) + xp.betaln(gamma, delta + n) - xp.betaln(gamma, delta)


def loglik(xp, alpha, beta, gamma, delta, *, frequency, recency, n_periods):
    r"""Log-likelihood of one customer's (x, t_x, n), equation (5) of [1]_.

    .. math::

        L = \frac{B(\alpha+x, \beta+n-x)}{B(\alpha,\beta)} \frac{B(\gamma, \delta+n)}{B(\gamma,\delta)}
          + \sum_{i=0}^{n-t_x-1} \frac{B(\alpha+x, \beta+t_x-x+i)}{B(\alpha,\beta)}
            \frac{B(\gamma+1, \delta+t_x+i)}{B(\gamma,\delta)}

    The sum (the customer died after opportunity :math:`t_x + i`) is evaluated as a masked
    log-sum-exp over the largest :math:`n - t_x` in the data.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(loglik(backend.numpy, 1.204, 0.750, 0.657, 2.783,
    ...                    frequency=3, recency=4, n_periods=6)), 6)
    -5.059308
    """
    x, tx, n = frequency, recency, n_periods
    first = _log_alive_term(xp, alpha, beta, gamma, delta, x, n)
    k = xp.arange(xp.max(n - tx).astype("int64"))
    i = k * 1.0
    terms = (
        xp.betaln(_col(xp, alpha + x), _col(xp, beta + tx - x) + i) - _col(xp, xp.betaln(alpha, beta))
        + xp.betaln(_col(xp, gamma + 1.0), _col(xp, delta + tx) + i) - _col(xp, xp.betaln(gamma, delta))
    )
    terms = xp.where(i < _col(xp, n - tx), terms, -xp.inf)
    return xp.logaddexp(first, xp.logsumexp(terms, axis=-1))


def probability_alive(xp, alpha, beta, gamma, delta, *, frequency, recency, n_periods):
    r"""P(alive at opportunity n + 1 | x, t_x, n), equation (11) of [1]_.

    .. math:: P(\text{alive}) = \frac{B(\alpha+x, \beta+n-x)}{B(\alpha,\beta)}
              \frac{B(\gamma, \delta+n+1)}{B(\gamma,\delta)} \Big/ L

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(probability_alive(backend.numpy, 1.204, 0.750, 0.657, 2.783,
    ...                               frequency=6, recency=6, n_periods=6)), 4)
    0.9304
    """
    x, n = frequency, n_periods
    log_num = _log_alive_term(xp, alpha, beta, gamma, delta, x, n) - xp.betaln(gamma, delta + n) + xp.betaln(gamma, delta + n + 1.0)
    return xp.exp(log_num - loglik(xp, alpha, beta, gamma, delta, frequency=frequency, recency=recency, n_periods=n_periods))


def _log_gamma_ratio(xp, gamma, delta, k):
    # log Gamma(1+delta+k) / Gamma(gamma+delta+k)
    return xp.gammaln(1.0 + delta + k) - xp.gammaln(gamma + delta + k)


def expected_purchases(xp, alpha, beta, gamma, delta, *, frequency, recency, n_periods, t):
    r"""Expected transactions in the next ``t`` opportunities given the history, equation (13) of [1]_.

    .. math::

        E[X(n, n+n^*) \mid x, t_x, n] = \frac{1}{L}\frac{B(\alpha+x+1, \beta+n-x)}{B(\alpha,\beta)}
        \frac{\delta}{\gamma-1}\frac{\Gamma(\gamma+\delta)}{\Gamma(1+\delta)}
        \left[\frac{\Gamma(1+\delta+n)}{\Gamma(\gamma+\delta+n)}
            - \frac{\Gamma(1+\delta+n+n^*)}{\Gamma(\gamma+\delta+n+n^*)}\right]

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(expected_purchases(backend.numpy, 1.204, 0.750, 0.657, 2.783,
    ...                                frequency=6, recency=6, n_periods=6, t=5)), 4)
    3.7521
    """
    x, n = frequency, n_periods
    g_n = _log_gamma_ratio(xp, gamma, delta, n)
    bracket = -xp.expm1(_log_gamma_ratio(xp, gamma, delta, n + t) - g_n)
    log_front = (
        xp.betaln(alpha + x + 1.0, beta + n - x) - xp.betaln(alpha, beta)
        + xp.gammaln(gamma + delta) - xp.gammaln(1.0 + delta) + g_n
        - loglik(xp, alpha, beta, gamma, delta, frequency=frequency, recency=recency, n_periods=n_periods)
    )
    return xp.exp(log_front) * delta / (gamma - 1.0) * bracket


def expected_purchases_new_customer(xp, alpha, beta, gamma, delta, *, t):
    r"""E[X(n)]: expected transactions in the first ``t`` opportunities, equation (9) of [1]_.

    .. math:: E[X(n)] = \frac{\alpha}{\alpha+\beta}\frac{\delta}{\gamma-1}
              \left[1 - \frac{\Gamma(\gamma+\delta)}{\Gamma(1+\delta)}
              \frac{\Gamma(1+\delta+n)}{\Gamma(\gamma+\delta+n)}\right]

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(expected_purchases_new_customer(backend.numpy, 1.204, 0.750, 0.657, 2.783, t=6)), 4)
    2.2196
    """
    ratio = _log_gamma_ratio(xp, gamma, delta, t) - _log_gamma_ratio(xp, gamma, delta, 0.0)
    return alpha / (alpha + beta) * delta / (gamma - 1.0) * -xp.expm1(ratio)


def probability_of_purchases(xp, alpha, beta, gamma, delta, *, n, t):
    r"""P(X(t) = n): ``n`` transactions in the first ``t`` opportunities, equation (8) of [1]_.

    .. math::

        P(X(t)=n) = \binom{t}{n}\frac{B(\alpha+n, \beta+t-n)}{B(\alpha,\beta)}
        \frac{B(\gamma, \delta+t)}{B(\gamma,\delta)}
        + \sum_{i=n}^{t-1}\binom{i}{n}\frac{B(\alpha+n, \beta+i-n)}{B(\alpha,\beta)}
        \frac{B(\gamma+1, \delta+i)}{B(\gamma,\delta)}

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> pmf = probability_of_purchases(backend.numpy, 1.204, 0.750, 0.657, 2.783, n=np.arange(7), t=6)
    >>> round(float(pmf.sum()), 10)
    1.0
    """
    def log_choose(m, k):
        return xp.gammaln(m + 1.0) - xp.gammaln(k + 1.0) - xp.gammaln(m - k + 1.0)

    first = log_choose(t, n) + _log_alive_term(xp, alpha, beta, gamma, delta, n, t)
    i = xp.arange(xp.max(t).astype("int64")) * 1.0
    nn, tt = _col(xp, n), _col(xp, t)
    use = (i >= nn) & (i < tt)
    i_safe = xp.where(use, i, nn)
    terms = (
        log_choose(i_safe, nn) + xp.betaln(alpha + nn, beta + i_safe - nn) - xp.betaln(alpha, beta)
        + xp.betaln(gamma + 1.0, delta + i_safe) - xp.betaln(gamma, delta)
    )
    return xp.exp(xp.logaddexp(first, xp.logsumexp(xp.where(use, terms, -xp.inf), axis=-1)))


def discounted_expected_transactions(xp, alpha, beta, gamma, delta, *, frequency, recency, n_periods, discount_rate):
    r"""DERT: discounted expected residual transactions, equation (14) of [1]_.

    .. math::

        \mathrm{DERT}(d) = \frac{1}{L}\frac{B(\alpha+x+1, \beta+n-x)}{B(\alpha,\beta)}
        \frac{B(\gamma, \delta+n+1)}{B(\gamma,\delta)(1+d)}\,
        {}_2F_1\!\left(1, \delta+n+1; \gamma+\delta+n+1; \tfrac{1}{1+d}\right)

    with ``discount_rate`` :math:`d` per opportunity (discrete discounting).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(discounted_expected_transactions(backend.numpy, 1.204, 0.750, 0.657, 2.783,
    ...     frequency=6, recency=6, n_periods=6, discount_rate=0.1)), 4)
    5.9087
    """
    x, n = frequency, n_periods
    d = discount_rate
    log_value = (
        xp.betaln(alpha + x + 1.0, beta + n - x) - xp.betaln(alpha, beta)
        + xp.betaln(gamma, delta + n + 1.0) - xp.betaln(gamma, delta) - xp.log1p(d)
        + log_hyp2f1(xp, 1.0, delta + n + 1.0, gamma + delta + n + 1.0, 1.0 / (1.0 + d))
        - loglik(xp, alpha, beta, gamma, delta, frequency=frequency, recency=recency, n_periods=n_periods)
    )
    return xp.exp(log_value)


def simulate(rng, n, alpha, beta, gamma, delta, *, n_periods=6):
    """Draw ``n`` customers' (frequency, recency, n_periods) from the BG/BB process.

    ``p ~ Beta(alpha, beta)``, ``theta ~ Beta(gamma, delta)``; at each opportunity
    1..n_periods a customer alive at the previous one survives with probability ``1 - theta``
    and, if alive, transacts with probability ``p``.

    Examples
    --------
    >>> import numpy as np
    >>> d = simulate(np.random.default_rng(1), 5, 1.2, 0.75, 0.66, 2.8)
    >>> sorted(d), bool(np.all(d["recency"] <= d["n_periods"]))
    (['frequency', 'n_periods', 'recency'], True)
    """
    periods = np.broadcast_to(np.asarray(n_periods, dtype=float), (n,)).copy()
    p = rng.beta(alpha, beta, n)
    theta = rng.beta(gamma, delta, n)
    # opportunities survived: geometric number of periods before death, capped at n_periods
    life = np.minimum(rng.geometric(theta) - 1, periods)
    x = np.zeros(n)
    tx = np.zeros(n)
    for k in range(1, int(periods.max()) + 1):
        buys = (k <= life) & (rng.random(n) < p)
        x += buys
        tx = np.where(buys, k, tx)
    return {"frequency": x, "recency": tx, "n_periods": periods}


SPEC = ModelSpec(
    name="bgbb",
    title="BG/BB",
    params=(
        Param("alpha", symbol=r"\alpha", prior=("HalfNormal", {"sigma": 10.0})),
        Param("beta", symbol=r"\beta", prior=("HalfNormal", {"sigma": 10.0})),
        Param("gamma", symbol=r"\gamma", prior=("HalfNormal", {"sigma": 10.0})),
        Param("delta", symbol=r"\delta", prior=("HalfNormal", {"sigma": 10.0})),
    ),
    data=(
        DataField("frequency", "count", at_most="n_periods", description="transactions x in the n opportunities"),
        DataField("recency", "count", at_most="n_periods", description="opportunity t_x of the last transaction (0 if none)"),
        DataField("n_periods", "positive_count", description="number of transaction opportunities n"),
    ),
    loglik=loglik,
    predictions={
        "expected_purchases": expected_purchases,
        "probability_alive": probability_alive,
        "probability_of_purchases": probability_of_purchases,
        "expected_purchases_new_customer": expected_purchases_new_customer,
        "discounted_expected_transactions": discounted_expected_transactions,
    },
    reference="Fader, Hardie & Shang (2010), Marketing Science 29(6)",
    simulate=simulate,
)


class BetaGeoBetaBinom(TransactionModel):
    """BG/BB model of discrete-time repeat transactions (Fader, Hardie & Shang 2010).

    Input: one row per customer with ``frequency``, ``recency`` and ``n_periods``, or an
    aggregated table with a count per row passed as ``fit(table, weights=table["count"])``.
    ``t`` in the predictions counts future opportunities.

    Examples
    --------
    >>> import clvmodels as clv
    >>> d = clv.datasets.load_donations()
    >>> bgbb = clv.BetaGeoBetaBinom().fit(d, weights=d["count"])
    >>> {k: round(v, 3) for k, v in bgbb.params_.items()}
    {'alpha': 1.204, 'beta': 0.75, 'gamma': 0.657, 'delta': 2.783}
    >>> round(bgbb.loglik_, 1)
    -33225.6
    """

    spec = SPEC
