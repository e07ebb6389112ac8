"""P(X(t) = n), new-customer and conditional on a history, for every purchase-count model.

Sources of truth:
- Pareto/NBD: Fader & Hardie's (2006, note 012) closed form evaluated in mpmath at up to 400
  digits (its alternating sum cancels), and, for extreme n and t, the defining integral by
  mpmath's tanh-sinh quadrature in log-time; lifetimes' conditional pmf (note 028, eq. 16)
  where lifetimes is accurate; simulation from the generative process.
- Every model: the pmf sums to 1, its mean is the model's own closed-form expectation
  (equation (10) of FHL 2005 for BG/NBD, eq. (13) of FHS 2010 for BG/BB, ...), and it stays
  in [0, 1] over the parameter ranges of the issue (hypothesis).
"""

from __future__ import annotations

import warnings

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import clvmodels as clv
from clvmodels import backend
from clvmodels.models import bgbb, bgnbd, mbgnbd, pareto_nbd

NP = backend.numpy
PNBD = (0.553, 10.578, 0.606, 11.669)  # FHL 2005, CDNOW


def _fh_pmf(r, alpha, s, beta, x, t, dps):
    """Fader & Hardie (2006) eq. (8): NBD term + B(r+x, s+1)/B(r, s) alpha^r beta^s (B1 - sum B2)."""
    with mp.workdps(dps):
        r, alpha, s, beta, t = map(mp.mpf, (r, alpha, s, beta, t))
        nb = (mp.gamma(r + x) / (mp.gamma(r) * mp.factorial(x)) * (alpha / (alpha + t)) ** r
              * (t / (alpha + t)) ** x * (beta / (beta + t)) ** s)
        if alpha >= beta:
            b1 = mp.hyp2f1(r + s, s + 1, r + s + x + 1, (alpha - beta) / alpha) / alpha ** (r + s)
            b2 = lambda i: mp.hyp2f1(r + s + i, s + 1, r + s + x + 1, (alpha - beta) / (alpha + t)) / (alpha + t) ** (r + s + i)  # noqa: E731
        else:
            b1 = mp.hyp2f1(r + s, r + x, r + s + x + 1, (beta - alpha) / beta) / beta ** (r + s)
            b2 = lambda i: mp.hyp2f1(r + s + i, r + x, r + s + x + 1, (beta - alpha) / (beta + t)) / (beta + t) ** (r + s + i)  # noqa: E731
        tail = mp.fsum(mp.gamma(r + s + i) / (mp.gamma(r + s) * mp.factorial(i)) * t ** i * b2(i) for i in range(x + 1))
        return nb + alpha ** r * beta ** s * mp.beta(r + x, s + 1) / mp.beta(r, s) * (b1 - tail)


def _integral_pmf(r, alpha, s, beta, x, t, dps=30):
    """The defining integral, NBD term + s alpha^r beta^s C(x) int_0^t tau^x ..., in y = log tau."""
    with mp.workdps(dps):
        r, alpha, s, beta, t = map(mp.mpf, (r, alpha, s, beta, t))
        log_c = mp.loggamma(r + x) - mp.loggamma(r) - mp.loggamma(x + 1)

        def log_f(y):
            return (x + 1) * y - (r + x) * mp.log(alpha + mp.exp(y)) - (s + 1) * mp.log(beta + mp.exp(y))

        slope = lambda y: (x + 1) - (r + x) / (1 + alpha * mp.exp(-y)) - (s + 1) / (1 + beta * mp.exp(-y))  # noqa: E731
        lo, hi = mp.mpf(-300), mp.mpf(300)
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if slope(mid) > 0 else (lo, mid)
        top = min(lo, mp.log(t))
        fm = log_f(top)
        width = min(mp.mpf(1), 4 / mp.sqrt(x + 1))
        pts = sorted({top + k * width for k in range(-300, 301) if top + k * width < mp.log(t)} | {mp.log(t)})
        g = lambda y: mp.exp(log_f(y) - fm)  # noqa: E731
        total = mp.quad(g, [-mp.inf, pts[0]]) + mp.fsum(mp.quad(g, [u, v]) for u, v in zip(pts[:-1], pts[1:]))
        alive = mp.exp(log_c + r * mp.log(alpha / (alpha + t)) + x * mp.log(t / (alpha + t)) + s * mp.log(beta / (beta + t)))
        return alive + mp.exp(log_c + mp.log(s) + r * mp.log(alpha) + s * mp.log(beta) + fm) * total


def _rel(ours, truth):
    return abs(mp.mpf(float(ours)) / truth - 1)


# ------------------------------------------------------------------ Pareto/NBD, new customer
@pytest.mark.parametrize("params", [PNBD, (2.0, 3.0, 0.5, 20.0), (1.5, 30.0, 2.0, 3.0), (0.05, 0.5, 5.0, 0.02)])
@pytest.mark.parametrize("t", [0.5, 39.0, 1000.0])
def test_pareto_nbd_pmf_matches_fader_hardie_2006_closed_form_in_mpmath(params, t):
    n = np.array([0, 1, 2, 5, 10, 25])
    ours = pareto_nbd.probability_of_purchases(NP, *params, n=n, t=t)
    for k, value in zip(n, ours):
        truth = _fh_pmf(*params, int(k), t, dps=120)
        assert _rel(value, truth) < 1e-9, (k, value, truth)


