"""Build the self-contained HTML report of a fitted model.

The report is one HTML file: CSS inline, figures embedded as base64 PNG, one small inline
script (sorting and searching the customer table), no font, no link to anything outside the
file, so it opens the same offline, attached to an e-mail or on a file share. The full
per-customer table is written as a CSV file beside it.

It opens with an executive summary in sentences (:mod:`clvmodels.reporting.summary`), uses
words and formatted numbers rather than column names (:mod:`clvmodels.reporting.labels`), and
keeps the parameters and diagnostics in a technical appendix at the end.

Everything shown comes from the public API: the models' ``summary`` and prediction methods,
:func:`clvmodels.lifetime_value`, :mod:`clvmodels.evaluation`, :mod:`clvmodels.segments`
and :mod:`clvmodels.plotting`. A section whose input is missing (no holdout columns, no
spend model) says so instead of being left out silently.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import inspect
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clvmodels import defaults, evaluation, plotting, predictive, segments, value
from clvmodels._version import __version__
from clvmodels.checks import check_number, check_probability
from clvmodels.data.prepare import DataQuality
from clvmodels.estimators import SpendModel, TransactionModel
from clvmodels.intervals import hdi
from clvmodels.output_files import atomic_paths
from clvmodels.plotting import close, figure_of
from clvmodels.reporting.covariates import covariate_section, strongest_driver
from clvmodels.reporting.customers import customer_table_html, table_script
from clvmodels.reporting.labels import SEGMENT_ACTIONS, TIER_ACTIONS, count, horizon_phrase, human_table, money, percent
from clvmodels.reporting.section import Section as _Section
from clvmodels.reporting.summary import Equity, model_caveats, summary_section
from clvmodels.units import UNIT_NAMES as _UNIT_NAMES
from clvmodels.untrusted_text import neutralize_csv_frame

__all__ = ["report", "ReportFiles", "customers_csv_path"]

#: Largest customer base whose tracking plots get a simulated predictive interval.
PREDICTIVE_MAX_CUSTOMERS = 50_000

#: Largest customer base whose table gets each customer's predictive interval (the range of the
#: purchases and value she will actually make), and the simulations per customer for its value.
PREDICTIVE_TABLE_MAX_CUSTOMERS = 250_000
PREDICTIVE_SIMULATIONS = 1000
#: Customers x simulations at most for those intervals: large bases get fewer simulations.
PREDICTIVE_BUDGET = 50_000_000
PREDICTIVE_MIN_SIMULATIONS = 200
#: Posterior draws the purchases' range of a posterior fit averages its pmf over.
PREDICTIVE_PMF_DRAWS = 50

#: Parameter draws from the asymptotic normal of a maximum-likelihood fit, for its intervals.
ASYMPTOTIC_DRAWS = 500
#: Draws x customers evaluated at most for those intervals (each draw scores every customer):
#: large bases get fewer draws, never fewer than :data:`ASYMPTOTIC_MIN_DRAWS`.
ASYMPTOTIC_BUDGET = 50_000_000
ASYMPTOTIC_MIN_DRAWS = 100


def _asymptotic_draws(n_customers: int) -> int:
    """Draws for a point fit's intervals: 500 up to 100,000 customers, then fewer (100 from 500,000 on).

    Examples
    --------
    >>> _asymptotic_draws(2357), _asymptotic_draws(250_000), _asymptotic_draws(10_000_000)
    (500, 200, 100)
    """
    return int(min(ASYMPTOTIC_DRAWS, max(ASYMPTOTIC_MIN_DRAWS, ASYMPTOTIC_BUDGET // max(n_customers, 1))))


@dataclass(frozen=True)
class ReportFiles:
    """Paths written by :func:`report`."""

    html: Path
    customers: Path
    sections: tuple[str, ...] = field(default=())
    #: The customer equity the report states (None without a spend model).
    customer_equity: float | None = None


# --------------------------------------------------------------------------- helpers
def _png(drawn, dpi: int = 96) -> str:
    """Render a figure to base64 PNG and close it (no 'Software' tag: nothing names a web address)."""

    fig = figure_of(drawn)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _table(frame: pd.DataFrame, *, digits: int = 3, index: bool = True) -> str:
    def fmt(v):
        if isinstance(v, (float, np.floating)):
            if not np.isfinite(v):
                return "–"
            if abs(v) >= 1000:
                return f"{v:,.0f}"
            return f"{v:.{digits}g}" if abs(v) < 1e-3 and v != 0 else f"{v:,.{digits}f}".rstrip("0").rstrip(".") or "0"
        return str(v)

    return frame.to_html(border=0, index=index, formatters={c: fmt for c in frame.columns}, escape=True,
                         na_rep="–", classes=None)


def _worded(frame: pd.DataFrame, words: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Labels for every column of ``frame``: the given words, else the column name made readable."""
    return {c: words.get(c, (str(c).replace("_", " ").capitalize(), "number")) for c in frame.columns}


_AXIS_WORDS = {"n_customers": "Customers", "share_of_equity": "Share of equity", "share_customers": "Share of customers"}


