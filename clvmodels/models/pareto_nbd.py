r"""Pareto/NBD: Poisson purchases, exponential lifetimes, gamma heterogeneity in both.

While alive a customer buys as a Poisson process with rate :math:`\lambda \sim
\mathrm{Gamma}(r, \alpha)`; her unobserved lifetime is exponential with rate :math:`\mu \sim
\mathrm{Gamma}(s, \beta)`, independent of :math:`\lambda` (Schmittlein, Morrison & Colombo
1987). Equations as in Fader & Hardie (2005), "A note on deriving the Pareto/NBD model and
related expressions" [2]_.

The likelihood's Gaussian hypergeometric term is the integral

.. math::

    I(t) = \int_t^\infty (\alpha+\tau)^{-(r+x)} (\beta+\tau)^{-(s+1)}\, d\tau
         = \frac{{}_2F_1\!\left(r+s+x,\; s+1;\; r+s+x+1;\; \frac{\alpha-\beta}{\alpha+t}\right)}
                {(r+s+x)(\alpha+t)^{r+s+x}} \quad (\alpha \ge \beta),

(with the roles of the parameters swapped when :math:`\alpha < \beta`, so the argument lies in
:math:`[0, 1)`), evaluated in log space by :func:`clvmodels.special.log_hyp2f1`, and the
likelihood's bracket :math:`A_0 = I(t_x) - I(T)` as a log-difference of exponentials.

References
----------
.. [1] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). "Counting your customers:
   who are they and what will they do next?" Management Science 33(1), 1-24.
.. [2] Fader, P. S. and Hardie, B. G. S. (2005). "A note on deriving the Pareto/NBD model and
   related expressions". brucehardie.com/notes/009.
.. [3] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "RFM and CLV: using iso-value
   curves for customer base analysis". Journal of Marketing Research 42(4), 415-430 (DERT).
.. [4] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers the easy
   way". Marketing Science 24(2) (the CDNOW estimates).
.. [5] Fader, P. S. and Hardie, B. G. S. (2006). "Deriving an expression for P(X(t) = x) under
   the Pareto/NBD model". brucehardie.com/notes/012.
"""

from __future__ import annotations

import math

import numpy as np

from clvmodels.models.common import RFM_FIELDS, pmf_given_history
from clvmodels.models.spec import NUMPY_ONLY, ModelSpec, Param, Prediction
from clvmodels.special import expm1_ratio, log_diff_exp, log_hyp2f1, log_scaled_hyperu

__all__ = [
    "ParetoNBD",
    "loglik",
    "probability_alive",
    "expected_purchases",
    "expected_purchases_new_customer",
    "probability_of_purchases",
    "conditional_probability_of_purchases",
    "discounted_expected_transactions",
    "simulate_future",
]


def _log_integral(xp, r, alpha, s, beta, frequency, t):
    r""":math:`\log I(t)`, the tail integral of the module docstring, for :math:`t \ge 0`."""
    m = r + s + frequency
    a_ge_b = alpha >= beta
    big = xp.where(a_ge_b, alpha, beta)
    second = xp.where(a_ge_b, s + 1.0, r + frequency)
    small = xp.where(a_ge_b, beta, alpha)
    z = xp.abs(alpha - beta) / (big + t)
    log_big = xp.log(big + t)
    # 1 - z = (small + t) / (big + t), exactly, instead of from the rounded z
    return -m * log_big - xp.log(m) + log_hyp2f1(xp, m, second, m + 1.0, z, log1mz=xp.log(small + t) - log_big)


def _log_terms(xp, r, alpha, s, beta, frequency, recency, T):
    """(log of the 'alive at T' term, log of the 'died in (t_x, T]' term), without the common factor."""
    log_alive = -(r + frequency) * xp.log(alpha + T) - s * xp.log(beta + T)
    # A customer whose last purchase is at T has no room to die after it: that term is 0. Its
    # difference is taken against a stand-in I(T) + log 2 and discarded, so no NaN reaches a
    # gradient; I(t_x) stays a function of (x, t_x) alone, evaluated once per distinct pair in a fit.
    same = recency >= T
    at_T = _log_integral(xp, r, alpha, s, beta, frequency, T)
    at_tx = xp.where(same, at_T + math.log(2.0), _log_integral(xp, r, alpha, s, beta, frequency, recency))
    log_dead = xp.log(s) + log_diff_exp(xp, at_tx, at_T)
    return log_alive, xp.where(same, -xp.inf, log_dead)


