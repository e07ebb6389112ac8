"""Figures of clvmodels.plotting: what they draw is what the public API / evaluation tables say.

Sources of truth: lifetimes 0.11.3 at the published FHL 2005 parameters (matrices), simulation
from the BG/NBD process (calibration histogram), the evaluation and segments tables the plots
are given, and properties (grids independent of the number of customers, ``ax=`` honoured,
figures closed).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import clvmodels as clv  # noqa: E402
from clvmodels import evaluation, plotting, segments  # noqa: E402
from clvmodels.models.bgnbd import simulate  # noqa: E402

from reference_values import BGNBD_FHL2005, value  # noqa: E402

PARAMS = {k: value(v) for k, v in BGNBD_FHL2005.params_precise.items()}


@pytest.fixture(autouse=True)
def no_figure_left_open():
    before = set(plt.get_fignums())
    yield
    leaked = set(plt.get_fignums()) - before
    plt.close("all")
    assert not leaked, f"a test left {len(leaked)} figure(s) open"


@pytest.fixture(scope="module")
def bg() -> clv.BetaGeo:
    return clv.BetaGeo.from_params(PARAMS, unit="W")


@pytest.fixture(scope="module")
def lifetimes_bg():
    lifetimes = pytest.importorskip("lifetimes")
    fitter = lifetimes.BetaGeoFitter()
    fitter.params_ = pd.Series(PARAMS)
    return fitter


class CountingModel:
    """Wraps a model and records how many rows each per-customer prediction was asked for."""

    def __init__(self, model):
        self.model, self.rows = model, []

    def expected_purchases(self, data, t):
        self.rows.append(len(data))
        return self.model.expected_purchases(data, t=t)

    def probability_alive(self, data):
        self.rows.append(len(data))
        return self.model.probability_alive(data)


# --------------------------------------------------------------------------- matrices
def test_frequency_recency_matrix_equals_lifetimes_at_FHL2005_params(bg, lifetimes_bg):
    ax = plotting.plot_frequency_recency_matrix(bg, t=13, T=39.0, max_frequency=8, n_recency=14)
    image = np.asarray(ax.images[0].get_array())
    freq = np.arange(9.0)
    rec = np.linspace(0, 39.0, 14)
    ff, rr = np.meshgrid(freq, rec, indexing="ij")
    expected = lifetimes_bg.conditional_expected_number_of_purchases_up_to_time(13, ff.ravel(), rr.ravel(), 39.0)
    np.testing.assert_allclose(image, np.asarray(expected).reshape(image.shape), rtol=1e-6)
    assert ax.get_ylabel().startswith("frequency") and ax.get_xlabel().startswith("recency")
    plotting.close(ax)


def test_probability_alive_matrix_equals_lifetimes_at_FHL2005_params(bg, lifetimes_bg):
    ax = plotting.plot_probability_alive_matrix(bg, T=30.0, max_frequency=6, n_recency=11)
    image = np.asarray(ax.images[0].get_array())
    ff, rr = np.meshgrid(np.arange(7.0), np.linspace(0, 30.0, 11), indexing="ij")
    expected = lifetimes_bg.conditional_probability_alive(ff.ravel(), rr.ravel(), 30.0)
    np.testing.assert_allclose(image, np.asarray(expected).reshape(image.shape), rtol=1e-6)
    plotting.close(ax)


@pytest.mark.parametrize("n_customers", [100, 20_000])
def test_matrices_evaluate_one_grid_whatever_the_number_of_customers(bg, n_customers):
    rng = np.random.default_rng(3)
    data = pd.DataFrame(simulate(rng, n_customers, **PARAMS, T=39.0))
    data["frequency"] = np.minimum(data["frequency"], 10)  # the 99th percentile then lies at <= 10
    spy = CountingModel(bg)
    fig, (ax1, ax2) = plt.subplots(1, 2)
    plotting.plot_frequency_recency_matrix(spy, data, max_frequency=10, n_recency=30, ax=ax1)
    plotting.plot_probability_alive_matrix(spy, data, max_frequency=10, n_recency=30, ax=ax2)
    assert spy.rows == [11 * 30, 11 * 30]
    plotting.close(fig)


def test_matrix_without_T_or_data_names_the_missing_argument(bg):
    with pytest.raises(ValueError, match="Pass T="):
        plotting.plot_probability_alive_matrix(bg, max_frequency=3)


# --------------------------------------------------------------------------- calibration histogram
def test_calibration_histogram_observed_bars_count_the_summary(bg, cdnow_summary):
    ax = plotting.plot_calibration_histogram(bg, cdnow_summary, max_count=7)
    observed = [p.get_height() for p in ax.patches[:8]]
    x = cdnow_summary["frequency"].to_numpy()
    assert observed == [float((x == k).sum()) for k in range(7)] + [float((x >= 7).sum())]
    model = [p.get_height() for p in ax.patches[8:16]]
    np.testing.assert_allclose(sum(model), len(cdnow_summary), rtol=1e-9)
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "7+"
    plotting.close(ax)


def test_calibration_histogram_model_bars_match_simulation_of_the_process(bg, cdnow_summary):
    # simulate 40 copies of every CDNOW customer's observation window T from the BG/NBD process
    copies = 40
    T = np.tile(cdnow_summary["T"].to_numpy(), copies)
    sim = simulate(np.random.default_rng(2005), T.size, **PARAMS, T=T)
    simulated = np.bincount(np.minimum(sim["frequency"].astype(int), 7), minlength=8) / copies
    ax = plotting.plot_calibration_histogram(bg, cdnow_summary)
    model = np.array([p.get_height() for p in ax.patches[8:16]])
    # the simulated counts have binomial noise: sd of the mean count ~ sqrt(count / copies)
    tolerance = 4 * np.sqrt(model / copies) + 1e-9
    assert np.all(np.abs(simulated - model) <= tolerance), (simulated, model)
    plotting.close(ax)


def test_calibration_histogram_without_closed_form_pmf_is_simulated(cdnow_summary):
    import dataclasses

    pnbd = clv.get_model("pareto_nbd")().fit(cdnow_summary)

    class NoPmf(clv.ParetoNBD):  # a model offering no P(X(t) = n)
        spec = dataclasses.replace(clv.ParetoNBD.spec, predictions={
            k: v for k, v in clv.ParetoNBD.spec.predictions.items() if k != "probability_of_purchases"})

    exact_ax = plotting.plot_calibration_histogram(pnbd, cdnow_summary)
    exact = np.array([p.get_height() for p in exact_ax.patches[8:16]])
    plotting.close(exact_ax)
    ax = plotting.plot_calibration_histogram(NoPmf.from_params(pnbd.params_), cdnow_summary)
    observed = [p.get_height() for p in ax.patches[:8]]
    x = cdnow_summary["frequency"].to_numpy()
    assert observed == [float((x == k).sum()) for k in range(7)] + [float((x >= 7).sum())]
    simulated = np.array([p.get_height() for p in ax.patches[8:16]])
    np.testing.assert_allclose(simulated.sum(), len(cdnow_summary), rtol=1e-9)  # every simulated base is complete
    # the simulation agrees with Pareto/NBD's closed-form P(X(T) = n) within simulation noise
    assert np.all(np.abs(simulated - exact) <= 0.1 * exact + 4 * np.sqrt(exact) + 5), (simulated, exact)
    assert len(ax.collections) == 1  # the HDI of the simulated counts
    assert ax.get_legend().get_texts()[1].get_text() == "simulated from the model"
    plotting.close(ax)


def test_calibration_histogram_rejects_a_bad_max_count(bg, cdnow_summary):
    with pytest.raises(ValueError, match="'max_count'"):
        plotting.plot_calibration_histogram(bg, cdnow_summary, max_count=0)


# --------------------------------------------------------------------------- holdout plots
def test_tracking_plot_draws_the_evaluation_table(bg, cdnow_summary, cdnow_transactions):
    table = evaluation.tracking(bg, cdnow_summary, cdnow_transactions)
    fig, (ax1, ax2) = plt.subplots(1, 2)
    assert plotting.plot_tracking(table, cumulative=True, ax=ax1) is ax1
    plotting.plot_tracking(table, cumulative=False, ax=ax2)
    np.testing.assert_array_equal(ax1.lines[0].get_ydata(), table["actual_cumulative"].to_numpy())
    np.testing.assert_array_equal(ax1.lines[1].get_ydata(), table["expected_cumulative"].to_numpy())
    np.testing.assert_array_equal(ax2.lines[0].get_ydata(), table["actual"].to_numpy())
    # the calibration/holdout divider sits where tracking says calibration ends
    divider = ax1.lines[2].get_xdata()
    assert divider[0] == pytest.approx(table.attrs["calibration_end"])
    plotting.close(fig)


def test_tracking_plot_draws_a_band_only_when_the_table_has_an_interval():
    t = pd.DataFrame({"actual": [3.0, 4.0], "expected": [3.5, 3.8], "expected_lower": [3.0, 3.1],
                      "expected_upper": [4.0, 4.4]})
    ax = plotting.plot_tracking(t, cumulative=False)
    assert len(ax.collections) == 1  # the band
    plotting.close(ax)
    ax = plotting.plot_tracking(t, cumulative=True)  # per-period bounds are no interval of a running total
    assert len(ax.collections) == 0
    plotting.close(ax)


def test_tracking_plot_draws_the_simulated_predictive_interval(bg, cdnow_summary, cdnow_transactions):
    table = evaluation.tracking(bg, cdnow_summary, cdnow_transactions, predictive=True, n_sims=30, random_seed=1)
    ax = plotting.plot_tracking(table, cumulative=True)
    (band,) = ax.collections
    path = band.get_paths()[0].vertices
    n = len(table)
    # fill_between's outline runs along the upper bound one way and the lower bound back
    ys = path[:, 1]
    assert set(np.round(table["predictive_cumulative_upper"], 9)) <= set(np.round(ys, 9))
    assert set(np.round(table["predictive_cumulative_lower"], 9)) <= set(np.round(ys, 9))
    assert len(path) >= 2 * n
    plotting.close(ax)


def test_conditional_expectations_plot_draws_the_evaluation_table(bg, cdnow_summary):
    table = evaluation.conditional_expectations(bg, cdnow_summary)
    ax = plotting.plot_conditional_expectations(table)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), table["actual"].to_numpy())
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), table["expected"].to_numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(i) for i in table.index]
    plotting.close(ax)


def test_table_without_expected_column_is_named():
    with pytest.raises(ValueError, match="no expected column"):
        plotting.plot_tracking(pd.DataFrame({"actual": [1.0]}))


# --------------------------------------------------------------------------- value plots
def test_top_customers_are_the_highest_with_their_intervals():
    rng = np.random.default_rng(0)
    mean = rng.gamma(2.0, 50.0, 200)
    v = pd.DataFrame({"mean": mean, "sd": 5.0, "hdi_lower": mean * 0.8, "hdi_upper": mean * 1.3},
                     index=pd.Index([f"c{i}" for i in range(200)], name="customer_id"))
    ax = plotting.plot_top_customers(v, n=10)
    top = v["mean"].nlargest(10)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(top.index[::-1])
    widths = sorted(p.get_width() for p in ax.patches)
    np.testing.assert_allclose(widths, np.sort(top.to_numpy()))
    # error bars: one segment per customer from hdi_lower to hdi_upper
    segments_ = ax.collections[0].get_segments()
    spans = sorted((s[0][0], s[1][0]) for s in segments_)
    np.testing.assert_allclose(spans, sorted(zip(top * 0.8, top * 1.3)))
    plotting.close(ax)


def test_top_customers_of_a_point_fit_have_no_error_bars(bg, cdnow_summary):
    gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    values = clv.lifetime_value(bg, gg, cdnow_summary, horizon=12, unit="M")
    ax = plotting.plot_top_customers(values, n=5)
    assert len(ax.collections) == 0 and len(ax.patches) == 5
    assert ax.get_yticklabels()[-1].get_text() == str(values.idxmax())
    plotting.close(ax)


def test_customer_equity_histogram_holds_every_draw_and_marks_the_interval():
    draws = np.random.default_rng(1).normal(1e5, 4e3, size=(2, 250))
    ax = plotting.plot_customer_equity(draws, hdi=(9.3e4, 1.07e5))
    assert sum(p.get_height() for p in ax.patches if p.get_height() > 0 and p.get_width() < 1e4) == 500
    assert ax.lines[0].get_xdata()[0] == pytest.approx(draws.mean())
    plotting.close(ax)
    with pytest.raises(ValueError, match="empty"):
        plotting.plot_customer_equity([])


def test_tier_and_segment_charts_draw_the_segments_tables(bg, cdnow_summary):
    gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    values = clv.lifetime_value(bg, gg, cdnow_summary, horizon=12, unit="M")
    tiers = segments.tier_summary(segments.clv_tiers(values)).drop(index="total")
    ax = plotting.plot_tiers(tiers)
    assert [p.get_height() for p in ax.patches] == tiers["n_customers"].astype(float).tolist()
    share_line = ax.figure.axes[-1].lines[0]
    np.testing.assert_allclose(share_line.get_ydata(), tiers["share_of_equity"].to_numpy())
    plotting.close(ax)
    table = segments.segment_summary(segments.rfm_scores(cdnow_summary), values)
    ax = plotting.plot_segments(table)
    assert [p.get_height() for p in ax.patches] == table["n_customers"].astype(float).tolist()
    assert [t.get_text() for t in ax.get_xticklabels()] == list(table.index.astype(str))
    plotting.close(ax)


# --------------------------------------------------------------------------- posteriors
def test_posterior_plot_has_one_panel_per_parameter():
    import arviz as az

    rng = np.random.default_rng(0)
    tree = az.from_dict({"posterior": {k: rng.gamma(20.0, 0.05, (2, 50)) for k in ("r", "alpha", "a", "b")}})
    pc = plotting.plot_posterior(tree, var_names=["r", "alpha", "a", "b"])
    titles = sorted(ax.get_title() for ax in plotting.figure_of(pc).axes if ax.get_title())
    assert titles == ["a", "alpha", "b", "r"]
    plotting.close(pc)


def test_posterior_trace_plot_and_bad_kind():
    import arviz as az

    rng = np.random.default_rng(1)
    tree = az.from_dict({"posterior": {"r": rng.gamma(20.0, 0.05, (2, 50))}})
    pc = plotting.plot_posterior(tree, var_names=["r"], kind="trace")
    lines = [line for ax in plotting.figure_of(pc).axes for line in ax.lines if len(line.get_xdata()) == 50]
    assert len(lines) >= 2  # one trace per chain
    plotting.close(pc)
    with pytest.raises(ValueError, match="'kind' parameter must be 'dist' or 'trace'"):
        plotting.plot_posterior(tree, kind="pair")


def test_posterior_plot_of_a_maximum_likelihood_fit_says_to_sample(bg):
    with pytest.raises(ValueError, match="maximum likelihood"):
        plotting.plot_posterior(bg)


def test_point_and_interval_rejects_a_table_without_mean():
    with pytest.raises(ValueError, match="'mean' column"):
        plotting.point_and_interval(pd.DataFrame({"x": [1.0]}))
