"""What the data cannot tell (issue 15): plain identification warnings in the API, the CLI and the report.

The data sets are built so that the answer is known: customers whose dropout probability is
tiny (Beta(0.8, 200), mean 0.4 %) hardly ever drop out within 40 weeks, so the data show
almost nobody leaving and cannot say how dropout varies; CDNOW identifies all four BG/NBD
parameters (Fader, Hardie and Lee 2005 publish r = 0.243, alpha = 4.414, a = 0.793, b = 2.426).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvmodels as clv
from clvmodels import identification
from clvmodels.cli import app
from clvmodels.errors import ConvergenceWarning, IdentificationWarning
from clvmodels.models import bgnbd, pareto_nbd

DROPOUT = "do not identify how customers drop out"


def dropout_log(n: int = 2000, seed: int = 0, weeks: int = 40) -> tuple[pd.DataFrame, str]:
    """A transaction log of BG/NBD customers who almost never drop out, all starting on one Monday."""
    rng = np.random.default_rng(seed)
    _, (idx, times) = bgnbd.simulate(rng, n, 0.8, 4.0, 0.8, 200.0, T=float(weeks), return_times=True)
    start = pd.Timestamp("2020-01-06")
    first = pd.DataFrame({"customer_id": np.arange(n), "date": start})
    repeat = pd.DataFrame({"customer_id": idx,
                           "date": start + pd.to_timedelta(np.floor(np.asarray(times) * 7), unit="D")})
    tx = pd.concat([first, repeat], ignore_index=True)
    tx["amount"] = np.round(rng.gamma(6.0, 5.0, len(tx)), 2)
    return tx, str((start + pd.Timedelta(days=7 * weeks)).date())


@pytest.fixture(scope="module")
def dropout_summary():
    tx, end = dropout_log()
    return clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end=end)


def fit_recording(model, data):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(data)
    return model, [w for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_the_rule_is_a_factor_of_100_on_the_log_or_odds_scale():
    # independent of the code's formula: the 95 % interval's ends exp(theta -+ 1.96 se)
    from clvmodels.models.bgbb import SPEC as BGBB
    from clvmodels.models.bgnbd import SPEC

    params = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.0}
    for se_log, weak in [(1.17, False), (1.18, True)]:
        lo, hi = np.exp(np.log(2.0) - 1.96 * se_log), np.exp(np.log(2.0) + 1.96 * se_log)
        assert (hi / lo > 100) == weak
        se_b = 2.0 * se_log  # delta method: d b / d log b = b
        cov = np.diag([1e-4, 1e-4, 1e-4, se_b ** 2])
        assert identification.weak_parameters(SPEC, params, cov) == (["b"] if weak else [])
    cov = np.diag([1e-4, 1e-4, 1e-4, np.nan])
    assert identification.weak_parameters(SPEC, params, cov) == ["b"]
    # a held parameter (zero variance) is not weak
    assert identification.weak_parameters(SPEC, params, np.zeros((4, 4))) == []
    # BG/BB is not a BG/NBD: its own parameters and sentences
    bp = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.78}
    text = identification.messages(BGBB, bp, np.diag([1e-4, 1e-4, 1e-4, (2.78 * 3) ** 2]))
    assert len(text) == 1 and "(gamma and delta)" in text[0]


def test_short_lived_dropout_data_warn_once_about_dropout_only(dropout_summary):
    model, caught = fit_recording(clv.BetaGeo(), dropout_summary)
    assert model.converged_
    ident = [w for w in caught if issubclass(w.category, IdentificationWarning)]
    assert len(ident) == 1 and len(caught) == 1, [str(w.message) for w in caught]
    text = str(ident[0].message)
    assert text.startswith("BG/NBD: ") and DROPOUT in text and "(a and b)" in text
    assert "s and beta" not in text and "purchase rates" not in text
    assert len(text) < 300
    # the sentence's claim holds: P(alive) is close to 1 for nearly everyone
    assert float(np.mean(model.probability_alive(dropout_summary) > 0.9)) > 0.9
    # and an interval really is wide: a's or b's 95 % interval spans more than a factor of 100, r's and alpha's not
    spans = {name: np.exp(2 * 1.96 * model.se_[name] / model.params_[name]) for name in model.params_.index}
    assert max(spans["a"], spans["b"]) > 100 and max(spans["r"], spans["alpha"]) < 100, spans
    # the purchase rate is identified: r and alpha are near the simulated 0.8 and 4.0
    assert abs(model.params_["r"] / 0.8 - 1) < 0.15 and abs(model.params_["alpha"] / 4.0 - 1) < 0.2
    recorded = model.fit_info_["identification"]
    assert recorded == model.identification_ == identification.check(model)
    # the warning is the recorded sentence as a headline and wrapped details (tests/test_convergence_warnings.py)
    head, _, rest = recorded[0].partition("): ")
    flat = " ".join(text.split())
    assert len(recorded) == 1 and flat.startswith(f"BG/NBD: {head}).") and rest[1:] in flat


def test_cdnow_bgnbd_is_identified_and_says_nothing():
    s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
                        calibration_end="1997-09-30")
    model, caught = fit_recording(clv.BetaGeo(), s)
    assert caught == []
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert model.params_.round(3).to_dict() == published
    assert model.identification_ == [] and "identification" not in model.fit_info_
    assert identification.check(model, cli=True) == []


def test_pareto_nbd_on_a_short_history_gets_its_own_sentence():
    # two weeks of history: too short to see anybody leave (dropout rate mean 0.06 per week)
    d = pareto_nbd.simulate(np.random.default_rng(0), 3000, 0.8, 4.0, 0.6, 10.0, T=2.0)
    data = pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T")})
    model, caught = fit_recording(clv.ParetoNBD(), data)
    ident = [str(w.message) for w in caught if issubclass(w.category, IdentificationWarning)]
    assert len(ident) == 1, [str(w.message) for w in caught]
    assert ident[0].startswith("Pareto/NBD: ") and DROPOUT in ident[0] and "(s and beta)" in ident[0]
    assert "(a and b)" not in ident[0] and len(ident[0]) < 300
    assert np.exp(2 * 1.96 * model.se_["beta"] / model.params_["beta"]) > 100


def test_the_cli_notes_it_once_with_cli_advice(tmp_path):
    tx, end = dropout_log()
    path = tmp_path / "log.csv"
    tx.assign(date=tx["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["fit", str(path), "--unit", "W", "--calibration-end", end, "--model", "bgnbd",
                                      "--json"])
    assert result.exit_code == 0, result.output + result.stderr
    notes = [line for line in result.stderr.splitlines() if DROPOUT in line]
    assert len(notes) == 1, result.stderr
    assert notes[0].startswith("Note: BG/NBD: ") and "--method mcmc" in notes[0] and "sample()" not in notes[0]
    assert "s and beta" not in result.stderr


def test_the_report_shows_it_in_the_executive_summary(tmp_path, dropout_summary):
    model, _ = fit_recording(clv.BetaGeo(), dropout_summary)
    files = clv.report(model, None, dropout_summary, tmp_path / "r.html", top=5)
    page = files.html.read_text()
    summary = re.search(r'<section[^>]*id="summary".*?</section>', page, re.S)
    assert summary is not None
    section = summary.group(0)
    assert "BG/NBD: These data do not identify how customers drop out (a and b)" in section
    assert section.count(DROPOUT) == 1


def test_a_saved_fit_says_the_same_after_loading(tmp_path, dropout_summary):
    model, _ = fit_recording(clv.BetaGeo(), dropout_summary)
    model.save(tmp_path / "bg.json")
    loaded = clv.load_model(tmp_path / "bg.json")
    assert loaded.identification_ == model.identification_ and len(loaded.identification_) == 1


@pytest.mark.parametrize("name", sorted(identification.PROBLEMS))
def test_every_sentence_is_short_names_its_parameters_and_covers_every_parameter(name):
    from clvmodels.models.registry import get_spec

    spec = get_spec(name)
    covered = [p for problem in identification.PROBLEMS[name] for p in problem.params]
    assert sorted(covered) == sorted(spec.param_names)  # each parameter in exactly one problem
    params = {p: 1.0 if s.support == "positive" else 0.5 for p, s in zip(spec.param_names, spec.params)}
    for problem in identification.PROBLEMS[name]:
        for cli in (False, True):
            text = f"{spec.title}: {problem.message(params, cli=cli)}"
            assert len(text) < 300, text
            assert all(p in text for p in problem.params)
            assert ("--method mcmc" in text) == cli and ("sample()" in text) != cli