def test_pareto_nbd_fader_hardie_closed_form_cancels_in_double_precision():
    # the printed form (complete 2F1 minus a sum of x + 1 incomplete ones) loses every digit
    # for short periods; ours, a positive integral, does not
    truth = _fh_pmf(*PNBD, 20, 0.5, dps=120)
    printed = _fh_pmf(*PNBD, 20, 0.5, dps=15)
    ours = pareto_nbd.probability_of_purchases(NP, *PNBD, n=20, t=0.5)
    assert _rel(printed, truth) > 1e-2
    assert _rel(ours, truth) < 1e-9


@pytest.mark.parametrize("case", [
    (0.553, 10.578, 0.606, 11.669, 10000, 39.0),
    (0.553, 10.578, 0.606, 11.669, 10000, 10000.0),
    (1e-3, 1e-3, 1e-3, 1e-3, 0, 10000.0),
    (1e3, 1e3, 1e3, 1e3, 50, 10.0),
    (1e3, 1e-3, 1e-3, 1e3, 300, 0.01),
    (0.01, 1e3, 1e3, 0.01, 3, 1e4),
    (5.0, 1.0, 300.0, 1e-3, 10000, 250.0),
])
def test_pareto_nbd_pmf_extremes_match_mpmath_integral(case):
    truth = _integral_pmf(*case)
    ours = pareto_nbd.probability_of_purchases(NP, *case[:4], n=float(case[4]), t=case[5])
    if truth < mp.mpf("1e-300"):  # below double precision: ours must be (near) 0, not NaN
        assert 0.0 <= ours < 1e-290
    else:
        assert _rel(ours, truth) < 1e-8, (ours, truth)


def test_pareto_nbd_simulated_frequencies_follow_the_pmf():
    T, n = 39.0, 20000
    data = pareto_nbd.simulate(np.random.default_rng(3), n, *PNBD, T=T)
    top = 8
    observed = np.bincount(np.minimum(data["frequency"].astype(int), top), minlength=top + 1)
    pmf = clv.ParetoNBD.from_params(dict(zip(("r", "alpha", "s", "beta"), PNBD))).probability_of_purchases(np.arange(top), T)
    expected = n * np.append(pmf.to_numpy(), 1 - pmf.sum())
    assert stats.chisquare(observed, expected).pvalue > 1e-3


# ------------------------------------------------------------------ conditional, all models
def test_pareto_nbd_conditional_pmf_matches_lifetimes_where_lifetimes_is_accurate(cdnow_summary):
    from lifetimes import ParetoNBDFitter

    lt = ParetoNBDFitter()
    lt.params_ = pd.Series(dict(zip(("r", "alpha", "s", "beta"), PNBD)))
    s = cdnow_summary
    model = clv.ParetoNBD.from_params(dict(zip(("r", "alpha", "s", "beta"), PNBD)))
    ours = model.conditional_probability_of_purchases(s, n=[0, 1, 2, 3], t=39.0)
    for n in range(4):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = lt.conditional_probability_of_n_purchases_up_to_time(n, 39.0, s["frequency"], s["recency"], s["T"])
        np.testing.assert_allclose(ours[n].to_numpy(), np.asarray(theirs, dtype=float), rtol=1e-9)


