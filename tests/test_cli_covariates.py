"""The command line with customer covariates: ``--covariates FILE`` and ``--purchase-cols`` & co.

Run on the shared apparel data (600 customers; gender and acquisition channel, both 0/1, in
apparel_customers.csv). Sources of truth: the Python API (``join_covariates`` and the
covariate estimators must give what the CLI gives for the same data), the covariate links
(the report's sentences are recomputed here from the fitted coefficients and their standard
errors: ``exp(coef) - 1`` and the Wald interval ``coef ± z se``), and the errors' promises
(each names the option and the fix).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

import clvmodels as clv
from clvmodels.cli import app

runner = CliRunner()
CAL_END = "2007-12-31"  # COVARIATES.md's apparel example
DESIGN = {"purchase": ["gender", "channel"], "dropout": ["channel"]}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def ok(*args):
    result = invoke(*args)
    assert result.exit_code == 0, result.output + result.stderr
    return result


@pytest.fixture(scope="module")
def log(shared_data):
    return shared_data / "apparel_transactions.csv"


@pytest.fixture(scope="module")
def cov(shared_data):
    return shared_data / "apparel_customers.csv"


@pytest.fixture(scope="module")
def summary(log, cov) -> pd.DataFrame:
    s = clv.rfm_summary(pd.read_csv(log), "customer_id", "date", "amount", unit="W", calibration_end=CAL_END,
                        observation_end="2010-12-20")
    return clv.join_covariates(s, pd.read_csv(cov), customer="customer_id")


@pytest.fixture(scope="module")
def bg_api(summary):
    with pytest.warns(clv.errors.IdentificationWarning):  # apparel's dropout is weakly identified (documented)
        return clv.BetaGeo(purchase_covariates=DESIGN["purchase"], dropout_covariates=DESIGN["dropout"]).fit(summary)


@pytest.fixture(scope="module")
def bg_file(log, cov, tmp_path_factory):
    path = tmp_path_factory.mktemp("cov") / "bg.json"
    ok("fit", log, "--calibration-end", CAL_END, "--covariates", cov, "--purchase-cols", "gender,channel",
       "--dropout-cols", "channel", "--save", path)
    return path


def fit_json(*args) -> tuple[dict, str]:
    result = ok("fit", *args, "--json")
    return json.loads(result.stdout), result.stderr


def test_fit_equals_the_python_api_and_records_the_design(log, cov, bg_api):
    record, _ = fit_json(log, "--calibration-end", CAL_END, "--covariates", cov, "--purchase-cols", "gender,channel",
                         "--dropout-cols", "channel")
    assert record["covariates"] == DESIGN
    assert list(record["params"]) == list(bg_api.params_.index)
    for name, v in bg_api.params_.items():
        assert record["params"][name] == pytest.approx(v, rel=1e-6), name
    assert record["loglik"] == pytest.approx(bg_api.loglik_, rel=1e-10)


def test_saved_model_file_records_the_design(bg_file):
    assert clv.load_model(bg_file).covariates_.to_dict() == DESIGN


def test_gamma_gamma_spend_cols_equal_the_python_api(log, cov, summary):
    record, _ = fit_json(log, "--calibration-end", CAL_END, "--model", "gamma-gamma", "--covariates", cov,
                         "--spend-cols", "channel")
    api = clv.GammaGamma(spend_covariates=["channel"]).fit(summary[summary["frequency"] > 0])
    assert record["covariates"] == {"spend": ["channel"]} and record["n_left_out"] == int((summary.frequency == 0).sum())
    for name, v in api.params_.items():
        assert record["params"][name] == pytest.approx(v, rel=1e-6), name


def _pct(x: float) -> str:
    return f"{abs(x) * 100:.0f}%" if abs(x) >= 0.095 else f"{abs(x) * 100:.1f}%"


def test_report_shows_coefficients_and_their_effects_in_words(log, cov, bg_api, tmp_path):
    out = tmp_path / "apparel.html"
    ok("report", log, "--calibration-end", CAL_END, "--covariates", cov, "--purchase-cols", "gender,channel",
       "--dropout-cols", "channel", "--spend-cols", "channel", "--output", out)
    page = out.read_text()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&#39;", "'")
    assert 'id="drivers"' in page and "What drives purchases and dropout" in text
    for name in ("purchase:gender", "purchase:channel", "dropout_a:channel", "dropout_b:channel", "spend:channel"):
        assert name in text
    z = stats.norm.ppf(0.97)  # the 94% Wald interval of a maximum-likelihood coefficient
    sentences = {}
    for col in ("gender", "channel"):
        est, se = bg_api.params_[f"purchase:{col}"], bg_api.se_[f"purchase:{col}"]
        lo, hi = np.expm1([est - z * se, est + z * se])
        sentences[col] = (f"Customers with {col} = 1 buy {_pct(np.expm1(est))} more often than those with {col} = 0 "
                          f"(other covariates equal) [94% interval +{lo * 100:.0f}% to +{hi * 100:.0f}%].")
        assert sentences[col] in text
    assert "Customers with channel = 1 have a " in text and "mean chance of dropping out after a purchase" in text
    assert "Customers with channel = 1 spend " in text and "per purchase on average" in text
    # the executive summary names the strongest established driver: channel's purchase effect (larger than gender's)
    summary_text = text[:text.index("Customer equity is what")]
    assert "Strongest driver: c" + sentences["channel"][1:].replace(" (other covariates equal)", "") in summary_text


def test_predict_with_a_saved_covariate_model_reads_the_table(log, cov, bg_file, bg_api, summary, tmp_path):
    out = tmp_path / "scores.csv"
    ok("predict", log, "--calibration-end", CAL_END, "--model-file", bg_file, "--covariates", cov, "--output", out)
    scores = pd.read_csv(out, index_col=0)
    expected = bg_api.probability_alive(summary)
    np.testing.assert_allclose(scores["p_alive"].to_numpy(), expected.reindex(scores.index).to_numpy(), rtol=1e-6)
    # the same --*-cols as the file are accepted; others, or no table, are refused
    ok("predict", log, "--calibration-end", CAL_END, "--model-file", bg_file, "--covariates", cov,
       "--purchase-cols", "gender,channel")
    result = invoke("predict", log, "--calibration-end", CAL_END, "--model-file", bg_file)
    assert result.exit_code == 1 and "give the covariate table with --covariates FILE" in result.stderr
    result = invoke("predict", log, "--calibration-end", CAL_END, "--model-file", bg_file, "--covariates", cov,
                    "--purchase-cols", "gender")
    assert result.exit_code == 1 and "fitted with the covariates purchase=gender,channel;dropout=channel" in result.stderr


def test_text_covariate_becomes_a_0_1_column(log, cov, summary, tmp_path):
    table = pd.read_csv(cov)
    table["channel"] = table["channel"].map({0: "shop", 1: "web"})
    path = tmp_path / "customers.csv"
    table.to_csv(path, index=False)
    record, stderr = fit_json(log, "--calibration-end", CAL_END, "--covariates", path, "--purchase-cols", "channel")
    assert record["covariates"] == {"purchase": ["channel=web"]}
    assert "channel=web (reference level: shop)" in stderr
    api = clv.BetaGeo(purchase_covariates=["channel"]).fit(summary)  # web = 1: the same model
    assert record["params"]["purchase:channel=web"] == pytest.approx(api.params_["purchase:channel"], rel=1e-6)


def test_parquet_table_with_its_own_id_column(log, cov, summary, tmp_path):
    table = pd.read_csv(cov).rename(columns={"customer_id": "id"})  # integer ids; the CSV log's ids are text
    path = tmp_path / "customers.parquet"
    table.to_parquet(path)
    result = invoke("fit", log, "--calibration-end", CAL_END, "--covariates", path, "--purchase-cols", "gender")
    assert result.exit_code == 1 and "has no id column 'customer_id'" in result.stderr
    assert "Pass --covariates-id COLUMN" in result.stderr
    record, _ = fit_json(log, "--calibration-end", CAL_END, "--covariates", path, "--covariates-id", "id",
                         "--purchase-cols", "gender")
    api = clv.BetaGeo(purchase_covariates=["gender"]).fit(summary)
    assert record["params"]["purchase:gender"] == pytest.approx(api.params_["purchase:gender"], rel=1e-6)


@pytest.mark.parametrize("args, message", [
    (["--purchase-cols", "gender"], "--purchase-cols names covariates, but no table gives them: add --covariates FILE"),
    (["--covariates-id", "id"], "--covariates-id names the id column of a covariate table"),
    (["--covariates", "{cov}"], "no covariate acts on anything: name its columns with --purchase-cols"),
    (["--covariates", "{cov}", "--purchase-cols", " , "], "--purchase-cols is empty"),
    (["--covariates", "{cov}", "--purchase-cols", "gender,age"],
     "--purchase-cols names 'age', which is not a covariate column of"),
    (["--covariates", "{cov}", "--spend-cols", "channel"],
     "--spend-cols act on the spend model (--model gamma-gamma), but --model bgnbd is a transaction model"),
    (["--model", "gamma-gamma", "--covariates", "{cov}", "--dropout-cols", "channel"],
     "--dropout-cols act on a transaction model"),
    (["--covariates", "{missing}", "--purchase-cols", "gender"], "does not exist"),
    (["--covariates", "{short}", "--purchase-cols", "gender"], "1 of the summary's 600 customers have no row"),
])
def test_errors_name_the_option_and_the_fix(log, cov, tmp_path, args, message):
    short = tmp_path / "short.csv"
    pd.read_csv(cov).iloc[1:].to_csv(short, index=False)
    paths = {"cov": cov, "missing": tmp_path / "nope.csv", "short": short}
    result = invoke("fit", log, "--calibration-end", CAL_END, *(a.format(**paths) for a in args))
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1


def test_shared_cols_equal_the_python_api(log, cov, summary):
    record, _ = fit_json(log, "--calibration-end", CAL_END, "--covariates", cov, "--purchase-cols", "gender",
                         "--shared-cols", "channel")
    api = clv.BetaGeo(purchase_covariates=["gender"], shared_covariates=["channel"]).fit(summary)
    assert record["covariates"] == {"purchase": ["gender"], "shared": ["channel"]}
    for name, v in api.params_.items():
        assert record["params"][name] == pytest.approx(v, rel=1e-6), name


def test_parquet_log_with_numeric_ids_joins_a_csv_table(log, cov, summary, tmp_path):
    path = tmp_path / "log.parquet"
    pd.read_csv(log).to_parquet(path)  # integer ids in the log, text ids in the covariate CSV as read
    record, _ = fit_json(path, "--calibration-end", CAL_END, "--covariates", cov, "--purchase-cols", "gender")
    api = clv.BetaGeo(purchase_covariates=["gender"]).fit(summary)
    assert record["params"]["purchase:gender"] == pytest.approx(api.params_["purchase:gender"], rel=1e-6)