def _worded_axes(drawn):
    """The report's words on a figure's axes that plotting labels with column names (shares as percentages)."""
    from matplotlib.ticker import PercentFormatter

    for ax in figure_of(drawn).axes:
        label = ax.get_ylabel()
        if label in _AXIS_WORDS:
            ax.set_ylabel(_AXIS_WORDS[label])
            if label.startswith("share"):
                ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    return drawn


def _has_draws(model) -> bool:
    """Whether the model's fit has many draws, so its figures come with intervals."""
    return model is not None and model.fit_.n_draws > 1


def _figure(section: _Section, caption: str, draw) -> None:
    """Draw one figure into the section; a figure that cannot be drawn is reported, not hidden."""
    try:
        section.figures.append({"caption": caption, "png": _png(draw())})
    except Exception as exc:  # noqa: BLE001 - a failed figure must not lose the rest of the report
        import matplotlib.pyplot as plt

        plt.close("all")
        section.warnings.append(f"Figure '{caption}' could not be drawn: {type(exc).__name__}: {exc}")


def customers_csv_path(path: str | Path) -> Path:
    """The per-customer CSV written beside the HTML report ``path``: ``<stem>.customers.csv``.

    Examples
    --------
    >>> customers_csv_path("out/cdnow.html").as_posix()
    'out/cdnow.customers.csv'
    """
    path = Path(path)
    # a dotted name is unlikely to hit a data file such as "apparel_customers.csv"
    return path.with_name(f"{path.stem}.customers.csv")


# --------------------------------------------------------------------------- sections
_STAT_ROWS = {"frequency": "Repeat purchases", "recency": "Age at last purchase", "T": "Customer age",
              "monetary_value": "Mean spend per purchase", "frequency_holdout": "Repeat purchases in the holdout"}
_STAT_COLS = {"count": "Customers", "mean": "Mean", "std": "Std. deviation", "min": "Lowest", "25%": "25th percentile",
              "50%": "Median", "75%": "75th percentile", "99%": "99th percentile", "max": "Highest"}


def _data_section(data: pd.DataFrame, data_quality=None) -> _Section:
    s = _Section("data-summary", "Data summary")
    attrs = getattr(data, "attrs", {})
    unit = {k: v + "s" for k, v in _UNIT_NAMES.items()}.get(attrs.get("unit"), attrs.get("unit") or "?")
    n = len(data)
    repeat = float((data["frequency"] > 0).mean()) if "frequency" in data else np.nan
    s.lead = (f"What the forecasts rest on: {count(n)} customers, of whom {percent(repeat)} bought again after their "
              f"first purchase. Check that these counts and dates match what you know of the business.")
    s.kpis = [
        {"label": "Customers", "value": count(n)},
        {"label": "Repeat buyers", "value": percent(repeat)},
        {"label": "Repeat purchases", "value": count(data["frequency"].sum())},
        {"label": "Time unit", "value": unit},
    ]
    if attrs.get("first_transaction"):
        s.kpis.append({"label": "First purchase", "value": str(attrs["first_transaction"])})
    if attrs.get("calibration_end"):
        s.kpis.append({"label": "Model learns up to", "value": str(attrs["calibration_end"])})
    if attrs.get("observation_end"):
        s.kpis.append({"label": "Holdout end", "value": str(attrs["observation_end"])})
    cols = [c for c in ("frequency", "recency", "T", "monetary_value", "frequency_holdout") if c in data.columns]
    if "frequency_holdout" not in data.columns:
        s.notes.append("No holdout period: the report cannot check the forecasts against what happened. Summarise "
                       "with an observation_end after the calibration end (command line: a --calibration-end before "
                       "the last date of the log) to get the holdout evaluation.")
    desc = data[cols].describe(percentiles=[0.25, 0.5, 0.75, 0.99]).T
    desc["count"] = desc["count"].astype(int)
    desc = desc.rename(index={c: _STAT_ROWS.get(c, c) + (f" ({unit})" if c in ("recency", "T") else "")
                              for c in desc.index}, columns=_STAT_COLS)
    s.tables.append({"title": "Per-customer figures", "html": _table(desc)})
    if data_quality is not None:
        # what the raw log held and what prepare_transactions dropped, before the summary
        s.tables.append({"title": "Data quality (the transaction log as read and cleaned)",
                         "html": _table(data_quality.to_frame().set_index("item").rename_axis(None), index=True)})
        s.notes.extend(line for line in data_quality.lines() if line.startswith("Flag:")
                       or "matched no earlier purchase" in line)
    s.notes.append(
        f"Repeat purchases: purchases after the first one, up to the calibration end; ages in {unit} since each "
        f"customer's first purchase" + (f"; {attrs['n_excluded']} customers first seen after the calibration end are "
                                        f"left out." if attrs.get("n_excluded") else ".")
    )
    return s


