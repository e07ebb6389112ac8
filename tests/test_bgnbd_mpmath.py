"""BG/NBD predictions against 60-digit mpmath evaluations of FHL (2005) equations (10) and (A10)/[2],
including customers far outside CDNOW (hundreds of purchases, long horizons), where the
hypergeometric term overflows if evaluated as printed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv

from reference_values import BGNBD_FHL2005

mpmath = pytest.importorskip("mpmath")
mp = mpmath.mp

PARAMS = BGNBD_FHL2005.values(precise=True)

CUSTOMERS = [  # x, t_x, T, t
    (0, 0.0, 38.86, 39.0),
    (2, 30.43, 38.86, 39.0),
    (7, 38.0, 38.86, 1.0),
    (50, 70.0, 78.0, 39.0),
    (100, 77.0, 78.0, 39.0),
    (300, 77.9, 78.0, 39.0),
    (500, 78.0, 78.0, 52.0),
    (1000, 360.0, 365.0, 365.0),
    (20, 38.0, 39.0, 1000.0),
    (3, 1.0, 200.0, 10.0),
]


def mp_alive(x, tx, T, r, alpha, a, b):
    if x == 0:
        return mp.mpf(1)
    return 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))


def mp_expected(x, tx, T, t, r, alpha, a, b):
    z = t / (alpha + T + t)
    bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * mp.hyp2f1(r + x, b + x, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * bracket * mp_alive(x, tx, T, r, alpha, a, b)


def exact(fn, *values, **params):
    with mp.workdps(60):
        return float(fn(*map(mp.mpf, values), **{k: mp.mpf(v) for k, v in params.items()}))


@pytest.fixture(scope="module")
def model():
    return clv.BetaGeo.from_params(PARAMS)


@pytest.fixture(scope="module")
def frame():
    x, tx, T, _ = zip(*CUSTOMERS)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T})


def test_expected_purchases_match_mpmath(model, frame):
    for i, (x, tx, T, t) in enumerate(CUSTOMERS):
        got = model.expected_purchases(frame.iloc[[i]], t=t).iloc[0]
        assert got == pytest.approx(exact(mp_expected, x, tx, T, t, **PARAMS), rel=1e-10, abs=0), CUSTOMERS[i]


def test_probability_alive_matches_mpmath(model, frame):
    got = model.probability_alive(frame).to_numpy()
    want = [exact(lambda x, tx, T, t, **p: mp_alive(x, tx, T, **p), *c, **PARAMS) for c in CUSTOMERS]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_expected_purchases_are_finite_and_increasing_in_t_for_heavy_buyers(model):
    s = pd.DataFrame({"frequency": [2000.0], "recency": [364.0], "T": [365.0]})
    values = [model.expected_purchases(s, t=t).iloc[0] for t in (1.0, 10.0, 100.0, 1000.0)]
    assert np.all(np.isfinite(values)) and np.all(np.diff(values) > 0)


@pytest.mark.parametrize("a", [1.0 - 1e-6, 1.0 - 1e-9, 1.0, 1.0 + 1e-12, 1.0 + 1e-7, 1.0 + 1e-4])
def test_expected_purchases_near_a_equal_one_match_mpmath(a):
    # (a+b+x-1)/(a-1) * [...] has a removable singularity at a = 1 where [...] cancels: lifetimes
    # (same form) returns NaN at a = 1 and loses ~1e-15/|a-1| near it; ours stays within 5e-7
    params = {**PARAMS, "a": a}
    s = pd.DataFrame({"frequency": [2.0], "recency": [30.43], "T": [38.86]})
    with np.errstate(all="ignore"):
        got = clv.BetaGeo.from_params(params).expected_purchases(s, t=39.0).iloc[0]
    with mp.workdps(80):
        # the limit a -> 1, approached from 1 + 1e-40
        a_mp = mp.mpf(1) + mp.mpf(10) ** -40 if a == 1.0 else mp.mpf(a)
        want = float(mp_expected(*map(mp.mpf, (2, 30.43, 38.86, 39.0)), r=mp.mpf(PARAMS["r"]),
                                 alpha=mp.mpf(PARAMS["alpha"]), a=a_mp, b=mp.mpf(PARAMS["b"])))
    assert got == pytest.approx(want, rel=5e-7, abs=0)
    new = clv.BetaGeo.from_params(params).expected_purchases_new_customer(39.0)
    with mp.workdps(80):
        r, alpha, b = (mp.mpf(PARAMS[k]) for k in ("r", "alpha", "b"))
        t = mp.mpf(39)
        # FHL (2005) equation (9)
        hyp = mp.hyp2f1(r, b, a_mp + b - 1, t / (alpha + t))
        want_new = (a_mp + b - 1) / (a_mp - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)
    assert new == pytest.approx(float(want_new), rel=5e-7, abs=0)


@pytest.mark.parametrize("b", [0.5 - 1e-9, 0.5, 0.5 + 1e-6])
def test_expectations_at_a_plus_b_equal_one_match_mpmath(b):
    # for x = 0 the hypergeometric parameter c = a + b - 1 vanishes at a + b = 1: the series has
    # a pole that the factor c cancels (0 * inf as printed); compare with the mpmath limit
    params = {**PARAMS, "a": 0.5, "b": b}
    model = clv.BetaGeo.from_params(params)
    s = pd.DataFrame({"frequency": [0.0], "recency": [0.0], "T": [38.86]})
    with mp.workdps(80):
        b_mp = mp.mpf("0.5") + mp.mpf(10) ** -40 if b == 0.5 else mp.mpf(b)
        r, alpha, a = mp.mpf(PARAMS["r"]), mp.mpf(PARAMS["alpha"]), mp.mpf("0.5")
        want = float(mp_expected(mp.mpf(0), mp.mpf(0), mp.mpf("38.86"), mp.mpf(39), r=r, alpha=alpha, a=a, b=b_mp))
        t = mp.mpf(39)
        hyp = mp.hyp2f1(r, b_mp, a + b_mp - 1, t / (alpha + t))
        want_new = float((a + b_mp - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp))
    assert model.expected_purchases(s, t=39.0).iloc[0] == pytest.approx(want, rel=5e-7, abs=0)
    assert model.expected_purchases_new_customer(39.0) == pytest.approx(want_new, rel=5e-7, abs=0)


# The 2F1 cliff (issue 10, section 8): where b (or x, r) exceeds ~200 with a < 1, the evaluated
# 2F1(a+b-1-r, a-1; a+b+x-1; z) has a negative parameter and large ones, out of SciPy's reach;
# it used to go to 250-digit mpmath for every customer (90 s for 2,965 customers). A fitted
# gift retailer's log gave a = 0.0004, b = 204; the grid brackets it on both sides.
CLIFF_PARAMS = [
    {"r": 0.243, "alpha": 4.414, "a": 0.0004, "b": 204.0},
    {"r": 0.9, "alpha": 12.0, "a": 0.02, "b": 1500.0},
    {"r": 0.05, "alpha": 0.5, "a": 0.6, "b": 1e4},
    {"r": 3.0, "alpha": 30.0, "a": 0.0001, "b": 250.0},
    {"r": 0.243, "alpha": 4.414, "a": 2.5, "b": 5000.0},  # a > 1: the positive series' side
]


def exact250(fn, *values, **params):
    # 250 digits: mpmath's hyp2f1 loses every digit at 60 for some of these (see test_special.py)
    with mp.workdps(250):
        return float(fn(*map(mp.mpf, values), **{k: mp.mpf(v) for k, v in params.items()}))


@pytest.mark.parametrize("params", CLIFF_PARAMS, ids=lambda p: f"a{p['a']}-b{p['b']}")
def test_expected_purchases_past_the_2f1_cliff_match_mpmath(params):
    model = clv.BetaGeo.from_params(params)
    frame = pd.DataFrame({"frequency": [c[0] for c in CUSTOMERS], "recency": [c[1] for c in CUSTOMERS],
                          "T": [c[2] for c in CUSTOMERS]})
    for t in (1.0, 52.0, 1000.0):
        got = model.expected_purchases(frame, t=t).to_numpy()
        want = [exact250(mp_expected, x, tx, T, t, **params) for x, tx, T, _ in CUSTOMERS]
        # 1e-8: at b = 1e4 and t = 1 the closed form's bracket 1 - u^(a-1) 2F1 cancels to ~1e-4,
        # which turns the 2F1's ~2e-13 relative error into ~4e-9
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=0, err_msg=f"t={t}")
    new = model.expected_purchases_new_customer(52.0)
    assert new == pytest.approx(exact250(mp_expected, 0, 0, 0, 52, **params), rel=1e-9, abs=0)