def test_lifetimes_conditional_pmf_is_wrong_for_short_periods():
    # lifetimes' note-028 sum cancels: at t = 0.5 weeks, n = 20 it is off by 20 orders of magnitude
    from lifetimes import ParetoNBDFitter

    lt = ParetoNBDFitter()
    lt.params_ = pd.Series(dict(zip(("r", "alpha", "s", "beta"), PNBD)))
    x, tx, T = 2, 30.43, 38.86
    r, alpha, s, beta = PNBD
    pa = pareto_nbd.probability_alive(NP, *PNBD, frequency=x, recency=tx, T=T)
    truth = pa * _fh_pmf(r + x, alpha + T, s, beta + T, 20, 0.5, dps=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = lt.conditional_probability_of_n_purchases_up_to_time(20, 0.5, x, tx, T)
    ours = pareto_nbd.conditional_probability_of_purchases(NP, *PNBD, frequency=x, recency=tx, T=T, n=20, t=0.5)
    assert _rel(ours, truth) < 1e-9
    assert _rel(theirs, truth) > 1e6


CONDITIONAL = [
    # module, parameters, histories (x, t_x, T or n_periods), time keyword, horizon
    (bgnbd, (0.243, 4.414, 0.793, 2.426), [(0, 0.0, 38.86), (2, 30.43, 38.86), (14, 20.0, 39.0), (0, 0.0, 0.0)], "T", 39.0),
    (mbgnbd, (0.525, 6.183, 0.891, 1.614), [(0, 0.0, 38.86), (2, 30.43, 38.86), (14, 20.0, 39.0), (0, 0.0, 0.0)], "T", 39.0),
    (pareto_nbd, PNBD, [(0, 0.0, 38.86), (2, 30.43, 38.86), (14, 20.0, 39.0), (0, 0.0, 0.0)], "T", 39.0),
    (bgbb, (1.204, 0.750, 0.657, 2.783), [(0, 0, 6), (3, 4, 6), (6, 6, 6), (2, 3, 6)], "n_periods", 5.0),
]


@pytest.mark.parametrize("module,params,histories,time_kw,t", CONDITIONAL, ids=lambda v: getattr(v, "__name__", "")[-9:])
def test_conditional_pmf_sums_to_one_and_its_mean_is_the_conditional_expectation(module, params, histories, time_kw, t):
    k = np.arange(400.0) if time_kw == "T" else np.arange(t + 1)
    for x, tx, T in histories:
        data = {"frequency": float(x), "recency": float(tx), time_kw: float(T)}
        pmf = module.conditional_probability_of_purchases(NP, *params, **data, n=k, t=t)
        expected = module.expected_purchases(NP, *params, **data, t=t)
        assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
        assert (k * pmf).sum() == pytest.approx(float(expected), rel=1e-8)
        # the mixture's n = 0 mass is at least the probability of being inactive
        assert pmf[0] >= 1 - module.probability_alive(NP, *params, **data) - 1e-12 or module is bgbb


@pytest.mark.parametrize("module,params", [(bgnbd, (0.243, 4.414, 0.793, 2.426)), (mbgnbd, (0.525, 6.183, 0.891, 1.614)),
                                           (pareto_nbd, PNBD)], ids=["bgnbd", "mbgnbd", "pareto_nbd"])
def test_new_customer_pmf_mean_is_the_new_customer_expectation(module, params):
    k = np.arange(600.0)
    pmf = module.probability_of_purchases(NP, *params, n=k, t=39.0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert (k * pmf).sum() == pytest.approx(float(module.expected_purchases_new_customer(NP, *params, t=39.0)), rel=1e-8)


PARAM = st.floats(1e-3, 1e3)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(PARAM, PARAM, PARAM, PARAM, st.integers(0, 10_000), st.floats(0.0, 1.0), st.floats(1e-2, 1e4),
       st.integers(0, 50), st.floats(1e-2, 1e4))
def test_conditional_pmf_stays_a_probability(p1, p2, p3, p4, x, frac, T, n, t):
    tx = 0.0 if x == 0 else max(frac, 1e-9) * T
    for module in (bgnbd, mbgnbd, pareto_nbd):
        with np.errstate(all="ignore"):
            v = module.conditional_probability_of_purchases(NP, p1, p2, p3, p4, frequency=float(x), recency=tx, T=T,
                                                            n=float(n), t=t)
        assert np.isfinite(v) and 0.0 <= v <= 1.0 + 1e-12, (module.__name__, v)


# ------------------------------------------------------------------ API
def test_conditional_pmf_api_shapes_and_errors(cdnow_summary):
    pnbd = clv.ParetoNBD.from_params(dict(zip(("r", "alpha", "s", "beta"), PNBD)))
    one = pnbd.conditional_probability_of_purchases(cdnow_summary, n=0, t=39.0)
    table = pnbd.conditional_probability_of_purchases(cdnow_summary, n=range(3), t=39.0)
    assert isinstance(one, pd.Series) and one.index.equals(cdnow_summary.index)
    assert list(table.columns) == [0, 1, 2]
    np.testing.assert_allclose(table[0], one)
    with pytest.raises(ValueError, match="non-negative whole"):
        pnbd.conditional_probability_of_purchases(cdnow_summary, n=1.5, t=39.0)
    with pytest.raises(ValueError, match="'t' parameter .* must be"):
        pnbd.probability_of_purchases([0, 1], t=-1.0)


@pytest.mark.parametrize("module,params,histories,time_kw,t", CONDITIONAL, ids=lambda v: getattr(v, "__name__", "")[-9:])
def test_conditional_pmf_api_evaluates_every_customer_as_the_formula_does_one(module, params, histories, time_kw, t):
    model = next(c for c in (clv.BetaGeo, clv.ModifiedBetaGeo, clv.ParetoNBD, clv.BetaGeoBetaBinom) if c.spec is module.SPEC)
    fitted = model.from_params(dict(zip(model.spec.param_names, params)))
    frame = pd.DataFrame(histories, columns=["frequency", "recency", time_kw], dtype=float)
    table = fitted.conditional_probability_of_purchases(frame, n=[0, 1, 2, 3], t=t)
    for row, (x, tx, T) in enumerate(histories):
        one = module.conditional_probability_of_purchases(NP, *params, frequency=float(x), recency=float(tx),
                                                          **{time_kw: float(T)}, n=np.arange(4.0), t=t)
        np.testing.assert_allclose(table.iloc[row].to_numpy(), one, rtol=1e-12)
