"""Time units, stated explicitly.

Models are fitted in the unit of their summary (``"H"`` hours, ``"D"`` days, ``"W"`` weeks of
7 days, ``"M"`` months, ``"Y"`` years). Hours, days and weeks are exact (an hour is 1/24 day;
summaries still count purchases by day, see :func:`clvmodels.rfm_summary`). Months and years have no fixed
length; where a calendar start date is known (a summary's ``calibration_end``), periods are
cut at real calendar boundaries (e.g. 31 days for October), otherwise the mean Gregorian
lengths are used: a year of 365.2425 days and a month of 365.2425 / 12 = 30.436875 days.
Nothing else is ever assumed (no 30-day or 4.345-week months).

Examples
--------
>>> from clvmodels.units import convert, period_edges
>>> convert(14, "D", "W")
2.0
>>> period_edges(2, "M", "D", start="1997-09-30").tolist()  # October (31 days), then November (30)
[31.0, 61.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["UNIT_DAYS", "UNIT_NAMES", "normalize_unit", "unit_days", "convert", "period_edges"]

#: Length of each unit in days (months and years: mean Gregorian lengths).
UNIT_DAYS: dict[str, float] = {"H": 1.0 / 24.0, "D": 1.0, "W": 7.0, "M": 365.2425 / 12.0, "Y": 365.2425}

#: Singular English name of each unit, for messages and labels (add "s" for the plural).
UNIT_NAMES: dict[str, str] = {"H": "hour", "D": "day", "W": "week", "M": "month", "Y": "year"}

_ALIASES = {
    "h": "H", "hour": "H", "hours": "H",
    "d": "D", "day": "D", "days": "D",
    "w": "W", "week": "W", "weeks": "W",
    "m": "M", "month": "M", "months": "M",
    "y": "Y", "year": "Y", "years": "Y",
}


def normalize_unit(unit: str, name: str = "unit") -> str:
    """Return the canonical one-letter code for a time unit.

    Parameters
    ----------
    unit : str
        ``"H"``, ``"D"``, ``"W"``, ``"M"``, ``"Y"`` or a spelled-out name (``"weeks"``, ``"hours"``).
    name : str
        The argument name to quote in the error message.

    Examples
    --------
    >>> normalize_unit("weeks")
    'W'
    """
    code = _ALIASES.get(str(unit).strip().lower())
    if code is None:
        raise ValueError(
            f"The '{name}' parameter must be one of 'H' (hours), 'D' (days), 'W' (weeks), 'M' (months) "
            f"or 'Y' (years). Got {unit!r} instead."
        )
    return code


def unit_days(unit: str) -> float:
    """Length of one ``unit`` in days (mean Gregorian for months and years).

    Examples
    --------
    >>> unit_days("W")
    7.0
    """
    return UNIT_DAYS[normalize_unit(unit)]


def convert(value, from_unit: str, to_unit: str):
    """Convert a duration between units (mean Gregorian lengths for months and years).

    Examples
    --------
    >>> round(convert(1, "M", "W"), 6)
    4.348125
    """
    return value * unit_days(from_unit) / unit_days(to_unit)


def period_edges(horizon: int, unit: str, model_unit: str, start=None) -> np.ndarray:
    """Ends of the periods 1..``horizon`` of ``unit``, as times in ``model_unit`` from ``start``.

    With a ``start`` date and a calendar unit (months, years), ``start`` is the last day
    already observed (a summary's ``calibration_end``), so period 1 begins the next day and
    each period ends one calendar month/year later: after 1997-09-30 the months are October
    (31 days), November (30), ... and after 1998-01-31 February (28). Without a start the mean
    Gregorian lengths are used.

    Parameters
    ----------
    horizon : int
        Number of periods.
    unit : str
        Unit of one period.
    model_unit : str
        Unit in which the returned times are expressed (the model's time unit).
    start : date-like, optional
        Last observed day (usually the calibration end); period 1 starts the day after it.

    Examples
    --------
    >>> period_edges(3, "W", "D").tolist()
    [7.0, 14.0, 21.0]
    >>> period_edges(2, "D", "H").tolist()  # hourly model, daily periods
    [24.0, 48.0]
    """
    unit, model_unit = normalize_unit(unit), normalize_unit(model_unit, "model_unit")
    if int(horizon) != horizon or horizon < 1:
        raise ValueError(f"The 'horizon' parameter must be a whole number of periods >= 1. Got {horizon!r} instead.")
    k = np.arange(1, int(horizon) + 1)
    if start is not None and unit in ("M", "Y"):
        # Anchor on the first day of period 1: Sep 30 + 1 month would be Oct 30 (a 30-day
        # "October") and Jan 30 + 1 month Feb 28, while Oct 1 + k months always lands on the
        # first day of a period.
        first_day = pd.Timestamp(start).normalize() + pd.Timedelta(days=1)
        step = pd.DateOffset(months=1) if unit == "M" else pd.DateOffset(years=1)
        ends = [first_day + step * int(i) for i in k]
        days = np.array([(e - first_day) / pd.Timedelta(days=1) for e in ends], dtype=float)
    else:
        days = k * UNIT_DAYS[unit]
    return days / UNIT_DAYS[model_unit]
