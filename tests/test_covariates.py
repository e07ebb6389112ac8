"""Time-invariant covariate models (issue 13, "Must show"): BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma.

Sources of truth:

- the plain model: with every covariate 0, or every coefficient 0, the covariate model is the
  plain model, so its log-likelihood and every prediction in its spec are the plain ones,
  bit for bit (the same computation path: ``theta * exp(0)`` is ``theta`` exactly);
- an independent computation: the plain model's log-likelihood evaluated customer by
  customer at parameters computed here by hand from the links of Fader & Hardie (2007), and
  for one Pareto/NBD customer the likelihood's defining integral in mpmath;
- simulation: data drawn from known coefficients (one binary, one continuous covariate;
  10,000 customers) are recovered within 3 standard errors (one replicate per model here;
  ``benchmarks/covariate_recovery.py`` runs the replicate study);
- the penalty's definition: ``covariate_penalizer`` shrinks only the coefficients, and more
  with a larger coefficient.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import clvmodels as clv
from clvmodels import backend
from clvmodels.errors import ClvDataError, ModelFileError
from clvmodels.fit import PointFit, Posterior
from clvmodels.inference import mle
from clvmodels.models import bgnbd, gamma_gamma, mbgnbd, pareto_nbd
from clvmodels.models.covariates import CovariateDesign, with_covariates

ROOT = Path(__file__).resolve().parents[1]


def _load_recovery():
    spec = importlib.util.spec_from_file_location("covariate_recovery", ROOT / "benchmarks" / "covariate_recovery.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("covariate_recovery", module)
    spec.loader.exec_module(module)
    return module


recovery = _load_recovery()
CASES = recovery.CASES
MODELS = tuple(CASES)
TRANSACTION_MODELS = tuple(m for m in MODELS if m != "gamma_gamma")

#: The arguments each prediction is called with. A prediction added to a spec without an entry
#: here fails the equality tests below, so that it cannot go untested.
CUSTOMER_ARGS = {
    "expected_purchases": {"t": 39.0},
    "probability_alive": {},
    "conditional_probability_of_purchases": {"n": 2, "t": 39.0},
    "discounted_expected_transactions": {"discount_rate": 0.01},
    "expected_spend": {},
}
POPULATION_ARGS = {
    "probability_of_purchases": {"n": [0, 1, 2, 5], "t": 39.0},
    "expected_purchases_new_customer": {"t": [0.5, 13.0, 39.0]},
}


def _baseline(name: str) -> dict[str, float]:
    case = CASES[name]
    return {k: case["truth"][k] for k in case["spec"].param_names}


def _coefficients(name: str, value=None) -> dict[str, float]:
    """The case's coefficients, or all of them set to ``value``."""
    truth = CASES[name]["truth"]
    base = set(CASES[name]["spec"].param_names)
    return {k: (v if value is None else value) for k, v in truth.items() if k not in base}


def _design(name: str) -> dict[str, list[str]]:
    return {k.replace("_covariates", ""): list(v) for k, v in CASES[name]["design"].items()}


