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
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["report", "ReportFiles", "customer_table"]


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
    from clvmodels.plotting import close, figure_of

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


def _is_posterior(model) -> bool:
    return getattr(model, "posterior_", None) is not None


def _figure(section: _Section, caption: str, draw) -> None:
    """Draw one figure into the section; a figure that cannot be drawn is reported, not hidden."""
    try:
        section.figures.append({"caption": caption, "png": _png(draw())})
    except Exception as exc:  # noqa: BLE001 - a failed figure must not lose the rest of the report
        import matplotlib.pyplot as plt

        plt.close("all")
        section.warnings.append(f"Figure '{caption}' could not be drawn: {type(exc).__name__}: {exc}")


def _model_unit(model, data) -> str | None:
    return getattr(model, "unit_", None) or getattr(data, "attrs", {}).get("unit")


def _point(values) -> pd.Series:
    from clvmodels.plotting import point_and_interval

    return point_and_interval(values)[0]


def customer_table(
    model,
    spend_model,
    data: pd.DataFrame,
    *,
    horizon: int = 12,
    unit: str = "M",
    discount_rate: float = 0.0,
    margin: float = 1.0,
) -> pd.DataFrame:
    """One row per customer: history, P(alive), expected purchases and spend, CLV (with intervals for posteriors).

    Parameters
    ----------
    model : TransactionModel
        Fitted purchase model.
    spend_model : SpendModel or None
        Fitted spend model; without it there is no spend or CLV column.
    data : DataFrame
        Customer summary (from :func:`clvmodels.rfm_summary`).
    horizon, unit, discount_rate, margin
        As in :func:`clvmodels.lifetime_value`; expected purchases are over the same horizon.

    Returns
    -------
    DataFrame
        Indexed like ``data``, sorted by CLV (or expected purchases) from highest.

    Examples
    --------
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> t = customer_table(bg, gg, s, horizon=12, unit="M")
    >>> t.columns.tolist()[:4], len(t) == len(s)
    (['frequency', 'recency', 'T', 'monetary_value'], True)
    >>> bool(t["clv"].is_monotonic_decreasing)
    True
    """
    from clvmodels.units import period_edges
    from clvmodels.value import lifetime_value

    munit = _model_unit(model, data)
    if munit is None:
        raise ValueError("The time unit of the model is unknown; fit it on a clvmodels summary or build it with unit=.")
    start = getattr(data, "attrs", {}).get("calibration_end")
    t_horizon = float(period_edges(horizon, unit, munit, start=start)[-1])
    cols = [c for c in ("frequency", "recency", "T", "monetary_value", "frequency_holdout", "monetary_value_holdout")
            if c in data.columns]
    out = data[cols].copy()
    pieces = {
        "p_alive": model.probability_alive(data),
        "expected_purchases": model.expected_purchases(data, t=t_horizon),
    }
    if spend_model is not None:
        pieces["expected_spend"] = spend_model.expected_spend(data)
        pieces["clv"] = lifetime_value(model, spend_model, data, horizon=horizon, unit=unit,
                                       discount_rate=discount_rate, margin=margin)
    for name, values in pieces.items():
        if isinstance(values, pd.DataFrame):
            for col in values.columns:
                if col == "mean":
                    out[name] = values[col].to_numpy()
                elif np.issubdtype(values[col].dtype, np.number):
                    out[f"{name}_{col}"] = values[col].to_numpy()
        else:
            out[name] = np.asarray(values, dtype=float)
    out.attrs.update(data.attrs, horizon=horizon, horizon_unit=unit, horizon_model_units=t_horizon)
    key = "clv" if "clv" in out.columns else "expected_purchases"
    return out.sort_values(key, ascending=False, kind="stable")


# --------------------------------------------------------------------------- sections
def _data_section(data: pd.DataFrame) -> _Section:
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
    desc = data[cols].describe(percentiles=[0.25, 0.5, 0.75, 0.99]).T
    desc["count"] = desc["count"].astype(int)
    s.tables.append({"title": "Per-customer summary statistics", "html": _table(desc)})
    s.notes.append(
        f"frequency = repeat purchases in the calibration period; recency and T in {unit} since each customer's "
        f"first purchase" + (f"; {attrs['n_excluded']} customers first seen after the calibration end are left out."
                             if attrs.get("n_excluded") else ".")
    )
    return s


