"""Holdout evaluation: the CDNOW tracking result of FHL 2005, actual counts against the raw log,
expected sums against a per-customer brute force, conditional expectations against lifetimes at
fixed parameters, errors against a hand-computed case, any table, posterior intervals, inputs.
"""

from __future__ import annotations

import hashlib
import inspect
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import clvmodels as clv
from clvmodels import evaluation as ev
from clvmodels.fit import Posterior
from clvmodels.models.common import RFM_FIELDS
from clvmodels.models.spec import ModelSpec, Param
from clvmodels.errors import ClvDataError

from conftest import shared_data_dir
from reference_values import BGNBD_FHL2005, TRACKING_FHL2005


def frame_hash(df: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes()
                          + repr(list(df.columns)).encode() + repr(df.attrs).encode()).hexdigest()


@pytest.fixture(scope="module")
def bg():
    return clv.BetaGeo.from_params(BGNBD_FHL2005.values(precise=True), unit="W")


@pytest.fixture(scope="module")
def cdnow_tracking(bg, cdnow_summary, cdnow_transactions):
    return ev.tracking(bg, cdnow_summary, cdnow_transactions)


# --------------------------------------------------------------------------- aggregate
def test_bgnbd_cdnow_cumulative_tracking_at_week_78_within_5pct_under_forecast_as_FHL2005(cdnow_tracking):
    t = cdnow_tracking
    assert len(t) == 78 and t.attrs["origin"] == "1997-01-01"
    last = t.iloc[-1]
    rel = (last["expected_cumulative"] - last["actual_cumulative"]) / last["actual_cumulative"]
    # FHL 2005 section 4: BG/NBD under-forecasts cumulative repeat transactions slightly (~4 %)
    assert -0.05 < rel < 0, rel
    assert abs(rel) < TRACKING_FHL2005["bgnbd_max_relative_error"] + 0.005
    summary = ev.tracking_summary(t)
    assert summary.loc["total", "relative_error"] == pytest.approx(rel, rel=1e-12)


def test_tracking_actuals_equal_repeat_purchases_of_the_summary(cdnow_tracking, cdnow_summary):
    t = cdnow_tracking
    # weeks 1-39 end on 1997-09-30 (the calibration end): all calibration repeat purchases
    assert t.loc[39, "date_end"] == pd.Timestamp("1997-09-30")
    assert (t.loc[:39, "phase"] == "calibration").all() and (t.loc[40:, "phase"] == "holdout").all()
    assert t.loc[39, "actual_cumulative"] == cdnow_summary["frequency"].sum() == 2457
    assert t["actual"].sum() == cdnow_summary["frequency"].sum() + cdnow_summary["frequency_holdout"].sum()


@pytest.mark.parametrize("week", [5, 22, 60])
def test_tracking_actuals_match_rfm_summary_cut_at_that_week(cdnow_tracking, cdnow_transactions, week):
    """Cumulative repeat purchases by the end of week k = sum of x of a summary with calibration_end there."""
    end = pd.Timestamp("1997-01-01") + pd.Timedelta(days=7 * week - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", clv.DataWarning)  # customers not yet born are left out
        s = clv.rfm_summary(cdnow_transactions, "customer_id", "date", unit="W", calibration_end=end)
    assert cdnow_tracking.loc[week, "actual_cumulative"] == s["frequency"].sum()


def test_tracking_expected_equals_per_customer_sum_of_new_customer_expectations(bg, cdnow_tracking, cdnow_summary):
    birth = pd.Series(cdnow_summary["T"].max() - cdnow_summary["T"])
    for week in (1, 39, 78):
        ages = np.clip(week - birth.to_numpy(), 0, None)
        brute = sum(bg.expected_purchases_new_customer(float(a)) for a in ages)
        assert cdnow_tracking.loc[week, "expected_cumulative"] == pytest.approx(brute, rel=1e-9)
    np.testing.assert_allclose(cdnow_tracking["expected"].cumsum(), cdnow_tracking["expected_cumulative"], rtol=1e-12)


def test_tracking_with_two_week_periods_cuts_the_last_period_at_observation_end(bg, cdnow_summary, cdnow_transactions):
    t = ev.tracking(bg, cdnow_summary, cdnow_transactions, period=2.0)
    assert len(t) == 39 and t["end"].iloc[-1] == 78.0
    assert t["actual"].sum() == 4339


# --------------------------------------------------------------------------- individual
def test_conditional_expectations_by_frequency_same_as_lifetimes(bg, cdnow_summary):
    lifetimes = pytest.importorskip("lifetimes")
    ref = lifetimes.BetaGeoFitter()
    ref.params_ = pd.Series(BGNBD_FHL2005.values(precise=True))[["r", "alpha", "a", "b"]]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        per_customer = ref.conditional_expected_number_of_purchases_up_to_time(
            39.0, cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])
    groups = cdnow_summary["frequency"].clip(upper=7)
    table = ev.conditional_expectations(bg, cdnow_summary)
    assert table.index.tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    np.testing.assert_allclose(table["expected"], pd.Series(np.asarray(per_customer)).groupby(groups.to_numpy()).mean(),
                               rtol=1e-6)
    np.testing.assert_allclose(table["actual"], cdnow_summary["frequency_holdout"].groupby(groups).mean(), rtol=1e-14)
    assert table["customers"].sum() == len(cdnow_summary)


