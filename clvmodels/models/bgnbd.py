r"""BG/NBD: the beta-geometric/negative-binomial model of repeat buying.

While alive, a customer buys as a Poisson process with rate :math:`\lambda \sim
\mathrm{Gamma}(r, \alpha)`; after each purchase she drops out with probability
:math:`p \sim \mathrm{Beta}(a, b)`. Equations numbered as in [1]_.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers the
   easy way: an alternative to the Pareto/NBD model". Marketing Science 24(2), 275-284.
.. [2] Fader, Hardie and Lee (2008). "Computing P(alive) using the BG/NBD model".
"""

from __future__ import annotations

import numpy as np

from clvmodels.models.base import TransactionModel
from clvmodels.models.spec import DataField, ModelSpec, Param

__all__ = [
    "BetaGeo",
    "loglik",
    "expected_purchases",
    "probability_alive",
    "probability_of_purchases",
    "expected_purchases_new_customer",
    "discounted_expected_transactions",
]


def _log_dropout_odds(xp, r, alpha, a, b, frequency, recency, T):
    # log of a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x): the second likelihood term over the
    # first. x is replaced by 1 where x = 0 so that log(b + x - 1) stays finite (and its
    # gradient too) in the branch the callers switch off.
    xs = xp.where(frequency > 0, frequency, 1.0)
    return xp.log(a) - xp.log(b + xs - 1.0) + (r + frequency) * (xp.log(alpha + T) - xp.log(alpha + recency))


#: Half-width of the bands around a = 1 and a + b + x - 1 = 0 evaluated at their edge.
_NEAR = 1e-7


def _away(xp, v, at):
    # v, or the nearer edge of the band (at - _NEAR, at + _NEAR) when v falls inside it
    return xp.where(xp.abs(v - at) < _NEAR, xp.where(v < at, at - _NEAR, at + _NEAR), v)


def _purchases_factor(xp, r, a, b, x, log_u, z):
    # (a+b+x-1)/(a-1) [1 - u^(r+x) 2F1(r+x, b+x; a+b+x-1; z)] of equations (9)/(10), after
    # Euler's transformation: c/(a-1) [1 - u^(a-1) 2F1(a+b-1-r, a-1; c; z)], c = a+b+x-1,
    # u = 1 - z. Two removable singularities: at a = 1 the bracket cancels (relative error
    # ~1e-15/|a-1| with SciPy's hyp2f1, 0/0 at a = 1), and at c = 0 (x = 0, a + b = 1) the
    # series has a pole that c cancels. Inside a band of 1e-7 around either, a or c is
    # taken at the band's edge, which bounds the error by ~2e-7 relative (the function is
    # smooth there; checked against mpmath in tests/test_bgnbd_mpmath.py).
    a = _away(xp, a, 1.0)
    c = _away(xp, a + b + x - 1.0, 0.0)
    return c / (a - 1.0) * (1.0 - xp.exp((a - 1.0) * log_u) * xp.hyp2f1(a + b - 1.0 - r, a - 1.0, c, z))


def loglik(xp, r, alpha, a, b, *, frequency, recency, T):
    r"""Log-likelihood of one customer's (x, t_x, T), equation (6) of [1]_.

    .. math::

        L = \frac{B(a, b+x)}{B(a, b)} \frac{\Gamma(r+x)\alpha^r}{\Gamma(r)(\alpha+T)^{r+x}}
            + \delta_{x>0} \frac{B(a+1, b+x-1)}{B(a, b)}
              \frac{\Gamma(r+x)\alpha^r}{\Gamma(r)(\alpha+t_x)^{r+x}}

    Evaluated in log space as :math:`\log L = A_1 + A_2 + \log(1 + \delta_{x>0} e^{A_4 - A_3}) + A_3`.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(loglik(backend.numpy, 0.243, 4.414, 0.793, 2.426,
    ...                    frequency=2, recency=30.43, T=38.86)), 6)
    -9.458606
    """
    x = frequency
    log_first = (
        xp.gammaln(r + x) - xp.gammaln(r) + r * xp.log(alpha)
        + xp.betaln(a, b + x) - xp.betaln(a, b)
        - (r + x) * xp.log(alpha + T)
    )
    odds = _log_dropout_odds(xp, r, alpha, a, b, frequency, recency, T)
    return log_first + xp.where(x > 0, xp.logaddexp(0.0, odds), 0.0)


