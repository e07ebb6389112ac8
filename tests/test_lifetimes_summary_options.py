"""Summary options a lifetimes user looks for: the hourly unit, ``include_first_transaction`` and
calendar-period (whole-period) summaries; each checked by hand or against lifetimes 0.11.3 on
CDNOW, and on both summary engines (pandas and DuckDB, every input route)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels.units import convert, normalize_unit, period_edges

from engine_check import make_all_engines

pytest.importorskip("duckdb")


@pytest.fixture
def both_engines(tmp_path):
    """rfm_summary run by every engine and input route, asserting they agree; returns DuckDB's."""
    return make_all_engines(tmp_path)


# --------------------------------------------------------------------------- hourly unit
def test_hour_aliases_and_lengths():
    assert {normalize_unit(u) for u in ("H", "h", "hour", "hours", " Hours ")} == {"H"}
    assert convert(3, "D", "H") == 72.0
    assert convert(84, "H", "W") == pytest.approx(0.5, rel=1e-15)
    assert period_edges(3, "D", "H").tolist() == [24.0, 48.0, 72.0]
    assert period_edges(48, "H", "D")[-1] == pytest.approx(2.0, rel=1e-15)
    with pytest.raises(ValueError, match="'H' \\(hours\\)"):
        normalize_unit("minutes")


def test_hourly_summary_by_hand_on_both_engines(both_engines):
    tx = pd.DataFrame({
        "id": ["a", "a", "a", "b", "c"],
        "at": ["2024-01-01 09:00", "2024-01-01 17:30", "2024-01-03 08:00", "2024-01-02 23:59", "2024-01-04 00:01"],
        "value": [10.0, 5.0, 20.0, 7.0, 3.0],
    })
    s = both_engines(tx, "id", "at", "value", unit="hours", calibration_end="2024-01-05")
    # purchase days, as in every unit: a's two purchases on Jan 1 are one; times from midnight
    # of the first purchase day to midnight of the last / of the calibration end, times 24
    expected = pd.DataFrame({"frequency": [1.0, 0.0, 0.0], "recency": [48.0, 0.0, 0.0], "T": [96.0, 72.0, 24.0],
                             "monetary_value": [20.0, 0.0, 0.0]}, index=pd.Index(["a", "b", "c"], name="id"))
    pd.testing.assert_frame_equal(s, expected, check_index_type=False)
    assert s.attrs["unit"] == "H"


def test_an_hourly_fit_is_the_daily_fit_in_hours(cdnow_transactions):
    # BG/NBD and Pareto/NBD are scale-invariant: only the rate scale (alpha) changes, by 24
    daily = clv.rfm_summary(cdnow_transactions, "customer_id", "date", unit="D", calibration_end="1997-09-30")
    hourly = clv.rfm_summary(cdnow_transactions, "customer_id", "date", unit="H", calibration_end="1997-09-30")
    np.testing.assert_allclose(hourly["T"].to_numpy(), 24 * daily["T"].to_numpy(), rtol=1e-15)
    bd, bh = clv.BetaGeo().fit(daily), clv.BetaGeo().fit(hourly)
    assert bh.unit_ == "H"
    for k in ("r", "a", "b"):
        assert bh.params_[k] == pytest.approx(bd.params_[k], rel=1e-4), k
    assert bh.params_["alpha"] == pytest.approx(24 * bd.params_["alpha"], rel=1e-4)
    np.testing.assert_allclose(bh.expected_purchases(hourly, t=24 * 30).to_numpy(),
                               bd.expected_purchases(daily, t=30).to_numpy(), rtol=1e-3)


