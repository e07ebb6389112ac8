"""Starting values (``init=`` / ``--init``) and the convergence warnings that suggest them (issue 15).

Sources of truth: the published CDNOW BG/NBD estimates (reached from other starting values),
data simulated where BG/NBD's dropout is not identified (the optimiser must fail and say so),
the ridge reading each model declares (``ModelSpec.ridges``), and the line-length rule: one
warning per problem, a short first line, details wrapped at 94 characters (100 on a terminal
after ``Note: ``).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvmodels as clv
from clvmodels.cli import app
from clvmodels.errors import WARNING_WIDTH, ConvergenceError, ConvergenceWarning, warning_text
from clvmodels.inference.mle import _Ridge, starting_values
from clvmodels.models import bgnbd, pareto_nbd

from reference_values import BGNBD_FHL2005, printed_rtol, value

runner = CliRunner()


def assert_published(params) -> None:
    for name, printed in BGNBD_FHL2005.params.items():
        np.testing.assert_allclose(params[name], value(printed), rtol=printed_rtol(printed), err_msg=name)


@pytest.fixture(scope="module")
def unidentified_dropout() -> pd.DataFrame:
    # dropout after a purchase has probability a / (a + b) = 5e-6 and the history is 5 weeks:
    # nobody is seen leaving, so the likelihood rises toward a, b -> edge (checked to fail below)
    rng = np.random.default_rng(7)
    data = bgnbd.simulate(rng, 300, 0.8, 4.0, 0.5, 1e5, T=5.0)
    return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in data.items()})


def recorded_fit(model, data, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(data, **kwargs)
    return model, [w for w in caught if issubclass(w.category, ConvergenceWarning)]


def assert_short_lines(text: str, width: int = WARNING_WIDTH) -> None:
    assert all(len(line) <= width for line in text.splitlines()), text


# --------------------------------------------------------------------------- starting values (API)
def test_other_starting_values_reach_the_published_optimum(cdnow_summary):
    start = {"r": 2.0, "alpha": 0.5, "a": 0.1, "b": 10.0}
    model = clv.BetaGeo().fit(cdnow_summary, init=start)
    assert model.converged_
    assert_published(model.params_)


def test_starting_values_are_checked_by_name_and_support():
    spec = pareto_nbd.SPEC
    assert starting_values(spec, {"s": 2.0}) == {"r": 1.0, "alpha": 1.0, "s": 2.0, "beta": 1.0}
    with pytest.raises(ValueError, match=r"Pareto/NBD has no parameter 'a' to start from; its parameters are "
                                         r"r, alpha, s, beta\."):
        starting_values(spec, {"a": 1.0})
    with pytest.raises(ValueError, match=r"starting value of Pareto/NBD's 'beta' must be > 0\. Got 0 instead"):
        starting_values(spec, {"beta": 0})
    with pytest.raises(TypeError, match="'r' parameter of the Pareto/NBD starting values must be a real number"):
        starting_values(spec, {"r": "1"})
    with pytest.raises(ValueError, match="'alpha' parameter of the Pareto/NBD starting values must be a finite number"):
        starting_values(spec, {"alpha": float("nan")})


def test_an_unusable_start_names_the_values_used(cdnow_summary):
    with pytest.raises(ConvergenceError) as info:
        clv.BetaGeo().fit(cdnow_summary, init={"r": 1e300, "alpha": 1e-300})
    text = str(info.value)
    assert "starting values r = 1e+300, alpha = 1e-300, a = 1, b = 1." in text and "init={...}" in text
    assert "--init" in info.value.cli_message and "init={" not in info.value.cli_message


# --------------------------------------------------------------------------- the warnings
def test_a_failed_fit_warns_once_per_problem_in_short_lines_in_its_own_terms(unidentified_dropout):
    model, caught = recorded_fit(clv.BetaGeo(), unidentified_dropout)
    assert model.converged_ is False
    heads = [str(w.message).splitlines()[0] for w in caught]
    assert heads[0].startswith("BG/NBD maximum likelihood did not converge: these data do not identify ")
    assert len(set(heads)) == len(heads)  # one warning per problem
    for w in caught:
        text, cli = str(w.message), w.message.cli_message
        assert_short_lines(text)
        assert len(text) < 500 and text.count("\n") >= 1  # a headline and its details, not one long line
        # BG/NBD's own words: no other model's parameters or sentences
        assert "Pareto" not in text and "s and beta" not in text and "s/beta" not in text
        # Python advice in Python, command-line advice in options
        assert "--" not in text and "fit(..." not in cli
    cli = " ".join(w.message.cli_message for w in caught)
    assert "--calibration-end" in cli
    assert "--init r=VALUE,b=VALUE" in cli or "Hessian" not in " ".join(heads)


def test_the_ridge_sentence_of_a_model_is_given_on_that_models_ridge_only():
    # the ridge detector's description, fed the moves directly: independent of any optimiser run
    def described(spec, runaway):
        ridge = _Ridge(1000.0)
        ridge.runaway = np.array([p.name in runaway for p in spec.params])
        ridge.start = np.zeros(len(spec.params))
        theta = np.where(ridge.runaway, 5.0, 0.0)  # each runaway parameter grew by e^5, ratio fixed
        return ridge.describe(spec, theta)

    names, text = described(pareto_nbd.SPEC, {"s", "beta"})
    assert names == ["s", "beta"] and "s/beta stays near 1" in text
    assert "For Pareto/NBD, s and beta growing together mean one common dropout rate" in text
    assert "one common dropout rate" not in described(pareto_nbd.SPEC, {"beta"})[1]
    names, text = described(bgnbd.SPEC, {"a", "b"})
    assert names == ["a", "b"] and "Pareto" not in text and "a/b stays near 1" in text


def test_posterior_checks_warn_once_per_failed_check_in_short_lines():
    from clvmodels.inference.diagnostics import warn_if_unconverged

    rows = [("r_hat", name, 1.05 + i / 100, "<= 1.01", False) for i, name in enumerate(["r", "alpha", "a", "b"])]
    rows += [("ess_bulk", "b", 45.0, ">= 400", False), ("divergences", "all", 3.0, "== 0", False),
             ("ess_tail", "r", 900.0, ">= 400", True)]
    table = pd.DataFrame(rows, columns=["check", "parameter", "value", "threshold", "ok"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_if_unconverged(table, "BG/NBD")
    assert [str(w.message).splitlines()[0] for w in caught] == [
        "The BG/NBD posterior may not be reliable: R-hat (want <= 1.01).",
        "The BG/NBD posterior may not be reliable: bulk effective sample size (want >= 400).",
        "The BG/NBD posterior may not be reliable: divergent transitions (want == 0).",
    ]
    for w in caught:
        assert_short_lines(str(w.message))
        assert_short_lines(w.message.cli_message)
    assert "r_hat of b is 1.08" in " ".join(str(caught[0].message).split())


def test_warning_text_wraps_without_losing_a_word():
    detail = "word " * 60 + "a-very-long-hyphenated-option --init r=0.5,alpha=5"
    text = warning_text("Headline.", detail)
    assert text.splitlines()[0] == "Headline." and all(line.startswith("  ") for line in text.splitlines()[1:])
    assert_short_lines(text)
    assert " ".join(text.split()[1:]) == " ".join(detail.split())


# --------------------------------------------------------------------------- the command line
def test_cli_init_reaches_the_published_optimum_and_is_recorded():
    result = runner.invoke(app, ["fit", "--dataset", "cdnow", "--init", "r=2, alpha=0.5,a=0.1,b=10", "--json"])
    assert result.exit_code == 0, result.output + result.stderr
    record = json.loads(result.stdout)
    assert_published(record["params"])
    assert record["init"] == {"r": 2.0, "alpha": 0.5, "a": 0.1, "b": 10.0}


@pytest.mark.parametrize("args, message", [
    (["fit", "--init", "r=half"], "--init r=half: 'half' is not a number; write e.g. --init r=0.5."),
    (["fit", "--init", "r"], "--init: 'r' is not NAME=VALUE; write e.g. --init r=0.5,alpha=5."),
    (["fit", "--init", "r=1,r=2"], "--init gives r twice (1 and 2); give it once."),
    (["fit", "--init", "r=inf"], "--init r=inf: a starting value must be a finite number"),
    (["fit", "--init", "beta=2"], "--init: BG/NBD has no parameter 'beta' to start from; its parameters are "
                                  "r, alpha, a, b."),
    (["fit", "--model", "gamma-gamma", "--init", "q=-3"], "--init: The starting value of Gamma-Gamma's 'q' must "
                                                          "be > 0. Got -3.0 instead."),
    (["fit", "--method", "mcmc", "--init", "r=1"], "--init sets the optimiser's starting values, for --method mle "
                                                   "or map; --method mcmc does not optimise."),
    (["predict", "--spend-init", "gamma=1", "--spend-model-file", "gg.json"],
     "--spend-init sets starting values of a fit, but --spend-model-file loads a fitted model"),
])
def test_cli_init_errors_name_the_option_and_the_fix(args, message, tmp_path):
    if "gg.json" in args:
        clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44).save(tmp_path / "gg.json")
        args = [str(tmp_path / a) if a == "gg.json" else a for a in args]
    result = runner.invoke(app, [*args, "--dataset", "cdnow"])
    assert result.exit_code == 1, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_cli_convergence_notes_give_command_line_advice_in_short_lines():
    # the calibration ends on the last first purchase: Pareto/NBD's dropout is not identified
    result = runner.invoke(app, ["fit", "--dataset", "cdnow", "--model", "pareto-nbd", "--calibration-end",
                                 "1997-03-25"])
    assert result.exit_code == 0, result.output + result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("Note: ")]
    assert notes[0] == "Note: Pareto/NBD maximum likelihood did not converge: these data do not identify beta."
    assert all(len(line) <= 100 for line in result.stderr.splitlines()), result.stderr
    # advice on starting values comes with a Hessian that is not positive definite, which on a ridge
    # depends on where the optimiser stops: when it is given, it is in options, never in Python
    assert "init={" not in result.stderr
    assert "starting values" not in result.stderr or "--init r=VALUE,beta=VALUE" in result.stderr
    assert "fit(..." not in result.stderr and "--calibration-end" in result.stderr
