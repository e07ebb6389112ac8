"""Properties that cannot hold by accident: time-scale invariance, the simulator against the
likelihood and predictions (goodness of fit), and honest non-convergence warnings.

Sources of truth: a change of variables (days vs weeks), simulation from the generative
process with fixed seeds, and the convergence contract of the MLE engine.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import clvmodels as clv
from clvmodels import backend
from clvmodels.errors import ConvergenceError, ConvergenceWarning, IdentificationWarning
from clvmodels.models import bgnbd, gamma_gamma

from reference_values import BGNBD_FHL2005, CDNOW, GAMMA_GAMMA_FH2013


def test_bgnbd_fit_in_days_is_the_fit_in_weeks_with_alpha_times_seven(cdnow_transactions, cdnow_summary):
    # Measuring time in days multiplies every time by 7: lambda's rate parameter alpha scales
    # by 7, r, a, b do not change, and the density of each of the x repeat-purchase times
    # gains a factor 1/7, so loglik_days = loglik_weeks - sum(x) log 7.
    days = clv.rfm_summary(cdnow_transactions, "customer_id", "date", "amount", unit="D",
                           calibration_end=CDNOW["calibration_end"])
    in_days = clv.BetaGeo().fit(days)
    in_weeks = clv.BetaGeo().fit(cdnow_summary)
    for name in ("r", "a", "b"):
        assert in_days.params_[name] == pytest.approx(in_weeks.params_[name], rel=1e-5), name
    assert in_days.params_["alpha"] == pytest.approx(7 * in_weeks.params_["alpha"], rel=1e-5)
    assert in_days.loglik_ == pytest.approx(in_weeks.loglik_ - CDNOW["sum_frequency"] * np.log(7), rel=1e-10)
    assert in_days.unit_ == "D"


def test_bgnbd_simulated_frequencies_follow_probability_of_purchases():
    # chi-square goodness of fit of the simulator's x against P(X(T) = n) for new customers
    params = BGNBD_FHL2005.values(precise=True)
    T, n = 39.0, 20000
    data = bgnbd.simulate(np.random.default_rng(11), n, **params, T=T)
    model = clv.BetaGeo.from_params(params)
    top = 8
    observed = np.bincount(np.minimum(data["frequency"].astype(int), top), minlength=top + 1)
    pmf = model.probability_of_purchases(np.arange(top), T).to_numpy()
    expected = n * np.append(pmf, 1 - pmf.sum())
    assert expected.min() > 5
    chi2 = stats.chisquare(observed, expected)
    assert chi2.pvalue > 1e-3, chi2


def test_bgnbd_conditional_expectation_matches_simulated_holdout_purchases():
    # equation (10) against the process: simulate 39 calibration + 39 holdout weeks, summarise
    # the calibration part, and compare the predicted with the simulated holdout purchases
    params = BGNBD_FHL2005.values(precise=True)
    rng = np.random.default_rng(5)
    n, t_hold = 20000, 39.0
    T_cal = rng.uniform(27.0, 39.0, n)
    _, (who, when) = bgnbd.simulate(rng, n, **params, T=T_cal + t_hold, return_times=True)
    cal = when <= T_cal[who]
    x = np.bincount(who[cal], minlength=n).astype(float)
    tx = np.zeros(n)
    np.maximum.at(tx, who[cal], when[cal])
    holdout = np.bincount(who[~cal], minlength=n).astype(float)
    summary = pd.DataFrame({"frequency": x, "recency": tx, "T": T_cal})
    predicted = clv.BetaGeo.from_params(params).expected_purchases(summary, t=t_hold).to_numpy()
    diff = holdout - predicted
    z = diff.sum() / (diff.std(ddof=1) * np.sqrt(n))
    assert abs(z) < 4, z
    # and within repeat buyers alone, where the history matters most
    rb = x > 0
    z_rb = diff[rb].sum() / (diff[rb].std(ddof=1) * np.sqrt(rb.sum()))
    assert abs(z_rb) < 4, z_rb


def test_gamma_gamma_simulated_mean_spend_follows_the_likelihood_density():
    # Kolmogorov-Smirnov of simulated mean spends (x = 3) against the CDF obtained by numerically
    # integrating exp(loglik): the simulator and the likelihood describe the same distribution
    params = GAMMA_GAMMA_FH2013.values()
    x = 3.0
    data = gamma_gamma.simulate(np.random.default_rng(3), 4000, **params, frequency=x)
    grid = np.concatenate([[0.0], np.geomspace(1e-3, 1e5, 20001)])
    with np.errstate(divide="ignore"):
        density = np.exp(gamma_gamma.loglik(backend.numpy, **params, frequency=x, monetary_value=grid))
    density[0] = 0.0
    cdf = integrate.cumulative_trapezoid(density, grid, initial=0.0)
    assert cdf[-1] == pytest.approx(1.0, abs=1e-5)  # the density integrates to one
    ks = stats.kstest(data["monetary_value"], lambda z: np.interp(z, grid, cdf))
    assert ks.pvalue > 1e-3, ks


def test_no_information_on_dropout_raises_naming_the_parameters():
    # nobody ever repeats: nothing identifies the parameters; the fit ends at once and says so
    # (issue 10, section 6; it used to warn of a singular Hessian after optimising)
    s = pd.DataFrame({"frequency": np.zeros(50), "recency": np.zeros(50), "T": np.linspace(10, 40, 50)})
    with pytest.raises(ConvergenceError, match=r"BG/NBD maximum likelihood cannot succeed: no customer made a repeat "
                                               r"purchase.*do not identify r, alpha, a and b"):
        clv.BetaGeo().fit(s)


def test_gamma_gamma_without_spend_variation_raises():
    s = pd.DataFrame({"frequency": [1.0, 1.0, 1.0], "monetary_value": [5.0, 5.0, 5.0]})
    with pytest.raises(ConvergenceError, match=r"Gamma-Gamma maximum likelihood cannot succeed: every customer has "
                                               r"the same mean spend.*do not identify p, q and gamma"):
        clv.GammaGamma().fit(s)


def test_converged_fit_emits_no_warning(cdnow_summary):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clv.GammaGamma().fit(cdnow_summary[cdnow_summary["frequency"] > 0]).converged_ is True


def test_gamma_gamma_expected_spend_is_infinite_when_the_mean_does_not_exist():
    # with q <= 1 the population mean p*gamma/(q-1) does not exist (the formula would turn
    # negative); customers with p*x + q > 1 still have a finite conditional mean
    gg = clv.GammaGamma.from_params(p=2.0, q=0.8, gamma=10.0)
    s = pd.DataFrame({"frequency": [0.0, 1.0], "monetary_value": [0.0, 20.0]}, index=pd.Index(["new", "repeat"]))
    out = gg.expected_spend(s)
    assert out["new"] == np.inf
    assert np.isfinite(out["repeat"]) and out["repeat"] > 0


def test_rfm_summary_gives_T_zero_to_customers_first_seen_on_calibration_end(cdnow_transactions):
    last_first = cdnow_transactions.groupby("customer_id")["date"].min().max()
    s = clv.rfm_summary(cdnow_transactions, "customer_id", "date", unit="W", calibration_end=last_first)
    fresh = s[s["T"] == 0]
    assert len(fresh) == 30 and (fresh["frequency"] == 0).all() and (fresh["recency"] == 0).all()
    assert clv.BetaGeo().fit(s).converged_ is True


@pytest.mark.parametrize("model_class", [clv.BetaGeo, clv.ModifiedBetaGeo, clv.ParetoNBD])
def test_customers_first_seen_on_calibration_end_fit_and_predict_like_new_customers(cdnow_summary, model_class):
    # such a customer (T = 0, as rfm_summary gives) has likelihood 1, so adding some leaves the
    # fit unchanged; P(alive) is 1 (MBG/NBD: b/(a+b), she may drop out at once)
    fresh = pd.DataFrame({"frequency": 0.0, "recency": 0.0, "T": 0.0}, index=pd.Index([f"new{i}" for i in range(30)]))
    base = model_class().fit(cdnow_summary)
    model = model_class().fit(pd.concat([cdnow_summary, fresh]))
    assert model.converged_ is True
    for name, value in base.params_.items():
        assert model.params_[name] == pytest.approx(value, rel=1e-5), name
    np.testing.assert_allclose(model.log_likelihood(fresh).to_numpy(), 0.0, atol=1e-12)
    alive = model.probability_alive(fresh).to_numpy()
    p = model.params_
    np.testing.assert_allclose(alive, p["b"] / (p["a"] + p["b"]) if model_class is clv.ModifiedBetaGeo else 1.0, rtol=1e-12)
    # predicted as a customer just acquired (MBG/NBD's E[X(t)] includes the dropout at time 0)
    np.testing.assert_allclose(model.expected_purchases(fresh, t=10.0).to_numpy(),
                               model.expected_purchases_new_customer(10.0), rtol=1e-9)


def test_pareto_nbd_on_a_short_calibration_stops_on_its_ridge_with_a_specific_warning(cdnow_transactions):
    # calibration ending on the last first-purchase day (T <= 12 weeks): dropout heterogeneity
    # is not identified, the likelihood rises toward s, beta -> inf; the fit used to walk that
    # ridge for many minutes (2F1 at huge parameters), it must stop and say why
    last_first = cdnow_transactions.groupby("customer_id")["date"].min().max()
    s = clv.rfm_summary(cdnow_transactions, "customer_id", "date", unit="W", calibration_end=last_first)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = clv.ParetoNBD().fit(s)
    texts = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    # one warning per problem (issue 15): the ridge first, naming what the data do not identify
    ridge = texts[0].splitlines()
    assert ridge[0] == "Pareto/NBD maximum likelihood did not converge: these data do not identify beta.", texts
    assert re.search("edge of the parameter space .*beta 13.82 -> ", " ".join(" ".join(ridge).split()))
    assert len({t.splitlines()[0] for t in texts}) == len(texts) and all(
        len(line) <= 94 for t in texts for line in t.splitlines())
    # only beta ran away (s stayed), so not the sentence on s and beta growing together
    assert "s/beta" not in texts[0]
    assert not [w for w in caught if issubclass(w.category, IdentificationWarning)] or texts[-1].startswith(
        "Pareto/NBD: These data do not identify how customers drop out (s and beta).")
    assert model.converged_ is False
    assert model.params_["beta"] > 100 and model.params_["s"] > 10  # on the ridge, not at the start
    # the same data fit BG/NBD and MBG/NBD normally
    assert clv.BetaGeo().fit(s).converged_ and clv.ModifiedBetaGeo().fit(s).converged_
