"""BG/NBD DERT (discounted expected residual transactions) against independent references.

The reference is the defining double integral P(alive) * E_p[E_lambda[lambda / (delta + p lambda)]]
taken by SciPy's adaptive quadrature: the inner expectation over lambda ~ Gamma(r+x, alpha+T) in
log lambda, the outer one over p ~ Beta(a, b+x) in log p, split at the scale delta (alpha+T) /
(r+x) where the integrand turns from lambda/delta to 1/p. Our implementation integrates in
time instead (by parts, with equation (10)'s closed form), so the two share no formula. An
earlier mpmath reference through Gamma(1 - s, z) did not converge for r + x above ~50.
"""

import warnings

import numpy as np
import pytest
from scipy import integrate
from scipy import special as sc

from clvmodels import backend
from clvmodels.models.bgnbd import discounted_expected_transactions as dert
from clvmodels.models.bgnbd import expected_purchases, probability_alive

CDNOW = (0.243, 4.414, 0.793, 2.426)


def _quad(f, lo, hi, points=None):
    # QUADPACK reports round-off at its 1e-12 target for r = 1e-3 (a density ~ lambda^-0.999);
    # those results agree with ours to 3e-11 and with 4e6-draw Monte Carlo within 1 s.e.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-12, limit=400, points=points)[0]


def _reference(r, alpha, a, b, x, tx, T, delta):
    s, beta, bp = r + x, alpha + T, b + x
    log_norm = s * np.log(beta) - sc.gammaln(s)

    def inner(p):
        # lambda ~ Gamma(s, beta) in y = log lambda; lambda/(delta + p lambda) ~ lambda/delta below
        # y = log(delta/p) (integrand rising at slope s + 1) and ~ 1/p above (slope s)
        f = lambda y: np.exp(s * y - beta * np.exp(y) + log_norm + y - np.log(delta + p * np.exp(y)))  # noqa: E731
        knee, mode = np.log(delta / p), np.log(s / beta)
        top = np.log((s + 60.0) / beta) + 1.0
        bottom = min(knee, mode) - 45.0 / (s + 1.0) - 45.0 / np.sqrt(s + 1.0)
        cuts = sorted({v for v in (knee, mode) if bottom < v < top})
        return _quad(f, bottom, top, points=cuts or None)

    log_b = sc.betaln(a, bp)
    outer = lambda w: np.exp(a * w + (bp - 1.0) * np.log1p(-np.exp(w)) - log_b) * inner(np.exp(w))  # noqa: E731
    knee = min(np.log(delta * beta / s), -1.0)
    low = knee - 40.0
    # below low the integrand is e^(a w) E[lambda]/delta / B(a, b') to a relative e^-40: exact tail
    ep = np.exp(a * low - log_b) * inner(np.exp(low)) / a
    ep += _quad(outer, low, knee) + _quad(outer, knee, np.log(0.5))
    ep += _quad(lambda q: np.exp((a - 1.0) * np.log(q) + (bp - 1.0) * np.log1p(-q) - log_b) * inner(q), 0.5, 1.0)
    pa = probability_alive(backend.numpy, r, alpha, a, b, frequency=float(x), recency=tx, T=T)
    return float(pa * ep)


def _ours(r, alpha, a, b, x, tx, T, delta):
    return float(dert(backend.numpy, r, alpha, a, b, frequency=np.array([float(x)]), recency=np.array([tx]),
                      T=np.array([T]), discount_rate=delta)[0])


