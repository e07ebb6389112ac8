"""The one log-likelihood definition gives the same numbers through PyTensor as through NumPy.

This is the basis of the maximum-likelihood gradients and of the PyMC models: both compile the
model's ``loglik(xp, ...)`` with the PyTensor namespace.
"""

from __future__ import annotations

import numpy as np
import pytest

from clvmodels import backend
from clvmodels.inference.mle import loglik_and_grad

from conftest import MODELS, cases


def compile_loglik(spec, arrays):
    """PyTensor function (params..., data...) -> per-customer loglik, built from ``spec.loglik``."""
    import pytensor
    import pytensor.tensor as pt

    params = {name: pt.dscalar(name) for name in spec.param_names}
    data = {k: pt.tensor(k, dtype="float64", shape=(None,) * np.ndim(v)) for k, v in arrays.items()}
    out = spec.loglik(backend.pytensor, **params, **data)
    return pytensor.function([*params.values(), *data.values()], out)


@pytest.mark.parametrize("case", cases("pytensor_backend"))
def test_pytensor_loglik_equals_numpy_loglik_at_reference_params(case):
    spec = case.spec
    arrays, _ = case.arrays()
    fn = compile_loglik(spec, arrays)
    via_pytensor = np.asarray(fn(*case.params.values(), *arrays.values()))
    with np.errstate(all="ignore"):
        via_numpy = np.asarray(spec.loglik(backend.numpy, **case.params, **arrays))
    assert via_pytensor.shape == via_numpy.shape
    assert np.all(np.isfinite(via_numpy))
    np.testing.assert_allclose(via_pytensor, via_numpy, rtol=1e-10, atol=0)


@pytest.mark.parametrize("case", cases("pytensor_backend"))
def test_pytensor_loglik_equals_numpy_away_from_the_optimum(case):
    # parameters halved and doubled: the agreement must not depend on being near the data
    spec = case.spec
    arrays, _ = case.arrays()
    fn = compile_loglik(spec, arrays)
    for factor in (0.5, 2.0):
        params = {}
        for p in spec.params:
            v = case.params[p.name]
            params[p.name] = v * factor if p.support == "positive" else (v * factor if v * factor < 1 else v / factor)
        with np.errstate(all="ignore"):
            via_numpy = np.asarray(spec.loglik(backend.numpy, **params, **arrays))
        np.testing.assert_allclose(np.asarray(fn(*params.values(), *arrays.values())), via_numpy, rtol=1e-10, atol=0)


@pytest.mark.parametrize("case", cases("pytensor_backend"))
def test_mle_engine_total_equals_weighted_numpy_sum(case):
    spec = case.spec
    arrays, weights = case.arrays()
    theta = np.array([spec.param(k).to_unconstrained(v) for k, v in case.params.items()])
    total, _ = loglik_and_grad(spec, theta, arrays, weights)
    with np.errstate(all="ignore"):
        expected = float(np.sum(weights * spec.loglik(backend.numpy, **case.params, **arrays)))
    assert total == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("case", cases("pytensor_predictions"))
def test_pytensor_per_customer_predictions_equal_numpy(case):
    # the predictions are written once against xp too: the Bayesian engine may build them as graphs
    import pytensor
    import pytensor.tensor as pt

    spec = case.spec
    arrays, _ = case.arrays()
    params = {name: pt.dscalar(name) for name in spec.param_names}
    data = {k: pt.dvector(k) for k in arrays}
    for method, kwargs in case.predictions().items():
        fn = spec.predictions[method]
        if "pytensor" not in fn.backends:
            continue  # declared NumPy-only (a series summed to convergence): nothing to compare
        out = fn(backend.pytensor, **params, **data, **kwargs)
        compiled = pytensor.function([*params.values(), *data.values()], out, on_unused_input="ignore")
        via_pytensor = np.asarray(compiled(*case.params.values(), *arrays.values()))
        with np.errstate(all="ignore"):
            via_numpy = np.broadcast_to(fn(backend.numpy, **case.params, **arrays, **kwargs), via_pytensor.shape)
        assert np.all(np.isfinite(via_numpy)), method
        np.testing.assert_allclose(via_pytensor, via_numpy, rtol=1e-10, atol=0, err_msg=method)


# --------------------------------------------------------------------------- what the specs declare
_ARGUMENTS = {"t": 10.0, "n": 1.0, "discount_rate": 0.01, "renewals": 2.0}


def _declared(backend_name):
    for case in MODELS:
        for name, pred in case.spec.predictions.items():
            if backend_name in pred.backends:
                yield pytest.param(case, name, id=f"{case.id}-{name}")


@pytest.mark.parametrize("case, name", list(_declared("pytensor")))
def test_every_prediction_declared_for_pytensor_builds_there_and_equals_numpy(case, name):
    """The spec, not a test list, says where a prediction runs; the claim is checked for every one."""
    import inspect

    import pytensor
    import pytensor.tensor as pt

    pred = case.spec.predictions[name]
    arrays, _ = case.arrays()
    sig = inspect.signature(pred.fn).parameters
    kwargs = {k: v for k, v in _ARGUMENTS.items() if k in sig}
    data_names = [d for d in case.spec.data_names if d in sig]
    assert (pred.scope == "customer") == bool(data_names), f"{name} is declared {pred.scope}"
    params = {p: pt.dscalar(p) for p in case.spec.param_names}
    data = {k: pt.dvector(k) for k in data_names}
    out = pred(backend.pytensor, **params, **data, **{k: pt.constant(v) for k, v in kwargs.items()})
    compiled = pytensor.function([*params.values(), *data.values()], out, on_unused_input="ignore")
    got = np.asarray(compiled(*case.params.values(), *[arrays[k] for k in data_names]))
    with np.errstate(all="ignore"):
        want = np.asarray(pred(backend.numpy, **case.params, **{k: arrays[k] for k in data_names}, **kwargs))
    assert np.all(np.isfinite(want)), name
    np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), rtol=1e-6, atol=0, err_msg=name)


@pytest.mark.parametrize("name", ["pareto_nbd", "bgnbd"])
def test_the_compiled_likelihood_graph_has_a_disk_cache_key(name):
    """PyTensor's Numba backend caches a compiled graph across processes only when every Op in
    it has a cache key; the hardened hyp2f1 once had none, so every process JIT-compiled the
    Pareto/NBD likelihood afresh (16-50 s before the first fit)."""
    from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key

    from clvmodels.inference import mle
    from clvmodels.models.registry import get_spec

    fn = mle._compile(get_spec(name))[0]
    _, key = numba_funcify_and_cache_key(fn.maker.fgraph)
    assert key is not None


def test_hardened_hyp2f1_in_compiled_code_still_falls_back_beyond_scipy():
    """Large parameters leave SciPy's kernel for the hardened Python path (object mode) inside
    the compiled graph; the values must equal mpmath there and below."""
    import mpmath
    import pytensor
    import pytensor.tensor as pt

    a, b, c, z = (pt.dvector(n) for n in "abcz")
    f = pytensor.function([a, b, c, z], backend.pytensor.hyp2f1(a, b, c, z))
    big = 10 * backend._HYP2F1_SCIPY_MAX
    args = [np.array([1.5, big]), np.array([2.0, 1.0]), np.array([3.5, big + 2.0]), np.array([0.3, 0.4])]
    want = [float(mpmath.hyp2f1(*(float(x[i]) for x in args))) for i in range(2)]
    np.testing.assert_allclose(f(*args), want, rtol=1e-10)
