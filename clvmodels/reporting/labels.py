"""Words and number formats of the report: what a manager reads instead of column names.

One place for the labels of the customer table and the summary tables, the number formats
(percentages, money with a currency, counts as integers) and the recommended action per CLV
tier and RFM segment, so every section says the same thing the same way.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np
import pandas as pd

from clvmodels.units import UNIT_NAMES as _UNIT_NAMES

__all__ = ["money", "percent", "count", "horizon_phrase", "human_table", "TIER_ACTIONS", "SEGMENT_ACTIONS",
           "customer_columns"]

#: What to do with each tier of the customer pyramid (clvmodels.segments.DEFAULT_TIERS).
TIER_ACTIONS: dict[str, str] = {
    "platinum": "Protect: personal contact, early access, service first; losing one costs as much as many others.",
    "gold": "Grow: loyalty rewards and cross-selling to move them up to platinum.",
    "iron": "Develop: targeted offers on what they already buy; watch cost per contact.",
    "lead": "Serve at low cost: automated e-mail only; spend on them only where they respond.",
    "total": "",
}

#: What to do with each RFM segment (clvmodels.segments.DEFAULT_SEGMENTS).
SEGMENT_ACTIONS: dict[str, str] = {
    "champions": "Reward them and ask for referrals and reviews; no discounts needed.",
    "loyal customers": "Upsell higher-value products; invite to a loyalty programme.",
    "potential loyalists": "Offer membership or a second-purchase incentive to build the habit.",
    "new customers": "Onboard well: a welcome series and a reason for a second purchase.",
    "promising": "Build awareness of the range with a free trial or sample.",
    "need attention": "Time-limited, personalised offer before they slip away.",
    "about to sleep": "Reactivate with a relevant recommendation or a modest discount.",
    "can't lose them": "Win them back personally: they bought often; find out why they stopped.",
    "at risk": "Win-back campaign with a clear offer; check for service problems.",
    "hibernating": "Low-cost reactivation only; do not spend much on them.",
}


def money(value: float, currency: str = "") -> str:
    """A money amount: thousands separated, whole units from 100 up, the currency in front.

    A currency code ending in a letter ("GBP") is followed by a space, a symbol ("$") is not.

    Examples
    --------
    >>> money(75873.35, "$"), money(12.345), money(-1500.0, "GBP")
    ('$75,873', '12.35', '-GBP 1,500')
    """
    value = float(value)
    if not np.isfinite(value):
        return "–"
    text = f"{abs(value):,.0f}" if abs(value) >= 100 else f"{abs(value):,.2f}"
    currency = currency.strip()
    if currency and currency[-1].isalpha():
        currency += " "
    return f"{'-' if value < 0 else ''}{currency}{text}"


def percent(share: float, digits: int = 1) -> str:
    """A share as a percentage.

    Examples
    --------
    >>> percent(0.4213), percent(1.0, 0), percent(float("nan"))
    ('42.1%', '100%', '–')
    """
    share = float(share)
    return "–" if not np.isfinite(share) else f"{share:.{digits}%}"


def count(n: float) -> str:
    """A count as an integer with thousands separators.

    Examples
    --------
    >>> count(23570.0)
    '23,570'
    """
    return f"{int(round(float(n))):,}"


def horizon_phrase(horizon: int, unit: str) -> str:
    """``"next 12 months"``: the forecast horizon in words.

    Examples
    --------
    >>> horizon_phrase(12, "M"), horizon_phrase(1, "Y")
    ('next 12 months', 'next 1 year')
    """
    name = _UNIT_NAMES.get(unit, unit)
    return f"next {horizon} {name}{'s' if horizon != 1 else ''}"


def customer_columns(horizon: int, unit: str, hdi_prob: float) -> dict[str, str]:
    """Labels of the customer table's columns (``clvmodels.value.score_table``), with the horizon in them.

    Examples
    --------
    >>> customer_columns(12, "M", 0.94)["expected_purchases"]
    'Expected purchases, next 12 months'
    """
    window = horizon_phrase(horizon, unit)
    pct = f"{hdi_prob:.0%}"
    return {
        "frequency": "Repeat purchases so far",
        "recency": "Age at last purchase",
        "T": "Customer age",
        "monetary_value": "Mean spend per purchase",
        "p_alive": "Chance still active",
        "expected_purchases": f"Expected purchases, {window}",
        "expected_spend": "Expected spend per purchase",
        "clv": f"CLV, {window}",
        "clv_hdi_lower": f"CLV {pct} interval, low",
        "clv_hdi_upper": f"CLV {pct} interval, high",
        # the realised numbers (clvmodels.predictive), beside the interval of the expectation
        "purchases_lower": f"Actual purchases, {pct} range, low",
        "purchases_upper": f"Actual purchases, {pct} range, high",
        "clv_realised_lower": f"Actual value, {pct} range, low",
        "clv_realised_upper": f"Actual value, {pct} range, high",
        "tier": "Tier",
        "segment": "Segment",
        "value_at_risk": f"Value at risk, {window}",
    }


def human_table(frame: pd.DataFrame, columns: Mapping[str, tuple[str, str]], *, index_label: str = "",
                currency: str = "", actions: Mapping[str, str] | None = None) -> str:
    """An HTML table with worded headers and formatted cells.

    ``columns`` maps a column of ``frame`` to ``(label, kind)``, kind one of ``"count"``,
    ``"percent"``, ``"money"``, ``"number"``, ``"text"``; columns not named are left out.
    With ``actions``, a last column "Recommended action" looks each row's index up in it.
    The header cells carry ``scope="col"``; every text is HTML-escaped.

    Examples
    --------
    >>> t = pd.DataFrame({"n_customers": [3.0], "share_of_equity": [0.25]}, index=["gold"])
    >>> print(human_table(t, {"n_customers": ("Customers", "count"), "share_of_equity": ("Share of equity", "percent")}))
    <table><thead><tr><th scope="col"></th><th scope="col">Customers</th><th scope="col">Share of equity</th></tr></thead><tbody><tr><th>gold</th><td>3</td><td>25.0%</td></tr></tbody></table>
    """
    fmt = {"count": count, "percent": percent, "money": lambda v: money(v, currency),
           "number": lambda v: "–" if not np.isfinite(float(v)) else f"{float(v):,.2f}", "text": str}
    shown = [c for c in columns if c in frame.columns]
    head = "".join(f'<th scope="col">{html.escape(columns[c][0])}</th>' for c in shown)
    if actions is not None:
        head += '<th scope="col" class="action">Recommended action</th>'
    rows = []
    for key, row in frame.iterrows():
        cells = "".join(f"<td>{html.escape(fmt[columns[c][1]](row[c]))}</td>" for c in shown)
        if actions is not None:
            cells += f'<td class="action">{html.escape(actions.get(str(key), ""))}</td>'
        rows.append(f"<tr><th>{html.escape(str(key))}</th>{cells}</tr>")
    return (f'<table><thead><tr><th scope="col">{html.escape(index_label)}</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")
