"""The report's covariate section (clvmodels.reporting.covariates): coefficients, intervals, effects in words.

Sources of truth: the links of the covariate models (Fader & Hardie 2007; COVARIATES.md:
``alpha_i = alpha exp(-g z)`` so the mean purchase rate r/alpha_i is ``exp(g z)`` times the
baseline, Pareto/NBD's ``beta`` likewise for the dropout rate, Gamma-Gamma's ``gamma_i =
gamma exp(g z)`` for the mean spend, BG/NBD's ``a_i = a exp(g_a z)``, ``b_i = b exp(g_b z)``
for the mean dropout probability a/(a+b)), computed here independently; the Wald interval
``estimate ± z se`` from the fit's standard errors (SciPy's normal quantile); ArviZ's HDI for
posterior draws.
"""

from __future__ import annotations

import re

import arviz as az
import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import clvmodels as clv
from clvmodels.reporting.covariates import (Effect, coefficient_table, covariate_effects, covariate_section,
                                         effect_sentence, strongest_driver)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def apparel_summary(shared_data) -> pd.DataFrame:
    tx = pd.read_csv(shared_data / "apparel_transactions.csv")
    cov = pd.read_csv(shared_data / "apparel_customers.csv")
    s = clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end="2007-12-31",
                        observation_end="2010-12-20")
    return clv.join_covariates(s, cov, customer="customer_id")


@pytest.fixture(scope="module")
def bg_fit(apparel_summary):
    with pytest.warns(clv.errors.IdentificationWarning):  # apparel's dropout is weakly identified (documented)
        return clv.BetaGeo(purchase_covariates=["gender", "channel"], dropout_covariates=["channel"]).fit(apparel_summary)


# --------------------------------------------------------------------------- the wording function
def _effect(process, change, lower=None, upper=None, *, binary=True, kind="rate", column="channel", **kw):
    return Effect("X", process, column, (f"{process}:{column}",), kind, change, lower, upper, binary=binary, **kw)


@pytest.mark.parametrize("process, change, lower, upper, expected", [
    ("purchase", 0.234, 0.12, 0.35,
     "Customers with channel = 1 buy 23% more often than those with channel = 0 [94% interval +12% to +35%]."),
    ("purchase", -0.30, -0.45, -0.10,
     "Customers with channel = 1 buy 30% less often than those with channel = 0 [94% interval -45% to -10%]."),
    ("dropout", 0.5, 0.1, 1.0, "Customers with channel = 1 have a 50% higher dropout rate than those with channel = 0 "
                               "(they leave sooner) [94% interval +10% to +100%]."),
    ("dropout", -0.25, -0.4, -0.05, "Customers with channel = 1 have a 25% lower dropout rate than those with "
                                    "channel = 0 (they stay longer) [94% interval -40% to -5.0%]."),
    ("spend", 0.012, -0.08, 0.11, "Customers with channel = 1 spend 1.2% more per purchase on average than those "
                                  "with channel = 0 [94% interval -8.0% to +11%; it includes no change, so the data "
                                  "do not establish this effect]."),
])
def test_sentence_of_a_binary_covariate(process, change, lower, upper, expected):
    assert effect_sentence(_effect(process, change, lower, upper)) == expected


def test_sentence_of_a_continuous_covariate_is_per_unit_and_without_interval_when_none():
    e = _effect("purchase", 0.05, binary=False, column="age")
    assert effect_sentence(e) == "Each unit more of age goes with 5.0% more purchases."
    e = _effect("spend", -0.2, -0.3, -0.1, binary=False, column="age")
    assert effect_sentence(e, 0.9, others=True) == ("Each unit more of age goes with a 20% lower mean spend per "
                                                   "purchase (other covariates equal) [90% interval -30% to -10%].")


def test_sentence_of_a_one_hot_level_names_the_reference_group():
    e = _effect("purchase", 0.5, 0.2, 0.9, column="region=north")
    assert effect_sentence(e).startswith("Customers with region = north buy 50% more often than the reference group "
                                         "of region [")


def test_sentence_of_a_bgnbd_dropout_gives_the_two_mean_probabilities():
    e = _effect("dropout", 0.25, -0.1, 0.7, kind="probability", baseline=0.12, changed=0.15)
    assert effect_sentence(e) == ("Customers with channel = 1 have a 25% higher mean chance of dropping out after a "
                                  "purchase (15.0% vs 12.0%) than those with channel = 0 [94% interval -10% to +70%; "
                                  "it includes no change, so the data do not establish this effect].")


