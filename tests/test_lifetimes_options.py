"""The fitting options lifetimes users reach for first, checked against lifetimes 0.11.3 itself.

- ``penalizer``: lifetimes' ``penalizer_coef`` (an L2 penalty on the parameters);
- ``q_constraint``: lifetimes' ``GammaGammaFitter.fit(..., q_constraint=True)``.

Here two optimisers are compared (ours and lifetimes'), so the tolerance is that of an
optimum found to ~1e-6 by both (1e-4 relative), not the 1e-6 of the fixed-parameter
formula checks in test_same_as_lifetimes.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import clvmodels as clv
from clvmodels.inference import mle
from clvmodels.models import bgnbd

from conftest import cdnow_repeat_buyers

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    lifetimes = pytest.importorskip("lifetimes")

RTOL = 1e-4
#: clvmodels' parameter name -> lifetimes' (Gamma-Gamma's scale is v there)
LIFETIMES_NAME = {"gamma": "v"}


def quietly(fn, *args, **kwargs):
    """lifetimes' likelihoods reset the process-wide warning filters; keep that scoped."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)


def assert_same_params(ours, ref):
    got = np.array([ours.params_[k] for k in ours.spec.param_names])
    expected = np.array([ref.params_[LIFETIMES_NAME.get(k, k)] for k in ours.spec.param_names])
    np.testing.assert_allclose(got, expected, rtol=RTOL)


def rfm(summary):
    return summary["frequency"].to_numpy(), summary["recency"].to_numpy(), summary["T"].to_numpy()


@pytest.mark.parametrize("ours, theirs", [(clv.BetaGeo, "BetaGeoFitter"), (clv.ModifiedBetaGeo, "ModifiedBetaGeoFitter")])
def test_penalized_fit_same_as_lifetimes(cdnow_summary, ours, theirs):
    fit = ours().fit(cdnow_summary, penalizer=0.1)
    ref = quietly(getattr(lifetimes, theirs)(penalizer_coef=0.1).fit, *rfm(cdnow_summary))
    assert fit.converged_
    assert_same_params(fit, ref)
    # the penalty matters at this coefficient: the estimates are far from the unpenalized ones
    plain = ours().fit(cdnow_summary)
    assert fit.params_["a"] < 0.5 * plain.params_["a"]
    assert fit.fit_info_["penalizer"] == 0.1


def test_penalized_gamma_gamma_same_as_lifetimes():
    rb = cdnow_repeat_buyers()
    fit = clv.GammaGamma().fit(rb, penalizer=0.1)
    ref = quietly(lifetimes.GammaGammaFitter(penalizer_coef=0.1).fit, rb["frequency"], rb["monetary_value"])
    assert fit.converged_
    assert_same_params(fit, ref)


def test_penalized_pareto_nbd_same_as_lifetimes_with_its_coefficient_per_row(cdnow_summary):
    # lifetimes' Pareto/NBD divides the summed log-likelihood by the MEAN weight (1 here), not the
    # total, so its penalizer_coef c is our penalizer c / n_customers
    n = len(cdnow_summary)
    fit = clv.ParetoNBD().fit(cdnow_summary, penalizer=0.1 / n)
    ref = quietly(lifetimes.ParetoNBDFitter(penalizer_coef=0.1).fit, *rfm(cdnow_summary))
    # lifetimes' Nelder-Mead stops ~1e-4 short of the optimum (its result varies between runs):
    # so compare on lifetimes' own penalized objective, which our estimate must minimise at
    # least as well, and the parameters to 1e-3
    x, t_x, T = rfm(cdnow_summary)
    scale = 1.0 / T.max()

    def lifetimes_objective(p):
        scaled = [p["r"], p["alpha"] * scale, p["s"], p["beta"] * scale]
        return quietly(lifetimes.ParetoNBDFitter._negative_log_likelihood, scaled, x, t_x * scale, T * scale,
                       np.ones(n), 0.1)

    assert lifetimes_objective(fit.params_) <= lifetimes_objective(ref.params_) + 1e-9
    got = np.array([fit.params_[k] for k in fit.spec.param_names])
    np.testing.assert_allclose(got, ref.params_[list(fit.spec.param_names)].to_numpy(), rtol=1e-3)
    plain = clv.ParetoNBD().fit(cdnow_summary)
    assert abs(fit.params_["beta"] / plain.params_["beta"] - 1) > 0.01  # the penalty changed the fit


@pytest.mark.parametrize("model", [clv.BetaGeo, clv.ParetoNBD])
def test_penalizer_zero_is_plain_maximum_likelihood(cdnow_summary, model):
    plain, zero = model().fit(cdnow_summary), model().fit(cdnow_summary, penalizer=0.0)
    assert plain.params_.equals(zero.params_)
    assert plain.loglik_ == zero.loglik_
    assert "penalizer" not in zero.fit_info_