def _summary(name: str, n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A summary from the covariate model's generative process (a mix of histories, covariates varied)."""
    frame = recovery.simulate(name, n, seed)
    if name != "gamma_gamma":
        # the spend columns, for lifetime_value (positive where there are repeat purchases)
        rng = np.random.default_rng(seed + 1)
        frame["monetary_value"] = np.where(frame["frequency"] > 0, rng.gamma(5.0, 8.0, n), 0.0)
    return frame


def _pair(name: str, coefs: dict[str, float]):
    """The plain model and the covariate model with the same baseline parameters."""
    cls = CASES[name]["estimator"]
    plain = cls.from_params(_baseline(name), unit="W")
    cov = cls.from_params({**_baseline(name), **coefs}, covariates=_design(name), unit="W")
    return plain, cov


def _predictions(model, data: pd.DataFrame) -> dict[str, object]:
    """Every prediction of the model's spec through the estimator API (customer- and population-level)."""
    out = {}
    for name, pred in model.spec.predictions.items():
        table = CUSTOMER_ARGS if pred.scope == "customer" else POPULATION_ARGS
        if name not in table:
            pytest.fail(f"The {pred.scope}-level prediction '{name}' of {model.spec.title} has no arguments in "
                        f"tests/test_covariates.py; add them so that its covariate version is checked.")
        method = getattr(model, name, None)
        assert method is not None, f"{type(model).__name__} has no method for its spec's prediction '{name}'"
        out[name] = method(data, **table[name]) if pred.scope == "customer" else method(**table[name])
    return out


def _assert_identical(a, b, what: str) -> None:
    if isinstance(a, (pd.Series, pd.DataFrame)):
        assert a.index.equals(b.index), what
        a, b = a.to_numpy(), b.to_numpy()
    assert np.array_equal(np.asarray(a), np.asarray(b)), f"{what}: max |diff| {np.max(np.abs(np.asarray(a) - b))}"


def _spend_pair(coefs: dict[str, float]):
    return _pair("gamma_gamma", coefs)


# --------------------------------------------------------------------------- 1. equal to the plain model
@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("case", ["covariates zero", "coefficients zero"])
def test_covariate_model_equals_plain_model_exactly(name, case):
    data = _summary(name)
    if case == "covariates zero":
        data[list(recovery.COVARIATES)] = 0.0
        plain, cov = _pair(name, _coefficients(name))  # coefficients non-zero: they multiply 0
    else:
        plain, cov = _pair(name, _coefficients(name, 0.0))
    assert set(cov.spec.predictions) == set(plain.spec.predictions)
    fit_rows = data[data["frequency"] > 0] if name == "gamma_gamma" else data
    _assert_identical(cov.log_likelihood(fit_rows), plain.log_likelihood(fit_rows), "log-likelihood")
    got, want = _predictions(cov, data), _predictions(plain, data)
    for pred in want:
        _assert_identical(got[pred], want[pred], pred)


@pytest.mark.parametrize("name", TRANSACTION_MODELS)
def test_lifetime_value_with_covariates_zero_equals_plain(name):
    data = _summary(name)
    data[list(recovery.COVARIATES)] = 0.0
    plain, cov = _pair(name, _coefficients(name))
    gg_plain, gg_cov = _spend_pair(_coefficients("gamma_gamma"))
    kwargs = dict(horizon=12, unit="M", discount_rate=0.01)
    want = clv.lifetime_value(plain, gg_plain, data, **kwargs)
    for tx, spend in ((cov, gg_plain), (plain, gg_cov), (cov, gg_cov)):
        _assert_identical(clv.lifetime_value(tx, spend, data, **kwargs), want, "lifetime_value")
    _assert_identical(clv.customer_equity(cov, gg_cov, data, **kwargs), clv.customer_equity(plain, gg_plain, data, **kwargs),
                      "customer_equity")


def _posterior(spec, draws: dict[str, np.ndarray]) -> Posterior:
    data = {k: (("chain", "draw"), v.reshape(1, -1)) for k, v in draws.items()}
    n = len(next(iter(draws.values())))
    tree = xr.DataTree.from_dict({"posterior": xr.Dataset(data, coords={"chain": [0], "draw": np.arange(n)})})
    return Posterior(spec, tree, unit="W")


@pytest.mark.parametrize("name", MODELS)
def test_posterior_predictions_with_coefficients_zero_equal_plain(name):
    # the same baseline draws; the coefficients' draws all 0: every mean, sd and HDI is the plain one
    rng = np.random.default_rng(4)
    cls, spec = CASES[name]["estimator"], CASES[name]["spec"]
    base = {k: v * np.exp(rng.normal(0, 0.05, 25)) for k, v in _baseline(name).items()}
    cov_spec = with_covariates(spec, _design(name))
    zeros = {k: np.zeros(25) for k in _coefficients(name)}
    plain = cls.from_fit(_posterior(spec, base))
    cov = cls.from_fit(_posterior(cov_spec, {**base, **zeros}))
    data = _summary(name, n=40)
    got, want = _predictions(cov, data), _predictions(plain, data)
    for pred in want:
        _assert_identical(got[pred], want[pred], pred)


# --------------------------------------------------------------------------- 2. independent log-likelihood
def _by_hand(name: str, values: dict[str, float], row: pd.Series) -> dict[str, float]:
    """One customer's plain parameters from the published links, written out per model."""
    v = values
    f, age = row["female"], row["age"]
    out = {k: v[k] for k in CASES[name]["spec"].param_names}
    if name in ("bgnbd", "mbgnbd"):
        out["alpha"] = v["alpha"] * np.exp(-(v["purchase:female"] * f + v["purchase:age"] * age))
        out["a"] = v["a"] * np.exp(v["dropout_a:female"] * f + v["dropout_a:age"] * age)
        out["b"] = v["b"] * np.exp(v["dropout_b:female"] * f + v["dropout_b:age"] * age)
    elif name == "pareto_nbd":
        out["alpha"] = v["alpha"] * np.exp(-(v["purchase:female"] * f + v["purchase:age"] * age))
        out["beta"] = v["beta"] * np.exp(-(v["dropout:female"] * f + v["dropout:age"] * age))
    else:
        out["gamma"] = v["gamma"] * np.exp(v["spend:female"] * f + v["spend:age"] * age)
    return out


@pytest.mark.parametrize("name", MODELS)
def test_covariate_loglik_equals_plain_loglik_at_each_customers_parameters(name):
    spec = CASES[name]["spec"]
    data = _summary(name, n=150, seed=7)
    if name == "gamma_gamma":
        data = data[data["frequency"] > 0]
    values = {**_baseline(name), **_coefficients(name)}
    cls = CASES[name]["estimator"]
    cov = cls.from_params(values, covariates=_design(name), unit="W")
    got = cov.log_likelihood(data)
    columns = spec.data_names
    want = np.array([float(spec.loglik(backend.numpy, **_by_hand(name, values, row), **{c: row[c] for c in columns}))
                     for _, row in data.iterrows()])
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-10, atol=0)
    # the compiled PyTensor graph the maximum-likelihood fit uses gives the same total
    theta = np.array([float(p.to_unconstrained(values[p.name])) for p in cov.spec.params])
    arrays = {c: data[c].to_numpy(float) for c in cov.spec.data_names}
    total, _ = mle.loglik_and_grad(cov.spec, theta, arrays, np.ones(len(data)))
    assert total == pytest.approx(want.sum(), rel=1e-10)