def test_strongest_driver_is_the_largest_established_factor():
    more = _effect("purchase", 0.8, 0.4, 1.3)
    fewer = _effect("dropout", -0.6, -0.8, -0.3, column="gender")  # |log 0.4| = 0.92 > log 1.8 = 0.59
    unsure = _effect("spend", 5.0, -0.5, 20.0, column="age")  # biggest, but its interval includes 0
    line = strongest_driver([more, fewer, unsure])
    assert line == ("Strongest driver: customers with gender = 1 have a 60% lower dropout rate than those with "
                    "gender = 0 (they stay longer) [94% interval -80% to -30%].")
    assert strongest_driver([unsure]) is None
    assert strongest_driver([_effect("purchase", 0.8)]) is None  # no interval: nothing established


# --------------------------------------------------------------------------- effects of fitted models
def test_effects_of_given_coefficients_follow_the_links():
    pnbd = clv.ParetoNBD.from_params(r=0.5, alpha=10.0, s=0.6, beta=12.0, covariates={"purchase": ["x"], "dropout": ["x"]},
                                     **{"purchase:x": np.log(1.23), "dropout:x": np.log(0.7)})
    data = pd.DataFrame({"x": [0.0, 1.0, 1.0]})
    purchase, dropout = covariate_effects(pnbd, data)
    assert (purchase.process, purchase.binary, dropout.process) == ("purchase", True, "dropout")
    assert purchase.change == pytest.approx(0.23, rel=1e-12)
    assert dropout.change == pytest.approx(-0.3, rel=1e-12)
    # the mean purchase rate r / alpha_i at x = 1 over that at x = 0, from the model's own per-customer alpha
    from clvmodels import backend
    from clvmodels.models.covariates import individual_params

    alpha = individual_params(backend.numpy, pnbd.spec, pnbd.params_, {"x": np.array([0.0, 1.0])})["alpha"]
    assert alpha[0] / alpha[1] - 1 == pytest.approx(purchase.change, rel=1e-12)
    gg = clv.GammaGamma.from_params(p=6.0, q=4.0, gamma=15.0, covariates={"spend": ["x"]}, **{"spend:x": -0.5})
    (spend,) = covariate_effects(gg, pd.DataFrame({"x": [0.2, 1.7]}))
    assert not spend.binary and spend.change == pytest.approx(np.expm1(-0.5), rel=1e-12)


def test_bgnbd_dropout_effect_is_the_change_of_the_mean_dropout_probability():
    values = {"r": 0.6, "alpha": 30.0, "a": 2.0, "b": 15.0, "dropout_a:x": -0.8, "dropout_b:x": -1.1}
    bg = clv.BetaGeo.from_params(covariates={"dropout": ["x"]}, **values)
    (e,) = covariate_effects(bg, pd.DataFrame({"x": [0.0, 1.0]}))
    a1, b1 = 2.0 * np.exp(-0.8), 15.0 * np.exp(-1.1)
    assert e.kind == "probability" and e.coefficients == ("dropout_a:x", "dropout_b:x")
    assert e.baseline == pytest.approx(2.0 / 17.0, rel=1e-12)
    assert e.changed == pytest.approx(a1 / (a1 + b1), rel=1e-12)
    assert e.change == pytest.approx((a1 / (a1 + b1)) / (2.0 / 17.0) - 1, rel=1e-12)
    assert e.lower is None  # values given by hand: no covariance, no interval


def test_shared_coefficient_leaves_the_bgnbd_mean_dropout_probability_unchanged():
    bg = clv.BetaGeo.from_params(r=0.6, alpha=30.0, a=2.0, b=15.0, covariates={"shared": ["x"]}, **{"shared:x": 0.4})
    purchase, dropout = covariate_effects(bg, pd.DataFrame({"x": [0.0, 1.0]}))
    assert purchase.shared and purchase.change == pytest.approx(np.expm1(0.4), rel=1e-12)
    assert dropout.change == pytest.approx(0.0, abs=1e-15)
    assert "same mean chance of dropping out" in effect_sentence(dropout)
    assert "one coefficient shared by purchases and dropout" in effect_sentence(purchase)


