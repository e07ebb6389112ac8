"""Agreement with lifetimes 0.11.3 at FIXED published parameters, per customer on all CDNOW customers.

Fixed parameters (set on ``params_``), not two fits, so that these tests check our formulas and
not two optimisers (STYLE point 7). lifetimes is a test-time reference only; the module is
skipped when it is not installed. Where lifetimes is numerically wrong, the test says so and
checks both against mpmath instead of loosening the tolerance.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv

from reference_values import BGNBD_FHL2005, GAMMA_GAMMA_FH2013

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    lifetimes = pytest.importorskip("lifetimes")

RTOL = 1e-6


def quietly(fn, *args, **kwargs):
    """Call lifetimes with its warnings scoped: its likelihoods call
    ``warnings.simplefilter("ignore", FutureWarning)``, which would otherwise change the
    process-wide filters for every later test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def bgnbd_pair():
    params = BGNBD_FHL2005.values(precise=True)
    ref = lifetimes.BetaGeoFitter()
    ref.params_ = pd.Series(params)[["r", "alpha", "a", "b"]]
    return clv.BetaGeo.from_params(params, unit="W"), ref


@pytest.fixture(scope="module")
def gamma_gamma_pair():
    params = GAMMA_GAMMA_FH2013.values()
    ref = lifetimes.GammaGammaFitter()
    ref.params_ = pd.Series({"p": params["p"], "q": params["q"], "v": params["gamma"]})
    return clv.GammaGamma.from_params(params), ref


def columns(summary):
    return (summary["frequency"].to_numpy(), summary["recency"].to_numpy(), summary["T"].to_numpy())


@pytest.mark.parametrize("t", [1.0, 39.0, 78.0, 520.0])
def test_bgnbd_conditional_expected_purchases_same_as_lifetimes(bgnbd_pair, cdnow_summary, t):
    ours, ref = bgnbd_pair
    got = ours.expected_purchases(cdnow_summary, t=t)
    expected = quietly(ref.conditional_expected_number_of_purchases_up_to_time, t, *columns(cdnow_summary))
    assert got.index.equals(cdnow_summary.index)
    np.testing.assert_allclose(got.to_numpy(), np.asarray(expected), rtol=RTOL)


def test_bgnbd_probability_alive_same_as_lifetimes(bgnbd_pair, cdnow_summary):
    ours, ref = bgnbd_pair
    got = ours.probability_alive(cdnow_summary)
    expected = quietly(ref.conditional_probability_alive, *columns(cdnow_summary))
    np.testing.assert_allclose(got.to_numpy(), np.asarray(expected), rtol=RTOL)


def test_bgnbd_probability_of_n_purchases_same_as_lifetimes(bgnbd_pair, cdnow_summary):
    # per customer: P(X(T_i) = x_i), a new customer's chance of making customer i's number of
    # repeat purchases within customer i's observation time
    ours, ref = bgnbd_pair
    x, _, T = columns(cdnow_summary)
    got = np.array([ours.probability_of_purchases(n, t) for n, t in zip(x, T)])
    expected = np.array([quietly(ref.probability_of_n_purchases_up_to_time, t, int(n)) for n, t in zip(x, T)])
    np.testing.assert_allclose(got, expected, rtol=RTOL)


def test_bgnbd_probability_of_n_purchases_grid_same_as_lifetimes(bgnbd_pair):
    ours, ref = bgnbd_pair
    n = np.arange(0, 60)
    for t in (39.0, 78.0, 400.0):  # short t: see test_lifetimes_..._cancels_for_short_t below
        got = ours.probability_of_purchases(n, t)
        assert got.index.tolist() == n.astype(float).tolist()
        expected = [quietly(ref.probability_of_n_purchases_up_to_time, t, int(k)) for k in n]
        np.testing.assert_allclose(got.to_numpy(), expected, rtol=RTOL)


def test_bgnbd_new_customer_expected_purchases_same_as_lifetimes(bgnbd_pair, cdnow_summary):
    ours, ref = bgnbd_pair
    T = cdnow_summary["T"].to_numpy()
    got = ours.expected_purchases_new_customer(T)
    expected = quietly(ref.expected_number_of_purchases_up_to_time, T)
    np.testing.assert_allclose(got.to_numpy(), np.asarray(expected), rtol=RTOL)


def test_bgnbd_loglik_same_as_lifetimes(bgnbd_pair, cdnow_summary):
    ours, ref = bgnbd_pair
    x, tx, T = columns(cdnow_summary)
    log_params = np.log(ref.params_[["r", "alpha", "a", "b"]].to_numpy())
    # lifetimes returns the mean negative log-likelihood per customer: compare totals
    mean_nll = quietly(ref._negative_log_likelihood, log_params, x, tx, T, np.ones_like(x), 0.0)
    total = ours.log_likelihood(cdnow_summary).sum()
    assert total == pytest.approx(-mean_nll * len(x), rel=RTOL)


