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

from clvmodels.models.common import pmf_given_history
from clvmodels.models.spec import NUMPY_ONLY, DataField, ModelSpec, Param, Prediction
from clvmodels.special import log_hyp2f1

__all__ = [
    "BetaGeoBetaBinom",
    "loglik",
    "probability_alive",
    "expected_purchases",
    "expected_purchases_new_customer",
    "probability_of_purchases",
    "conditional_probability_of_purchases",
    "discounted_expected_transactions",
]


def _col(xp, v):
    # a trailing axis for the sum over opportunities
    return xp.asarray(v)[..., None]


def _log_alive_term(xp, alpha, beta, gamma, delta, x, n, ahead=0.0):
    # B(a+x, b+n-x)/B(a,b) * B(g, d+n+m)/B(g,d): transacted x times in n opportunities and alive
    # throughout them and the next m = `ahead` (E[(1-theta)^(n+m)]); m = 0 is the likelihood's term
    return (xp.betaln(alpha + x, beta + n - x) - xp.betaln(alpha, beta)
            + xp.betaln(gamma, delta + n + ahead) - xp.betaln(gamma, delta))


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


def probability_alive(xp, alpha, beta, gamma, delta, *, frequency, recency, n_periods, periods_ahead=1.0):
    r"""P(alive at opportunity n + m | x, t_x, n), equation (11) of [1]_ for m = 1.

    .. math:: P(\text{alive at } n+m) = \frac{B(\alpha+x, \beta+n-x)}{B(\alpha,\beta)}
              \frac{B(\gamma, \delta+n+m)}{B(\gamma,\delta)} \Big/ L

    Dying happens at the start of an opportunity, so alive at :math:`n + m` means surviving
    the next :math:`m` starts: :math:`E[(1-\theta)^m]` under the posterior of
    :math:`\theta` given the history. ``periods_ahead`` is :math:`m` (lifetimes'
    ``m_periods_in_future``); m = 0 is the probability of having been alive through
    opportunity :math:`n`. The numerator is the likelihood's own first term (at m = 0).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(probability_alive(backend.numpy, 1.204, 0.750, 0.657, 2.783,
    ...                               frequency=6, recency=6, n_periods=6)), 4)
    0.9304
    >>> round(float(probability_alive(backend.numpy, 1.204, 0.750, 0.657, 2.783,
    ...                               frequency=6, recency=6, n_periods=6, periods_ahead=5)), 4)
    0.7403
    """
    x, n = frequency, n_periods
    log_num = _log_alive_term(xp, alpha, beta, gamma, delta, x, n, ahead=periods_ahead)
    return xp.exp(log_num - loglik(xp, alpha, beta, gamma, delta, frequency=frequency, recency=recency, n_periods=n_periods))


#: Stirling coefficients B_2k / (2k (2k-1)) for k = 1..7 (B_2 .. B_14).
_STIRLING = (1.0 / 12.0, -1.0 / 360.0, 1.0 / 1260.0, -1.0 / 1680.0, 1.0 / 1188.0, -691.0 / 360360.0, 1.0 / 156.0)
#: Arguments below this are shifted up by the recurrence before Stirling's series is used.
_STIRLING_FROM = 10.0


def _log1p_over(xp, u):
    # log(1+u)/u for u > -1, smooth through u = 0; the Taylor branch (error < u^4/5 < 1e-16)
    # keeps the division away from 0/0 and its derivative finite in PyTensor graphs
    small = xp.abs(u) < 1e-4
    u_safe = xp.where(small, 1.0, u)
    return xp.where(small, 1.0 - u * (0.5 - u * (1.0 / 3.0 - u * 0.25)), xp.log1p(u_safe) / u_safe)


def _expm1_over(xp, v):
    # (e^v - 1)/v, smooth through v = 0 (Taylor branch error < v^4/120)
    small = xp.abs(v) < 1e-4
    v_safe = xp.where(small, 1.0, v)
    return xp.where(small, 1.0 + v * (0.5 + v * (1.0 / 6.0 + v / 24.0)), xp.expm1(v_safe) / v_safe)