def _fit_table(model) -> tuple[pd.DataFrame, list[dict[str, str]], list[str], pd.DataFrame | None]:
    """Parameter table, fit facts, warnings and (posteriors) the diagnostics table of one fitted model."""
    table = model.summary()
    facts: list[dict[str, str]] = []
    warns: list[str] = []
    diagnostics = None
    if _has_draws(model):
        tree = model.posterior_
        post = tree["posterior"]
        facts.append({"label": "inference", "value": str(tree.attrs.get("inference", "posterior sampling"))})
        facts.append({"label": "chains x draws", "value": f"{post.sizes['chain']} x {post.sizes['draw']}"})
        diagnostics = model.diagnostics() if "sample_stats" in tree.children else None
        if diagnostics is not None and "ok" in diagnostics.columns and not diagnostics["ok"].astype(bool).all():
            bad = diagnostics[~diagnostics["ok"].astype(bool)]
            warns.append(
                f"{model.spec.title}: convergence checks not met ("
                + ", ".join(f"{r['check']} of {r['parameter']}" for _, r in bad.head(6).iterrows())
                + "): run more tuning steps, draws or chains before relying on the intervals."
            )
    else:
        facts.append({"label": "inference", "value": "maximum likelihood"})
        if getattr(model, "loglik_", None) is not None:
            facts.append({"label": "log-likelihood", "value": f"{model.loglik_:,.2f}"})
        if getattr(model, "converged_", None) is not None:
            facts.append({"label": "converged", "value": "yes" if model.converged_ else "NO"})
        info = getattr(model, "fit_info_", None) or {}
        if "iterations" in info:
            facts.append({"label": "iterations", "value": str(info["iterations"])})
        if "grad_norm" in info:
            facts.append({"label": "gradient norm", "value": f"{info['grad_norm']:.1e}"})
        if "message" in info:
            facts.append({"label": "optimiser", "value": str(info["message"])})
        if "n_unique_rows" in info:
            facts.append({"label": "distinct rows fitted", "value": f"{info['n_unique_rows']:,}"})
    if getattr(model, "n_customers_", None) is not None:
        facts.append({"label": "customers fitted", "value": f"{model.n_customers_:,}"})
    return table, facts, warns, diagnostics


def _appendix_section(model, spend_model, interval_source: str) -> tuple[_Section, list[str]]:
    """Parameters, fit facts and diagnostics; also returns the caveats found (for the executive summary)."""
    s = _Section("appendix", "Technical appendix")
    s.lead = ("For analysts: the estimated parameters, how the fit went and the convergence checks. A manager can "
              "skip this section; its warnings, if any, are repeated in the executive summary.")
    caveats: list[str] = []
    for m in (model, spend_model):
        if m is None:
            continue
        table, facts, warns, diagnostics = _fit_table(m)
        s.tables.append({"title": f"{m.spec.title}", "html": _table(table),
                         "note": " · ".join(f"{f['label']}: {f['value']}" for f in facts)})
        if diagnostics is not None:
            s.tables.append({"title": f"{m.spec.title}: convergence diagnostics", "html": _table(diagnostics, index=False)})
        caveats.extend(warns + model_caveats(m))
    if interval_source:
        s.notes.append(f"The intervals come from {interval_source}")
    if spend_model is None:
        s.notes.append("No spend model was given: the report has no spend, CLV or customer-equity figures.")
    return s, caveats


def _checks_section(model, data: pd.DataFrame) -> _Section:

    s = _Section("model-checks", "Model checks")
    s.lead = ("Does the model describe the history it learnt from? In the first chart the model's bars should be "
              "close to the observed ones; if they are far apart, treat the forecasts with care.")
    _figure(s, "Customers by repeat purchases in the calibration period: observed vs model",
            lambda: plotting.plot_calibration_histogram(model, data))
    _figure(s, "Expected purchases in the next period by frequency and recency",
            lambda: plotting.plot_frequency_recency_matrix(model, data))
    _figure(s, "Probability of being alive by frequency and recency",
            lambda: plotting.plot_probability_alive_matrix(model, data))
    if _has_draws(model):
        _figure(s, "Posterior distributions of the parameters", lambda: plotting.plot_posterior(model))
    return s


_TRACK_WORDS = {"actual": ("Actual repeat purchases", "count"), "expected": ("Forecast", "number"),
                "difference": ("Forecast − actual", "number"), "relative_error": ("Error, share of actual", "percent")}
_COND_WORDS = {"customers": ("Customers", "count"), "actual": ("Actual mean holdout purchases", "number"),
               "expected": ("Forecast mean holdout purchases", "number")}
_ERR_WORDS = {"customers": ("Customers", "count"), "actual": ("Actual purchases", "count"),
              "expected": ("Forecast purchases", "number"), "mae": ("Mean absolute error per customer", "number"),
              "rmse": ("Root mean squared error", "number"), "bias": ("Bias (forecast − actual, per customer)", "number")}


