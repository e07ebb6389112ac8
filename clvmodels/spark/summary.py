"""The Spark engine of the customer summary: :func:`rfm_summary` on a Spark DataFrame.

The log is checked and its dates parsed with the pandas engine's rules, then partitioned by
customer; each partition is summarised by :func:`clvmodels.data.summary.summarise_days`, the
definitions the pandas and DuckDB engines use, so the three agree exactly. Spark rows have no
order and no labels, so where the other engines name row labels, the messages here name the
offending rows' customers and values.

The summary stays a (lazy) Spark DataFrame; its window (unit, calibration and observation
ends, first and last transaction, customers left out) travels in the metadata of its
``frequency`` column, where :func:`summary_attrs` reads it and :func:`to_pandas` restores
``attrs``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clvmodels import defaults
from clvmodels.data import summary as pandas_engine
from clvmodels.data.dates import parse_dates, unparsable_dates_error
from clvmodels.errors import ClvDataError, DataWarning
from clvmodels.units import normalize_unit

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["rfm_summary", "to_pandas", "summary_attrs"]

_META_KEY = "clvmodels_summary"
_EPOCH = pd.Timestamp("1970-01-01")
_NUMERIC = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType, T.DecimalType)


def _day_numbers(days: pd.Series) -> pd.Series:
    """Days since 1970-01-01 (nullable integers) of parsed dates."""
    return ((days.dt.floor("D") - _EPOCH) // pd.Timedelta(days=1)).astype("Int64")


def _where(n: int, customers: list) -> str:
    return f"{n} row{'s' if n != 1 else ''} of customers {', '.join(repr(c) for c in customers)}"


def _check_spark_frame(sdf) -> None:
    if type(sdf).__module__.split(".")[0] != "pyspark" or not hasattr(sdf, "mapInPandas"):
        raise TypeError(f"Expected a Spark DataFrame of transactions. Got {type(sdf).__name__} instead; "
                        f"for a pandas DataFrame or files use clvmodels.rfm_summary.")


def _day_column(sdf, date_col: str, date_format, epoch_unit):
    """The purchase day of each row as days since 1970-01-01 (NULL where missing or unparsable)."""
    dtype = sdf.schema[date_col].dataType
    col = F.col(date_col)
    epoch = F.lit("1970-01-01").cast("date")
    if isinstance(dtype, (T.DateType, T.TimestampType, T.TimestampNTZType)):
        # taken as they are, as parse_dates takes datetimes (it still checks the two arguments);
        # a TIMESTAMP is an instant: its day is the one on the session time zone's calendar
        parse_dates(pd.Series([], dtype="datetime64[ns]"), date_col, date_format=date_format, epoch_unit=epoch_unit)
        return sdf, F.datediff(F.to_date(col), epoch)
    # text and numbers: the pandas rules applied to the distinct raw values (small), joined back
    raw = sdf.select(col.alias("raw")).distinct().toPandas()["raw"]
    raw = raw.set_axis(pd.Index([repr(v) for v in raw]))  # no row labels in Spark: label by value
    parsed = parse_dates(raw, date_col, date_format=date_format, epoch_unit=epoch_unit, keep_unparsable=True)
    mapping = pd.DataFrame({"_clv_raw": raw.to_numpy(), "_clv_day": _day_numbers(parsed).to_numpy()})
    mapping = mapping[mapping["_clv_raw"].notna()]
    schema = T.StructType([T.StructField("_clv_raw", dtype), T.StructField("_clv_day", T.LongType())])
    rows = [(r.item() if hasattr(r, "item") else r, None if pd.isna(d) else int(d))
            for r, d in zip(mapping["_clv_raw"], mapping["_clv_day"])]
    day_map = sdf.sparkSession.createDataFrame(rows, schema)
    joined = sdf.join(F.broadcast(day_map), col.eqNullSafe(F.col("_clv_raw")), "left")
    return joined, F.col("_clv_day")


def _amount_column(sdf, amount_col: str):
    dtype = sdf.schema[amount_col].dataType
    if isinstance(dtype, T.BooleanType):
        raise pandas_engine.boolean_amounts_error(amount_col)
    col = F.col(amount_col)
    if isinstance(dtype, T.StringType):
        return F.trim(col).try_cast("double")
    if isinstance(dtype, _NUMERIC):
        return col.cast("double")
    return col.try_cast("double")


def _missing_id(sdf, customer_col: str):
    col = F.col(customer_col)
    if isinstance(sdf.schema[customer_col].dataType, (T.FloatType, T.DoubleType)):
        return col.isNull() | F.isnan(col)
    return col.isNull()


def _first_offenders(sdf, bad, customer_col: str, value_col: str | None):
    rows = sdf.filter(bad).select(customer_col, *([value_col] if value_col else [])).limit(5).collect()
    customers = list(dict.fromkeys(r[0] for r in rows))
    values = [r[1] for r in rows[:3]] if value_col else []
    return customers, values


def arrow_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with text columns as Python strings: PySpark's Arrow writer takes no chunked arrays.

    Examples
    --------
    >>> arrow_safe(pd.DataFrame({"c": pd.Series(["a"], dtype="str")}))["c"].dtype
    dtype('O')
    """
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c]) and frame[c].dtype != object]
    return frame.astype({c: object for c in text}) if text else frame


