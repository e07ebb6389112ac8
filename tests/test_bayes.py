"""Fast checks of the Bayesian engine that need no MCMC: the PyMC model against the NumPy
likelihood, posterior predictions against maximum-likelihood ones on a degenerate posterior,
HDIs against ArviZ, chunking, persistence, diagnostics and argument errors.

Every test is parametrised over the model registry (``tests/conftest.py::MODELS``) where it
applies, so models added there are checked too.
"""

from __future__ import annotations

import dataclasses
import json
import re
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import clvmodels as clv
from clvmodels import backend, evaluation, intervals, io, predict, value
from clvmodels.fit import Posterior
from clvmodels.errors import ConvergenceWarning, ModelFileError
from clvmodels.inference import bayes
from clvmodels.inference.diagnostics import diagnostics_table, warn_if_unconverged

from conftest import MODELS, cdnow_summary_copy, frame_hash

CASE_IDS = [c.id for c in MODELS]


def _degenerate(case, n_chain=2, n_draw=50):
    """A model whose posterior puts every draw on the case's reference parameters."""
    params = case.params
    post = xr.Dataset({k: (("chain", "draw"), np.full((n_chain, n_draw), float(v))) for k, v in params.items()},
                      coords={"chain": np.arange(n_chain), "draw": np.arange(n_draw)})
    tree = xr.DataTree.from_dict({"posterior": post})
    tree.attrs["priors"] = json.dumps(bayes.describe_priors(case.spec))
    model = case.model()
    model = type(model).from_fit(Posterior(model.spec, tree, unit="W"))
    return model


def _predict_customers(model, name, data, **kwargs):
    """A per-customer prediction straight through the engine (to set its block size)."""
    index, arrays = model._validated(data, for_fit=False)
    return predict.per_customer(model.fit_, model._prediction(name), index, arrays, name=name, **kwargs)


def _point(case):
    return case.model.from_params(case.params, unit="W")


# --------------------------------------------------------------------------- one likelihood, two backends
@pytest.mark.parametrize("case", MODELS, ids=CASE_IDS)
def test_pymc_potential_equals_numpy_weighted_loglik_at_reference_params(case):
    """The PyMC model's likelihood term is the spec's loglik summed with the row weights."""
    arrays, weights = case.arrays()
    from clvmodels.data.compress import compress

    unique, counts, _ = compress(arrays, weights)
    model = bayes.build_pymc_model(case.spec, unique, counts)
    logp = model.compile_logp(vars=model.potentials, jacobian=False)
    point = {}
    for rv in model.free_RVs:
        transform = model.rvs_to_transforms[rv]
        value = np.float64(case.params[rv.name])
        point[model.rvs_to_values[rv].name] = value if transform is None else transform.forward(value, *rv.owner.inputs).eval()
    expected = float(np.sum(weights * case.spec.loglik(backend.numpy, **case.params, **arrays)))
    assert logp(point) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("case", MODELS, ids=CASE_IDS)
def test_predictions_pytensor_backend_equal_numpy_backend_at_reference_params(case):
    import pytensor.tensor as pt

    arrays, _ = case.arrays()
    arrays = {k: v[:200] for k, v in arrays.items()}
    for name, kwargs in case.predictions().items():
        fn = case.spec.predictions[name]
        if "pytensor" not in fn.backends:
            continue  # declared NumPy-only (a series summed to convergence): nothing to compare
        expected = fn(backend.numpy, **case.params, **arrays, **kwargs)
        sym = fn(backend.pytensor, **{k: pt.constant(v) for k, v in case.params.items()},
                 **{k: pt.constant(v) for k, v in arrays.items()}, **{k: pt.constant(v) for k, v in kwargs.items()})
        got = np.broadcast_to(sym.eval(), np.shape(expected))
        np.testing.assert_allclose(got, expected, rtol=1e-9, err_msg=name)


# --------------------------------------------------------------------------- degenerate posterior = point fit
@pytest.mark.parametrize("case", MODELS, ids=CASE_IDS)
def test_posterior_concentrated_on_one_point_predicts_like_the_point_estimate(case):
    data, _ = case.data()
    post, point = _degenerate(case), _point(case)
    for name, kwargs in case.predictions().items():
        got = getattr(post, name)(data, **kwargs)
        want = getattr(point, name)(data, **kwargs)
        assert list(got.columns) == ["mean", "sd", "hdi_lower", "hdi_upper"]
        assert got.index.equals(want.index)
        for col in ("mean", "hdi_lower", "hdi_upper"):
            np.testing.assert_allclose(got[col].to_numpy(), want.to_numpy(), rtol=1e-12, err_msg=f"{name} {col}")
        # rounding of the mean of identical numbers only
        assert np.all(got["sd"].to_numpy() <= 1e-12 * np.abs(want.to_numpy()))