def test_cli_summarize_accepts_unit_hours(tmp_path):
    from typer.testing import CliRunner
    from clvmodels.cli import app

    log = tmp_path / "log.csv"
    log.write_text("customer_id,date\n1,2024-01-01\n1,2024-01-02\n2,2024-01-03\n")
    out = tmp_path / "summary.csv"
    result = CliRunner().invoke(app, ["summarize", str(log), "--unit", "H", "--calibration-end", "2024-01-04",
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    s = pd.read_csv(out, index_col=0)
    assert s["T"].tolist() == [72.0, 24.0] and s["recency"].tolist() == [24.0, 0.0]


# --------------------------------------------------------------------------- include_first_transaction
def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def lifetimes_utils():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("lifetimes.utils")


def test_include_first_transaction_by_hand_on_both_engines(both_engines):
    tx = pd.DataFrame({"id": [1, 1, 1, 2], "day": ["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-08"],
                       "value": [10.0, 5.0, 20.0, 7.0]})
    s = both_engines(tx, "id", "day", "value", unit="D", calibration_end="2024-01-15", observation_end="2024-01-20",
                     include_first_transaction=True)
    # customer 1: purchase days Jan 1 (15) and Jan 15 (20): both count, mean (15 + 20) / 2
    assert s["frequency"].tolist() == [2.0, 1.0]
    assert s["monetary_value"].tolist() == [17.5, 7.0]
    assert s["recency"].tolist() == [14.0, 0.0] and s["T"].tolist() == [14.0, 7.0]
    assert s["frequency_holdout"].tolist() == [0.0, 0.0]
    assert s.attrs["include_first_transaction"] is True
    default = both_engines(tx, "id", "day", "value", unit="D", calibration_end="2024-01-15")
    assert "include_first_transaction" not in default.attrs and default["frequency"].tolist() == [1.0, 0.0]


@pytest.mark.parametrize("freq", ["D", "W"])
def test_include_first_transaction_equals_lifetimes_on_cdnow(both_engines, cdnow_transactions, lifetimes_utils, freq):
    theirs = quietly(lifetimes_utils.summary_data_from_transaction_data, cdnow_transactions, "customer_id", "date",
                     monetary_value_col="amount", freq=freq, include_first_transaction=True)
    ours = both_engines(cdnow_transactions, "customer_id", "date", "amount", unit=freq,
                        include_first_transaction=True, periods="calendar" if freq == "W" else "continuous")
    theirs = theirs.loc[ours.index]
    assert len(ours) == 2357
    for col in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[col].to_numpy(), theirs[col].to_numpy(), err_msg=col)
    np.testing.assert_allclose(ours["monetary_value"].to_numpy(), theirs["monetary_value"].to_numpy(), rtol=1e-12)
    assert (ours["frequency"] >= 1).all()


def test_models_refuse_a_summary_that_counts_the_first_purchase(cdnow_transactions):
    s = clv.rfm_summary(cdnow_transactions, "customer_id", "date", "amount", unit="W", include_first_transaction=True)
    with pytest.raises(clv.errors.ClvDataError, match="include_first_transaction=True"):
        clv.BetaGeo().fit(s)
    with pytest.raises(clv.errors.ClvDataError, match="include_first_transaction=False"):
        clv.GammaGamma().fit(s)


# --------------------------------------------------------------------------- periods="calendar"
def test_calendar_weeks_by_hand_on_both_engines(both_engines):
    # the example of docs/pages/migration.md: Wednesdays 1 Jan, 15 Jan and 12 Mar 1997, observed to
    # Sunday 16 Mar; Mondays 30 Dec 1996 and 10 Mar 1997 are 10 weeks apart
    tx = pd.DataFrame({"id": [1, 1, 1, 2, 2], "day": ["1997-01-01", "1997-01-15", "1997-03-12", "1997-03-10",
                                                     "1997-03-16"], "value": [1.0, 2.0, 4.0, 8.0, 16.0]})
    cont = both_engines(tx, "id", "day", "value", unit="W", calibration_end="1997-03-16")
    cal = both_engines(tx, "id", "day", "value", unit="W", calibration_end="1997-03-16", periods="calendar")
    assert cont.loc[1, ["frequency", "recency"]].tolist() == [2.0, 10.0]
    assert cont.loc[1, "T"] == pytest.approx(74 / 7, rel=1e-15)
    assert cal.loc[1, ["frequency", "recency", "T", "monetary_value"]].tolist() == [2.0, 10.0, 10.0, 3.0]
    # customer 2 bought on Monday and Sunday of one week: one purchase period, amounts summed
    assert cal.loc[2, ["frequency", "recency", "T"]].tolist() == [0.0, 0.0, 0.0]
    assert cal.attrs["periods"] == "calendar" and "periods" not in cont.attrs


def test_calendar_months_cut_at_the_calibration_end_with_a_holdout(both_engines):
    tx = pd.DataFrame({"id": ["a"] * 5, "day": ["1997-01-31", "1997-02-01", "1997-03-20", "1997-03-25", "1997-05-02"]})
    s = both_engines(tx, "id", "day", unit="M", calibration_end="1997-03-20", observation_end="1997-05-10",
                     periods="calendar")
    # calibration: January, February, March (20th) -> 3 months with purchases, first to last 2 months,
    # T January -> March = 2; holdout: March 25 (March again, cut at the end) and May: 2 periods,
    # March -> May = 2 months
    assert s.loc["a"].to_dict() == {"frequency": 2.0, "recency": 2.0, "T": 2.0, "frequency_holdout": 2.0,
                                    "duration_holdout": 2.0}


def test_calendar_weeks_equal_lifetimes_freq_W_on_cdnow(both_engines, cdnow_transactions, lifetimes_utils):
    # default observation end (the last transaction, Tuesday 1998-06-30, moved back to Monday 06-29)
    theirs = quietly(lifetimes_utils.summary_data_from_transaction_data, cdnow_transactions, "customer_id", "date",
                     monetary_value_col="amount", freq="W")
    ours = both_engines(cdnow_transactions, "customer_id", "date", "amount", unit="W", periods="calendar")
    theirs = theirs.loc[ours.index]
    assert len(ours) == len(theirs) == 2357
    for col in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[col].to_numpy(), theirs[col].to_numpy(), err_msg=col)
    np.testing.assert_allclose(ours["monetary_value"].to_numpy(), theirs["monetary_value"].to_numpy(), rtol=1e-12)
    # and differs from continuous weeks: both ends move back to their Mondays, so T changes by less
    # than a week either way, and is a whole number
    cont = clv.rfm_summary(cdnow_transactions, "customer_id", "date", unit="W")
    gap = (cont["T"] - ours["T"]).to_numpy()
    assert (np.abs(gap) < 1).all() and (gap > 0).any() and (gap < 0).any()
    assert (ours["T"] == np.round(ours["T"])).all()


