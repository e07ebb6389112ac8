"""rfm_summary: the CDNOW data conventions of Fader, Hardie & Lee (2005), and hand-computed logs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels.errors import DataWarning

from conftest import frame_hash
from reference_values import CDNOW, printed_rtol, value


# --------------------------------------------------------------------------- FHL 2005 / CDNOW
def test_cdnow_customer_count_matches_FHL2005(cdnow_summary):
    assert len(cdnow_summary) == CDNOW["n_customers"]
    assert cdnow_summary.index.is_unique
    assert cdnow_summary.index.name == "customer_id"


def test_cdnow_sum_of_repeat_purchases_matches_FHL2005(cdnow_summary):
    assert cdnow_summary["frequency"].sum() == CDNOW["sum_frequency"]


def test_cdnow_customers_without_repeat_purchase_match_FHL2005(cdnow_summary):
    assert int((cdnow_summary["frequency"] == 0).sum()) == CDNOW["n_zero_frequency"]


def test_cdnow_T_of_customer_first_seen_1997_01_01_matches_FHL2005(cdnow_summary, cdnow_transactions):
    first = cdnow_transactions.groupby("customer_id")["date"].min()
    ids = first.index[first == pd.Timestamp("1997-01-01")]
    assert len(ids) > 0
    T = cdnow_summary.loc[ids, "T"].to_numpy()
    # (1997-09-30 - 1997-01-01) = 272 days exactly
    np.testing.assert_allclose(T, 272 / 7, rtol=1e-15)
    printed = CDNOW["T_first_seen_1997_01_01"]
    np.testing.assert_allclose(T, value(printed), rtol=printed_rtol(printed))


def test_cdnow_holdout_repeat_purchases_match_FHL2005(cdnow_summary):
    assert cdnow_summary["frequency_holdout"].sum() == CDNOW["holdout_repeat_purchases"]
    # weeks 40-78: Oct 1 1997 to Jun 30 1998 is 273 days = 39 weeks
    np.testing.assert_array_equal(cdnow_summary["duration_holdout"].to_numpy(), 39.0)


def test_cdnow_summary_columns_and_attrs(cdnow_summary):
    assert list(cdnow_summary.columns) == [
        "frequency", "recency", "T", "monetary_value",
        "frequency_holdout", "monetary_value_holdout", "duration_holdout",
    ]
    assert cdnow_summary.attrs["unit"] == "W"
    assert cdnow_summary.attrs["calibration_end"] == "1997-09-30"
    assert cdnow_summary.attrs["observation_end"] == "1998-06-30"
    assert cdnow_summary.attrs["n_excluded"] == 0


def test_cdnow_holdout_columns_absent_without_observation_end(cdnow_transactions):
    s = clv.rfm_summary(cdnow_transactions, "customer_id", "date", "amount", unit="W", calibration_end="1997-09-30")
    assert list(s.columns) == ["frequency", "recency", "T", "monetary_value"]
    assert s.attrs["observation_end"] is None


def test_cdnow_repeat_buyers_are_the_946_of_fader_hardie_2013(cdnow_summary):
    assert int((cdnow_summary["frequency"] > 0).sum()) == CDNOW["n_repeat_buyers"]


def test_days_and_weeks_scale_by_exactly_seven(cdnow_transactions):
    kw = dict(calibration_end="1997-09-30", observation_end="1998-06-30")
    d = clv.rfm_summary(cdnow_transactions, "customer_id", "date", "amount", unit="D", **kw)
    w = clv.rfm_summary(cdnow_transactions, "customer_id", "date", "amount", unit="W", **kw)
    for col in ("recency", "T", "duration_holdout"):
        np.testing.assert_allclose(d[col].to_numpy() / 7.0, w[col].to_numpy(), rtol=1e-14, atol=0)
    for col in ("frequency", "monetary_value", "frequency_holdout", "monetary_value_holdout"):
        pd.testing.assert_series_equal(d[col], w[col])
    # days are whole numbers: dates have day resolution
    np.testing.assert_array_equal(d["T"].to_numpy(), np.round(d["T"].to_numpy()))


def test_cdnow_rfm_summary_leaves_transactions_unchanged(cdnow_transactions):
    tx = cdnow_transactions.copy(deep=True)
    tx["date"] = tx["date"].dt.strftime("%Y-%m-%d")  # string dates: parsing must not write back
    before = frame_hash(tx)
    clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end="1997-09-30",
                    observation_end="1998-06-30")
    assert frame_hash(tx) == before


# --------------------------------------------------------------------------- a hand-computed log
@pytest.fixture
def tiny_log() -> pd.DataFrame:
    rows = [
        # customer A: two transactions on the first day (one purchase of 15), repeats on Jan 15
        # (20) and Jan 20 (30 + 4 = 34); holdout purchases on Feb 5 (8 + 2) and Feb 10 (6);
        # one after observation_end (ignored)
        ("A", "2024-01-01 09:00", 10.0),
        ("A", "2024-01-01 17:30", 5.0),
        ("A", "2024-01-15 12:00", 20.0),
        ("A", "2024-01-20 08:00", 30.0),
        ("A", "2024-01-20 22:00", 4.0),
        ("A", "2024-02-05 10:00", 8.0),
        ("A", "2024-02-05 11:00", 2.0),
        ("A", "2024-02-10 23:59", 6.0),
        ("A", "2024-03-01 10:00", 100.0),
        # customer B: one purchase only
        ("B", "2024-01-08 15:00", 7.0),
        # customer C: first seen after calibration_end
        ("C", "2024-02-02 10:00", 3.0),
    ]
    return pd.DataFrame(rows, columns=["cust", "when", "value"])


def test_hand_computed_summary_of_tiny_log(tiny_log):
    with pytest.warns(DataWarning, match=r"^Left out 1 customer first seen after calibration_end 2024-01-31 \(first: 'C'\)"):
        s = clv.rfm_summary(tiny_log, "cust", "when", "value", unit="D",
                            calibration_end="2024-01-31", observation_end="2024-02-20")
    assert s.index.tolist() == ["A", "B"]
    assert s.index.name == "cust"
    expected = pd.DataFrame(
        {
            "frequency": [2.0, 0.0],  # Jan 15, Jan 20 (the two Jan 1 transactions are the first purchase)
            "recency": [19.0, 0.0],  # Jan 1 -> Jan 20
            "T": [30.0, 23.0],  # Jan 1 -> Jan 31; Jan 8 -> Jan 31
            "monetary_value": [27.0, 0.0],  # mean of the repeat purchase days (20 + 34) / 2; first purchase left out
            "frequency_holdout": [2.0, 0.0],  # Feb 5 and Feb 10 (Mar 1 is after observation_end)
            "monetary_value_holdout": [8.0, 0.0],  # ((8 + 2) + 6) / 2
            "duration_holdout": [20.0, 20.0],  # Jan 31 -> Feb 20
        },
        index=pd.Index(["A", "B"], name="cust"),
    )
    pd.testing.assert_frame_equal(s, expected, check_exact=True)
    assert s.attrs["n_excluded"] == 1


def test_purchases_on_one_day_are_one_purchase(tiny_log):
    # split A's Jan 20 purchase over two different days: one more repeat purchase
    moved = tiny_log.copy()
    moved.loc[4, "when"] = "2024-01-21 00:30"
    with pytest.warns(DataWarning):
        s = clv.rfm_summary(moved, "cust", "when", "value", unit="D", calibration_end="2024-01-31")
    assert s.loc["A", "frequency"] == 3.0
    assert s.loc["A", "recency"] == 20.0
    assert s.loc["A", "monetary_value"] == pytest.approx((20 + 30 + 4) / 3, rel=1e-15)


def test_calibration_end_day_is_included(tiny_log):
    # a purchase on calibration_end itself belongs to the calibration period
    s = clv.rfm_summary(tiny_log[tiny_log["cust"] == "A"], "cust", "when", "value", unit="D",
                        calibration_end="2024-01-20", observation_end="2024-03-01")
    assert s.loc["A", "frequency"] == 2.0
    assert s.loc["A", "recency"] == s.loc["A", "T"] == 19.0
    assert s.loc["A", "frequency_holdout"] == 3.0  # Feb 5, Feb 10 and Mar 1 (observation_end included)


def test_weeks_are_days_over_seven_on_tiny_log(tiny_log):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        w = clv.rfm_summary(tiny_log, "cust", "when", "value", unit="W", calibration_end="2024-01-31")
    assert w.loc["A", "recency"] == 19 / 7
    assert w.loc["A", "T"] == 30 / 7


def test_without_amount_there_is_no_monetary_value(tiny_log):
    with pytest.warns(DataWarning):
        s = clv.rfm_summary(tiny_log, "cust", "when", unit="D", calibration_end="2024-01-31",
                            observation_end="2024-02-20")
    assert "monetary_value" not in s.columns and "monetary_value_holdout" not in s.columns
    assert s.loc["A", "frequency_holdout"] == 2.0


def test_default_calibration_end_is_the_last_transaction_date(tiny_log):
    s = clv.rfm_summary(tiny_log, "cust", "when", "value", unit="D")
    assert s.attrs["calibration_end"] == "2024-03-01"
    assert s.loc["A", "T"] == 60.0  # Jan 1 -> Mar 1 2024 (leap year)
    assert s.loc["C", "frequency"] == 0.0


def test_calibration_and_observation_end_are_whole_days(tiny_log):
    # a time of day on the period ends means that whole day: T stays a whole number of days
    kw = dict(unit="D", observation_end="2024-02-20")
    with pytest.warns(DataWarning):
        at_noon = clv.rfm_summary(tiny_log, "cust", "when", "value", calibration_end="2024-01-31 12:00", **kw)
    with pytest.warns(DataWarning):
        plain = clv.rfm_summary(tiny_log, "cust", "when", "value", calibration_end="2024-01-31", **kw)
    pd.testing.assert_frame_equal(at_noon, plain)
