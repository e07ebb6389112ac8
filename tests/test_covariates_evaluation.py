"""Holdout tracking of covariate models: each customer's expectation at her own covariates.

A covariate model's population-level prediction is that of a customer whose covariates are
all 0; the tracking curve must not use it for everyone. Checked against the plain model fitted
to each covariate group's parameters, group by group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels.evaluation import tracking

PLAIN = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def cdnow():
    tx = clv.datasets.load_cdnow()
    s = clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end="1997-09-30",
                        observation_end="1998-06-30")
    group = pd.DataFrame({"customer_id": s.index, "club": (np.arange(len(s)) % 3 == 0).astype(float)})
    return tx, clv.join_covariates(s, group, customer="customer_id")


def _tracking(model, s, tx):
    return tracking(model, s, tx, customer_col="customer_id", date_col="date")


def test_tracking_of_a_covariate_model_sums_its_groups(cdnow):
    tx, s = cdnow
    coef = {"purchase:club": 0.5, "dropout_a:club": -0.3, "dropout_b:club": 0.2}
    m = clv.BetaGeo.from_params({**PLAIN, **coef}, unit="W", covariates={"purchase": ["club"], "dropout": ["club"]})
    ours = _tracking(m, s, tx)
    parts = []
    for club in (0.0, 1.0):
        params = {"r": PLAIN["r"], "alpha": PLAIN["alpha"] * np.exp(-coef["purchase:club"] * club),
                  "a": PLAIN["a"] * np.exp(coef["dropout_a:club"] * club),
                  "b": PLAIN["b"] * np.exp(coef["dropout_b:club"] * club)}
        group = s[s["club"] == club]
        # the same time origin as the whole base: the group's T keeps the first customer's birth
        parts.append(_tracking(clv.BetaGeo.from_params(params, unit="W"), group, tx))
    assert all(p.index.equals(ours.index) for p in parts)
    np.testing.assert_allclose(ours["expected"], parts[0]["expected"] + parts[1]["expected"], rtol=1e-12)
    np.testing.assert_array_equal(ours["actual"], parts[0]["actual"] + parts[1]["actual"])


def test_tracking_with_zero_coefficients_is_the_plain_models(cdnow):
    tx, s = cdnow
    m = clv.BetaGeo.from_params({**PLAIN, "purchase:club": 0.0}, unit="W", covariates={"purchase": ["club"]})
    np.testing.assert_allclose(_tracking(m, s, tx)["expected"], _tracking(clv.BetaGeo.from_params(PLAIN, unit="W"), s, tx)["expected"],
                               rtol=1e-13)


def test_a_new_customers_prediction_takes_her_covariates():
    coef = {"purchase:club": 0.5}
    m = clv.BetaGeo.from_params({**PLAIN, **coef}, covariates={"purchase": ["club"]})
    plain = clv.BetaGeo.from_params(PLAIN)
    member = clv.BetaGeo.from_params({**PLAIN, "alpha": PLAIN["alpha"] * np.exp(-0.5)})
    assert m.expected_purchases_new_customer(39.0) == plain.expected_purchases_new_customer(39.0)
    assert m.expected_purchases_new_customer(39.0, covariates={"club": 1}) == pytest.approx(
        member.expected_purchases_new_customer(39.0), rel=1e-14)
    np.testing.assert_allclose(m.probability_of_purchases(range(4), 39.0, covariates={"club": 1}),
                               member.probability_of_purchases(range(4), 39.0), rtol=1e-13)
    with pytest.raises(ValueError, match="does not use"):
        m.expected_purchases_new_customer(39.0, covariates={"age": 3})
    with pytest.raises(ValueError, match="has no covariates"):
        plain.expected_purchases_new_customer(39.0, covariates={"club": 1})


def test_holdout_evaluations_take_the_covariates_along(cdnow):
    tx, s = cdnow
    from clvmodels.evaluation import conditional_expectations, holdout_errors, p_alive_calibration

    m = clv.BetaGeo.from_params({**PLAIN, "purchase:club": 0.0}, unit="W", covariates={"purchase": ["club"]})
    plain = clv.BetaGeo.from_params(PLAIN, unit="W")
    for fn in (holdout_errors, conditional_expectations, p_alive_calibration):
        pd.testing.assert_frame_equal(fn(m, s), fn(plain, s))
    moved = clv.BetaGeo.from_params({**PLAIN, "purchase:club": 0.7}, unit="W", covariates={"purchase": ["club"]})
    assert holdout_errors(moved, s).loc["all", "expected"] > holdout_errors(plain, s).loc["all", "expected"]
    with pytest.raises(clv.ClvDataError, match="join_covariates"):
        holdout_errors(m, s.drop(columns="club"))