def test_shared_covariate_enters_both_processes_with_one_coefficient():
    # an equality constraint: "shared:female" is the purchase and the dropout coefficient at once
    data = _summary("pareto_nbd", n=80, seed=3)
    base = _baseline("pareto_nbd")
    shared = clv.ParetoNBD.from_params({**base, "shared:female": 0.4}, covariates={"shared": ["female"]})
    both = clv.ParetoNBD.from_params({**base, "purchase:female": 0.4, "dropout:female": 0.4},
                                     covariates={"purchase": ["female"], "dropout": ["female"]})
    np.testing.assert_allclose(shared.log_likelihood(data), both.log_likelihood(data), rtol=1e-14)


def test_pareto_nbd_covariate_loglik_matches_mpmath_for_one_customer():
    # the likelihood's defining integral at the customer's parameters, by quadrature (no hyp2f1)
    data = _summary("pareto_nbd", n=50, seed=11)
    row = data[(data["frequency"] > 2) & (data["female"] == 1)].iloc[0]
    values = {**_baseline("pareto_nbd"), **_coefficients("pareto_nbd")}
    ours = clv.ParetoNBD.from_params(values, covariates=_design("pareto_nbd")).log_likelihood(row.to_frame().T)
    with mp.workdps(30):
        f, age = mp.mpf(row["female"]), mp.mpf(row["age"])
        r, s = mp.mpf(values["r"]), mp.mpf(values["s"])
        alpha = values["alpha"] * mp.exp(-(values["purchase:female"] * f + values["purchase:age"] * age))
        beta = values["beta"] * mp.exp(-(values["dropout:female"] * f + values["dropout:age"] * age))
        x, tx, T = mp.mpf(row["frequency"]), mp.mpf(row["recency"]), mp.mpf(row["T"])
        alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
        dead = s * mp.quad(lambda u: (alpha + u) ** -(r + x) * (beta + u) ** -(s + 1), mp.linspace(tx, T, 40))
        want = mp.log(mp.gamma(r + x) / mp.gamma(r) * alpha ** r * beta ** s * (alive + dead))
    assert float(ours.iloc[0]) == pytest.approx(float(want), rel=1e-10)