def _holdout_section(model, data: pd.DataFrame, transactions, transaction_columns, hdi_prob,
                     errors: pd.DataFrame) -> _Section:
    s = _Section("holdout", "Holdout evaluation")
    attrs = getattr(data, "attrs", {})
    s.lead = (f"The model learnt from the data up to {attrs.get('calibration_end', '?')} and forecast the period to "
              f"{attrs.get('observation_end', '?')}, which it had not seen: the closer the forecast lines follow the "
              f"actual ones, the more the forecasts of this report can be trusted.")
    if transactions is not None:
        # simulating the purchase counts gives the predictive interval of the actuals; it costs
        # n_sims simulated customer bases, so very large bases get the expectation's interval only
        simulate = getattr(model.spec, "simulate", None)
        can_simulate = simulate is not None and "return_times" in inspect.signature(simulate).parameters
        predictive = can_simulate and len(data) <= PREDICTIVE_MAX_CUSTOMERS
        track = evaluation.tracking(model, data, transactions, hdi_prob=hdi_prob, predictive=predictive,
                                    random_seed=0, **transaction_columns)
        if not can_simulate:
            s.notes.append(f"{model.spec.title} has no simulator of purchase times: the tracking plots show no "
                           f"simulated predictive interval.")
        elif not predictive:
            s.notes.append(f"More than {PREDICTIVE_MAX_CUSTOMERS:,} customers: the tracking plots show no "
                           f"simulated predictive interval.")
        totals = evaluation.tracking_summary(track)
        s.tables.append({"title": "Repeat purchases: actual vs forecast",
                         "html": human_table(totals, _worded(totals, _TRACK_WORDS), index_label="Period")})
        _figure(s, "Cumulative repeat purchases: actual vs model", lambda: plotting.plot_tracking(track, cumulative=True))
        _figure(s, "Repeat purchases per period: actual vs model", lambda: plotting.plot_tracking(track, cumulative=False))
    else:
        s.notes.append("The tracking plots need the transaction log (pass transactions=).")
    cond = evaluation.conditional_expectations(model, data, hdi_prob=hdi_prob)
    s.tables.append({"title": "Mean holdout purchases by repeat purchases before",
                     "html": human_table(cond, _worded(cond, _COND_WORDS), index_label="Repeat purchases before")})
    _figure(s, "Conditional expectations: mean holdout purchases by calibration frequency",
            lambda: plotting.plot_conditional_expectations(cond))
    s.tables.append({"title": "Per-customer forecast errors in the holdout",
                     "html": human_table(errors.rename(index={"all": "all customers"}), _worded(errors, _ERR_WORDS)),
                     "note": "Errors are in purchases per customer over the holdout period; a negative bias means the "
                             "model forecast fewer purchases than happened. These forecasts use each customer's own "
                             "history, as the CLV does (the executive summary quotes them); the tracking forecast "
                             "above uses only when customers made their first purchase, so the two totals differ "
                             "slightly."})
    return s


def _interval_models(model, spend_model, n_customers: int) -> tuple[Any, Any, str]:
    """Models with draws for the intervals: posteriors as they are, point fits by their asymptotic normal draws."""
    drawn, kinds = [], set()
    n_draws = _asymptotic_draws(n_customers)
    for m in (model, spend_model):
        if m is None or _has_draws(m):
            drawn.append(m)
            if m is not None:
                kinds.add("posterior")
            continue
        try:
            drawn.append(m.sample_asymptotic(n_draws, random_seed=0))
            kinds.add("asymptotic")
        except Exception as exc:  # noqa: BLE001 - no covariance (a fit at a boundary): the point fit has no interval
            return None, None, f"none: the {m.spec.title} fit has no usable covariance ({exc})."
    if kinds == {"posterior"}:
        return drawn[0], drawn[1], "the posterior (Bayesian fit) of the parameters."
    return drawn[0], drawn[1], (f"the uncertainty of the estimated parameters ({n_draws} draws from their "
                                f"asymptotic normal distribution); it leaves out how each customer's real purchases "
                                f"vary around the forecast.")


def _equity(model, spend_model, drawn, data, value_kwargs, hdi_prob, source) -> tuple[Equity | None, np.ndarray | None]:
    if spend_model is None:
        return None, None
    point = None if _has_draws(model) or _has_draws(spend_model) else float(
        value.customer_equity(model, spend_model, data, **value_kwargs))
    if drawn[0] is None:
        return Equity(point), None
    draws = np.asarray(value.customer_equity(drawn[0], drawn[1], data, return_draws=True, **value_kwargs),
                       dtype=float).ravel()
    lo, hi = (float(v[0]) for v in hdi(draws, hdi_prob))
    return Equity(float(draws.mean()) if point is None else point, lo, hi, source), draws


def _equity_section(equity: Equity | None, draws, n: int, value_kwargs, hdi_prob, currency) -> _Section:
    s = _Section("customer-equity", "Customer equity")
    horizon, unit = value_kwargs["horizon"], value_kwargs["unit"]
    unit_name = _UNIT_NAMES.get(unit, unit)
    s.lead = (f"Customer equity is what all current customers are expected to bring over the "
              f"{horizon_phrase(horizon, unit)}: use it as the value of the customer base, and the interval as the "
              f"range to plan with.")
    s.notes.append(
        f"The sum of the customers' CLV: the discounted expected margin over the {horizon_phrase(horizon, unit)} from "
        f"the calibration end, at a discount rate of {percent(value_kwargs['discount_rate'], 2)} per {unit_name} and "
        f"a margin of {percent(value_kwargs['margin'], 0)} of spend."
    )
    if equity is None:
        s.warnings.append("No spend model: customer equity needs one (e.g. a Gamma-Gamma fit on the repeat buyers).")
        return s
    s.kpis.append({"label": f"Customer equity, {horizon_phrase(horizon, unit)}", "value": money(equity.value, currency)})
    if equity.lower is not None:
        s.kpis.append({"label": f"{hdi_prob:.0%} interval", "value": f"{money(equity.lower, currency)} – "
                                                                      f"{money(equity.upper, currency)}"})
        s.notes.append(f"The interval comes from {equity.source}")
    else:
        s.notes.append("No interval could be computed for this fit (see the technical appendix).")
    s.kpis.append({"label": "Mean CLV per customer", "value": money(equity.value / n, currency)})
    if draws is not None:
        _figure(s, "How sure is the customer equity? Its distribution and interval",
                lambda: _equity_figure(equity, draws, currency))
    return s


