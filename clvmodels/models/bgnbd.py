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

from clvmodels.models.common import RFM_FIELDS, n_log_share, on_distinct, pmf_given_history
from clvmodels.models.spec import NUMPY_ONLY, ModelSpec, Param, Prediction
from clvmodels.special import beta_expectation

__all__ = [
    "BetaGeo",
    "loglik",
    "expected_purchases",
    "probability_alive",
    "probability_of_purchases",
    "conditional_probability_of_purchases",
    "expected_purchases_new_customer",
    "discounted_expected_transactions",
    "purchases_before_dropout",
    "simulate_future",
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
    with np.errstate(invalid="ignore", over="ignore"):  # 0 * inf: replaced below
        value = c / (a - 1.0) * (1.0 - xp.exp((a - 1.0) * log_u) * xp.hyp2f1(a + b - 1.0 - r, a - 1.0, c, z))
    if xp.name == "numpy":
        value = _purchases_factor_by_quadrature(r, a, b, x, log_u, value)
    return value + 0.0  # at t = 0, c/(a-1) * 0 is -0.0 for a < 1: print it as 0


def _purchases_factor_by_quadrature(r, a, b, x, log_u, value):
    # Where the closed form overflows (a, b and r all in the hundreds, long horizons: u^(a-1)
    # underflows while the 2F1 exceeds 1e308), the same bracket as its definition,
    # E_p[(1 - (1 + p t/beta)^-(r+x)) / p] with p ~ Beta(a, b+x), by Gauss-Jacobi quadrature;
    # it is accurate exactly there, where the beta distribution is concentrated.
    bad = ~np.isfinite(value)
    if not bad.any():
        return value

    r, a, b, x, log_u, value = (np.array(np.broadcast_to(v, bad.shape), dtype=float) for v in (r, a, b, x, log_u, value))
    ratio, rx = np.expm1(-log_u[bad])[:, None], (r + x)[bad][:, None]
    value[bad] = beta_expectation(lambda p: -np.expm1(-rx * np.log1p(p * ratio)) / p, a[bad], (b + x)[bad])
    return value


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
    # 1 / (1 + e^odds), as the logistic function of -odds: one pass, no overflow
    return xp.where(frequency > 0, xp.sigmoid(-odds), 1.0)


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
    def factor(x, T, r, alpha, a, b):
        log_u = xp.log(alpha + T) - xp.log(alpha + T + t)
        return _purchases_factor(xp, r, a, b, x, log_u, t / (alpha + T + t))

    # the factor depends on (x, T) alone, which many customers share: evaluated once per pair
    return on_distinct(xp, factor, frequency, T, params=(r, alpha, a, b)) * probability_alive(
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
    first = xp.exp(
        xp.betaln(a, b + n) - xp.betaln(a, b)
        + xp.gammaln(r + n) - xp.gammaln(r) - xp.gammaln(n + 1.0)
        + r * log_p + n_log_share(xp, n, alpha, t)
    )
    ns = xp.where(n > 0, n, 1.0)
    second = xp.exp(xp.betaln(a + 1.0, b + ns - 1.0) - xp.betaln(a, b)) * xp.betainc(ns, r, t / (alpha + t))
    return first + xp.where(n > 0, second, 0.0)


def conditional_probability_of_purchases(xp, r, alpha, a, b, *, frequency, recency, T, n, t):
    r"""P(n purchases in (T, T + t] | x, t_x, T).

    Alive at :math:`T` after :math:`x` survived dropout chances, a customer's posterior is
    :math:`\lambda \sim \mathrm{Gamma}(r+x, \alpha+T)`, :math:`p \sim \mathrm{Beta}(a, b+x)`,
    and from then on she is a new customer with those parameters (the Poisson process is
    memoryless, and dropout comes only after purchases):

    .. math:: P(Y(t) = n \mid x, t_x, T) = (1 - P_a)\,[n = 0] + P_a\,
              P(X(t) = n \mid r+x, \alpha+T, a, b+x).

    Its mean is equation (10) (checked in the tests).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(conditional_probability_of_purchases(backend.numpy, 0.243, 4.414, 0.793, 2.426,
    ...     frequency=2, recency=30.43, T=38.86, n=0, t=39)), 4)
    0.4454
    """
    p_alive = probability_alive(xp, r, alpha, a, b, frequency=frequency, recency=recency, T=T)
    future = probability_of_purchases(xp, r + frequency, alpha + T, a, b + frequency, n=n, t=t)
    return pmf_given_history(xp, p_alive, future, n)


#: Composite Gauss-Legendre rule for DERT's integral over log-time: 32 panels of 8 nodes.
_DERT_NODES, _DERT_WEIGHTS = np.polynomial.legendre.leggauss(8)
_DERT_PANELS = 32


def discounted_expected_transactions(xp, r, alpha, a, b, *, frequency, recency, T, discount_rate):
    r"""DERT: discounted expected residual transactions with continuous discounting.

    Alive at :math:`T` with rate :math:`\lambda` and dropout probability :math:`p`, the
    :math:`k`-th future purchase comes at a :math:`\mathrm{Gamma}(k, \lambda)` time and is made
    with probability :math:`(1-p)^{k-1}`, so the discounted count is
    :math:`\sum_k (1-p)^{k-1}\left(\frac{\lambda}{\lambda+\delta}\right)^k = \frac{\lambda}{\delta + p\lambda}`,
    to be averaged over the posterior :math:`\lambda \sim \mathrm{Gamma}(r+x, \alpha+T)`,
    :math:`p \sim \mathrm{Beta}(a, b+x)` given alive. The average over :math:`\lambda` is a
    Tricomi function of :math:`\delta(\alpha+T)/p`; the one over :math:`p` that remains has no
    closed form in standard functions (it is a Meijer-G function; as a
    :math:`{}_3F_1` series in :math:`1/(\delta(\alpha+T))` it diverges). Integrating by parts
    in time instead,

    .. math::

        \mathrm{DERT}(\delta) = \int_0^\infty e^{-\delta u}\, dE[Y(u)]
        = P(\text{alive}) \int_0^\infty \delta e^{-\delta u}\, \bar E(u)\, du,

    where :math:`\bar E(u)` is equation (10)'s bracket (expected purchases in :math:`u` of an
    active customer, bounded, smooth, closed-form), and the integral is taken in
    :math:`\log u` by a composite Gauss-Legendre rule over the window where the integrand
    matters (its singularities lie :math:`\pi` off the real axis; below the window it is
    :math:`\delta\frac{r+x}{\alpha+T}u^2`, added exactly; above it :math:`e^{-\delta u}` has
    fallen below :math:`e^{-45}`). Relative error below 1e-10 against a 40-digit mpmath
    evaluation of the original double integral, for discount rates down to 1e-6 per period.
    ``discount_rate`` is the continuous rate :math:`\delta` per time unit of the summary.
    NumPy backend only (a prediction, never part of a likelihood).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(discounted_expected_transactions(backend.numpy, 0.243, 4.414, 0.793, 2.426,
    ...     frequency=2, recency=30.43, T=38.86, discount_rate=0.0027)), 3)
    5.156
    """
    columns = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (r, alpha, a, b, frequency, T, discount_rate)))
    # the integral does not depend on recency: evaluate it once per distinct (params, x, T, delta)
    rows, inverse = np.unique(np.stack([c.ravel() for c in columns], axis=1), axis=0, return_inverse=True)
    active = _discounted_active(xp, *rows.T).reshape(-1)[inverse.reshape(-1)].reshape(columns[0].shape)
    return active * probability_alive(xp, r, alpha, a, b, frequency=frequency, recency=recency, T=T)


