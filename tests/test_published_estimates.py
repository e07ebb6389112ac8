"""Maximum likelihood from the raw CDNOW log reproduces the published tables.

Sources: Fader, Hardie & Lee (2005) for BG/NBD, Fader & Hardie (2013) for Gamma-Gamma (see
``reference_values.py`` for citations). Tolerances follow the printed precision.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv

from reference_values import (
    BGNBD_FHL2005,
    BGNBD_INDIVIDUAL_FHL2005,
    CDNOW,
    GAMMA_GAMMA_FH2013,
    GAMMA_GAMMA_FIRST_TEN,
    printed_rtol,
    value,
)


@pytest.fixture(scope="module")
def bgnbd_fit(cdnow_summary):
    return clv.BetaGeo().fit(cdnow_summary)


@pytest.fixture(scope="module")
def gamma_gamma_fit(cdnow_summary):
    return clv.GammaGamma().fit(cdnow_summary[cdnow_summary["frequency"] > 0])


# --------------------------------------------------------------------------- BG/NBD, FHL 2005
def test_bgnbd_params_match_FHL2005_printed_estimates(bgnbd_fit):
    assert bgnbd_fit.converged_ is True
    for name, printed in BGNBD_FHL2005.params.items():
        assert bgnbd_fit.params_[name] == pytest.approx(value(printed), rel=printed_rtol(printed)), name


def test_bgnbd_params_match_FHL2005_high_precision_optimum(bgnbd_fit):
    # the published 7-digit optimum has a small residual gradient along the flat a/b ridge
    # (see BGNBD_FHL2005.note), hence 2e-5 rather than the 1e-7 of its printed digits
    for name, printed in BGNBD_FHL2005.params_precise.items():
        assert bgnbd_fit.params_[name] == pytest.approx(value(printed), rel=2e-5), name


def test_bgnbd_loglik_matches_FHL2005(bgnbd_fit):
    assert bgnbd_fit.loglik_ == pytest.approx(value(BGNBD_FHL2005.loglik), rel=printed_rtol(BGNBD_FHL2005.loglik))
    precise = BGNBD_FHL2005.loglik_precise
    assert bgnbd_fit.loglik_ == pytest.approx(value(precise), rel=printed_rtol(precise))


def test_bgnbd_fit_is_a_maximum_at_least_as_high_as_the_published_optimum(bgnbd_fit, cdnow_summary):
    at_published = clv.BetaGeo.from_params(BGNBD_FHL2005.values(precise=True)).log_likelihood(cdnow_summary).sum()
    assert bgnbd_fit.loglik_ >= at_published - 1e-9
    assert at_published == pytest.approx(value(BGNBD_FHL2005.loglik_precise), rel=printed_rtol(BGNBD_FHL2005.loglik_precise))


def test_bgnbd_fit_records_customers_unit_and_summary_table(bgnbd_fit):
    assert bgnbd_fit.n_customers_ == CDNOW["n_customers"]
    assert bgnbd_fit.unit_ == "W"
    table = bgnbd_fit.summary()
    assert table.index.tolist() == ["r", "alpha", "a", "b"]
    assert table.columns.tolist() == ["estimate", "se", "lower 95%", "upper 95%"]
    assert np.all(table["lower 95%"] < table["estimate"]) and np.all(table["estimate"] < table["upper 95%"])
    assert np.all(table["se"] > 0)


@pytest.mark.parametrize("source", ["published", "fitted"])
def test_bgnbd_individual_expectation_1_226_matches_FHL2005(source, bgnbd_fit):
    ref = BGNBD_INDIVIDUAL_FHL2005
    model = bgnbd_fit if source == "fitted" else clv.BetaGeo.from_params(BGNBD_FHL2005.values(precise=True))
    s = pd.DataFrame({"frequency": [ref["frequency"]], "recency": [ref["recency"]], "T": [ref["T"]]})
    got = model.expected_purchases(s, t=ref["t"]).iloc[0]
    assert got == pytest.approx(value(ref["expected_purchases"]), rel=printed_rtol(ref["expected_purchases"]))


# --------------------------------------------------------------------------- Gamma-Gamma, FH 2013
def test_gamma_gamma_params_match_fader_hardie_2013(gamma_gamma_fit):
    assert gamma_gamma_fit.converged_ is True
    assert gamma_gamma_fit.n_customers_ == CDNOW["n_repeat_buyers"]
    for name, printed in GAMMA_GAMMA_FH2013.params.items():
        assert gamma_gamma_fit.params_[name] == pytest.approx(value(printed), rel=printed_rtol(printed)), name


def test_gamma_gamma_loglik_matches_fader_hardie_2013(gamma_gamma_fit):
    printed = GAMMA_GAMMA_FH2013.loglik
    assert gamma_gamma_fit.loglik_ == pytest.approx(value(printed), rel=printed_rtol(printed))


def test_gamma_gamma_first_ten_conditional_spends_match_fader_hardie_2013(gamma_gamma_fit, cdnow_summary):
    ref = GAMMA_GAMMA_FIRST_TEN
    got = gamma_gamma_fit.expected_spend(cdnow_summary.loc[ref["customer_id"]])
    assert got.index.tolist() == ref["customer_id"]
    for cid, printed in zip(ref["customer_id"], ref["expected_spend"]):
        assert got.loc[cid] == pytest.approx(value(printed), rel=printed_rtol(printed)), cid


def test_gamma_gamma_population_mean_35_17_matches_fader_hardie_2013(gamma_gamma_fit, cdnow_summary):
    printed = GAMMA_GAMMA_FIRST_TEN["population_mean"]
    no_repeat = cdnow_summary[cdnow_summary["frequency"] == 0]
    got = gamma_gamma_fit.expected_spend(no_repeat)
    np.testing.assert_allclose(got.to_numpy(), value(printed), rtol=printed_rtol(printed))