# --------------------------------------------------------------------------- 3. recovery
@pytest.mark.parametrize("name", MODELS)
def test_mle_recovers_simulated_coefficients_within_3_se(name):
    # one replicate of benchmarks/covariate_recovery.py (10,000 customers); the script runs 40
    model, z = recovery.fit_once(name, 10_000, seed=1)
    assert model.converged_
    assert all(np.isfinite(v) for v in model.se_.values())
    far = {k: round(float(v), 2) for k, v in z.items() if abs(v) > 3}
    assert not far, f"{name}: estimates more than 3 SE from the truth: {far}"


def test_recovered_coefficient_has_the_sign_of_the_link():
    # a positive purchase coefficient means more purchases: females buy more in the simulation
    data = recovery.simulate("pareto_nbd", 10_000, seed=2)
    females, males = data[data["female"] == 1], data[data["female"] == 0]
    assert females["frequency"].mean() > 1.2 * males["frequency"].mean()  # exp(0.4) = 1.49 times the rate


# --------------------------------------------------------------------------- 4. estimator errors
def test_covariates_for_a_process_the_model_lacks_are_refused():
    with pytest.raises(ValueError, match="Gamma-Gamma has no purchase covariates: its covariates act on spend"):
        clv.GammaGamma(purchase_covariates=["female"])
    with pytest.raises(ValueError, match="BG/NBD has no spend covariates"):
        clv.BetaGeo(spend_covariates=["female"])
    with pytest.raises(ValueError, match="no purchase and dropout processes to share"):
        clv.GammaGamma(shared_covariates=["female"])


@pytest.mark.parametrize("name", MODELS)
def test_missing_covariate_column_is_named_with_the_fix(name):
    data = _summary(name, n=50)
    if name == "gamma_gamma":
        data = data[data["frequency"] > 0]
    model = CASES[name]["estimator"](**CASES[name]["design"])
    with pytest.raises(ClvDataError, match=r"covariate column 'age'.*clv\.join_covariates"):
        model.fit(data.drop(columns="age"))
    fitted = CASES[name]["estimator"].from_params({**_baseline(name), **_coefficients(name)}, covariates=_design(name))
    method = "expected_spend" if name == "gamma_gamma" else "probability_alive"
    with pytest.raises(ClvDataError, match=r"covariate columns 'female', 'age'.*join_covariates"):
        getattr(fitted, method)(data.drop(columns=["female", "age"]))


def test_a_covariate_named_like_a_summary_column_and_a_duplicate_are_refused():
    with pytest.raises(ValueError, match="'T' is a summary column BG/NBD reads, not a covariate"):
        clv.BetaGeo(purchase_covariates=["T"])
    with pytest.raises(ValueError, match="'age' more than once"):
        clv.BetaGeo(purchase_covariates=["age", "age"])
    with pytest.raises(ValueError, match="listed as a shared covariate and also for one process"):
        clv.BetaGeo(purchase_covariates=["age"], shared_covariates=["age"])
    # a covariate named like a parameter or a prediction argument would be read as that argument
    for name in ("t", "n", "alpha", "discount_rate"):
        with pytest.raises(ValueError, match=f"'{name}' is the name of a BG/NBD parameter or prediction argument"):
            clv.BetaGeo(purchase_covariates=[name])
    with pytest.raises(ValueError, match="'p' is the name of a Gamma-Gamma parameter"):
        clv.GammaGamma(spend_covariates=["p"])
    with pytest.raises(ValueError, match="'channel=web/app' is empty or contains '/'"):
        clv.BetaGeo(purchase_covariates=["channel=web/app"])  # a one-hot level "web/app"
    with pytest.raises(ValueError, match="covariate_prior_sigma must be > 0"):
        clv.BetaGeo(purchase_covariates=["age"], covariate_prior_sigma=0)


