"""Beta-discrete-Weibull (Fader, Hardie, Liu, Davin & Steenburgh 2018) against its definition.

The paper's own fits are not reproduced here (its tables are not in shared/REFERENCE.md);
instead: c = 1 is the sBG exactly, whose published fits (Fader & Hardie 2007) are reproduced;
S(t) equals the mixture integral over theta by quadrature; the maximum-likelihood fit equals an
independent optimisation of the survival-table likelihood coded here; the generative process
reproduces S(t); and BdW nests the sBG (its log-likelihood is never lower).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, special, stats

import clvmodels as clv
from clvmodels import backend
from clvmodels.models import bdw, sbg

HIGH_END = [.869, .743, .653, .593, .551, .517, .491]
REGULAR = [.631, .468, .382, .326, .289, .262, .241]


def test_c_one_is_the_sbg_exactly_fader_hardie_2007():
    # the sBG's published High End fit, alpha 0.668 and beta 3.806, reached through the BdW at c = 1
    a, b = 0.668, 3.806
    period, churned = np.arange(1.0, 9.0), np.array([1, 0] * 4, dtype=float)
    np.testing.assert_allclose(bdw.loglik(backend.numpy, a, b, 1.0, period=period, churned=churned),
                               sbg.loglik(backend.numpy, a, b, period=period, churned=churned), rtol=1e-12)
    t = np.arange(0.0, 12.0)
    for name in ("survival", "churn_probability"):
        np.testing.assert_allclose(bdw.SPEC.predictions[name](backend.numpy, a, b, 1.0, t=t),
                                   sbg.SPEC.predictions[name](backend.numpy, a, b, t=t), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(bdw.retention_rate(backend.numpy, a, b, 1.0, t=t[1:]),
                               sbg.retention_rate(backend.numpy, a, b, t=t[1:]), rtol=1e-12)
    renewals = np.array([0.0, 3.0, 10.0])
    np.testing.assert_allclose(
        bdw.discounted_expected_residual_lifetime(backend.numpy, a, b, 1.0, renewals=renewals, discount_rate=0.1),
        sbg.discounted_expected_residual_lifetime(backend.numpy, a, b, renewals=renewals, discount_rate=0.1), rtol=1e-10)
    fixed = clv.BetaDiscreteWeibull().fit_survival(HIGH_END, n_customers=1000, init={"c": 1.0})
    assert fixed.converged_


@pytest.mark.parametrize("c", [0.6, 1.7])
def test_survival_is_the_mixture_over_theta(c):
    a, b = 0.5, 1.2
    for t in (1.0, 3.0, 8.5):
        expected, _ = integrate.quad(lambda th: (1 - th) ** (t ** c) * stats.beta.pdf(th, a, b), 0, 1, epsabs=1e-14,
                                     epsrel=1e-12, limit=200)
        assert float(bdw.survival(backend.numpy, a, b, c, t=t)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("table", [HIGH_END, REGULAR], ids=["high_end", "regular"])
def test_the_fit_equals_an_independent_optimisation(table):
    surv = np.concatenate([[1.0], table])
    deaths, alive = -np.diff(surv) * 1000, surv[-1] * 1000
    t = np.arange(1.0, len(table) + 1)

    def negll(theta):
        a, b, c = np.exp(theta)
        s = np.exp(special.betaln(a, b + np.concatenate([[0.0], t]) ** c) - special.betaln(a, b))
        return -(deaths @ np.log(s[:-1] - s[1:]) + alive * np.log(s[-1]))

    ref = optimize.minimize(negll, np.zeros(3), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12,
                                                                                "maxiter": 20000, "maxfev": 40000})
    ours = clv.BetaDiscreteWeibull().fit_survival(table, n_customers=1000)
    assert ours.converged_
    np.testing.assert_allclose(ours.params_.to_numpy(), np.exp(ref.x), rtol=1e-5)
    assert ours.loglik_ == pytest.approx(-ref.fun, abs=1e-7)
    assert ours.loglik_ >= clv.ShiftedBetaGeo().fit_survival(table, n_customers=1000).loglik_ - 1e-9  # nested


def test_simulated_cohorts_follow_the_survival_curve():
    rng = np.random.default_rng(7)
    d = bdw.simulate(rng, 200_000, 0.5, 1.2, 0.7, horizon=10)
    t = np.arange(1.0, 10.0)
    observed = np.array([(d["period"] > k).mean() for k in t])
    np.testing.assert_allclose(observed, bdw.survival(backend.numpy, 0.5, 1.2, 0.7, t=t), atol=4e-3)


def test_parameters_are_recovered_from_individual_renewals():
    d = bdw.simulate(np.random.default_rng(3), 20_000, 0.8, 2.0, 0.6, horizon=12)
    m = clv.BetaDiscreteWeibull().fit(pd.DataFrame(d))
    truth = {"alpha": 0.8, "beta": 2.0, "c": 0.6}
    assert m.converged_
    for k, v in truth.items():
        assert abs(m.params_[k] - v) < 3 * m.se_[k], k