def _discounted_active(xp, r, alpha, a, b, x, T, d):
    # DERT of an active customer: the log-time integral of discounted_expected_transactions
    beta = alpha + T
    log_d = np.log(d)
    hi = np.log(45.0) - log_d
    # below lo, E(u) = u (r+x)/beta to a relative 1e-9 or better, so the tail is exact
    lo = np.minimum(np.log(beta), -log_d) - np.log(r + a + b + 2.0 * x + 2.0) - 20.0
    width = (hi - lo) / _DERT_PANELS
    r_, a_, b_, x_, beta_, d_ = (v[..., None] for v in (r, a, b, x, beta, d))
    total = d * (r + x) / beta * np.exp(2.0 * lo) / 2.0
    for k in range(_DERT_PANELS):
        u = np.exp((lo + k * width)[..., None] + 0.5 * width[..., None] * (_DERT_NODES + 1.0))
        grown = _purchases_factor(xp, r_, a_, b_, x_, -np.log1p(u / beta_), u / (beta_ + u))
        total += 0.5 * width * ((d_ * u * np.exp(-d_ * u) * grown) @ _DERT_WEIGHTS)
    return total


def purchases_before_dropout(rng, lam, dropout, edges):
    r"""Purchases per period ``(edges[k-1], edges[k]]`` of a customer alive at time 0 who buys at
    rate ``lam`` and drops out after each purchase with probability ``dropout``.

    She makes :math:`J \sim \mathrm{Geometric}(p)` (support 1, 2, ...) more purchases before
    dropping out, at the arrival times of a Poisson process of rate :math:`\lambda`, so her
    cumulative count at :math:`t_k` is :math:`\min(C_k, J)` with :math:`C_k` the process's count.
    ``lam`` and ``dropout`` broadcast together (shape S); the result has shape S + (len(edges),).

    Examples
    --------
    >>> import numpy as np
    >>> n = purchases_before_dropout(np.random.default_rng(0), np.full(4, 2.0), np.full(4, 1e-12), [1.0, 3.0])
    >>> n.shape, bool((n >= 0).all())
    ((4, 2), True)
    """
    lam, dropout = np.broadcast_arrays(np.asarray(lam, float), np.asarray(dropout, float))
    widths = np.diff(np.concatenate([[0.0], np.asarray(edges, dtype=float)]))
    cumulative = np.cumsum(rng.poisson(lam[..., None] * widths), axis=-1)
    # J by inversion, as a float: a dropout probability that underflows to 0 (a Beta draw with
    # tiny a) gives J = inf, where numpy's geometric refuses p = 0
    with np.errstate(divide="ignore"):
        J = np.ceil(np.log(rng.random(dropout.shape)) / np.log1p(-dropout))
    until = np.minimum(cumulative, np.maximum(J, 1.0)[..., None])
    return np.diff(until, axis=-1, prepend=0)