def loglik(xp, r, alpha, s, beta, *, frequency, recency, T):
    r"""Log-likelihood of one customer's (x, t_x, T), equation (11) of [2]_.

    .. math::

        L = \frac{\Gamma(r+x)\alpha^r\beta^s}{\Gamma(r)}
        \left[\frac{1}{(\alpha+T)^{r+x}(\beta+T)^s} + s\, A_0\right],
        \qquad A_0 = I(t_x) - I(T).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(loglik(backend.numpy, 0.553, 10.578, 0.606, 11.669,
    ...                    frequency=2, recency=30.43, T=38.86)), 6)
    -9.554283
    """
    log_alive, log_dead = _log_terms(xp, r, alpha, s, beta, frequency, recency, T)
    return (
        xp.gammaln(r + frequency) - xp.gammaln(r) + r * xp.log(alpha) + s * xp.log(beta)
        + xp.logaddexp(log_alive, log_dead)
    )


def probability_alive(xp, r, alpha, s, beta, *, frequency, recency, T):
    r"""P(alive at T | x, t_x, T), equation (18) of [2]_.

    .. math:: P(\text{alive}) = \left[(\alpha+T)^{r+x}(\beta+T)^s\,
              \left(\tfrac{1}{(\alpha+T)^{r+x}(\beta+T)^s} + s A_0\right)\right]^{-1}

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(probability_alive(backend.numpy, 0.553, 10.578, 0.606, 11.669,
    ...                               frequency=2, recency=30.43, T=38.86)), 4)
    0.8692
    """
    log_alive, log_dead = _log_terms(xp, r, alpha, s, beta, frequency, recency, T)
    return xp.exp(log_alive - xp.logaddexp(log_alive, log_dead))


def expected_purchases(xp, r, alpha, s, beta, *, frequency, recency, T, t):
    r"""Expected purchases in (T, T + t] given the history, equation (22) of [2]_.

    .. math::

        E[Y(t) \mid x, t_x, T] = \frac{(r+x)(\beta+T)}{(\alpha+T)(s-1)}
        \left[1 - \left(\frac{\beta+T}{\beta+T+t}\right)^{s-1}\right] P(\text{alive})

    The bracket over :math:`s-1` is evaluated by :func:`clvmodels.special.expm1_ratio`, so
    :math:`s = 1` gives its limit :math:`(\beta+T)\log(1 + t/(\beta+T))`.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(expected_purchases(backend.numpy, 0.553, 10.578, 0.606, 11.669,
    ...                                frequency=2, recency=30.43, T=38.86, t=39)), 4)
    1.4551
    """
    rate = (r + frequency) / (alpha + T)
    span = (beta + T) * expm1_ratio(xp, s - 1.0, -xp.log1p(t / (beta + T)))
    return rate * span * probability_alive(xp, r, alpha, s, beta, frequency=frequency, recency=recency, T=T)


def expected_purchases_new_customer(xp, r, alpha, s, beta, *, t):
    r"""E[X(t)] for a customer just acquired, equation (17) of [2]_.

    .. math:: E[X(t)] = \frac{r\beta}{\alpha(s-1)}\left[1 - \left(\frac{\beta}{\beta+t}\right)^{s-1}\right]

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(expected_purchases_new_customer(backend.numpy, 0.553, 10.578, 0.606, 11.669, t=39)), 4)
    1.213
    """
    return r / alpha * beta * expm1_ratio(xp, s - 1.0, -xp.log1p(t / beta))


def discounted_expected_transactions(xp, r, alpha, s, beta, *, frequency, recency, T, discount_rate):
    r"""DERT: discounted expected residual transactions with continuous discounting, eq. (2) of [3]_.

    .. math::

        \mathrm{DERT}(\delta) = \frac{\alpha^r\beta^s\delta^{s-1}\Gamma(r+x+1)\,
        U(s, s; \delta(\beta+T))}{\Gamma(r)(\alpha+T)^{r+x+1}\, L(r,\alpha,s,\beta \mid x,t_x,T)}
        = P(\text{alive})\,\frac{r+x}{\alpha+T}\,\frac{1}{\delta}\,
          \left[z^s U(s, s; z)\right]_{z=\delta(\beta+T)}

    with Tricomi's :math:`U`. The second form (posterior mean rate times the expected
    discounted lifetime :math:`E[1/(\delta+\mu)]`) keeps every factor representable; the
    bracket is :func:`clvmodels.special.log_scaled_hyperu`. ``discount_rate`` is the
    continuous rate :math:`\delta` per time unit of the summary (a 15 % annual rate in weekly
    data is :math:`\log(1.15)/52`).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(discounted_expected_transactions(backend.numpy, 0.553, 10.578, 0.606, 11.669,
    ...     frequency=2, recency=30.43, T=38.86, discount_rate=0.0027)), 3)
    6.484
    """
    rate = (r + frequency) / (alpha + T)
    life = xp.exp(log_scaled_hyperu(xp, s, discount_rate * (beta + T))) / discount_rate
    return rate * life * probability_alive(xp, r, alpha, s, beta, frequency=frequency, recency=recency, T=T)


