"""Numerical hardening: log-space special functions and the models at extreme inputs.

Two kinds of checks:

- a grid of extreme cases against mpmath at 150 significant digits (mpmath itself is wrong at 50 digits for 2F1(10000.2, 10002.4; 10002.2; 0.5)) (relative error <= 1e-8 of
  the likelihood, P(alive) and expectations; for a log-likelihood the error of the likelihood
  itself is the error of its log, so the bound is on |log L - log L_mp| / max(1, |log L_mp|));
- hypothesis property tests over frequency up to 10,000, T up to 10,000, recency in [0, T]
  and parameters from 1e-3 to 1e3: likelihoods and predictions finite, P(alive) in [0, 1],
  expectations >= 0.

The mpmath references evaluate the printed closed forms directly (mpmath's own 2F1, no
transformation), or the defining integrals, never clvmodels code.
"""

from __future__ import annotations

import itertools

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clvmodels import backend
from clvmodels.models import bgbb, bgnbd, mbgnbd, pareto_nbd, sbg
from clvmodels.special import expm1_ratio, log_diff_exp, log_hyp2f1, log_scaled_hyperu

NP = backend.numpy
DPS = 150


def _close(ours, truth, rel=1e-8):
    truth = float(truth)
    return abs(float(ours) - truth) <= rel * max(abs(truth), 1e-300)


# --------------------------------------------------------------------------- functions
HYP_CASES = [
    # (a, b, c, z): Pareto/NBD forms, BG/NBD/MBG conditional-expectation forms, sBG DERL forms
    (10000.5, 1.6, 10001.5, 0.9999),
    (1000.001, 1001.0, 1001.001, 0.999999),
    (1.01, 1.0, 2.01, 0.9999),  # c - a - b = 0: SciPy returns a negative number here
    (2.5, 3.0, 4.5, 0.5),
    (10000.2, 10002.4, 10002.2, 0.5),
    (0.6, 0.9, 1.5, 0.999),
    (1.0, 1003.8, 1004.5, 1 / 1.001),
    (50.5, 61.6, 20.0, 0.3),
]


@pytest.mark.parametrize("a,b,c,z", HYP_CASES)
def test_log_hyp2f1_matches_mpmath(a, b, c, z):
    with mp.workdps(DPS):
        truth = mp.log(mp.hyp2f1(a, b, c, z))
    ours = log_hyp2f1(NP, a, b, c, z)
    assert abs(float(ours) - float(truth)) <= 1e-8 * max(1.0, abs(float(truth)))


def test_log_hyp2f1_gradient_in_pytensor_is_finite_and_matches_mpmath():
    import pytensor
    import pytensor.tensor as pt

    a = pt.dscalar("a")
    out = log_hyp2f1(backend.pytensor, a, 1.6, a + 1.0, 0.999)
    f = pytensor.function([a], pytensor.grad(out, a))
    with mp.workdps(DPS):
        truth = mp.diff(lambda v: mp.log(mp.hyp2f1(v, 1.6, v + 1, 0.999)), 300.5)
    assert float(f(300.5)) == pytest.approx(float(truth), rel=1e-7)


def test_log_diff_exp_and_expm1_ratio_match_mpmath():
    with mp.workdps(DPS):
        v = -1000.0 - 2.0**-30  # exactly representable, so both sides see the same inputs
        assert _close(log_diff_exp(NP, -1000.0, v), mp.log(mp.exp(-1000) - mp.exp(mp.mpf(v))))
        for u, v in [(1e-12, -3.0), (0.5, -3.0), (-0.7, -200.0)]:
            assert _close(expm1_ratio(NP, u, v), (1 - mp.exp(mp.mpf(u) * v)) / u, rel=1e-12)


@pytest.mark.parametrize("s,z", [(0.6, 0.1), (0.6, 50.0), (1000.0, 5.0), (1000.0, 1e6), (1e-3, 1e-3), (30.0, 30.0)])
def test_log_scaled_hyperu_matches_mpmath(s, z):
    with mp.workdps(DPS):
        truth = s * mp.log(z) + mp.log(mp.hyperu(s, s, z))
    assert abs(float(log_scaled_hyperu(NP, s, z)) - float(truth)) <= 1e-8 * max(1.0, abs(float(truth)))


# --------------------------------------------------------------------------- Pareto/NBD grid
def _mp_pareto(r, alpha, s, beta, x, tx, T):
    r, alpha, s, beta, x, tx, T = map(mp.mpf, (r, alpha, s, beta, x, tx, T))
    m = r + s + x

    def tail(t):  # the printed 2F1 form of int_t^inf (alpha+u)^-(r+x) (beta+u)^-(s+1) du
        if alpha >= beta:
            return (alpha + t) ** -m / m * mp.hyp2f1(m, s + 1, m + 1, (alpha - beta) / (alpha + t))
        return (beta + t) ** -m / m * mp.hyp2f1(m, r + x, m + 1, (beta - alpha) / (beta + t))

    alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
    dead = s * (tail(tx) - tail(T))
    ll = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(alpha) + s * mp.log(beta) + mp.log(alive + dead)
    pa = alive / (alive + dead)
    span = (beta + T) * mp.log1p(39 / (beta + T)) if s == 1 else (beta + T) / (s - 1) * (1 - ((beta + T) / (beta + T + 39)) ** (s - 1))
    e39 = pa * (r + x) / (alpha + T) * span
    return ll, pa, e39


