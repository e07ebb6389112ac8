"""BG/BB P(alive at opportunity n + m | x, t_x, n), against direct integration, simulation and lifetimes.

The reference integrates the model's definition, not its closed form: with p ~ Beta(alpha, beta)
and theta ~ Beta(gamma, delta) independent, each term of the likelihood (alive through n, or
died after opportunity t_x + i) and the numerator E[p^x (1-p)^(n-x) (1-theta)^(n+m)] is a
product of two one-dimensional integrals, evaluated by mpmath quadrature at 30 digits.
"""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels.models import bgbb

PARAMS = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}  # FHS (2010), donations
HISTORIES = [(0, 0, 6), (1, 1, 6), (3, 4, 6), (6, 6, 6), (2, 7, 11)]


def _beta_integral(f, a, b):
    """E[f(u)] for u ~ Beta(a, b), by quadrature of the density."""
    norm = mpmath.beta(a, b)
    return mpmath.quad(lambda u: f(u) * u ** (a - 1) * (1 - u) ** (b - 1), [0, 0.5, 1]) / norm


def reference_alive(x, tx, n, m, alpha, beta, gamma, delta):
    mpmath.mp.dps = 30
    a, b, g, d = (mpmath.mpf(v) for v in (alpha, beta, gamma, delta))
    alive_through = _beta_integral(lambda p: p ** x * (1 - p) ** (n - x), a, b) * \
        _beta_integral(lambda th: (1 - th) ** n, g, d)
    # died at the start of opportunity t_x + i + 1 (alive for the first t_x + i), i = 0 .. n - t_x - 1
    died = sum(
        _beta_integral(lambda p: p ** x * (1 - p) ** (tx - x + i), a, b)
        * _beta_integral(lambda th: th * (1 - th) ** (tx + i), g, d)
        for i in range(n - tx)
    )
    numerator = _beta_integral(lambda p: p ** x * (1 - p) ** (n - x), a, b) * \
        _beta_integral(lambda th: (1 - th) ** (n + m), g, d)
    return float(numerator / (alive_through + died))


@pytest.mark.parametrize("m", [0, 1, 2, 5, 20])
def test_alive_ahead_equals_direct_integration(m):
    frame = pd.DataFrame(HISTORIES, columns=["frequency", "recency", "n_periods"])
    got = clv.BetaGeoBetaBinom.from_params(PARAMS).probability_alive(frame, periods_ahead=m)
    expected = [reference_alive(x, tx, n, m, **PARAMS) for x, tx, n in HISTORIES]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-10)


def test_alive_ahead_matches_simulated_customers():
    # simulate the process for n + m opportunities with the latent death time; among customers
    # with a given observed history over the first n, the share alive at n + m
    rng = np.random.default_rng(7)
    size, n, m = 400_000, 6, 3
    p = rng.beta(PARAMS["alpha"], PARAMS["beta"], size)
    theta = rng.beta(PARAMS["gamma"], PARAMS["delta"], size)
    periods_alive = rng.geometric(theta) - 1  # opportunities survived before dying at the next start
    buys = (np.arange(1, n + 1)[None, :] <= periods_alive[:, None]) & (rng.random((size, n)) < p[:, None])
    x = buys.sum(axis=1)
    tx = np.where(buys.any(axis=1), n - np.argmax(buys[:, ::-1], axis=1), 0)
    alive_later = periods_alive >= n + m
    model = clv.BetaGeoBetaBinom.from_params(PARAMS)
    for hx, htx in [(0, 0), (1, 2), (3, 5), (6, 6)]:
        group = (x == hx) & (tx == htx)
        share, k = alive_later[group].mean(), group.sum()
        assert k > 2000
        frame = pd.DataFrame({"frequency": [hx], "recency": [htx], "n_periods": [n]})
        expected = float(model.probability_alive(frame, periods_ahead=m).iloc[0])
        assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / k), (hx, htx, share, expected, k)


def test_alive_ahead_properties():
    frame = pd.DataFrame(HISTORIES, columns=["frequency", "recency", "n_periods"])
    model = clv.BetaGeoBetaBinom.from_params(PARAMS)
    default = model.probability_alive(frame)
    pd.testing.assert_series_equal(default, model.probability_alive(frame, periods_ahead=1))
    curves = np.array([model.probability_alive(frame, periods_ahead=m).to_numpy() for m in range(30)])
    assert np.all(np.diff(curves, axis=0) < 0)  # each further opportunity is another chance to die
    # m = 0: alive through the n observed; for x = n (bought every time) that is certain
    assert float(curves[0, 3]) == pytest.approx(1.0, abs=1e-12)


def test_alive_ahead_same_as_lifetimes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lifetimes = pytest.importorskip("lifetimes")
    ref = lifetimes.BetaGeoBetaBinomFitter()
    ref.params_ = pd.Series(PARAMS)
    x, tx, n = (np.array(v, dtype=float) for v in zip(*HISTORIES))
    frame = pd.DataFrame({"frequency": x, "recency": tx, "n_periods": n})
    for m in (1, 4, 10):
        with np.errstate(all="ignore"):
            expected = ref.conditional_probability_alive(m, x, tx, n)
        got = clv.BetaGeoBetaBinom.from_params(PARAMS).probability_alive(frame, periods_ahead=m)
        np.testing.assert_allclose(got.to_numpy(), np.asarray(expected, dtype=float), rtol=1e-8)


def test_periods_ahead_must_be_a_whole_number_of_opportunities():
    frame = pd.DataFrame({"frequency": [1], "recency": [1], "n_periods": [6]})
    with pytest.raises(ValueError, match="periods_ahead"):
        clv.BetaGeoBetaBinom.from_params(PARAMS).probability_alive(frame, periods_ahead=1.5)
    with pytest.raises(ValueError, match="periods_ahead"):
        clv.BetaGeoBetaBinom.from_params(PARAMS).probability_alive(frame, periods_ahead=-1)


def test_likelihood_first_term_is_the_alive_term_at_zero_ahead():
    # the one definition: the likelihood's "alive through n" term is the numerator at m = 0
    from clvmodels import backend

    x, tx, n = 3.0, 4.0, 6.0
    alive0 = bgbb.probability_alive(backend.numpy, **PARAMS, frequency=x, recency=tx, n_periods=n, periods_ahead=0.0)
    assert float(alive0) == pytest.approx(reference_alive(3, 4, 6, 0, **PARAMS), rel=1e-10)
