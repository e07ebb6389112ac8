"""Checks every registered model must pass (``MODELS`` in ``tests/conftest.py``).

Sources of truth: finite differences of the NumPy log-likelihood (gradient, covariance),
simulation from the model's own generative process (parameter recovery), the expanded data
(weights), the scikit-learn estimator conventions (fitted state, ``NotFittedError``) and the
JSON file written by ``save``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels import backend
from clvmodels.errors import ModelFileError, NotFittedError
from clvmodels.inference.mle import loglik_and_grad

from conftest import MODELS, cases, frame_hash

_FITS: dict[str, object] = {}


def fitted(case):
    """The model fitted on its reference data, once per session."""
    if case.id not in _FITS:
        frame, weights = case.data()
        _FITS[case.id] = case.model().fit(frame, weights=weights)
    return _FITS[case.id]


def fd_hessian(f, x, h) -> np.ndarray:
    """Hessian of scalar ``f`` at ``x`` by central second differences with steps ``h``."""
    k = len(x)
    h = np.broadcast_to(np.asarray(h, dtype=float), (k,))
    steps = np.eye(k) * h
    f0 = f(x)
    hess = np.empty((k, k))
    for i in range(k):
        hess[i, i] = (f(x + steps[i]) - 2 * f0 + f(x - steps[i])) / h[i] ** 2
        for j in range(i + 1, k):
            hess[i, j] = hess[j, i] = (
                f(x + steps[i] + steps[j]) - f(x + steps[i] - steps[j])
                - f(x - steps[i] + steps[j]) + f(x - steps[i] - steps[j])
            ) / (4 * h[i] * h[j])
    return hess


def numpy_total(spec, params, arrays, weights) -> float:
    with np.errstate(all="ignore"):
        return float(np.sum(weights * spec.loglik(backend.numpy, **params, **arrays)))


# --------------------------------------------------------------------------- likelihood
@pytest.mark.parametrize("case", cases("finite_loglik"))
def test_loglik_is_finite_at_reference_params(case):
    frame, weights = case.data()
    ll = case.model.from_params(case.params).log_likelihood(frame)
    assert ll.index.equals(frame.index)
    assert np.all(np.isfinite(ll.to_numpy()))
    assert np.isfinite(ll.sum())


@pytest.mark.parametrize("case", cases("gradient"))
def test_gradient_matches_central_differences_of_numpy_loglik(case):
    spec = case.spec
    arrays, weights = case.arrays()
    # away from the optimum, where the gradient is large compared with its rounding noise
    theta0 = np.array([spec.param(k).to_unconstrained(v) for k, v in case.params.items()])
    theta = theta0 + 0.1 * np.where(np.arange(len(theta0)) % 2 == 0, 1.0, -1.0)

    def f(th):
        params = {p.name: float(p.from_unconstrained(th[i])) for i, p in enumerate(spec.params)}
        return numpy_total(spec, params, arrays, weights)

    _, grad = loglik_and_grad(spec, theta, arrays, weights)
    h = 1e-5
    fd = np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in np.eye(len(theta))])
    assert np.max(np.abs(grad)) > 1.0  # the check is not trivially about zeros
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6 * np.max(np.abs(fd)))


# --------------------------------------------------------------------------- fitting
@pytest.mark.parametrize("case", cases("recovery"))
def test_fit_on_simulated_data_recovers_true_params(case):
    rng = np.random.default_rng(20240501)
    truth = case.params
    data = case.spec.simulate(rng, case.n_simulate, **truth, **case.simulate_design)
    frame = pd.DataFrame(data)
    model = case.model().fit(frame)
    assert model.converged_ is True
    for name, true in truth.items():
        est, se = model.params_[name], model.se_[name]
        assert 0 < se < 0.5 * true, f"{name}: the simulated design carries little information (se {se:.3g})"
        assert abs(est - true) < case.recovery_z * se, f"{name}: estimate {est:.4g}, truth {true:.4g}, se {se:.3g}"


@pytest.mark.parametrize("case", cases("weights"))
def test_collapsed_rows_with_weights_give_the_fit_of_the_expanded_rows(case):
    names = list(case.spec.data_names)
    frame, weights = case.data()
    if weights is None:  # one row per customer: collapse identical rows ourselves
        expanded = frame[names]
        collapsed = expanded.groupby(names, sort=False).size().rename("n").reset_index()
        counts = collapsed.pop("n").to_numpy(dtype=float)
    else:  # an aggregated table: expand it to one row per customer
        collapsed, counts = frame[names], weights
        expanded = frame[names].loc[frame.index.repeat(weights.astype(int))].reset_index(drop=True)
    assert len(collapsed) < len(expanded)
    a = case.model().fit(expanded)
    b = case.model().fit(collapsed, weights=counts)
    for name in case.spec.param_names:
        assert b.params_[name] == pytest.approx(a.params_[name], rel=1e-6)
    assert b.loglik_ == pytest.approx(a.loglik_, rel=1e-10)
    assert b.n_customers_ == pytest.approx(a.n_customers_)
    np.testing.assert_allclose(b.cov_.to_numpy(), a.cov_.to_numpy(), rtol=1e-4)


@pytest.mark.parametrize("case", cases("covariance"))
def test_covariance_is_symmetric_and_the_inverse_finite_difference_hessian(case):
    model = fitted(case)
    spec = case.spec
    cov = model.cov_
    assert cov.index.tolist() == cov.columns.tolist() == list(spec.param_names)
    c = cov.to_numpy()
    np.testing.assert_array_equal(c, c.T)
    assert np.all(np.linalg.eigvalsh(c) > 0)
    np.testing.assert_allclose(np.sqrt(np.diag(c)), [model.se_[k] for k in spec.param_names], rtol=1e-12)

    # Independent of mle.py's Hessian: second differences of the NumPy loglik's values.
    arrays, weights = case.arrays()
    names = spec.param_names
    est = np.array([model.params_[k] for k in names])

    def natural(v):
        return numpy_total(spec, dict(zip(names, v)), arrays, weights)

    def unconstrained(eta):
        return natural([float(p.from_unconstrained(eta[i])) for i, p in enumerate(spec.params)])

    eta = np.array([float(spec.param(k).to_unconstrained(v)) for k, v in zip(names, est)])
    jac = np.array([float(p.jacobian(v)) for p, v in zip(spec.params, est)])  # d value / d eta
    # delta method: Sigma = J H_eta^{-1} J with H_eta the Hessian on the unconstrained scale
    delta = jac[:, None] * np.linalg.inv(-fd_hessian(unconstrained, eta, 1e-4)) * jac[None, :]
    # and, since the gradient vanishes at the maximum, the inverse Hessian on the natural scale
    direct = np.linalg.inv(-fd_hessian(natural, est, 1e-4 * est))
    for reference in (delta, direct):
        scale = np.sqrt(np.outer(np.diag(reference), np.diag(reference)))
        np.testing.assert_array_less(np.abs(c - reference) / scale, 2e-4)  # observed <= 4e-5


@pytest.mark.parametrize("case", cases("from_params"))
def test_from_params_predicts_without_fitting(case):
    frame, _ = case.data()
    model = case.model.from_params(case.params)
    assert dict(model.params_) == pytest.approx(case.params, rel=0)
    assert model.loglik_ is None and model.se_ is None and model.cov_ is None
    assert case.model.from_params(**case.params).params_.equals(model.params_)
    for method, kwargs in case.predictions().items():
        out = getattr(model, method)(frame, **kwargs)
        assert np.all(np.isfinite(out.to_numpy())), method
    # the model is the fitted model's equal when given the fitted values
    fit = fitted(case)
    same = case.model.from_params(fit.params_)
    for method, kwargs in case.predictions().items():
        pd.testing.assert_series_equal(getattr(same, method)(frame, **kwargs), getattr(fit, method)(frame, **kwargs))


# --------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("case", cases("json_roundtrip"))
def test_json_save_load_round_trips_exactly(case, tmp_path):
    frame, _ = case.data()
    model = fitted(case)
    path = model.save(tmp_path / f"{case.id}.json")
    for loaded in (case.model.load(path), clv.load_model(path)):
        assert type(loaded) is case.model
        assert loaded.params_.equals(model.params_)  # exact, no rounding
        assert loaded.se_ == model.se_
        pd.testing.assert_frame_equal(loaded.cov_, model.cov_, check_exact=True)
        assert loaded.loglik_ == model.loglik_
        assert loaded.converged_ == model.converged_
        assert loaded.n_customers_ == model.n_customers_
        assert loaded.unit_ == model.unit_
        assert loaded.data_fingerprint_ == model.data_fingerprint_ is not None
        for method, kwargs in case.predictions().items():
            pd.testing.assert_series_equal(getattr(loaded, method)(frame, **kwargs), getattr(model, method)(frame, **kwargs),
                                           check_exact=True)
    # plain JSON, no code
    payload = json.loads(path.read_text())
    assert payload["model"] == case.spec.name and payload["format"] == "clvmodels.point_estimate"


@pytest.mark.parametrize("case", cases("json_roundtrip"))
def test_loading_another_model_or_format_raises_model_file_error(case, tmp_path):
    other = next((m for m in MODELS if m.model is not case.model), None)
    if other is not None:
        path = other.model.from_params(other.params).save(tmp_path / "other.json")
        with pytest.raises(ModelFileError, match=rf"holds a '{other.spec.name}' model, not '{case.spec.name}'"):
            case.model.load(path)
    payload = case.model.from_params(case.params).to_dict()
    bad_version = tmp_path / "v999.json"
    bad_version.write_text(json.dumps({**payload, "format_version": 999}))
    with pytest.raises(ModelFileError, match=r"format version 999"):
        case.model.load(bad_version)
    with pytest.raises(ModelFileError, match=r"format version 999"):
        clv.load_model(bad_version)
    bad_format = tmp_path / "posterior.json"
    bad_format.write_text(json.dumps({**payload, "format": "something.else"}))
    with pytest.raises(ModelFileError, match=r"Not a clvmodels point-estimate file"):
        case.model.load(bad_format)
    not_json = tmp_path / "model.pkl"
    not_json.write_bytes(b"\x80\x04\x95 not json")
    with pytest.raises(ModelFileError):
        case.model.load(not_json)
    with pytest.raises(ModelFileError):
        clv.load_model(not_json)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({**payload, "model": "no_such_model"}))
    with pytest.raises(ModelFileError, match=r"unknown model 'no_such_model'"):
        clv.load_model(unknown)


# --------------------------------------------------------------------------- estimator contract
NOT_FITTED = r"^This {name} instance is not fitted yet\. Call 'fit' with appropriate arguments.* before using this estimator\.$"


@pytest.mark.parametrize("case", cases("not_fitted"))
def test_unfitted_model_raises_not_fitted_error_with_sklearn_wording(case):
    frame, _ = case.data()
    model = case.model()
    pattern = NOT_FITTED.format(name=case.model.__name__)
    with pytest.raises(NotFittedError, match=pattern):
        model.params_
    with pytest.raises(NotFittedError, match=pattern):
        model.log_likelihood(frame)
    with pytest.raises(NotFittedError, match=pattern):
        model.summary()
    with pytest.raises(NotFittedError, match=pattern):
        model.save("never-written.json")
    for method, kwargs in case.predictions().items():
        with pytest.raises(NotFittedError, match=pattern):
            getattr(model, method)(frame, **kwargs)
    # like scikit-learn's, it is both a ValueError and an AttributeError
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert not hasattr(model, "params_")
    assert repr(model) == f"{case.model.__name__}()"


@pytest.mark.parametrize("case", cases("not_fitted"))
def test_fit_returns_self_and_sets_trailing_underscore_state(case):
    frame, weights = case.data()
    model = case.model()
    assert model.fit(frame, weights=weights) is model
    for attr in ("params_", "se_", "cov_", "loglik_", "converged_", "n_customers_", "data_fingerprint_"):
        assert getattr(model, attr) is not None, attr
    assert list(model.params_.index) == list(case.spec.param_names)


@pytest.mark.parametrize("case", cases("indexed_outputs"))
def test_per_customer_outputs_are_indexed_by_customer_id(case):
    frame, _ = case.data()
    model = case.model.from_params(case.params)
    rng = np.random.default_rng(7)
    shuffled = frame.iloc[rng.permutation(len(frame))[:200]].copy()
    original_ids = shuffled.index
    shuffled.index = pd.Index([f"cust-{i}" for i in original_ids], name="customer")
    for method, kwargs in case.predictions().items():
        full = getattr(model, method)(frame, **kwargs)
        assert isinstance(full, pd.Series) and full.index.equals(frame.index), method
        part = getattr(model, method)(shuffled, **kwargs)
        assert part.index.equals(shuffled.index), method
        # each customer's value travels with the customer, not with the row position
        np.testing.assert_array_equal(part.to_numpy(), full.loc[original_ids].to_numpy())
    ll = model.log_likelihood(shuffled)
    assert ll.index.equals(shuffled.index)


@pytest.mark.parametrize("case", cases("inputs_unchanged"))
def test_fit_predictions_and_loglik_leave_the_callers_frame_unchanged(case):
    frame, weights = case.data()
    frame.attrs["marker"] = "caller's"
    before = frame_hash(frame)
    model = case.model().fit(frame, weights=weights)
    model.log_likelihood(frame)
    model.summary()
    for method, kwargs in case.predictions().items():
        getattr(model, method)(frame, **kwargs)
    assert frame_hash(frame) == before
