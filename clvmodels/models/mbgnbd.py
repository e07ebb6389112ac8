r"""MBG/NBD: the modified beta-geometric/NBD model (Batislam, Denizel & Filiztekin 2007).

As BG/NBD (purchases Poisson with rate :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)`, dropout
probability :math:`p \sim \mathrm{Beta}(a, b)` after each purchase), except that a customer
may also drop out right after the first (time 0) purchase, so customers with no repeat
purchase can be inactive too. Equations as in Batislam et al. [1]_ and, for the new-customer
quantities, derived as for BG/NBD in [2]_.

References
----------
.. [1] Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). "Empirical validation and
   comparison of models for customer base analysis". International Journal of Research in
   Marketing 24(3), 201-209.
.. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers the
   easy way". Marketing Science 24(2), 275-284.
"""

from __future__ import annotations

import numpy as np

from clvmodels.models import bgnbd
from clvmodels.models.common import RFM_FIELDS, n_log_share, pmf_given_history
from clvmodels.models.spec import NUMPY_ONLY, ModelSpec, Param, Prediction
from clvmodels.special import log_hyp2f1

__all__ = [
    "ModifiedBetaGeo",
    "loglik",
    "probability_alive",
    "expected_purchases",
    "probability_of_purchases",
    "conditional_probability_of_purchases",
    "expected_purchases_new_customer",
    "simulate_future",
]


def _log_dropout_odds(xp, r, alpha, a, b, frequency, recency, T):
    # log of a/(b+x) * ((alpha+T)/(alpha+t_x))^(r+x): the 'dropped after the last purchase'
    # likelihood term over the 'still alive' term.
    return xp.log(a) - xp.log(b + frequency) + (r + frequency) * (xp.log(alpha + T) - xp.log(alpha + recency))


def loglik(xp, r, alpha, a, b, *, frequency, recency, T):
    r"""Log-likelihood of one customer's (x, t_x, T), [1]_.

    .. math::

        L = \frac{B(a, b+x+1)}{B(a, b)} \frac{\Gamma(r+x)\alpha^r}{\Gamma(r)(\alpha+T)^{r+x}}
            + \frac{B(a+1, b+x)}{B(a, b)} \frac{\Gamma(r+x)\alpha^r}{\Gamma(r)(\alpha+t_x)^{r+x}}

    The second term is present for :math:`x = 0` too (dropout at time 0).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(loglik(backend.numpy, 0.525, 6.183, 0.891, 1.614,
    ...                    frequency=2, recency=30.43, T=38.86)), 6)
    -9.485551
    """
    x = frequency
    log_alive = (
        xp.gammaln(r + x) - xp.gammaln(r) + r * xp.log(alpha)
        + xp.betaln(a, b + x + 1.0) - xp.betaln(a, b)
        - (r + x) * xp.log(alpha + T)
    )
    return log_alive + xp.logaddexp(0.0, _log_dropout_odds(xp, r, alpha, a, b, frequency, recency, T))


def probability_alive(xp, r, alpha, a, b, *, frequency, recency, T):
    r"""P(alive at T | x, t_x, T), [1]_.

    .. math:: P(\text{alive}) = \left[1 + \frac{a}{b+x}
              \left(\frac{\alpha+T}{\alpha+t_x}\right)^{r+x}\right]^{-1}

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(probability_alive(backend.numpy, 0.525, 6.183, 0.891, 1.614,
    ...                               frequency=0, recency=0.0, T=38.86)), 4)
    0.3897
    """
    return xp.exp(-xp.logaddexp(0.0, _log_dropout_odds(xp, r, alpha, a, b, frequency, recency, T)))