#: Composite Gauss-Legendre rule for the death-time integral of P(X(t) = n): 16 panels of 16
#: nodes over the window where the integrand is within e^-50 of its maximum.
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
_PANELS = 16
_DROP = 50.0


def _bisect(fn, lo, hi, iterations=40):
    # the point where fn changes sign, elementwise, given fn(lo) > 0 >= fn(hi); the window's
    # ends and the mode need not be exact (the rule covers wherever they land), only bracketed
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        up = fn(mid) > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    return 0.5 * (lo + hi)


def _log_death_integral(r, alpha, s, beta, n, t):
    r""":math:`\log \int_0^t \tau^n (\alpha+\tau)^{-(r+n)} (\beta+\tau)^{-(s+1)}\, d\tau` (NumPy).

    In :math:`y = \log\tau` the integrand is log-concave (its log has the slope
    :math:`n + 1 - (r+n)\,\sigma(y - \log\alpha) - (s+1)\,\sigma(y - \log\beta)`, decreasing from
    :math:`n+1` to :math:`-(r+s)`), so its mode is found by bisection and the window where it
    exceeds :math:`e^{-50}` of its maximum is integrated by composite Gauss-Legendre
    quadrature, in log space. Every term is positive: nothing cancels, for any :math:`n` or
    :math:`t`. The integrand's singularities lie :math:`\pi` off the real axis, so panels no
    wider than a few units converge geometrically (relative error ~1e-13 against mpmath).
    """
    from scipy.special import expit

    r, alpha, s, beta, n, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (r, alpha, s, beta, n, t)))
    la, lb, lt = np.log(alpha), np.log(beta), np.log(t)

    def log_f(y, axis_end=False):
        # the log-integrand; with axis_end, at y carrying a trailing node axis
        r_, n_, la_, lb_, s_ = (v[..., None] if axis_end else v for v in (r, n, la, lb, s))
        return (n_ + 1.0) * y - (r_ + n_) * np.logaddexp(la_, y) - (s_ + 1.0) * np.logaddexp(lb_, y)

    def slope(y):
        return (n + 1.0) - (r + n) * expit(y - la) - (s + 1.0) * expit(y - lb)

    # brackets of the mode: far enough below both kinks the slope is ~ n + 1 > 0, far enough
    # above them ~ -(r + s) < 0 (each logistic within e^-3 of its limit, scaled by the weights)
    spread = np.log(r + n + s + 1.0)
    lo = np.minimum(la, lb) - spread - 3.0
    hi = np.maximum(la, lb) + spread - np.log(r + s) + 3.0
    peak = np.minimum(_bisect(slope, lo, hi), lt)
    top = log_f(peak)
    level = top - _DROP
    # below lo the log-integrand rises at a slope >= n + 1 - e^-3, so it has dropped by _DROP
    # within _DROP + 5 of it
    left = _bisect(lambda y: level - log_f(y), np.minimum(lo, peak) - _DROP - 5.0, peak)
    right = np.where(log_f(lt) < level, _bisect(lambda y: log_f(y) - level, peak, lt), lt)
    width = (right - left) / _PANELS
    total = np.zeros_like(top)
    for k in range(_PANELS):
        y = (left + k * width)[..., None] + 0.5 * width[..., None] * (_GL_NODES + 1.0)
        total += 0.5 * width * (np.exp(log_f(y, axis_end=True) - top[..., None]) @ _GL_WEIGHTS)
    return top + np.log(total)