PARETO_GRID = list(itertools.product([1e-3, 1.0, 1e3], [1e-3, 1e3], [1e-3, 1.0, 1e3], [1e-3, 1e3]))
PARETO_DATA = [(0, 0.0, 1e4), (1e4, 5e3, 1e4), (10, 1.0, 1e4), (100, 9999.0, 1e4)]


@pytest.mark.parametrize("x,tx,T", PARETO_DATA)
def test_pareto_nbd_extreme_grid_matches_mpmath(x, tx, T):
    bad = []
    with mp.workdps(DPS):
        for r, alpha, s, beta in PARETO_GRID:
            ll_mp, pa_mp, e_mp = _mp_pareto(r, alpha, s, beta, x, tx, T)
            kw = dict(frequency=x, recency=tx, T=T)
            ll = pareto_nbd.loglik(NP, r, alpha, s, beta, **kw)
            pa = pareto_nbd.probability_alive(NP, r, alpha, s, beta, **kw)
            e = pareto_nbd.expected_purchases(NP, r, alpha, s, beta, t=39.0, **kw)
            ok_ll = abs(float(ll) - float(ll_mp)) <= 1e-8 * max(1.0, abs(float(ll_mp)))
            # below the double range the right answer is 0
            ok_pa = _close(pa, pa_mp) if pa_mp > 1e-300 else float(pa) < 1e-290
            ok_e = _close(e, e_mp) if e_mp > 1e-300 else float(e) < 1e-290
            if not (ok_ll and ok_pa and ok_e):
                bad.append(((r, alpha, s, beta), float(ll), float(ll_mp), float(pa), float(pa_mp), float(e), float(e_mp)))
    assert not bad, bad


# --------------------------------------------------------------------------- BG/NBD, MBG/NBD expectations
def _mp_bg_expectation(r, alpha, a, b, x, T, t, modified):
    r, alpha, a, b, x, T, t = map(mp.mpf, (r, alpha, a, b, x, T, t))
    z = t / (alpha + T + t)
    if modified:
        return (a + b + x) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * mp.hyp2f1(r + x, b + x + 1, a + b + x, z))
    return (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * mp.hyp2f1(r + x, b + x, a + b + x - 1, z))


@pytest.mark.parametrize("x,T", [(1e4, 1e4), (500, 50.0), (3, 1e4)])
def test_mbgnbd_expected_purchases_extremes_match_mpmath(x, T):
    bad = []
    with mp.workdps(DPS):
        for r, alpha, a, b in itertools.product([1e-3, 1.0, 1e3], [1e-3, 1e3], [0.5, 3.0, 1e3], [1e-3, 1e3]):
            # the bracket times P(alive) = 1 (t_x = T) isolates the hypergeometric term
            truth = _mp_bg_expectation(r, alpha, a, b, x, T, 39.0, modified=True) / (1 + a / (b + x))
            ours = mbgnbd.expected_purchases(NP, r, alpha, a, b, frequency=x, recency=T, T=T, t=39.0)
            if not _close(ours, truth):
                bad.append(((r, alpha, a, b), float(ours), float(truth)))
    assert not bad, bad


# --------------------------------------------------------------------------- properties (hypothesis)
PARAM = st.floats(1e-3, 1e3)
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)


@st.composite
def histories(draw, continuous=True):
    T = draw(st.floats(1e-2, 1e4)) if continuous else float(draw(st.integers(1, 10_000)))
    x = float(draw(st.integers(0, 10_000)))
    if continuous:
        # a repeat purchase has a positive time (recency 0 with x > 0 is no possible history)
        tx = 0.0 if x == 0 else draw(st.floats(1e-9, 1.0)) * T
    else:
        x = min(x, T)
        tx = 0.0 if x == 0 else float(draw(st.integers(int(x), int(T))))
    return x, tx, T


def _check_transaction_model(module, params, x, tx, T, t_kw, time_kw):
    with np.errstate(all="ignore"):
        ll = module.loglik(NP, *params, frequency=x, recency=tx, **time_kw)
        pa = module.probability_alive(NP, *params, frequency=x, recency=tx, **time_kw)
        e = module.expected_purchases(NP, *params, frequency=x, recency=tx, **time_kw, **t_kw)
        e0 = module.expected_purchases_new_customer(NP, *params, **t_kw)
    assert np.isfinite(ll) or ll == -np.inf and False, f"loglik {ll}"
    assert 0.0 <= pa <= 1.0, f"P(alive) {pa}"
    assert np.isfinite(e) and e >= 0.0, f"E[Y(t)] {e}"
    assert np.isfinite(e0) and e0 >= 0.0, f"E[X(t)] {e0}"