def test_conditional_expectations_by_recency_bins(bg, cdnow_summary):
    table = ev.conditional_expectations(bg, cdnow_summary, by="recency", bins=[0, 10, 20, 39])
    assert table.index.tolist() == ["[0, 10]", "(10, 20]", "(20, 39]"]
    r = cdnow_summary["recency"]
    assert table["customers"].tolist() == [(r <= 10).sum(), ((r > 10) & (r <= 20)).sum(), (r > 20).sum()]


def _half_actual_spec() -> ModelSpec:
    """A model that expects 0.5 + frequency holdout purchases, with P(alive) 0.9 for repeat buyers and 0.2 otherwise."""

    def expected_purchases(xp, c, *, frequency, recency, T, t):
        return frequency + c

    def probability_alive(xp, c, *, frequency, recency, T):
        return xp.where(frequency > 0, 0.9, 0.2) + 0.0 * c

    return ModelSpec("half_actual", "half actual", (Param("c"),), RFM_FIELDS, loglik=lambda xp, c, **d: 0.0 * d["T"],
                     predictions={"expected_purchases": expected_purchases, "probability_alive": probability_alive})


class _HalfActual(clv.estimators.TransactionModel):
    spec = _half_actual_spec()


def HalfActual():
    """Stub model that expects 0.5 + frequency holdout purchases."""
    return _HalfActual.from_params(c=0.5)


def test_holdout_errors_hand_computed():
    table = pd.DataFrame({"frequency": [0, 1, 2], "recency": [0.0, 1.0, 2.0], "T": [3.0, 3.0, 3.0],
                          "frequency_holdout": [0, 3, 2], "duration_holdout": [4.0, 4.0, 4.0]})
    e = ev.holdout_errors(HalfActual(), table).loc["all"]
    # expected 0.5, 1.5, 2.5; errors +0.5, -1.5, +0.5
    assert e["mae"] == pytest.approx(2.5 / 3, rel=1e-15)
    assert e["rmse"] == pytest.approx(np.sqrt(2.75 / 3), rel=1e-15)
    assert e["bias"] == pytest.approx(-0.5 / 3, rel=1e-15)
    assert (e["actual"], e["expected"]) == (5.0, 4.5)
    p = ev.p_alive_calibration(HalfActual(), table, bins=[0, 0.5, 1])
    assert p["customers"].tolist() == [1, 2] and p["share_active"].tolist() == [0.0, 1.0]


def test_any_holdout_table_works_with_per_customer_durations(bg):
    """A foreign table: string ids, extra and reordered columns, integer dtypes, durations that differ."""
    table = pd.DataFrame({
        "duration_holdout": [10, 52, 52, 26],
        "T": [38, 20, 30, 12],
        "frequency_holdout": [1, 0, 4, 2],
        "recency": [30, 0, 25, 11],
        "frequency": [2, 0, 5, 1],
        "segment": ["x", "y", "x", "y"],
    }, index=pd.Index(["u1", "u2", "u3", "u4"], name="user"))
    e = ev.holdout_errors(bg, table, by="frequency", max_frequency=2)
    direct = np.array([
        bg.expected_purchases(table.iloc[[i]][["frequency", "recency", "T"]].astype(float),
                              t=float(table["duration_holdout"].iloc[i])).iloc[0]
        for i in range(4)
    ])
    assert e.loc["all", "expected"] == pytest.approx(direct.sum(), rel=1e-12)
    assert e.loc["all", "mae"] == pytest.approx(np.abs(direct - table["frequency_holdout"]).mean(), rel=1e-12)


