"""The ``clvmodels`` command line, end to end.

Sources of truth: the published CDNOW estimates (``reference_values.py``), the Python API
(the CLI must give exactly what the library gives for the same data and options), and the
data sets' documented sizes. Most commands run in-process through Typer's ``CliRunner``; the
installed ``clvmodels`` script runs as a real subprocess at least once per command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvmodels as clv
from clvmodels.cli import app

from reference_values import BGNBD_FHL2005, CDNOW, GAMMA_GAMMA_FH2013, printed_rtol, value

runner = CliRunner()

# the script pip installed next to the interpreter running the tests (the venv's bin/)
SCRIPT = Path(sys.executable).with_name("clvmodels.exe" if os.name == "nt" else "clvmodels")
APPAREL = "apparel_transactions.csv"
APPAREL_CUSTOMERS = 600  # shared/data/README.md: one cohort of 600 customers


def invoke(*args: str):
    return runner.invoke(app, list(args))


def run_script(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    assert SCRIPT.exists(), f"the clvmodels script is not installed at {SCRIPT}; pip install -e . first"
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, "COLUMNS": "100"})


def fit_json(*args: str) -> dict:
    result = invoke("fit", *args, "--json")
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def assert_published(params: dict, published) -> None:
    for name, printed in published.params.items():
        np.testing.assert_allclose(params[name], value(printed), rtol=printed_rtol(printed), err_msg=name)


@pytest.fixture(scope="module")
def cdnow_bgnbd_json() -> dict:
    return fit_json("--dataset", "cdnow", "--model", "bgnbd")


# --------------------------------------------------------------------------- help
def test_help_lists_every_command_and_each_command_help_has_an_example():
    top = invoke("--help")
    assert top.exit_code == 0
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"demo", "fit"} <= set(commands)
    for name in commands:
        assert name in top.stdout
        sub = invoke(name, "--help")
        assert sub.exit_code == 0, sub.output
        assert "Example" in sub.stdout and f"clvmodels {name}" in sub.stdout, f"'{name} --help' shows no example"


def test_installed_script_help_and_version_run_as_subprocess():
    result = run_script("--help")
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout and "fit" in result.stdout
    version = run_script("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"clvmodels {clv.__version__}"


# --------------------------------------------------------------------------- fit --json
def test_fit_bgnbd_json_on_cdnow_matches_FHL2005(cdnow_bgnbd_json):
    out = cdnow_bgnbd_json
    assert out["model"] == "bgnbd" and out["converged"] is True
    assert out["n_customers"] == CDNOW["n_customers"]
    assert set(out["params"]) == set(out["se"]) == {"r", "alpha", "a", "b"}
    assert all(se > 0 for se in out["se"].values())
    assert_published(out["params"], BGNBD_FHL2005)
    np.testing.assert_allclose(out["loglik"], value(BGNBD_FHL2005.loglik_precise),
                               rtol=printed_rtol(BGNBD_FHL2005.loglik_precise))


def test_fit_gamma_gamma_json_on_cdnow_matches_FH2013_and_reports_left_out_customers():
    out = fit_json("--dataset", "cdnow", "--model", "gamma-gamma")
    assert out["model"] == "gamma_gamma" and out["converged"] is True
    assert out["n_customers"] == CDNOW["n_repeat_buyers"]
    assert out["n_left_out"] == CDNOW["n_zero_frequency"]
    assert str(CDNOW["n_zero_frequency"]) in out["left_out_reason"]
    assert_published(out["params"], GAMMA_GAMMA_FH2013)
    np.testing.assert_allclose(out["loglik"], value(GAMMA_GAMMA_FH2013.loglik),
                               rtol=printed_rtol(GAMMA_GAMMA_FH2013.loglik))


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_fit_from_file_with_renamed_columns_equals_bundled_dataset(tmp_path, cdnow_transactions, cdnow_bgnbd_json,
                                                                   suffix):
    path = tmp_path / f"log{suffix}"
    renamed = cdnow_transactions.rename(columns={"customer_id": "cust", "date": "day", "amount": "usd"})
    renamed = renamed.assign(day=renamed["day"].dt.strftime("%Y-%m-%d"))
    if suffix == ".parquet":
        renamed.to_parquet(path)
    else:
        renamed.to_csv(path, index=False)
    out = fit_json(str(path), "--customer", "cust", "--date", "day", "--amount", "usd", "--unit", "W",
                   "--calibration-end", "1997-09-30", "--model", "bgnbd")
    assert out["n_customers"] == cdnow_bgnbd_json["n_customers"]
    for name, v in cdnow_bgnbd_json["params"].items():
        np.testing.assert_allclose(out["params"][name], v, rtol=1e-9, err_msg=name)


def test_fit_apparel_csv_by_installed_script_equals_python_api(shared_data):
    path = shared_data / APPAREL
    result = run_script("fit", str(path), "--customer", "customer_id", "--date", "date", "--amount", "amount",
                        "--unit", "W", "--calibration-end", "2008-12-31", "--model", "bgnbd", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, "--json must print exactly one JSON object"
    out = json.loads(lines[0])

    tx = pd.read_csv(path)
    summary = clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end="2008-12-31")
    expected = clv.BetaGeo().fit(summary)
    assert out["n_customers"] == APPAREL_CUSTOMERS == expected.n_customers_
    assert out["converged"] is True and out["calibration_end"] == "2008-12-31"
    for name, v in expected.params_.items():
        np.testing.assert_allclose(out["params"][name], v, rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(out["loglik"], expected.loglik_, rtol=1e-12)


def test_fit_gamma_gamma_on_apparel_leaves_out_one_time_buyers(shared_data):
    out = fit_json(str(shared_data / APPAREL), "--model", "gamma-gamma", "--calibration-end", "2008-12-31")
    summary = clv.rfm_summary(pd.read_csv(shared_data / APPAREL), "customer_id", "date", "amount", unit="W",
                              calibration_end="2008-12-31")
    one_timers = int((summary["frequency"] == 0).sum())
    assert 0 < one_timers < APPAREL_CUSTOMERS
    assert out["n_left_out"] == one_timers
    assert out["n_customers"] + out["n_left_out"] == APPAREL_CUSTOMERS
    assert out["converged"] is True


def test_fit_table_output_and_save_give_a_loadable_model(tmp_path):
    target = tmp_path / "bg.json"
    result = invoke("fit", "--dataset", "cdnow", "--save", str(target))
    assert result.exit_code == 0, result.output
    assert "BG/NBD" in result.stdout and "log-likelihood -9582.4" in result.stdout
    assert_published(clv.load_model(target).params_, BGNBD_FHL2005)


# --------------------------------------------------------------------------- demo
def test_demo_writes_forecast_models_and_equity(tmp_path):
    out_dir = tmp_path / "out"
    result = invoke("demo", "--output", str(out_dir))
    assert result.exit_code == 0, result.output + result.stderr
    assert "Customer equity" in result.stdout and "-9582.4" in result.stdout

    forecast = pd.read_csv(out_dir / "forecast.csv", index_col="customer_id")
    assert forecast.columns.tolist() == ["frequency", "recency", "T", "monetary_value", "p_alive",
                                         "expected_purchases_12m", "expected_spend", "clv_12m", "clv_if_active_12m"]
    assert len(forecast) == CDNOW["n_customers"]
    assert forecast["frequency"].sum() == CDNOW["sum_frequency"]
    assert forecast["p_alive"].between(0, 1).all() and (forecast["clv_12m"] >= 0).all()

    record = json.loads((out_dir / "summary.json").read_text())
    assert record["clv"]["discount_rate_per_period"] == 0.01 and record["clv"]["horizon"] == 12
    assert record["clv"]["horizon_unit"] == "M" and record["clv"]["column"] == "clv_12m"
    # the CSV is written to 6 significant digits
    np.testing.assert_allclose(record["customer_equity"], forecast["clv_12m"].sum(), rtol=1e-5)
    assert f"{record['customer_equity']:,.2f}" in result.stdout

    bg, gg = clv.load_model(out_dir / "bgnbd.json"), clv.load_model(out_dir / "gamma_gamma.json")
    assert_published(bg.params_, BGNBD_FHL2005)
    assert_published(gg.params_, GAMMA_GAMMA_FH2013)
    # the stated discount rate is the one used: the library at the saved models agrees
    s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
                        calibration_end="1997-09-30")
    equity = clv.customer_equity(bg, gg, s, horizon=12, unit="M", discount_rate=0.01)
    np.testing.assert_allclose(record["customer_equity"], equity, rtol=1e-9)
    # the newcomer's first run shows the product: the report beside the forecasts, its path printed
    report = out_dir / "report.html"
    assert f"Report written to {report}" in result.stdout
    page = report.read_text(encoding="utf-8")
    assert page.index('<section id="summary">') < page.index('<section id="customer-equity">')
    assert f"${equity:,.0f}" in page and '<section id="holdout">' in page


def test_demo_runs_as_installed_script_with_default_output_folder(tmp_path):
    result = run_script("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "clv-output").iterdir()) == [
        "bgnbd.json", "forecast.csv", "gamma_gamma.json", "report.customers.csv", "report.html", "summary.json"]


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["fit", "--dataset", "cdnow", "--customer", "cust"], "no column 'cust' (given by --customer)"),
        (["fit"], "either a TRANSACTIONS file or --dataset"),
        (["fit", "missing.csv"], "'missing.csv' does not exist"),
        (["fit", "--dataset", "cdnow", "--model", "no-such-model"], "Unknown model 'no-such-model'"),
        (["fit", "--dataset", "cdnow", "--method", "no-such-method"], "available: mle"),
        (["fit", "--dataset", "nope"], "Unknown dataset 'nope'"),
        (["fit", "--dataset", "cdnow", "--calibration-end", "1990-01-01"], "before the first purchase"),
        (["fit", "--dataset", "cdnow", "--unit", "fortnight"], "'unit' parameter must be one of"),
        (["demo", "--discount-rate", "-2"], "--discount-rate must be"),
    ],
)
def test_bad_input_gives_one_line_error_and_exit_code_1(args, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_file_extension_is_named(tmp_path):
    path = tmp_path / "log.xlsx"
    path.write_text("x")
    result = invoke("fit", str(path))
    assert result.exit_code == 1 and "extension" in result.stderr and ".parquet" in result.stderr


def test_spend_model_without_amount_column_says_to_pass_amount(tmp_path, cdnow_transactions):
    path = tmp_path / "log.csv"
    cdnow_transactions[["customer_id", "date"]].to_csv(path, index=False)
    result = invoke("fit", str(path), "--calibration-end", "1997-09-30", "--model", "gamma-gamma")
    assert result.exit_code == 1
    assert "monetary_value" in result.stderr and "--amount COLUMN" in result.stderr


def test_debug_flag_anywhere_shows_the_original_exception():
    for args in (["--debug", "fit", "--dataset", "cdnow", "--unit", "Q"], ["fit", "--dataset", "cdnow", "--unit", "Q",
                                                                          "--debug"]):
        result = invoke(*args)
        assert result.exit_code != 0
        assert isinstance(result.exception, ValueError) and "'unit' parameter" in str(result.exception)


def test_installed_script_error_is_one_line_without_traceback(shared_data):
    result = run_script("fit", str(shared_data / APPAREL), "--date", "when")
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "no column 'when' (given by --date)" in result.stderr
    debug = run_script("fit", str(shared_data / APPAREL), "--date", "when", "--debug")
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_usage_errors_keep_clicks_exit_code_2():
    result = invoke("fit", "--no-such-option")
    assert result.exit_code == 2


def test_fit_leaves_the_input_file_unchanged(tmp_path, cdnow_transactions):
    path = tmp_path / "log.csv"
    cdnow_transactions.to_csv(path, index=False)
    before = path.read_bytes()
    assert invoke("fit", str(path), "--calibration-end", "1997-09-30", "--json").exit_code == 0
    assert path.read_bytes() == before
