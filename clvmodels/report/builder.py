"""Build the self-contained HTML report of a fitted model.

The report is one HTML file: CSS inline, figures embedded as base64 PNG, no script, no font,
no link to anything outside the file, so it opens the same offline, attached to an e-mail or
on a file share. The full per-customer table is written as a CSV file beside it.

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

from clvmodels import evaluation, plotting, segments, value
from clvmodels._version import __version__
from clvmodels.checks import check_number, check_probability
from clvmodels.data.prepare import DataQuality
from clvmodels.estimators import SpendModel, TransactionModel
from clvmodels.intervals import hdi
from clvmodels.output_files import atomic_paths
from clvmodels.plotting import close, figure_of
from clvmodels.untrusted_text import neutralize_csv_frame

__all__ = ["report", "ReportFiles", "customers_csv_path"]


_UNIT_NAMES = {"D": "day", "W": "week", "M": "month", "Y": "year"}

#: Largest customer base whose tracking plots get a simulated predictive interval.
PREDICTIVE_MAX_CUSTOMERS = 50_000


@dataclass(frozen=True)
class ReportFiles:
    """Paths written by :func:`report`."""

    html: Path
    customers: Path
    sections: tuple[str, ...] = field(default=())


@dataclass
class _Section:
    id: str
    title: str
    kpis: list[dict[str, str]] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


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


def _money(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


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
def _data_section(data: pd.DataFrame, data_quality=None) -> _Section:
    s = _Section("data-summary", "Data summary")
    attrs = getattr(data, "attrs", {})
    unit = {"D": "days", "W": "weeks", "M": "months", "Y": "years"}.get(attrs.get("unit"), attrs.get("unit") or "?")
    n = len(data)
    repeat = float((data["frequency"] > 0).mean()) if "frequency" in data else np.nan
    s.kpis = [
        {"label": "customers", "value": f"{n:,}"},
        {"label": "repeat buyers", "value": f"{repeat:.1%}"},
        {"label": "repeat purchases", "value": f"{data['frequency'].sum():,.0f}"},
        {"label": "time unit", "value": unit},
    ]
    if attrs.get("calibration_end"):
        s.kpis.append({"label": "calibration end", "value": str(attrs["calibration_end"])})
    if attrs.get("observation_end"):
        s.kpis.append({"label": "holdout end", "value": str(attrs["observation_end"])})
    cols = [c for c in ("frequency", "recency", "T", "monetary_value", "frequency_holdout") if c in data.columns]
    if "frequency_holdout" not in data.columns:
        s.notes.append("No holdout period: the report cannot check the forecasts against what happened. Summarise "
                       "with an observation_end after the calibration end (command line: a --calibration-end before "
                       "the last date of the log) to get the holdout evaluation.")
    desc = data[cols].describe(percentiles=[0.25, 0.5, 0.75, 0.99]).T
    desc["count"] = desc["count"].astype(int)
    s.tables.append({"title": "Per-customer summary statistics", "html": _table(desc)})
    if data_quality is not None:
        # what the raw log held and what prepare_transactions dropped, before the summary
        s.tables.append({"title": "Data quality (the transaction log as read and cleaned)",
                         "html": _table(data_quality.to_frame().set_index("item").rename_axis(None), index=True)})
        s.notes.extend(line for line in data_quality.lines() if line.startswith("Flag:")
                       or "matched no earlier purchase" in line)
    s.notes.append(
        f"frequency = repeat purchases in the calibration period; recency and T in {unit} since each customer's "
        f"first purchase" + (f"; {attrs['n_excluded']} customers first seen after the calibration end are left out."
                             if attrs.get("n_excluded") else ".")
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
            if not model.converged_:
                warns.append(f"{model.spec.title}: the optimiser did not report convergence; check the data and "
                             f"starting values.")
        info = getattr(model, "fit_info_", None) or {}
        if "iterations" in info:
            facts.append({"label": "iterations", "value": str(info["iterations"])})
        if "grad_norm" in info:
            facts.append({"label": "gradient norm", "value": f"{info['grad_norm']:.1e}"})
        if "n_unique_rows" in info:
            facts.append({"label": "distinct rows fitted", "value": f"{info['n_unique_rows']:,}"})
    if getattr(model, "n_customers_", None) is not None:
        facts.append({"label": "customers fitted", "value": f"{model.n_customers_:,}"})
    return table, facts, warns, diagnostics


def _fit_section(model, spend_model) -> _Section:
    s = _Section("model-fit", "Model fit")
    for m in (model, spend_model):
        if m is None:
            continue
        table, facts, warns, diagnostics = _fit_table(m)
        s.tables.append({"title": f"{m.spec.title}", "html": _table(table),
                         "note": " · ".join(f"{f['label']}: {f['value']}" for f in facts)})
        if diagnostics is not None:
            s.tables.append({"title": f"{m.spec.title}: convergence diagnostics", "html": _table(diagnostics, index=False)})
        s.warnings.extend(warns)
    if spend_model is None:
        s.notes.append("No spend model was given: the report has no spend, CLV or customer-equity figures.")
    return s


def _checks_section(model, data: pd.DataFrame) -> _Section:

    s = _Section("model-checks", "Model checks")
    _figure(s, "Customers by repeat purchases in the calibration period: observed vs model",
            lambda: plotting.plot_calibration_histogram(model, data))
    _figure(s, "Expected purchases in the next period by frequency and recency",
            lambda: plotting.plot_frequency_recency_matrix(model, data))
    _figure(s, "Probability of being alive by frequency and recency",
            lambda: plotting.plot_probability_alive_matrix(model, data))
    if _has_draws(model):
        _figure(s, "Posterior distributions of the parameters", lambda: plotting.plot_posterior(model))
    return s


def _holdout_section(model, data: pd.DataFrame, transactions, transaction_columns, hdi_prob) -> _Section | None:
    if "frequency_holdout" not in data.columns:
        return None

    s = _Section("holdout", "Holdout evaluation")
    attrs = getattr(data, "attrs", {})
    s.notes.append(f"Calibration to {attrs.get('calibration_end', '?')}, holdout to {attrs.get('observation_end', '?')}: "
                   f"the model saw only the calibration period.")
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
        s.tables.append({"title": "Repeat purchases: actual vs expected", "html": _table(totals)})
        _figure(s, "Cumulative repeat purchases: actual vs model", lambda: plotting.plot_tracking(track, cumulative=True))
        _figure(s, "Repeat purchases per period: actual vs model", lambda: plotting.plot_tracking(track, cumulative=False))
    else:
        s.notes.append("The tracking plots need the transaction log (pass transactions=).")
    cond = evaluation.conditional_expectations(model, data, hdi_prob=hdi_prob)
    s.tables.append({"title": "Mean holdout purchases by calibration frequency", "html": _table(cond)})
    _figure(s, "Conditional expectations: mean holdout purchases by calibration frequency",
            lambda: plotting.plot_conditional_expectations(cond))
    errors = evaluation.holdout_errors(model, data)
    s.tables.append({"title": "Per-customer forecast errors in the holdout", "html": _table(errors)})
    return s


def _equity_section(model, spend_model, data, value_kwargs, hdi_prob) -> _Section:

    s = _Section("customer-equity", "Customer equity")
    horizon, unit = value_kwargs["horizon"], value_kwargs["unit"]
    names = {"D": "day", "W": "week", "M": "month", "Y": "year"}
    unit_name = names.get(unit, unit)
    s.notes.append(
        f"Customer equity is the sum of the customers' CLV: the discounted expected margin over the next {horizon} "
        f"{unit_name}s from the calibration end, at a discount rate of {value_kwargs['discount_rate']:g} per "
        f"{unit_name} and a margin of {value_kwargs['margin']:g} (share of spend that is profit)."
    )
    if spend_model is None:
        s.warnings.append("No spend model: customer equity needs one (e.g. a Gamma-Gamma fit on the repeat buyers).")
        return s
    if not (_has_draws(model) or _has_draws(spend_model)):
        equity = float(value.customer_equity(model, spend_model, data, **value_kwargs))
        s.kpis.append({"label": "customer equity", "value": _money(equity)})
        s.kpis.append({"label": "mean CLV per customer", "value": _money(equity / len(data))})
        s.notes.append("Point estimate (maximum likelihood): no interval; sample the models for one.")
        return s
    draws = np.asarray(value.customer_equity(model, spend_model, data, return_draws=True, **value_kwargs),
                       dtype=float).ravel()
    lo, hi = (float(v[0]) for v in hdi(draws, hdi_prob))
    mean = float(draws.mean())
    s.kpis.append({"label": "customer equity (posterior mean)", "value": _money(mean)})
    s.kpis.append({"label": f"{hdi_prob:.0%} HDI", "value": f"{_money(lo)} – {_money(hi)}"})
    s.kpis.append({"label": "mean CLV per customer", "value": _money(mean / len(data))})
    _figure(s, "Posterior distribution of customer equity", lambda: plotting.plot_customer_equity(draws, hdi=(lo, hi)))
    return s


def _segments_section(data, customers: pd.DataFrame, churn_threshold: float = 0.5) -> _Section:
    """CLV tiers, RFM segments and churn risk; adds ``tier`` and ``segment`` columns to ``customers``."""

    s = _Section("tiers-segments", "Tiers and segments")
    value = customers["clv"] if "clv" in customers.columns else None
    if value is not None:
        tiers = segments.clv_tiers(value)
        customers["tier"] = tiers["tier"].reindex(customers.index)
        table = segments.tier_summary(tiers)
        s.tables.append({"title": "CLV tiers (customer pyramid)", "html": _table(table)})
        _figure(s, "CLV tiers: customers (bars) and share of customer equity (line)",
                lambda: plotting.plot_tiers(table.drop(index="total", errors="ignore")))
    else:
        s.notes.append("No CLV (no spend model): no CLV tiers.")
    scores = segments.rfm_scores(data)
    customers["segment"] = scores["segment"].reindex(customers.index)
    table = segments.segment_summary(scores, value)
    s.tables.append({"title": "RFM segments", "html": _table(table)})
    _figure(s, "RFM segments: customers" + (" and share of customer equity" if value is not None else ""),
            lambda: plotting.plot_segments(table))
    if value is not None:
        risk = segments.churn_risk(customers["p_alive"], customers["clv_if_active"], threshold=churn_threshold)
        s.tables.append({"title": f"Churn risk (P(alive) < {churn_threshold:g})",
                         "html": _table(segments.churn_risk_summary(risk)),
                         "note": "value: CLV if the customer is still active (CLV / P(alive)); value_at_risk: "
                                 "(1 - P(alive)) x value (clvmodels.segments.churn_risk)."})
    return s


def _top_section(customers: pd.DataFrame, top: int) -> _Section:

    s = _Section("top-customers", f"Top {top} customers")
    # the page shows the forecast and the CLV interval; every column is in the CSV
    labels = {"frequency": "frequency", "recency": "recency", "T": "T", "monetary_value": "mean spend",
              "p_alive": "P(alive)", "expected_purchases": "exp. purchases", "expected_spend": "exp. spend",
              "clv": "CLV", "clv_hdi_lower": "CLV HDI low", "clv_hdi_upper": "CLV HDI high", "tier": "tier",
              "segment": "segment"}
    shown = customers[[c for c in labels if c in customers.columns]].head(top).rename(columns=labels)
    s.tables.append({"title": None, "html": _table(shown),
                     "note": f"exp. purchases and CLV over the next {customers.attrs.get('horizon')} "
                             f"{_UNIT_NAMES.get(customers.attrs.get('horizon_unit'), 'period')}s; exp. spend per purchase. All customers, "
                             f"with the sd and HDI of every forecast for posteriors, are in the CSV beside this file."})
    key = "clv" if "clv" in customers.columns else "expected_purchases"
    lower = next((c for c in customers.columns if c.startswith(f"{key}_") and "lower" in c), None)
    upper = next((c for c in customers.columns if c.startswith(f"{key}_") and "upper" in c), None)
    values = (customers[[key, lower, upper]].rename(columns={key: "mean", lower: "hdi_lower", upper: "hdi_upper"})
              if lower and upper else customers[key])
    _figure(s, f"Top {top} customers by {key.replace('_', ' ')}",
            lambda: plotting.plot_top_customers(values, n=top, label=key.replace("_", " ")))
    return s


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
    horizon: int = 12,
    unit: str = "M",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    top: int = 20,
    hdi_prob: float = 0.94,
    title: str | None = None,
    overwrite: bool = True,
    data_quality: DataQuality | None = None,
) -> ReportFiles:
    """Write a self-contained HTML report of a fitted model, and the per-customer table as CSV beside it.

    Sections: data summary; model fit (estimates, intervals, diagnostics); model checks
    (calibration histogram, frequency/recency and P(alive) matrices, parameter posteriors);
    holdout evaluation when ``data`` has holdout columns; customer equity (with its interval
    for posteriors); tiers and segments; top customers.

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
        Rows of the top-customers table.
    hdi_prob : float
        Probability of the posterior intervals shown.
    title : str, optional
    data_quality : DataQuality, optional
        The record :func:`clvmodels.prepare_transactions` returned for the log: adds a "Data
        quality" table (rows read, dropped and why, date range, counts, flags) to the data summary.
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
    >>> "top-customers" in files.sections
    True
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
    value_kwargs = {"horizon": horizon, "unit": unit, "discount_rate": discount_rate, "margin": margin}

    import matplotlib

    with matplotlib.rc_context({"figure.max_open_warning": 0}):
        customers = value.score_table(model, spend_model, data, hdi_prob=hdi_prob, **value_kwargs)
        sections = [_data_section(data, data_quality), _fit_section(model, spend_model), _checks_section(model, data)]
        holdout = _holdout_section(model, data, transactions, {"customer_col": customer_col, "date_col": date_col},
                                   hdi_prob)
        if holdout is not None:
            sections.append(holdout)
        sections.append(_equity_section(model, spend_model, data, value_kwargs, hdi_prob))
        sections.append(_segments_section(data, customers))
        sections.append(_top_section(customers, top))

    import hashlib


    csv_path = customers_csv_path(path)
    csv_bytes = neutralize_csv_frame(customers).to_csv().encode("utf-8")

    env = Environment(loader=PackageLoader("clvmodels.report", "templates"), autoescape=select_autoescape(["html", "j2"]))
    css = resources.files("clvmodels.report").joinpath("templates", "report.css").read_text(encoding="utf-8")
    page = env.get_template("report.html.j2").render(
        title=title or f"Customer lifetime value report: {model.spec.title}",
        model_title=model.spec.title,
        spend_title=None if spend_model is None else spend_model.spec.title,
        method="posterior" if _has_draws(model) else "maximum likelihood",
        n_customers=f"{len(data):,}",
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        sections=sections,
        css=css,
        version=html.escape(__version__),
        csv_name=csv_path.name,
        csv_sha256=hashlib.sha256(csv_bytes).hexdigest(),
    )
    # the HTML last: it is the file people open, so it appears only once its CSV is in place
    with atomic_paths(csv_path, path, overwrite=overwrite) as (csv_tmp, html_tmp):
        csv_tmp.write_bytes(csv_bytes)
        html_tmp.write_text(page, encoding="utf-8")
    return ReportFiles(html=path, customers=csv_path, sections=tuple(s.id for s in sections))
