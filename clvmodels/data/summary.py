"""From a transaction log to one row per customer: the RFM summary the models read."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from clvmodels import defaults
from clvmodels.errors import ClvDataError, DataWarning
from clvmodels.wording import counted
from clvmodels.data.dates import parse_dates, to_day
from clvmodels.data.duckdb_engine import is_duckdb_source, rfm_summary_duckdb
from clvmodels.data.validation import offending_rows as _where
from clvmodels.units import UNIT_DAYS, normalize_unit

__all__ = ["rfm_summary"]


# The messages of the log checks, shared with the DuckDB engine (which counts and finds the
# offending rows in SQL) so both engines say the same thing.
def missing_columns_error(missing: list, columns) -> ClvDataError:
    """The log lacks a named column."""
    return ClvDataError(
        f"The transaction log has no column {', '.join(repr(m) for m in missing)}; its columns are "
        f"{', '.join(map(repr, list(columns)[:12]))}. Pass the right names as "
        f"customer_col=, date_col=, amount_col=."
    )


def empty_log_error() -> ClvDataError:
    """The log has no rows."""
    return ClvDataError("The transaction log is empty: there is nothing to summarise.")


def missing_ids_error(column: str, n: int, labels: list) -> ClvDataError:
    """``n`` rows without a customer id; ``labels``: the first few row labels."""
    return ClvDataError(
        f"Column '{column}' has {counted(n, 'missing customer id')} (rows "
        f"{', '.join(map(str, labels))}). Drop or fill those rows first."
    )


def missing_ids_refused_error(column: str, n: int, labels: list) -> ClvDataError:
    """:func:`clvmodels.prepare_transactions`' refusal of ``n`` rows without a customer id (it can drop them)."""
    return ClvDataError(
        f"Column '{column}' has {counted(n, 'missing customer id')} (rows "
        f"{', '.join(map(str, labels))}). Drop them with "
        f"drop_missing_ids=True (command line: --drop-missing-ids; they are counted), or fill them first."
    )


def boolean_amounts_error(column: str) -> ClvDataError:
    """The amount column holds True/False."""
    return ClvDataError(f"Column '{column}' holds True/False values, not amounts. Pass the column of "
                        f"transaction values as amount_col=.")


def bad_amounts_error(column: str, n: int, where: str, shown: list) -> ClvDataError:
    """``n`` amounts missing, unparsable, infinite or negative; ``where`` from ``offending_rows``."""
    comma = any(isinstance(v, str) and re.fullmatch(r"\s*-?\d+,\d+\s*", v) for v in shown)
    return ClvDataError(
        f"Column '{column}' must hold finite, non-negative numbers; {n:,} {'is' if n == 1 else 'are'} missing, "
        f"unparsable, infinite or negative at {where} (values {shown!r}). "
        + ("They use decimal commas: convert them (.str.replace(',', '.')) or read the file with "
           "decimal=','. " if comma else "")
        + "Drop refunds/returns or net them into their purchases first; drop or fix the other rows."
    )


def _past_data_limit(days: pd.Series) -> tuple[pd.Timedelta, str]:
    """How far an end may run past the last transaction before it is implausible, and why.

    The largest of: 7 days, the longest stretch without any transaction inside the log, and a
    tenth of the log's span (first to last transaction day).
    """
    unique_days = np.sort(days.unique())
    span = pd.Timedelta(unique_days[-1] - unique_days[0])
    gap = pd.Timedelta(np.diff(unique_days).max()) if len(unique_days) > 1 else pd.Timedelta(0)
    limits = {"the 7-day minimum": pd.Timedelta(days=7), "the longest stretch without transactions in the log": gap,
              "a tenth of the log's span": span / 10}
    reason = max(limits, key=limits.get)
    return limits[reason], reason


def _warn_past_data(name: str, end: pd.Timestamp, last_day: pd.Timestamp, days: pd.Series) -> None:
    limit, reason = _past_data_limit(days)
    past = end - last_day
    if past > limit:
        warnings.warn(
            f"{name} {end.date()} is {past.days} days after the last transaction in the log ({last_day.date()}), "
            f"more than is plausible for an export taken after the data (the limit is {limit.days} days: "
            f"{reason}). Days after {last_day.date()} count as days without purchases; check {name} and that "
            f"the log is complete.",
            DataWarning,
            stacklevel=3,
        )