def _fit_table(model) -> tuple[pd.DataFrame, list[dict[str, str]], list[str]]:
    """Parameter table, fit facts and warnings of one fitted model, from its own summary and attributes."""
    table = model.summary()
    facts: list[dict[str, str]] = []
    warns: list[str] = []
    if _is_posterior(model):
        diag = getattr(model, "diagnostics", None)
        if callable(diag):
            d = diag()
            if isinstance(d, pd.DataFrame):
                extra = [c for c in d.columns if c not in table.columns]
                table = table.join(d[extra], how="left") if set(d.index) & set(table.index) else table
        for col, bad, text in (("r_hat", lambda v: v > 1.01, "R-hat above 1.01"),
                               ("ess_bulk", lambda v: v < 400, "bulk ESS below 400")):
            if col in table.columns and bad(table[col].astype(float)).any():
                warns.append(f"{text} for {', '.join(table.index[bad(table[col].astype(float))].astype(str))}: "
                             f"run more draws or chains before relying on the intervals.")
        facts.append({"label": "method", "value": str(getattr(model, "method_", "posterior sampling"))})
    else:
        if getattr(model, "loglik_", None) is not None:
            facts.append({"label": "log-likelihood", "value": f"{model.loglik_:,.2f}"})
        if getattr(model, "converged_", None) is not None:
            facts.append({"label": "converged", "value": "yes" if model.converged_ else "NO"})
            if not model.converged_:
                warns.append("The optimiser did not report convergence: check the data and starting values.")
        info = getattr(model, "fit_info_", None) or {}
        if "iterations" in info:
            facts.append({"label": "iterations", "value": str(info["iterations"])})
        if "grad_norm" in info:
            facts.append({"label": "gradient norm", "value": f"{info['grad_norm']:.1e}"})
        if "n_unique_rows" in info:
            facts.append({"label": "distinct rows fitted", "value": f"{info['n_unique_rows']:,}"})
    return table, facts, warns


def _fit_section(model, spend_model) -> _Section:
    s = _Section("model-fit", "Model fit")
    for m in (model, spend_model):
        if m is None:
            continue
        table, facts, warns = _fit_table(m)
        s.tables.append({"title": f"{m.spec.title}", "html": _table(table),
                         "note": " · ".join(f"{f['label']}: {f['value']}" for f in facts)})
        s.warnings.extend(warns)
    if spend_model is None:
        s.notes.append("No spend model was given: the report has no spend, CLV or customer-equity figures.")
    return s


def _checks_section(model, data: pd.DataFrame) -> _Section:
    from clvmodels import plotting

    s = _Section("model-checks", "Model checks")
    _figure(s, "Customers by repeat purchases in the calibration period: observed vs model",
            lambda: plotting.plot_calibration_histogram(model, data))
    _figure(s, "Expected purchases in the next period by frequency and recency",
            lambda: plotting.plot_frequency_recency_matrix(model, data))
    _figure(s, "Probability of being alive by frequency and recency",
            lambda: plotting.plot_probability_alive_matrix(model, data))
    if _is_posterior(model):
        _figure(s, "Posterior distributions of the parameters", lambda: plotting.plot_posterior(model))
    return s


def _holdout_section(model, data: pd.DataFrame, transactions, transaction_columns) -> _Section | None:
    if "frequency_holdout" not in data.columns:
        return None
    from clvmodels import plotting

    s = _Section("holdout", "Holdout evaluation")
    try:
        from clvmodels import evaluation
    except ImportError:
        evaluation = None
    if evaluation is None:
        s.warnings.append("clvmodels.evaluation is not available in this version: no holdout tables.")
        return s
    cond = getattr(evaluation, "conditional_expectations", None)
    if cond is not None:
        table = cond(model, data)
        s.tables.append({"title": "Holdout purchases by calibration frequency", "html": _table(table)})
        _figure(s, "Conditional expectations: mean holdout purchases by calibration frequency",
                lambda: plotting.plot_conditional_expectations(table))
    errors = getattr(evaluation, "holdout_errors", None)
    if errors is not None:
        s.tables.append({"title": "Per-customer errors in the holdout", "html": _table(pd.DataFrame(errors(model, data)))})
    track = getattr(evaluation, "tracking", None)
    if track is not None and transactions is not None:
        table = track(model, transactions, data, **transaction_columns)
        _figure(s, "Cumulative repeat purchases: actual vs model", lambda: plotting.plot_tracking(table, cumulative=True))
        _figure(s, "Repeat purchases per period: actual vs model", lambda: plotting.plot_tracking(table, cumulative=False))
    elif transactions is None:
        s.notes.append("Tracking plots need the transaction log (pass transactions=).")
    return s


def _equity_section(model, spend_model, data, customers: pd.DataFrame, value_kwargs, hdi_prob) -> _Section:
    from clvmodels import plotting
    from clvmodels.value import customer_equity

    s = _Section("customer-equity", "Customer equity")
    horizon, unit = value_kwargs["horizon"], value_kwargs["unit"]
    s.notes.append(
        f"Discounted expected margin over the next {horizon} {({'D': 'days', 'W': 'weeks', 'M': 'months', 'Y': 'years'}).get(unit, unit)} "
        f"from the calibration end, at a discount rate of {value_kwargs['discount_rate']:g} per period and a margin of "
        f"{value_kwargs['margin']:g}."
    )
    if spend_model is None:
        s.warnings.append("No spend model: customer equity needs one (e.g. a Gamma-Gamma fit on the repeat buyers).")
        return s
    equity = customer_equity(model, spend_model, data, **value_kwargs)
    if isinstance(equity, (float, int, np.floating)):
        s.kpis.append({"label": "customer equity", "value": _money(float(equity))})
        s.kpis.append({"label": "mean CLV", "value": _money(float(equity) / len(data))})
    else:
        draws = getattr(equity, "draws", None)
        summary = equity if isinstance(equity, (pd.Series, dict)) else getattr(equity, "summary", lambda: {})()
        mean = float(summary.get("mean", np.nan))
        lo = next((float(v) for k, v in dict(summary).items() if "lower" in str(k)), np.nan)
        hi = next((float(v) for k, v in dict(summary).items() if "upper" in str(k)), np.nan)
        s.kpis.append({"label": "customer equity (mean)", "value": _money(mean)})
        s.kpis.append({"label": f"{hdi_prob:.0%} interval", "value": f"{_money(lo)} – {_money(hi)}"})
        if draws is not None:
            _figure(s, "Posterior distribution of customer equity",
                    lambda: plotting.plot_customer_equity(draws, hdi=(lo, hi)))
    return s