def test_gamma_gamma_conditional_expected_spend_same_as_lifetimes(gamma_gamma_pair, cdnow_summary):
    ours, ref = gamma_gamma_pair
    got = ours.expected_spend(cdnow_summary)  # all 2,357, including x = 0 (population mean)
    expected = quietly(ref.conditional_expected_average_profit, cdnow_summary["frequency"].to_numpy(),
                       cdnow_summary["monetary_value"].to_numpy())
    assert got.index.equals(cdnow_summary.index)
    np.testing.assert_allclose(got.to_numpy(), np.asarray(expected), rtol=RTOL)


def test_gamma_gamma_loglik_same_as_lifetimes(gamma_gamma_pair, cdnow_summary):
    ours, ref = gamma_gamma_pair
    repeat = cdnow_summary[cdnow_summary["frequency"] > 0]
    x, m = repeat["frequency"].to_numpy(), repeat["monetary_value"].to_numpy()
    log_params = np.log(ref.params_[["p", "q", "v"]].to_numpy())
    mean_nll = quietly(ref._negative_log_likelihood, log_params, x, m, np.ones_like(x), 0.0)
    assert ours.log_likelihood(repeat).sum() == pytest.approx(-mean_nll * len(x), rel=RTOL)


# --------------------------------------------------------------------------- where lifetimes is wrong
def mpmath_pmf(n: int, t: float, r: float, alpha: float, a: float, b: float) -> float:
    """P(X(t) = n) of FHL (2005) equation (8) in 150-digit arithmetic, the tail as 1 minus the sum
    term by term (so the cancellation when the tail is tiny costs digits we can spare)."""
    mp = pytest.importorskip("mpmath").mp
    with mp.workdps(150):
        r, alpha, a, b, t = map(mp.mpf, (r, alpha, a, b, t))
        p, q = alpha / (alpha + t), t / (alpha + t)
        nbd = lambda j: mp.gamma(r + j) / (mp.gamma(r) * mp.factorial(j)) * p**r * q**j  # noqa: E731
        first = mp.beta(a, b + n) / mp.beta(a, b) * nbd(n)
        second = mp.beta(a + 1, b + n - 1) / mp.beta(a, b) * (1 - mp.fsum(nbd(j) for j in range(n))) if n > 0 else 0
        return float(first + second)


@pytest.mark.parametrize("n", [171, 200, 400])
def test_lifetimes_probability_of_n_purchases_fails_from_n_171_but_ours_matches_mpmath(bgnbd_pair, n):
    # lifetimes evaluates Gamma(r + n) / Gamma(n + 1) with scipy.special.gamma, which overflows
    # for arguments above 171.6: from n = 171 on it returns NaN or a wrong finite number.
    # Our pmf works with gammaln and the regularised incomplete beta, and matches mpmath.
    ours, ref = bgnbd_pair
    t = 1000.0
    exact = mpmath_pmf(n, t, **ours.params_)
    assert ours.probability_of_purchases(n, t) == pytest.approx(exact, rel=1e-9, abs=0)
    theirs = quietly(ref.probability_of_n_purchases_up_to_time, t, n)
    assert not (theirs == pytest.approx(exact, rel=1e-3, abs=0))  # NaN or off by more than 0.1 %


def test_pmf_agrees_with_mpmath_below_the_lifetimes_overflow(bgnbd_pair):
    ours, _ = bgnbd_pair
    for n, t in [(0, 39.0), (1, 39.0), (5, 39.0), (30, 78.0), (170, 1000.0)]:
        assert ours.probability_of_purchases(n, t) == pytest.approx(mpmath_pmf(n, t, **ours.params_), rel=1e-9, abs=0)


@pytest.mark.parametrize("n", [15, 30, 59])
def test_lifetimes_probability_of_n_purchases_cancels_for_short_t_but_ours_matches_mpmath(bgnbd_pair, n):
    # lifetimes forms the negative-binomial tail as 1 - (alpha/(alpha+t))^r * sum_{j<n} ...;
    # for a short period the tail is tiny and the difference cancels catastrophically
    # (t = 0.5 weeks: 7 % off at n = 15, wrong by orders of magnitude at n = 30). We evaluate
    # the tail as the regularised incomplete beta I_{t/(alpha+t)}(n, r).
    ours, ref = bgnbd_pair
    t = 0.5
    exact = mpmath_pmf(n, t, **ours.params_)
    assert ours.probability_of_purchases(n, t) == pytest.approx(exact, rel=1e-12, abs=0)
    theirs = quietly(ref.probability_of_n_purchases_up_to_time, t, n)
    assert not (theirs == pytest.approx(exact, rel=1e-2, abs=0))