def expected_purchases(xp, r, alpha, a, b, *, frequency, recency, T, t):
    r"""Expected purchases in (T, T + t] given the history, [1]_.

    .. math::

        E[Y(t) \mid x, t_x, T] = \frac{a+b+x}{a-1}
        \left[1 - \left(\frac{\alpha+T}{\alpha+T+t}\right)^{r+x}
        {}_2F_1\!\left(r+x, b+x+1; a+b+x; \frac{t}{\alpha+T+t}\right)\right] P(\text{alive})

    The product of the power and :math:`{}_2F_1` is evaluated in log space
    (:func:`clvmodels.special.log_hyp2f1`), where it stays finite for any frequency.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(expected_purchases(backend.numpy, 0.525, 6.183, 0.891, 1.614,
    ...                                frequency=2, recency=30.43, T=38.86, t=39)), 4)
    1.263
    """
    x = frequency
    z = t / (alpha + T + t)
    log_term = (r + x) * xp.log1p(-z) + log_hyp2f1(xp, r + x, b + x + 1.0, a + b + x, z)
    bracket = -xp.expm1(log_term)
    return (a + b + x) / (a - 1.0) * bracket * probability_alive(
        xp, r, alpha, a, b, frequency=frequency, recency=recency, T=T
    )


def expected_purchases_new_customer(xp, r, alpha, a, b, *, t):
    r"""E[X(t)] for a customer just acquired.

    .. math:: E[X(t)] = \frac{b}{a-1}\left[1 - \left(\frac{\alpha}{\alpha+t}\right)^r
              {}_2F_1\!\left(r, b+1; a+b; \frac{t}{\alpha+t}\right)\right]

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(expected_purchases_new_customer(backend.numpy, 0.525, 6.183, 0.891, 1.614, t=39)), 4)
    1.183
    """
    z = t / (alpha + t)
    log_term = r * xp.log1p(-z) + log_hyp2f1(xp, r, b + 1.0, a + b, z)
    return b / (a - 1.0) * -xp.expm1(log_term)


def probability_of_purchases(xp, r, alpha, a, b, *, n, t):
    r"""P(X(t) = n) for a customer just acquired.

    .. math::

        P(X(t)=n) = \frac{B(a, b+n+1)}{B(a,b)} \mathrm{NBD}(n) + \frac{B(a+1, b+n)}{B(a,b)}
        P(\mathrm{NBD} \ge n)

    with :math:`\mathrm{NBD}(n) = \frac{\Gamma(r+n)}{\Gamma(r) n!}
    \left(\frac{\alpha}{\alpha+t}\right)^r \left(\frac{t}{\alpha+t}\right)^n`: the customer
    has survived the :math:`n` dropout chances at time 0 and after each of the first
    :math:`n-1` purchases, and then either survives once more and buys exactly :math:`n`
    times, or drops out after the :math:`n`-th purchase (which needs at least :math:`n`
    events of the Poisson process). The tail is the regularised incomplete beta
    :math:`I_{t/(\alpha+t)}(n, r)` (1 at :math:`n = 0`).

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> pmf = probability_of_purchases(backend.numpy, 0.525, 6.183, 0.891, 1.614, n=np.arange(400), t=39)
    >>> round(float(pmf.sum()), 8)
    1.0
    """
    log_p = xp.log(alpha) - xp.log(alpha + t)
    nbd = xp.exp(
        xp.betaln(a, b + n + 1.0) - xp.betaln(a, b)
        + xp.gammaln(r + n) - xp.gammaln(r) - xp.gammaln(n + 1.0)
        + r * log_p + n_log_share(xp, n, alpha, t)
    )
    ns = xp.where(n > 0, n, 1.0)
    tail = xp.where(n > 0, xp.betainc(ns, r, t / (alpha + t)), 1.0)
    return nbd + xp.exp(xp.betaln(a + 1.0, b + n) - xp.betaln(a, b)) * tail


def conditional_probability_of_purchases(xp, r, alpha, a, b, *, frequency, recency, T, n, t):
    r"""P(n purchases in (T, T + t] | x, t_x, T).

    Alive at :math:`T`, a customer has survived :math:`x + 1` dropout chances, so her
    posterior is :math:`\lambda \sim \mathrm{Gamma}(r+x, \alpha+T)`,
    :math:`p \sim \mathrm{Beta}(a, b+x+1)`; from then on she drops out only after purchases,
    i.e. she is a new *BG/NBD* customer with those parameters:

    .. math:: P(Y(t) = n \mid x, t_x, T) = (1 - P_a)\,[n = 0] + P_a\,
              P_{\mathrm{BG/NBD}}(X(t) = n \mid r+x, \alpha+T, a, b+x+1).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(conditional_probability_of_purchases(backend.numpy, 0.525, 6.183, 0.891, 1.614,
    ...     frequency=2, recency=30.43, T=38.86, n=0, t=39)), 4)
    0.44
    """
    p_alive = probability_alive(xp, r, alpha, a, b, frequency=frequency, recency=recency, T=T)
    future = bgnbd.probability_of_purchases(xp, r + frequency, alpha + T, a, b + frequency + 1.0, n=n, t=t)
    return pmf_given_history(xp, p_alive, future, n)


