"""``rfm_summary(regularity=True)``: the log inter-purchase times the regularity models read."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv


def _litt_by_hand(tx: pd.DataFrame, cal_end: str, days_per_unit: float) -> dict:
    # one customer at a time, from the sorted distinct purchase days of the calibration period
    out = {}
    for customer, rows in tx[tx["date"] <= pd.Timestamp(cal_end)].groupby("customer_id"):
        days = sorted(set(rows["date"].dt.floor("D")))
        out[customer] = sum(math.log((b - a).days / days_per_unit) for a, b in zip(days, days[1:]))
    return out


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_litt_is_the_sum_of_log_intertransaction_times(cdnow_transactions, engine):
    summary = clv.rfm_summary(cdnow_transactions, "customer_id", "date", unit="W", calibration_end="1997-09-30",
                              observation_end="1998-06-30", regularity=True, engine=engine)
    expected = _litt_by_hand(cdnow_transactions, "1997-09-30", 7.0)
    assert summary["litt"].to_dict() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    # the other columns do not change
    plain = clv.rfm_summary(cdnow_transactions, "customer_id", "date", unit="W", calibration_end="1997-09-30",
                            observation_end="1998-06-30", engine=engine)
    pd.testing.assert_frame_equal(summary.drop(columns="litt"), plain)
    assert (summary.loc[summary["frequency"] == 0, "litt"] == 0).all()


def test_litt_with_calendar_months_counts_whole_months():
    tx = pd.DataFrame({"id": [1, 1, 1, 1, 2], "day": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-03-02",
                                                                       "2024-06-30", "2024-02-01"])})
    for engine in ("pandas", "duckdb"):
        s = clv.rfm_summary(tx, "id", "day", unit="M", calibration_end="2024-06-30", periods="calendar",
                            regularity=True, engine=engine)
        # January twice is one purchase period; then gaps Jan -> Mar (2 months) and Mar -> Jun (3)
        assert s.loc[1, "frequency"] == 2
        assert s.loc[1, "litt"] == pytest.approx(np.log(2) + np.log(3))
        assert s.loc[2, "litt"] == 0.0


def test_regularity_must_be_a_boolean(cdnow_transactions):
    with pytest.raises(TypeError, match="'regularity' parameter must be True or False"):
        clv.rfm_summary(cdnow_transactions, "customer_id", "date", regularity="yes")
