"""The report's words and number formats (clvmodels.reporting.labels), checked against Python's own formatting."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from clvmodels import segments
from clvmodels.reporting import labels


@pytest.mark.parametrize("value", [0.0, 0.5, 12.345, 99.994, 100.0, 1234.5, 75873.35, 1e9, -1500.0, -3.25])
def test_money_rounds_as_python_does(value):
    text = labels.money(value, "$")
    digits = 0 if abs(value) >= 100 else 2
    assert text == ("-" if value < 0 else "") + "$" + format(abs(value), f",.{digits}f")
    assert float(re.sub(r"[^0-9.]", "", text)) * np.sign(value or 1) == pytest.approx(value, abs=0.5 if digits == 0 else 0.005)


def test_money_spacing_and_missing_values():
    assert labels.money(2500, "GBP") == "GBP 2,500" and labels.money(2500, "€") == "€2,500"
    assert labels.money(2500) == "2,500"
    assert labels.money(float("nan"), "$") == labels.percent(float("inf")) == "–"


def test_percent_and_count():
    assert labels.percent(0.25) == "25.0%" and labels.percent(0.12345, 2) == "12.35%"
    assert labels.count(23569.6) == "23,570" and labels.count(np.int64(7)) == "7"


def test_every_default_tier_and_segment_has_an_action():
    # the actions must follow the segment and tier names clvmodels.segments produces
    assert set(segments.DEFAULT_SEGMENTS.values()) == set(labels.SEGMENT_ACTIONS)
    assert set(segments.DEFAULT_TIERS) <= set(labels.TIER_ACTIONS)
    assert all(labels.SEGMENT_ACTIONS.values()) and all(labels.TIER_ACTIONS[t] for t in segments.DEFAULT_TIERS)


def test_customer_columns_name_the_horizon():
    cols = labels.customer_columns(52, "W", 0.9)
    assert cols["clv"] == "CLV, next 52 weeks" and cols["clv_hdi_lower"].startswith("CLV 90% interval")
    assert labels.horizon_phrase(1, "M") == "next 1 month"


def test_human_table_formats_escapes_and_adds_actions():
    frame = pd.DataFrame({"n_customers": [1200.0, 3.0], "share_of_equity": [0.6, 0.4], "value": [1e5, 12.5],
                          "hidden": [1, 2]}, index=["gold", "<b>x</b>"])
    page = labels.human_table(frame, {"n_customers": ("Customers", "count"), "share_of_equity": ("Share", "percent"),
                                      "value": ("Value", "money")}, currency="$", actions={"gold": "Grow"},
                              index_label="Tier")
    assert "<td>1,200</td><td>60.0%</td><td>$100,000</td><td class=\"action\">Grow</td>" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>" not in page
    assert "hidden" not in page and page.count("<tr>") == 3
