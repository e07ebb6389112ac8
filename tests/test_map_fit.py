"""fit(method="map"): the posterior mode under the Bayesian priors, found by the maximum-likelihood
optimiser with the log prior of the PyMC priors added. Checked against plain maximum likelihood
(very wide priors), the direction of a tight prior, and PyMC's own find_MAP on the same model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import clvmodels as clv
from clvmodels.data.compress import compress
from clvmodels.inference import bayes

pm = pytest.importorskip("pymc")

NAMES = ("r", "alpha", "a", "b")


@pytest.fixture(scope="module")
def mle(cdnow_summary):
    return clv.BetaGeo().fit(cdnow_summary)


def test_map_with_very_wide_priors_is_the_mle(cdnow_summary, mle):
    wide = {k: ("HalfNormal", {"sigma": 1e4}) for k in NAMES}
    m = clv.BetaGeo().fit(cdnow_summary, method="map", priors=wide)
    assert m.converged_ and m.fit_info_["method"] == "map"
    np.testing.assert_allclose(m.params_.to_numpy(), mle.params_.to_numpy(), rtol=1e-5)
    assert m.loglik_ == pytest.approx(mle.loglik_, abs=1e-6)


def test_a_tight_prior_pulls_the_estimate_toward_its_mean(cdnow_summary, mle):
    # Gamma(100, 1000): mean 0.1, sd 0.01, far below the MLE a = 0.793
    m = clv.BetaGeo().fit(cdnow_summary, method="map", priors={"a": ("Gamma", {"alpha": 100.0, "beta": 1000.0})})
    assert 0.1 < m.params_["a"] < 0.2 < mle.params_["a"]
    assert m.loglik_ < mle.loglik_  # the mode gives up likelihood for prior density
    assert m.fit_info_["priors"]["a"] == "Gamma(alpha=100.0, beta=1000.0)"
    # and a prior centred on the MLE leaves it where it is (to the prior's small pull)
    centred = clv.BetaGeo().fit(cdnow_summary, method="map",
                                priors={"a": ("Normal", {"mu": float(mle.params_["a"]), "sigma": 1e-3})})
    assert centred.params_["a"] == pytest.approx(mle.params_["a"], abs=1e-4)


def test_map_equals_pymc_find_map_on_the_same_model(cdnow_summary):
    ours = clv.BetaGeo().fit(cdnow_summary, method="map")
    arrays = {k: cdnow_summary[k].to_numpy(dtype=float) for k in ("frequency", "recency", "T")}
    unique, counts, _ = compress(arrays, None)
    model = bayes.build_pymc_model(clv.BetaGeo.spec, unique, counts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pm.find_MAP(model=model, progressbar=False, maxeval=10_000)
    np.testing.assert_allclose(ours.params_.to_numpy(), [float(theirs[k]) for k in NAMES], rtol=2e-4)


def test_map_is_not_the_mle_under_the_default_priors(cdnow_summary, mle):
    m = clv.BetaGeo().fit(cdnow_summary, method="map")
    assert not np.allclose(m.params_.to_numpy(), mle.params_.to_numpy(), rtol=1e-3)
    assert m.se_ is not None and all(np.isfinite(v) and v > 0 for v in m.se_.values())


def test_map_on_gamma_gamma_with_q_constraint(cdnow_summary):
    rb = cdnow_summary[cdnow_summary["frequency"] > 0]
    wide = {k: ("HalfNormal", {"sigma": 1e4}) for k in ("p", "q", "gamma")}
    a = clv.GammaGamma().fit(rb, method="map", priors=wide)
    b = clv.GammaGamma().fit(rb)
    np.testing.assert_allclose(a.params_.to_numpy(), b.params_.to_numpy(), rtol=1e-4)


def test_bad_method_and_priors_without_map_are_refused(cdnow_summary):
    with pytest.raises(ValueError, match="'mle' or 'map'"):
        clv.BetaGeo().fit(cdnow_summary, method="mcmc")
    with pytest.raises(ValueError, match="method='map'"):
        clv.BetaGeo().fit(cdnow_summary, priors={"r": ("Gamma", {"alpha": 1.0, "beta": 1.0})})
    with pytest.raises(ValueError, match="callable"):
        clv.BetaGeo().fit(cdnow_summary, method="map", priors={"r": lambda name: pm.Gamma(name, 1.0, 1.0)})


def test_cli_fit_method_map_gives_the_python_map():
    import json
    from typer.testing import CliRunner
    from clvmodels.cli import app

    result = CliRunner().invoke(app, ["fit", "--dataset", "cdnow", "--model", "bgnbd", "--method", "map", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", unit="W", calibration_end="1997-09-30")
    expected = clv.BetaGeo().fit(s, method="map").params_
    assert record["params"] == pytest.approx(dict(expected), rel=1e-6)


def test_a_map_fit_saves_and_loads_as_a_point_fit(cdnow_summary, tmp_path):
    m = clv.BetaGeo().fit(cdnow_summary, method="map")
    loaded = clv.load_model(m.save(tmp_path / "map.json"))
    assert loaded.params_.equals(m.params_) and loaded.se_ == m.se_
    # model files hold the estimates, not fit_info_ (as for penalized fits): the method is not kept
    assert "method" not in loaded.fit_info_