def test_missing_or_bad_columns_are_named():
    table = pd.DataFrame({"frequency": [1], "recency": [0.5], "T": [2.0], "frequency_holdout": [1]})
    with pytest.raises(ClvDataError, match="missing 'duration_holdout'"):
        ev.conditional_expectations(HalfActual(), table)
    with pytest.raises(ClvDataError, match="Column 'T' must be finite and >= 0"):
        ev.holdout_errors(HalfActual(), table.assign(duration_holdout=1.0, T=-1.0))


# --------------------------------------------------------------------------- posterior
class Sampled(clv.BetaGeo):
    """A BetaGeo carrying a given posterior_ (no sampling in these tests)."""


def with_posterior(draws: dict[str, np.ndarray]) -> Sampled:
    ds = xr.Dataset({k: (("chain", "draw"), np.asarray(v, dtype=float).reshape(1, -1)) for k, v in draws.items()})
    return Sampled.from_fit(Posterior(Sampled.spec, xr.DataTree.from_dict({"posterior": ds}), unit="W"))


def test_degenerate_posterior_gives_the_point_predictions(bg, cdnow_summary, cdnow_transactions):
    point = BGNBD_FHL2005.values(precise=True)
    model = with_posterior({k: np.full(5, v) for k, v in point.items()})
    t = ev.tracking(model, cdnow_summary, cdnow_transactions)
    np.testing.assert_allclose(t["expected_cumulative"], ev.tracking(bg, cdnow_summary, cdnow_transactions)[
        "expected_cumulative"], rtol=1e-12)
    np.testing.assert_allclose(t["expected_cumulative_lower"], t["expected_cumulative_upper"], rtol=1e-12)
    c = ev.conditional_expectations(model, cdnow_summary)
    np.testing.assert_allclose(c["expected"], ev.conditional_expectations(bg, cdnow_summary)["expected"], rtol=1e-12)


def test_posterior_intervals_contain_the_mean_and_widen_with_spread(cdnow_summary):
    rng = np.random.default_rng(7)
    point = BGNBD_FHL2005.values(precise=True)
    narrow = with_posterior({k: v * np.exp(rng.normal(0, 0.01, 60)) for k, v in point.items()})
    wide = with_posterior({k: v * np.exp(rng.normal(0, 0.10, 60)) for k, v in point.items()})
    cn = ev.conditional_expectations(narrow, cdnow_summary, hdi_prob=0.9)
    cw = ev.conditional_expectations(wide, cdnow_summary, hdi_prob=0.9)
    assert ((cn["expected_lower"] <= cn["expected"]) & (cn["expected"] <= cn["expected_upper"])).all()
    assert ((cw["expected_upper"] - cw["expected_lower"]) > (cn["expected_upper"] - cn["expected_lower"])).all()


# --------------------------------------------------------------------------- inputs
def test_evaluation_never_modifies_inputs(bg, cdnow_summary, cdnow_transactions):
    s, tx = cdnow_summary.copy(deep=True), cdnow_transactions.copy(deep=True)
    hs, ht = frame_hash(s), frame_hash(tx)
    ev.tracking(bg, s, tx)
    ev.conditional_expectations(bg, s, by="recency")
    ev.holdout_errors(bg, s, by="frequency")
    ev.p_alive_calibration(bg, s)
    assert frame_hash(s) == hs and frame_hash(tx) == ht


