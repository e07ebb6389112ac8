"""Pareto/NBD with correlated purchase and dropout rates (Sarmanov, CLVTools' use.cor).

Checked against the model's definition: the likelihood and P(alive) as double integrals over
(lambda, mu) of the individual-level Pareto/NBD under the Sarmanov density, by quadrature;
with omega = 0 against the independent model exactly; and recovery of omega from data
simulated by rejection sampling from the Sarmanov density.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import clvmodels as clv
from clvmodels import backend
from clvmodels.models import pareto_nbd
from clvmodels.models.correlation import OMEGA, correlation, omega_bounds, with_correlation

SPEC = with_correlation(pareto_nbd.SPEC)
PARAMS = {"r": 1.0, "alpha": 1.5, "s": 1.0, "beta": 2.0}
ROWS = {"frequency": np.array([0.0, 2.0, 7.0]), "recency": np.array([0.0, 3.1, 9.5]), "T": np.array([4.0, 6.0, 10.0])}


def _sarmanov(lam, mu, r, alpha, s, beta, omega):
    la, lb = (alpha / (alpha + 1)) ** r, (beta / (beta + 1)) ** s
    g = stats.gamma.pdf(lam, r, scale=1 / alpha) * stats.gamma.pdf(mu, s, scale=1 / beta)
    return g * (1 + omega * (np.exp(-lam) - la) * (np.exp(-mu) - lb))


def _individual(lam, mu, x, tx, T):
    # the Pareto/NBD likelihood of one customer at known rates: alive at T, or died in (t_x, T]
    alive = lam ** x * np.exp(-(lam + mu) * T)
    dead = lam ** x * mu / (lam + mu) * (np.exp(-(lam + mu) * tx) - np.exp(-(lam + mu) * T))
    return alive, dead


# composite Gauss-Legendre on [0, 20] (16 nodes in each of 80 panels); beyond 20 the
# integrands are below e^-40 of their mass
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(16)
_EDGES = np.linspace(0.0, 20.0, 81)
_MID, _HALF = (_EDGES[1:] + _EDGES[:-1]) / 2, np.diff(_EDGES) / 2
_X = (_MID[:, None] + _HALF[:, None] * _NODES).ravel()
_W = (_HALF[:, None] * _WEIGHTS).ravel()


def _quad(fn):
    lam, mu = np.meshgrid(_X, _X, indexing="ij")
    return float(_W @ fn(mu, lam) @ _W)


@pytest.mark.parametrize("omega", [-2.0, 0.0, 2.5])
def test_likelihood_and_p_alive_equal_the_double_integral(omega):
    ll = SPEC.loglik(backend.numpy, **PARAMS, omega=omega, **ROWS)
    p_alive = SPEC.predictions["probability_alive"].fn(backend.numpy, **PARAMS, omega=omega, **ROWS)
    for i in range(3):
        x, tx, T = (ROWS[k][i] for k in ("frequency", "recency", "T"))
        total = _quad(lambda mu, lam: sum(_individual(lam, mu, x, tx, T)) * _sarmanov(lam, mu, **PARAMS, omega=omega))
        alive = _quad(lambda mu, lam: _individual(lam, mu, x, tx, T)[0] * _sarmanov(lam, mu, **PARAMS, omega=omega))
        # the gamma normalisers of the NBD part (Gamma(r+x)/Gamma(r) alpha^r) are inside the integral here
        assert ll[i] == pytest.approx(np.log(total), abs=1e-8)
        assert p_alive[i] == pytest.approx(alive / total, rel=1e-8)


def test_omega_zero_is_the_independent_model_exactly():
    assert np.array_equal(SPEC.loglik(backend.numpy, **PARAMS, omega=0.0, **ROWS),
                          pareto_nbd.loglik(backend.numpy, **PARAMS, **ROWS))
    args = {"expected_purchases": {"t": 5.0}, "conditional_probability_of_purchases": {"n": np.arange(3.0)[:, None], "t": 5.0},
            "discounted_expected_transactions": {"discount_rate": 0.01}, "probability_of_purchases": {"n": 2.0, "t": 5.0},
            "expected_purchases_new_customer": {"t": 5.0}, "probability_alive": {}}
    assert set(args) == set(SPEC.predictions)
    for name, pred in SPEC.predictions.items():
        data = ROWS if pred.scope == "customer" else {}
        ours = pred.fn(backend.numpy, **PARAMS, omega=0.0, **data, **args[name])
        plain = pareto_nbd.SPEC.predictions[name].fn(backend.numpy, **PARAMS, **data, **args[name])
        np.testing.assert_allclose(ours, plain, rtol=1e-13, err_msg=name)


def test_the_bounds_are_where_the_mixing_density_turns_negative():
    lo, hi = omega_bounds(backend.numpy, **PARAMS)
    lam = mu = np.concatenate([[0.0], np.geomspace(1e-6, 60, 400)])
    grid = np.meshgrid(lam, mu)
    la, lb = (PARAMS["alpha"] / (PARAMS["alpha"] + 1)) ** PARAMS["r"], (PARAMS["beta"] / (PARAMS["beta"] + 1)) ** PARAMS["s"]
    prod = (np.exp(-grid[0]) - la) * (np.exp(-grid[1]) - lb)
    for omega in (lo, hi):
        assert (1 + omega * prod).min() > -1e-9
        assert (1 + 1.05 * omega * prod).min() < 0
    assert np.isneginf(SPEC.loglik(backend.numpy, **PARAMS, omega=1.05 * hi, **ROWS)).all()


def _simulate(n, omega, T, seed):
    # rejection sampling from the Sarmanov density: (lambda, mu) from the independent gammas,
    # kept with probability (1 + omega phi1 phi2) / max of it
    rng = np.random.default_rng(seed)
    la, lb = (PARAMS["alpha"] / (PARAMS["alpha"] + 1)) ** PARAMS["r"], (PARAMS["beta"] / (PARAMS["beta"] + 1)) ** PARAMS["s"]
    bound = 1 + abs(omega) * max(la * lb, (1 - la) * (1 - lb), la * (1 - lb), (1 - la) * lb)
    lam, mu = np.empty(0), np.empty(0)
    while lam.size < n:
        l_ = rng.gamma(PARAMS["r"], 1 / PARAMS["alpha"], 2 * n)
        m_ = rng.gamma(PARAMS["s"], 1 / PARAMS["beta"], 2 * n)
        keep = rng.uniform(0, bound, 2 * n) < 1 + omega * (np.exp(-l_) - la) * (np.exp(-m_) - lb)
        lam, mu = np.concatenate([lam, l_[keep]]), np.concatenate([mu, m_[keep]])
    lam, mu = lam[:n], mu[:n]
    end = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * end).astype(float)
    tx = np.where(x > 0, end * rng.beta(np.maximum(x, 1), 1.0), 0.0)
    return {"frequency": x, "recency": tx, "T": np.full(n, T)}, np.corrcoef(lam, mu)[0, 1]


@pytest.mark.slow
def test_omega_is_recovered_from_simulated_customers():
    import pandas as pd

    data, sample_cor = _simulate(20_000, 2.5, 10.0, seed=3)
    s = pd.DataFrame(data)
    m = clv.ParetoNBD(correlation=True).fit(s)
    assert m.converged_
    assert abs(m.params_[OMEGA] - 2.5) < 3 * m.se_[OMEGA]
    true_cor = float(correlation(backend.numpy, **PARAMS, omega=2.5))
    assert sample_cor == pytest.approx(true_cor, abs=0.02)  # the simulation draws what the formula says
    assert abs(m.rate_correlation() - true_cor) < 0.05


def test_a_correlated_model_round_trips_through_json(tmp_path):
    m = clv.ParetoNBD.from_params(**PARAMS, omega=1.5, unit="W")
    back = clv.load_model(m.save(tmp_path / "m.json"))
    assert back.spec.key == "pareto_nbd+correlation"
    s = __import__("pandas").DataFrame(ROWS)
    np.testing.assert_array_equal(back.probability_alive(s).to_numpy(), m.probability_alive(s).to_numpy())
    assert back.rate_correlation() == m.rate_correlation()


def test_correlation_is_refused_where_there_are_no_two_gamma_rates():
    with pytest.raises(ValueError, match="no two gamma-mixed rates"):
        clv.BetaGeo(correlation=True)
    with pytest.raises(ValueError, match="independent purchase and dropout rates"):
        clv.ParetoNBD.from_params(**PARAMS).rate_correlation()


def test_the_spark_payload_keeps_the_variant_and_the_covariates():
    import xarray as xr

    from clvmodels.fit import Posterior
    from clvmodels.spark.scoring import model_from_payload, model_payload

    m = clv.ParetoNBD.from_params({**PARAMS, "omega": 1.0, "purchase:z": 0.3}, covariates={"purchase": ["z"]})
    ds = xr.Dataset({k: (("chain", "draw"), np.full((1, 3), v)) for k, v in m.fit_.params.items()})
    post = clv.ParetoNBD.from_fit(Posterior(m.fit_.spec, xr.DataTree.from_dict({"posterior": ds})))
    for model in (m, post):
        assert model_from_payload(model_payload(model)).spec.key == "pareto_nbd+correlation[purchase=z]"