def _gammaln_slope(xp, z, e):
    r"""The difference quotient :math:`[\ln\Gamma(z+e) - \ln\Gamma(z)]/e`, exact at e = 0 (:math:`\psi(z)`).

    For z > 0 and z + e > 0. Subtracting two ``gammaln`` values loses about
    :math:`\epsilon\,|\ln\Gamma(z)|/|e|` of relative accuracy (all of it at e = 0), so instead:
    the recurrence moves z to :math:`w = z + m \ge 10` (each step contributes
    :math:`\log(1 + e/(z+j))/e`), and at w Stirling's series through :math:`B_{14}` is
    differenced term by term, each term written as a smooth function of :math:`u = e/w`. The
    series' remainder changes the quotient by at most :math:`|B_{16}|/16 / 9^{16} < 3\times10^{-16}`
    (its derivative bound at arguments >= 9, since e > -1 here), so the result is accurate to a
    few ulps of :math:`\ln w` for every e, and analytic in e through 0.
    """
    z = xp.asarray(z) * 1.0
    j = xp.arange(int(_STIRLING_FROM)) * 1.0
    zj = _col(xp, z) + j
    shift = zj < _STIRLING_FROM
    zj_safe = xp.where(shift, zj, 1.0)
    steps = xp.where(shift, _log1p_over(xp, _col(xp, e) / zj_safe) / zj_safe, 0.0)
    w = z + xp.sum(xp.where(shift, 1.0, 0.0), axis=-1)
    u = e / w
    l1p = _log1p_over(xp, u)
    # (w - 1/2) log1p(u)/e + log(w + e) - 1: the leading Stirling terms
    slope = (w - 0.5) / w * l1p + xp.log(w + e) - 1.0
    # c_k [(w+e)^(1-2k) - w^(1-2k)]/e = -p c_k w^(-p-1) log1p(u)/u * expm1(-p log1p(u))/(-p log1p(u)), p = 2k-1
    log1p_u = u * l1p
    for k, c in enumerate(_STIRLING, start=1):
        p = 2.0 * k - 1.0
        slope = slope - p * c * xp.exp(-(p + 1.0) * xp.log(w)) * l1p * _expm1_over(xp, -p * log1p_u)
    return slope - xp.sum(steps, axis=-1)


def _alive_fraction_integral(xp, gamma, delta, start, end):
    r""":math:`\frac{\delta}{\gamma-1}\bigl[1 - \frac{\Gamma(1+\delta+b)\Gamma(\gamma+\delta+a)}
    {\Gamma(\gamma+\delta+b)\Gamma(1+\delta+a)}\bigr]` with a = ``start``, b = ``end``, smooth through gamma = 1.

    With :math:`e = \gamma - 1` and :math:`S(z) = [\ln\Gamma(z+e) - \ln\Gamma(z)]/e`, the log
    ratio is :math:`e\,h` with :math:`h = S(1+\delta+a) - S(1+\delta+b)`, so the factor is
    :math:`-\delta\,h\,(e^{eh}-1)/(eh)`: no 0/0 at :math:`\gamma = 1`, where it equals
    :math:`\delta[\psi(1+\delta+b) - \psi(1+\delta+a)]`.
    """
    e = gamma - 1.0
    h = _gammaln_slope(xp, 1.0 + delta + start, e) - _gammaln_slope(xp, 1.0 + delta + end, e)
    return -delta * h * _expm1_over(xp, e * h)


def expected_purchases(xp, alpha, beta, gamma, delta, *, frequency, recency, n_periods, t):
    r"""Expected transactions in the next ``t`` opportunities given the history, equation (13) of [1]_.

    .. math::

        E[X(n, n+n^*) \mid x, t_x, n] = \frac{1}{L}\frac{B(\alpha+x+1, \beta+n-x)}{B(\alpha,\beta)}
        \frac{\delta}{\gamma-1}\frac{\Gamma(\gamma+\delta)}{\Gamma(1+\delta)}
        \left[\frac{\Gamma(1+\delta+n)}{\Gamma(\gamma+\delta+n)}
            - \frac{\Gamma(1+\delta+n+n^*)}{\Gamma(\gamma+\delta+n+n^*)}\right]

    At :math:`\gamma = 1` the factor :math:`\frac{\delta}{\gamma-1}[\dots]` is its limit
    :math:`\delta[\psi(1+\delta+n+n^*) - \psi(1+\delta+n)]`; the evaluation is smooth and
    accurate through it (see ``_alive_fraction_integral``).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(expected_purchases(backend.numpy, 1.204, 0.750, 0.657, 2.783,
    ...                                frequency=6, recency=6, n_periods=6, t=5)), 4)
    3.7521
    >>> round(float(expected_purchases(backend.numpy, 1.204, 0.750, 1.0, 2.783,
    ...                                frequency=6, recency=6, n_periods=6, t=5)), 4)
    3.4254
    """
    x, n = frequency, n_periods
    e = gamma - 1.0
    # log[Gamma(gamma+delta) Gamma(1+delta+n) / (Gamma(1+delta) Gamma(gamma+delta+n))], also e times a smooth slope
    log_survive = e * (_gammaln_slope(xp, 1.0 + delta, e) - _gammaln_slope(xp, 1.0 + delta + n, e))
    log_front = (
        xp.betaln(alpha + x + 1.0, beta + n - x) - xp.betaln(alpha, beta) + log_survive
        - loglik(xp, alpha, beta, gamma, delta, frequency=frequency, recency=recency, n_periods=n_periods)
    )
    # + 0.0: at t = 0 the integral is -0.0 for gamma < 1; the limit is printed as 0
    return xp.exp(log_front) * _alive_fraction_integral(xp, gamma, delta, n, n + t) + 0.0