def probability_of_purchases(xp, r, alpha, s, beta, *, n, t):
    r"""P(X(t) = n) for a customer just acquired (Fader & Hardie 2006 [5]_).

    The customer is alive throughout :math:`(0, t]` and buys :math:`n` times as a negative
    binomial, or dies at some :math:`\tau < t` having bought :math:`n` times before:

    .. math::

        P(X(t)=n) = \frac{\Gamma(r+n)}{\Gamma(r)\,n!}\left(\frac{\alpha}{\alpha+t}\right)^r
        \left(\frac{t}{\alpha+t}\right)^n \left(\frac{\beta}{\beta+t}\right)^s
        + \frac{\Gamma(r+n)}{\Gamma(r)\,n!}\, s\,\alpha^r\beta^s
          \int_0^t \frac{\tau^n\, d\tau}{(\alpha+\tau)^{r+n}(\beta+\tau)^{s+1}}.

    [5]_ writes the integral in closed form as a difference of :math:`{}_2F_1` terms, a
    complete one minus a sum of :math:`n + 1` incomplete ones; that difference cancels
    catastrophically for short periods and large :math:`n` (at :math:`t = 0.5` weeks it
    loses every digit by :math:`n \approx 20`). The integral of a positive function is
    evaluated directly instead (see ``_log_death_integral``), and the tests check both
    against each other in mpmath. NumPy backend only (a prediction, never part of a
    likelihood).

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> pmf = probability_of_purchases(backend.numpy, 0.553, 10.578, 0.606, 11.669, n=np.arange(3), t=39)
    >>> pmf.round(4).tolist()
    [0.5936, 0.1656, 0.0825]
    """
    with np.errstate(divide="ignore"):  # t = 0: log t = -inf, handled below
        n, t = np.asarray(n, dtype=float), np.asarray(t, dtype=float)
        positive = t > 0
        t_safe = np.where(positive, t, 1.0)
        log_count = xp.gammaln(r + n) - xp.gammaln(r) - xp.gammaln(n + 1.0)
        log_alive = (
            log_count + r * (np.log(alpha) - np.log(alpha + t_safe)) + n * (np.log(t_safe) - np.log(alpha + t_safe))
            + s * (np.log(beta) - np.log(beta + t_safe))
        )
        log_dead = (
            log_count + np.log(s) + r * np.log(alpha) + s * np.log(beta)
            + _log_death_integral(r, alpha, s, beta, n, t_safe)
        )
        pmf = np.exp(np.logaddexp(log_alive, log_dead))
    return np.where(positive, pmf, np.where(n == 0, 1.0, 0.0))


def conditional_probability_of_purchases(xp, r, alpha, s, beta, *, frequency, recency, T, n, t):
    r"""P(n purchases in (T, T + t] | x, t_x, T).

    Alive at :math:`T`, a customer's rates have the posterior :math:`\lambda \sim
    \mathrm{Gamma}(r+x, \alpha+T)`, :math:`\mu \sim \mathrm{Gamma}(s, \beta+T)`, and by the
    memorylessness of both processes she is from then on a new customer with those
    parameters; so (equation (16) of Fader & Hardie's note 028, in another arrangement)

    .. math:: P(Y(t) = n \mid x, t_x, T) = (1 - P_a)\,[n = 0] + P_a\,
              P(X(t) = n \mid r+x, \alpha+T, s, \beta+T),
              \qquad P_a = P(\text{alive}).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(conditional_probability_of_purchases(backend.numpy, 0.553, 10.578, 0.606, 11.669,
    ...     frequency=2, recency=30.43, T=38.86, n=0, t=39)), 4)
    0.4081
    """
    p_alive = probability_alive(xp, r, alpha, s, beta, frequency=frequency, recency=recency, T=T)
    future = probability_of_purchases(xp, r + frequency, alpha + T, s, beta + T, n=n, t=t)
    return pmf_given_history(xp, p_alive, future, n)


