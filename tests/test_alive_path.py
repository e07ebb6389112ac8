"""A customer's P(alive) over time: against lifetimes' calculate_alive_path and against rfm_summary."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels import plotting
from clvmodels.alive_history import alive_path
from clvmodels.errors import ClvDataError, UnitMismatchError

from reference_values import BGNBD_FHL2005

matplotlib.use("Agg")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    lifetimes = pytest.importorskip("lifetimes")
    from lifetimes.utils import calculate_alive_path

WEEKLY = BGNBD_FHL2005.values(precise=True)
#: the same customers in days: alpha is a time scale (7 times larger), the rest unitless
DAILY = {**WEEKLY, "alpha": WEEKLY["alpha"] * 7.0}


@pytest.fixture
def lifetimes_on_this_pandas(monkeypatch):
    """lifetimes 0.11.3's calculate_alive_path calls Series.fillna(method="ffill"), which pandas
    removed; give it that meaning back (ffill) for the test, leaving its code otherwise as is."""
    original = pd.Series.fillna

    def fillna(self, value=None, *, method=None, **kwargs):
        return self.ffill() if method == "ffill" else original(self, value, **kwargs)

    monkeypatch.setattr(pd.Series, "fillna", fillna)


@pytest.fixture(scope="module")
def customer_6(cdnow_transactions):
    """CDNOW customer 6: 16 purchase days over 18 months."""
    return cdnow_transactions[cdnow_transactions["customer_id"] == 6]


def lifetimes_path(ref, transactions, t):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            path = calculate_alive_path(ref, transactions, "date", t, freq="D")
    # lifetimes' row-wise apply gives a one-element array per age
    return np.array([float(np.squeeze(v)) for v in path])


def test_bgnbd_path_same_as_lifetimes_in_days(customer_6, lifetimes_on_this_pandas):
    ours = clv.BetaGeo.from_params(DAILY, unit="D")
    ref = lifetimes.BetaGeoFitter()
    ref.params_ = pd.Series(DAILY)[["r", "alpha", "a", "b"]]
    path = alive_path(ours, customer_6, t=600)
    expected = lifetimes_path(ref, customer_6, 600)
    assert len(path) == len(expected) == 601
    np.testing.assert_allclose(path["p_alive"].to_numpy(), expected, rtol=1e-10)
    # the path is not trivial: it falls well below 1 between purchases and jumps at them
    assert path["p_alive"].min() < 0.5 and (np.diff(path["p_alive"].to_numpy()) > 0.05).sum() >= 5


def test_pareto_nbd_path_same_as_lifetimes_in_days(customer_6, lifetimes_on_this_pandas):
    params = {"r": 0.55, "alpha": 10.58 * 7, "s": 0.61, "beta": 11.67 * 7}
    ours = clv.ParetoNBD.from_params(params, unit="D")
    ref = lifetimes.ParetoNBDFitter()
    ref.params_ = pd.Series(params)
    path = alive_path(ours, customer_6, t=600, step=1.0)
    expected = lifetimes_path(ref, customer_6, 600)
    np.testing.assert_allclose(path["p_alive"].to_numpy(), expected, rtol=1e-8)


def test_weekly_path_equals_probability_alive_of_rfm_summaries_cut_at_each_age(customer_6):
    # the path at age k weeks is the P(alive) of the summary with calibration_end k weeks after
    # the first purchase: the same purchase-day counting and continuous time as rfm_summary
    bg = clv.BetaGeo.from_params(WEEKLY, unit="W")
    # a second transaction on a purchase day is no second purchase, in either
    log = pd.concat([customer_6, customer_6.iloc[[3]]])
    path = alive_path(bg, log, t=80)
    assert path["frequency"].iloc[-1] == customer_6["date"].nunique() - 1
    first = pd.Timestamp(customer_6["date"].min())
    for k in (0, 3, 10, 11, 37, 60):
        end = first + pd.Timedelta(days=7 * k)
        s = clv.rfm_summary(log, "customer_id", "date", unit="W", calibration_end=end)
        row = path.loc[float(k)]
        assert (row["frequency"], row["recency"], row["T"]) == pytest.approx(
            (s["frequency"].iloc[0], s["recency"].iloc[0], s["T"].iloc[0]), rel=1e-12)
        assert row["p_alive"] == pytest.approx(float(bg.probability_alive(s).iloc[0]), rel=1e-12)
        assert row["date"] == end


def test_path_picks_the_customer_from_a_whole_log(cdnow_transactions, customer_6):
    bg = clv.BetaGeo.from_params(WEEKLY, unit="W")
    whole = alive_path(bg, cdnow_transactions, t=30, customer=6)
    pd.testing.assert_frame_equal(whole, alive_path(bg, customer_6, t=30, customer=6))
    assert whole.attrs["customer"] == 6
    assert whole["new_purchases"].sum() == whole["frequency"].iloc[-1] + 1  # the first purchase counts at age 0


def test_path_from_asymptotic_draws_has_an_interval(cdnow_summary, customer_6):
    bg = clv.BetaGeo().fit(cdnow_summary).sample_asymptotic(200, random_seed=0)
    path = alive_path(bg, customer_6, t=20)
    assert {"p_alive", "p_alive_sd", "p_alive_hdi_lower", "p_alive_hdi_upper"} <= set(path.columns)
    assert (path["p_alive_hdi_lower"] <= path["p_alive"] + 1e-12).all()
    assert (path["p_alive"] <= path["p_alive_hdi_upper"] + 1e-12).all()
    ax = plotting.plot_alive_path(path)
    assert len(ax.collections) == 2  # the HDI band and the purchase lines
    plotting.close(ax)


def test_plot_draws_the_path_and_the_purchase_days(customer_6):
    bg = clv.BetaGeo.from_params(WEEKLY, unit="W")
    path = alive_path(bg, customer_6, t=80, step=0.5, customer=6)
    ax = plotting.plot_alive_path(path)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), path["p_alive"].to_numpy())
    assert len(ax.collections[0].get_segments()) == int((path["new_purchases"] > 0).sum())
    assert "6" in ax.get_title()
    plotting.close(ax)


def test_bad_calls_say_what_to_do(cdnow_transactions, customer_6):
    bg = clv.BetaGeo.from_params(WEEKLY, unit="W")
    with pytest.raises(ClvDataError, match="customer="):
        alive_path(bg, cdnow_transactions, t=10)
    with pytest.raises(ClvDataError, match="No transaction of customer 'nobody'"):
        alive_path(bg, cdnow_transactions, t=10, customer="nobody")
    with pytest.raises(ValueError, match="pass unit="):
        alive_path(clv.BetaGeo.from_params(WEEKLY), customer_6, t=10)
    with pytest.raises(UnitMismatchError, match="fitted in unit 'W'"):
        alive_path(bg, customer_6, t=10, unit="D")
    with pytest.raises(TypeError, match="continuous-time"):
        alive_path(clv.GammaGamma.from_params(p=6.0, q=4.0, gamma=15.0), customer_6, t=10)
    with pytest.raises(ClvDataError, match="date_col"):
        alive_path(bg, customer_6, t=10, date_col="day")
