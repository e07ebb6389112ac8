"""sBG: Fader & Hardie (2007) High End and Regular cohorts from the survival tables; DERL vs series."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

import clvmodels as clv
from clvmodels.data.contractual import renewals_from_survival
from clvmodels.models.sbg import simulate
from reference_values import (SBG_FH2007_HIGH_END, SBG_FH2007_HIGH_END_SURVIVAL, SBG_FH2007_REGULAR,
                              SBG_FH2007_REGULAR_SURVIVAL, printed_rtol, value)


@pytest.mark.parametrize("pub,survival", [(SBG_FH2007_HIGH_END, SBG_FH2007_HIGH_END_SURVIVAL),
                                          (SBG_FH2007_REGULAR, SBG_FH2007_REGULAR_SURVIVAL)], ids=["high_end", "regular"])
def test_sbg_params_match_FH2007(pub, survival):
    m = clv.ShiftedBetaGeo().fit_survival([value(v) for v in survival], n_customers=1000)
    for name, printed in pub.params.items():
        assert m.params_[name] == pytest.approx(value(printed), rel=printed_rtol(printed)), name
    assert m.converged_ and all(se > 0 for se in m.se_.values())


def test_sbg_individual_rows_give_the_cohort_fit():
    table = renewals_from_survival([value(v) for v in SBG_FH2007_REGULAR_SURVIVAL], n_customers=1000)
    rows = table.loc[table.index.repeat(table["count"])].drop(columns="count")
    m = clv.ShiftedBetaGeo().fit(rows)
    assert m.params_["alpha"] == pytest.approx(0.704, rel=printed_rtol("0.704"))


def test_sbg_retention_is_ratio_of_survival_and_rises():
    m = clv.ShiftedBetaGeo.from_params(SBG_FH2007_HIGH_END.values())
    t = np.arange(1, 30)
    s = m.survival(np.arange(0, 30)).to_numpy()
    np.testing.assert_allclose(m.retention_rate(t).to_numpy(), s[1:] / s[:-1], rtol=1e-12)
    assert np.all(np.diff(m.retention_rate(t).to_numpy()) > 0)
    np.testing.assert_allclose(m.churn_probability(t).to_numpy(), s[:-1] - s[1:], rtol=1e-10)


@pytest.mark.parametrize("renewals", [0, 4, 50])
def test_sbg_derl_matches_mpmath_discounted_survival_series(renewals):
    p = SBG_FH2007_HIGH_END.values()
    m = clv.ShiftedBetaGeo.from_params(p)
    n = renewals + 1
    with mp.workdps(30):
        a, b, d = mp.mpf(p["alpha"]), mp.mpf(p["beta"]), mp.mpf("0.1")
        S = lambda t: mp.beta(a, b + t) / mp.beta(a, b)  # noqa: E731
        truth = mp.nsum(lambda k: S(n - 1 + k + 1) / S(n - 1) / (1 + d) ** k, [0, mp.inf])
    assert m.discounted_expected_residual_lifetime(0.1, renewals=renewals) == pytest.approx(float(truth), rel=1e-8)


def test_sbg_fit_recovers_simulated_params():
    d = simulate(np.random.default_rng(7), 20_000, 0.7, 1.2, horizon=12)
    import pandas as pd

    m = clv.ShiftedBetaGeo().fit(pd.DataFrame(d))
    assert abs(m.params_["alpha"] - 0.7) < 4 * m.se_["alpha"]
    assert abs(m.params_["beta"] - 1.2) < 4 * m.se_["beta"]


def test_sbg_bad_survival_table_is_named():
    with pytest.raises(clv.ClvDataError, match="period 2"):
        renewals_from_survival([0.8, 0.9], n_customers=100)
    with pytest.raises(clv.ClvDataError, match="'churned'"):
        clv.ShiftedBetaGeo().fit({"period": [1, 2], "churned": [1, 2]})
