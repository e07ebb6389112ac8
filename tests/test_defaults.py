"""One default unit, horizon and discount rate (clvmodels.defaults) across the API, the CLI, the demo and the
report; every forecasting command states its settings and the customer equity; one column-naming rule.

The agreement is checked by running both sides with their defaults on the same log and comparing the
numbers, not only by reading the declared defaults.
"""

from __future__ import annotations

import inspect
import json
import re

import click
import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import clvmodels as clv
from clvmodels import defaults, segments, value
from clvmodels.cli import app

runner = CliRunner()
CAL_END = "1997-09-30"


def invoke(*args) -> object:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output + result.stderr
    return result


@pytest.fixture(scope="module")
def log_file(tmp_path_factory):
    """The CDNOW sample as a plain CSV: a file, so the CLI has no data-set convention and uses its defaults."""
    path = tmp_path_factory.mktemp("log") / "transactions.csv"
    clv.datasets.load_cdnow().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def api_fit(log_file):
    """What a Python user gets with every default: summary, both models, CLV."""
    tx = pd.read_csv(log_file, dtype={"customer_id": str})
    s = clv.rfm_summary(tx, "customer_id", "date", "amount", calibration_end=CAL_END)
    bg = clv.BetaGeo().fit(s)
    gg = clv.GammaGamma().fit(s[(s["frequency"] > 0) & (s["monetary_value"] > 0)])
    return s, bg, gg


def _command(name: str) -> click.Command:
    return typer.main.get_command(app).commands[name]


def _default(name: str, option: str):
    return next(p.default for p in _command(name).params if option in getattr(p, "opts", ()))


def test_declared_defaults_are_the_shared_ones():
    api = {f: inspect.signature(f).parameters for f in (value.lifetime_value, value.clv_table, value.score_table,
                                                        clv.report, clv.value_interval)}
    for fn, params in api.items():
        assert params["horizon"].default == defaults.HORIZON, fn.__name__
        assert params["unit"].default == defaults.HORIZON_UNIT, fn.__name__
        assert params["discount_rate"].default == defaults.DISCOUNT_RATE, fn.__name__
        assert params["margin"].default == defaults.MARGIN, fn.__name__
    assert inspect.signature(clv.rfm_summary).parameters["unit"].default == defaults.UNIT
    assert inspect.signature(segments.rfm_scores).parameters["unit"].default == defaults.UNIT
    for command in ("predict", "report", "demo"):
        assert _default(command, "--horizon") == defaults.HORIZON, command
        assert _default(command, "--horizon-unit") == defaults.HORIZON_UNIT, command
        assert _default(command, "--discount-rate") == defaults.DISCOUNT_RATE, command
    # the conventions chosen (documented in docs/pages/value.md and cli.md): weeks, 12 months at 1 % a month
    assert (defaults.UNIT, defaults.HORIZON, defaults.HORIZON_UNIT, defaults.DISCOUNT_RATE) == ("W", 12, "M", 0.01)


def test_cli_predict_with_defaults_gives_the_api_clv_with_defaults(log_file, api_fit, tmp_path):
    s, bg, gg = api_fit
    out = tmp_path / "scores.csv"
    result = invoke("predict", log_file, "--calibration-end", CAL_END, "--output", out)
    scores = pd.read_csv(out, index_col="customer_id", dtype={"customer_id": str})
    expected = clv.lifetime_value(bg, gg, s)  # every default
    assert bg.unit_ == "W" and s.attrs["unit"] == "W"
    np.testing.assert_allclose(scores["clv_12m"], expected.loc[scores.index], rtol=1e-6)
    # the discount is applied: undiscounted, the same CLV is larger for every buyer
    undiscounted = clv.lifetime_value(bg, gg, s, discount_rate=0.0).loc[scores.index]
    assert (undiscounted[scores["clv_12m"] > 0] > scores["clv_12m"][scores["clv_12m"] > 0]).all()
    equity = clv.customer_equity(bg, gg, s)
    assert f"Customer equity: {equity:,.2f} (sum of 12-month CLV of 2,357 customers)." in result.stdout


def test_demo_and_api_agree_on_the_defaults(tmp_path):
    invoke("demo", "--output", tmp_path)
    record = json.loads((tmp_path / "summary.json").read_text())
    s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", calibration_end=CAL_END)
    bg, gg = clv.load_model(tmp_path / "bgnbd.json"), clv.load_model(tmp_path / "gamma_gamma.json")
    np.testing.assert_allclose(record["customer_equity"], clv.customer_equity(bg, gg, s), rtol=1e-9)
    assert record["clv"] == {"horizon": 12, "horizon_unit": "M", "discount_rate_per_period": 0.01, "margin": 1.0,
                             "column": "clv_12m"}