def test_non_finite_covariate_is_refused_naming_the_column_and_customer():
    data = _summary("bgnbd", n=50)
    data.loc[7, "age"] = np.nan
    with pytest.raises(ClvDataError, match=r"Column 'age'.*finite.*7"):
        clv.BetaGeo(purchase_covariates=["age"]).fit(data)


# --------------------------------------------------------------------------- 5. persistence
@pytest.mark.parametrize("name", MODELS)
def test_json_round_trip_keeps_design_and_predictions(name, tmp_path):
    data = _summary(name, n=60)
    cls = CASES[name]["estimator"]
    model = cls.from_params({**_baseline(name), **_coefficients(name)}, covariates=_design(name), unit="W")
    loaded = clv.load_model(model.save(tmp_path / "m.json"))
    assert type(loaded) is cls and loaded.covariates_ == model.covariates_
    assert loaded.spec.key == model.spec.key and loaded.params_.equals(model.params_)
    got, want = _predictions(loaded, data), _predictions(model, data)
    for pred in want:
        _assert_identical(got[pred], want[pred], pred)
    assert cls.load(tmp_path / "m.json").covariates_ == model.covariates_


def test_netcdf_posterior_round_trip_keeps_design_and_predictions(tmp_path):
    data = recovery.simulate("gamma_gamma", 300, seed=5)
    model = clv.GammaGamma(spend_covariates=["female", "age"]).sample(
        data, draws=30, tune=30, chains=1, random_seed=1, progressbar=False)
    loaded = clv.load_model(model.save(tmp_path / "gg.nc"))
    assert loaded.covariates_ == CovariateDesign(spend=("female", "age"))
    assert isinstance(loaded.fit_, Posterior)
    pd.testing.assert_frame_equal(loaded.expected_spend(data), model.expected_spend(data))
    pd.testing.assert_frame_equal(loaded.summary(), model.summary())


def test_loading_into_the_wrong_design_errors_clearly(tmp_path):
    values = {**_baseline("bgnbd"), **_coefficients("bgnbd")}
    path = clv.BetaGeo.from_params(values, covariates=_design("bgnbd")).save(tmp_path / "bg.json")
    # an estimator built for another design refuses the fit
    other = clv.BetaGeo(purchase_covariates=["age"])
    with pytest.raises(ValueError, match=r"is the model bgnbd\[purchase=age\]; the fit is of bgnbd\[purchase=female,age"):
        other._set_fit(clv.load_model(path).fit_)
    # a file whose design does not match its parameters names the difference
    payload = json.loads(Path(path).read_text())
    payload["covariates"] = {"purchase": ["female"]}
    Path(tmp_path / "edited.json").write_text(json.dumps(payload))
    with pytest.raises(ModelFileError, match=r"edited.json: field 'params' must hold exactly r, alpha, a, b, "
                                              r"purchase:female for BG/NBD"):
        clv.load_model(tmp_path / "edited.json")
    payload["covariates"] = {"spend": ["female"]}
    Path(tmp_path / "wrong.json").write_text(json.dumps(payload))
    with pytest.raises(ModelFileError, match=r"not a covariate design of BG/NBD \(BG/NBD has no spend covariates"):
        clv.load_model(tmp_path / "wrong.json")
    # and the wrong model class
    with pytest.raises(ModelFileError):
        clv.GammaGamma.load(path)


# --------------------------------------------------------------------------- 6. L2 penalty on the coefficients
PURCHASE_ONLY = {"purchase_covariates": ["female", "age"]}