def rfm_summary(
    transactions,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    *,
    unit: str = defaults.UNIT,
    calibration_end=None,
    observation_end=None,
    date_format: str | None = None,
    epoch_unit: str | None = None,
    engine: str = "auto",
    duckdb_config: Mapping[str, Any] | None = None,
    include_first_transaction: bool = False,
    periods: str = "continuous",
    regularity: bool = False,
) -> pd.DataFrame:
    """Summarise a transaction log into one row per customer.

    Purchases are counted by day: several transactions of one customer on one day are one
    purchase whose amount is their sum. Times are measured continuously from each customer's
    first purchase (day resolution), in ``unit`` (days / 7 for weeks, days * 24 for hours; months and years use the
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

    The time unit and the window are kept in ``result.attrs``: ``unit``, ``calibration_end``,
    ``observation_end`` (None without a holdout), ``first_transaction`` and
    ``last_transaction`` (the days the log covers), and ``n_excluded``. Models check the unit
    against the one they were fitted in; ``attrs`` survive masks, ``.loc``, ``.iloc``,
    ``.copy()`` and Parquet files, but not ``merge``/``join``, a ``concat`` of summaries with
    different attrs, or CSV files: restore them with :func:`clvmodels.with_unit`.

    Ends after the last transaction are accepted (an export is often taken days after the
    last purchase): the days in between count as days without purchases. When an end runs
    past the last transaction by more than the largest of 7 days, the longest stretch without
    any transaction inside the log, and a tenth of the log's span, a
    :class:`~clvmodels.errors.DataWarning` says so.

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
    unit : {"H", "D", "W", "M", "Y"}
        Time unit of ``recency``, ``T`` and ``duration_holdout``; default weeks
        (:data:`clvmodels.defaults.UNIT`, the unit of the command line too).
    calibration_end : date-like, optional
        Last day of the calibration period; defaults to the last transaction date. Customers
        first seen after it are left out (with a :class:`~clvmodels.errors.DataWarning`
        giving their count).
    observation_end : date-like, optional
        Last day of the holdout period; adds the holdout columns.
    date_format : str, optional
        ``strftime`` layout of the dates (``"%d/%m/%Y"``; ``"%Y%m%d"`` also reads integer
        YYYYMMDD columns). Date columns of bare numbers are refused without it or ``epoch_unit``.
    epoch_unit : {"D", "s", "ms", "us", "ns"}, optional
        The date column holds numbers of these units since 1970-01-01 UTC.
    engine : {"auto", "pandas", "duckdb"}
        Who computes the summary; the result is the same. ``"auto"``: DuckDB for files,
        relations, Arrow tables and Polars frames, pandas for a DataFrame. ``"duckdb"`` also takes
        a DataFrame (useful when the grouping would not fit in memory twice).
    duckdb_config : mapping, optional
        DuckDB settings for the DuckDB engine, e.g. ``{"memory_limit": "4GB", "threads": 2,
        "temp_directory": "/scratch"}``; it spills to ``temp_directory`` past the memory limit.
    include_first_transaction : bool
        lifetimes' option of that name: ``frequency`` counts every purchase day of the
        calibration period (the first too) and ``monetary_value`` is the mean of all of them;
        ``recency`` and ``T`` and the holdout columns are unchanged. Such a summary describes
        customers but is not what the models read (their ``frequency`` is repeat purchases), so
        models refuse it (``attrs["include_first_transaction"]`` is True).
    periods : {"continuous", "calendar"}
        ``"continuous"`` (default): times in ``unit`` from each customer's first purchase day,
        as above. ``"calendar"``: lifetimes' ``freq=`` summaries: each purchase day is moved to
        the start of its calendar period of ``unit`` (weeks start on Monday; months, years
        on their first day), purchases are counted per period, and ``recency``, ``T`` and
        ``duration_holdout`` are whole periods between period starts. The calibration end
        moves back to the start of its period too, so the days of its last, partial period add
        no time to ``T`` (their purchases still count); purchases after ``calibration_end`` stay out of the calibration
        columns (as in lifetimes' ``calibration_and_holdout_data``). ``attrs["periods"]`` is
        ``"calendar"``.
    regularity : bool
        Add ``litt``, the sum of the logs of the customer's inter-purchase times in the
        calibration period (in ``unit``; 0 when x = 0): with ``frequency`` and ``recency`` the
        sufficient statistics of Erlang-k and gamma inter-purchase times, which the models of
        purchase regularity read (:class:`clvmodels.ModifiedBetaGeoCNBD`,
        :class:`clvmodels.ParetoGGG`). Inter-purchase times are at least a day (or a period),
        so the logs are finite.

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
    >>> rfm_summary(tx, "id", "day", unit="W", calibration_end="2024-01-17", periods="calendar")  # Mondays
        frequency  recency    T
    id
    1         1.0      2.0  2.0
    2         0.0      0.0  1.0
    >>> rfm_summary(tx, "id", "day", unit="D", calibration_end="2024-01-15", regularity=True)["litt"].round(4).tolist()
    [2.6391, 0.0]
    """
    if not isinstance(regularity, (bool, np.bool_)):
        raise TypeError(f"The 'regularity' parameter must be True or False. Got {regularity!r} instead.")
    if periods not in ("continuous", "calendar"):
        raise ValueError(f"The 'periods' parameter of rfm_summary must be 'continuous' or 'calendar'. Got {periods!r} "
                         f"instead.")
    if not isinstance(include_first_transaction, (bool, np.bool_)):
        raise TypeError(f"The 'include_first_transaction' parameter must be True or False. Got "
                        f"{include_first_transaction!r} instead.")
    if engine not in ("auto", "pandas", "duckdb"):
        raise ValueError(f"The 'engine' parameter of rfm_summary must be 'auto', 'pandas' or 'duckdb'. Got {engine!r} instead.")
    if engine == "duckdb" or (engine == "auto" and is_duckdb_source(transactions)):
        return rfm_summary_duckdb(transactions, customer_col, date_col, amount_col, unit=unit,
                                  calibration_end=calibration_end, observation_end=observation_end,
                                  date_format=date_format, epoch_unit=epoch_unit,
                                  duckdb_config=duckdb_config, include_first_transaction=include_first_transaction,
                                  periods=periods, regularity=regularity)
    if not isinstance(transactions, pd.DataFrame):
        raise TypeError(f"Expected a DataFrame of transactions. Got {type(transactions).__name__} instead.")
    unit = normalize_unit(unit)
    needed = [c for c in (customer_col, date_col, amount_col) if c is not None]
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise missing_columns_error(missing, transactions.columns)
    for c in dict.fromkeys(needed):
        if int((transactions.columns == c).sum()) > 1:
            raise ClvDataError(
                f"The transaction log has {int((transactions.columns == c).sum())} columns named {c!r}; rename or "
                f"drop all but one of them (e.g. transactions.loc[:, ~transactions.columns.duplicated()])."
            )
    if len(transactions) == 0:
        raise empty_log_error()

    ids = transactions[customer_col]
    bad = ids.isna().to_numpy()
    if bad.any():
        raise missing_ids_error(customer_col, int(bad.sum()), transactions.index[bad][:5].tolist())
    dates = parse_dates(transactions[date_col], date_col, date_format=date_format, epoch_unit=epoch_unit, ids=ids)
    frame = pd.DataFrame({"customer": ids.to_numpy(), "day": dates.dt.floor("D").to_numpy()})
    if amount_col is not None:
        raw = transactions[amount_col]
        amount = pd.to_numeric(raw, errors="coerce")
        if pd.api.types.is_bool_dtype(raw):
            raise boolean_amounts_error(amount_col)
        bad = (~np.isfinite(amount.to_numpy(dtype=float, na_value=np.nan)) | (amount < 0).to_numpy()).astype(bool)
        if bad.any():
            raise bad_amounts_error(amount_col, int(bad.sum()), _where(transactions.index, ids, bad),
                                    raw[bad].head(3).tolist())
        frame["amount"] = amount.to_numpy(dtype=float)

    first_day, last_day = frame["day"].min(), frame["day"].max()
    cal_end = to_day(calibration_end, "calibration_end")
    obs_end = to_day(observation_end, "observation_end")
    if cal_end is None:
        cal_end = last_day if obs_end is None else None
        if cal_end is None:
            raise ClvDataError("Pass calibration_end together with observation_end: the holdout starts the day after it.")
    if cal_end < first_day:
        raise ClvDataError(
            f"calibration_end {cal_end.date()} is before the first purchase in the log ({first_day.date()}): "
            f"no customer would be in the calibration period. Use a later calibration_end."
        )
    if obs_end is not None and obs_end < cal_end:
        raise ClvDataError(
            f"observation_end {obs_end.date()} is before calibration_end {cal_end.date()}; the holdout period "
            f"follows the calibration period. Swap them or move observation_end later."
        )
    # one rule for both ends: after the data is fine, implausibly far after it is flagged
    latest = ("observation_end", obs_end) if obs_end is not None else ("calibration_end", cal_end)
    _warn_past_data(latest[0], latest[1], last_day, frame["day"])

    out, later = summarise_days(frame, cal_end, obs_end, unit, include_first=bool(include_first_transaction),
                                calendar=periods == "calendar", regularity=bool(regularity))
    n_excluded = len(later)
    if n_excluded:
        warnings.warn(excluded_message(n_excluded, cal_end, later[:5].tolist()), DataWarning, stacklevel=2)

    out.index.name = customer_col
    out.attrs.update(
        unit=unit,
        calibration_end=str(cal_end.date()),
        observation_end=None if obs_end is None else str(obs_end.date()),
        first_transaction=str(first_day.date()),
        last_transaction=str(last_day.date()),
        n_excluded=int(n_excluded),
        **summary_options(include_first_transaction, periods),
    )
    return out


