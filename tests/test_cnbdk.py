"""(M)BG/CNBD-k: k = 1 is BG/NBD / MBG/NBD exactly; P(alive) and expected purchases against simulation."""

import numpy as np
import pytest

from clvmodels import backend
from clvmodels.models import bgnbd, cnbdk, mbgnbd

XP = backend.numpy
HIST = {"frequency": np.array([0, 1, 2, 5, 0.0]), "recency": np.array([0, 3, 30.4, 20, 0.0]),
        "T": np.array([38.9, 38, 38.86, 39, 10.0])}
PARAMS = (0.5, 6.0, 0.9, 1.6)


@pytest.mark.parametrize("d, plain", [(False, bgnbd), (True, mbgnbd)])
def test_k1_is_bgnbd_and_mbgnbd(d, plain):
    spec = cnbdk.cnbd_spec(1, dropout_at_zero=d)
    litt = np.array([0, 1.1, 2.0, 3.0, 0.0])  # k = 1 ignores litt
    np.testing.assert_allclose(spec.loglik(XP, *PARAMS, **HIST, litt=litt), plain.loglik(XP, *PARAMS, **HIST),
                               rtol=1e-13)
    for name, extra in (("probability_alive", {}), ("expected_purchases", {"t": 39.0})):
        np.testing.assert_allclose(spec.predictions[name](XP, *PARAMS, **HIST, **extra),
                                   getattr(plain, name)(XP, *PARAMS, **HIST, **extra), rtol=1e-10)
    t = np.array([10.0, 39.0])
    np.testing.assert_allclose(spec.predictions["expected_purchases_new_customer"](XP, *PARAMS, t=t),
                               plain.expected_purchases_new_customer(XP, *PARAMS, t=t), rtol=1e-10)


@pytest.mark.parametrize("d", [False, True])
def test_k3_alive_and_expected_purchases_match_simulation(d):
    p, n = (0.85, 1.45, 0.79, 2.42), 60_000
    sim = cnbdk.simulate(np.random.default_rng(0), n, *p, T=np.full(n, 30.0), k=3, dropout_at_zero=d, horizon=20.0)
    spec = cnbdk.cnbd_spec(3, dropout_at_zero=d)
    hist = {key: sim[key] for key in ("frequency", "recency", "T")}
    alive = spec.predictions["probability_alive"](XP, *p, **hist)
    expected = spec.predictions["expected_purchases"](XP, *p, **hist, t=20.0)
    assert abs(alive.mean() - sim["alive"].mean()) < 4 * np.sqrt(0.25 / n)
    assert abs(expected.mean() - sim["future"].mean()) < 4 * sim["future"].std() / np.sqrt(n)
    new = spec.predictions["expected_purchases_new_customer"](XP, *p, t=30.0)
    assert abs(new - sim["frequency"].mean()) < 4 * sim["frequency"].std() / np.sqrt(n)