def _segments_section(model, spend_model, data, customers: pd.DataFrame) -> _Section:
    from clvmodels import plotting

    s = _Section("tiers-segments", "Tiers and segments")
    try:
        from clvmodels import segments
    except ImportError:
        s.warnings.append("clvmodels.segments is not available in this version: no tiers or segments.")
        return s
    tiers = getattr(segments, "clv_tiers", None)
    if tiers is not None and "clv" in customers.columns:
        table = tiers(customers["clv"])
        table = getattr(table, "summary", table)
        s.tables.append({"title": "CLV tiers", "html": _table(table)})
        _figure(s, "CLV tiers: customers and share of equity", lambda: plotting.plot_tiers(table))
    rfm = getattr(segments, "rfm_segments", None)
    if rfm is not None:
        table = rfm(data)
        s.tables.append({"title": "RFM segments", "html": _table(table)})
        _figure(s, "RFM segments", lambda: plotting.plot_segments(table))
    return s


def _top_section(customers: pd.DataFrame, top: int) -> _Section:
    from clvmodels import plotting

    s = _Section("top-customers", f"Top {top} customers")
    head = customers.head(top)
    s.tables.append({"title": None, "html": _table(head)})
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
) -> ReportFiles:
    """Write a self-contained HTML report of a fitted model, and the per-customer table as CSV beside it.

    Sections: data summary; model fit (estimates, intervals, diagnostics); model checks
    (calibration histogram, frequency/recency and P(alive) matrices, parameter posteriors);
    holdout evaluation when ``data`` has holdout columns; customer equity (with its interval
    for posteriors); tiers and segments; top customers.

    Parameters
    ----------
    model : TransactionModel
        Fitted purchase model (maximum likelihood or posterior).
    spend_model : SpendModel or None
        Fitted spend model for spend, CLV and equity.
    data : DataFrame
        Customer summary the model was fitted on (with holdout columns for the holdout section).
    path : str or Path
        The HTML file to write; the CSV goes to ``<stem>_customers.csv`` in the same folder.
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
    ('cdnow.html', 'cdnow_customers.csv')
    >>> "top-customers" in files.sections
    True
    """
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from clvmodels import __version__

    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"The report is an HTML file: give a path ending in .html. Got {str(path)!r} instead.")
    if not path.parent.exists():
        raise FileNotFoundError(f"The folder {str(path.parent)!r} does not exist; create it or choose another path.")
    if top < 1:
        raise ValueError(f"The 'top' parameter must be a whole number >= 1. Got {top!r} instead.")
    value_kwargs = {"horizon": horizon, "unit": unit, "discount_rate": discount_rate, "margin": margin}

    import matplotlib

    with matplotlib.rc_context({"figure.max_open_warning": 0}):
        customers = customer_table(model, spend_model, data, **value_kwargs)
        sections = [_data_section(data), _fit_section(model, spend_model), _checks_section(model, data)]
        holdout = _holdout_section(model, data, transactions, {"customer_col": customer_col, "date_col": date_col})
        if holdout is not None:
            sections.append(holdout)
        sections.append(_equity_section(model, spend_model, data, customers, value_kwargs, hdi_prob))
        sections.append(_segments_section(model, spend_model, data, customers))
        sections.append(_top_section(customers, top))

    csv_path = path.with_name(f"{path.stem}_customers.csv")
    customers.to_csv(csv_path)

    templates = resources.files("clvmodels.report").joinpath("templates")
    env = Environment(loader=FileSystemLoader(str(templates)), autoescape=select_autoescape(["html", "j2"]))
    css = templates.joinpath("report.css").read_text(encoding="utf-8")
    page = env.get_template("report.html.j2").render(
        title=title or f"Customer lifetime value report: {model.spec.title}",
        model_title=model.spec.title,
        spend_title=None if spend_model is None else spend_model.spec.title,
        method="posterior" if _is_posterior(model) else "maximum likelihood",
        n_customers=f"{len(data):,}",
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        sections=sections,
        css=css,
        version=html.escape(__version__),
        csv_name=csv_path.name,
    )
    path.write_text(page, encoding="utf-8")
    return ReportFiles(html=path, customers=csv_path, sections=tuple(s.id for s in sections))