def summary_options(include_first_transaction: bool, periods: str) -> dict:
    """The ``attrs`` entries of the non-default summary options (none for a default summary).

    Examples
    --------
    >>> summary_options(False, "calendar")
    {'periods': 'calendar'}
    """
    out: dict = {}
    if periods != "continuous":
        out["periods"] = periods
    if include_first_transaction:
        out["include_first_transaction"] = True
    return out


def excluded_message(n_excluded: int, cal_end: pd.Timestamp, first: list) -> str:
    """The warning about customers first seen after the calibration end (every engine says this)."""
    return (f"Left out {n_excluded} customer{'s' if n_excluded != 1 else ''} first seen after calibration_end "
            f"{cal_end.date()} (first: {', '.join(map(repr, first))}): there is no calibration "
            f"history to fit on. Move calibration_end later to include them.")


#: pandas period of each calendar unit (weeks start on Monday, as in lifetimes' ``freq="W"``).
_PANDAS_PERIOD = {"W": "W-SUN", "M": "M", "Y": "Y"}


def period_start(day, unit: str):
    """The first day of the calendar period of ``unit`` holding ``day`` (a Timestamp or a Series).

    Weeks start on Monday; months and years on their first day; days (and hours, at day
    resolution) are their own periods.

    Examples
    --------
    >>> period_start(pd.Timestamp("1997-09-30"), "W"), period_start(pd.Timestamp("1997-09-30"), "M")
    (Timestamp('1997-09-29 00:00:00'), Timestamp('1997-09-01 00:00:00'))
    """
    if unit in ("D", "H"):
        return day
    if isinstance(day, pd.Series):
        return day.dt.to_period(_PANDAS_PERIOD[unit]).dt.start_time.astype(day.dtype)
    return day.to_period(_PANDAS_PERIOD[unit]).start_time