def test_calendar_weeks_with_holdout_equal_lifetimes_calibration_and_holdout(both_engines, cdnow_transactions,
                                                                             lifetimes_utils):
    theirs = quietly(lifetimes_utils.calibration_and_holdout_data, cdnow_transactions, "customer_id", "date",
                     monetary_value_col="amount",  # without it lifetimes 0.11.3 fails on pandas 2
                     calibration_period_end="1997-09-30", observation_period_end="1998-06-30", freq="W")
    ours = both_engines(cdnow_transactions, "customer_id", "date", unit="W", calibration_end="1997-09-30",
                        observation_end="1998-06-30", periods="calendar")
    theirs = theirs.loc[ours.index]
    for mine, col in (("frequency", "frequency_cal"), ("recency", "recency_cal"), ("T", "T_cal"),
                      ("frequency_holdout", "frequency_holdout"), ("duration_holdout", "duration_holdout")):
        np.testing.assert_array_equal(ours[mine].to_numpy(), theirs[col].to_numpy(), err_msg=mine)
    assert ours["duration_holdout"].iloc[0] == 39.0


def test_unknown_periods_value_names_the_choices():
    tx = pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"]})
    with pytest.raises(ValueError, match="'continuous' or 'calendar'. Got 'whole'"):
        clv.rfm_summary(tx, periods="whole")


def test_cli_summarize_periods_calendar_and_include_first(tmp_path):
    from typer.testing import CliRunner
    from clvmodels.cli import app

    log = tmp_path / "log.csv"
    # Wednesdays 1 and 15 January, Saturday 18 January 1997; Sunday 19 January is the end
    log.write_text("customer_id,date\n1,1997-01-01\n1,1997-01-15\n1,1997-01-18\n2,1997-01-08\n")
    out = tmp_path / "summary.csv"
    args = ["summarize", str(log), "--unit", "W", "--calibration-end", "1997-01-19", "--output", str(out), "--force"]
    assert CliRunner().invoke(app, args + ["--periods", "calendar"]).exit_code == 0
    s = pd.read_csv(out, index_col=0)
    assert s["frequency"].tolist() == [1.0, 0.0] and s["T"].tolist() == [2.0, 1.0]
    assert CliRunner().invoke(app, args + ["--include-first-transaction"]).exit_code == 0
    assert pd.read_csv(out, index_col=0)["frequency"].tolist() == [3.0, 1.0]
    bad = CliRunner().invoke(app, args + ["--periods", "whole"])
    assert bad.exit_code == 1 and "continuous or calendar" in bad.output
