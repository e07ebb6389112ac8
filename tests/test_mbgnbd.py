"""MBG/NBD: BTYDplus CDNOW estimates, lifetimes at fixed parameters, pmf/expectation consistency."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from conftest import cdnow_summary_copy
from reference_values import MBGNBD_BTYDPLUS, printed_rtol, value

PUB = MBGNBD_BTYDPLUS.values()


def test_mbgnbd_params_match_BTYDplus():
    m = clv.ModifiedBetaGeo().fit(cdnow_summary_copy())
    for name, printed in MBGNBD_BTYDPLUS.params.items():
        assert m.params_[name] == pytest.approx(value(printed), rel=printed_rtol(printed)), name
    assert m.loglik_ == pytest.approx(value(MBGNBD_BTYDPLUS.loglik), rel=printed_rtol(MBGNBD_BTYDPLUS.loglik))
    assert m.converged_ and all(np.isfinite(list(m.se_.values())))


def test_mbgnbd_predictions_match_lifetimes_at_fixed_params():
    lifetimes = pytest.importorskip("lifetimes")
    lf = lifetimes.ModifiedBetaGeoFitter()
    lf.params_ = pd.Series(PUB)
    s = cdnow_summary_copy()
    x, tx, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    ours = clv.ModifiedBetaGeo.from_params(PUB)
    np.testing.assert_allclose(ours.probability_alive(s), lf.conditional_probability_alive(x, tx, T), rtol=1e-6)
    np.testing.assert_allclose(ours.expected_purchases(s, t=39),
                               lf.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T), rtol=1e-6)
    np.testing.assert_allclose(ours.expected_purchases_new_customer([13.0, 39.0]),
                               lf.expected_number_of_purchases_up_to_time(np.array([13.0, 39.0])), rtol=1e-6)


def test_mbgnbd_pmf_mean_equals_expected_purchases_new_customer():
    m = clv.ModifiedBetaGeo.from_params(PUB)
    n = np.arange(3000)
    pmf = m.probability_of_purchases(n, t=39.0).to_numpy()
    assert pmf.sum() == pytest.approx(1.0, rel=1e-10)
    assert (n * pmf).sum() == pytest.approx(m.expected_purchases_new_customer(39.0), rel=1e-8)


def test_mbgnbd_new_customer_expectation_matches_simulation():
    from clvmodels.models import mbgnbd

    d = mbgnbd.simulate(np.random.default_rng(5), 200_000, **PUB, T=39.0)
    se = d["frequency"].std() / np.sqrt(200_000)
    assert abs(clv.ModifiedBetaGeo.from_params(PUB).expected_purchases_new_customer(39.0) - d["frequency"].mean()) < 4 * se