def simulate_future(rng, r, alpha, a, b, *, frequency, T, edges):
    r"""Purchases per period after ``T`` of customers alive at ``T`` with ``frequency`` repeat purchases.

    The alive part of the likelihood, :math:`(1-p)^x \lambda^x e^{-\lambda T}` (equation (3)
    of [1]_ without the dropped-out term), times the priors gives, given alive at :math:`T`,
    :math:`\lambda \sim \mathrm{Gamma}(r + x,\ \alpha + T)` and
    :math:`p \sim \mathrm{Beta}(a,\ b + x)`, independent; the future is then the BG/NBD story
    from :math:`T` on (:func:`purchases_before_dropout`). With :func:`probability_alive` for the
    alive coin, this simulates the realised future given a history.

    Examples
    --------
    >>> import numpy as np
    >>> n = simulate_future(np.random.default_rng(1), 0.243, 4.414, 0.793, 2.426, frequency=np.full(20000, 2.0),
    ...                     T=np.full(20000, 38.86), edges=[39.0])
    >>> # alive customers' mean: E[Y(t) | history] / P(alive), the closed forms' ratio
    >>> from clvmodels import backend
    >>> kw = dict(frequency=2.0, recency=38.86, T=38.86)
    >>> exact = expected_purchases(backend.numpy, 0.243, 4.414, 0.793, 2.426, t=39.0, **kw) / probability_alive(
    ...     backend.numpy, 0.243, 4.414, 0.793, 2.426, **kw)
    >>> bool(abs(n.mean() / exact - 1) < 0.03)
    True
    """
    x = np.asarray(frequency, dtype=float)
    lam = rng.gamma(r + x) / (alpha + np.asarray(T, dtype=float))
    return purchases_before_dropout(rng, lam, rng.beta(a, b + x), edges)


