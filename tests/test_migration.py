"""The claims of docs/pages/migration.md, checked against lifetimes 0.11.3: a lifetimes-style
notebook run both ways on CDNOW gives the same numbers, and each stated difference is real."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv

from reference_values import BGNBD_FHL2005, GAMMA_GAMMA_FH2013

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    lifetimes = pytest.importorskip("lifetimes")
    from lifetimes.utils import summary_data_from_transaction_data


def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def both_summaries(cdnow_transactions):
    theirs = quietly(summary_data_from_transaction_data, cdnow_transactions, "customer_id", "date",
                     monetary_value_col="amount", observation_period_end="1997-09-30", freq="D")
    ours = clv.rfm_summary(cdnow_transactions, "customer_id", "date", "amount", unit="D", calibration_end="1997-09-30")
    return ours, theirs


def test_a_lifetimes_notebook_gives_the_same_numbers_both_ways(both_summaries):
    ours, theirs = both_summaries
    # step 1: the summary (daily: purchase days, the first left out of the mean spend)
    theirs = theirs.loc[ours.index]
    for col in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[col].to_numpy(), theirs[col].to_numpy(), rtol=1e-12, err_msg=col)
    # step 2: BG/NBD by maximum likelihood
    bgf = quietly(lifetimes.BetaGeoFitter().fit, theirs["frequency"], theirs["recency"], theirs["T"])
    bg = clv.BetaGeo().fit(ours)
    for k in ("r", "alpha", "a", "b"):
        assert bg.params_[k] == pytest.approx(bgf.params_[k], rel=1e-4), k
    # params_ is a Series as in lifetimes: the notebook's bg.params_.round(4) works the same way
    assert isinstance(bg.params_, pd.Series) and bg.params_.name == "params"
    assert list(bg.params_.round(4).index) == list(bgf.params_.round(4).index)
    np.testing.assert_allclose(bg.params_.round(4).to_numpy(), bgf.params_.round(4).to_numpy(), atol=1e-4 + 1e-12)
    # step 3: predictions per customer, from each side's own fit
    np.testing.assert_allclose(
        bg.expected_purchases(ours, t=30).to_numpy(),
        quietly(bgf.conditional_expected_number_of_purchases_up_to_time, 30, theirs["frequency"], theirs["recency"],
                theirs["T"]).to_numpy(), rtol=1e-3)
    np.testing.assert_allclose(
        bg.probability_alive(ours).to_numpy(),
        quietly(bgf.conditional_probability_alive, theirs["frequency"], theirs["recency"], theirs["T"]), rtol=1e-3)
    # step 4: Gamma-Gamma on the repeat buyers, and the expected spend of everyone
    rb_ours, rb_theirs = ours[ours["frequency"] > 0], theirs[theirs["frequency"] > 0]
    ggf = quietly(lifetimes.GammaGammaFitter().fit, rb_theirs["frequency"], rb_theirs["monetary_value"])
    gg = clv.GammaGamma().fit(rb_ours)
    for k, theirs_k in (("p", "p"), ("q", "q"), ("gamma", "v")):
        assert gg.params_[k] == pytest.approx(ggf.params_[theirs_k], rel=1e-4), k
    np.testing.assert_allclose(
        gg.expected_spend(ours).to_numpy(),
        quietly(ggf.conditional_expected_average_profit, theirs["frequency"], theirs["monetary_value"]).to_numpy(),
        rtol=1e-4)
    # step 5: CLV. lifetimes' "12 months" on daily data are 12 periods of 30 days, each discounted
    # once; without discounting the period length does not matter, so the 360-day values agree
    clv_theirs = quietly(ggf.customer_lifetime_value, bgf, theirs["frequency"], theirs["recency"], theirs["T"],
                         theirs["monetary_value"], time=12, discount_rate=0.0, freq="D")
    clv_ours = clv.lifetime_value(clv.BetaGeo.from_params(dict(bgf.params_), unit="D"),
                                  clv.GammaGamma.from_params(p=ggf.params_["p"], q=ggf.params_["q"], gamma=ggf.params_["v"]),
                                  ours, horizon=360, unit="D", discount_rate=0.0)
    np.testing.assert_allclose(clv_ours.to_numpy(), clv_theirs.to_numpy(), rtol=1e-6)


def test_the_lifetimes_quick_start_clv_on_weekly_data_is_a_360_week_horizon(cdnow_summary):
    # the quick start fits BG/NBD on the weekly CDNOW summary and calls
    # customer_lifetime_value(bgf, ..., time=12, discount_rate=0.01) with the default freq="D":
    # its "month" is then 30 units of the data, i.e. 30 weeks
    params = BGNBD_FHL2005.values(precise=True)
    gg_params = GAMMA_GAMMA_FH2013.values()
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = pd.Series(params)[["r", "alpha", "a", "b"]]
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # what lifetimes' fit sets
    ggf = lifetimes.GammaGammaFitter()
    ggf.params_ = pd.Series({"p": gg_params["p"], "q": gg_params["q"], "v": gg_params["gamma"]})
    s = cdnow_summary
    args = (bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"])
    quick_start = quietly(ggf.customer_lifetime_value, *args, time=12, discount_rate=0.0)
    bg, gg = clv.BetaGeo.from_params(params, unit="W"), clv.GammaGamma.from_params(gg_params)
    np.testing.assert_allclose(quick_start.to_numpy(),
                               clv.lifetime_value(bg, gg, s, horizon=360, unit="W", discount_rate=0.0).to_numpy(),
                               rtol=1e-6)
    # with freq="W" lifetimes' month is 4.345 weeks: 12 of them are 52.14 weeks
    weekly = quietly(ggf.customer_lifetime_value, *args, time=12, discount_rate=0.0, freq="W")
    expected = bg.expected_purchases(s, t=12 * 4.345) * gg.expected_spend(s)
    np.testing.assert_allclose(weekly.to_numpy(), expected.to_numpy(), rtol=1e-6)


def test_lifetimes_pareto_nbd_gives_zero_probability_of_no_purchase_in_no_time():
    ref = lifetimes.ParetoNBDFitter()
    ref.params_ = pd.Series({"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67})
    assert quietly(ref.conditional_probability_of_n_purchases_up_to_time, 0, 0.0, 2, 30.0, 38.0) == 0
    ours = clv.ParetoNBD.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67, unit="W")
    history = pd.DataFrame({"frequency": [2.0], "recency": [30.0], "T": [38.0]})
    assert float(np.asarray(ours.conditional_probability_of_purchases(history, 0, 0.0)).ravel()[0]) == 1.0


def test_lifetimes_weekly_summary_counts_whole_calendar_weeks():
    # three Wednesday purchases; observation end on a Sunday, 74 days after the first purchase
    tx = pd.DataFrame({"id": [1, 1, 1], "date": pd.to_datetime(["1997-01-01", "1997-01-15", "1997-03-12"])})
    theirs = quietly(summary_data_from_transaction_data, tx, "id", "date", freq="W", observation_period_end="1997-03-16")
    ours = clv.rfm_summary(tx, "id", "date", unit="W", calibration_end="1997-03-16")
    # lifetimes: dates moved to the Monday starting their week; T from week to week
    assert theirs.loc[1, ["frequency", "recency", "T"]].tolist() == [2.0, 10.0, 10.0]
    assert ours.loc[1, ["frequency", "recency", "T"]].tolist() == pytest.approx([2.0, 70 / 7, 74 / 7])


def test_the_migration_page_example_runs(monkeypatch, tmp_path):
    import re
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    page = Path(__file__).resolve().parents[1] / "docs" / "pages" / "migration.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": "__docs_example__"}
    exec(compile(blocks[0], "migration.md", "exec"), ns)  # noqa: S102 - our own documentation
    assert ns["path"]["p_alive"].between(0, 1).all() and len(ns["path"]) == 53
    ns["plotting"].close(ns["ax"])