def probability_alive(xp, r, alpha, a, b, *, frequency, recency, T):
    r"""P(alive at T | x, t_x, T), equation (A10) of [1]_ / [2]_.

    .. math:: P(\text{alive}) = \left[1 + \delta_{x>0}\frac{a}{b+x-1}
              \left(\frac{\alpha+T}{\alpha+t_x}\right)^{r+x}\right]^{-1}

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(probability_alive(backend.numpy, 0.243, 4.414, 0.793, 2.426,
    ...                               frequency=2, recency=30.43, T=38.86)), 4)
    0.7266
    """
    odds = _log_dropout_odds(xp, r, alpha, a, b, frequency, recency, T)
    return xp.where(frequency > 0, xp.exp(-xp.logaddexp(0.0, odds)), 1.0)


def expected_purchases(xp, r, alpha, a, b, *, frequency, recency, T, t):
    r"""Expected purchases in (T, T + t] given the history, equation (10) of [1]_.

    .. math::

        E[Y(t) \mid x, t_x, T] = \frac{a+b+x-1}{a-1}
        \left[1 - \left(\frac{\alpha+T}{\alpha+T+t}\right)^{r+x}
        {}_2F_1\!\left(r+x, b+x; a+b+x-1; \frac{t}{\alpha+T+t}\right)\right]
        P(\text{alive})

    Evaluated after Euler's transformation
    :math:`{}_2F_1(A, B; C; z) = (1-z)^{C-A-B}\,{}_2F_1(C-A, C-B; C; z)`, which turns the
    bracket into :math:`1 - u^{a-1}\,{}_2F_1(a+b-1-r, a-1; a+b+x-1; z)` with
    :math:`u = (\alpha+T)/(\alpha+T+t) = 1 - z`. As printed, the first factor underflows and the
    series overflows for heavy buyers over long horizons (x = 700, t = 1000: 0 times inf);
    transformed, neither parameter grows with x and the series stays near 1. Within 1e-7 of
    the removable singularities :math:`a = 1` and :math:`a+b+x-1 = 0` the expression is
    taken 1e-7 away (relative error below ~2e-7 there, instead of 0/0).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(expected_purchases(backend.numpy, 0.2425945, 4.4136019, 0.7929199, 2.4258881,
    ...                                frequency=2, recency=30.43, T=38.86, t=39)), 3)
    1.226
    """
    x = frequency
    log_u = xp.log(alpha + T) - xp.log(alpha + T + t)
    return _purchases_factor(xp, r, a, b, x, log_u, t / (alpha + T + t)) * probability_alive(
        xp, r, alpha, a, b, frequency=frequency, recency=recency, T=T
    )


def expected_purchases_new_customer(xp, r, alpha, a, b, *, t):
    r"""Expected purchases in (0, t] of a customer just acquired, equation (9) of [1]_.

    .. math:: E[X(t)] = \frac{a+b-1}{a-1}\left[1 - \left(\frac{\alpha}{\alpha+t}\right)^r
              {}_2F_1\!\left(r, b; a+b-1; \frac{t}{\alpha+t}\right)\right]

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(expected_purchases_new_customer(backend.numpy, 0.243, 4.414, 0.793, 2.426, t=39)), 4)
    1.1967
    """
    # Euler-transformed as in expected_purchases (there with x = 0): bounded for any t
    log_u = xp.log(alpha) - xp.log(alpha + t)
    return _purchases_factor(xp, r, a, b, 0.0, log_u, t / (alpha + t))


