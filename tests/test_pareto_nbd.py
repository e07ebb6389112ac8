"""Pareto/NBD: published CDNOW estimates (FHL 2005), lifetimes at fixed parameters, mpmath quadrature."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels import backend
from clvmodels.models import pareto_nbd as P
from conftest import cdnow_summary_copy
from reference_values import PARETO_NBD_FHL2005, printed_rtol, value

PRECISE = PARETO_NBD_FHL2005.values(precise=True)


@pytest.fixture(scope="module")
def fitted():
    return clv.ParetoNBD().fit(cdnow_summary_copy())


def test_pareto_nbd_params_match_FHL2005(fitted):
    for name, printed in PARETO_NBD_FHL2005.params.items():
        assert fitted.params_[name] == pytest.approx(value(printed), rel=printed_rtol(printed)), name
    assert fitted.loglik_ == pytest.approx(value(PARETO_NBD_FHL2005.loglik_precise),
                                           rel=printed_rtol(PARETO_NBD_FHL2005.loglik_precise))


def test_pareto_nbd_has_standard_errors_lifetimes_lacks(fitted):
    cov = fitted.cov_.to_numpy()
    assert fitted.converged_
    assert np.allclose(cov, cov.T) and np.all(np.linalg.eigvalsh(cov) > 0)
    assert all(0 < fitted.se_[k] < fitted.params_[k] for k in fitted.params_.index)


def test_pareto_nbd_loglik_at_FHL2005_optimum():
    s = cdnow_summary_copy()
    total = clv.ParetoNBD.from_params(PRECISE).log_likelihood(s).sum()
    assert total == pytest.approx(value(PARETO_NBD_FHL2005.loglik_precise), rel=printed_rtol(PARETO_NBD_FHL2005.loglik_precise))


def _mp_terms(x, tx, T, r, alpha, s, beta):
    # the likelihood from its defining integral, int_tx^T (alpha+u)^-(r+x) (beta+u)^-(s+1) du,
    # by mpmath quadrature on a fine subdivision (no hypergeometric function)
    x, tx, T = mp.mpf(x), mp.mpf(tx), mp.mpf(T)
    alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
    f = lambda u: (alpha + u) ** -(r + x) * (beta + u) ** -(s + 1)  # noqa: E731
    dead = s * mp.quad(f, mp.linspace(tx, T, 40)) if tx < T else 0
    common = mp.gamma(r + x) / mp.gamma(r) * mp.mpf(alpha) ** r * mp.mpf(beta) ** s
    return common, alive, dead


def test_pareto_nbd_loglik_and_palive_match_mpmath_quadrature():
    with mp.workdps(30):
        rng = np.random.default_rng(3)
        for _ in range(12):
            r, alpha, s, beta = rng.uniform(0.2, 3, 4) * [1, 10, 1, 10]
            T = rng.uniform(1, 80)
            tx = rng.uniform(0, T)
            x = int(rng.integers(0, 40))
            common, alive, dead = _mp_terms(x, tx, T, r, alpha, s, beta)
            ll = P.loglik(backend.numpy, r, alpha, s, beta, frequency=x, recency=tx, T=T)
            pa = P.probability_alive(backend.numpy, r, alpha, s, beta, frequency=x, recency=tx, T=T)
            assert float(ll) == pytest.approx(float(mp.log(common * (alive + dead))), rel=1e-9)
            assert float(pa) == pytest.approx(float(alive / (alive + dead)), rel=1e-9)


@pytest.fixture(scope="module")
def lifetimes_model():
    lifetimes = pytest.importorskip("lifetimes")
    m = lifetimes.ParetoNBDFitter()
    m.params_ = pd.Series(PRECISE)
    return m


def test_pareto_nbd_predictions_match_lifetimes_at_fixed_params(lifetimes_model):
    s = cdnow_summary_copy()
    ours = clv.ParetoNBD.from_params(PRECISE)
    x, tx, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    np.testing.assert_allclose(ours.probability_alive(s), lifetimes_model.conditional_probability_alive(x, tx, T), rtol=1e-6)
    np.testing.assert_allclose(
        ours.expected_purchases(s, t=39),
        lifetimes_model.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T), rtol=1e-6)
    np.testing.assert_allclose(ours.expected_purchases_new_customer([13.0, 39.0, 78.0]),
                               lifetimes_model.expected_number_of_purchases_up_to_time(np.array([13.0, 39.0, 78.0])),
                               rtol=1e-6)


@pytest.mark.parametrize("params", [(1.0, 0.01, 0.01, 100.0), (0.01, 100.0, 1.0, 0.01)])
def test_pareto_nbd_lifetimes_fails_where_we_do_not(lifetimes_model, params):
    # a customer with no repeat purchase observed 1000 periods: lifetimes gives NaN or 0
    import lifetimes

    m = lifetimes.ParetoNBDFitter()
    m.params_ = pd.Series(dict(zip(["r", "alpha", "s", "beta"], params)))
    x, tx, T = 0, 0.0, 1000.0
    with np.errstate(all="ignore"):
        theirs = float(m.conditional_probability_alive(x, tx, T))
    ours = float(P.probability_alive(backend.numpy, *params, frequency=x, recency=tx, T=T))
    with mp.workdps(40):
        common, alive, dead = _mp_terms(x, tx, T, *map(mp.mpf, params))
        truth = float(alive / (alive + dead))
    assert ours == pytest.approx(truth, rel=1e-8, abs=0)
    assert not (np.isfinite(theirs) and theirs == pytest.approx(truth, rel=1e-6, abs=0))


def test_pareto_nbd_expected_purchases_matches_simulation():
    # population: E[X(t)] of new customers against the simulator (our only independent source)
    rng = np.random.default_rng(11)
    d = P.simulate(rng, 200_000, **PRECISE, T=39.0)
    mean = d["frequency"].mean()
    se = d["frequency"].std() / np.sqrt(len(d["frequency"]))
    assert abs(clv.ParetoNBD.from_params(PRECISE).expected_purchases_new_customer(39.0) - mean) < 4 * se


def test_pareto_nbd_dert_matches_discounted_integral_mpmath():
    # DERT = P(alive) E[lambda] E[integral e^{-delta u} S(u) du] under the posterior, by quadrature
    r, alpha, s, beta = PRECISE.values()
    x, tx, T, delta = 2, 30.43, 38.86, 0.0027
    common, alive, dead = _mp_terms(x, tx, T, r, alpha, s, beta)
    with mp.workdps(30):
        life = mp.quad(lambda u: mp.exp(-delta * u) * ((beta + T) / (beta + T + u)) ** s, [0, mp.inf])
        truth = alive / (alive + dead) * (r + x) / (alpha + T) * life
    ours = P.discounted_expected_transactions(backend.numpy, r, alpha, s, beta, frequency=x, recency=tx, T=T,
                                              discount_rate=delta)
    assert float(ours) == pytest.approx(float(truth), rel=1e-8)


def test_pareto_nbd_tracks_week78_cumulative_repeat_purchases_within_2pct_FHL2005(fitted):
    from reference_values import CDNOW, TRACKING_FHL2005

    tx = clv.datasets.load_cdnow().drop_duplicates(["customer_id", "date"])
    first = tx.groupby("customer_id")["date"].transform("min")
    start = pd.Timestamp("1997-01-01")
    end = start + pd.Timedelta(weeks=78)
    actual = int(((tx["date"] > first) & (tx["date"] < end)).sum())
    assert actual == CDNOW["sum_frequency"] + CDNOW["holdout_repeat_purchases"]
    # each customer's expected repeat purchases from her first purchase to week 78
    age = (end - tx.groupby("customer_id")["date"].min()).dt.days.to_numpy() / 7.0
    ages, counts = np.unique(age, return_counts=True)
    expected = float((fitted.expected_purchases_new_customer(ages).to_numpy() * counts).sum())
    rel = (expected - actual) / actual
    assert abs(rel) <= TRACKING_FHL2005["pareto_nbd_max_relative_error"]
