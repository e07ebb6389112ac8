"""From a transaction log to one row per customer: the RFM summary the models read."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from clvmodels.errors import ClvDataError, DataWarning
from clvmodels.data.duckdb_engine import is_duckdb_source, rfm_summary_duckdb
from clvmodels.data.validation import offenders
from clvmodels.units import UNIT_DAYS, normalize_unit

__all__ = ["rfm_summary"]


def _where(index: pd.Index, ids: pd.Series, bad: np.ndarray) -> str:
    """Offending transaction rows: their count, first row labels and those rows' customer ids."""
    first_ids = ", ".join(repr(i) for i in pd.unique(ids.to_numpy()[bad])[:5].tolist())
    return f"{offenders(index, bad)} of customers {first_ids}"


def _parse_dates(values: pd.Series, column: str, fmt: str | None, ids: pd.Series) -> pd.Series:
    """Parse a date column without touching the caller's Series; name the rows that fail."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        parsed = pd.to_datetime(values, errors="coerce", format=fmt)
    bad = parsed.isna().to_numpy()
    if bad.any():
        first = values[bad].head(3).tolist()
        raise ClvDataError(
            f"Column '{column}' has {int(bad.sum())} missing or unparsable dates at "
            f"{_where(values.index, ids, bad)}; values there: {first!r}. Fix or drop those rows, or pass "
            f"date_format= (e.g. '%Y%m%d') if the dates are in another layout."
        )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed


def _to_timestamp(value, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ClvDataError(f"The '{name}' parameter must be a date (e.g. '1997-09-30'). Got {value!r} instead.") from None
    if ts is pd.NaT:
        raise ClvDataError(f"The '{name}' parameter must be a date (e.g. '1997-09-30'). Got {value!r} instead.")
    # a day, like the purchase dates: "1997-09-30 18:00" means the whole of Sep 30
    return (ts.tz_localize(None) if ts.tzinfo is not None else ts).normalize()


def rfm_summary(
    transactions,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    *,
    unit: str = "D",
    calibration_end=None,
    observation_end=None,
    date_format: str | None = None,
    engine: str = "auto",
    duckdb_config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Summarise a transaction log into one row per customer.

    Purchases are counted by day: several transactions of one customer on one day are one
    purchase whose amount is their sum. Times are measured continuously from each customer's
    first purchase (day resolution), in ``unit`` (days / 7 for weeks; months and years use the
    mean Gregorian lengths of 30.436875 and 365.2425 days).

    Columns of the result (index: the customer ids, named ``customer_col``):

    - ``frequency``: repeat purchases x in the calibration period, i.e. purchase days after the
      first one, up to and including ``calibration_end``;
    - ``recency``: t_x, time from the first to the last purchase of the calibration period
      (0 when x = 0);
    - ``T``: time from the first purchase to ``calibration_end``;
    - ``monetary_value`` (with ``amount_col``): mean value of the repeat purchases (the first
      purchase is left out, the Gamma-Gamma convention); 0 when x = 0;
    - with ``observation_end``: ``frequency_holdout`` (purchase days after ``calibration_end``
      up to and including ``observation_end``), ``monetary_value_holdout`` (their mean value,
      0 if none) and ``duration_holdout`` (``observation_end - calibration_end`` in ``unit``).

    The time unit and dates are kept in ``result.attrs`` (``unit``, ``calibration_end``,
    ``observation_end``, ``n_excluded``).

    Parameters
    ----------
    transactions : DataFrame, path, DuckDB relation, Arrow table or Polars frame
        One row per transaction; never modified. A path or glob of Parquet/CSV files (or a list
        of them), a DuckDB relation, an Arrow table or a Polars frame is summarised by DuckDB
        out of core (see ``engine``).
    customer_col, date_col : str
        Column names of the customer id and the transaction date.
    amount_col : str, optional
        Column of transaction values; gives ``monetary_value``.
    unit : {"D", "W", "M", "Y"}
        Time unit of ``recency``, ``T`` and ``duration_holdout``.
    calibration_end : date-like, optional
        Last day of the calibration period; defaults to the last transaction date. Customers
        first seen after it are left out (with a :class:`~clvmodels.errors.DataWarning`
        giving their count).
    observation_end : date-like, optional
        Last day of the holdout period; adds the holdout columns.
    date_format : str, optional
        ``strftime`` layout of the dates when they are strings pandas cannot infer.
    engine : {"auto", "pandas", "duckdb"}
        Who computes the summary; the result is the same. ``"auto"``: DuckDB for files,
        relations, Arrow tables and Polars frames, pandas for a DataFrame. ``"duckdb"`` also takes
        a DataFrame (useful when the grouping would not fit in memory twice).
    duckdb_config : mapping, optional
        DuckDB settings for the DuckDB engine, e.g. ``{"memory_limit": "4GB", "threads": 2,
        "temp_directory": "/scratch"}``; it spills to ``temp_directory`` past the memory limit.

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"id": [1, 1, 1, 2], "day": ["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-08"],
    ...                    "value": [10.0, 5.0, 20.0, 7.0]})
    >>> rfm_summary(tx, "id", "day", "value", unit="W", calibration_end="2024-01-15")
        frequency  recency    T  monetary_value
    id
    1         1.0      2.0  2.0            20.0
    2         0.0      0.0  1.0             0.0
    """
    if engine not in ("auto", "pandas", "duckdb"):
        raise ValueError(f"The 'engine' parameter of rfm_summary must be 'auto', 'pandas' or 'duckdb'. Got {engine!r} instead.")
    if engine == "duckdb" or (engine == "auto" and is_duckdb_source(transactions)):
        return rfm_summary_duckdb(transactions, customer_col, date_col, amount_col, unit=unit,
                                  calibration_end=calibration_end, observation_end=observation_end,
                                  date_format=date_format, duckdb_config=duckdb_config)
    if not isinstance(transactions, pd.DataFrame):
        raise TypeError(f"Expected a DataFrame of transactions. Got {type(transactions).__name__} instead.")
    unit = normalize_unit(unit)
    needed = [c for c in (customer_col, date_col, amount_col) if c is not None]
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise ClvDataError(
            f"The transaction log has no column {', '.join(repr(m) for m in missing)}; its columns are "
            f"{', '.join(map(repr, transactions.columns[:12]))}. Pass the right names as "
            f"customer_col=, date_col=, amount_col=."
        )
    if len(transactions) == 0:
        raise ClvDataError("The transaction log is empty: there is nothing to summarise.")

    ids = transactions[customer_col]
    bad = ids.isna().to_numpy()
    if bad.any():
        raise ClvDataError(
            f"Column '{customer_col}' has {int(bad.sum())} missing customer ids (rows "
            f"{', '.join(map(str, transactions.index[bad][:5].tolist()))}). Drop or fill those rows first."
        )
    dates = _parse_dates(transactions[date_col], date_col, date_format, ids)
    frame = pd.DataFrame({"customer": ids.to_numpy(), "day": dates.dt.floor("D").to_numpy()})
    if amount_col is not None:
        raw = transactions[amount_col]
        amount = pd.to_numeric(raw, errors="coerce")
        bad = (amount.isna() | (amount < 0)).to_numpy()
        if bad.any():
            raise ClvDataError(
                f"Column '{amount_col}' must hold non-negative numbers; {int(bad.sum())} are missing, "
                f"unparsable or negative at {_where(transactions.index, ids, bad)} (values "
                f"{raw[bad].head(3).tolist()!r}). Drop refunds/returns or net them into their purchases first."
            )
        frame["amount"] = amount.to_numpy(dtype=float)

    first_day, last_day = frame["day"].min(), frame["day"].max()
    cal_end = _to_timestamp(calibration_end, "calibration_end")
    obs_end = _to_timestamp(observation_end, "observation_end")
    if cal_end is None:
        cal_end = last_day if obs_end is None else None
        if cal_end is None:
            raise ClvDataError("Pass calibration_end together with observation_end: the holdout starts the day after it.")
    if cal_end < first_day:
        raise ClvDataError(
            f"calibration_end {cal_end.date()} is before the first purchase in the log ({first_day.date()}): "
            f"no customer would be in the calibration period. Use a later calibration_end."
        )
    if cal_end > last_day:
        raise ClvDataError(
            f"calibration_end {cal_end.date()} is after the last transaction in the log ({last_day.date()}); "
            f"a calibration period beyond the data would count days with no record as days without "
            f"purchases. Use a calibration_end on or before {last_day.date()}, or leave it out."
        )
    if obs_end is not None and obs_end < cal_end:
        raise ClvDataError(
            f"observation_end {obs_end.date()} is before calibration_end {cal_end.date()}; the holdout period "
            f"follows the calibration period. Swap them or move observation_end later."
        )

    # one purchase per customer and day (amounts summed); sorted by customer, then day
    per_day = frame.groupby(["customer", "day"], sort=True)
    days = (per_day["amount"].sum() if amount_col is not None else per_day.size()).reset_index()
    in_cal = (days["day"] <= cal_end).to_numpy()
    cal = days[in_cal]
    g = cal.groupby("customer", sort=True)
    first = g["day"].min()
    scale = UNIT_DAYS[unit]
    day = pd.Timedelta(days=1)
    out = pd.DataFrame(index=first.index)
    out["frequency"] = (g["day"].size() - 1).astype(float)
    out["recency"] = ((g["day"].max() - first) / day).to_numpy(dtype=float) / scale
    out["T"] = ((cal_end - first) / day).to_numpy(dtype=float) / scale
    if amount_col is not None:
        repeat_total = g["amount"].sum() - g["amount"].first()
        out["monetary_value"] = (repeat_total / out["frequency"].clip(lower=1)).where(out["frequency"] > 0, 0.0)

    all_customers = days["customer"].unique()
    n_excluded = len(all_customers) - len(out)
    if n_excluded:
        later = pd.Index(all_customers).difference(out.index)
        warnings.warn(
            f"Left out {n_excluded} customer{'s' if n_excluded != 1 else ''} first seen after calibration_end "
            f"{cal_end.date()} (first: {', '.join(map(repr, later[:5].tolist()))}): there is no calibration "
            f"history to fit on. Move calibration_end later to include them.",
            DataWarning,
            stacklevel=2,
        )

    if obs_end is not None:
        hold = days[(~in_cal) & (days["day"] <= obs_end).to_numpy()]
        hold = hold[hold["customer"].isin(out.index)]
        hg = hold.groupby("customer")
        out["frequency_holdout"] = hg["day"].size().reindex(out.index, fill_value=0).astype(float)
        if amount_col is not None:
            out["monetary_value_holdout"] = hg["amount"].mean().reindex(out.index, fill_value=0.0)
        out["duration_holdout"] = ((obs_end - cal_end) / day) / scale

    out.index.name = customer_col
    out.attrs.update(
        unit=unit,
        calibration_end=str(cal_end.date()),
        observation_end=None if obs_end is None else str(obs_end.date()),
        n_excluded=int(n_excluded),
    )
    return out
