"""Time units, stated explicitly.

Models are fitted in the unit of their summary (``"D"`` days, ``"W"`` weeks of 7 days,
``"M"`` months, ``"Y"`` years). Days and weeks are exact. Months and years have no fixed
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

__all__ = ["UNIT_DAYS", "normalize_unit", "unit_days", "convert", "period_edges", "with_unit"]

#: Length of each unit in days (months and years: mean Gregorian lengths).
UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.2425 / 12.0, "Y": 365.2425}

_ALIASES = {
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
        ``"D"``, ``"W"``, ``"M"``, ``"Y"`` or a spelled-out name (``"weeks"``).
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
            f"The '{name}' parameter must be one of 'D' (days), 'W' (weeks), 'M' (months) "
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


def with_unit(summary: pd.DataFrame, unit: str, *, calibration_end=None, observation_end=None) -> pd.DataFrame:
    """The summary with its time unit (and window) recorded in ``attrs``, as :func:`clvmodels.rfm_summary` does.

    Use it to restore what pandas drops (``merge``, ``join``, ``concat`` of tables with
    different ``attrs``, a CSV round trip) or to declare the unit of a summary built
    elsewhere, so that models can check it against the unit they were fitted in. The caller's
    DataFrame is not modified (the result shares its data: pandas copies on write).

    It labels, it does not convert: a summary that already records another unit is refused
    (rebuild it with ``rfm_summary(..., unit=...)`` to change units).

    Parameters
    ----------
    summary : DataFrame
        Per-customer summary (``recency``, ``T``... in ``unit``).
    unit : {"D", "W", "M", "Y"}
        The unit its times are in.
    calibration_end, observation_end : date-like, optional
        The window, recorded as ISO dates; kept from ``summary.attrs`` when not given.

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import io
    >>> s = pd.DataFrame({"frequency": [1.0], "recency": [2.0], "T": [5.0]})
    >>> back = pd.read_csv(io.StringIO(s.to_csv()), index_col=0)  # CSV keeps no attrs
    >>> with_unit(back, "weeks", calibration_end="1997-09-30").attrs
    {'unit': 'W', 'calibration_end': '1997-09-30'}
    >>> back.attrs
    {}
    """
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"Expected a summary DataFrame. Got {type(summary).__name__} instead.")
    code = normalize_unit(unit)
    recorded = summary.attrs.get("unit")
    if recorded is not None and normalize_unit(recorded, "summary.attrs['unit']") != code:
        from clvmodels.errors import UnitMismatchError

        raise UnitMismatchError(
            f"The summary already records unit {recorded!r}, not {code!r}; with_unit labels a table, it does not "
            f"convert its times. Rebuild the summary with rfm_summary(..., unit={code!r}) to change units."
        )
    out = summary.copy(deep=False)
    out.attrs = dict(summary.attrs)
    out.attrs["unit"] = code
    from clvmodels.data.dates import to_day  # (clvmodels.data imports this module)

    for name, value in (("calibration_end", calibration_end), ("observation_end", observation_end)):
        if value is not None:
            out.attrs[name] = str(to_day(value, name).date())
    return out
