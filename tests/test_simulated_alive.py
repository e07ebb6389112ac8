"""The simulators' latent alive flag: over many simulated customers, the share alive at the end
of observation equals the model's own P(alive) given each customer's simulated history, averaged
(the posterior probability is calibrated when the data come from the model), overall and within
groups of customers the models treat very differently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels.models import bgbb, bgnbd, mbgnbd, pareto_nbd

N = 40_000

CASES = {
    "bgnbd": (clv.BetaGeo, bgnbd.simulate, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
              {"T": np.linspace(27.0, 39.0, N)}, {}),
    "mbgnbd": (clv.ModifiedBetaGeo, mbgnbd.simulate, {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
               {"T": np.linspace(27.0, 39.0, N)}, {}),
    "pareto_nbd": (clv.ParetoNBD, pareto_nbd.simulate, {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
                   {"T": np.linspace(27.0, 39.0, N)}, {}),
    "bgbb": (clv.BetaGeoBetaBinom, bgbb.simulate, {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783},
             {"n_periods": 6}, {"periods_ahead": 0}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_share_alive_equals_mean_probability_alive(name):
    model_class, simulate, params, design, kwargs = CASES[name]
    sim = pd.DataFrame(simulate(np.random.default_rng(7), N, **params, **design))
    alive = sim.pop("alive").to_numpy()
    assert set(np.unique(alive)) == {0.0, 1.0}
    p = model_class.from_params(params).probability_alive(sim, **kwargs).to_numpy()
    # overall, and among one-time buyers / repeat buyers separately: the flag's mean within 4 sd
    for group in (np.ones(N, bool), sim["frequency"].to_numpy() == 0, sim["frequency"].to_numpy() > 0):
        n = int(group.sum())
        sd = np.sqrt(np.mean(p[group] * (1 - p[group])) / n)
        assert abs(alive[group].mean() - p[group].mean()) < 4 * sd + 1e-12, (name, n, alive[group].mean(),
                                                                               p[group].mean())


def test_bgnbd_alive_flag_is_one_for_customers_who_never_bought_again():
    # BG/NBD customers drop out only right after a purchase: no repeat purchase, still alive
    sim = bgnbd.simulate(np.random.default_rng(3), 5000, 0.243, 4.414, 0.793, 2.426, T=39.0)
    assert np.all(sim["alive"][sim["frequency"] == 0] == 1.0)
    assert 0 < sim["alive"][sim["frequency"] > 0].mean() < 1


def test_the_flag_does_not_change_the_simulated_histories():
    # same seed, same draws: the flag is read from the process, not drawn on top of it
    a = bgnbd.simulate(np.random.default_rng(5), 1000, 0.243, 4.414, 0.793, 2.426, T=39.0)
    b, (who, _) = bgnbd.simulate(np.random.default_rng(5), 1000, 0.243, 4.414, 0.793, 2.426, T=39.0,
                                 return_times=True)
    for k in ("frequency", "recency", "T", "alive"):
        np.testing.assert_array_equal(a[k], b[k])
    assert len(who) == a["frequency"].sum()
