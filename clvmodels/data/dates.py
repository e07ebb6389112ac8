"""Reading the dates of a transaction log as the user meant them, or refusing them.

The rules (docs/pages/input-rules.md states them for users):

- datetime columns are taken as they are; a time zone is dropped after reading each time as
  the local wall-clock time it was written in (a purchase at 23:30-05:00 is on that day);
- bare numbers (integers, floats, or strings of digits only such as ``"20240101"``) are
  refused unless ``date_format`` (``"%Y%m%d"``) or ``epoch_unit`` (``"s"``, ``"ms"``, ...)
  says how to read them: pandas would read 20240101 as nanoseconds after 1970-01-01;
- strings laid out ``NN/NN/YYYY`` (also with ``-`` or ``.``) are read day-first when some first
  field exceeds 12, month-first when some second field does, and month-first with a
  :class:`~clvmodels.errors.DataWarning` when every field is <= 12 (the order cannot be told);
  ``dayfirst=True`` (or ``False``) states the order instead: no warning, and a date that
  contradicts it (a month field above 12) is refused with its row;
- times with different UTC offsets in one column are refused: the calendar day of a purchase
  depends on which zone it is read in, and only the user knows that;
- rows that do not parse are named (count, row labels, customer ids) in the error.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from clvmodels.data.validation import offending_rows as _where
from clvmodels.errors import ClvDataError, DataWarning
from clvmodels.wording import counted

__all__ = ["parse_dates", "to_day", "unparsable_dates_error", "EPOCH_UNITS"]

#: Units accepted by ``epoch_unit``: numbers of days, seconds, ... since 1970-01-01 (UTC).
EPOCH_UNITS = ("D", "s", "ms", "us", "ns")

_DIGITS = re.compile(r"^\s*[+-]?\d+(\.\d*)?\s*$")
# day and month in some order, then a 4-digit year; optional time after a space or "T"
_NUMERIC_DMY = re.compile(r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:[ T].*)?$")
_FIX = ("pass date_format= (e.g. '%Y%m%d' for 20240101; on the command line --date-format) or, for "
        "numbers of seconds/days since 1970, epoch_unit= ('s', 'ms', 'D'; --epoch-unit)")


def _refuse_numbers(values: pd.Series, column: str) -> None:
    raise ClvDataError(
        f"Column '{column}' holds bare numbers (e.g. {values.dropna().head(3).tolist()!r}), which could be dates "
        f"written as YYYYMMDD or counts of seconds or days since 1970; pandas would read them as nanoseconds "
        f"after 1970-01-01 (every purchase on one day). Say how to read them: {_FIX}."
    )


def _day_month_order(text: pd.Series, column: str, dayfirst: bool | None = None) -> dict:
    """``to_datetime`` options for ``NN/NN/YYYY`` strings (day or month first, detected unless ``dayfirst``
    says); {} (or just ``dayfirst``) for other layouts."""
    parts = text.str.extract(_NUMERIC_DMY)
    if len(parts) == 0 or parts[0].isna().any() or parts[1].nunique() != 1:
        return {} if dayfirst is None else {"dayfirst": dayfirst}
    first, second = parts[0].astype(int), parts[2].astype(int)
    sep = parts[1].iloc[0]
    if dayfirst is not None:
        # the user stated the order: a month field above 12 contradicts it and is named
        month = second if dayfirst else first
        if (month > 12).any():
            row = text.index[month > 12][0]
            raise ClvDataError(
                f"Column '{column}' is read {'day' if dayfirst else 'month'} first (dayfirst={dayfirst}), but row "
                f"{row!r} has {text[row]!r}, whose month field is {int(month[row])}. Check the order "
                f"({'drop dayfirst / --dayfirst' if dayfirst else 'pass dayfirst=True / --dayfirst'}) or fix that row."
            )
        day_first = dayfirst
        if text.str.match(r"^\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\s*$").all():
            return {"format": f"%d{sep}%m{sep}%Y" if day_first else f"%m{sep}%d{sep}%Y"}
        return {"dayfirst": day_first}
    if (first > 12).any() and (second > 12).any():
        day_first, month_first = text.index[first > 12][0], text.index[second > 12][0]
        raise ClvDataError(
            f"Column '{column}' has dates day first (row {day_first!r}: {text[day_first]!r}) and month first (row "
            f"{month_first!r}: {text[month_first]!r}); one order cannot read them all. Fix those rows, or pass "
            f"date_format= for the order most rows use (command line: --date-format) and the others are named."
        )
    if not ((first > 12).any() or (second > 12).any()):
        warnings.warn(
            f"Column '{column}': every date could be day{sep}month{sep}year or month{sep}day{sep}year (no field "
            f"exceeds 12, e.g. {text.iloc[0]!r}); they are read month first. If they are day first, pass "
            f"date_format='%d{sep}%m{sep}%Y' (command line: --date-format '%d{sep}%m{sep}%Y') or dayfirst=True "
            f"(--dayfirst); dayfirst=False says month first and silences this warning.",
            DataWarning,
            stacklevel=4,
        )
    day_first = bool((first > 12).any())
    if text.str.match(r"^\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\s*$").all():
        return {"format": f"%d{sep}%m{sep}%Y" if day_first else f"%m{sep}%d{sep}%Y"}
    return {"dayfirst": day_first}  # with times of day: pandas infers the time layout


def parse_dates(
    values: pd.Series,
    column: str,
    *,
    date_format: str | None = None,
    epoch_unit: str | None = None,
    ids: pd.Series | None = None,
    keep_unparsable: bool = False,
    dayfirst: bool | None = None,
) -> pd.Series:
    """Parse a transaction date column by the rules above; the caller's Series is not modified.

    Parameters
    ----------
    values : Series
        The date column.
    column : str
        Its name, quoted in messages.
    date_format : str, optional
        ``strftime`` layout (``"%Y%m%d"``, ``"%d/%m/%Y"``); also reads integer YYYYMMDD columns.
    epoch_unit : {"D", "s", "ms", "us", "ns"}, optional
        The column holds numbers of these units since 1970-01-01 UTC.
    ids : Series, optional
        The customer ids of the rows, named in messages.
    keep_unparsable : bool
        Return NaT for missing or unparsable dates instead of refusing them (for callers that
        name the offending rows themselves, such as the DuckDB engine parsing distinct values).
    dayfirst : bool, optional
        ``True``: dates written ``NN/NN/YYYY`` are day first (``31/12/2024``); ``False``: month
        first. Default: detected from the fields above 12, month first (with a warning) when
        no field tells. Ignored with ``date_format``.

    Returns
    -------
    Series of datetime64, timezone-naive (wall-clock time where the input had an offset).

    Examples
    --------
    >>> parse_dates(pd.Series([20240101, 20240215]), "day", date_format="%Y%m%d").dt.date.astype(str).tolist()
    ['2024-01-01', '2024-02-15']
    >>> parse_dates(pd.Series(["01/02/2024 9:30", "03/02/2024 17:05"]), "day", dayfirst=True).dt.date.astype(str).tolist()
    ['2024-02-01', '2024-02-03']
    >>> parse_dates(pd.Series([20240101]), "day")
    Traceback (most recent call last):
    ...
    clvmodels.errors.ClvDataError: Column 'day' holds bare numbers (e.g. [20240101]), ...
    """
    if date_format is not None and epoch_unit is not None:
        raise ValueError("Pass date_format= or epoch_unit=, not both: a date column is either laid out text or a "
                         "count since 1970.")
    if epoch_unit is not None and epoch_unit not in EPOCH_UNITS:
        raise ValueError(f"The 'epoch_unit' parameter must be one of {', '.join(map(repr, EPOCH_UNITS))}. "
                         f"Got {epoch_unit!r} instead.")
    if isinstance(values, pd.DataFrame):
        raise ClvDataError(f"The transaction log has {values.shape[1]} columns named '{column}'; rename or drop "
                           f"all but one of them.")
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    elif pd.api.types.is_bool_dtype(values):
        raise ClvDataError(f"Column '{column}' holds True/False values, not dates. Pass the right date column.")
    elif epoch_unit is not None:
        numbers = pd.to_numeric(values, errors="coerce")
        bad = numbers.isna().to_numpy() & values.notna().to_numpy()
        if bad.any():
            raise ClvDataError(
                f"Column '{column}' must hold numbers of {epoch_unit!r} since 1970 (epoch_unit={epoch_unit!r}); "
                f"{_where(values.index, ids, bad)} do not (values {values[bad].head(3).tolist()!r})."
            )
        try:
            parsed = pd.to_datetime(numbers, unit=epoch_unit, errors="coerce")
        except (OverflowError, ValueError):
            raise ClvDataError(f"Column '{column}' has numbers too large for dates in {epoch_unit!r} since 1970; "
                               f"check epoch_unit (milliseconds are 'ms').") from None
    else:
        numeric = pd.api.types.is_numeric_dtype(values)
        text = None if numeric else values.astype("string")
        if date_format is None and (numeric or (text.dropna().str.match(_DIGITS).all() and text.notna().any())):
            _refuse_numbers(values, column)
        if numeric:
            # YYYYMMDD integers with a format: read as the digits they are written with (pandas
            # deprecates formats on numbers: it will read them as epochs)
            whole = values.dropna()
            if not np.all(np.asarray(whole, dtype=float) == np.round(np.asarray(whole, dtype=float))):
                raise ClvDataError(f"Column '{column}' holds fractional numbers, which date_format={date_format!r} "
                                   f"cannot read; did you mean epoch_unit=?")
            text = values.astype("Int64").astype("string")
        how = {"format": date_format} if date_format is not None else _day_month_order(text.dropna(), column, dayfirst)
        try:
            parsed = pd.to_datetime(text, errors="coerce", **how)
        except ValueError as exc:
            if "Mixed timezones" in str(exc) or "mixed time zones" in str(exc).lower():
                raise ClvDataError(
                    f"Column '{column}' mixes times with different UTC offsets (e.g. "
                    f"{text.dropna().head(2).tolist()!r}), so the calendar day of a purchase depends on the zone it "
                    f"is read in. Convert them to one zone first, e.g. "
                    f"pd.to_datetime(col, utc=True).dt.tz_convert('Europe/Paris'), or drop the offsets."
                ) from None
            raise ClvDataError(f"Column '{column}' cannot be read as dates ({exc}). {_FIX[0].upper()}{_FIX[1:]}."
                               ) from None
    bad = parsed.isna().to_numpy()
    if bad.any() and not keep_unparsable:
        raise unparsable_dates_error(column, int(bad.sum()), _where(values.index, ids, bad),
                                     values[bad].head(3).tolist())
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed


def unparsable_dates_error(column: str, n: int, where: str, first: list) -> ClvDataError:
    """``n`` dates missing or unparsable; ``where`` from ``offending_rows``, ``first`` their first values.

    Examples
    --------
    >>> str(unparsable_dates_error("day", 1, "1 row (first: 0)", ["x"]))[:47]
    "Column 'day' has 1 missing or unparsable date a"
    """
    return ClvDataError(
        f"Column '{column}' has {counted(n, 'missing or unparsable date')} at {where}; "
        f"values there: {first!r}. Fix or drop those rows, or pass date_format= (e.g. '%Y%m%d'; command line: "
        f"--date-format) if the dates are in another layout."
    )


def to_day(value, name: str) -> pd.Timestamp | None:
    """A ``calibration_end``-like argument as a whole day; numbers are refused (20240101 is not 1970).

    Examples
    --------
    >>> to_day("1997-09-30 18:00", "calibration_end")
    Timestamp('1997-09-30 00:00:00')
    >>> to_day(19970930, "calibration_end")
    Traceback (most recent call last):
    ...
    clvmodels.errors.ClvDataError: The 'calibration_end' parameter must be a date such as '1997-09-30' (a string, datetime or pandas Timestamp). Got 19970930 (int) instead: numbers are not read as dates; write the date as a string.
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        raise ClvDataError(
            f"The '{name}' parameter must be a date such as '1997-09-30' (a string, datetime or pandas Timestamp). "
            f"Got {value!r} ({type(value).__name__}) instead: numbers are not read as dates; write the date as a string."
        )
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise ClvDataError(f"The '{name}' parameter must be a date (e.g. '1997-09-30'). Got {value!r} instead.")
    # a day, like the purchase dates: "1997-09-30 18:00" means the whole of Sep 30
    return (ts.tz_localize(None) if ts.tzinfo is not None else ts).normalize()