def _equity_figure(equity: Equity, draws: np.ndarray, currency: str):
    ax = plotting.plot_customer_equity(draws, hdi=(equity.lower, equity.upper),
                                       label=f"customer equity{f' ({currency})' if currency else ''}")
    if "posterior" not in equity.source:
        # draws of a point fit: the estimate shown everywhere else is marked, the draws are not a posterior
        ax.axvline(equity.value, color="black", linestyle="--", label=f"estimate {equity.value:,.0f}")
        ax.set_title("Customer equity: range from the uncertainty of the estimates")
        ax.set_ylabel("parameter draws")
        ax.legend()
    return ax


_TIER_WORDS = {"n_customers": ("Customers", "count"), "share_customers": ("Share of customers", "percent"),
               "min_clv": ("Lowest CLV", "money"), "mean_clv": ("Mean CLV", "money"),
               "customer_equity": ("Customer equity", "money"), "share_of_equity": ("Share of equity", "percent")}
_SEGMENT_WORDS = {"n_customers": ("Customers", "count"), "share_customers": ("Share of customers", "percent"),
                  "mean_R": ("Recency score (1–5)", "number"), "mean_F": ("Frequency score (1–5)", "number"),
                  "mean_M": ("Spend score (1–5)", "number"), "total_value": ("Customer equity", "money"),
                  "mean_value": ("Mean CLV", "money"), "share_of_equity": ("Share of equity", "percent")}
_RISK_WORDS = {"n_customers": ("Customers", "count"), "share_customers": ("Share of customers", "percent"),
               "mean_p_alive": ("Mean chance still active", "percent"), "value": ("CLV if still active", "money"),
               "value_at_risk": ("Value at risk", "money")}


def _segments_section(data, customers: pd.DataFrame, currency: str, churn_threshold: float = 0.5) -> _Section:
    """CLV tiers, RFM segments and churn risk; adds ``tier`` and ``segment`` columns to ``customers``."""

    s = _Section("tiers-segments", "Tiers and segments")
    s.lead = ("Who holds the value and what to do with each group: the tiers rank customers by forecast value, the "
              "segments by how recently and how often they bought; each row has a recommended action.")
    value = customers["clv"] if "clv" in customers.columns else None
    if value is not None:
        tiers = segments.clv_tiers(value)
        customers["tier"] = tiers["tier"].reindex(customers.index)
        table = segments.tier_summary(tiers)
        s.tables.append({"title": "CLV tiers (customer pyramid)",
                         "html": human_table(table, _TIER_WORDS, index_label="Tier", currency=currency,
                                             actions=TIER_ACTIONS),
                         "note": "Platinum: the top 1% of customers by CLV; gold: the next 4%; iron: the next 15%; "
                                 "lead: the rest."})
        _figure(s, "CLV tiers: customers (bars) and share of customer equity (line)",
                lambda: _worded_axes(plotting.plot_tiers(table.drop(index="total", errors="ignore"))))
    else:
        s.notes.append("No CLV (no spend model): no CLV tiers.")
    scores = segments.rfm_scores(data)
    customers["segment"] = scores["segment"].reindex(customers.index)
    table = segments.segment_summary(scores, value)
    s.tables.append({"title": "RFM segments",
                     "html": human_table(table, _SEGMENT_WORDS, index_label="Segment", currency=currency,
                                         actions=SEGMENT_ACTIONS),
                     "note": "Scores 1 (lowest fifth of customers) to 5 (highest fifth): recency of the last purchase, "
                             "number of purchases, mean spend."})
    _figure(s, "RFM segments: customers" + (" and share of customer equity" if value is not None else ""),
            lambda: _worded_axes(plotting.plot_segments(table)))
    if value is not None:
        risk = segments.churn_risk(customers["p_alive"], customers["clv_if_active"], threshold=churn_threshold)
        customers["value_at_risk"] = risk["value_at_risk"].reindex(customers.index)
        s.tables.append({"title": f"Churn risk (chance still active below {percent(churn_threshold, 0)})",
                         "html": human_table(segments.churn_risk_summary(risk), _RISK_WORDS, currency=currency),
                         "note": "CLV if still active: the CLV the customer would have if certainly still buying; value "
                                 "at risk: (1 − chance still active) × that value. Contact the at-risk customers with "
                                 "the highest value at risk first: sort the customer table below by that column."})
    return s


