"""Issue 10 section 1: a model fitted in one time unit refuses a summary in another, in every call.

The reproduction of the issue: a BG/NBD fitted on a weekly CDNOW summary and applied to the
daily summary of the same log gave a customer equity of 14,180 instead of 75,873 without an
error. Every prediction, value, evaluation, plot and report call now raises
:class:`~clvmodels.errors.UnitMismatchError` naming both units and the fix.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import clvmodels as clv  # noqa: E402
from clvmodels import evaluation, plotting, value  # noqa: E402
from clvmodels.errors import UnitMismatchError  # noqa: E402


@pytest.fixture(scope="module")
def weekly_fit_daily_summary():
    tx = clv.datasets.load_cdnow()
    s_w = clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end="1997-09-30",
                          observation_end="1998-06-30")
    s_d = clv.rfm_summary(tx, "customer_id", "date", "amount", unit="D", calibration_end="1997-09-30",
                          observation_end="1998-06-30")
    bg = clv.BetaGeo().fit(s_w)
    gg = clv.GammaGamma().fit(s_w[s_w.frequency > 0])
    return tx, s_w, s_d, bg, gg


CALLS = {
    "expected_purchases": lambda tx, s, bg, gg, tmp: bg.expected_purchases(s, t=39),
    "probability_alive": lambda tx, s, bg, gg, tmp: bg.probability_alive(s),
    "conditional pmf": lambda tx, s, bg, gg, tmp: bg.conditional_probability_of_purchases(s, 1, t=39),
    "dert": lambda tx, s, bg, gg, tmp: bg.discounted_expected_transactions(s, discount_rate=0.01),
    "lifetime_value": lambda tx, s, bg, gg, tmp: value.lifetime_value(bg, gg, s),
    "customer_equity": lambda tx, s, bg, gg, tmp: clv.customer_equity(bg, gg, s),
    "clv_table": lambda tx, s, bg, gg, tmp: value.clv_table(bg, gg, s),
    "score_table": lambda tx, s, bg, gg, tmp: value.score_table(bg, gg, s),
    "equity by cohort": lambda tx, s, bg, gg, tmp: value.customer_equity_by_cohort(bg, gg, s),
    "asymptotic draws": lambda tx, s, bg, gg, tmp: bg.sample_asymptotic(20, random_seed=0).expected_purchases(s, t=1),
    "log_likelihood": lambda tx, s, bg, gg, tmp: bg.log_likelihood(s),
    "conditional_expectations": lambda tx, s, bg, gg, tmp: evaluation.conditional_expectations(bg, s),
    "holdout_errors": lambda tx, s, bg, gg, tmp: evaluation.holdout_errors(bg, s),
    "p_alive_calibration": lambda tx, s, bg, gg, tmp: evaluation.p_alive_calibration(bg, s),
    "tracking": lambda tx, s, bg, gg, tmp: evaluation.tracking(bg, s, tx),
    "calibration_histogram": lambda tx, s, bg, gg, tmp: evaluation.calibration_histogram(bg, s),
    "plot_calibration_histogram": lambda tx, s, bg, gg, tmp: plotting.plot_calibration_histogram(bg, s),
    "plot_probability_alive_matrix": lambda tx, s, bg, gg, tmp: plotting.plot_probability_alive_matrix(bg, s),
    "report": lambda tx, s, bg, gg, tmp: clv.report(bg, gg, s, tmp / "r.html"),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_a_weekly_fit_refuses_a_daily_summary_naming_both_units(name, weekly_fit_daily_summary, tmp_path):
    tx, _, s_d, bg, gg = weekly_fit_daily_summary
    with pytest.raises(UnitMismatchError, match=r"in days .* fitted in weeks .*rfm_summary\(\.\.\., unit='W'\)"):
        CALLS[name](tx, s_d, bg, gg, tmp_path)
    plt.close("all")


def test_the_issue_reproduction_gives_the_weekly_equity_or_an_error(weekly_fit_daily_summary):
    _, s_w, s_d, bg, gg = weekly_fit_daily_summary
    # 12 months undiscounted, as the issue computed it (the default rate is 1 % a month)
    assert clv.customer_equity(bg, gg, s_w, horizon=12, unit="M", discount_rate=0.0) == pytest.approx(75873.35, abs=0.01)
    with pytest.raises(UnitMismatchError):
        clv.customer_equity(bg, gg, s_d)


def test_a_summary_of_unknown_unit_is_read_in_the_models_unit(weekly_fit_daily_summary, tmp_path):
    _, s_w, _, bg, gg = weekly_fit_daily_summary
    path = tmp_path / "s.csv"
    s_w.to_csv(path)
    plain = pd.read_csv(path, index_col=0)  # a CSV round trip loses attrs
    assert "unit" not in plain.attrs
    pd.testing.assert_series_equal(bg.expected_purchases(plain, t=39), bg.expected_purchases(s_w, t=39))
    # with the calibration end declared again, months are cut at calendar boundaries as before
    again = clv.with_unit(plain, "W", calibration_end="1997-09-30")
    assert clv.customer_equity(bg, gg, again) == pytest.approx(clv.customer_equity(bg, gg, s_w), rel=1e-12)
    restored = clv.with_unit(plain, "D")  # declared wrongly: now refused
    with pytest.raises(UnitMismatchError):
        clv.customer_equity(bg, gg, restored)