def simulate(rng, n, r, alpha, a, b, *, T=None, return_times=False):
    """Draw ``n`` customers' (frequency, recency, T) from the BG/NBD process.

    Each customer has a rate ``lambda ~ Gamma(r, alpha)`` (rate ``alpha``) and a dropout
    probability ``p ~ Beta(a, b)``; purchases arrive as a Poisson process and after each one
    the customer leaves with probability ``p``. ``T`` (scalar or per-customer array) is the
    observation length since the first purchase, at time 0.

    ``alive`` (0/1 floats) is the latent state at ``T``: 1 for a customer who has not dropped
    out (what :func:`probability_alive` estimates from the other three columns).

    With ``return_times=True`` also returns ``(customer_index, time)`` arrays of the repeat
    purchases, for simulating transaction logs.

    Examples
    --------
    >>> import numpy as np
    >>> d = simulate(np.random.default_rng(1), 5, 0.5, 4.0, 0.8, 2.5, T=40.0)
    >>> sorted(d), bool(np.all(d["recency"] <= d["T"]))
    (['T', 'alive', 'frequency', 'recency'], True)
    """
    T = np.broadcast_to(np.asarray(40.0 if T is None else T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    tx = np.zeros(n)
    alive = np.ones(n)
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
        # after each purchase the customer leaves with probability p (no purchase before T: still alive)
        stays = rng.random(active.size) >= p[active]
        alive[active[~stays]] = 0.0
        active = active[stays]
    data = {"frequency": x, "recency": tx, "T": T, "alive": alive}
    if return_times:
        return data, (np.concatenate(who) if who else np.zeros(0, int), np.concatenate(when) if when else np.zeros(0))
    return data


SPEC = ModelSpec(
    name="bgnbd",
    title="BG/NBD",
    params=(
        Param("r", symbol="r", prior=("LogNormal", {"mu": 0.0, "sigma": 1.5})),
        Param("alpha", symbol=r"\alpha", prior=("LogNormal", {"mu": 2.0, "sigma": 2.5}), time_scale=True),
        Param("a", symbol="a", prior=("LogNormal", {"mu": 0.0, "sigma": 1.5})),
        Param("b", symbol="b", prior=("LogNormal", {"mu": 0.0, "sigma": 1.5})),
    ),
    data=RFM_FIELDS,
    loglik=loglik,
    predictions={
        "expected_purchases": Prediction(expected_purchases, broadcasts=("t",)),
        "probability_alive": probability_alive,
        "probability_of_purchases": probability_of_purchases,
        "conditional_probability_of_purchases": Prediction(conditional_probability_of_purchases, backends=NUMPY_ONLY),
        "expected_purchases_new_customer": expected_purchases_new_customer,
        "discounted_expected_transactions": Prediction(discounted_expected_transactions, backends=NUMPY_ONLY),
    },
    reference="Fader, Hardie & Lee (2005), Marketing Science 24(2)",
    simulate=simulate,
    simulate_future=simulate_future,
    aliases=("bg_nbd", "betageo"),
    covariate_links={"purchase": (("alpha", -1.0),), "dropout": (("a", 1.0), ("b", 1.0))},
)
