"""Time units and the first CLV: hand-computed calendar edges and discounting arithmetic.

Sources of truth: the calendar (days in each month), exact day/week arithmetic, and, for
``lifetime_value``, the definition itself — the model's own cumulative expectations at the
period edges, differenced and discounted by hand. (Broader value checks: test_value_extended.py.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels.units import UNIT_DAYS, convert, normalize_unit, period_edges, unit_days

from conftest import frame_hash
from reference_values import BGNBD_FHL2005, GAMMA_GAMMA_FH2013


# --------------------------------------------------------------------------- units
@pytest.mark.parametrize("alias,code", [("D", "D"), ("days", "D"), ("w", "W"), ("Week", "W"), ("months", "M"), (" y ", "Y")])
def test_unit_aliases(alias, code):
    assert normalize_unit(alias) == code


def test_days_and_weeks_are_exact():
    assert unit_days("W") == 7.0 and unit_days("D") == 1.0
    assert convert(14, "D", "W") == 2.0
    assert convert(3, "W", "D") == 21.0
    np.testing.assert_array_equal(period_edges(4, "W", "D"), [7.0, 14.0, 21.0, 28.0])
    np.testing.assert_array_equal(period_edges(3, "D", "W"), np.array([1.0, 2.0, 3.0]) / 7.0)
    # a start date changes nothing for days and weeks
    np.testing.assert_array_equal(period_edges(4, "W", "D", start="1997-09-30"), [7.0, 14.0, 21.0, 28.0])


def test_months_and_years_without_a_start_use_mean_gregorian_lengths():
    # 400 Gregorian years have 146,097 days
    assert UNIT_DAYS["Y"] * 400 == 146097
    assert UNIT_DAYS["M"] * 12 == UNIT_DAYS["Y"]
    np.testing.assert_allclose(period_edges(24, "M", "D")[[11, 23]], [365.2425, 730.485], rtol=1e-15)
    assert convert(1, "M", "W") == pytest.approx(146097 / 400 / 12 / 7, rel=1e-15)


@pytest.mark.parametrize(
    "start,days_in_months",
    [
        # the day after calibration_end begins period 1
        ("1997-09-30", [31, 30, 31, 31, 28, 31]),  # Oct, Nov, Dec 1997, Jan, Feb, Mar 1998
        ("1999-12-31", [31, 29, 31]),  # Jan, Feb (leap), Mar 2000
        ("2024-01-31", [29, 31, 30]),  # Feb (leap), Mar, Apr 2024
        ("1997-09-15", [30, 31, 30]),  # Sep 16-Oct 15, Oct 16-Nov 15, Nov 16-Dec 15
    ],
)
def test_calendar_month_edges_from_calibration_end(start, days_in_months):
    edges = period_edges(len(days_in_months), "M", "D", start=start)
    np.testing.assert_array_equal(edges, np.cumsum(days_in_months))
    np.testing.assert_allclose(period_edges(len(days_in_months), "M", "W", start=start), np.cumsum(days_in_months) / 7,
                               rtol=1e-15)


def test_calendar_year_edges_count_leap_days():
    np.testing.assert_array_equal(period_edges(3, "Y", "D", start="1998-12-31"), [365, 731, 1096])  # 2000 is leap


def test_bad_units_and_horizons_are_named():
    with pytest.raises(ValueError, match=r"The 'model_unit' parameter must be one of .* Got 'minutes'"):
        period_edges(2, "M", "minutes")  # hours are a unit now
    with pytest.raises(ValueError, match=r"'horizon' parameter must be a whole number of periods >= 1. Got 0"):
        period_edges(0, "M", "W")
    with pytest.raises(ValueError, match=r"Got 2.5 instead"):
        period_edges(2.5, "M", "W")


# --------------------------------------------------------------------------- lifetime value
@pytest.fixture(scope="module")
def bg():
    return clv.BetaGeo.from_params(BGNBD_FHL2005.values(precise=True), unit="W")


@pytest.fixture(scope="module")
def gg():
    return clv.GammaGamma.from_params(GAMMA_GAMMA_FH2013.values())


@pytest.fixture
def customers() -> pd.DataFrame:
    s = pd.DataFrame(
        {"frequency": [2.0, 0.0, 7.0], "recency": [30.43, 0.0, 38.0], "T": [38.86, 20.0, 38.86],
         "monetary_value": [20.0, 0.0, 55.5]},
        index=pd.Index(["x", "y", "z"], name="customer_id"),
    )
    s.attrs.update(unit="W", calibration_end="1997-09-30")
    return s


def test_lifetime_value_is_the_discounted_sum_of_monthly_increments(bg, gg, customers):
    # hand-computed: months of 31, 30, 31 days after Sep 30; purchases in month k discounted by 1.02^k
    edges_weeks = np.cumsum([31, 30, 31]) / 7
    cumulative = [bg.expected_purchases(customers, t=t) for t in edges_weeks]
    increments = [cumulative[0], cumulative[1] - cumulative[0], cumulative[2] - cumulative[1]]
    expected = 0.3 * gg.expected_spend(customers) * sum(inc / 1.02 ** k for k, inc in enumerate(increments, start=1))
    got = clv.lifetime_value(bg, gg, customers, horizon=3, unit="M", discount_rate=0.02, margin=0.3)
    assert got.index.equals(customers.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-13)


def test_undiscounted_lifetime_value_is_spend_times_purchases_over_the_horizon(bg, gg, customers):
    got = clv.lifetime_value(bg, gg, customers, horizon=12, unit="M", discount_rate=0.0)
    expected = gg.expected_spend(customers) * bg.expected_purchases(customers, t=365 / 7)  # Oct 1997 - Sep 1998
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12)


def test_weekly_periods_in_a_daily_model_are_exact(gg, customers):
    bg_days = clv.BetaGeo.from_params(r=0.2425945, alpha=4.4136019 * 7, a=0.7929199, b=2.4258881, unit="D")
    in_days = customers.copy()
    in_days[["recency", "T"]] *= 7.0
    in_days.attrs.update(unit="D")
    bg_weeks = clv.BetaGeo.from_params(BGNBD_FHL2005.values(precise=True), unit="W")
    # the same process in days (alpha scales with the unit) gives the same weekly CLV
    a = clv.lifetime_value(bg_days, gg, in_days, horizon=10, unit="W", discount_rate=0.01)
    b = clv.lifetime_value(bg_weeks, gg, customers, horizon=10, unit="W", discount_rate=0.01)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-10)


def test_mean_gregorian_months_when_no_calendar_start_is_known(bg, gg, customers):
    no_dates = customers.copy()
    no_dates.attrs.clear()
    got = clv.lifetime_value(bg, gg, no_dates, horizon=12, unit="M", discount_rate=0.0, model_unit="W")
    expected = gg.expected_spend(no_dates) * bg.expected_purchases(no_dates, t=365.2425 / 7)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12)


def test_unknown_model_unit_is_an_error_with_the_fix(gg, customers):
    unitless = clv.BetaGeo.from_params(BGNBD_FHL2005.values(precise=True))
    no_dates = customers.copy()
    no_dates.attrs.clear()
    with pytest.raises(ValueError, match=r"time unit of the transaction model is unknown.*model_unit='W'"):
        clv.lifetime_value(unitless, gg, no_dates, horizon=3, unit="M")


def test_customer_equity_is_the_sum_and_margin_scales_linearly(bg, gg, customers):
    kw = dict(horizon=12, unit="M", discount_rate=0.01)
    clv_full = clv.lifetime_value(bg, gg, customers, **kw)
    assert clv.customer_equity(bg, gg, customers, **kw) == pytest.approx(float(clv_full.sum()), rel=1e-14)
    half = clv.lifetime_value(bg, gg, customers, margin=0.5, **kw)
    np.testing.assert_allclose(half.to_numpy(), 0.5 * clv_full.to_numpy(), rtol=1e-15)


def test_higher_discount_rate_lowers_every_customers_value(bg, gg, customers):
    low = clv.lifetime_value(bg, gg, customers, horizon=24, unit="M", discount_rate=0.005)
    high = clv.lifetime_value(bg, gg, customers, horizon=24, unit="M", discount_rate=0.05)
    assert np.all(high.to_numpy() < low.to_numpy())


def test_bad_discount_rate_is_named(bg, gg, customers):
    with pytest.raises(ValueError, match=r"'discount_rate' parameter must be a rate per period > -1. Got -1.5"):
        clv.lifetime_value(bg, gg, customers, discount_rate=-1.5)


def test_lifetime_value_on_cdnow_leaves_the_summary_unchanged(bg, gg, cdnow_summary):
    s = cdnow_summary.copy(deep=True)
    before = frame_hash(s)
    v = clv.lifetime_value(bg, gg, s, horizon=12, unit="M", discount_rate=0.01)
    clv.customer_equity(bg, gg, s, horizon=12, unit="M", discount_rate=0.01)
    assert frame_hash(s) == before
    assert v.index.equals(s.index) and np.all(np.isfinite(v.to_numpy())) and np.all(v.to_numpy() > 0)