CASES = [
    (*CDNOW, 2, 30.43, 38.86, 0.0027),
    (*CDNOW, 0, 0.0, 39.0, 0.1),
    (*CDNOW, 10, 23.3, 39.0, 0.0027),
    (*CDNOW, 0, 0.0, 10000.0, 0.1),
    (*CDNOW, 10, 4956.29, 10000.0, 0.1),
    (*CDNOW, 0, 0.0, 1.0, 0.1),
    # small discount rates: the old Gauss-Jacobi rule in p was off by 9e-4, 9e-2, 3e-4 here
    (*CDNOW, 0, 0.0, 39.0, 1e-5),
    (*CDNOW, 10, 27.43, 39.0, 1e-5),
    (*CDNOW, 10, 0.23, 1.0, 0.001),
    (*CDNOW, 0, 0.0, 39.0, 1e-6),
    # heavy buyers, dropout probabilities near 0 (a < 1) and near 1, extreme rates
    (2.0, 0.01, 0.3, 5.0, 50, 20.0, 39.0, 1e-3),
    (*CDNOW, 1000, 38.5, 39.0, 1e-4),
    (0.5, 100.0, 20.0, 0.5, 300, 500.0, 520.0, 0.01),
    (0.243, 4.414, 3.0, 2.0, 5, 20.0, 39.0, 1e-5),
    (1e-3, 1e-3, 0.05, 0.05, 0, 0.0, 39.0, 0.0027),
    (0.01, 1e-3, 1e-3, 1.0, 3, 20.0, 39.0, 0.0027),
    (1e3, 1e3, 1e3, 1e3, 20, 30.0, 39.0, 0.0027),
    (5.0, 1.0, 0.05, 50.0, 10000, 9999.0, 10000.0, 1e-3),
]


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_matches_independent_double_integral(case):
    ref = _reference(*case)
    assert abs(_ours(*case) - ref) <= 1e-8 * ref, (_ours(*case), ref)


def test_monte_carlo_cdnow():
    # simulated futures of one history: alive w.p. P(alive); lambda, p from the posterior; then
    # purchases at exponential gaps, dropping out after each with probability p, each discounted
    r, alpha, a, b = CDNOW
    x, tx, T, delta = 2, 30.43, 38.86, 0.0027
    rng = np.random.default_rng(20240611)
    n = 40_000
    pa = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))
    alive = rng.random(n) < pa
    lam = rng.gamma(r + x, 1 / (alpha + T), n)
    p = rng.beta(a, b + x, n)
    total = np.zeros(n)
    t = np.zeros(n)
    active = np.flatnonzero(alive)
    while active.size:
        t[active] += rng.exponential(1.0, active.size) / lam[active]
        total[active] += np.exp(-delta * t[active])
        # stop when dropped out, or when the remaining discounted value is below 1e-12
        keep = (rng.random(active.size) >= p[active]) & (delta * t[active] < 28.0)
        active = active[keep]
    est, se = total.mean(), total.std() / np.sqrt(n)
    assert abs(_ours(r, alpha, a, b, x, tx, T, delta) - est) < 3 * se


def test_small_delta_tends_to_lifetime_purchases():
    # as delta -> 0+ DERT increases to P(alive) E[1/p] = P(alive) (a+b+x-1)/(a-1) when a > 1
    r, alpha, a, b, x, tx, T = 0.5, 5.0, 3.0, 4.0, 3, 20.0, 39.0
    vals = [_ours(r, alpha, a, b, x, tx, T, d) for d in (0.1, 1e-2, 1e-3, 1e-4, 1e-6)]
    assert np.all(np.diff(vals) > 0)
    pa = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))
    assert vals[-1] == pytest.approx(pa * (a + b + x - 1) / (a - 1), rel=1e-3)


@pytest.mark.parametrize("t", [39.0, 1e3, 1e5])
def test_expected_purchases_where_the_closed_form_overflows_matches_mpmath(t):
    # a = b = r = 1000: u^(a-1) underflows while the Euler-transformed 2F1 exceeds 1e308 (it gave
    # NaN); the bracket then comes from Gauss-Jacobi quadrature of its definition
    import mpmath as mp

    r = alpha = a = b = 1e3
    x, tx, T = 20.0, 30.0, 39.0
    ours = float(expected_purchases(backend.numpy, r, alpha, a, b, frequency=x, recency=tx, T=T, t=t))
    with mp.workdps(60):
        s, beta = mp.mpf(r + x), mp.mpf(alpha + T)
        bracket = (a + b + x - 1) / (a - 1) * (1 - (beta / (beta + t)) ** s * mp.hyp2f1(s, b + x, a + b + x - 1, t / (beta + t)))
        pa = 1 / (1 + mp.mpf(a) / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** s)
        truth = float(pa * bracket)
    assert ours == pytest.approx(truth, rel=1e-8)
