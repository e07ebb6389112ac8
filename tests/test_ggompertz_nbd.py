"""GGompertz/NBD (Bemmaor & Glady 2012) against its paper, its Pareto/NBD limit and its definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

import clvmodels as clv
from clvmodels import backend
from clvmodels.data.compress import compress
from clvmodels.inference import mle
from clvmodels.models import ggompertz_nbd as gg
from clvmodels.models import pareto_nbd

from reference_values import GGOMNBD_BG2012, PARETO_NBD_FHL2005

PUBLISHED = GGOMNBD_BG2012.values()


@pytest.fixture(scope="module")
def cdnow_rows():
    s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
                        calibration_end="1997-09-30")
    return compress({k: s[k].to_numpy(float) for k in ("frequency", "recency", "T")})[:2]


def test_cdnow_bemmaor_glady_2012_table_2(cdnow_rows):
    # The likelihood is flat along b -> 0 (the Pareto/NBD limit: it still rises by 0.0013 there),
    # so the paper's optimum is reproduced with b held at its published 0.0002.
    unique, counts = cdnow_rows
    with pytest.warns(clv.ConvergenceWarning, match="do not identify b and beta"):
        free = mle.fit_mle(gg.SPEC, unique, counts, init=PUBLISHED)
    held = mle.fit_mle(gg.SPEC, unique, counts, init=PUBLISHED, lower={"b": 0.0002})
    assert held.converged
    for k in ("r", "alpha", "s"):
        assert held.params[k] == pytest.approx(PUBLISHED[k], rel=2e-3), k  # printed precision (REFERENCE.md rule)
    assert held.loglik == pytest.approx(float(GGOMNBD_BG2012.loglik), abs=0.005)
    # the supremum is the Pareto/NBD optimum's -9594.976 (shared/REFERENCE.md)
    assert free.loglik == pytest.approx(-9594.976, abs=1e-3) and free.loglik >= held.loglik
    # published beta 0.0026 vs 0.00232 here: along the ridge only beta / b is pinned down, near
    # Pareto/NBD's published beta (the b -> 0 limit)
    assert held.params["beta"] / held.params["b"] == pytest.approx(PARETO_NBD_FHL2005.values()["beta"], rel=0.01)


def test_b_to_zero_is_the_pareto_nbd():
    rows = {"frequency": np.array([0.0, 2.0, 9.0]), "recency": np.array([0.0, 30.43, 35.0]), "T": np.array([38.0, 38.86, 39.0])}
    p = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    b = 1e-8
    limit = {"r": p["r"], "alpha": p["alpha"], "b": b, "s": p["s"], "beta": p["beta"] * b}
    np.testing.assert_allclose(gg.loglik(backend.numpy, **limit, **rows), pareto_nbd.loglik(backend.numpy, **p, **rows),
                               rtol=1e-7)
    np.testing.assert_allclose(gg.probability_alive(backend.numpy, **limit, **rows),
                               pareto_nbd.probability_alive(backend.numpy, **p, **rows), rtol=1e-7)
    np.testing.assert_allclose(gg.expected_purchases(backend.numpy, **limit, **rows, t=39.0),
                               pareto_nbd.expected_purchases(backend.numpy, **p, **rows, t=39.0), rtol=1e-6)
    np.testing.assert_allclose(gg.expected_purchases_new_customer(backend.numpy, **limit, t=np.array([13.0, 52.0])),
                               pareto_nbd.expected_purchases_new_customer(backend.numpy, **p, t=np.array([13.0, 52.0])),
                               rtol=1e-6)


@pytest.mark.parametrize("x, tx, T", [(0, 0.0, 52.0), (3, 10.0, 52.0), (25, 50.0, 52.0), (1, 5.0, 5.5)])
def test_quadrature_equals_adaptive_integration(x, tx, T):
    r, alpha, b, s, beta = 0.8, 2.0, 0.05, 0.7, 0.4

    def survival(t):
        return (beta / (beta + np.expm1(b * t))) ** s

    def density(t):
        return b * s * beta ** s * np.exp(b * t) / (beta + np.expm1(b * t)) ** (s + 1)

    dead, _ = integrate.quad(lambda tau: density(tau) * (alpha + tau) ** -(r + x), tx, T, epsabs=0, epsrel=1e-13)
    alive = survival(T) * (alpha + T) ** -(r + x)
    from scipy.special import gammaln
    expected = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + np.log(alive + dead)
    assert float(gg.loglik(backend.numpy, r, alpha, b, s, beta, frequency=x, recency=tx, T=T)) == pytest.approx(expected, rel=1e-11)
    cet_integral, _ = integrate.quad(lambda u: survival(T + u) / survival(T), 0, 26.0, epsrel=1e-13)
    cet = alive / (alive + dead) * (r + x) / (alpha + T) * cet_integral
    assert float(gg.expected_purchases(backend.numpy, r, alpha, b, s, beta, frequency=x, recency=tx, T=T, t=26.0)) == \
        pytest.approx(cet, rel=1e-10)


def test_the_pytensor_likelihood_is_the_numpy_one():
    import pytensor.tensor as pt

    rows = {"frequency": np.array([0.0, 3.0, 25.0]), "recency": np.array([0.0, 10.0, 50.0]), "T": np.array([52.0, 52.0, 52.0])}
    theta = (0.8, 2.0, 0.05, 0.7, 0.4)
    sym = gg.loglik(backend.pytensor, *(pt.as_tensor_variable(v) for v in theta),
                    **{k: pt.as_tensor_variable(v) for k, v in rows.items()}).eval(mode="FAST_COMPILE")
    # (PyTensor and SciPy round the special functions differently in the last digits: ~1e-9 of the total)
    np.testing.assert_allclose(sym, gg.loglik(backend.numpy, *theta, **rows), rtol=1e-8)


def test_parameters_are_recovered_where_b_is_identified():
    truth = {"r": 0.8, "alpha": 2.0, "b": 0.05, "s": 0.7, "beta": 0.4}
    d = gg.simulate(np.random.default_rng(11), 20_000, *truth.values(), T=np.random.default_rng(2).uniform(20, 104, 20_000))
    m = clv.GGompertzNBD().fit(pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T")}))
    assert m.converged_
    for k, v in truth.items():
        assert abs(m.params_[k] - v) < 3 * m.se_[k], k
    # P(alive) is calibrated against the simulated latent state
    assert m.probability_alive(pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T")})).mean() == \
        pytest.approx(d["alive"].mean(), abs=0.01)
