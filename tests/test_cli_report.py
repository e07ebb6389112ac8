"""``clvmodels summarize``, ``predict``, ``report`` and ``fit --method mcmc|advi``, end to end.

Run on the bundled CDNOW log and on the shared apparel retailer's log (600 customers, six
years). Sources of truth: the Python API (the CLI must give what the library gives for the
same data and options), the data sets' documented sizes and the maximum-likelihood fit (for
the tiny posterior runs). MCMC is kept tiny; those tests are marked slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvmodels as clv
from clvmodels.cli import app
from clvmodels.reporting import customer_table

from conftest import cdnow_summary_copy

runner = CliRunner()
SCRIPT = Path(sys.executable).with_name("clvmodels.exe" if os.name == "nt" else "clvmodels")
APPAREL_CUSTOMERS = 600  # shared/data/README.md
APPAREL_CAL_END = "2008-12-31"
APPAREL_OBS_END = "2010-12-20"  # the last day of the apparel log (README)


def invoke(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def ok(*args: str):
    result = invoke(*args)
    assert result.exit_code == 0, result.output + result.stderr
    return result


def read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, index_col=0)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    frame = pd.DataFrame(json.loads(path.read_text()))
    return frame.set_index(frame.columns[0])


@pytest.fixture(scope="module")
def apparel(shared_data) -> Path:
    return shared_data / "apparel_transactions.csv"


@pytest.fixture(scope="module")
def apparel_summary(apparel) -> pd.DataFrame:
    tx = pd.read_csv(apparel)
    return clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end=APPAREL_CAL_END,
                           observation_end=APPAREL_OBS_END)


# --------------------------------------------------------------------------- help
@pytest.mark.parametrize("command", ["summarize", "predict", "report", "fit"])
def test_help_shows_an_example(command):
    result = ok(command, "--help")
    assert "Example" in result.stdout and f"clvmodels {command}" in result.stdout


def test_fit_help_offers_the_three_methods():
    text = " ".join(ok("fit", "--help").stdout.split())
    for method in ("mle", "mcmc", "advi"):
        assert method in text


# --------------------------------------------------------------------------- summarize
@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_summarize_cdnow_writes_the_python_summary(tmp_path, suffix):
    out = tmp_path / f"summary{suffix}"
    result = ok("summarize", "--dataset", "cdnow", "--observation-end", "1998-06-30", "--output", out)
    assert "2,357 customers" in result.stdout
    expected = cdnow_summary_copy()
    got = read_table(out)
    assert got.index.astype(int).tolist() == expected.index.tolist()
    np.testing.assert_allclose(got[expected.columns].to_numpy(dtype=float), expected.to_numpy(dtype=float), rtol=1e-12)


def test_summarize_apparel_csv_equals_the_python_summary(tmp_path, apparel, apparel_summary):
    out = tmp_path / "apparel.parquet"
    ok("summarize", apparel, "--unit", "W", "--calibration-end", APPAREL_CAL_END, "--observation-end",
       APPAREL_OBS_END, "--output", out)
    got = pd.read_parquet(out)
    assert len(got) == APPAREL_CUSTOMERS
    # the CLI reads ids as the text in the file (docs/pages/input-rules.md): the Python summary of the same text
    tx = pd.read_csv(apparel, dtype={"customer_id": str})
    expected = clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end=APPAREL_CAL_END,
                               observation_end=APPAREL_OBS_END)
    pd.testing.assert_frame_equal(got, expected, check_like=False)
    assert got.attrs == expected.attrs  # the unit and window travel in the Parquet file
    np.testing.assert_array_equal(got.loc[apparel_summary.index.astype(str)].to_numpy(), apparel_summary.to_numpy())


def test_summarize_without_output_prints_statistics():
    result = ok("summarize", "--dataset", "cdnow")
    assert "2,357 customers" in result.stdout and "frequency" in result.stdout


# --------------------------------------------------------------------------- predict
def test_predict_cdnow_scores_equal_the_python_api(tmp_path):
    out = tmp_path / "scores.csv"
    ok("predict", "--dataset", "cdnow", "--horizon", "12", "--discount-rate", "0.01", "--output", out)
    scores = pd.read_csv(out, index_col="customer_id")
    s = clv.rfm_summary(clv.datasets.load_cdnow(), unit="W", calibration_end="1997-09-30", amount_col="amount")
    bg = clv.BetaGeo().fit(s)
    gg = clv.GammaGamma().fit(s[s["frequency"] > 0])
    assert len(scores) == 2357 and scores["clv_12m"].is_monotonic_decreasing
    scores = scores.loc[s.index]
    np.testing.assert_allclose(scores["p_alive"], bg.probability_alive(s), rtol=1e-9)
    np.testing.assert_allclose(scores["expected_spend"], gg.expected_spend(s), rtol=1e-9)
    np.testing.assert_allclose(scores["clv_12m"], clv.lifetime_value(bg, gg, s, horizon=12, unit="M", discount_rate=0.01),
                               rtol=1e-9)


def test_predict_with_saved_models_equals_predict_with_fitting(tmp_path):
    ok("fit", "--dataset", "cdnow", "--model", "bgnbd", "--save", tmp_path / "bg.json")
    ok("fit", "--dataset", "cdnow", "--model", "gamma-gamma", "--save", tmp_path / "gg.json")
    ok("predict", "--dataset", "cdnow", "--model-file", tmp_path / "bg.json", "--spend-model-file",
       tmp_path / "gg.json", "--output", tmp_path / "loaded.parquet")
    ok("predict", "--dataset", "cdnow", "--output", tmp_path / "fitted.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "loaded.parquet"),
                                  pd.read_parquet(tmp_path / "fitted.parquet"), rtol=1e-9)


def test_predict_apparel_json_records(tmp_path, apparel):
    out = tmp_path / "apparel.json"
    ok("predict", apparel, "--unit", "W", "--calibration-end", APPAREL_CAL_END, "--horizon", "2",
       "--horizon-unit", "Y", "--output", out)
    records = json.loads(out.read_text())
    assert len(records) == APPAREL_CUSTOMERS
    assert {"customer_id", "p_alive", "expected_purchases_2y", "expected_spend", "clv_2y"} <= set(records[0])
    assert records[0]["clv_2y"] == max(r["clv_2y"] for r in records)


def test_predict_on_the_cdnow_master_file_leaves_zero_spend_repeat_buyers_out_of_the_spend_fit(tmp_path):
    # one repeat buyer of the master file has a mean spend of 0: Gamma-Gamma cannot be fitted on it
    out = tmp_path / "master.parquet"
    result = ok("predict", "--dataset", "cdnow-master", "--output", out)
    assert len(pd.read_parquet(out)) == 23_570 and "23,570" in result.stdout
    record = json.loads(ok("fit", "--dataset", "cdnow-master", "--model", "gamma-gamma", "--json").stdout)
    s = clv.rfm_summary(clv.datasets.load_cdnow("master"), unit="W", calibration_end="1997-09-30",
                        amount_col="amount")
    fit_rows = (s["frequency"] > 0) & (s["monetary_value"] > 0)
    assert record["n_customers"] == int(fit_rows.sum()) and record["n_left_out"] == int((~fit_rows).sum())
    assert "monetary_value = 0" in record["left_out_reason"]


def test_predict_prints_the_top_customers_without_output():
    result = ok("predict", "--dataset", "cdnow")
    assert "Top customers" in result.stdout and "509" in result.stdout  # the CDNOW customer of highest CLV


# --------------------------------------------------------------------------- report
def test_report_cdnow_writes_html_and_csv_with_a_holdout(tmp_path):
    out = tmp_path / "cdnow.html"
    result = ok("report", "--dataset", "cdnow", "--output", out, "--top", "10", "--currency", "GBP")
    page = out.read_text()
    sections = ("summary", "customer-equity", "tiers-segments", "customers", "holdout", "data-summary",
                "model-checks", "appendix")
    positions = [page.index(f'<section id="{sid}">') for sid in sections]
    assert positions == sorted(positions)
    # --currency reaches every money figure: the equity in the summary is the library's, in GBP
    s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
                        calibration_end="1997-09-30")
    equity = clv.customer_equity(clv.BetaGeo().fit(s), clv.GammaGamma().fit(s[s["frequency"] > 0]), s)
    summary = page[positions[0]:positions[1]]
    assert f'<div class="v">GBP {equity:,.0f}</div>' in summary
    assert '<div class="k">Holdout end</div><div class="v">1998-06-30</div>' in page  # the log's last day
    csv = pd.read_csv(tmp_path / "cdnow.customers.csv")
    assert len(csv) == 2357 and str(tmp_path / "cdnow.customers.csv") in result.stdout


def test_report_apparel_by_the_installed_script(tmp_path, apparel, apparel_summary):
    assert SCRIPT.exists(), f"the clvmodels script is not installed at {SCRIPT}"
    out = tmp_path / "apparel.html"
    done = subprocess.run([str(SCRIPT), "report", str(apparel), "--unit", "W", "--calibration-end", APPAREL_CAL_END,
                           "--output", str(out)], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert '<section id="holdout">' in page and "600 customers" in page
    table = pd.read_csv(tmp_path / "apparel.customers.csv", index_col="customer_id").loc[apparel_summary.index]
    bg = clv.BetaGeo().fit(apparel_summary)
    gg = clv.GammaGamma().fit(apparel_summary[apparel_summary["frequency"] > 0])
    expected = customer_table(bg, gg, apparel_summary).loc[apparel_summary.index]
    np.testing.assert_allclose(table["clv_12m"], expected["clv"], rtol=1e-9)
    assert (table["frequency_holdout"] == apparel_summary["frequency_holdout"]).all()


# --------------------------------------------------------------------------- Bayesian methods
@pytest.mark.slow
def test_fit_mcmc_json_and_netcdf_agree_with_maximum_likelihood(tmp_path):
    nc = tmp_path / "bg.nc"
    result = ok("fit", "--dataset", "cdnow", "--method", "mcmc", "--draws", "150", "--tune", "150", "--chains", "2",
                "--seed", "1", "--json", "--save", nc)
    record = json.loads(result.stdout)
    mle = clv.BetaGeo().fit(cdnow_summary_copy())
    for name, mean in record["params"].items():
        # tiny chains: posterior mean within 4 posterior sd of the ML estimate
        assert abs(mean - mle.params_[name]) < 4 * record["se"][name], name
    loaded = clv.load_model(nc)
    assert loaded.posterior_ is not None
    assert dict(loaded.params_) == pytest.approx(record["params"], rel=1e-9)


@pytest.mark.slow
def test_predict_and_report_from_saved_tiny_posteriors_on_apparel(tmp_path, apparel):
    data = [apparel, "--unit", "W", "--calibration-end", APPAREL_CAL_END]
    sampling = ["--method", "mcmc", "--draws", "100", "--tune", "100", "--chains", "2", "--seed", "3"]
    ok("fit", *data, *sampling, "--model", "bgnbd", "--save", tmp_path / "bg.nc")
    ok("fit", *data, *sampling, "--model", "gamma-gamma", "--save", tmp_path / "gg.nc")
    files = ["--model-file", tmp_path / "bg.nc", "--spend-model-file", tmp_path / "gg.nc"]
    out = tmp_path / "scores.csv"
    ok("predict", *data, *files, "--output", out)
    scores = pd.read_csv(out, index_col="customer_id")
    assert len(scores) == APPAREL_CUSTOMERS
    assert ((scores["clv_12m_hdi_lower"] <= scores["clv_12m"]) & (scores["clv_12m"] <= scores["clv_12m_hdi_upper"])).all()
    ok("report", *data, *files, "--output", tmp_path / "post.html")
    page = (tmp_path / "post.html").read_text()
    assert "94% interval" in page and "posterior (Bayesian fit)" in page and "convergence diagnostics" in page
    assert '<section id="holdout">' in page


@pytest.mark.slow
def test_fit_advi_on_apparel(apparel):
    result = ok("fit", apparel, "--unit", "W", "--method", "advi", "--draws", "200", "--chains", "1", "--seed", "2",
                "--json")
    record = json.loads(result.stdout)
    assert record["method"] == "advi" and set(record["params"]) == {"r", "alpha", "a", "b"}
    summary = clv.rfm_summary(pd.read_csv(apparel), unit="W", amount_col="amount")
    mle = clv.BetaGeo().fit(summary)
    # ADVI is an approximation; its mean of r (the best-identified parameter) is near the ML estimate
    assert record["params"]["r"] == pytest.approx(mle.params_["r"], rel=0.25)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("args", "message"), [
    (["predict", "--dataset", "cdnow", "--output", "scores.xlsx"], ".csv, .parquet or .json"),
    (["summarize", "--dataset", "cdnow", "--output", "no-such-folder/s.csv"], "does not exist"),
    (["report", "--dataset", "cdnow", "--output", "report.pdf"], "ending in .html"),
    (["predict", "--dataset", "cdnow", "--model-file", "missing.json"], "'missing.json' does not exist"),
    (["fit", "--dataset", "cdnow", "--method", "hmc"], "available: mle, map, mcmc, advi"),
    (["report", "--dataset", "cdnow", "--model", "gamma-gamma"], "is not a transaction model"),
])
def test_bad_input_is_one_line_and_exit_code_1(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("Note:")]
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], result.stderr


def test_scoring_in_chunks_equals_scoring_at_once_and_stays_quiet_off_a_terminal(tmp_path, monkeypatch):
    import clvmodels.cli as cli

    ok("predict", "--dataset", "cdnow", "--output", tmp_path / "once.csv")
    monkeypatch.setattr(cli, "SCORE_CHUNK", 500)  # 2,357 customers: five chunks with a progress bar
    result = ok("predict", "--dataset", "cdnow", "--output", tmp_path / "chunks.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "chunks.csv"), pd.read_csv(tmp_path / "once.csv"))
    assert "Scoring" not in result.output + result.stderr  # no terminal: no progress display


def test_a_spend_model_file_given_as_transaction_model_is_named(tmp_path):
    ok("fit", "--dataset", "cdnow", "--model", "gamma-gamma", "--save", tmp_path / "gg.json")
    result = invoke("predict", "--dataset", "cdnow", "--model-file", tmp_path / "gg.json")
    assert result.exit_code == 1 and "not a transaction model" in result.stderr


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = invoke("--debug", "report", "--dataset", "cdnow", "--output", "report.pdf")
    assert result.exit_code != 0 and result.exception is not None