def expected_purchases_new_customer(xp, alpha, beta, gamma, delta, *, t):
    r"""E[X(n)]: expected transactions in the first ``t`` opportunities, equation (9) of [1]_.

    .. math:: E[X(n)] = \frac{\alpha}{\alpha+\beta}\frac{\delta}{\gamma-1}
              \left[1 - \frac{\Gamma(\gamma+\delta)}{\Gamma(1+\delta)}
              \frac{\Gamma(1+\delta+n)}{\Gamma(\gamma+\delta+n)}\right]

    At :math:`\gamma = 1` this is its limit
    :math:`\frac{\alpha}{\alpha+\beta}\delta[\psi(1+\delta+n) - \psi(1+\delta)]`.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(expected_purchases_new_customer(backend.numpy, 1.204, 0.750, 0.657, 2.783, t=6)), 4)
    2.2196
    >>> round(float(expected_purchases_new_customer(backend.numpy, 1.204, 0.750, 1.0, 2.783, t=6)), 4)
    1.7767
    """
    return alpha / (alpha + beta) * _alive_fraction_integral(xp, gamma, delta, 0.0, t)


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
    # parameters per customer (a conditional pmf) or per draw broadcast along the i axis too
    a_, b_, g_, d_ = (_col(xp, v) for v in (alpha, beta, gamma, delta))
    use = (i >= nn) & (i < tt)
    i_safe = xp.where(use, i, nn)
    terms = (
        log_choose(i_safe, nn) + xp.betaln(a_ + nn, b_ + i_safe - nn) - xp.betaln(a_, b_)
        + xp.betaln(g_ + 1.0, d_ + i_safe) - xp.betaln(g_, d_)
    )
    return xp.exp(xp.logaddexp(first, xp.logsumexp(xp.where(use, terms, -xp.inf), axis=-1)))


def conditional_probability_of_purchases(xp, alpha, beta, gamma, delta, *, frequency, recency, n_periods, n, t):
    r"""P(n transactions in the next ``t`` opportunities | x, t_x, n_periods).

    Alive after opportunity :math:`m` (``n_periods``) with :math:`x` transactions (probability
    :math:`P_a = B(\alpha+x, \beta+m-x)B(\gamma, \delta+m)/(B(\alpha,\beta)B(\gamma,\delta)L)`), a
    customer's posterior is :math:`p \sim \mathrm{Beta}(\alpha+x, \beta+m-x)`,
    :math:`\theta \sim \mathrm{Beta}(\gamma, \delta+m)`, and from then on she is a new
    customer with those parameters:

    .. math:: P(X(m, m+t) = n \mid x, t_x, m) = (1 - P_a)\,[n = 0] + P_a\,
              P(X(t) = n \mid \alpha+x, \beta+m-x, \gamma, \delta+m).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(conditional_probability_of_purchases(backend.numpy, 1.204, 0.750, 0.657, 2.783,
    ...     frequency=3, recency=4, n_periods=6, n=0, t=5)), 4)
    0.6042
    """
    # alive after opportunity m, not P(alive at m + 1) of equation (11): the new customer's
    # process itself starts with the dropout chance of opportunity m + 1
    p_alive = xp.exp(
        _log_alive_term(xp, alpha, beta, gamma, delta, frequency, n_periods)
        - loglik(xp, alpha, beta, gamma, delta, frequency=frequency, recency=recency, n_periods=n_periods)
    )
    future = probability_of_purchases(
        xp, alpha + frequency, beta + n_periods - frequency, gamma, delta + n_periods, n=n, t=t
    )
    return pmf_given_history(xp, p_alive, future, n)


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
    and, if alive, transacts with probability ``p``. ``alive`` (0/1 floats) is 1 for a
    customer alive through opportunity ``n_periods`` (what :func:`probability_alive` gives
    with ``periods_ahead=0``).

    Examples
    --------
    >>> import numpy as np
    >>> d = simulate(np.random.default_rng(1), 5, 1.2, 0.75, 0.66, 2.8)
    >>> sorted(d), bool(np.all(d["recency"] <= d["n_periods"]))
    (['alive', 'frequency', 'n_periods', 'recency'], True)
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
    return {"frequency": x, "recency": tx, "n_periods": periods, "alive": (life >= periods).astype(float)}


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
        "conditional_probability_of_purchases": Prediction(conditional_probability_of_purchases, backends=NUMPY_ONLY),
        "expected_purchases_new_customer": expected_purchases_new_customer,
        "discounted_expected_transactions": discounted_expected_transactions,
    },
    reference="Fader, Hardie & Shang (2010), Marketing Science 29(6)",
    simulate=simulate,
    aliases=("bg_bb",),
)