def simulate_future(rng, r, alpha, s, beta, *, frequency, T, edges):
    r"""Purchases per period ``(edges[k-1], edges[k]]`` after ``T`` of customers alive at ``T`` with ``frequency`` purchases.

    The alive part of the likelihood, :math:`\lambda^x e^{-(\lambda + \mu) T}`, times the priors
    gives, given alive at :math:`T`, :math:`\lambda \sim \mathrm{Gamma}(r + x,\ \alpha + T)` and
    :math:`\mu \sim \mathrm{Gamma}(s,\ \beta + T)`, independent. The remaining lifetime is
    :math:`\mathrm{Exponential}(\mu)` (memoryless) and the purchases in each period are Poisson
    with mean :math:`\lambda` times the part of the period she is still alive for.

    Examples
    --------
    >>> import numpy as np
    >>> n = simulate_future(np.random.default_rng(2), 0.553, 10.578, 0.606, 11.669, frequency=np.full(20000, 3.0),
    ...                     T=np.full(20000, 38.86), edges=[39.0])
    >>> from clvmodels import backend
    >>> kw = dict(frequency=3.0, recency=38.86, T=38.86)
    >>> exact = expected_purchases(backend.numpy, 0.553, 10.578, 0.606, 11.669, t=39.0, **kw) / probability_alive(
    ...     backend.numpy, 0.553, 10.578, 0.606, 11.669, **kw)
    >>> bool(abs(n.mean() / exact - 1) < 0.03)
    True
    """
    x = np.asarray(frequency, dtype=float)
    T = np.asarray(T, dtype=float)
    lam = np.asarray(rng.gamma(r + x) / (alpha + T))
    mu = np.asarray(rng.gamma(np.broadcast_to(s, lam.shape)) / (beta + T))
    life = rng.exponential(1.0, lam.shape) / mu
    ends = np.asarray(edges, dtype=float)
    starts = np.concatenate([[0.0], ends[:-1]])
    alive_for = np.clip(life[..., None] - starts, 0.0, ends - starts)
    return rng.poisson(lam[..., None] * alive_for)


def simulate(rng, n, r, alpha, s, beta, *, T=None):
    """Draw ``n`` customers' (frequency, recency, T) from the Pareto/NBD process.

    ``lambda ~ Gamma(r, alpha)`` and ``mu ~ Gamma(s, beta)`` (rates ``alpha``, ``beta``); the
    lifetime is ``Exponential(mu)``; purchases are Poisson with rate ``lambda`` while alive and
    observed on ``(0, T]``. ``alive`` (0/1 floats) is the latent state at ``T``: 1 when the
    lifetime exceeds ``T``.

    Examples
    --------
    >>> import numpy as np
    >>> d = simulate(np.random.default_rng(1), 5, 0.5, 10.0, 0.6, 12.0, T=40.0)
    >>> sorted(d), bool(np.all(d["recency"] <= d["T"]))
    (['T', 'alive', 'frequency', 'recency'], True)
    """
    T = np.broadcast_to(np.asarray(40.0 if T is None else T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    lifetime = rng.exponential(1.0, n) / mu
    active = np.minimum(lifetime, T)
    x = rng.poisson(lam * active).astype(float)
    # the last of x uniform purchase times on (0, active]
    tx = np.where(x > 0, active * rng.random(n) ** (1.0 / np.maximum(x, 1.0)), 0.0)
    return {"frequency": x, "recency": tx, "T": T, "alive": (lifetime > T).astype(float)}


SPEC = ModelSpec(
    name="pareto_nbd",
    title="Pareto/NBD",
    params=(
        Param("r", symbol="r", prior=("Weibull", {"alpha": 2.0, "beta": 1.0})),
        Param("alpha", symbol=r"\alpha", prior=("Weibull", {"alpha": 2.0, "beta": 10.0}), time_scale=True),
        Param("s", symbol="s", prior=("Weibull", {"alpha": 2.0, "beta": 1.0})),
        Param("beta", symbol=r"\beta", prior=("Weibull", {"alpha": 2.0, "beta": 10.0}), time_scale=True),
    ),
    data=RFM_FIELDS,
    loglik=loglik,
    # s, beta -> inf with s/beta fixed: the gamma mixing distribution of dropout rates collapses to a point
    ridges=((("s", "beta"), "For Pareto/NBD, s and beta growing together mean one common dropout rate s/beta, "
                            "the same for every customer."),),
    predictions={
        "expected_purchases": expected_purchases,
        "probability_alive": probability_alive,
        "probability_of_purchases": Prediction(probability_of_purchases, backends=NUMPY_ONLY),
        "conditional_probability_of_purchases": Prediction(conditional_probability_of_purchases, backends=NUMPY_ONLY),
        "expected_purchases_new_customer": expected_purchases_new_customer,
        "discounted_expected_transactions": Prediction(discounted_expected_transactions, backends=NUMPY_ONLY),
    },
    reference="Schmittlein, Morrison & Colombo (1987); Fader & Hardie (2005) note 009",
    simulate=simulate,
    simulate_future=simulate_future,
    aliases=("paretonbd", "pnbd"),
    covariate_links={"purchase": (("alpha", -1.0),), "dropout": (("beta", -1.0),)},
    rate_mixtures=(("r", "alpha"), ("s", "beta")),
)
