"""Every prediction at t = 0 returns its limit (issue 10, section 2b).

At a zero horizon nothing can have happened yet: no purchases are expected, P(X(0) = 0) = 1 and
P(X(0) = n) = 0 for n >= 1 (for a new customer and given any history), and the sBG survival is
1 (nobody has churned before the first renewal). As printed, the BG/NBD and MBG/NBD pmf has
0 x log 0 = NaN there. Every model of the registry, through the public API, on its reference
data (whose histories include x = 0 and heavy buyers).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import MODELS
from clvmodels.estimators import TransactionModel

PURCHASE_MODELS = [c for c in MODELS if issubclass(c.model, TransactionModel)]


@pytest.fixture(params=PURCHASE_MODELS, ids=lambda c: c.id)
def fitted(request):
    case = request.param
    model = case.model.from_params(case.params)
    frame, _ = case.data()
    return model, frame.head(200)


def test_expected_purchases_at_t_zero_are_zero(fitted):
    model, frame = fitted
    got = np.asarray(model.expected_purchases(frame, t=0), dtype=float)
    assert got.shape == (len(frame),)
    assert np.all(got == 0.0) and not np.any(np.signbit(got))


def test_expected_purchases_new_customer_at_t_zero_is_zero(fitted):
    model, _ = fitted
    assert float(model.expected_purchases_new_customer(0)) == 0.0


def _offers(fitted, prediction):
    if prediction not in fitted[0].spec.predictions:
        pytest.skip(f"{fitted[0].spec.title} has no {prediction} (no closed form)")


@pytest.mark.parametrize("n,want", [(0, 1.0), (1, 0.0), (5, 0.0)])
def test_probability_of_purchases_at_t_zero(fitted, n, want):
    _offers(fitted, "probability_of_purchases")
    model, _ = fitted
    # abs 1e-15: P(X(0) = 0) sums two beta ratios, e.g. MBG/NBD's b/(a+b) + a/(a+b), to 1 within an ulp
    assert float(model.probability_of_purchases(n, t=0)) == pytest.approx(want, abs=1e-15)


@pytest.mark.parametrize("n,want", [(0, 1.0), (1, 0.0), (5, 0.0)])
def test_conditional_probability_of_purchases_at_t_zero(fitted, n, want):
    _offers(fitted, "conditional_probability_of_purchases")
    model, frame = fitted
    got = np.asarray(model.conditional_probability_of_purchases(frame, n, t=0), dtype=float)
    assert got.shape == (len(frame),)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)


def test_issue_reproduction_bgnbd_and_mbgnbd():
    import clvmodels as clv

    for cls, params in ((clv.BetaGeo, dict(r=0.243, alpha=4.414, a=0.793, b=2.426)),
                        (clv.ModifiedBetaGeo, dict(r=0.525, alpha=6.183, a=0.891, b=1.614))):
        m = cls.from_params(**params)
        assert float(m.probability_of_purchases(0, t=0)) == pytest.approx(1.0, abs=1e-15)
        assert float(m.probability_of_purchases(3, t=0)) == 0.0


def test_sbg_survival_at_zero_is_one_and_churn_zero():
    import clvmodels as clv

    m = clv.ShiftedBetaGeo.from_params(alpha=0.704, beta=1.182)
    assert float(np.asarray(m.survival(0)).ravel()[0]) == 1.0
    assert float(np.asarray(m.churn_probability(0)).ravel()[0]) == 0.0