def _customers_section(customers: pd.DataFrame, top: int, hdi_prob: float, currency: str,
                       predictive_note: str | None = None) -> _Section:

    s = _Section("customers", "Customers")
    horizon, unit = customers.attrs.get("horizon"), customers.attrs.get("horizon_unit")
    s.lead = ("Every customer with the forecast: click a column header to sort, type in the box to find a customer, a "
              "tier or a segment. Start with the top of the CLV column: they are worth the most attention.")
    page, note = customer_table_html(customers, horizon=horizon, unit=unit, hdi_prob=hdi_prob, currency=currency)
    s.tables.append({"title": None, "html": page,
                     "note": note + " Chance still active: probability the customer has not left for good. The CSV "
                                    "beside this file has every column, with the sd and interval of every forecast."
                                    + (f" {predictive_note}" if predictive_note else "")})
    key = "clv" if "clv" in customers.columns else "expected_purchases"
    # the interval of the expectation only: the range of the realised value (clv_realised_*) is another quantity
    lower = f"{key}_hdi_lower" if f"{key}_hdi_lower" in customers.columns else None
    upper = f"{key}_hdi_upper" if f"{key}_hdi_upper" in customers.columns else None
    values = (customers[[key, lower, upper]].rename(columns={key: "mean", lower: "hdi_lower", upper: "hdi_upper"})
              if lower and upper else customers[key])
    label = "CLV" if key == "clv" else "expected purchases"
    _figure(s, f"Top {top} customers by {label}, with {hdi_prob:.0%} intervals" if lower else
            f"Top {top} customers by {label}", lambda: plotting.plot_top_customers(values, n=top, label=label))
    return s


def _with_intervals(customers: pd.DataFrame, drawn: pd.DataFrame) -> pd.DataFrame:
    """The point fit's table with the _sd/_hdi columns of the drawn fit after each forecast column."""
    extra = [c for c in drawn.columns if c.endswith(("_sd", "_hdi_lower", "_hdi_upper")) and c not in customers]
    if not extra:
        return customers
    drawn = drawn.reindex(customers.index)
    columns = []
    for c in customers.columns:
        columns.append(c)
        columns.extend(e for e in extra if e.rsplit("_sd", 1)[0] == c or e.split("_hdi_")[0] == c)
    out = pd.concat([customers, drawn[extra]], axis=1)[columns + [e for e in extra if e not in columns]]
    out.attrs = dict(customers.attrs)
    return out