def test_degenerate_posterior_population_predictions_equal_point_estimates():
    case = MODELS[0]
    post, point = _degenerate(case), _point(case)
    got = post.probability_of_purchases([0, 1, 5], t=39.0)
    np.testing.assert_allclose(got["mean"], point.probability_of_purchases([0, 1, 5], t=39.0).to_numpy(), rtol=1e-12)
    one = post.expected_purchases_new_customer(39.0)
    assert one["mean"] == pytest.approx(point.expected_purchases_new_customer(39.0), rel=1e-12)
    draws = post.expected_purchases_new_customer([13.0, 39.0], return_draws=True)
    assert draws.dims == ("chain", "draw", "t") and draws.shape == (2, 50, 2)


def test_degenerate_posterior_clv_and_equity_equal_point_estimate_on_cdnow():
    s = cdnow_summary_copy()
    bg, gg = _degenerate(MODELS[0]), _degenerate(MODELS[1])
    bg_p, gg_p = _point(MODELS[0]), _point(MODELS[1])
    kw = dict(horizon=12, unit="M", discount_rate=0.01, margin=0.3)
    want = clv.lifetime_value(bg_p, gg_p, s, **kw)
    got = clv.lifetime_value(bg, gg, s, **kw)
    np.testing.assert_allclose(got["mean"].to_numpy(), want.to_numpy(), rtol=1e-12)
    # a point model paired with a posterior is one draw repeated
    mixed = clv.lifetime_value(bg, gg_p, s, **kw)
    np.testing.assert_allclose(mixed["mean"].to_numpy(), want.to_numpy(), rtol=1e-12)
    equity = clv.customer_equity(bg, gg, s, **kw)
    assert equity["mean"] == pytest.approx(want.sum(), rel=1e-10)
    assert equity["hdi_lower"] == pytest.approx(want.sum(), rel=1e-10)
    totals = clv.customer_equity(bg, gg, s, return_draws=True, **kw)
    assert totals.dims == ("chain", "draw") and totals.shape == (2, 50)


# --------------------------------------------------------------------------- summaries
def test_hdi_columns_same_as_arviz_hdi():
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.gamma(2.0, size=999), rng.normal(size=999), rng.beta(0.5, 3.0, size=999)])
    for prob in (0.5, 0.9, 0.94):
        lo, hi = intervals.hdi(x, prob)
        for j in range(x.shape[1]):
            np.testing.assert_allclose([lo[j], hi[j]], np.asarray(az.hdi(x[:, j], prob=prob)), rtol=0, atol=0)