@SETTINGS
@given(PARAM, PARAM, PARAM, PARAM, histories())
def test_pareto_nbd_properties(r, alpha, s, beta, h):
    x, tx, T = h
    _check_transaction_model(pareto_nbd, (r, alpha, s, beta), x, tx, T, {"t": 39.0}, {"T": T})


@SETTINGS
@given(PARAM, PARAM, PARAM, PARAM, histories())
def test_mbgnbd_properties(r, alpha, a, b, h):
    x, tx, T = h
    _check_transaction_model(mbgnbd, (r, alpha, a, b), x, tx, T, {"t": 39.0}, {"T": T})


@SETTINGS
@given(PARAM, PARAM, PARAM, PARAM, histories())
def test_bgnbd_dert_and_pareto_dert_properties(r, alpha, a, b, h):
    x, tx, T = h
    with np.errstate(all="ignore"):
        d1 = bgnbd.discounted_expected_transactions(NP, r, alpha, a, b, frequency=x, recency=tx, T=T, discount_rate=0.01)
        d2 = pareto_nbd.discounted_expected_transactions(NP, r, alpha, a, b, frequency=x, recency=tx, T=T, discount_rate=0.01)
    assert np.isfinite(d1) and d1 >= 0 and np.isfinite(d2) and d2 >= 0


@SETTINGS
@given(PARAM, PARAM, PARAM, PARAM, histories(continuous=False))
def test_bgbb_properties(alpha, beta, gamma, delta, h):
    x, tx, n = h
    _check_transaction_model(bgbb, (alpha, beta, gamma, delta), x, tx, n, {"t": 10.0}, {"n_periods": n})


@SETTINGS
@given(PARAM, PARAM, st.integers(1, 10_000), st.integers(0, 1), st.floats(1e-3, 1.0))
def test_sbg_properties(alpha, beta, period, churned, d):
    with np.errstate(all="ignore"):
        ll = sbg.loglik(NP, alpha, beta, period=float(period), churned=float(churned))
        surv = sbg.survival(NP, alpha, beta, t=float(period))
        derl = sbg.discounted_expected_residual_lifetime(NP, alpha, beta, renewals=float(period), discount_rate=d)
    assert np.isfinite(ll) and ll <= 0
    assert 0 <= surv <= 1
    assert np.isfinite(derl) and 0 <= derl <= (1 + d) / d  # at most a perpetuity


@pytest.mark.parametrize("a,b,c,z", [(145.0, 145.0, 146.0, 0.99), (1.0, 275.5, 277.0, 0.998),
                                     (274.99, 0.4838, 275.99, 0.9985), (0.5, 0.5, 1.0, 0.9997)])
def test_careful_hyp2f1_single_values_match_mpmath(a, b, c, z):
    # one value at a time (as the compiled likelihood's gradient asks) takes the scalar series,
    # including its rescaling past 1e280
    from clvmodels.backend import _hyp2f1_careful

    ours = _hyp2f1_careful(*(np.array([v]) for v in (a, b, c, z)))[0]
    with mp.workdps(60):
        truth = mp.hyp2f1(a, b, c, z)
    assert _close(ours, truth, rel=1e-12)


# --------------------------------------------------------------------------- the 2F1 cliff
# Arguments SciPy cannot do (a parameter past 200, one negative, z up to 1 - 1e-9), as the
# BG/NBD and MBG/NBD expectations form them after Euler's transformation when a < 1:
# (a+b-1-r, a-1; a+b+x-1; z). They take Euler's integral by quadrature (no mpmath), vectorised.
CLIFF_GRID = [
    (big, small, big + extra, z)
    for big in (203.0, 1500.0, 1e4)
    for small in (-0.9996, -0.5, -0.01, 0.3, 2.0)
    for extra in (0.05, 0.243, 3.0, 300.0)
    for z in (0.0, 0.05, 0.6, 0.95, 0.9999, 1 - 1e-9)
]


def test_hyp2f1_past_the_cliff_matches_mpmath_in_one_vectorised_call():
    a, b, c, z = (np.array(v) for v in zip(*CLIFF_GRID))
    ours = backend.hyp2f1(a, b, c, z)
    bad = []
    # 250 digits: at 60, mpmath's own hyp2f1 gives 32.17 for 2F1(1500, 0.3; 1800; 0.95), which is
    # E[(1 - 0.95 p)^-0.3] for p ~ Beta(1500, 300) concentrated at 0.83, about 1.60
    with mp.workdps(250):
        for (aa, bb, cc, zz), got in zip(CLIFF_GRID, ours):
            truth = mp.hyp2f1(aa, bb, cc, zz)
            if not _close(got, truth, rel=1e-11):
                bad.append(((aa, bb, cc, zz), float(got), float(truth)))
    assert not bad, bad


def test_hyp2f1_past_the_cliff_never_calls_mpmath(monkeypatch):
    # the fast path must not fall back to the slow one silently
    def refuse(*args, **kwargs):
        raise AssertionError("mpmath.hyp2f1 called")

    monkeypatch.setattr(mp, "hyp2f1", refuse)
    a, b, c, z = (np.array(v) for v in zip(*CLIFF_GRID))
    assert np.all(np.isfinite(backend.hyp2f1(a, b, c, z)))
