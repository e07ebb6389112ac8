"""The report's executive summary: the few figures a manager reads first, in sentences.

Customer equity with its interval, the forecast window as dates, the customers, how much of
the value the top tier holds, the customers and value at risk, the holdout accuracy and the
caveats. Every number comes from the tables the other sections show (clvmodels.value,
clvmodels.segments, clvmodels.evaluation); nothing is computed here that they do not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clvmodels import segments
from clvmodels.reporting.labels import count, horizon_phrase, money, percent
from clvmodels.reporting.section import Section

__all__ = ["Equity", "forecast_window", "model_caveats", "summary_section"]

_OFFSETS = {"D": "days", "W": "weeks", "M": "months", "Y": "years"}


@dataclass(frozen=True)
class Equity:
    """Customer equity: the value shown, its interval (``None`` when there is none) and how it was obtained."""

    value: float
    lower: float | None = None
    upper: float | None = None
    source: str = ""


def forecast_window(start, horizon: int, unit: str) -> tuple[str, str] | None:
    """The forecast window as ISO dates: from ``start`` (the calibration end) to ``start + horizon``.

    Examples
    --------
    >>> forecast_window("1997-09-30", 12, "M"), forecast_window("2020-01-01", 2, "W")
    (('1997-09-30', '1998-09-30'), ('2020-01-01', '2020-01-15'))
    >>> forecast_window(None, 12, "M") is None
    True
    """
    if start is None or unit not in _OFFSETS:
        return None
    begin = pd.Timestamp(start)
    end = begin + pd.DateOffset(**{_OFFSETS[unit]: int(horizon)})
    return str(begin.date()), str(end.date())


def model_caveats(model) -> list[str]:
    """Plain-language caveats of one fitted model: non-convergence with the optimiser's message, identification.

    Examples
    --------
    >>> import clvmodels as clv
    >>> model_caveats(clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W"))
    []
    """
    if model is None:
        return []
    out = []
    info = getattr(model, "fit_info_", None) or {}
    if getattr(model, "converged_", None) is False:
        message = str(info.get("message") or "no message").strip()
        out.append(f"{model.spec.title}: the fit did not converge (the optimiser said: {message}). Its figures may be "
                   f"far off: try other starting values, a longer history, or a Bayesian fit before relying on them.")
    # identification notes, when the fit recorded them (one per problem)
    for source in (info.get("identification"), getattr(model, "identification_", None)):
        if isinstance(source, str):
            source = [source]
        for text in source or []:
            text = f"{model.spec.title}: {text}"
            if text not in out:
                out.append(text)
    return out


def summary_section(customers: pd.DataFrame, data: pd.DataFrame, *, equity: Equity | None, horizon: int, unit: str,
                    hdi_prob: float, currency: str, errors: pd.DataFrame | None, caveats: list[str],
                    churn_threshold: float = 0.5) -> Section:
    """The executive summary, first in the report.

    Parameters
    ----------
    customers : DataFrame
        The per-customer table (``p_alive``, ``clv``, ``clv_if_active``, ``tier``).
    data : DataFrame
        The customer summary (its ``attrs`` give the calibration and holdout ends).
    equity : Equity or None
        Customer equity (``None`` without a spend model).
    horizon, unit, hdi_prob, currency
        The report's settings.
    errors : DataFrame or None
        :func:`clvmodels.evaluation.holdout_errors` (``None`` without a holdout).
    caveats : list of str
        Shown as warnings.
    churn_threshold : float
        A customer with P(alive) below it is at risk.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"p_alive": [0.9, 0.2], "clv": [90.0, 10.0], "clv_if_active": [100.0, 50.0],
    ...                   "tier": ["platinum", "lead"]})
    >>> s = summary_section(c, c, equity=Equity(100.0), horizon=12, unit="M", hdi_prob=0.94, currency="$",
    ...                     errors=None, caveats=[])
    >>> [k["value"] for k in s.kpis]
    ['$100', '2', '90.0%', '1 (50.0%)', '$40.00']
    """
    attrs = getattr(data, "attrs", {})
    window = forecast_window(attrs.get("calibration_end"), horizon, unit)
    phrase = horizon_phrase(horizon, unit)
    when = f"from {window[0]} to {window[1]}" if window else f"over the {phrase}"
    s = Section("summary", "Executive summary")
    n = len(customers)
    if equity is not None:
        s.lead = (f"Your {count(n)} customers are expected to bring {money(equity.value, currency)} {when} "
                  f"(customer equity: the sum of each customer's forecast value).")
        s.kpis.append({"label": f"Customer equity, {phrase}", "value": money(equity.value, currency)})
        if equity.lower is not None and equity.upper is not None:
            s.kpis.append({"label": f"{hdi_prob:.0%} interval", "value": f"{money(equity.lower, currency)} – "
                                                                          f"{money(equity.upper, currency)}"})
            s.bullets.append(f"The equity is very likely ({hdi_prob:.0%}) between {money(equity.lower, currency)} and "
                             f"{money(equity.upper, currency)}. The interval comes from {equity.source}")
    else:
        s.lead = (f"{count(n)} customers; no spend model was given, so the report forecasts purchases, not "
                  f"money.")
    s.kpis.append({"label": "Customers", "value": count(n)})
    if window:
        s.bullets.insert(0, f"Forecast window: {window[0]} (end of the data the model learnt from) to {window[1]}.")
    if "tier" in customers.columns and "clv" in customers.columns and customers["clv"].sum() > 0:
        total = float(customers["clv"].sum())
        first = customers["tier"].dropna().iloc[0] if customers["tier"].notna().any() else None
        top = customers[customers["tier"] == first]
        share = float(top["clv"].sum()) / total
        s.kpis.append({"label": f"Share of equity, {first} tier", "value": percent(share)})
        s.bullets.append(f"The {first} tier, {count(len(top))} customers ({percent(len(top) / n)} of all), holds "
                         f"{percent(share)} of customer equity: keep them first in line for service and contact.")
    # the at-risk rule and value at risk of clvmodels.segments, as in the report's churn-risk table
    value = customers["clv_if_active"] if "clv_if_active" in customers.columns else 0.0
    risk = segments.churn_risk(customers["p_alive"], value, threshold=churn_threshold)
    at_risk = risk["at_risk"]
    s.kpis.append({"label": "Customers at risk", "value": f"{count(at_risk.sum())} ({percent(at_risk.mean())})"})
    risk_text = (f"{count(at_risk.sum())} customers ({percent(at_risk.mean())}) have a chance below "
                 f"{percent(churn_threshold, 0)} of still being active")
    if "clv_if_active" in customers.columns:
        lost = float(risk.loc[at_risk, "value_at_risk"].sum())
        s.kpis.append({"label": "Value at risk", "value": money(lost, currency)})
        risk_text += (f"; had they stayed, they would be worth {money(lost, currency)} more {when}. A win-back "
                      f"offer to the most valuable of them (Tiers and segments below) is the first lever")
    s.bullets.append(risk_text + ".")
    if errors is not None and "all" in errors.index:
        row = errors.loc["all"]
        actual, expected = float(row["actual"]), float(row["expected"])
        off = (expected - actual) / actual if actual > 0 else np.nan
        direction = "more" if expected > actual else "fewer"
        s.bullets.append(
            f"Accuracy check: for the period from {attrs.get('calibration_end', 'the calibration end')} to "
            f"{attrs.get('observation_end', 'the end of the data')}, which the model did not see, it forecast "
            f"{count(expected)} repeat purchases and customers made {count(actual)} ({percent(abs(off))} {direction} "
            f"than happened); per customer it was off by {float(row['mae']):.2f} purchases on average.")
    else:
        s.bullets.append("No accuracy check: the data has no holdout period after the calibration end.")
    s.warnings.extend(caveats)
    return s