def simulate_future(rng, r, alpha, a, b, *, frequency, T, edges):
    r"""Purchases per period after ``T`` of customers alive at ``T`` with ``frequency`` repeat purchases.

    As BG/NBD (:func:`clvmodels.models.bgnbd.simulate_future`) with the one more dropout chance
    at time 0 survived: the alive part of the likelihood is
    :math:`(1-p)^{x+1} \lambda^x e^{-\lambda T}`, so given alive at :math:`T`,
    :math:`\lambda \sim \mathrm{Gamma}(r + x,\ \alpha + T)`, :math:`p \sim \mathrm{Beta}(a,\ b + x + 1)`.

    Examples
    --------
    >>> import numpy as np
    >>> simulate_future(np.random.default_rng(1), 0.5, 6.0, 0.9, 1.6, frequency=np.zeros(3), T=np.full(3, 40.0),
    ...                 edges=[4.0, 8.0]).shape
    (3, 2)
    """
    x = np.asarray(frequency, dtype=float)
    lam = rng.gamma(r + x) / (alpha + np.asarray(T, dtype=float))
    return bgnbd.purchases_before_dropout(rng, lam, rng.beta(a, b + x + 1.0), edges)


def simulate(rng, n, r, alpha, a, b, *, T=None):
    """Draw ``n`` customers' (frequency, recency, T) from the MBG/NBD process.

    As BG/NBD, with one more dropout chance at time 0 (right after the first purchase).
    ``alive`` (0/1 floats) is the latent state at ``T``: 1 for a customer who has not dropped out.

    Examples
    --------
    >>> import numpy as np
    >>> d = simulate(np.random.default_rng(1), 5, 0.5, 6.0, 0.9, 1.6, T=40.0)
    >>> sorted(d), bool(np.all(d["recency"] <= d["T"]))
    (['T', 'alive', 'frequency', 'recency'], True)
    """
    T = np.broadcast_to(np.asarray(40.0 if T is None else T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    tx = np.zeros(n)
    stays = rng.random(n) >= p
    alive = stays.astype(float)
    active = np.flatnonzero(stays)
    while active.size:
        t_next = tx[active] + rng.exponential(1.0, active.size) / lam[active]
        buys = t_next <= T[active]
        active, t_next = active[buys], t_next[buys]
        x[active] += 1
        tx[active] = t_next
        stays = rng.random(active.size) >= p[active]
        alive[active[~stays]] = 0.0
        active = active[stays]
    return {"frequency": x, "recency": tx, "T": T, "alive": alive}


SPEC = ModelSpec(
    name="mbgnbd",
    title="MBG/NBD",
    params=(
        Param("r", symbol="r", prior=("Weibull", {"alpha": 2.0, "beta": 1.0})),
        Param("alpha", symbol=r"\alpha", prior=("Weibull", {"alpha": 2.0, "beta": 10.0}), time_scale=True),
        Param("a", symbol="a", prior=("HalfNormal", {"sigma": 10.0})),
        Param("b", symbol="b", prior=("HalfNormal", {"sigma": 10.0})),
    ),
    data=RFM_FIELDS,
    loglik=loglik,
    predictions={
        "expected_purchases": expected_purchases,
        "probability_alive": probability_alive,
        "probability_of_purchases": probability_of_purchases,
        "conditional_probability_of_purchases": Prediction(conditional_probability_of_purchases, backends=NUMPY_ONLY),
        "expected_purchases_new_customer": expected_purchases_new_customer,
    },
    reference="Batislam, Denizel & Filiztekin (2007), IJRM 24(3)",
    simulate=simulate,
    simulate_future=simulate_future,
    aliases=("mbg_nbd",),
    covariate_links={"purchase": (("alpha", -1.0),), "dropout": (("a", 1.0), ("b", 1.0))},
)