def test_posterior_prediction_summaries_do_not_depend_on_chunk_size():
    """Summaries from one-row blocks equal those from one block, against a plain NumPy reduction."""
    case = MODELS[0]
    rng = np.random.default_rng(0)
    theta = {k: v * np.exp(rng.normal(0, 0.05, size=(2, 40))) for k, v in case.params.items()}
    tree = xr.DataTree.from_dict({"posterior": xr.Dataset({k: (("chain", "draw"), v) for k, v in theta.items()})})
    model = case.model()
    model = type(model).from_fit(Posterior(model.spec, tree, unit="W"))
    s = cdnow_summary_copy().head(300)
    small = _predict_customers(model, "probability_alive", s, chunk_bytes=1, hdi_prob=0.8)
    big = _predict_customers(model, "probability_alive", s, hdi_prob=0.8)
    pd.testing.assert_frame_equal(small, big)
    draws = model.probability_alive(s, return_draws=True)
    assert draws.dims == ("chain", "draw", "customer")
    flat = draws.values.reshape(80, -1)
    np.testing.assert_allclose(big["mean"].to_numpy(), flat.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(big["sd"].to_numpy(), flat.std(axis=0, ddof=1), rtol=1e-10)
    lo, hi = intervals.hdi(flat, 0.8)
    np.testing.assert_array_equal(big["hdi_lower"].to_numpy(), lo)


def test_return_draws_refuses_arrays_over_the_size_guard(monkeypatch):
    model = _degenerate(MODELS[0])
    monkeypatch.setattr(predict, "MAX_DRAWS_BYTES", 1000)
    with pytest.raises(MemoryError, match="return_draws=True would build a 100 draws x 2357 customers array"):
        model.probability_alive(cdnow_summary_copy(), return_draws=True)


def test_posterior_predictions_leave_the_callers_summary_unchanged():
    s = cdnow_summary_copy()
    before = frame_hash(s)
    _degenerate(MODELS[0]).expected_purchases(s, t=10.0)
    clv.lifetime_value(_degenerate(MODELS[0]), _degenerate(MODELS[1]), s, horizon=3)
    assert frame_hash(s) == before


def test_ppc_at_the_published_cdnow_estimates_brackets_the_observed_histogram():
    """Simulating CDNOW from the published BG/NBD estimates reproduces the observed 0..7+ histogram."""
    s = cdnow_summary_copy()
    table = evaluation.posterior_predictive_check(_degenerate(MODELS[0], n_draw=100), s, n_draws=100, random_seed=1)
    assert table.index.tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert int(table["observed"].sum()) == len(s)
    assert table["expected"].sum() == pytest.approx(len(s))
    # Fader, Hardie & Lee (2005) figure 3: the fitted histogram tracks the observed one
    assert table["inside"].sum() >= 6
    np.testing.assert_allclose(table["expected"], table["observed"], rtol=0.25)


def test_ppc_refuses_a_model_without_a_simulated_count():
    with pytest.raises(ValueError, match="simulates no purchase count"):
        evaluation.posterior_predictive_check(_degenerate(MODELS[1]), MODELS[1].data()[0])


# --------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("case", MODELS, ids=CASE_IDS)
def test_posterior_netcdf_round_trip_and_refusals(case, tmp_path):
    model = _degenerate(case)
    data, _ = case.data()
    path = model.save(tmp_path / "post.nc")
    loaded = clv.load_model(path)
    assert type(loaded) is case.model
    xr.testing.assert_identical(loaded.posterior_["posterior"].to_dataset(), model.posterior_["posterior"].to_dataset())
    assert loaded.params_.equals(model.params_)
    for name, kwargs in case.predictions().items():
        pd.testing.assert_frame_equal(getattr(loaded, name)(data, **kwargs), getattr(model, name)(data, **kwargs))
    assert case.model.load(path).spec.name == case.spec.name
    other = next(c.model for c in MODELS if c.model is not case.model)
    with pytest.raises(ModelFileError, match=f"holds a '{case.spec.name}' posterior, not '{other.spec.name}'"):
        other.load(path)
    tree = model.posterior_.copy()
    tree.attrs.update({"format": io.POSTERIOR_FORMAT, "format_version": 99, "model": case.spec.name})
    tree.to_netcdf(tmp_path / "v99.nc", engine="h5netcdf")
    with pytest.raises(ModelFileError, match="format version 99"):
        clv.load_model(tmp_path / "v99.nc")
    tree.attrs["format"] = "something.else"
    tree.to_netcdf(tmp_path / "other.nc", engine="h5netcdf")
    with pytest.raises(ModelFileError, match="not a clvmodels posterior file"):
        clv.load_model(tmp_path / "other.nc")


def test_posterior_file_records_model_params_priors_versions_and_fingerprint(tmp_path):
    model = _degenerate(MODELS[0])
    model = type(model).from_fit(dataclasses.replace(model.fit_, fingerprint="abc123"))
    path = model.save(tmp_path / "bg.nc")
    attrs = xr.open_datatree(path, engine="h5netcdf").attrs
    assert attrs["format"] == "clvmodels.posterior" and int(attrs["format_version"]) == 1
    assert attrs["model"] == "bgnbd" and json.loads(attrs["param_names"]) == ["r", "alpha", "a", "b"]
    assert json.loads(attrs["priors"])["r"].startswith("LogNormal(")
    assert attrs["clvmodels_version"] == clv.__version__ and attrs["data_fingerprint"] == "abc123"
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89HDF\r\n\x1a\n"  # NetCDF-4 / HDF5, not a pickle


# --------------------------------------------------------------------------- diagnostics
def _tree(values, diverging=0):
    n_chain, n_draw = values.shape
    rng = np.random.default_rng(0)
    div = np.zeros((n_chain, n_draw), bool)
    div.flat[:diverging] = True
    return xr.DataTree.from_dict({
        "posterior": xr.Dataset({"r": (("chain", "draw"), values)}),
        "sample_stats": xr.Dataset({"diverging": (("chain", "draw"), div),
                                    "energy": (("chain", "draw"), rng.normal(size=(n_chain, n_draw)))}),
    })


def test_diagnostics_flag_disagreeing_chains_and_divergences_with_advice():
    rng = np.random.default_rng(0)
    good = _tree(rng.normal(size=(4, 500)))
    table = diagnostics_table(good)
    assert table["ok"].all() and set(table["check"]) == {"r_hat", "ess_bulk", "ess_tail", "divergences", "bfmi"}
    assert table.loc[table.check == "ess_bulk", "threshold"].item() == ">= 400"
    shifted = rng.normal(size=(4, 500)) + np.array([0, 0, 0, 3.0])[:, None]
    bad = diagnostics_table(_tree(shifted, diverging=7))
    assert not bad.loc[bad.check == "r_hat", "ok"].item()
    assert bad.loc[bad.check == "divergences", "value"].item() == 7
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert warn_if_unconverged(bad, "BG/NBD") is False
    # one warning per failed check, each a short first line and wrapped detail (issue 15)
    texts = {str(w.message).splitlines()[0]: " ".join(str(w.message).split()) for w in caught}
    assert all(issubclass(w.category, ConvergenceWarning) for w in caught) and len(texts) == len(caught)
    r_hat = texts.pop("The BG/NBD posterior may not be reliable: R-hat (want <= 1.01).")
    assert re.search(r"r_hat of r is \S+: the chains disagree", r_hat)
    divergences = texts.pop("The BG/NBD posterior may not be reliable: divergent transitions (want == 0).")
    assert "divergences of all is 7: " in divergences and "target_accept" in divergences
    assert all("r_hat" not in t and "divergences" not in t for t in texts.values())  # the others: ESS, if any
    assert all(len(line) <= 94 for w in caught for line in str(w.message).splitlines())
    cli = [w.message.cli_message for w in caught if "R-hat" in str(w.message)][0]
    assert "--tune" in cli and "--draws" in cli


# --------------------------------------------------------------------------- arguments
def test_prior_overrides_as_tuple_distribution_or_callable():
    import pymc as pm

    spec = MODELS[0].spec
    priors = {"r": ("Gamma", {"alpha": 2.0, "beta": 4.0}), "a": pm.Beta.dist(alpha=2.0, beta=2.0),
              "b": lambda name: pm.LogNormal(name, mu=pm.Normal(f"{name}_mu", 0.0, 1.0), sigma=1.0)}
    draws = bayes.prior_draws(spec, 4000, priors=priors, random_seed=0)
    assert draws["r"].mean() == pytest.approx(0.5, rel=0.05)  # Gamma(2, rate 4) has mean 1/2
    assert draws["a"].max() < 1.0 and draws["a"].mean() == pytest.approx(0.5, rel=0.05)
    model = bayes.build_pymc_model(spec, {}, np.zeros(0), priors=priors, likelihood=False)
    assert "b_mu" in model.named_vars  # the callable's hyperprior is part of the model
    text = bayes.describe_priors(spec, priors)
    assert text["r"] == "Gamma(alpha=2.0, beta=4.0)" and "Beta" in text["a"] and text["b"].startswith("callable")


def test_prior_errors_name_the_parameter_and_the_fix():
    spec = MODELS[0].spec
    with pytest.raises(ValueError, match="unknown parameters of BG/NBD: 'rho'"):
        bayes.resolve_priors(spec, {"rho": ("Gamma", {})})
    with pytest.raises(ValueError, match="'Gama', which is not a PyMC distribution"):
        bayes.resolve_priors(spec, {"r": ("Gama", {"alpha": 1.0})})
    with pytest.raises(ValueError, match=r"prior of 'alpha' \(Normal\(mu=0.0, sigma=1.0\)\) puts mass outside the parameter's support \(alpha > 0\)"):
        bayes.prior_draws(spec, 100, priors={"alpha": ("Normal", {"mu": 0.0, "sigma": 1.0})}, random_seed=0)


def test_sample_argument_errors():
    s = cdnow_summary_copy()
    with pytest.raises(ValueError, match="'sampler' parameter must be one of 'pymc', 'nutpie', 'numpyro'. Got 'stan'"):
        clv.BetaGeo().sample(s, sampler="stan")
    with pytest.raises(ValueError, match="'method' parameter must be one of 'nuts', 'advi', 'pathfinder'. Got 'vi'"):
        clv.BetaGeo().sample(s, method="vi")
    with pytest.raises(ValueError, match="'draws' parameter must be a whole number >= 1. Got 0"):
        clv.BetaGeo().sample(s, draws=0)
    import importlib.util

    if importlib.util.find_spec("numpyro") is None:
        with pytest.raises(ImportError, match="pip install numpyro jax"):
            clv.BetaGeo().sample(s, sampler="numpyro", draws=10, tune=10)


def test_not_sampled_model_has_no_posterior_and_diagnostics_say_so():
    bg = _point(MODELS[0])
    assert bg.posterior_ is None
    with pytest.raises(ValueError, match="holds no posterior; call sample"):
        bg.diagnostics()


def test_fit_after_a_posterior_returns_to_point_predictions():
    case = MODELS[1]
    model = _degenerate(case)
    data, _ = case.data()
    model.fit(data)
    assert model.posterior_ is None
    assert isinstance(model.expected_spend(data), pd.Series)


def test_pointwise_loglik_is_per_customer_and_sums_to_the_total():
    case = MODELS[0]
    model = _degenerate(case, n_chain=1, n_draw=3)
    arrays, _ = case.arrays()
    from clvmodels.data.compress import compress

    unique, counts, inverse = compress(arrays)
    index = cdnow_summary_copy().index
    ll = bayes.pointwise_loglik(model.fit_, unique, inverse, index,
                                chunk_bytes=64)
    assert ll.dims == ("chain", "draw", "customer") and ll.sizes["customer"] == len(index)
    total = float(np.sum(case.spec.loglik(backend.numpy, **case.params, **arrays)))
    assert float(ll[0, 0].sum()) == pytest.approx(total, rel=1e-12)
    assert (ll["customer"].values == index.to_numpy()).all()


def test_every_registered_model_gets_the_bayesian_calls_from_the_shared_base():
    """No model writes its own sampling code: sample/diagnostics come from CLVModel."""
    from clvmodels.estimators import CLVModel

    for case in MODELS:
        assert case.model.sample is CLVModel.sample and case.model.diagnostics is CLVModel.diagnostics


def test_loglik_size_guard_keeps_small_and_drops_huge():
    assert bayes.loglik_bytes(4000, 2357) <= bayes.LOGLIK_MAX_BYTES
    assert bayes.loglik_bytes(4000, 1_000_000) > bayes.LOGLIK_MAX_BYTES


def test_no_warnings_leak_from_degenerate_predictions():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _degenerate(MODELS[0]).expected_purchases(cdnow_summary_copy(), t=39.0)


def test_posterior_clv_blocks_do_not_change_the_result():
    """CLV from one-customer blocks equals CLV from one block, and the summaries match the draws."""
    case_bg, case_gg = MODELS[0], MODELS[1]
    rng = np.random.default_rng(5)
    models = []
    for case in (case_bg, case_gg):
        theta = {k: v * np.exp(rng.normal(0, 0.05, size=(2, 30))) for k, v in case.params.items()}
        tree = xr.DataTree.from_dict({"posterior": xr.Dataset({k: (("chain", "draw"), v) for k, v in theta.items()})})
        m = case.model()
        m = type(m).from_fit(Posterior(m.spec, tree, unit="W"))
        models.append(m)
    s = cdnow_summary_copy().head(400)
    kw = dict(horizon=6, unit="M", discount_rate=0.01)
    small = value.lifetime_value(*models, s, chunk_bytes=1, **kw)
    big = value.lifetime_value(*models, s, **kw)
    pd.testing.assert_frame_equal(small, big)
    draws = value.lifetime_value(*models, s, return_draws=True, **kw)
    np.testing.assert_allclose(big["mean"].to_numpy(), draws.values.reshape(60, -1).mean(axis=0), rtol=1e-12)
    totals = value.customer_equity(*models, s, return_draws=True, chunk_bytes=1, **kw)
    np.testing.assert_allclose(totals.values.reshape(-1), draws.values.reshape(60, -1).sum(axis=1), rtol=1e-12)