@pytest.mark.slow
def test_sampled_bgnbd_tracking_and_conditional_tables_have_hdis_around_the_ml_values(
        bg, cdnow_summary, cdnow_transactions):
    """Real posterior (tiny: 2 chains x 150 draws): HDIs hold their mean and the ML expectation."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", clv.ConvergenceWarning)  # too few draws for the checks, on purpose
        post = clv.BetaGeo().sample(cdnow_summary, draws=150, tune=150, chains=2, random_seed=1, progressbar=False)
    ml = clv.BetaGeo().fit(cdnow_summary)
    t = ev.tracking(post, cdnow_summary, cdnow_transactions, max_draws=100)
    t_ml = ev.tracking(ml, cdnow_summary, cdnow_transactions)
    last = t.iloc[-1]
    assert last["expected_cumulative_lower"] < t_ml["expected_cumulative"].iloc[-1] < last["expected_cumulative_upper"]
    assert abs(last["expected_cumulative"] / last["actual_cumulative"] - 1) < 0.05
    c = ev.conditional_expectations(post, cdnow_summary, max_draws=100)
    c_ml = ev.conditional_expectations(ml, cdnow_summary)
    assert ((c["expected_lower"] < c_ml["expected"]) & (c_ml["expected"] < c["expected_upper"])).all()


def test_tracking_says_when_log_and_summary_ids_do_not_match(bg, cdnow_summary, cdnow_transactions):
    tx = cdnow_transactions.assign(customer_id=cdnow_transactions["customer_id"].astype(str))
    with pytest.raises(ClvDataError, match="No customer of the transaction log's column 'customer_id'"):
        ev.tracking(bg, cdnow_summary, tx)


def test_simulated_tracking_mean_matches_closed_form_expectation(bg, cdnow_tracking, cdnow_summary):
    """The predictive interval's simulations (BG/NBD generative process from each birth) average
    to the closed-form expected cumulative purchases (a goodness-of-fit check of both)."""
    birth = (cdnow_summary["T"].max() - cdnow_summary["T"]).round(9).to_numpy()
    sims = np.cumsum(ev._simulate_tracking(bg, birth, 78.0, 1.0, 78, 400, 12345, None), axis=1)
    for week in (13, 39, 78):
        mean, se = sims[:, week - 1].mean(), sims[:, week - 1].std(ddof=1) / np.sqrt(len(sims))
        assert abs(mean - cdnow_tracking.loc[week, "expected_cumulative"]) < 4 * se


def test_predictive_interval_columns(bg, cdnow_summary, cdnow_transactions):
    t = ev.tracking(bg, cdnow_summary, cdnow_transactions, predictive=True, n_sims=50, random_seed=3)
    assert (t["predictive_lower"] <= t["predictive_upper"]).all()
    assert (t["predictive_cumulative_lower"] <= t["predictive_cumulative_upper"]).all()
    assert t["predictive_cumulative_upper"].is_monotonic_increasing
    pnbd = clv.ParetoNBD.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669, unit="W")
    if "return_times" not in inspect.signature(pnbd.spec.simulate).parameters:
        with pytest.raises(ValueError, match="predictive=True simulates purchase times"):
            ev.tracking(pnbd, cdnow_summary, cdnow_transactions, predictive=True)


def test_lifetimes_calibration_holdout_layout_gives_the_same_tables(bg, cdnow_summary):
    renamed = cdnow_summary.rename(columns={"frequency": "frequency_cal", "recency": "recency_cal", "T": "T_cal"})
    pd.testing.assert_frame_equal(ev.conditional_expectations(bg, renamed), ev.conditional_expectations(bg, cdnow_summary))
    pd.testing.assert_frame_equal(ev.holdout_errors(bg, renamed), ev.holdout_errors(bg, cdnow_summary))


def test_pareto_nbd_cdnow_cumulative_tracking_at_week_78_within_2pct_as_FHL2005(cdnow_summary, cdnow_transactions):
    from reference_values import PARETO_NBD_FHL2005

    model = clv.ParetoNBD.from_params(PARETO_NBD_FHL2005.values(precise=True), unit="W")
    total = ev.tracking_summary(ev.tracking(model, cdnow_summary, cdnow_transactions)).loc["total"]
    assert total["actual"] == 4339
    assert abs(total["relative_error"]) < TRACKING_FHL2005["pareto_nbd_max_relative_error"]


def test_tracking_summary_splits_a_period_straddling_the_calibration_end_exactly():
    # Apparel: weekly periods from 2005-01-02 do not end on 2008-12-31, so one period holds
    # both calibration and holdout purchases; the phase totals must still equal the summary's.
    tx = pd.read_csv(shared_data_dir() / "apparel_transactions.csv")
    s = clv.rfm_summary(tx, "customer_id", "date", unit="W", calibration_end="2008-12-31", observation_end="2010-12-20")
    bg = clv.BetaGeo().fit(s)
    table = ev.tracking(bg, s, tx, customer_col="customer_id", date_col="date")
    assert table.attrs["calibration_end"] != int(table.attrs["calibration_end"])  # the case under test
    totals = ev.tracking_summary(table)
    assert totals.loc["calibration", "actual"] == s["frequency"].sum()
    assert totals.loc["holdout", "actual"] == s["frequency_holdout"].sum()
    births = s["T"].max() - s["T"]
    cal = table.attrs["calibration_end"] * table.attrs["period"]
    expected_cal = bg.expected_purchases_new_customer(np.clip(cal - births.to_numpy(), 0, None)).sum()
    assert totals.loc["calibration", "expected"] == pytest.approx(expected_cal, rel=1e-9)