def probability_of_purchases(xp, r, alpha, a, b, *, n, t):
    r"""P(X(t) = n) for a customer just acquired, equation (8) of [1]_.

    .. math::

        P(X(t)=n) = \frac{B(a, b+n)}{B(a,b)} \frac{\Gamma(r+n)}{\Gamma(r)\, n!}
        \left(\frac{\alpha}{\alpha+t}\right)^r \left(\frac{t}{\alpha+t}\right)^n
        + \delta_{n>0}\frac{B(a+1, b+n-1)}{B(a,b)} \left[1 - \left(\frac{\alpha}{\alpha+t}\right)^r
        \sum_{j=0}^{n-1}\frac{\Gamma(r+j)}{\Gamma(r)\, j!}\left(\frac{t}{\alpha+t}\right)^j\right]

    The bracket is the negative-binomial tail :math:`P(\mathrm{NBD} \ge n)`, evaluated as the
    regularised incomplete beta :math:`I_{t/(\alpha+t)}(n, r)` rather than as a sum.

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> pmf = probability_of_purchases(backend.numpy, 0.243, 4.414, 0.793, 2.426,
    ...                                n=np.arange(400), t=39)
    >>> round(float(pmf.sum()), 8)
    1.0
    """
    log_p = xp.log(alpha) - xp.log(alpha + t)
    log_q = xp.log(t) - xp.log(alpha + t)
    first = xp.exp(
        xp.betaln(a, b + n) - xp.betaln(a, b)
        + xp.gammaln(r + n) - xp.gammaln(r) - xp.gammaln(n + 1.0)
        + r * log_p + n * log_q
    )
    ns = xp.where(n > 0, n, 1.0)
    second = xp.exp(xp.betaln(a + 1.0, b + ns - 1.0) - xp.betaln(a, b)) * xp.betainc(ns, r, t / (alpha + t))
    return first + xp.where(n > 0, second, 0.0)


def discounted_expected_transactions(xp, r, alpha, a, b, *, frequency, recency, T, discount_rate):
    r"""DERT: discounted expected residual transactions with continuous discounting.

    Alive at :math:`T` with rate :math:`\lambda` and dropout probability :math:`p`, the
    :math:`k`-th future purchase comes at a :math:`\mathrm{Gamma}(k, \lambda)` time and is made
    with probability :math:`(1-p)^{k-1}`, so the discounted count is
    :math:`\sum_k (1-p)^{k-1}\left(\frac{\lambda}{\lambda+\delta}\right)^k = \frac{\lambda}{\delta + p\lambda}`.
    Under the posterior :math:`\lambda \sim \mathrm{Gamma}(r+x, \alpha+T)`,
    :math:`p \sim \mathrm{Beta}(a, b+x)` (independent given alive), the expectation over
    :math:`\lambda` is closed-form,

    .. math::

        E_\lambda\left[\frac{\lambda}{\delta+p\lambda}\right] = \frac{1}{p}
        \left[1 - z^{r+x} U(r+x, r+x; z)\right]_{z = (\alpha+T)\delta/p},
        \qquad \mathrm{DERT} = P(\text{alive})\, E_p\left[\ldots\right],

    with Tricomi's :math:`U` (:func:`clvmodels.special.log_scaled_hyperu`); the remaining
    expectation over the beta-distributed :math:`p` has no closed form in standard functions
    and is taken by 96-point Gauss-Jacobi quadrature (:func:`clvmodels.special.beta_expectation`).
    NumPy backend only (a prediction, never part of a likelihood).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(discounted_expected_transactions(backend.numpy, 0.243, 4.414, 0.793, 2.426,
    ...     frequency=2, recency=30.43, T=38.86, discount_rate=0.0027)), 3)
    5.156
    """
    from clvmodels.special import beta_expectation, log_scaled_hyperu

    rx = np.asarray(r + frequency, dtype=float)[..., None]
    c = np.asarray((alpha + T) * discount_rate, dtype=float)[..., None]

    def per_p(p):
        return -np.expm1(log_scaled_hyperu(xp, rx, c / p)) / p

    shape = np.broadcast_shapes(np.shape(frequency), np.shape(T), np.shape(discount_rate))
    ep = beta_expectation(per_p, np.broadcast_to(a, shape), np.broadcast_to(b + np.asarray(frequency, dtype=float), shape))
    return ep * probability_alive(xp, r, alpha, a, b, frequency=frequency, recency=recency, T=T)


