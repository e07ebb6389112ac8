"""Predictive intervals of realised purchases and value (clvmodels.predictive).

Sources of truth: an independent simulation of the BG/NBD and Gamma-Gamma generative
processes written here (not the package's simulators), under which the stated coverage must be
achieved; the models' closed-form conditional expectations (the pmf's mean); the pmf's sum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels.predictive import predictive_interval, purchase_pmf, value_interval

BG = dict(r=0.243, alpha=4.414, a=0.793, b=2.426)  # FHL (2005) CDNOW estimates, weeks
GG = dict(p=6.25, q=3.74, gamma=15.44)  # Fader-Hardie (2013) CDNOW estimates


def simulate_bgnbd_and_spend(rng, n, T, t, *, r, alpha, a, b, p, q, gamma, k_max=80, discount=0.0):
    """Whole customers from the BG/NBD story (Fader, Hardie & Lee 2005, section 3), observed on
    (0, T] and followed on (T, T + t], with Gamma-Gamma spends (Fader & Hardie 2013).

    lambda ~ Gamma(r, rate alpha); p ~ Beta(a, b); repeat purchases at the Poisson(lambda)
    arrival times; after each repeat purchase the customer drops out with probability p, so she
    makes J ~ Geometric(p) (support 1, 2, ...) purchases before dying. Spend rate nu ~ Gamma(q,
    rate gamma); each purchase's spend ~ Gamma(p, rate nu), drawn one by one. ``value`` is the
    future spend, each purchase at time T + u discounted by (1 + discount) ** -ceil(u): to the
    end of the unit period it falls in.
    """
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    J = rng.geometric(drop)
    times = np.cumsum(rng.exponential(1.0, (n, k_max)) / lam[:, None], axis=1)
    made = np.arange(1, k_max + 1)[None, :] <= J[:, None]
    # a customer alive with all k_max purchases inside the window would be undercounted
    assert not np.any(made[:, -1] & (times[:, -1] <= T + t)), "raise k_max"
    in_cal = made & (times <= T)
    x = in_cal.sum(axis=1)
    t_x = np.where(x > 0, np.take_along_axis(times, np.maximum(x - 1, 0)[:, None], axis=1)[:, 0], 0.0)
    y = (made & (times <= T + t)).sum(axis=1) - x
    nu = rng.gamma(q, 1.0 / gamma, n)
    spends = rng.gamma(p, 1.0, (n, k_max)) / nu[:, None]
    m = np.where(x > 0, (spends * in_cal).sum(axis=1) / np.maximum(x, 1), 0.0)
    future = made & (times > T) & (times <= T + t)
    value = (spends * future * (1.0 + discount) ** -np.ceil(times - T)).sum(axis=1)
    summary = pd.DataFrame({"frequency": x.astype(float), "recency": t_x, "T": np.full(n, float(T)),
                            "monetary_value": m})
    return summary, y, value


@pytest.fixture(scope="module")
def simulated():
    rng = np.random.default_rng(20261203)
    return simulate_bgnbd_and_spend(rng, 30_000, T=39.0, t=39.0, **BG, **GG)


def _se(p, n):
    return np.sqrt(p * (1 - p) / n)


def _assert_stated_coverage(pi, y, groups, prefix="purchases", slack=0.0):
    """The hit rate of realised counts ``y`` matches the stated coverage within 4 binomial SEs, per group.

    The interval is exact given the history, so the hit rate must match the stated coverage (not
    merely exceed the nominal probability), overall and in the groups the mean could hide.
    ``prefix`` names the columns (``<prefix>_lower``, ``_upper``, ``_coverage``); ``slack`` allows
    for the Monte-Carlo error of a simulated interval.
    """
    inside = (pi[f"{prefix}_lower"].to_numpy() <= y) & (y <= pi[f"{prefix}_upper"].to_numpy())
    stated = pi[f"{prefix}_coverage"].to_numpy()
    for name, group in groups.items():
        n = int(group.sum())
        assert n > 500, name
        hit, want = inside[group].mean(), stated[group].mean()
        assert abs(hit - want) < 4 * _se(want, n) + slack, (name, n, hit, want)


def test_purchase_interval_achieves_its_stated_coverage_on_independently_simulated_customers(simulated):
    summary, y, _ = simulated
    bg = clv.BetaGeo.from_params(**BG, unit="W")
    pi = predictive_interval(bg, summary, t=39.0, prob=0.8)
    assert (pi["purchases_coverage"].to_numpy() >= 0.8 - 1e-12).all()
    x = summary["frequency"].to_numpy()
    _assert_stated_coverage(pi, y, {"all": np.ones(len(y), bool), "x >= 3": x >= 3, "x == 1": x == 1})


def test_whole_pmf_matches_the_frequencies_of_simulated_future_purchases(simulated):
    summary, y, _ = simulated
    bg = clv.BetaGeo.from_params(**BG, unit="W")
    frequent = summary["frequency"].to_numpy() >= 2
    pmf = purchase_pmf(bg, summary[frequent], t=39.0).to_numpy()
    n = int(frequent.sum())
    for k in range(6):
        predicted = pmf[:, k].mean()
        observed = np.mean(y[frequent] == k)
        assert abs(observed - predicted) < 4 * _se(predicted, n) + 1e-3, (k, observed, predicted)


def test_value_interval_covers_independently_simulated_spend(simulated):
    summary, _, value = simulated
    bg = clv.BetaGeo.from_params(**BG, unit="W")
    gg = clv.GammaGamma.from_params(**GG)
    sub = slice(0, 10_000)
    pv = predictive_interval(bg, summary.iloc[sub], t=39.0, prob=0.8, spend_model=gg, n_sims=2000, random_seed=3)
    v = value[sub]
    inside = (pv["value_lower"].to_numpy() <= v) & (v <= pv["value_upper"].to_numpy())
    # an interval ending at 0 (most customers buy nothing) covers P(V = 0) >= 0.8; the rest
    # have a continuous part: coverage is at least 0.8, up to the quantiles' Monte-Carlo error
    assert inside.mean() > 0.8 - 4 * _se(0.8, len(v)) - 0.01, inside.mean()
    # the realised value's mean equals the expected value (purchases x spend) in the simulation
    np.testing.assert_allclose(v.mean(), pv["expected_value"].mean(), rtol=0.08)
    buyers = summary.iloc[sub]["frequency"].to_numpy() >= 3
    assert inside[buyers].mean() > 0.8 - 4 * _se(0.8, int(buyers.sum())) - 0.01


MODELS = {
    "bgnbd": (clv.BetaGeo.from_params(**BG, unit="W"), None),
    "pareto_nbd": (clv.ParetoNBD.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669, unit="W"), None),
    "mbgnbd": (clv.ModifiedBetaGeo.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W"), None),
    "bgbb": (clv.BetaGeoBetaBinom.from_params(alpha=1.20, beta=0.75, gamma=0.66, delta=2.78), "discrete"),
}


def _summary(kind):
    if kind == "discrete":
        return pd.DataFrame({"frequency": [0, 1, 3, 6], "recency": [0, 2, 5, 6], "n_periods": [6, 6, 6, 6]})
    return pd.DataFrame({"frequency": [0, 1, 3, 12, 2], "recency": [0.0, 5.0, 30.0, 38.0, 10.0],
                         "T": [38.86, 38.86, 38.86, 38.86, 20.0]})


@pytest.mark.parametrize("name", list(MODELS))
def test_pmf_sums_to_one_and_its_mean_is_the_closed_form_conditional_expectation(name):
    model, kind = MODELS[name]
    s = _summary(kind)
    t = 5 if kind == "discrete" else 39.0
    pmf = purchase_pmf(model, s, t=t, tail_mass=1e-13)
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0, atol=1e-10)
    mean = (pmf.to_numpy() * pmf.columns.to_numpy()[None, :]).sum(axis=1)
    np.testing.assert_allclose(mean, model.expected_purchases(s, t=t).to_numpy(), atol=1e-6, rtol=0)
    if kind == "discrete":  # at most one purchase per opportunity
        assert pmf.shape[1] <= t + 1


@pytest.mark.parametrize("name", list(MODELS))
def test_interval_is_equal_tailed_and_its_coverage_is_the_pmf_mass_inside(name):
    # An equal-tailed interval need not contain the mean (P(0) = 0.96 gives [0, 0] around a
    # mean of 0.07), so "lower <= expected <= upper" is not checked: it is not a property.
    model, kind = MODELS[name]
    s = _summary(kind)
    t = 5 if kind == "discrete" else 39.0
    pi = predictive_interval(model, s, t=t, prob=0.9)
    pmf = purchase_pmf(model, s, t=t).to_numpy()
    for i, (lo, hi, cov) in enumerate(pi[["purchases_lower", "purchases_upper", "purchases_coverage"]].to_numpy()):
        lo, hi = int(lo), int(hi)
        np.testing.assert_allclose(cov, pmf[i, lo:hi + 1].sum(), rtol=1e-12)
        assert cov >= 0.9
        # equal tails: each side outside holds at most 5 %, and moving an end inwards breaks that
        assert pmf[i, :lo].sum() <= 0.05 + 1e-12 and pmf[i, hi + 1:].sum() <= 0.05 + 1e-6
        assert pmf[i, :lo + 1].sum() >= 0.05 - 1e-12 or lo == 0
        assert pmf[i, hi:].sum() > 0.05 - 1e-6 or hi == 0


def test_on_cdnow_the_predictive_interval_is_much_wider_than_the_hdi_of_the_expectation():
    s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
                        calibration_end="1997-09-30")
    bg = clv.BetaGeo().fit(s)
    point = predictive_interval(bg, s, t=39, prob=0.9)
    post = predictive_interval(bg.sample_asymptotic(400, random_seed=0), s, t=39, prob=0.9)
    assert "expectation_hdi_lower" not in point.columns
    # the expectation is uncertain by a fraction of a purchase; the realised count by several
    hdi_width = post["expectation_hdi_upper"] - post["expectation_hdi_lower"]
    frequent = s["frequency"] >= 3
    assert (post["purchases_upper"] - post["purchases_lower"])[frequent].mean() > 5 * hdi_width[frequent].mean()
    # where the interval misses the expectation it is because no purchase is that likely
    missed = point["purchases_upper"] < point["expected_purchases"]
    pmf0 = purchase_pmf(bg, s[missed], t=39)[0] if missed.any() else pd.Series(dtype=float)
    assert (pmf0 >= 0.95).all()
    # 2,357 customers pin the parameters down: the draws move an end by at most one purchase
    assert (post["purchases_upper"] - point["purchases_upper"]).abs().max() <= 1


def test_posterior_pmf_is_the_average_of_the_point_pmfs_at_its_draws():
    s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
                        calibration_end="1997-09-30")
    small = s.iloc[:150]  # few customers: uncertain parameters
    bg = clv.BetaGeo().fit(small)
    draws = bg.sample_asymptotic(40, random_seed=4)
    rows = s[s["frequency"] >= 4].iloc[:6]
    mixed = purchase_pmf(draws, rows, t=39, max_draws=None)
    flat = {k: v.reshape(-1) for k, v in draws.fit_.draws().items()}
    singles = [purchase_pmf(clv.BetaGeo.from_params({k: float(v[i]) for k, v in flat.items()}, unit="W"), rows, t=39)
               for i in range(40)]
    width = max(mixed.shape[1], *(p.shape[1] for p in singles))
    average = sum(p.reindex(columns=range(width), fill_value=0.0).to_numpy() for p in singles) / 40
    np.testing.assert_allclose(mixed.reindex(columns=range(width), fill_value=0.0).to_numpy(), average, atol=1e-6)
    # law of total variance: the mixture's variance is the draws' mean variance plus the
    # variance of their means, so mixing over draws can only add spread to the average draw
    k = np.arange(width)
    mix = mixed.reindex(columns=range(width), fill_value=0.0).to_numpy()
    var_mix = (mix * k**2).sum(axis=1) - (mix * k).sum(axis=1) ** 2
    means = np.array([(p.reindex(columns=range(width), fill_value=0.0).to_numpy() * k).sum(axis=1) for p in singles])
    var_each = np.array([(p.reindex(columns=range(width), fill_value=0.0).to_numpy() * k**2).sum(axis=1) for p in singles]) - means**2
    np.testing.assert_allclose(var_mix, var_each.mean(axis=0) + means.var(axis=0), rtol=1e-4)
    assert (means.var(axis=0) > 0).all()


def test_extreme_draws_where_the_pmf_loses_its_digits_are_refused_not_averaged():
    s = pd.DataFrame({"frequency": [5.0], "recency": [24.43], "T": [38.86]})
    bad = clv.BetaGeo.from_params(r=0.3119, alpha=10.31, a=8.84e16, b=2.15e17, unit="W")
    with pytest.raises(FloatingPointError, match="not valid probabilities"):
        predictive_interval(bad, s, t=39)


def test_posterior_value_path_and_block_processing_agree_with_one_block(monkeypatch):
    s = pd.DataFrame({"frequency": [0, 2, 2, 7], "recency": [0.0, 30.43, 30.43, 36.0], "T": [38.86] * 4,
                      "monetary_value": [0.0, 20.0, 55.0, 30.0]})
    bg = clv.BetaGeo.from_params(**BG, unit="W")
    gg = clv.GammaGamma.from_params(**GG)
    a = predictive_interval(bg, s, t=39, spend_model=gg, n_sims=20_000, random_seed=5)
    # same history, different spend: same purchase interval, value scales with the spend posterior
    assert a.iloc[1]["purchases_upper"] == a.iloc[2]["purchases_upper"]
    assert a.iloc[2]["value_upper"] > a.iloc[1]["value_upper"]
    np.testing.assert_allclose(a["value_mean_simulated"], a["expected_value"], rtol=0.05)
    from clvmodels import predict
    monkeypatch.setattr(predict, "CHUNK_BYTES", 8 * 20_000)  # one customer per value block
    b = predictive_interval(bg, s, t=39, spend_model=gg, n_sims=20_000, random_seed=5)
    pd.testing.assert_frame_equal(a[["purchases_lower", "purchases_upper"]], b[["purchases_lower", "purchases_upper"]])
    np.testing.assert_allclose(a["value_upper"], b["value_upper"], rtol=0.05)


def test_bad_arguments_are_refused_with_the_argument_named():
    bg = clv.BetaGeo.from_params(**BG, unit="W")
    s = _summary(None)
    with pytest.raises(ValueError, match="prob"):
        predictive_interval(bg, s, t=39, prob=1.5)
    with pytest.raises(ValueError, match="'t'"):
        predictive_interval(bg, s, t=-1)
    with pytest.raises(TypeError, match="transaction model"):
        predictive_interval(clv.GammaGamma.from_params(**GG), s, t=39)
    with pytest.raises(TypeError, match="spend_model"):
        predictive_interval(bg, s, t=39, spend_model=bg)


def test_upper_end_beyond_max_n_is_inf_with_a_warning():
    bg = clv.BetaGeo.from_params(**BG, unit="W")
    s = pd.DataFrame({"frequency": [30.0], "recency": [38.0], "T": [38.86]})
    with pytest.warns(UserWarning, match="max_n"):
        pi = predictive_interval(bg, s, t=39, max_n=3)
    assert np.isinf(pi["purchases_upper"].iloc[0])


def test_cli_predict_adds_the_predictive_interval_columns_of_the_api(tmp_path):
    from typer.testing import CliRunner

    from clvmodels.cli import app

    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(app, ["predict", "--dataset", "cdnow", "--horizon", "9", "--horizon-unit", "M",
                                      "--predictive-interval", "0.8", "--seed", "1", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "not of their expectation" in result.output
    scores = pd.read_csv(out, index_col=0)
    # named with the horizon, as every per-customer output (clvmodels.value.horizon_column)
    for col in ("purchases_9m_lower", "purchases_9m_upper", "purchases_9m_coverage", "clv_realised_9m_lower",
                "clv_realised_9m_upper", "clv_realised_9m_coverage"):
        assert col in scores.columns
    # the same numbers as the API at the horizon in model units the scores used
    s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
                        calibration_end="1997-09-30")
    t_model = clv.units.period_edges(9, "M", "W", start=s.attrs["calibration_end"])[-1]
    api = predictive_interval(clv.BetaGeo().fit(s), s, t=float(t_model), prob=0.8)
    np.testing.assert_array_equal(scores["purchases_9m_upper"].sort_index().to_numpy(),
                                  api["purchases_upper"].sort_index().to_numpy())
    assert (scores["purchases_9m_coverage"] >= 0.8).all()
    # the realised value replaces the undiscounted value_* columns of predictive_interval
    assert "value_9m_lower" not in scores.columns and "value_9m_upper" not in scores.columns
    # the realised value on the clv column's terms (9 calendar months, the shared default rate of 1 % a month,
    # margin 1), as the API gives it with its defaults
    bg, gg = clv.BetaGeo().fit(s), clv.GammaGamma().fit(s[s["frequency"] > 0])
    vi = value_interval(bg, gg, s, horizon=9, unit="M", prob=0.8, random_seed=1)
    np.testing.assert_allclose(scores["clv_9m"].sort_index(), vi["clv"].sort_index(), rtol=1e-9)
    np.testing.assert_allclose(scores["clv_realised_9m_upper"].sort_index(), vi["clv_realised_upper"].sort_index(),
                               rtol=1e-9)
    bad = CliRunner().invoke(app, ["predict", "--dataset", "cdnow", "--predictive-interval", "1.5"])
    assert bad.exit_code != 0 and "--predictive-interval must be a probability" in bad.output


def test_pareto_nbd_interval_achieves_its_stated_coverage_on_independently_simulated_customers():
    # Schmittlein, Morrison & Colombo (1987): purchases Poisson(lambda) while alive, lifetime
    # Exponential(mu); lambda ~ Gamma(r, rate alpha), mu ~ Gamma(s, rate beta)
    r, alpha, s_, beta = 0.553, 10.578, 0.606, 11.669
    rng = np.random.default_rng(7)
    n, T, t, k_max = 20_000, 39.0, 39.0, 120
    lam = rng.gamma(r, 1.0 / alpha, n)
    death = rng.exponential(1.0, n) / rng.gamma(s_, 1.0 / beta, n)
    times = np.cumsum(rng.exponential(1.0, (n, k_max)) / lam[:, None], axis=1)
    made = times <= death[:, None]
    assert not np.any(made[:, -1] & (times[:, -1] <= T + t)), "raise k_max"
    x = (made & (times <= T)).sum(axis=1)
    t_x = np.where(x > 0, np.take_along_axis(times, np.maximum(x - 1, 0)[:, None], axis=1)[:, 0], 0.0)
    y = (made & (times <= T + t)).sum(axis=1) - x
    summary = pd.DataFrame({"frequency": x.astype(float), "recency": t_x, "T": np.full(n, T)})
    model = clv.ParetoNBD.from_params(r=r, alpha=alpha, s=s_, beta=beta, unit="W")
    pi = predictive_interval(model, summary, t=t, prob=0.8)
    _assert_stated_coverage(pi, y, {"all": np.ones(n, bool), "x >= 3": x >= 3})


def test_posterior_spend_fit_mixes_its_draws_into_the_value_and_keeps_the_mean():
    s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
                        calibration_end="1997-09-30")
    rows = s[s["frequency"] >= 1].iloc[:5]
    bg = clv.BetaGeo.from_params(**BG, unit="W")
    gg = clv.GammaGamma().fit(s[s["frequency"] > 0].iloc[:80])  # few customers: uncertain spend parameters
    point = predictive_interval(bg, rows, t=39, spend_model=gg, n_sims=40_000, random_seed=1)
    post = predictive_interval(bg, rows, t=39, spend_model=gg.sample_asymptotic(2000, random_seed=2),
                               n_sims=40_000, random_seed=1)
    # same purchases; the spend draws change the value's spread, not (beyond MC error) its mean
    pd.testing.assert_series_equal(point["purchases_upper"], post["purchases_upper"])
    np.testing.assert_allclose(post["value_mean_simulated"], post["expected_value"], rtol=0.05)
    np.testing.assert_allclose(point["value_mean_simulated"], point["expected_value"], rtol=0.05)


def test_bgbb_interval_achieves_its_stated_coverage_on_independently_simulated_customers():
    # Fader, Hardie & Shang (2010): at each opportunity a living customer first dies with
    # probability theta ~ Beta(gamma, delta), else buys with probability p ~ Beta(alpha, beta)
    alpha, beta, gamma, delta = 1.20, 0.75, 0.66, 2.78
    rng = np.random.default_rng(11)
    n, n_cal, t = 20_000, 6, 5
    p = rng.beta(alpha, beta, n)[:, None]
    theta = rng.beta(gamma, delta, n)[:, None]
    alive = np.cumprod(rng.random((n, n_cal + t)) > theta, axis=1).astype(bool)
    buys = alive & (rng.random((n, n_cal + t)) < p)
    x = buys[:, :n_cal].sum(axis=1)
    last = np.where(x > 0, n_cal - np.argmax(buys[:, :n_cal][:, ::-1], axis=1), 0)
    y = buys[:, n_cal:].sum(axis=1)
    summary = pd.DataFrame({"frequency": x, "recency": last, "n_periods": np.full(n, n_cal)})
    model = clv.BetaGeoBetaBinom.from_params(alpha=alpha, beta=beta, gamma=gamma, delta=delta)
    pi = predictive_interval(model, summary, t=t, prob=0.8)
    _assert_stated_coverage(pi, y, {"all": np.ones(n, bool), "x >= 3": x >= 3})



# --------------------------------------------------------------------------- realised discounted value
PNBD = dict(r=0.553, alpha=10.578, s=0.606, beta=11.669)  # Fader, Hardie & Lee (2005) CDNOW estimates, weeks


def simulate_pareto_nbd_and_spend(rng, n, T, t, *, r, alpha, s, beta, p, q, gamma, k_max=120, discount=0.0):
    """Whole Pareto/NBD customers (Schmittlein, Morrison & Colombo 1987) with Gamma-Gamma spends:
    Poisson(lambda) purchases while alive, lifetime Exponential(mu); the future spend discounted
    as in :func:`simulate_bgnbd_and_spend`."""
    lam = rng.gamma(r, 1.0 / alpha, n)
    death = rng.exponential(1.0, n) / rng.gamma(s, 1.0 / beta, n)
    times = np.cumsum(rng.exponential(1.0, (n, k_max)) / lam[:, None], axis=1)
    made = times <= death[:, None]
    assert not np.any(made[:, -1] & (times[:, -1] <= T + t)), "raise k_max"
    in_cal = made & (times <= T)
    x = in_cal.sum(axis=1)
    t_x = np.where(x > 0, np.take_along_axis(times, np.maximum(x - 1, 0)[:, None], axis=1)[:, 0], 0.0)
    nu = rng.gamma(q, 1.0 / gamma, n)
    spends = rng.gamma(p, 1.0, (n, k_max)) / nu[:, None]
    m = np.where(x > 0, (spends * in_cal).sum(axis=1) / np.maximum(x, 1), 0.0)
    future = made & (times > T) & (times <= T + t)
    value = (spends * future * (1.0 + discount) ** -np.ceil(times - T)).sum(axis=1)
    summary = pd.DataFrame({"frequency": x.astype(float), "recency": t_x, "T": np.full(n, float(T)),
                            "monetary_value": m})
    return summary, value


@pytest.mark.parametrize("name", ["bgnbd", "pareto_nbd"])
def test_value_interval_covers_the_realised_discounted_holdout_value_of_simulated_customers(name):
    # 39 weekly periods at 1 % a week: purchases in week k are discounted by 1.01 ** -k, as
    # lifetime_value discounts them, and the simulated holdout value is discounted the same way
    rng = np.random.default_rng(151)
    if name == "bgnbd":
        summary, _, realised = simulate_bgnbd_and_spend(rng, 10_000, T=39.0, t=39.0, **BG, **GG, discount=0.01,
                                                        k_max=200)
        model = clv.BetaGeo.from_params(**BG, unit="W")
    else:
        summary, realised = simulate_pareto_nbd_and_spend(rng, 10_000, T=39.0, t=39.0, **PNBD, **GG, discount=0.01)
        model = clv.ParetoNBD.from_params(**PNBD, unit="W")
    v = value_interval(model, clv.GammaGamma.from_params(**GG), summary, horizon=39, unit="W", discount_rate=0.01,
                       prob=0.9, n_sims=600, random_seed=2)
    x = summary["frequency"].to_numpy()
    # 90 % of the simulations inside, except where buying nothing is more than 90 % likely: the
    # interval is then [0, 0] and holds that chance
    cov, nothing = v["clv_realised_coverage"].to_numpy(), v["clv_realised_upper"].to_numpy() == 0
    assert np.abs(cov[~nothing] - 0.9).max() < 0.005 and (cov[nothing] >= 0.9).all()
    _assert_stated_coverage(v, realised, {"all": np.ones(len(x), bool), "x >= 3": x >= 3},
                            prefix="clv_realised", slack=0.01)
    # the simulated holdout's mean value is the expectation lifetime_value gives
    np.testing.assert_allclose(realised.mean(), v["clv"].mean(), rtol=0.06)


def _cdnow():
    s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
                        calibration_end="1997-09-30")
    return s, clv.GammaGamma().fit(s[s["frequency"] > 0])


@pytest.mark.parametrize("model_class", [clv.BetaGeo, clv.ParetoNBD])
def test_simulated_mean_of_the_realised_value_is_lifetime_values_expectation(model_class):
    # point fits and their asymptotic draws; 5 % a month over calendar months (CDNOW's
    # calibration ends on 30 Sep): discounting a purchase one period off would move the total 5 %
    s, gg = _cdnow()
    tm = model_class().fit(s)
    kw = dict(horizon=12, unit="M", discount_rate=0.05)
    frequent = (s["frequency"] >= 5).to_numpy()
    for t_fit, s_fit in ((tm, gg), (tm.sample_asymptotic(200, random_seed=0), gg.sample_asymptotic(200, random_seed=1))):
        v = value_interval(t_fit, s_fit, s, n_sims=500, random_seed=3, **kw)
        expected = clv.lifetime_value(t_fit, s_fit, s, hdi_prob=0.9, **kw)
        expected = expected["mean"] if isinstance(expected, pd.DataFrame) else expected
        np.testing.assert_allclose(v["clv"], expected, rtol=1e-12)
        assert ("clv_hdi_lower" in v.columns) == (t_fit.fit_.n_draws > 1)
        # totals over 2,357 x 500 simulations: Monte-Carlo error well under 1 %
        np.testing.assert_allclose(v["clv_realised_mean"].sum(), expected.sum(), rtol=0.015)
        np.testing.assert_allclose(v["clv_realised_mean"][frequent].sum(), expected[frequent].sum(), rtol=0.02)
        assert (v["clv_realised_lower"] <= v["clv_realised_upper"]).all()
        # the interval of the realised value is far wider than the HDI of its expectation
        if "clv_hdi_lower" in v.columns:
            hdi = (v["clv_hdi_upper"] - v["clv_hdi_lower"])[frequent].mean()
            assert (v["clv_realised_upper"] - v["clv_realised_lower"])[frequent].mean() > 3 * hdi


def test_value_interval_blocks_and_a_discount_rate_of_zero_agree_with_the_undiscounted_value():
    # one customer per block gives the same distribution; at 0 % the 12-month value is the
    # undiscounted value of predictive_interval over the same span, simulated another way
    s = pd.DataFrame({"frequency": [0.0, 2.0, 7.0], "recency": [0.0, 30.43, 36.0], "T": [38.86] * 3,
                      "monetary_value": [0.0, 20.0, 30.0]})
    bg = clv.BetaGeo.from_params(**BG, unit="W")
    gg = clv.GammaGamma.from_params(**GG)
    a = value_interval(bg, gg, s, horizon=12, unit="M", discount_rate=0.0, n_sims=40_000, random_seed=4)
    b = value_interval(bg, gg, s, horizon=12, unit="M", discount_rate=0.0, n_sims=40_000, random_seed=5,
                       chunk_bytes=1)
    np.testing.assert_allclose(a["clv_realised_upper"], b["clv_realised_upper"], rtol=0.04)
    t = a.attrs["horizon_model_units"]
    pv = predictive_interval(bg, s, t=t, spend_model=gg, n_sims=40_000, random_seed=6)
    np.testing.assert_allclose(a["clv_realised_mean"], pv["value_mean_simulated"], rtol=0.04)
    np.testing.assert_allclose(a["clv_realised_mean"], pv["expected_value"], rtol=0.04)
    # where P(no purchase) > 5 % both lower ends are 0; the one-sided upper end lies inside the
    # equal-tailed one (the 0.9 rather than the 0.95 quantile of the same distribution)
    assert (a["clv_realised_lower"] == 0).all() and (pv["value_lower"] == 0).all()
    assert (a["clv_realised_upper"] < pv["value_upper"]).all()


def test_value_interval_refuses_models_it_cannot_simulate_and_bad_arguments():
    gg = clv.GammaGamma.from_params(**GG)
    bgbb = clv.BetaGeoBetaBinom.from_params(alpha=1.20, beta=0.75, gamma=0.66, delta=2.78)
    d = pd.DataFrame({"frequency": [1], "recency": [2], "n_periods": [6], "monetary_value": [10.0]})
    with pytest.raises(ValueError, match="BG/BB cannot"):
        value_interval(bgbb, gg, d, horizon=3, unit="M", model_unit="W")
    s = pd.DataFrame({"frequency": [1.0], "recency": [2.0], "T": [6.0], "monetary_value": [10.0]})
    bg = clv.BetaGeo.from_params(**BG, unit="W")
    with pytest.raises(ValueError, match="prob"):
        value_interval(bg, gg, s, prob=1.0)
    with pytest.raises(ValueError, match="n_sims"):
        value_interval(bg, gg, s, n_sims=0)
    with pytest.raises(TypeError, match="spend_model"):
        value_interval(bg, bg, s)
    with pytest.raises(TypeError, match="transaction_model"):
        value_interval(gg, gg, s)


def test_report_customer_table_shows_the_ranges_of_actual_purchases_and_value_as_the_api_gives_them(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
                        calibration_end="1997-09-30")
    bg = clv.BetaGeo.from_params(**BG, unit="W")  # no covariance: the point fit's own ranges
    gg = clv.GammaGamma.from_params(**GG)
    files = clv.report(bg, gg, s, tmp_path / "r.html", discount_rate=0.01)
    table = pd.read_csv(files.customers, index_col=0).sort_index()
    vi = value_interval(bg, gg, s, horizon=12, unit="M", discount_rate=0.01, prob=0.94, n_sims=1000, random_seed=0)
    # the CSV names them with the horizon, as every per-customer output (clvmodels.value.horizon_column)
    np.testing.assert_allclose(table["clv_realised_12m_upper"], vi["clv_realised_upper"].sort_index(), rtol=1e-9)
    pi = predictive_interval(bg, s, t=vi.attrs["horizon_model_units"], prob=0.94)
    np.testing.assert_array_equal(table["purchases_12m_upper"], pi["purchases_upper"].sort_index())
    page = files.html.read_text()
    for header in ("Actual purchases, 94% range, low", "Actual purchases, 94% range, high",
                   "Actual value, 94% range, low", "Actual value, 94% range, high"):
        assert f">{header}</th>" in page
    # parameters given, no covariance: no interval of the expectation, still the range of the actual numbers
    assert ">CLV 94% interval, high</th>" not in page
    assert "range of actual purchases and value says where" in page


@pytest.mark.parametrize("name", ["bgnbd", "pareto_nbd", "mbgnbd"])
def test_each_models_simulated_future_has_the_closed_form_clv_as_its_mean(name):
    # frequent buyers at known parameters: the value's sd is about its mean, so 40,000
    # simulations put the mean within about 0.5 %; 5 % a month over 12 months
    model, _ = MODELS[name]
    s = pd.DataFrame({"frequency": [3.0, 8.0, 12.0], "recency": [30.0, 36.0, 38.0], "T": [38.86] * 3,
                      "monetary_value": [25.0, 40.0, 60.0]})
    v = value_interval(model, clv.GammaGamma.from_params(**GG), s, horizon=12, unit="M", discount_rate=0.05,
                       n_sims=40_000, random_seed=9)
    np.testing.assert_allclose(v["clv_realised_mean"], v["clv"], rtol=0.03)


def test_value_interval_of_a_fit_with_covariates_is_the_plain_models_at_each_customers_parameters():
    # purchase:z = log 2 halves alpha where z = 1 (alpha * exp(-log 2 * z)); spend:z = log 2 doubles
    # gamma. With one seed and point fits the draws line up, so each customer's interval is the
    # plain model's at her own parameters
    s = pd.DataFrame({"frequency": [2.0, 5.0], "recency": [30.0, 36.0], "T": [38.86] * 2,
                      "monetary_value": [20.0, 35.0], "z": [1.0, 1.0]}, index=pd.Index([7, 8], name="customer_id"))
    bg = clv.BetaGeo.from_params({**BG, "purchase:z": np.log(2.0)}, unit="W", covariates={"purchase": ["z"]})
    gg = clv.GammaGamma.from_params(**GG, covariates={"spend": ["z"]}, **{"spend:z": np.log(2.0)})
    plain_bg = clv.BetaGeo.from_params(**{**BG, "alpha": BG["alpha"] / 2}, unit="W")
    plain_gg = clv.GammaGamma.from_params(**{**GG, "gamma": GG["gamma"] * 2})
    kw = dict(horizon=12, unit="M", discount_rate=0.01, n_sims=2000, random_seed=11)
    got = value_interval(bg, gg, s, **kw)
    want = value_interval(plain_bg, plain_gg, s.drop(columns="z"), **kw)
    np.testing.assert_allclose(got["clv"], want["clv"], rtol=1e-9)
    for col in ("clv_realised_lower", "clv_realised_upper", "clv_realised_mean"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-9)