@pytest.fixture(scope="module")
def purchase_data():
    # BG/NBD with covariates on the purchase rate only (the dropout coefficients 0)
    truth = {**CASES["bgnbd"]["truth"], **{k: 0.0 for k in _coefficients("bgnbd") if k.startswith("dropout")}}
    return recovery.simulate("bgnbd", 3_000, seed=8, truth=truth)


def test_covariate_penalizer_shrinks_coefficients_monotonically(purchase_data):
    names = ["purchase:female", "purchase:age"]
    sizes, fits = [], {}
    for c in (0.0, 0.01, 0.1, 1.0):
        fits[c] = m = clv.BetaGeo(**PURCHASE_ONLY).fit(purchase_data, covariate_penalizer=c)
        assert m.converged_
        sizes.append(np.abs(m.params_[names].to_numpy()))
        assert m.fit_info_.get("covariate_penalizer") == (c or None)
    sizes = np.array(sizes)
    assert np.all(np.diff(sizes, axis=0) < 0), sizes  # every coefficient, at every step
    assert np.all(sizes[-1] < 0.5 * sizes[0])
    # at the penalized optimum the gradient of the mean log-likelihood is 2 c gamma for the
    # coefficients and 0 for the baseline parameters: only the coefficients are penalized
    m = fits[0.1]
    theta = np.array([float(p.to_unconstrained(m.params_[p.name])) for p in m.spec.params])
    arrays = {c: purchase_data[c].to_numpy(float) for c in m.spec.data_names}
    _, grad = mle.loglik_and_grad(m.spec, theta, arrays, np.ones(len(purchase_data)))
    grad = grad / len(purchase_data)
    np.testing.assert_allclose(grad[4:], 2 * 0.1 * m.params_[names].to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(grad[:4], 0.0, atol=1e-8)


def test_covariate_penalizer_leaves_a_plain_model_unchanged():
    data = recovery.simulate("bgnbd", 1_000, seed=9)
    plain = clv.BetaGeo().fit(data)
    same = clv.BetaGeo().fit(data, covariate_penalizer=5.0)
    assert same.params_.equals(plain.params_) and same.loglik_ == plain.loglik_
    assert "covariate_penalizer" not in same.fit_info_
    with pytest.raises(ValueError, match="covariate_penalizer"):
        clv.BetaGeo().fit(data, covariate_penalizer=-1.0)


def test_per_parameter_penalty_is_the_uniform_penalty_when_all_are_named():
    # fit_mle's mapping form is the same objective: naming every parameter with c is penalizer=c
    spec = gamma_gamma.SPEC
    data = gamma_gamma.simulate(np.random.default_rng(0), 500, 6.0, 4.0, 15.0)
    w = np.ones(500)
    uniform = mle.fit_mle(spec, data, w, penalizer=0.05)
    mapped = mle.fit_mle(spec, data, w, penalizer={k: 0.05 for k in spec.param_names})
    np.testing.assert_allclose(list(mapped.params.values()), list(uniform.params.values()), rtol=1e-9)
    with pytest.raises(ValueError, match="no parameter 'delta' to penalize"):
        mle.fit_mle(spec, data, w, penalizer={"delta": 1.0})



def test_fit_and_predictions_with_covariates_leave_the_summary_unchanged():
    data = _summary("bgnbd", n=400, seed=12)
    before = pd.util.hash_pandas_object(data, index=True).to_numpy().copy(), list(data.columns), dict(data.attrs)
    m = clv.BetaGeo(purchase_covariates=["female", "age"]).fit(data)
    m.expected_purchases(data, t=10.0)
    gg = clv.GammaGamma.from_params({**_baseline("gamma_gamma"), **_coefficients("gamma_gamma")},
                                    covariates=_design("gamma_gamma"))
    clv.lifetime_value(m, gg, data, horizon=6, unit="M")
    after = pd.util.hash_pandas_object(data, index=True).to_numpy(), list(data.columns), dict(data.attrs)
    assert np.array_equal(before[0], after[0]) and before[1:] == after[1:]