def simulate(rng, n, r, alpha, a, b, *, T=None, return_times=False):
    """Draw ``n`` customers' (frequency, recency, T) from the BG/NBD process.

    Each customer has a rate ``lambda ~ Gamma(r, alpha)`` (rate ``alpha``) and a dropout
    probability ``p ~ Beta(a, b)``; purchases arrive as a Poisson process and after each one
    the customer leaves with probability ``p``. ``T`` (scalar or per-customer array) is the
    observation length since the first purchase, at time 0.

    With ``return_times=True`` also returns ``(customer_index, time)`` arrays of the repeat
    purchases, for simulating transaction logs.

    Examples
    --------
    >>> import numpy as np
    >>> d = simulate(np.random.default_rng(1), 5, 0.5, 4.0, 0.8, 2.5, T=40.0)
    >>> sorted(d), bool(np.all(d["recency"] <= d["T"]))
    (['T', 'frequency', 'recency'], True)
    """
    T = np.broadcast_to(np.asarray(40.0 if T is None else T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    tx = np.zeros(n)
    active = np.arange(n)
    who, when = [], []
    while active.size:
        t_next = tx[active] + rng.exponential(1.0, active.size) / lam[active]
        buys = t_next <= T[active]
        active, t_next = active[buys], t_next[buys]
        x[active] += 1
        tx[active] = t_next
        if return_times:
            who.append(active)
            when.append(t_next)
        active = active[rng.random(active.size) >= p[active]]
    data = {"frequency": x, "recency": tx, "T": T}
    if return_times:
        return data, (np.concatenate(who) if who else np.zeros(0, int), np.concatenate(when) if when else np.zeros(0))
    return data


SPEC = ModelSpec(
    name="bgnbd",
    title="BG/NBD",
    params=(
        Param("r", symbol="r", prior=("LogNormal", {"mu": 0.0, "sigma": 1.5})),
        Param("alpha", symbol=r"\alpha", prior=("LogNormal", {"mu": 2.0, "sigma": 2.5})),
        Param("a", symbol="a", prior=("LogNormal", {"mu": 0.0, "sigma": 1.5})),
        Param("b", symbol="b", prior=("LogNormal", {"mu": 0.0, "sigma": 1.5})),
    ),
    data=(
        DataField("frequency", "count", description="repeat purchases x"),
        DataField("recency", "time", at_most="T", description="time of the last purchase t_x"),
        # T = 0 (first purchase on the calibration end, as rfm_summary gives) is allowed: such a
        # customer contributes likelihood 1 and is predicted like a new customer
        DataField("T", "time", description="time observed since the first purchase"),
    ),
    loglik=loglik,
    predictions={
        "expected_purchases": expected_purchases,
        "probability_alive": probability_alive,
        "probability_of_purchases": probability_of_purchases,
        "expected_purchases_new_customer": expected_purchases_new_customer,
        "discounted_expected_transactions": discounted_expected_transactions,
    },
    reference="Fader, Hardie & Lee (2005), Marketing Science 24(2)",
    simulate=simulate,
)


class BetaGeo(TransactionModel):
    """BG/NBD model of repeat buying (Fader, Hardie & Lee 2005).

    Parameters ``r, alpha`` (gamma heterogeneity of purchase rates) and ``a, b`` (beta
    heterogeneity of the dropout probability). Fit by :meth:`fit` (maximum likelihood) or
    build from known values with :meth:`from_params`.

    Examples
    --------
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> bg = clv.BetaGeo().fit(s)
    >>> {k: round(v, 3) for k, v in bg.params_.items()}
    {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
    >>> round(bg.loglik_, 1)
    -9582.4
    """

    spec = SPEC
