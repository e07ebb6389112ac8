"""Model comparison: AIC/BIC by definition from the published log-likelihoods, LR test, LOO table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import clvmodels as clv
from clvmodels.comparison import likelihood_ratio_test
from clvmodels.evaluation import holdout_errors
from conftest import cdnow_summary_copy
from reference_values import BGNBD_FHL2005, MBGNBD_BTYDPLUS, PARETO_NBD_FHL2005, printed_rtol, value


@pytest.fixture(scope="module")
def fits():
    s = cdnow_summary_copy()
    return clv.BetaGeo().fit(s), clv.ParetoNBD().fit(s), clv.ModifiedBetaGeo().fit(s)


def test_compare_aic_bic_from_FHL2005_and_BTYDplus_logliks(fits):
    table = clv.compare(*fits, names=["BG/NBD", "Pareto/NBD", "MBG/NBD"])
    n = 2357
    for name, pub in [("BG/NBD", BGNBD_FHL2005), ("Pareto/NBD", PARETO_NBD_FHL2005), ("MBG/NBD", MBGNBD_BTYDPLUS)]:
        ll = value(pub.loglik_precise or pub.loglik)
        tol = printed_rtol(pub.loglik_precise or pub.loglik)
        assert table.loc[name, "aic"] == pytest.approx(8 - 2 * ll, rel=tol)
        assert table.loc[name, "bic"] == pytest.approx(4 * np.log(n) - 2 * ll, rel=tol)
    # published ranking: BG/NBD fits CDNOW better than Pareto/NBD (FHL 2005)
    assert table.loc["BG/NBD", "aic"] < table.loc["Pareto/NBD", "aic"]
    assert table["aic_weight"].sum() == pytest.approx(1.0, rel=1e-12)
    assert table.index[0] == table["aic"].idxmin() and table["delta_aic"].iloc[0] == 0.0


def test_likelihood_ratio_test_matches_chi2_and_restricted_fit():
    # BG/BB with the dropout process shut off is not in our family; use a definitional check:
    stat = 2 * (-100.0 - -103.5)
    out = likelihood_ratio_test((-103.5, 2), (-100.0, 4))
    assert out["statistic"] == pytest.approx(stat, rel=1e-15)
    assert out["p_value"] == pytest.approx(stats.chi2.sf(stat, 2), rel=1e-12)
    with pytest.raises(ValueError, match="more free parameters"):
        likelihood_ratio_test((-1.0, 4), (-1.0, 4))


def test_lrt_nested_sbg_cohorts_pooled_vs_separate():
    # nested: one sBG for both FH 2007 cohorts (2 params) vs one per cohort (4 params)
    from clvmodels.data.contractual import renewals_from_survival
    from reference_values import SBG_FH2007_HIGH_END_SURVIVAL, SBG_FH2007_REGULAR_SURVIVAL

    hi = renewals_from_survival([value(v) for v in SBG_FH2007_HIGH_END_SURVIVAL], 1000)
    reg = renewals_from_survival([value(v) for v in SBG_FH2007_REGULAR_SURVIVAL], 1000)
    both = pd.concat([hi, reg], ignore_index=True)
    pooled = clv.ShiftedBetaGeo().fit(both, weights=both["count"].to_numpy(float))
    sep = [clv.ShiftedBetaGeo().fit(t, weights=t["count"].to_numpy(float)) for t in (hi, reg)]
    out = likelihood_ratio_test((pooled.loglik_, 2), (sep[0].loglik_ + sep[1].loglik_, 4))
    assert out["statistic"] > 0 and out["p_value"] < 1e-10  # the segments differ (FH 2007)


@pytest.fixture(scope="module")
def covariate_fits():
    """CDNOW with a continuous and a binary covariate unrelated to the purchases (fixed seed):
    plain BG/NBD and BG/NBD with 1 purchase and 2 dropout coefficients, by maximum likelihood."""
    s = cdnow_summary_copy()
    rng = np.random.default_rng(0)
    cov = pd.DataFrame({"u": rng.normal(size=len(s)), "seg": rng.integers(0, 2, size=len(s))}, index=s.index)
    s = clv.join_covariates(s, cov)
    full = clv.BetaGeo(purchase_covariates=["u"], dropout_covariates=["seg"]).fit(s)
    return s, clv.BetaGeo().fit(s), full


def test_lrt_plain_vs_covariate_model_counts_the_coefficients_and_matches_per_customer_logliks(covariate_fits):
    s, plain, full = covariate_fits
    out = likelihood_ratio_test(plain, full)
    assert full.spec.param_names[4:] == ("purchase:u", "dropout_a:seg", "dropout_b:seg")
    assert out["df"] == 3
    # the statistic from the customer-by-customer log-likelihoods (uncompressed rows)
    stat = 2 * (full.log_likelihood(s).sum() - plain.log_likelihood(s).sum())
    assert out["statistic"] == pytest.approx(stat, rel=1e-9)
    assert out["p_value"] == pytest.approx(stats.chi2.sf(stat, 3), rel=1e-9)
    assert out == likelihood_ratio_test((plain.loglik_, 4), (full.loglik_, 7))
    # the plain model is the covariate model with its coefficients at 0: the full fit is no worse
    assert full.loglik_ >= plain.loglik_
    # covariates unrelated to the data: no evidence against the plain model at this seed
    assert out["p_value"] > 0.01


def test_lrt_refuses_pairs_that_are_not_nested_or_not_maximum_likelihood(covariate_fits):
    s, plain, full = covariate_fits
    with pytest.raises(ValueError, match="not nested in MBG/NBD"):
        likelihood_ratio_test(plain, clv.ModifiedBetaGeo(purchase_covariates=["u"]).fit(s))
    with pytest.raises(ValueError, match="smaller model first"):
        likelihood_ratio_test(full, plain)
    with pytest.raises(ValueError, match="differ in their customers"):
        likelihood_ratio_test(clv.BetaGeo().fit(s.iloc[:1000]), full)
    with pytest.raises(ValueError, match="method='map'"):
        likelihood_ratio_test(plain, clv.BetaGeo(purchase_covariates=["u"]).fit(s, method="map"))
    with pytest.raises(ValueError, match="penalizer=0.1"):
        likelihood_ratio_test(clv.BetaGeo().fit(s, penalizer=0.1), full)
    # compare: a plain and a covariate model read different columns; the customer count still tells
    with pytest.raises(ValueError, match="different data"):
        clv.compare(clv.BetaGeo().fit(s.iloc[:1000]), full, names=["plain", "covariates"])
    assert list(clv.compare(plain, full, names=["plain", "covariates"])["n_params"].sort_values()) == [4, 7]


def test_compare_refuses_different_data_and_mixed_fits(fits):
    s = cdnow_summary_copy()
    other = clv.BetaGeo().fit(s.iloc[:1000])
    with pytest.raises(ValueError, match="different data"):
        clv.compare(fits[0], other, names=["a", "b"])
    with pytest.raises(ValueError, match="not fitted"):
        clv.compare(fits[0], clv.ParetoNBD.from_params(r=0.5, alpha=10, s=0.6, beta=11))


@pytest.mark.slow
def test_compare_loo_table_for_posteriors():
    s = cdnow_summary_copy()
    kw = dict(draws=100, tune=100, chains=2, random_seed=3, progressbar=False, log_likelihood=True)
    import warnings

    with warnings.catch_warnings():
        # 2 x 150 draws keep CI fast; their R-hat/ESS warnings are expected and not the subject here
        warnings.simplefilter("ignore", clv.ConvergenceWarning)
        # (BG/NBD and MBG/NBD: Pareto/NBD sampling takes minutes, too long for this check)
        posts = [clv.BetaGeo().sample(s, **kw), clv.ModifiedBetaGeo().sample(s, **kw)]
    table = clv.compare(*posts)
    assert list(table.columns) == ["elpd_loo", "se", "p_loo", "looic", "delta_looic", "elpd_diff", "dse"]
    # the se of the difference, recomputed from ArviZ's own pointwise elpd of each posterior
    import arviz as az

    pointwise = {type(m).__name__: np.asarray(az.loo(m.posterior_, pointwise=True).elpd_i).ravel() for m in posts}
    best, other = table.index
    diff = pointwise[best] - pointwise[other]
    assert table.loc[other, "dse"] == pytest.approx(np.sqrt(diff.size) * diff.std(), rel=1e-9)
    assert table.loc[other, "elpd_diff"] == pytest.approx(-diff.sum(), rel=1e-9)
    assert table.loc[best, "dse"] == 0.0 and table.loc[best, "elpd_diff"] == 0.0
    # on the same customers the paired se is far smaller than either model's own se
    assert table.loc[other, "dse"] < 0.2 * table["se"].min()
    # LOO's elpd is close to the maximised log-likelihood minus the number of parameters
    mle = {"BetaGeo": value(BGNBD_FHL2005.loglik), "ModifiedBetaGeo": value(MBGNBD_BTYDPLUS.loglik)}
    for name, row in table.iterrows():
        assert abs(row["elpd_loo"] - mle[name]) < 15


def test_compare_holdout_ranking_gathers_each_models_holdout_errors(fits):
    h = cdnow_summary_copy()
    before = h.copy(deep=True)
    table = clv.compare(*fits, names=["BG/NBD", "Pareto/NBD", "MBG/NBD"], holdout=h)
    pd.testing.assert_frame_equal(h, before)
    assert list(table.columns[:2]) == ["rank_aic", "rank_holdout"]
    # the rows keep the AIC order, the holdout rank is that of the MAE
    assert table["aic"].is_monotonic_increasing
    assert table["rank_aic"].tolist() == [1, 2, 3]
    assert table["rank_holdout"].tolist() == table["holdout_mae"].rank(method="min").astype(int).tolist()
    for name, m in zip(["BG/NBD", "Pareto/NBD", "MBG/NBD"], fits):
        e = holdout_errors(m, h).loc["all"]
        assert table.loc[name, "holdout_mae"] == pytest.approx(e["mae"], rel=1e-12)
        assert table.loc[name, "holdout_rmse"] == pytest.approx(e["rmse"], rel=1e-12)
        # the relative error of the total, recomputed from the customers' own holdout counts
        total = h["frequency_holdout"].sum()
        assert table.loc[name, "holdout_total_error"] == pytest.approx((e["expected"] - total) / total, rel=1e-12)
    # FHL (2005) and our tracking tests: both models under-forecast CDNOW's holdout period
    assert (table["holdout_bias"] < 0).all() and (table["holdout_total_error"] < 0).all()
