"""The one fitted-parameters value: point fits and posteriors through the same engine, and MLE intervals."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import clvmodels as clv
from clvmodels import io, value
from clvmodels.errors import ModelFileError, NotFittedError
from clvmodels.fit import PointFit, Posterior
from clvmodels.models.bgnbd import simulate
from conftest import MODELS

FITTED_ATTRIBUTES = ("fit_", "params_", "se_", "cov_", "loglik_", "converged_", "n_customers_", "unit_",
                     "data_fingerprint_", "fit_info_", "posterior_")
TRUE = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
VALUE = dict(horizon=6, unit="M", discount_rate=0.01, margin=0.3)


@pytest.fixture(scope="module")
def fitted(cdnow_summary_module):
    s = cdnow_summary_module
    bg = clv.BetaGeo().fit(s)
    gg = clv.GammaGamma().fit(s[s.frequency > 0])
    return s, bg, gg


@pytest.fixture(scope="module")
def cdnow_summary_module():
    from conftest import cdnow_summary_copy

    return cdnow_summary_copy()


# --------------------------------------------------------------------------- the estimator's state
@pytest.mark.parametrize("case", MODELS, ids=[c.id for c in MODELS])
def test_no_fitted_attribute_exists_before_fitting(case):
    model = case.model()
    # the constructor's options (k of the CNBD-k models) are the only state, as in scikit-learn
    assert not [name for name in vars(model) if name.endswith("_")], vars(model)
    assert set(vars(model)) <= {"k"}
    for name in FITTED_ATTRIBUTES:
        assert not hasattr(model, name), name
        with pytest.raises(NotFittedError, match="not fitted yet"):
            getattr(model, name)
    assert repr(model) == f"{case.model.__name__}()"


def test_fitted_attributes_are_read_only_views_of_the_one_fit(fitted):
    _, bg, _ = fitted
    assert isinstance(bg.fit_, PointFit) and bg.posterior_ is None
    assert dict(bg.params_) == bg.fit_.params and bg.loglik_ == bg.fit_.loglik
    for name in ("params_", "se_", "posterior_", "unit_"):
        with pytest.raises(AttributeError):
            setattr(bg, name, None)
    copy = bg.params_
    copy["r"] = 99.0  # a copy: the fit is not changed through it
    assert bg.params_["r"] != 99.0


def test_point_fit_is_one_draw_and_array_parameters_are_refused():
    fit = PointFit(clv.BetaGeo.spec, TRUE)
    assert fit.n_draws == 1 and all(v.shape == (1, 1) for v in fit.draws().values())
    with pytest.raises(ValueError, match="'r' parameter of BG/NBD must be one number"):
        clv.BetaGeo.from_params(r=np.array([1.0, 2.0]), alpha=4.4, a=0.8, b=2.4)


def test_a_posterior_with_nan_draws_is_refused_on_construction_and_on_load(tmp_path):
    ds = xr.Dataset({k: (("chain", "draw"), np.full((1, 5), v)) for k, v in TRUE.items()})
    ds["r"][0, 2] = np.nan
    tree = xr.DataTree.from_dict({"posterior": ds})
    with pytest.raises(ValueError, match="1 draws of 'r' that are not finite"):
        Posterior(clv.BetaGeo.spec, tree)
    good = Posterior(clv.BetaGeo.spec, xr.DataTree.from_dict({"posterior": ds.fillna(0.2)}))
    path = io.save_fit(good, tmp_path / "p.nc")
    tree = xr.open_datatree(path, engine="h5netcdf").load()
    tree["posterior"] = xr.DataTree(tree["posterior"].to_dataset().map(lambda v: v * np.nan))
    tree.to_netcdf(tmp_path / "nan.nc", engine="h5netcdf")
    with pytest.raises(ModelFileError, match="nan.nc: .*draws of 'r' that are not finite"):
        clv.load_model(tmp_path / "nan.nc")


# --------------------------------------------------------------------------- every value function on many draws
@pytest.fixture(scope="module")
def asymptotic(fitted):
    s, bg, gg = fitted
    return s, bg.sample_asymptotic(400, random_seed=1), gg.sample_asymptotic(400, random_seed=2)


def test_clv_table_works_on_many_draws_and_agrees_with_lifetime_value(asymptotic):
    s, bg, gg = asymptotic
    table = value.clv_table(bg, gg, s, **VALUE)
    clv_ = value.lifetime_value(bg, gg, s, **VALUE)
    np.testing.assert_allclose(table["clv"].to_numpy(), clv_["mean"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(table["clv_hdi_lower"].to_numpy(), clv_["hdi_lower"].to_numpy(), rtol=1e-12)
    assert (table["clv_hdi_lower"] <= table["clv"]).all() and (table["clv"] <= table["clv_hdi_upper"]).all()
    # the parts are posterior means: their product is not the mean CLV, but close for narrow posteriors
    approx = table["discounted_purchases"] * table["margin"] * table["expected_spend"]
    np.testing.assert_allclose(approx.to_numpy(), table["clv"].to_numpy(), rtol=0.05)


def test_customer_equity_by_cohort_on_many_draws_sums_draws_not_intervals(asymptotic):
    s, bg, gg = asymptotic
    channel = pd.Series(np.where(np.arange(len(s)) % 3 == 0, "shop", "web"), index=s.index)
    table = value.customer_equity_by_cohort(bg, gg, s, cohort=channel, **VALUE)
    assert table.index.tolist() == ["shop", "web", "total"]
    total = value.customer_equity(bg, gg, s, **VALUE)
    assert table.loc["total", "mean"] == pytest.approx(total["mean"], rel=1e-10)
    assert table.loc["total", "mean"] == pytest.approx(table["mean"].iloc[:2].sum(), rel=1e-10)
    # the interval of a sum of positively correlated parts is narrower than the sum of their widths... but wider than each
    widths = table["hdi_upper"] - table["hdi_lower"]
    assert widths["total"] > widths["shop"] and widths["total"] > widths["web"]


def test_point_and_degenerate_posterior_give_the_same_cohort_equity(fitted):
    s, bg, gg = fitted
    ds = xr.Dataset({k: (("chain", "draw"), np.full((1, 3), v)) for k, v in bg.params_.items()})
    flat = clv.BetaGeo.from_fit(Posterior(clv.BetaGeo.spec, xr.DataTree.from_dict({"posterior": ds}), unit="W"))
    point = value.customer_equity_by_cohort(bg, gg, s, **VALUE)
    post = value.customer_equity_by_cohort(flat, gg, s, **VALUE)
    np.testing.assert_allclose(post["mean"].to_numpy(), point["customer_equity"].to_numpy(), rtol=1e-10)
    assert (post["sd"] < 1e-6 * post["mean"].abs().max()).all()


def test_asymptotic_draws_centre_on_the_estimate_with_the_reported_covariance(fitted):
    _, bg, _ = fitted
    post = bg.fit_.sample_asymptotic(20_000, random_seed=3)
    for p in bg.spec.params:
        logs = np.log(post.draws()[p.name].ravel())
        se_log = bg.se_[p.name] / bg.params_[p.name]  # delta method
        assert np.median(logs) == pytest.approx(np.log(bg.params_[p.name]), abs=0.05 * se_log + 1e-3)
        assert np.std(logs) == pytest.approx(se_log, rel=0.05)


def test_asymptotic_draws_need_a_covariance():
    with pytest.raises(ValueError, match="no finite covariance"):
        clv.BetaGeo.from_params(TRUE).sample_asymptotic(10)


def test_asymptotic_posterior_saves_and_loads_as_netcdf(fitted, tmp_path):
    s, bg, _ = fitted
    post = bg.sample_asymptotic(50, random_seed=0)
    loaded = clv.load_model(post.save(tmp_path / "asym.nc"))
    pd.testing.assert_frame_equal(loaded.expected_purchases(s.head(20), t=10), post.expected_purchases(s.head(20), t=10))


@pytest.mark.slow
def test_asymptotic_interval_covers_the_truth_at_its_nominal_rate():
    """Coverage by simulation: 120 data sets from known BG/NBD parameters, one fixed customer.

    The 94% HDI of E[X(39) | x=2, t_x=30, T=39] from 1,000 asymptotic draws covers the value at the
    true parameters in about 94% of replicates. With 120 replicates the binomial sd is 2.2 points,
    so 80% coverage would fail the lower bound with probability about 2%.
    """
    customer = pd.DataFrame({"frequency": [2.0], "recency": [30.0], "T": [39.0]})
    truth = float(clv.BetaGeo.from_params(TRUE).expected_purchases(customer, t=39).iloc[0])
    rng = np.random.default_rng(2026)
    hits = 0
    replicates = 120
    for i in range(replicates):
        d = pd.DataFrame(simulate(rng, 1000, **TRUE, T=39.0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a replicate may warn about a weakly identified b
            model = clv.BetaGeo().fit(d)
        e = model.sample_asymptotic(1000, random_seed=i).expected_purchases(customer, t=39)
        hits += bool(e["hdi_lower"].iloc[0] <= truth <= e["hdi_upper"].iloc[0])
    coverage = hits / replicates
    assert 0.87 <= coverage <= 0.995, coverage


def test_drop_unfittable_leaves_out_what_the_spec_cannot_fit_and_says_so(cdnow_summary_module):
    from clvmodels.errors import DataWarning

    s = cdnow_summary_module
    with pytest.warns(DataWarning, match=r"1411 customers left out of the Gamma-Gamma fit \(frequency = 0"):
        gg = clv.GammaGamma().fit(s, drop_unfittable=True)
    assert gg.params_.equals(clv.GammaGamma().fit(s[s.frequency > 0]).params_)
    with pytest.raises(Exception, match="must be a whole number >= 1"):
        clv.GammaGamma().fit(s)  # without it the zero-repeat customers are refused, naming the column