def test_demo_and_predict_write_the_same_columns_for_the_same_request(tmp_path):
    request = ("--horizon", "6", "--horizon-unit", "W", "--discount-rate", "0.002")
    invoke("demo", "--output", tmp_path / "demo", *request)
    invoke("predict", "--dataset", "cdnow", *request, "--output", tmp_path / "scores.csv")
    forecast = pd.read_csv(tmp_path / "demo" / "forecast.csv", index_col=0)
    scores = pd.read_csv(tmp_path / "scores.csv", index_col=0)
    assert forecast.columns.tolist() == scores.columns.tolist()
    assert {"expected_purchases_6w", "clv_6w", "clv_if_active_6w", "p_alive", "expected_spend"} <= set(scores.columns)
    # the same numbers too (the demo's CSV holds 6 significant digits)
    np.testing.assert_allclose(forecast.loc[scores.index, "clv_6w"], scores["clv_6w"], rtol=1e-5)
    # the report's per-customer CSV follows the same rule
    customers = pd.read_csv(tmp_path / "demo" / "report.customers.csv", index_col=0)
    assert {"expected_purchases_6w", "clv_6w", "clv_6w_hdi_lower", "clv_6w_hdi_upper"} <= set(customers.columns)
    assert not {"clv", "expected_purchases"} & set(customers.columns)


def test_forecasting_commands_state_their_settings_and_the_equity(tmp_path):
    out = tmp_path / "scores.json"
    result = invoke("predict", "--dataset", "cdnow", "--horizon", "26", "--horizon-unit", "W",
                    "--discount-rate", "0.0025", "--margin", "0.3", "--output", out)
    lines = result.stdout.strip().splitlines()
    assert lines[0] == ("Settings: BG/NBD + Gamma-Gamma (mle); unit weeks; calibration end 1997-09-30; horizon 26 "
                        "weeks; discount rate 0.25% per week; margin 30%.")
    records = pd.DataFrame(json.loads(out.read_text()))
    total = float(re.match(r"Customer equity: ([\d,.]+) ", lines[1]).group(1).replace(",", ""))
    assert total == pytest.approx(records["clv_26w"].sum(), abs=0.005)
    assert len(lines) == 3 and lines[2].startswith("Scores of 2,357 customers written to")

    html = tmp_path / "r.html"
    result = invoke("report", "--dataset", "cdnow", "--currency", "$", "--output", html)
    settings, equity = result.stdout.strip().splitlines()[:2]
    assert settings == ("Settings: BG/NBD + Gamma-Gamma (mle); unit weeks; calibration end 1997-09-30; horizon 12 "
                        "months; discount rate 1% per month; margin 100%.")
    table = pd.read_csv(tmp_path / "r.customers.csv")
    assert equity == f"Customer equity: ${table['clv_12m'].sum():,.2f} (sum of 12-month CLV of 2,357 customers)."


def test_predict_without_amounts_says_there_is_no_equity(tmp_path):
    tx = clv.datasets.load_cdnow()[["customer_id", "date"]]
    tx.to_csv(tmp_path / "no_amounts.csv", index=False)
    result = invoke("predict", tmp_path / "no_amounts.csv", "--calibration-end", CAL_END)
    first, second = result.stdout.splitlines()[:2]
    assert first.startswith("Settings: BG/NBD (mle); unit weeks; calibration end 1997-09-30;")
    assert second.startswith("Customer equity: not computed (no spend model")
    assert "expected_purchases_12m" in result.stdout


@pytest.mark.parametrize(("name", "horizon", "unit", "expected"), [
    ("clv", 12, "M", "clv_12m"), ("clv_sd", 12, "M", "clv_12m_sd"), ("clv_hdi_upper", 3, "Y", "clv_3y_hdi_upper"),
    ("clv_if_active", 52, "weeks", "clv_if_active_52w"), ("expected_purchases_hdi_lower", 7, "D",
                                                          "expected_purchases_7d_hdi_lower"),
    ("purchases_lower", 12, "M", "purchases_12m_lower"), ("value_upper", 12, "M", "value_12m_upper"),
    ("value_at_risk", 12, "M", "value_at_risk_12m"),
    # the realised discounted value (clvmodels.predictive.value_interval) is its own quantity, like purchases
    ("clv_realised_lower", 12, "M", "clv_realised_12m_lower"),
    ("clv_realised_coverage", 52, "W", "clv_realised_52w_coverage"),
    # not over the horizon: unchanged
    ("p_alive", 12, "M", "p_alive"), ("monetary_value", 12, "M", "monetary_value"),
    ("frequency_holdout", 12, "M", "frequency_holdout"), ("expected_spend_sd", 12, "M", "expected_spend_sd"),
    ("clvx", 12, "M", "clvx"),
])
def test_one_naming_rule_for_horizon_columns(name, horizon, unit, expected):
    assert value.horizon_column(name, horizon, unit) == expected
