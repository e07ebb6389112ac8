"""BG/NBD DERT (discounted expected residual transactions) against independent references.

The mpmath reference integrates P(alive) * E_p[E_lambda[lambda / (delta + p lambda)]] with the
inner expectation in closed form, 1 - z^s e^z Gamma(1 - s, z) (z = (alpha+T) delta / p,
s = r + x), and the outer one by mpmath.quad split near p = 0, the pole scale delta/lambda and
the beta mode; none of clvmodels' special functions is used.
"""

import mpmath as mp
import numpy as np
import pytest

from clvmodels import backend
from clvmodels.models.bgnbd import discounted_expected_transactions as dert

CDNOW = (0.243, 4.414, 0.793, 2.426)


def _reference(r, alpha, a, b, x, tx, T, delta):
    with mp.workdps(40):
        r, alpha, a, b, tx, T, delta = map(mp.mpf, (r, alpha, a, b, tx, T, delta))
        s, beta, bp = r + x, alpha + T, b + x
        log_b = mp.log(mp.beta(a, bp))

        def integrand(p):
            ld = (a - 1) * mp.log(p) + (bp - 1) * mp.log1p(-p) - log_b
            if ld < -200:
                return mp.mpf(0)
            z = beta * delta / p
            with mp.workdps(50 + int(max(0, mp.log10(z)))):  # 1 - ... cancels by ~log10(z) digits
                phi = 1 - mp.exp(s * mp.log(z) + z) * mp.gammainc(1 - s, z)
            return mp.exp(ld) * phi / p

        p0, mode = delta * beta / s, a / (a + bp)
        pts = sorted({mp.mpf(0), mp.mpf(1), *(q for q in (p0 * 1e-6, p0 * 1e-3, p0, p0 * 1e3, mode / 30, mode, mode * 3)
                                               if 0 < q < 1)})
        ep = mp.quad(integrand, pts)
        pa = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x)) if x > 0 else 1
        return float(pa * ep)


def _ours(r, alpha, a, b, x, tx, T, delta):
    return float(dert(backend.numpy, r, alpha, a, b, frequency=np.array([float(x)]), recency=np.array([tx]),
                      T=np.array([T]), discount_rate=delta)[0])


# delta >= 0.0027 per week (15% a year) and moderate histories: where the fixed 96-point rule holds
GOOD = [
    (*CDNOW, 2, 30.43, 38.86, 0.0027),
    (*CDNOW, 0, 0.0, 39.0, 0.1),
    (*CDNOW, 10, 23.3, 39.0, 0.0027),
    (*CDNOW, 0, 0.0, 10000.0, 0.1),
    (*CDNOW, 10, 4956.29, 10000.0, 0.1),
    (*CDNOW, 0, 0.0, 1.0, 0.1),
]
# small discount rates: the integrand in p has a near-pole at -delta/lambda next to p = 0
SMALL_DELTA = [
    (*CDNOW, 0, 0.0, 39.0, 1e-5),
    (*CDNOW, 10, 27.43, 39.0, 1e-5),
    (*CDNOW, 10, 0.23, 1.0, 0.001),
]


@pytest.mark.parametrize("case", GOOD)
def test_matches_mpmath(case):
    ref = _reference(*case)
    assert abs(_ours(*case) - ref) <= 1e-8 * ref


@pytest.mark.xfail(strict=True, reason="fixed 96-point Gauss-Jacobi in p: measured rel. errors 9e-4, 9e-2, 3e-4 (slow convergence near the pole)")
@pytest.mark.parametrize("case", SMALL_DELTA)
def test_matches_mpmath_small_delta(case):
    ref = _reference(*case)
    assert abs(_ours(*case) - ref) <= 1e-8 * ref


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
