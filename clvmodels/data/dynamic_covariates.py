"""Time-varying covariates: a long table on a regular calendar grid, checked and turned into
the per-customer period arrays of the extended Pareto/NBD
(:mod:`clvmodels.models.pareto_nbd_dyncov`).

The table has one row per (customer, period): ``customer_id``, the period's start date and the
covariate columns, the value holding for the whole period ``[start, start + width)``. The grid
is regular with a fixed width in days (weekly: 7 days); calendar months are not a fixed width
and are refused. Every customer of the log needs a row for each period from the one holding
her first purchase to the one holding the calibration end, and over the prediction horizon
(``calibration_end``, ``prediction_end``].

Purchases are counted by day as in :func:`clvmodels.rfm_summary` (several transactions on one
day are one purchase), so ``frequency``, ``recency`` and ``T`` equal its summary's.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clvmodels.data.dates import to_day
from clvmodels.errors import ClvDataError, DataWarning
from clvmodels.units import UNIT_DAYS, normalize_unit

__all__ = ["DynamicCovariates", "dynamic_covariates"]


@dataclass(frozen=True, eq=False)
class DynamicCovariates:
    """Per-customer period arrays of time-varying covariates (built by :func:`dynamic_covariates`).

    Attributes
    ----------
    customers : Index
        Customer ids, in row order.
    columns : tuple of str
        Covariate columns.
    unit : str
        Time unit of every length and of ``recency``/``T``.
    period_starts, future_starts : DatetimeIndex
        Starts of the K calibration periods and the H prediction periods.
    width : float
        The periods' width in ``unit``.
    frequency, recency, T : ndarray (n,)
        The customer's repeat purchases, last purchase time and observation time.
    start : ndarray (n,)
        The first purchase's time since the start of the first calibration period.
    length, after : ndarray (n, K)
        Time of each calibration period inside (0, T] and inside (t_x, T] (0 outside: the mask).
    z : ndarray (n, K, C)
        Covariates per calibration period (0 where the period lies outside the customer's window).
    z_purchases : ndarray (n, C)
        Covariates summed over the customer's repeat purchases (each at its period).
    future_length : ndarray (H,)
        Time of each prediction period inside (calibration_end, prediction_end].
    z_future : ndarray (n, H, C)
        Covariates per prediction period.
    """

    customers: pd.Index
    columns: tuple[str, ...]
    unit: str
    period_starts: pd.DatetimeIndex
    future_starts: pd.DatetimeIndex
    calibration_end: pd.Timestamp
    width: float
    start: np.ndarray
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    length: np.ndarray
    after: np.ndarray
    z: np.ndarray
    z_purchases: np.ndarray
    future_length: np.ndarray
    z_future: np.ndarray

    @property
    def n_periods(self) -> int:
        return int(self.length.shape[1])

    def data(self) -> dict[str, np.ndarray]:
        """The 1-D columns of :func:`clvmodels.models.pareto_nbd_dyncov.dyncov_spec` (one row per customer)."""
        out = {"frequency": self.frequency, "recency": self.recency, "T": self.T, "start": self.start}
        for j, c in enumerate(self.columns):
            for k in range(self.n_periods):
                out[f"{c}:{k}"] = self.z[:, k, j]
            out[f"{c}:purchases"] = self.z_purchases[:, j]
        return out

    def summary(self) -> pd.DataFrame:
        """The customers' (frequency, recency, T), as :func:`clvmodels.rfm_summary` gives them."""
        return pd.DataFrame({"frequency": self.frequency, "recency": self.recency, "T": self.T},
                            index=self.customers)


def _first(values, n=5) -> str:
    values = list(values)
    return ", ".join(map(str, values[:n])) + (f" (and {len(values) - n} more)" if len(values) > n else "")


def dynamic_covariates(
    transactions: pd.DataFrame,
    table: pd.DataFrame,
    *,
    calibration_end,
    prediction_end=None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    period_col: str = "period_start",
    columns: Sequence[str] | None = None,
    unit: str = "W",
) -> DynamicCovariates:
    """Check a long table of time-varying covariates and build the model's per-customer arrays.

    Parameters
    ----------
    transactions : DataFrame
        The transaction log (``customer_col``, ``date_col``); never modified.
    table : DataFrame
        One row per (customer, period): ``customer_col``, ``period_col`` (the period's start
        date) and numeric covariate columns; never modified.
    calibration_end, prediction_end : date
        End of the calibration period (inclusive day, as in :func:`clvmodels.rfm_summary`) and
        of the prediction horizon (None: no prediction periods).
    columns : sequence of str, optional
        Covariate columns (default: every other column of ``table``).
    unit : str
        Time unit of the model ("D", "W", ...).

    Returns
    -------
    DynamicCovariates

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "date": ["2024-01-01", "2024-01-10", "2024-01-03"]})
    >>> weeks = pd.date_range("2024-01-01", periods=5, freq="7D")
    >>> table = pd.DataFrame({"customer_id": [1] * 5 + [2] * 5, "period_start": list(weeks) * 2,
    ...                       "contact": [0, 1, 1, 0, 0, 0, 0, 1, 1, 1]})
    >>> d = dynamic_covariates(tx, table, calibration_end="2024-01-22", prediction_end="2024-02-05")
    >>> d.length.round(3).tolist(), d.z_purchases.tolist(), d.future_length.tolist()
    ([[1.0, 1.0, 1.0], [0.714, 1.0, 1.0]], [[1.0], [0.0]], [1.0, 1.0])
    >>> dynamic_covariates(tx, table.iloc[1:], calibration_end="2024-01-22")
    Traceback (most recent call last):
    ...
    clvmodels.errors.ClvDataError: The covariate table misses 1 (customer, period) rows the model needs: customer 1 has no row for the period starting 2024-01-01. Every customer needs a row for each period from the one holding her first purchase to the one holding calibration_end (2024-01-22) and over the prediction horizon; add the missing rows.
    """
    unit = normalize_unit(unit)
    unit_days = UNIT_DAYS[unit]
    cal_end = to_day(calibration_end, "calibration_end")
    pred_end = to_day(prediction_end, "prediction_end") if prediction_end is not None else None
    if pred_end is not None and pred_end <= cal_end:
        raise ClvDataError(f"prediction_end ({pred_end.date()}) must come after calibration_end ({cal_end.date()}).")
    for name, frame, needed in (("transaction log", transactions, (customer_col, date_col)),
                                ("covariate table", table, (customer_col, period_col))):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ClvDataError(f"The {name} has no column {', '.join(map(repr, missing))}; its columns are "
                               f"{', '.join(map(repr, frame.columns))}. Pass the right names as customer_col=, "
                               f"date_col=, period_col=.")
    if columns is None:
        columns = [c for c in table.columns if c not in (customer_col, period_col)]
    columns = tuple(columns)
    if not columns:
        raise ClvDataError("The covariate table has no covariate columns besides the customer and period columns.")
    absent = [c for c in columns if c not in table.columns]
    if absent:
        raise ClvDataError(f"The covariate table has no column {', '.join(map(repr, absent))}.")

    # the log: purchase days up to the calibration end, as rfm_summary counts them
    days = pd.to_datetime(transactions[date_col]).dt.normalize()
    log = pd.DataFrame({"c": transactions[customer_col].to_numpy(), "d": days.to_numpy()})
    log = log[log["d"] <= cal_end].drop_duplicates().sort_values(["c", "d"])
    if log.empty:
        raise ClvDataError(f"No transaction falls on or before calibration_end ({cal_end.date()}).")
    first = log.groupby("c", sort=True)["d"].min()
    last = log.groupby("c", sort=True)["d"].max()
    customers = first.index

    # the table: numeric, no NaN, one row per (customer, period), a regular grid
    tab = table[[customer_col, period_col, *columns]].copy()
    tab[period_col] = pd.to_datetime(tab[period_col]).astype("datetime64[ns]")
    for c in columns:
        if tab[c].dtype == bool:
            tab[c] = tab[c].astype(float)
        if not pd.api.types.is_numeric_dtype(tab[c]):
            raise ClvDataError(f"Covariate column '{c}' is not numeric (dtype {tab[c].dtype}); encode it as "
                               f"numbers (one 0/1 column per level but one) first.")
        bad = tab[~np.isfinite(tab[c].to_numpy(dtype=float))]
        if len(bad):
            rows = [f"customer {r[customer_col]} period {pd.Timestamp(r[period_col]).date()}" for _, r in bad.head(5).iterrows()]
            raise ClvDataError(f"Covariate column '{c}' has {len(bad)} missing or infinite values ({_first(rows)}). "
                               f"Fill them (the value that held in that period) or drop the customers.")
    dup = tab.duplicated([customer_col, period_col], keep=False)
    if dup.any():
        r = tab[dup].iloc[0]
        raise ClvDataError(f"The covariate table has {int(dup.sum())} rows for repeated (customer, period) pairs, "
                           f"e.g. customer {r[customer_col]} period {pd.Timestamp(r[period_col]).date()}; give each "
                           f"period of a customer one row.")
    starts = pd.DatetimeIndex(np.sort(tab[period_col].unique())).as_unit("ns")
    if len(starts) < 2:
        raise ClvDataError("The covariate table has a single period start; the grid's width cannot be read from it. "
                           "Give the periods over the calibration and prediction period.")
    if np.any(starts != starts.normalize()):
        raise ClvDataError("Period starts must be whole days (no time of day).")
    # the grid's width: the commonest step between period starts (a stray start is then the odd one out)
    steps, counts = np.unique(np.diff(starts.asi8), return_counts=True)
    width = pd.Timedelta(int(steps[np.argmax(counts)]), "ns")
    off = (starts - starts[0]) % width != pd.Timedelta(0)
    if off.any():
        raise ClvDataError(f"The period starts are not on a regular grid of {width.days} days from {starts[0].date()}: "
                           f"{_first(d.date() for d in starts[off])} fall between grid points. Give every row the start "
                           f"of its period on one regular grid (weekly: the same weekday every week).")
    # the grid: from the period holding the earliest first purchase to the calibration end,
    # then to the prediction end
    g0 = starts[0]
    if first.min() < g0:
        g0 = g0 - width * int(np.ceil((g0 - first.min()) / width))  # reported as missing rows below
    k_first = ((first - g0) // width).astype(int)
    k_end = int((cal_end - g0 - pd.Timedelta(1, "ns")) // width)  # the period holding (.., cal_end]
    k_cal0 = int(k_first.min())
    period_starts = pd.DatetimeIndex([g0 + width * k for k in range(k_cal0, k_end + 1)]).as_unit("ns")
    future_starts = pd.DatetimeIndex([]).as_unit("ns")
    if pred_end is not None:
        k_pred = int((pred_end - g0 - pd.Timedelta(1, "ns")) // width)
        future_starts = pd.DatetimeIndex([g0 + width * k for k in range(k_end if (cal_end - g0) % width else k_end + 1,
                                                                         k_pred + 1)]).as_unit("ns")

    # coverage: every needed (customer, period) present
    wide = {c: tab.pivot(index=customer_col, columns=period_col, values=c) for c in columns}
    # the period holding calibration_end may also start the horizon: count each period once
    all_starts = period_starts.union(future_starts)
    need = np.zeros((len(customers), len(all_starts)), dtype=bool)
    need[:, all_starts.get_indexer(future_starts)] = True
    need[:, all_starts.get_indexer(period_starts)] |= (
        np.arange(len(period_starts))[None, :] >= (k_first.to_numpy() - k_cal0)[:, None])
    hole = need & ~_present(wide[columns[0]], customers, all_starts)
    if hole.any():
        rows = [f"customer {customers[i]} has no row for the period starting {all_starts[k].date()}"
                for i, k in zip(*np.nonzero(hole))]
        raise ClvDataError(f"The covariate table misses {int(hole.sum())} (customer, period) rows the model needs: "
                           f"{_first(rows, 3)}. Every customer needs a row for each period from the one holding her "
                           f"first purchase to the one holding calibration_end ({cal_end.date()}) and over the "
                           f"prediction horizon; add the missing rows.")
    extra = sorted(set(tab[customer_col]) - set(customers), key=str)
    if extra:
        warnings.warn(f"The covariate table has {len(extra)} customers without a purchase by calibration_end "
                      f"({_first(extra)}); they are left out.", DataWarning, stacklevel=2)

    # arrays, in the model's time unit; a period [s, s + width) meets (a, b] over max(0, min(b, s+w) - max(a, s))
    def overlap(lo, hi, grid):
        s = grid.asi8[None, :].astype(float)
        e = s + width.value
        return np.clip(np.minimum(hi[:, None], e) - np.maximum(lo[:, None], s), 0.0, None) / (unit_days * 86400e9)

    first_ns = first.to_numpy().astype("datetime64[ns]").astype(np.int64).astype(float)
    last_ns = last.to_numpy().astype("datetime64[ns]").astype(np.int64).astype(float)
    end_ns = np.full(len(customers), float(cal_end.value))
    length = overlap(first_ns, end_ns, period_starts)
    after = overlap(last_ns, end_ns, period_starts)
    z = np.stack([wide[c].reindex(index=customers, columns=period_starts).to_numpy(dtype=float) for c in columns], -1)
    z = np.where(np.isnan(z), 0.0, z)
    if len(future_starts):
        future_length = overlap(np.array([float(cal_end.value)]), np.array([float(pred_end.value)]), future_starts)[0]
        z_future = np.stack([wide[c].reindex(index=customers, columns=future_starts).to_numpy(dtype=float)
                             for c in columns], -1)
    else:
        future_length, z_future = np.zeros(0), np.zeros((len(customers), 0, len(columns)))
    # each repeat purchase's covariates: those of the period holding its day
    repeat = log[log["d"] > log["c"].map(first)]
    k_buy = ((repeat["d"] - period_starts[0]) // width).astype(int).to_numpy()
    row = customers.get_indexer(repeat["c"])
    z_purchases = np.zeros((len(customers), len(columns)))
    np.add.at(z_purchases, row, z[row, k_buy, :])
    frequency = np.bincount(row, minlength=len(customers)).astype(float)
    recency = ((last - first).dt.days.to_numpy() / unit_days).astype(float)
    T = ((cal_end - first).dt.days.to_numpy() / unit_days).astype(float)
    start = ((first - period_starts[0]).dt.days.to_numpy() / unit_days).astype(float)
    return DynamicCovariates(customers=customers, columns=columns, unit=unit, period_starts=period_starts,
                             future_starts=future_starts, calibration_end=cal_end, width=width.days / unit_days,
                             start=start, frequency=frequency,
                             recency=recency, T=T, length=length, after=after, z=z, z_purchases=z_purchases,
                             future_length=future_length, z_future=z_future)


def _present(wide: pd.DataFrame, customers: pd.Index, starts: pd.DatetimeIndex) -> np.ndarray:
    """Which (customer, period) cells of ``wide`` hold a row."""
    return wide.reindex(index=customers, columns=starts).notna().to_numpy()