def _partition_summary(cal_end: pd.Timestamp, obs_end: pd.Timestamp | None, unit: str, customer_col: str,
                       columns: list[str], options: dict):
    def summarise(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        # a partition holds whole customers (the log is partitioned by customer)
        parts = list(batches)
        if not parts or sum(len(p) for p in parts) == 0:
            return
        frame = pd.concat(parts, ignore_index=True)
        frame["day"] = _EPOCH + pd.to_timedelta(frame["day"].to_numpy(dtype=np.int64), unit="D")
        out, _ = pandas_engine.summarise_days(frame, cal_end, obs_end, unit, **options)
        out = out.rename_axis(customer_col).reset_index()
        yield arrow_safe(out[columns])

    return summarise


def rfm_summary(
    sdf: DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    *,
    unit: str = defaults.UNIT,
    calibration_end=None,
    observation_end=None,
    date_format: str | None = None,
    epoch_unit: str | None = None,
    partitions: int | None = None,
    include_first_transaction: bool = False,
    periods: str = "continuous",
    regularity: bool = False,
) -> DataFrame:
    """The customer summary of a Spark DataFrame of transactions, computed on the executors.

    The same definitions, columns and window rules as :func:`clvmodels.rfm_summary` (purchase
    days, times from each customer's first purchase in ``unit``, mean repeat spend, calibration
    and holdout periods), checked eagerly in one pass over the log; the summary itself is a
    lazy Spark DataFrame with the customer id as its first column.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        One row per transaction; never modified.
    customer_col, date_col, amount_col, unit, calibration_end, observation_end, date_format, epoch_unit, include_first_transaction, periods, regularity
        As in :func:`clvmodels.rfm_summary` (``periods="calendar"``: lifetimes' ``freq=``
        summaries in whole calendar periods; ``regularity=True`` adds ``litt``). Text and number dates are parsed by the pandas
        rules on their distinct values; ``DATE`` columns are taken as they are and
        ``TIMESTAMP`` columns on the calendar of ``spark.sql.session.timeZone``
        (``TIMESTAMP_NTZ``: the wall-clock day).
    partitions : int, optional
        Number of customer partitions the summary is computed in (default: the session's
        ``spark.sql.shuffle.partitions``). Each partition's transactions are held in one
        executor's memory at a time: raise it for logs with very many rows per executor.

    Returns
    -------
    pyspark.sql.DataFrame
        One row per customer: ``customer_col``, ``frequency``, ``recency``, ``T`` and, as the
        arguments ask, ``monetary_value``, ``litt``, ``frequency_holdout``, ``monetary_value_holdout``,
        ``duration_holdout``. :func:`summary_attrs` gives its window, :func:`to_pandas` the
        pandas summary.

    Examples
    --------
    >>> from pyspark.sql import SparkSession
    >>> spark = SparkSession.builder.master("local[1]").getOrCreate()  # doctest: +SKIP
    >>> tx = spark.createDataFrame([(1, "2024-01-01", 10.0), (1, "2024-01-15", 20.0), (2, "2024-01-08", 7.0)],
    ...                            "id long, day string, value double")  # doctest: +SKIP
    >>> s = rfm_summary(tx, "id", "day", "value", unit="W")  # doctest: +SKIP
    >>> to_pandas(s)  # doctest: +SKIP
        frequency  recency    T  monetary_value
    id
    1         1.0      2.0  2.0            20.0
    2         0.0      0.0  1.0             0.0
    """
    _check_spark_frame(sdf)
    # the same checks of the options as the pandas engine, before any Spark job runs
    if not isinstance(regularity, (bool, np.bool_)):
        raise TypeError(f"The 'regularity' parameter must be True or False. Got {regularity!r} instead.")
    if periods not in ("continuous", "calendar"):
        raise ValueError(f"The 'periods' parameter of rfm_summary must be 'continuous' or 'calendar'. Got {periods!r} "
                         f"instead.")
    if not isinstance(include_first_transaction, (bool, np.bool_)):
        raise TypeError(f"The 'include_first_transaction' parameter must be True or False. Got "
                        f"{include_first_transaction!r} instead.")
    options = dict(include_first=bool(include_first_transaction), calendar=periods == "calendar",
                   regularity=bool(regularity))
    unit = normalize_unit(unit)
    needed = [c for c in (customer_col, date_col, amount_col) if c is not None]
    missing = [c for c in needed if c not in sdf.columns]
    if missing:
        raise pandas_engine.missing_columns_error(missing, sdf.columns)
    for c in dict.fromkeys(needed):
        if sdf.columns.count(c) > 1:
            raise ClvDataError(f"The transaction log has {sdf.columns.count(c)} columns named {c!r}; rename or drop "
                               f"all but one of them.")

    log, day = _day_column(sdf, date_col, date_format, epoch_unit)
    amount = _amount_column(sdf, amount_col) if amount_col is not None else None
    no_id = _missing_id(sdf, customer_col)
    bad_amount = F.lit(False)
    if amount is not None:
        bad_amount = amount.isNull() | F.isnan(amount) | (F.abs(amount) == float("inf")) | (amount < 0)
    checks = log.agg(
        F.count(F.lit(1)).alias("n"),
        F.count_if(no_id).alias("no_id"),
        F.count_if(day.isNull()).alias("no_day"),
        F.count_if(bad_amount).alias("bad_amount"),
        F.collect_set(day).alias("days"),
    ).collect()[0]
    if checks["n"] == 0:
        raise pandas_engine.empty_log_error()
    if checks["no_id"]:
        shown = [str({k: v for k, v in r.asDict().items() if k != customer_col})
                 for r in sdf.filter(no_id).select(*needed).limit(5).collect()]
        raise pandas_engine.missing_ids_error(customer_col, checks["no_id"], shown)
    if checks["no_day"]:
        customers, values = _first_offenders(log, day.isNull(), customer_col, date_col)
        raise unparsable_dates_error(date_col, checks["no_day"], _where(checks["no_day"], customers), values)
    if checks["bad_amount"]:
        customers, values = _first_offenders(log, bad_amount, customer_col, amount_col)
        raise pandas_engine.bad_amounts_error(amount_col, checks["bad_amount"],
                                              _where(checks["bad_amount"], customers), values)

    # the window rules are the pandas engine's, applied to the log's distinct purchase days
    log_days = _EPOCH + pd.to_timedelta(np.sort(np.asarray(checks["days"], dtype=np.int64)), unit="D")
    probe = pd.DataFrame({"c": 0, "d": log_days})
    window = pandas_engine.rfm_summary(probe, "c", "d", unit=unit, calibration_end=calibration_end,
                                       observation_end=observation_end, engine="pandas",
                                       include_first_transaction=options["include_first"], periods=periods).attrs
    cal_end = pd.Timestamp(window["calibration_end"])
    obs_end = None if window["observation_end"] is None else pd.Timestamp(window["observation_end"])
    cal_day = int((cal_end - _EPOCH) // pd.Timedelta(days=1))

    rows = log.select(F.col(customer_col).alias("customer"), day.alias("day"),
                      *([amount.alias("amount")] if amount is not None else []))
    n_excluded = 0
    if cal_day < int(np.max(checks["days"])):
        later = rows.groupBy("customer").agg(F.min("day").alias("first")).filter(F.col("first") > cal_day)
        n_excluded = later.count()
        if n_excluded:
            first = [r[0] for r in later.orderBy("customer").limit(5).collect()]
            warnings.warn(pandas_engine.excluded_message(n_excluded, cal_end, first), DataWarning, stacklevel=2)

    id_type = sdf.schema[customer_col].dataType
    columns = [customer_col, "frequency", "recency", "T"]
    if amount is not None:
        columns.append("monetary_value")
    if options["regularity"]:
        columns.append("litt")
    if obs_end is not None:
        columns += ["frequency_holdout"] + (["monetary_value_holdout"] if amount is not None else []) + ["duration_holdout"]
    schema = T.StructType([T.StructField(customer_col, id_type, False)]
                          + [T.StructField(c, T.DoubleType(), False) for c in columns[1:]])
    n_parts = int(partitions) if partitions is not None else int(sdf.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    if n_parts < 1:
        raise ValueError(f"partitions must be a positive number of partitions. Got {partitions!r} instead.")
    summary = rows.repartition(n_parts, "customer").mapInPandas(
        _partition_summary(cal_end, obs_end, unit, customer_col, columns, options), schema)
    attrs = dict(window, n_excluded=int(n_excluded))
    return summary.withMetadata("frequency", {_META_KEY: json.dumps(attrs)})


def summary_attrs(summary: DataFrame) -> dict:
    """The window of a Spark summary from :func:`rfm_summary` (what ``attrs`` holds in pandas).

    Examples
    --------
    >>> summary_attrs(spark_summary)["unit"]  # doctest: +SKIP
    'W'
    """
    _check_spark_frame(summary)
    if "frequency" not in summary.columns:
        raise ClvDataError("This Spark DataFrame has no 'frequency' column: it is not a customer summary. "
                           "Make one with clvmodels.spark.rfm_summary.")
    meta = summary.schema["frequency"].metadata.get(_META_KEY)
    if meta is None:
        raise ClvDataError("This Spark DataFrame does not carry a summary's window (unit and calibration end): "
                           "make it with clvmodels.spark.rfm_summary, and keep its 'frequency' column as it is.")
    return json.loads(meta)


def to_pandas(summary: DataFrame) -> pd.DataFrame:
    """Collect a Spark summary into the pandas summary of :func:`clvmodels.rfm_summary` (index, attrs).

    For summaries that fit in the driver's memory; to fit models on a large one, use
    :func:`clvmodels.spark.fit`, which collects only the distinct rows.

    Examples
    --------
    >>> to_pandas(spark_summary).attrs["calibration_end"]  # doctest: +SKIP
    '2024-01-15'
    """
    attrs = summary_attrs(summary)
    customer_col = summary.columns[0]
    frame = summary.toPandas().sort_values(customer_col, kind="stable")
    ids = frame[customer_col].to_numpy()
    is_text = isinstance(summary.schema[customer_col].dataType, T.StringType)
    index = pd.Index(ids, name=customer_col, dtype="str" if is_text else None)
    out = frame.drop(columns=[customer_col]).set_axis(index, axis=0).astype(float)
    out.attrs.update(attrs)
    return out
