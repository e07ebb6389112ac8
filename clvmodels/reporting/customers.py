"""The report's table of all customers: worded headers, formatted cells, sortable and searchable offline.

The table is plain HTML; the inline script ``templates/table.js`` sorts it when a header is
clicked and filters its rows by the search box. Numeric cells keep their raw value in
``data-v`` so that sorting compares numbers, not formatted text.
"""

from __future__ import annotations

import html
from importlib import resources

import numpy as np
import pandas as pd

from clvmodels.reporting.labels import count, customer_columns, money, percent

__all__ = ["MAX_TABLE_ROWS", "customer_table_html", "table_script"]

#: Largest number of customers embedded in the page; beyond it the top ones by CLV (the CSV has all).
MAX_TABLE_ROWS = 20_000

# column -> how its cells are written; the order is the table's
_KINDS = {
    "tier": "text", "segment": "text", "frequency": "count", "monetary_value": "money", "p_alive": "percent",
    "expected_purchases": "number", "purchases_lower": "count", "purchases_upper": "count", "clv": "money",
    "clv_hdi_lower": "money", "clv_hdi_upper": "money", "clv_realised_lower": "money", "clv_realised_upper": "money",
    "value_at_risk": "money",
}


def table_script() -> str:
    """The inline script that sorts and filters the customer table (no network, no library).

    Examples
    --------
    >>> "customer-table" in table_script() and "http" not in table_script()
    True
    """
    return resources.files("clvmodels.reporting").joinpath("templates", "table.js").read_text(encoding="utf-8")


def customer_table_html(customers: pd.DataFrame, *, horizon: int, unit: str, hdi_prob: float, currency: str = "",
                        max_rows: int = MAX_TABLE_ROWS) -> tuple[str, str]:
    """The HTML of the customer table with its search box, and a sentence on what it holds.

    Parameters
    ----------
    customers : DataFrame
        The report's per-customer table (:func:`clvmodels.value.score_table` plus ``tier`` and
        ``segment``), in the order the rows are shown first (highest CLV first).
    horizon, unit : int, str
        Forecast horizon, for the column names.
    hdi_prob : float
        Probability of the CLV interval columns.
    currency : str
        Put before money amounts.
    max_rows : int
        At most this many rows (the first ones) are embedded.

    Returns
    -------
    tuple of str
        The HTML (search box, row count, table) and a note.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"frequency": [3, 0], "clv": [120.5, 4.25]}, index=pd.Index(["a", "b"], name="customer_id"))
    >>> page, note = customer_table_html(t, horizon=12, unit="M", hdi_prob=0.94, currency="$")
    >>> '<td data-v="4.25">$4.25</td>' in page, note
    (True, 'All 2 customers, highest CLV first.')
    """
    labels = customer_columns(horizon, unit, hdi_prob)
    shown = [c for c in _KINDS if c in customers.columns]
    rows = customers.head(max_rows)
    fmt = {"count": count, "percent": percent, "money": lambda v: money(v, currency),
           "number": lambda v: f"{float(v):,.2f}", "text": str}
    id_label = html.escape(str(customers.index.name or "Customer").replace("_", " ").capitalize())
    head = f'<th scope="col" data-type="text">{id_label}</th>' + "".join(
        f'<th scope="col" data-type="{"text" if _KINDS[c] == "text" else "number"}">{html.escape(labels[c])}</th>'
        for c in shown)
    columns = [rows[c].to_numpy() for c in shown]
    body = []
    for i, key in enumerate(rows.index):
        cells = []
        for c, values in zip(shown, columns):
            v = values[i]
            if _KINDS[c] == "text":
                cells.append(f"<td>{html.escape('' if pd.isna(v) else str(v))}</td>")
            elif not np.isfinite(float(v)):
                cells.append('<td data-v="NaN">–</td>')
            else:
                cells.append(f'<td data-v="{float(v)!r}">{html.escape(fmt[_KINDS[c]](v))}</td>')
        body.append(f"<tr><th>{html.escape(str(key))}</th>{''.join(cells)}</tr>")
    key = "CLV" if "clv" in customers.columns else "expected purchases"
    n, total = len(rows), len(customers)
    note = (f"All {total:,} customers, highest {key} first." if n == total else
            f"The top {n:,} of {total:,} customers by {key} (a page with every customer would be too large to "
            f"open); all of them are in the CSV file beside this report.")
    page = (f'<p class="search"><label for="customer-search">Search customers (id, tier, segment or any value): '
            f'</label><input id="customer-search" type="search" autocomplete="off"> '
            f'<span class="note"><span id="customer-count">{n:,}</span> rows shown; click a column header to '
            f'sort.</span></p>'
            f'<div class="table-box"><table id="customer-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")
    return page, note