def periods_between(start, end, unit: str):
    """Whole calendar periods of ``unit`` from period start ``start`` to period start ``end``.

    Months and years are counted on the calendar (October 1 to November 1 is one month, 31
    days); days, weeks and hours have fixed lengths.

    Examples
    --------
    >>> periods_between(pd.Timestamp("1997-01-01"), pd.Timestamp("1997-03-01"), "M")
    2.0
    """
    if unit in ("M", "Y"):
        a = start.dt if isinstance(start, pd.Series) else start
        b = end.dt if isinstance(end, pd.Series) else end
        n = (b.year - a.year) * (12 if unit == "M" else 1) + ((b.month - a.month) if unit == "M" else 0)
        return n.astype(float) if isinstance(n, pd.Series) else float(n)
    return ((end - start) / pd.Timedelta(days=1)) / UNIT_DAYS[unit]


def summarise_days(frame: pd.DataFrame, cal_end: pd.Timestamp, obs_end: pd.Timestamp | None,
                   unit: str, *, include_first: bool = False, calendar: bool = False,
                   regularity: bool = False) -> tuple[pd.DataFrame, pd.Index]:
    """The per-customer summary of checked transactions, the definitions every engine shares.

    ``frame`` has the columns ``customer``, ``day`` (datetime64, midnight) and optionally
    ``amount`` (finite, non-negative); the window ends are already checked. Any set of whole
    customers can be summarised on its own (the Spark engine runs this on each partition of a
    log partitioned by customer), so nothing here looks across customers.

    ``include_first`` counts the first purchase in ``frequency`` and ``monetary_value``;
    ``calendar`` counts purchase periods instead of purchase days: each side of
    ``cal_end`` is cut first, then days are moved to the start of their calendar period and
    times are whole periods between period starts (see :func:`clvmodels.rfm_summary`);
    ``regularity`` adds ``litt``, the sum of the log inter-purchase times of the calibration
    period.

    Returns
    -------
    (DataFrame, Index)
        The summary indexed by customer (sorted), without index name or ``attrs``; and the
        customers first seen after ``cal_end`` (sorted), who are left out.

    Examples
    --------
    >>> f = pd.DataFrame({"customer": [1, 1, 2], "day": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-20"])})
    >>> out, later = summarise_days(f, pd.Timestamp("2024-01-15"), None, "W")
    >>> out.to_dict("list"), later.tolist()
    ({'frequency': [1.0], 'recency': [1.0], 'T': [2.0]}, [2])
    """
    with_amount = "amount" in frame.columns

    def one_per_slot(rows: pd.DataFrame) -> pd.DataFrame:
        # one purchase per customer and day (or period), amounts summed; sorted by customer, then day
        if calendar:
            rows = rows.assign(day=period_start(rows["day"], unit))
        grouped = rows.groupby(["customer", "day"], sort=True)
        return (grouped["amount"].sum() if with_amount else grouped.size()).reset_index()

    days = one_per_slot(frame) if not calendar else None
    in_cal = ((days if days is not None else frame)["day"] <= cal_end).to_numpy()
    cal = days[in_cal] if days is not None else one_per_slot(frame[in_cal])
    g = cal.groupby("customer", sort=True)
    first = g["day"].min()
    scale = UNIT_DAYS[unit]
    day = pd.Timedelta(days=1)
    out = pd.DataFrame(index=first.index)
    n_slots = g["day"].size()
    out["frequency"] = (n_slots - (0 if include_first else 1)).astype(float)
    if calendar:
        cal_start = period_start(cal_end, unit)
        out["recency"] = periods_between(first, g["day"].max(), unit).to_numpy(dtype=float)
        out["T"] = periods_between(first, cal_start, unit).to_numpy(dtype=float)
    else:
        out["recency"] = ((g["day"].max() - first) / day).to_numpy(dtype=float) / scale
        out["T"] = ((cal_end - first) / day).to_numpy(dtype=float) / scale
    if with_amount:
        if include_first:
            out["monetary_value"] = g["amount"].sum() / n_slots
        else:
            repeat_total = g["amount"].sum() - g["amount"].first()
            out["monetary_value"] = (repeat_total / out["frequency"].clip(lower=1)).where(out["frequency"] > 0, 0.0)
    if regularity:
        # cal is sorted by customer, then day: each row's gap is to the customer's previous purchase
        previous = g["day"].shift()
        has_gap = previous.notna().to_numpy()
        starts, ends = previous[has_gap], cal["day"][has_gap]
        if calendar:
            gaps = np.asarray(periods_between(starts, ends, unit), dtype=float)
        else:
            gaps = ((ends - starts) / day).to_numpy(dtype=float) / scale
        logs = pd.Series(np.log(gaps), index=cal["customer"][has_gap].to_numpy())
        out["litt"] = logs.groupby(level=0).sum().reindex(out.index, fill_value=0.0)

    all_customers = frame["customer"].unique() if calendar else days["customer"].unique()
    later = pd.Index(all_customers).difference(out.index) if len(all_customers) > len(out) else pd.Index([])

    if obs_end is not None:
        source = days if days is not None else frame
        hold = source[(~in_cal) & (source["day"] <= obs_end).to_numpy()]
        hold = hold[hold["customer"].isin(out.index)]
        if calendar:
            hold = one_per_slot(hold)
        hg = hold.groupby("customer")
        out["frequency_holdout"] = hg["day"].size().reindex(out.index, fill_value=0).astype(float)
        if with_amount:
            out["monetary_value_holdout"] = hg["amount"].mean().reindex(out.index, fill_value=0.0)
        if calendar:
            out["duration_holdout"] = periods_between(period_start(cal_end, unit), period_start(obs_end, unit), unit)
        else:
            out["duration_holdout"] = ((obs_end - cal_end) / day) / scale

    return out, later