def _with_predictive_intervals(customers: pd.DataFrame, model, spend_model, drawn, data, value_kwargs,
                               prob: float) -> tuple[pd.DataFrame, str | None]:
    """The table with each customer's predictive intervals (purchases; value with a spend model), and a note.

    The value's range is simulated from the fit with draws (posterior, or the point fit's
    asymptotic draws) when there is one, so it includes the parameters' uncertainty besides the
    randomness of buying. The purchases' range of a point fit takes the estimates as known: its
    pmf is summed count by count at every draw, which for Pareto/NBD costs about 0.2 s per draw
    on CDNOW (about two minutes for 500 draws), for ends that move by about one purchase.
    """
    n = len(customers)
    if n > PREDICTIVE_TABLE_MAX_CUSTOMERS:
        return customers, (f"More than {PREDICTIVE_TABLE_MAX_CUSTOMERS:,} customers: the table gives no range of "
                           f"actual purchases and value (clvmodels.predictive computes it for any number).")
    tm = drawn[0] if drawn[0] is not None else model
    sm = drawn[1] if drawn[0] is not None else spend_model
    out = customers.copy()
    out.attrs = dict(customers.attrs)
    t = float(customers.attrs["horizon_model_units"])
    has_pmf = "conditional_probability_of_purchases" in model.spec.predictions
    if has_pmf:
        pi = predictive.predictive_interval(model, data, t=t, prob=prob, max_draws=PREDICTIVE_PMF_DRAWS)
        for col in ("purchases_lower", "purchases_upper"):
            out[col] = pi[col].reindex(out.index).to_numpy()
    if sm is not None and tm.spec.simulate_future is not None:
        n_sims = int(min(PREDICTIVE_SIMULATIONS, max(PREDICTIVE_MIN_SIMULATIONS, PREDICTIVE_BUDGET // max(n, 1))))
        vi = predictive.value_interval(tm, sm, data, prob=prob, n_sims=n_sims, random_seed=0, **value_kwargs)
        for col in ("clv_realised_lower", "clv_realised_upper"):
            out[col] = vi[col].reindex(out.index).to_numpy()
    if not has_pmf and "clv_realised_lower" not in out.columns:
        return out, (f"{model.spec.title} has no closed form for the probability of n purchases and cannot simulate "
                     f"purchase times, so the table gives no range of actual purchases or value.")
    pct = f"{prob:.0%}"
    what = ("purchases and value" if has_pmf else "value") if "clv_realised_lower" in out.columns else "purchases"
    actual = (f"the {pct} range of actual {what} says where what the customer will really buy and "
              f"bring falls, given the forecast: it is wide, because buying is random even when the forecast is "
              f"exact, and it starts at 0 for anyone who may well buy nothing.")
    note = (f"Two kinds of range: the CLV {pct} interval says how sure the forecast itself is (the customer's "
            f"expected value, given what the data tell about the model); {actual}" if "clv_hdi_lower" in out.columns
            else f"The {actual[4:]}")
    if not has_pmf:
        note += f" {model.spec.title} has no closed form for the probability of n purchases, so purchases have no range."
    elif not _has_draws(model):
        note += " The range of actual purchases takes the estimated parameters as known."
    if sm is not None and "clv_realised_lower" not in out.columns:
        note += f" {model.spec.title} cannot simulate purchase times, so only the purchases have a range."
    return out, note


# --------------------------------------------------------------------------- entry point
def report(
    model,
    spend_model,
    data: pd.DataFrame,
    path: str | Path,
    *,
    transactions: pd.DataFrame | None = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    horizon: int = defaults.HORIZON,
    unit: str = defaults.HORIZON_UNIT,
    discount_rate: float = defaults.DISCOUNT_RATE,
    margin: float = defaults.MARGIN,
    top: int = 20,
    hdi_prob: float = 0.94,
    title: str | None = None,
    overwrite: bool = True,
    data_quality: DataQuality | None = None,
    currency: str | None = None,
) -> ReportFiles:
    """Write a self-contained HTML report of a fitted model, and the per-customer table as CSV beside it.

    Sections: executive summary (customer equity with its interval, the forecast window as
    dates, customers, the top tier's share of equity, customers and value at risk, holdout
    accuracy, the strongest covariate effect, caveats); customer equity; tiers and segments with a
    recommended action each; for covariate models, what drives purchases and dropout (each
    coefficient with its interval and its effect in words, :mod:`clvmodels.reporting.covariates`);
    all customers in a table that sorts and searches in the browser (the top
    :data:`~clvmodels.reporting.customers.MAX_TABLE_ROWS` by CLV beyond that); holdout evaluation
    when ``data`` has holdout columns; data summary; model checks (calibration histogram,
    frequency/recency and P(alive) matrices, parameter posteriors); technical appendix
    (estimates, fit facts, diagnostics).

    A maximum-likelihood fit gets intervals too, from :data:`ASYMPTOTIC_DRAWS` draws (fewer
    beyond 100,000 customers, see :data:`ASYMPTOTIC_BUDGET`) of the
    asymptotic normal of its estimates (``sample_asymptotic``): the figures shown stay the
    point fit's, the intervals and the CSV's ``_sd``/``_hdi`` columns come from the draws.

    Both files are written to temporary files in the same folder and moved into place only
    when both are complete, the CSV first and the HTML last (:func:`clvmodels.output_files.atomic_paths`):
    a failure leaves the old pair, and the page's footer states the SHA-256 of its CSV so a
    pair can be checked. Text cells of the CSV that a spreadsheet would run as a formula
    (ids starting with ``=``, ``+``, ``-``, ``@``...) get a leading ``'``
    (:func:`clvmodels.untrusted_text.neutralize_csv_frame`).

    Parameters
    ----------
    model : TransactionModel
        Fitted purchase model (maximum likelihood or posterior).
    spend_model : SpendModel or None
        Fitted spend model for spend, CLV and equity.
    data : DataFrame
        Customer summary the model was fitted on (with holdout columns for the holdout section).
    path : str or Path
        The HTML file to write; the CSV goes to ``<stem>.customers.csv`` in the same folder.
    transactions : DataFrame, optional
        The transaction log, for the tracking plots of the holdout section.
    customer_col, date_col : str
        Columns of ``transactions``.
    horizon, unit, discount_rate, margin
        Value settings, as in :func:`clvmodels.lifetime_value`.
    top : int
        Customers in the top-customers chart (the table holds all).
    hdi_prob : float
        Probability of the posterior intervals shown.
    title : str, optional
    data_quality : DataQuality, optional
        The record :func:`clvmodels.prepare_transactions` returned for the log: adds a "Data
        quality" table (rows read, dropped and why, date range, counts, flags) to the data summary.
    currency : str, optional
        Put before money amounts ("$", "GBP"); none by default (plain numbers).
    overwrite : bool
        Replace existing files (default). ``False`` raises
        :class:`clvmodels.output_files.OutputExistsError` when either file exists.

    Returns
    -------
    ReportFiles
        ``html`` and ``customers`` paths and the ids of the sections written.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import clvmodels as clv, tempfile, os
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> files = clv.report(bg, gg, s, os.path.join(tempfile.mkdtemp(), "cdnow.html"))
    >>> files.html.name, files.customers.name
    ('cdnow.html', 'cdnow.customers.csv')
    >>> files.sections[0], files.sections[-1]
    ('summary', 'appendix')
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    if not isinstance(model, TransactionModel):
        raise TypeError(f"The 'model' parameter of report must be a fitted transaction model (e.g. BetaGeo). "
                        f"Got {type(model).__name__} instead.")
    if spend_model is not None and not isinstance(spend_model, SpendModel):
        raise TypeError(f"The 'spend_model' parameter of report must be a fitted spend model (e.g. GammaGamma) or "
                        f"None. Got {type(spend_model).__name__} instead.")
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"The report is an HTML file: give a path ending in .html. Got {str(path)!r} instead.")
    if not path.parent.exists():
        raise FileNotFoundError(f"The folder {str(path.parent)!r} does not exist; create it or choose another path.")
    top = int(check_number("top", top, low=1, integer=True, where="report"))
    check_number("horizon", horizon, low=1, integer=True, where="report")
    check_number("discount_rate", discount_rate, low=-1, low_open=True, where="report")
    check_number("margin", margin, low=0, high=1, where="report")
    check_probability("hdi_prob", hdi_prob, where="report")
    if currency is not None and not (isinstance(currency, str) and len(currency.strip()) <= 8):
        raise ValueError(f"The 'currency' parameter of report must be a short text such as '$' or 'GBP'. "
                         f"Got {currency!r} instead.")
    currency = (currency or "").strip()
    value_kwargs = {"horizon": horizon, "unit": unit, "discount_rate": discount_rate, "margin": margin}

    import matplotlib

    with matplotlib.rc_context({"figure.max_open_warning": 0}):
        customers = value.score_table(model, spend_model, data, hdi_prob=hdi_prob, **value_kwargs)
        *drawn, source = _interval_models(model, spend_model, len(data))
        if drawn[0] is not None and not (_has_draws(model) and (spend_model is None or _has_draws(spend_model))):
            customers = _with_intervals(customers, value.score_table(drawn[0], drawn[1], data, hdi_prob=hdi_prob,
                                                                     **value_kwargs))
        customers, predictive_note = _with_predictive_intervals(customers, model, spend_model, drawn, data,
                                                                value_kwargs, hdi_prob)
        equity, draws = _equity(model, spend_model, drawn, data, value_kwargs, hdi_prob, source)
        appendix, caveats = _appendix_section(model, spend_model, source)
        if equity is not None and equity.lower is not None and equity.lower > 0 and equity.upper > 10 * equity.lower:
            caveats.append(f"The {hdi_prob:.0%} interval of customer equity spans more than a factor of 10: the data "
                           f"do not pin the value down. A longer history, or a Bayesian fit with an informative "
                           f"prior, narrows it.")
        if drawn[0] is None:
            caveats.append(f"No interval: {source}")
        value_sections = [_equity_section(equity, draws, len(data), value_kwargs, hdi_prob, currency),
                          _segments_section(data, customers, currency)]
        holdout = errors = None
        if "frequency_holdout" in data.columns:
            errors = evaluation.holdout_errors(model, data)
            holdout = _holdout_section(model, data, transactions, {"customer_col": customer_col, "date_col": date_col},
                                       hdi_prob, errors)
        if spend_model is None:
            caveats.append("No spend model was given: the report forecasts purchases only, no money.")
        summary = summary_section(customers, data, equity=equity, horizon=horizon, unit=unit, hdi_prob=hdi_prob,
                                  currency=currency, errors=errors, caveats=caveats)
        drivers, effects = covariate_section(model, spend_model, data, hdi_prob=hdi_prob, drawn=tuple(drawn))
        driver = strongest_driver(effects, hdi_prob)
        if driver is not None:
            summary.bullets.append(driver + " (What drives purchases and dropout, below.)")
        sections = [summary, *value_sections, *([drivers] if drivers is not None else []),
                    _customers_section(customers, top, hdi_prob, currency, predictive_note)]
        if holdout is not None:
            sections.append(holdout)
        sections += [_data_section(data, data_quality), _checks_section(model, data), appendix]

    import hashlib


    csv_path = customers_csv_path(path)
    # the CSV's columns are named by the rule of every per-customer output (clv_12m, expected_purchases_12m)
    csv_bytes = neutralize_csv_frame(value.with_horizon_names(customers, horizon, unit)).to_csv().encode("utf-8")

    env = Environment(loader=PackageLoader("clvmodels.reporting", "templates"), autoescape=select_autoescape(["html", "j2"]))
    css = resources.files("clvmodels.reporting").joinpath("templates", "report.css").read_text(encoding="utf-8")
    page = env.get_template("report.html.j2").render(
        title=title or f"Customer lifetime value report: {model.spec.title}",
        model_title=model.spec.title,
        spend_title=None if spend_model is None else spend_model.spec.title,
        method="posterior" if _has_draws(model) else "maximum likelihood",
        n_customers=f"{len(data):,}",
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        sections=sections,
        css=css,
        script=table_script(),
        version=html.escape(__version__),
        csv_name=csv_path.name,
        csv_sha256=hashlib.sha256(csv_bytes).hexdigest(),
    )
    # the HTML last: it is the file people open, so it appears only once its CSV is in place
    with atomic_paths(csv_path, path, overwrite=overwrite) as (csv_tmp, html_tmp):
        csv_tmp.write_bytes(csv_bytes)
        html_tmp.write_text(page, encoding="utf-8")
    return ReportFiles(html=path, customers=csv_path, sections=tuple(s.id for s in sections),
                       customer_equity=None if equity is None else float(equity.value))
