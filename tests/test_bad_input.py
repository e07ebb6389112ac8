"""Every bad input of the foundation issue gets a specific error: column, count, first ids, fix.

The caller's data is never modified, whether the call succeeds or fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels.errors import ClvDataError, DataWarning

from conftest import frame_hash


@pytest.fixture
def log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cid": ["u1", "u1", "u2", "u3", "u3", "u4"],
            "day": ["2024-01-01", "2024-01-05", "2024-01-03", "2024-01-04", "2024-01-09", "2024-01-10"],
            "value": [10.0, 20.0, 5.0, 7.0, 3.0, 4.0],
        },
        index=pd.RangeIndex(100, 106),
    )


def summarise(tx, **kw):
    return clv.rfm_summary(tx, "cid", "day", "value", **kw)


def raises_unchanged(frame, exc, match, fn, *args, **kw):
    """Assert ``fn`` raises ``exc`` matching ``match`` and leaves ``frame`` as it was."""
    before = frame_hash(frame)
    with pytest.raises(exc, match=match) as info:
        fn(*args, **kw)
    assert frame_hash(frame) == before
    return str(info.value)


# --------------------------------------------------------------------------- transaction logs
def test_missing_column_names_it_lists_the_columns_and_the_fix(log):
    msg = raises_unchanged(log, ClvDataError, r"no column 'date'", clv.rfm_summary, log, "cid", "date", "value")
    assert "'cid', 'day', 'value'" in msg  # what there is
    assert "date_col=" in msg  # the fix


def test_missing_amount_column_is_named(log):
    raises_unchanged(log, ClvDataError, r"no column 'amount'", clv.rfm_summary, log, "cid", "day", "amount")


@pytest.mark.parametrize("bad", ["not a date", None, "2024-13-45"])
def test_unparsable_or_missing_dates_name_column_count_rows_customers(log, bad):
    tx = log.copy()
    tx.loc[[101, 104], "day"] = bad
    msg = raises_unchanged(tx, ClvDataError, r"Column 'day' has 2 missing or unparsable dates", summarise, tx)
    assert "first: 101, 104" in msg  # row labels of the caller's frame
    assert "'u1'" in msg and "'u3'" in msg  # their customers
    assert "date_format=" in msg  # the fix


def test_NaT_in_a_datetime_column(log):
    tx = log.copy()
    tx["day"] = pd.to_datetime(tx["day"])
    tx.loc[102, "day"] = pd.NaT
    msg = raises_unchanged(tx, ClvDataError, r"Column 'day' has 1 missing or unparsable date at 1 row", summarise, tx)
    assert "first: 102" in msg and "'u2'" in msg


@pytest.mark.parametrize("bad", [np.nan, -5.0])
def test_nan_or_negative_amounts_name_column_count_rows_customers_and_fix(log, bad):
    tx = log.copy()
    tx.loc[[103, 105], "value"] = bad
    msg = raises_unchanged(tx, ClvDataError, r"Column 'value' must hold finite, non-negative numbers; 2 are", summarise, tx)
    assert "first: 103, 105" in msg and "'u3'" in msg and "'u4'" in msg
    assert "refunds" in msg  # the fix


def test_unparsable_amounts(log):
    tx = log.copy()
    tx["value"] = tx["value"].astype(object)
    tx.loc[100, "value"] = "ten"
    msg = raises_unchanged(tx, ClvDataError, r"Column 'value' must hold finite, non-negative numbers; 1 is missing", summarise, tx)
    assert "'ten'" in msg


def test_empty_log(log):
    empty = log.iloc[:0]
    raises_unchanged(empty, ClvDataError, r"transaction log is empty", summarise, empty)


def test_missing_customer_ids_name_column_count_and_rows(log):
    tx = log.copy()
    tx.loc[[102, 105], "cid"] = None
    msg = raises_unchanged(tx, ClvDataError, r"Column 'cid' has 2 missing customer ids", summarise, tx)
    assert "102, 105" in msg and "Drop or fill" in msg


def test_calibration_end_before_first_purchase(log):
    msg = raises_unchanged(log, ClvDataError, r"calibration_end 2023-12-31 is before the first purchase .*2024-01-01",
                           summarise, log, calibration_end="2023-12-31")
    assert "later calibration_end" in msg


def test_calibration_end_far_after_last_date_is_accepted_with_a_warning(log):
    # the rule for ends after the data (tests/test_bad_input_data.py covers it): accepted, flagged when implausible
    with pytest.warns(DataWarning, match=r"calibration_end 2024-02-01 is 22 days after the last transaction .*2024-01-10"):
        s = summarise(log, calibration_end="2024-02-01")
    assert s.attrs["calibration_end"] == "2024-02-01" and s.attrs["last_transaction"] == "2024-01-10"


def test_observation_end_before_calibration_end(log):
    raises_unchanged(log, ClvDataError, r"observation_end 2024-01-04 is before calibration_end 2024-01-05",
                     summarise, log, calibration_end="2024-01-05", observation_end="2024-01-04")


def test_unparsable_calibration_end(log):
    raises_unchanged(log, ClvDataError, r"'calibration_end' parameter must be a date.*'soon'",
                     summarise, log, calibration_end="soon")


def test_unknown_unit_names_the_choices(log):
    raises_unchanged(log, ValueError, r"'unit' parameter must be one of 'H' \(hours\), 'D' .* Got 'fortnight'",
                     summarise, log, unit="fortnight")


def test_customers_first_seen_after_calibration_end_are_left_out_with_a_count(log):
    before = frame_hash(log)
    with pytest.warns(DataWarning, match=r"^Left out 2 customers first seen after calibration_end 2024-01-03 \(first: 'u3', 'u4'\)"):
        s = summarise(log, calibration_end="2024-01-03")
    assert s.index.tolist() == ["u1", "u2"]
    assert s.attrs["n_excluded"] == 2
    assert frame_hash(log) == before


def test_not_a_dataframe():
    with pytest.raises(TypeError, match="Expected a DataFrame of transactions. Got list instead"):
        clv.rfm_summary([1, 2], "cid", "day")


# --------------------------------------------------------------------------- summaries
@pytest.fixture
def summary() -> pd.DataFrame:
    return pd.DataFrame(
        {"frequency": [2.0, 0.0, 1.0, 3.0], "recency": [5.0, 0.0, 2.0, 7.0], "T": [10.0, 8.0, 9.0, 12.0],
         "monetary_value": [20.0, 0.0, 15.0, 30.0]},
        index=pd.Index(["c1", "c2", "c3", "c4"], name="customer_id"),
    )


def bgnbd_calls(model):
    """Every BG/NBD entry point that reads a summary."""
    return {
        "fit": lambda s: clv.BetaGeo().fit(s),
        "expected_purchases": lambda s: model.expected_purchases(s, t=4.0),
        "probability_alive": lambda s: model.probability_alive(s),
        "log_likelihood": lambda s: model.log_likelihood(s),
    }


BG = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")


@pytest.mark.parametrize("call", list(bgnbd_calls(BG)))
def test_recency_greater_than_T_names_rows_and_fix(summary, call):
    s = summary.copy()
    s.loc[["c3", "c4"], "recency"] = [9.5, 12.5]
    msg = raises_unchanged(s, ClvDataError, r"Column 'recency' must not exceed column 'T'", bgnbd_calls(BG)[call], s)
    assert "2 rows (first: 'c3', 'c4')" in msg and "rfm_summary" in msg


@pytest.mark.parametrize("call", list(bgnbd_calls(BG)))
@pytest.mark.parametrize("bad", [-1.0, 1.5])
def test_negative_or_non_integer_frequency_names_rows(summary, call, bad):
    s = summary.copy()
    s.loc["c2", "frequency"] = bad
    msg = raises_unchanged(s, ClvDataError, r"Column 'frequency' \(repeat purchases x\) must be a whole number >= 0",
                           bgnbd_calls(BG)[call], s)
    assert "1 row (first: 'c2')" in msg


@pytest.mark.parametrize("column", ["recency", "T"])
def test_nan_in_summary_is_named(summary, column):
    s = summary.copy()
    s.loc["c1", column] = np.nan
    msg = raises_unchanged(s, ClvDataError, rf"Column '{column}'", clv.BetaGeo().fit, s)
    assert "'c1'" in msg


def test_missing_summary_column_names_it_and_what_is_there(summary):
    s = summary.drop(columns="T")
    msg = raises_unchanged(s, ClvDataError, r"BG/NBD needs the summary columns .* missing 'T'", clv.BetaGeo().fit, s)
    assert "found: frequency, recency" in msg


def test_non_numeric_summary_column(summary):
    s = summary.copy()
    s["recency"] = s["recency"].astype(object)
    s.loc["c4", "recency"] = "seven"
    raises_unchanged(s, ClvDataError, r"Column 'recency' must be numeric; 1 row \(first: 'c4'\)", clv.BetaGeo().fit, s)


def test_empty_summary(summary):
    s = summary.iloc[:0]
    raises_unchanged(s, ClvDataError, r"summary passed to BG/NBD has no rows", clv.BetaGeo().fit, s)


def test_zero_repeat_customers_passed_to_gamma_gamma_fit(summary):
    msg = raises_unchanged(summary, ClvDataError, r"Column 'frequency' .* must be a whole number >= 1: 1 row \(first: 'c2'\)",
                           clv.GammaGamma().fit, summary)
    assert "summary[summary['frequency'] > 0]" in msg  # the fix


def test_zero_spend_of_a_repeat_buyer_is_refused_by_gamma_gamma_fit(summary):
    s = summary[summary["frequency"] > 0].copy()
    s.loc["c3", "monetary_value"] = 0.0
    raises_unchanged(s, ClvDataError, r"Column 'monetary_value' .* must be finite and > 0: 1 row \(first: 'c3'\)",
                     clv.GammaGamma().fit, s)


def test_gamma_gamma_predicts_for_zero_repeat_customers(summary):
    gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    out = gg.expected_spend(summary)
    assert out.index.equals(summary.index) and np.all(np.isfinite(out))


def test_bad_weights_are_refused(summary):
    with pytest.raises(ValueError, match=r"'weights' parameter must be one finite, non-negative number per summary row \(4 rows\)"):
        clv.BetaGeo().fit(summary, weights=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"'weights' parameter"):
        clv.BetaGeo().fit(summary, weights=[1.0, -2.0, 1.0, 1.0])


def test_out_of_support_parameters_are_named():
    with pytest.raises(ValueError, match=r"The 'a' parameter of BG/NBD must be > 0. Got -0.5 instead."):
        clv.BetaGeo.from_params(r=0.2, alpha=4.0, a=-0.5, b=2.0)
    with pytest.raises(ValueError, match=r"BG/NBD takes the parameters r, alpha, a, b; missing b; unknown beta"):
        clv.BetaGeo.from_params(r=0.2, alpha=4.0, a=0.5, beta=2.0)


def test_observation_end_needs_calibration_end(log):
    raises_unchanged(log, ClvDataError, r"Pass calibration_end together with observation_end",
                     summarise, log, observation_end="2024-01-09")


def test_date_format_reads_other_layouts(log):
    tx = log.copy()
    tx["day"] = pd.to_datetime(tx["day"]).dt.strftime("%d/%m/%Y")
    s = summarise(tx, date_format="%d/%m/%Y", unit="D")
    expected = summarise(log, unit="D")
    pd.testing.assert_frame_equal(s, expected)
    tx.loc[100, "day"] = "2024-01-01"  # one row in another layout is named, not guessed
    raises_unchanged(tx, ClvDataError, r"Column 'day' has 1 missing or unparsable date at 1 row \(first: 100\)",
                     summarise, tx, date_format="%d/%m/%Y")


def test_covariate_named_like_a_parameter_is_refused_with_the_fix():
    # before the check, BG/NBD with a covariate 'b' failed deep in the likelihood with
    # "got multiple values for keyword argument 'b'"
    with pytest.raises(ValueError, match=r"'b' is the name of a BG/NBD parameter or prediction argument, not usable as a "
                                         r"covariate column; rename the covariate \(e.g. 'b_cov'\)"):
        clv.BetaGeo(dropout_covariates=["b"])
    with pytest.raises(ValueError, match=r"'alpha' is the name of a Pareto/NBD parameter"):
        clv.ParetoNBD(purchase_covariates=["alpha"])
    assert clv.BetaGeo(dropout_covariates=["b_cov"]).spec.param_names[-2:] == ("dropout_a:b_cov", "dropout_b:b_cov")