def test_penalized_loglik_is_the_unpenalized_loglik_at_the_estimate(cdnow_summary):
    fit = clv.BetaGeo().fit(cdnow_summary, penalizer=0.1)
    assert fit.loglik_ == pytest.approx(float(fit.log_likelihood(cdnow_summary).sum()), rel=1e-12)
    assert fit.loglik_ < clv.BetaGeo().fit(cdnow_summary).loglik_


def test_penalty_does_not_depend_on_the_time_unit(cdnow_summary):
    # alpha is a time scale: in days it is 7 times its value in weeks, and so is the longest T
    days = cdnow_summary.copy()
    days[["recency", "T"]] = days[["recency", "T"]] * 7.0
    weeks, in_days = clv.BetaGeo().fit(cdnow_summary, penalizer=0.1), clv.BetaGeo().fit(days, penalizer=0.1)
    assert in_days.params_["alpha"] == pytest.approx(7 * weeks.params_["alpha"], rel=1e-6)
    for name in ("r", "a", "b"):
        assert in_days.params_[name] == pytest.approx(weeks.params_[name], rel=1e-6)


def test_penalty_gradient_and_hessian_match_finite_differences():
    theta = np.array([-1.2, 1.5, -0.3, 0.8])
    scales = mle.penalty_scales(bgnbd.SPEC, {"T": np.array([10.0, 78.0])})
    value, grad, hess = mle.penalty(bgnbd.SPEC, theta, scales, 0.3)
    values = np.exp(theta)
    assert value == pytest.approx(0.3 * float(np.sum((values * scales) ** 2)), rel=1e-14)
    h = 1e-6
    for i in range(4):
        e = np.zeros(4)
        e[i] = h
        up, down = mle.penalty(bgnbd.SPEC, theta + e, scales, 0.3), mle.penalty(bgnbd.SPEC, theta - e, scales, 0.3)
        assert grad[i] == pytest.approx((up[0] - down[0]) / (2 * h), rel=1e-6)
        assert hess[i] == pytest.approx((up[1][i] - down[1][i]) / (2 * h), rel=1e-6)


def test_negative_penalizer_is_refused(cdnow_summary):
    with pytest.raises(ValueError, match="penalizer"):
        clv.BetaGeo().fit(cdnow_summary, penalizer=-0.1)


# --------------------------------------------------------------------------- Gamma-Gamma q >= 1
def heavy_tailed_spend() -> "pd.DataFrame":
    """Simulated spend whose unconstrained fit has q < 1 (no population mean): q = 0.7."""
    import pandas as pd

    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, 2000).astype(float)
    nu = rng.gamma(0.7, 1 / 2.0, 2000)
    return pd.DataFrame({"frequency": x, "monetary_value": rng.gamma(3.0 * x, 1.0 / (nu * x))})


def test_q_constraint_binds_and_matches_lifetimes_where_the_free_q_is_below_one():
    d = heavy_tailed_spend()
    free = clv.GammaGamma().fit(d)
    assert free.converged_ and free.params_["q"] < 1
    fit = clv.GammaGamma().fit(d, q_constraint=True)
    ref = quietly(lifetimes.GammaGammaFitter().fit, d["frequency"], d["monetary_value"], q_constraint=True)
    assert fit.converged_
    assert fit.params_["q"] == 1.0  # on the bound, exactly
    assert_same_params(fit, ref)
    # q held at its bound: no variance for it; p and gamma keep their curvature-based errors
    assert fit.se_["q"] == 0.0 and fit.se_["p"] > 0 and fit.se_["gamma"] > 0
    # the constrained optimum is the best fit with q fixed at 1: no lower loglik on a line of q = 1
    for dp in (0.99, 1.01):
        p, g = fit.params_["p"] * dp, fit.params_["gamma"]
        other = clv.GammaGamma.from_params(p=p, q=1.0, gamma=g)
        assert float(other.log_likelihood(d).sum()) < fit.loglik_


def test_q_constraint_with_penalizer_matches_lifetimes():
    # the penalty alone pulls q below 1 on CDNOW (0.336); with the constraint it stops at 1
    rb = cdnow_repeat_buyers()
    fit = clv.GammaGamma().fit(rb, penalizer=0.1, q_constraint=True)
    ref = quietly(lifetimes.GammaGammaFitter(penalizer_coef=0.1).fit, rb["frequency"], rb["monetary_value"],
                  q_constraint=True)
    assert_same_params(fit, ref)


def test_q_constraint_that_does_not_bind_changes_nothing():
    rb = cdnow_repeat_buyers()
    free, constrained = clv.GammaGamma().fit(rb), clv.GammaGamma().fit(rb, q_constraint=True)
    assert free.params_["q"] > 1
    for k in free.params_.index:
        assert constrained.params_[k] == pytest.approx(free.params_[k], rel=1e-6)
        assert constrained.se_[k] == pytest.approx(free.se_[k], rel=1e-4)