def test_mle_intervals_are_wald_intervals_and_their_exp(bg_fit, apparel_summary):
    table = coefficient_table(bg_fit, 0.94)
    z = stats.norm.ppf(0.97)
    for name in ("purchase:gender", "purchase:channel", "dropout_a:channel", "dropout_b:channel"):
        est, se = bg_fit.params_[name], bg_fit.se_[name]
        assert table.loc[name, ["estimate", "sd"]].tolist() == pytest.approx([est, se], rel=1e-12)
        assert table.loc[name, ["lower", "upper"]].tolist() == pytest.approx([est - z * se, est + z * se], rel=1e-9)
    effects = {(e.process, e.column): e for e in covariate_effects(bg_fit, apparel_summary)}
    channel = effects[("purchase", "channel")]
    est, se = bg_fit.params_["purchase:channel"], bg_fit.se_["purchase:channel"]
    assert channel.binary and channel.established
    assert [channel.change, channel.lower, channel.upper] == pytest.approx(np.expm1([est, est - z * se, est + z * se]))
    # the dropout effect's interval: HDI of the ratio of mean dropout probabilities over asymptotic draws
    dropout = effects[("dropout", "channel")]
    draws = bg_fit.sample_asymptotic(1000, random_seed=0).fit_.draws()
    a, b = draws["a"].ravel(), draws["b"].ravel()
    a1, b1 = a * np.exp(draws["dropout_a:channel"].ravel()), b * np.exp(draws["dropout_b:channel"].ravel())
    lo, hi = az.hdi((a1 / (a1 + b1)) / (a / (a + b)) - 1, prob=0.94)
    assert [dropout.lower, dropout.upper] == pytest.approx([lo, hi], rel=1e-9)
    assert dropout.lower < dropout.change < dropout.upper


def test_posterior_intervals_are_hdis_of_the_draws(bg_fit, apparel_summary):
    post = bg_fit.sample_asymptotic(400, random_seed=3)  # draws held as a posterior: HDIs, posterior sd
    table = coefficient_table(post, 0.9)
    draws = post.fit_.draws()
    x = draws["purchase:gender"].ravel()
    assert table.loc["purchase:gender", ["estimate", "sd"]].tolist() == pytest.approx([x.mean(), x.std(ddof=1)])
    assert table.loc["purchase:gender", ["lower", "upper"]].tolist() == pytest.approx(az.hdi(x, prob=0.9))
    gender = next(e for e in covariate_effects(post, apparel_summary, hdi_prob=0.9) if e.column == "gender")
    assert [gender.lower, gender.upper] == pytest.approx(np.expm1(az.hdi(x, prob=0.9)))


def test_section_tells_every_effect_and_the_report_puts_it_in(bg_fit, apparel_summary, tmp_path):
    section, effects = covariate_section(bg_fit, None, apparel_summary)
    assert section.title == "What drives purchases and dropout"
    assert len(section.bullets) == len(effects) == 3  # gender and channel on purchases, channel on dropout
    assert "Customers with gender = 1 buy" in section.bullets[0]
    assert all(c in section.tables[0]["html"] for c in ("purchase:gender", "dropout_b:channel", "94% interval, lower"))
    files = clv.report(bg_fit, None, apparel_summary, tmp_path / "r.html")
    assert files.sections.index("drivers") == files.sections.index("customers") - 1
    text = re.sub(r"\s+", " ", (tmp_path / "r.html").read_text())
    assert strongest_driver(effects) in text.replace("&#39;", "'")
    plain = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    assert covariate_section(plain, None, apparel_summary) == (None, [])


def test_holdout_errors_of_a_covariate_model_use_each_customers_covariates(bg_fit, apparel_summary):
    from clvmodels import evaluation

    errors = evaluation.holdout_errors(bg_fit, apparel_summary)
    (duration,) = apparel_summary["duration_holdout"].unique()  # one cohort, one holdout end
    per_customer = bg_fit.expected_purchases(apparel_summary, t=float(duration))
    assert errors.loc["all", "expected"] == pytest.approx(float(per_customer.sum()), rel=1e-10)  # totals
    assert errors.loc["all", "actual"] == pytest.approx(float(apparel_summary["frequency_holdout"].sum()))
