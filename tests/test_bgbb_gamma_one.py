"""BG/BB expectations through gamma = 1, where delta/(gamma-1) [1 - Gamma ratio] is 0/0.

Reference: the equations of Fader, Hardie & Shang (2010) evaluated by mpmath at 50 digits
(at gamma = 1 exactly, their digamma limit). The 50-digit direct formula loses only
-log10|gamma-1| digits to the cancellation, so it stays exact to far beyond double precision.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from clvmodels import backend
from clvmodels.models import bgbb

xp = backend.numpy

# (alpha, beta, delta): the published donation fit and extremes of 1e-3..1e3
PARAMS = [(1.204, 0.750, 2.783), (1e-3, 1e3, 1e-3), (1e3, 1e-3, 1e3), (0.5, 20.0, 1e3), (50.0, 1e-3, 1e-3)]
# (frequency, recency, n_periods, t)
HISTORIES = [(0, 0, 6, 5), (6, 6, 6, 5), (3, 4, 6, 1), (0, 0, 1000, 1000), (400, 990, 1000, 1), (2, 17, 1000, 1000)]
GAMMAS = [1.0] + [1.0 + s * h for h in (1e-9, 1e-6, 1e-3) for s in (1, -1)]
RTOL = 1e-10


def _mpf(v):
    return mp.mpf(float(v))


def _factor_mp(g, d, a, b):
    # delta/(gamma-1) [1 - Gamma(1+d+b) Gamma(g+d+a) / (Gamma(g+d+b) Gamma(1+d+a))], or its gamma = 1 limit
    if g == 1:
        return d * (mp.digamma(1 + d + b) - mp.digamma(1 + d + a))
    log_ratio = mp.loggamma(1 + d + b) - mp.loggamma(g + d + b) - mp.loggamma(1 + d + a) + mp.loggamma(g + d + a)
    return d / (g - 1) * -mp.expm1(log_ratio)


def _lik_mp(al, be, g, d, x, tx, n):
    # equation (5)
    B = mp.beta
    total = B(al + x, be + n - x) / B(al, be) * B(g, d + n) / B(g, d)
    for i in range(int(n - tx)):
        total += B(al + x, be + tx - x + i) / B(al, be) * B(g + 1, d + tx + i) / B(g, d)
    return total


def expected_purchases_mp(al, be, g, d, x, tx, n, t):
    with mp.workdps(50):
        al, be, g, d = (_mpf(v) for v in (al, be, g, d))
        front = mp.beta(al + x + 1, be + n - x) / mp.beta(al, be) / _lik_mp(al, be, g, d, x, tx, n)
        survive = mp.exp(mp.loggamma(g + d) - mp.loggamma(1 + d) + mp.loggamma(1 + d + n) - mp.loggamma(g + d + n))
        return front * survive * _factor_mp(g, d, n, n + t)


def expected_new_mp(al, be, g, d, t):
    with mp.workdps(50):
        al, be, g, d = (_mpf(v) for v in (al, be, g, d))
        return al / (al + be) * _factor_mp(g, d, 0, t)


def _rel(got, ref):
    # a true value below the double range (a history all but impossible at these parameters)
    # must come out as 0 or subnormal
    if abs(ref) < 1e-300:
        return 0.0 if abs(float(got)) < 1e-300 else np.inf
    return abs(float(got) - float(ref)) / abs(float(ref))


@pytest.mark.parametrize("alpha,beta,delta", PARAMS)
def test_expected_purchases_new_customer_at_and_near_gamma_one_matches_mpmath(alpha, beta, delta):
    for gamma in GAMMAS + [0.3, 3.0, 1e-3, 1e3]:
        for t in (1, 6, 1000):
            got = bgbb.expected_purchases_new_customer(xp, alpha, beta, gamma, delta, t=t)
            ref = expected_new_mp(alpha, beta, gamma, delta, t)
            assert _rel(got, ref) <= RTOL, (gamma, t, float(got), float(ref))


@pytest.mark.parametrize("alpha,beta,delta", PARAMS)
def test_expected_purchases_at_and_near_gamma_one_matches_mpmath(alpha, beta, delta):
    x, tx, n, t = (np.array(c, float) for c in zip(*HISTORIES))
    for gamma in GAMMAS + [0.3, 3.0]:
        got = bgbb.expected_purchases(xp, alpha, beta, gamma, delta, frequency=x, recency=tx, n_periods=n, t=t)
        for k, h in enumerate(HISTORIES):
            ref = expected_purchases_mp(alpha, beta, gamma, delta, *h)
            assert _rel(got[k], ref) <= RTOL, (gamma, h, float(got[k]), float(ref))


def test_expectations_are_continuous_through_gamma_one():
    # |f(1+h) - f(1)| <= C |h| + rounding down to h = 1e-16; the old 0/0 form gave NaN at 1 and
    # relative noise of order eps |log Gamma| / |h| next to it. Rounding: the likelihood of a
    # 1000-opportunity history carries ~1e-13 relative, so 1e-12 is allowed.
    x, tx, n, t = (np.array(c, float) for c in zip(*HISTORIES))
    alpha, beta, delta = PARAMS[0]
    hs = np.concatenate([-np.logspace(-16, -2, 15), np.logspace(-16, -2, 15)])

    def cond(g):
        return bgbb.expected_purchases(xp, alpha, beta, g, delta, frequency=x, recency=tx, n_periods=n, t=t)

    def new(g):
        return bgbb.expected_purchases_new_customer(xp, alpha, beta, g, delta, t=np.array([1.0, 6.0, 1000.0]))

    for f in (cond, new):
        at_one = f(1.0)
        assert np.all(np.isfinite(at_one)) and np.all(at_one > 0)
        slope = (f(1.0 + 1e-4) - f(1.0 - 1e-4)) / 2e-4  # derivative at 1, well resolved at this step
        for h in hs:
            diff = f(1.0 + h) - at_one
            bound = 2.0 * np.abs(slope) * abs(h) + 1e-12 * np.abs(at_one)
            assert np.all(np.abs(diff) <= bound), (h, diff, bound)
            # the change has the sign of the derivative once it is above rounding
            big = np.abs(slope * h) > 1e-11 * np.abs(at_one)
            assert np.all(np.sign(diff[big]) == np.sign(slope[big] * h)), h


def test_expectations_decrease_in_gamma_across_one():
    # a larger gamma means a larger mean dropout probability: fewer expected transactions
    g = 1.0 + np.array([-1e-3, -1e-6, -1e-9, 0.0, 1e-9, 1e-6, 1e-3])
    vals = [bgbb.expected_purchases_new_customer(xp, 1.204, 0.75, gi, 2.783, t=1000.0) for gi in g]
    assert np.all(np.diff(vals) < 0)


def test_dert_and_pmf_have_no_singularity_at_gamma_one():
    # both are beta functions and a 2F1 whose c - a - b = gamma - 1 vanishes at gamma = 1 but
    # with z = 1/(1+d) < 1 the series converges: compare with mpmath there and next to it
    alpha, beta, delta = PARAMS[0]
    x, tx, n = 3.0, 4.0, 6.0
    for gamma in (1.0, 1.0 + 1e-9, 1.0 - 1e-6):
        for d in (0.1, 0.01):
            got = bgbb.discounted_expected_transactions(xp, alpha, beta, gamma, delta, frequency=x, recency=tx,
                                                        n_periods=n, discount_rate=d)
            with mp.workdps(50):
                al, be, g, de = (_mpf(v) for v in (alpha, beta, gamma, delta))
                ref = (mp.beta(al + x + 1, be + n - x) / mp.beta(al, be) * mp.beta(g, de + n + 1) / mp.beta(g, de)
                       / (1 + _mpf(d)) * mp.hyp2f1(1, de + n + 1, g + de + n + 1, 1 / (1 + _mpf(d)))
                       / _lik_mp(al, be, g, de, x, tx, n))
            assert _rel(got, ref) <= RTOL, (gamma, d)
        pmf = bgbb.probability_of_purchases(xp, alpha, beta, gamma, delta, n=np.arange(7.0), t=6.0)
        assert float(pmf.sum()) == pytest.approx(1.0, rel=1e-12)
        mean = bgbb.expected_purchases_new_customer(xp, alpha, beta, gamma, delta, t=6.0)
        assert float((np.arange(7.0) * pmf).sum()) == pytest.approx(float(mean), rel=1e-12)


def test_pytensor_backend_gives_the_same_values_through_gamma_one():
    import pytensor
    import pytensor.tensor as pt

    a, b, g, d = (pt.dscalar(k) for k in ("alpha", "beta", "gamma", "delta"))
    x, tx, n, t = (pt.dvector(k) for k in ("x", "tx", "n", "t"))
    cond = bgbb.expected_purchases(backend.pytensor, a, b, g, d, frequency=x, recency=tx, n_periods=n, t=t)
    new = bgbb.expected_purchases_new_customer(backend.pytensor, a, b, g, d, t=t)
    fn = pytensor.function([a, b, g, d, x, tx, n, t], [cond, new])
    data = [np.array(c, float) for c in zip(*HISTORIES)]
    for alpha, beta, delta in PARAMS:
        for gamma in GAMMAS + [0.3, 3.0]:
            got_cond, got_new = fn(alpha, beta, gamma, delta, *data)
            want_cond = bgbb.expected_purchases(xp, alpha, beta, gamma, delta, frequency=data[0], recency=data[1],
                                                n_periods=data[2], t=data[3])
            want_new = bgbb.expected_purchases_new_customer(xp, alpha, beta, gamma, delta, t=data[3])
            np.testing.assert_allclose(got_cond, want_cond, rtol=1e-10, atol=0)
            np.testing.assert_allclose(got_new, want_new, rtol=1e-10, atol=0)
    # and a gradient in gamma exists and is finite at exactly 1 (the Taylor branches, not 0/0)
    grad = pytensor.function([a, b, g, d, t], pt.grad(new.sum(), g))
    assert np.isfinite(grad(1.204, 0.75, 1.0, 2.783, np.array([1.0, 6.0, 1000.0])))
