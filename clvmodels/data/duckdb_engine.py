"""The DuckDB engine of :func:`clvmodels.rfm_summary`: logs larger than memory, out of core.

Transaction logs in CSV or Parquet files (a path, a glob or a list of them), DuckDB relations,
Arrow tables and Polars frames are summarised by DuckDB, which streams the files and spills
its hash tables to a temporary folder when they outgrow the memory limit. The result is the
pandas summary of the pandas engine: the same definitions (a purchase is a customer's
purchase day, times from each customer's first purchase day, mean repeat spend, the
calibration and holdout windows), the same columns, dtypes, index and ``attrs``, and the same
validation errors naming rows and customer ids. The window rules (default ends, ends out of
range) are not restated here: the pandas engine itself applies them to the log's distinct
purchase days, so both engines follow one definition.

Row labels in error messages are 0-based positions in the source (for several files, in the
order DuckDB reads them: sorted by name), the labels ``pandas.read_csv``/``read_parquet``
would give; for a pandas DataFrame they are its index labels.
"""

from __future__ import annotations

import glob as _glob
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from clvmodels import defaults
from clvmodels.data.dates import parse_dates, unparsable_dates_error
from clvmodels.data.validation import describe_rows
from clvmodels.errors import ClvDataError, DataWarning
from clvmodels.units import UNIT_DAYS, normalize_unit

__all__ = ["is_duckdb_source", "rfm_summary_duckdb", "transaction_file_summary", "DEFAULT_CONFIG"]

#: DuckDB's date_trunc part for the calendar periods of each unit (ISO weeks start on Monday).
_TRUNC = {"W": "week", "M": "month", "Y": "year"}

#: DuckDB settings used unless ``duckdb_config`` overrides them. Insertion order is not needed
#: (the summary is sorted by customer) and keeping it costs memory on large logs.
DEFAULT_CONFIG: dict[str, Any] = {"preserve_insertion_order": False}

_PARQUET = (".parquet", ".pq")
_NO_NULL = "\x01clvmodels:no-null\x01"
_CSV = {".csv": ",", ".txt": ",", ".tsv": "\t"}
_COMPRESSED = (".gz", ".zst", ".bz2", ".xz")


def _is_paths(obj) -> bool:
    if isinstance(obj, (str, os.PathLike)):
        return True
    return isinstance(obj, (list, tuple)) and len(obj) > 0 and all(isinstance(p, (str, os.PathLike)) for p in obj)


def _module(obj) -> str:
    return type(obj).__module__.split(".")[0]


def is_duckdb_source(obj) -> bool:
    """True for inputs the DuckDB engine reads and the pandas engine does not.

    Paths or globs of CSV/Parquet files (or a list of them), DuckDB relations, Arrow tables,
    record-batch readers and datasets, and Polars frames.

    Examples
    --------
    >>> is_duckdb_source("logs/*.parquet"), is_duckdb_source(pd.DataFrame())
    (True, False)
    """
    return _is_paths(obj) or _module(obj) in ("duckdb", "_duckdb", "pyarrow", "polars")


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _file_kind(path: str) -> str:
    name = path.lower()
    for ext in _COMPRESSED:
        if name.endswith(ext):
            name = name[: -len(ext)]
    if name.endswith(_PARQUET):
        return "parquet"
    for ext in _CSV:
        if name.endswith(ext):
            return ext
    raise ValueError(
        f"Cannot tell the format of transaction file {path!r} from its extension; use .parquet, .csv "
        f"(optionally compressed, e.g. .csv.gz) or .tsv."
    )


class _Source:
    """Where the rows come from: a SQL table expression on a DuckDB connection we may own."""

    def __init__(self, obj, config: Mapping[str, Any] | None, as_written: bool = False) -> None:
        import duckdb

        self.owned = True
        self.as_written = as_written
        self.labels: pd.Index | None = None  # row labels of a pandas DataFrame input
        self.tz: str | None = None  # time zone of a zoned timestamp column, where the input keeps it
        self.tempdir: str | None = None
        self._tz_column: str | None = None
        self.day_map: str | None = None  # SQL table of distinct raw dates and their days
        if _module(obj) in ("duckdb", "_duckdb") and hasattr(obj, "query") and hasattr(obj, "columns"):
            # a relation lives on the caller's connection: query it there, settings untouched
            self.owned, self.rel, self.con = False, obj, None
            self.table = "clv_transactions"
            self.kind = "relation"
            return
        settings = dict(DEFAULT_CONFIG)
        settings.update(config or {})
        if "temp_directory" not in settings:
            # not DuckDB's default ".tmp" in the working directory; removed when done
            self.tempdir = tempfile.mkdtemp(prefix="clvmodels-duckdb-")
            settings["temp_directory"] = self.tempdir
        self.con = duckdb.connect(config={k: (str(v) if k == "temp_directory" else v) for k, v in settings.items()})
        self.rel = None
        if _is_paths(obj):
            self.kind = "files"
            self.paths = [os.fspath(p) for p in (obj if isinstance(obj, (list, tuple)) else [obj])]
            kinds = {_file_kind(p) for p in self.paths}
            if len(kinds) > 1:
                raise ValueError(f"The transaction files must all be Parquet or all CSV; got {self.paths!r}.")
            self.file_kind = kinds.pop()
            for p in self.paths:
                if not _glob.has_magic(p) and not Path(p).is_file():
                    raise FileNotFoundError(f"Transaction file '{p}' does not exist (or is not a file).")
                if _glob.has_magic(p) and not _glob.glob(p):
                    raise FileNotFoundError(f"No transaction file matches the pattern '{p}'.")
            self.table = None  # built once the date column is known (CSV dates are read as text)
        else:
            if isinstance(obj, pd.DataFrame):
                self.labels = obj.index
            elif _module(obj) not in ("pyarrow", "polars"):
                raise TypeError(
                    f"Expected a transaction log: a pandas DataFrame, a path or glob of CSV/Parquet files, "
                    f"a DuckDB relation, an Arrow table or a Polars frame. Got {type(obj).__name__} instead."
                )
            self.kind = "frame"
            self.obj = obj
            if not (isinstance(obj, pd.DataFrame) and obj.shape[1] == 0):
                self.con.register("clv_transactions", obj)
            self.table = "clv_transactions"

    # ------------------------------------------------------------------ schema
    def columns(self, date_col: str, customer_col: str | None = None) -> dict[str, str]:
        """Column name -> DuckDB type; for files, also fixes the table expression."""
        if self.kind == "files":
            files = "[" + ", ".join(_quote(p) for p in self.paths) + "]"
            if self.file_kind == "parquet":
                self.table = f"read_parquet({files})"
            elif self.as_written:
                # every field as the text written, an empty one too (a sentinel no file holds stands for NULL)
                sep = _CSV[self.file_kind]
                self.table = (f"read_csv({files}, delim={_quote(sep)}, header=true, all_varchar=true, "
                              f"nullstr={_quote(_NO_NULL)})")
            else:
                sep = _CSV[self.file_kind]
                probe = self.con.sql(f"SELECT * FROM read_csv({files}, delim={_quote(sep)}) LIMIT 0")
                types = ""
                if date_col in probe.columns:
                    # dates are parsed here like pandas parses the text read_csv gives it
                    types = f", types={{{_quote(date_col)}: 'VARCHAR'}}"
                self.table = f"read_csv({files}, delim={_quote(sep)}{types})"
        if self.kind == "frame" and isinstance(self.obj, pd.DataFrame) and self.obj.shape[1] == 0:
            return {}  # DuckDB cannot register a frame without columns; the caller names what is missing
        rel = self.relation(f"SELECT * FROM {self.table} LIMIT 0")
        types = dict(zip(rel.columns, (str(t) for t in rel.types)))
        if self.as_written and customer_col in types and _is_text(types[customer_col]):
            # prepare_transactions' id rules: a blank id is missing, 17850.0 is customer 17850;
            # the id as written stays in _clv_raw_id (the count of float-like ids reads it)
            c = _ident(customer_col)
            self.table = (f"(SELECT * REPLACE (CASE WHEN regexp_full_match({c}, '\\s*') THEN NULL ELSE "
                          f"regexp_replace({c}, '^([+-]?[0-9]+)\\.0+$', '\\1') END AS {c}), {c} AS _clv_raw_id "
                          f"FROM {self.table})")
        return types

    def zone(self, date_col: str) -> str | None:
        """The time zone the input attaches to a zoned timestamp column, when it keeps one."""
        if self.kind == "frame":
            obj = self.obj
            if isinstance(obj, pd.DataFrame):
                tz = getattr(obj[date_col].dtype, "tz", None)
                return None if tz is None else str(tz)
            if _module(obj) == "polars":
                return getattr(obj.collect_schema()[date_col] if hasattr(obj, "collect_schema")
                               else obj.schema[date_col], "time_zone", None)
            schema = getattr(obj, "schema", None)
            if schema is not None and date_col in schema.names:
                return getattr(schema.field(date_col).type, "tz", None)
            return None
        if self.kind == "files" and self.file_kind == "parquet":
            first = sorted(_glob.glob(self.paths[0]))[0] if _glob.has_magic(self.paths[0]) else self.paths[0]
            try:
                import pyarrow.parquet as pq

                tz = getattr(pq.read_schema(first).field(date_col).type, "tz", None)
                return tz
            except (ImportError, KeyError):
                return "UTC"  # Parquet stores zoned times as UTC instants
        return None  # a relation: its connection's TimeZone setting

    # ------------------------------------------------------------------ queries
    def relation(self, sql: str):
        sql = sql.replace("{src}", self.with_days(self.table))
        if self.owned:
            return self.con.sql(sql)
        return self.rel.query(self.table, sql)

    def numbered(self) -> str:
        """The source with each row's 0-based position in ``_clv_row`` (scan order, one thread)."""
        if self.owned:
            self.con.execute("SET threads = 1")  # positions need the rows in file order
        return self.with_days(f"(SELECT *, row_number() OVER () - 1 AS _clv_row FROM {self.table})")

    def with_days(self, table: str) -> str:
        """``table`` with the purchase day of each row in ``_clv_day`` once :meth:`map_days` has run."""
        if self.day_map is None:
            return table
        return (f"(SELECT _clv_t.*, CAST(_clv_m.day AS DATE) AS _clv_day FROM {table} AS _clv_t "
                f"LEFT JOIN {self.day_map} AS _clv_m ON _clv_t.{self.day_col} = _clv_m.raw)")

    def map_days(self, date_col: str, days: pd.DataFrame) -> None:
        """Join each row's raw date to its day: ``days`` has one row per distinct raw value (``raw``, ``day``)."""
        self.day_col = _ident(date_col)
        if self.owned:
            self.con.register("clv_days", days)
            self.day_map = "clv_days"
            return
        # a relation's connection is the caller's: the (small) table of distinct dates goes inline
        def lit(v):
            if v is None or (isinstance(v, float) and v != v):
                return "NULL"
            return _quote(v) if isinstance(v, str) else repr(v.item() if hasattr(v, "item") else v)
        rows = ", ".join(f"({lit(r)}, {'NULL' if pd.isna(d) else _quote(pd.Timestamp(d).date())}::DATE)"
                         for r, d in zip(days["raw"].tolist(), days["day"].tolist()))
        self.day_map = f"(SELECT * FROM (VALUES {rows}) AS _v(raw, day))"

    def label(self, position: int):
        return self.labels[int(position)] if self.labels is not None else int(position)

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
        if self.tempdir is not None:
            shutil.rmtree(self.tempdir, ignore_errors=True)


# --------------------------------------------------------------------------- column expressions
_INTEGER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


def _is_text(t: str) -> bool:
    return t == "VARCHAR" or t.startswith("VARCHAR")


def _is_datetime(dtype: str) -> bool:
    return dtype == "DATE" or dtype.startswith("TIMESTAMP")


def _datetime_expr(src: _Source, date_col: str, dtype: str) -> str:
    """SQL for each row's purchase day (a DATE) from a DATE or TIMESTAMP column; NULL where missing."""
    col = _ident(date_col)
    if dtype == "DATE":
        return col
    if dtype.startswith("TIMESTAMP WITH TIME ZONE") or dtype == "TIMESTAMPTZ":
        # the day on the customer's local calendar, as pandas keeps it (tz_localize(None))
        tz = src.zone(date_col)
        if tz is None:
            return f"CAST(CAST({col} AS TIMESTAMP) AS DATE)"
        m = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d{2}):?(\d{2})", tz)
        if m:
            minutes = (1 if m[1] == "+" else -1) * (int(m[2]) * 60 + int(m[3]))
            return f"CAST(timezone('UTC', {col}) + INTERVAL ({minutes}) MINUTE AS DATE)"
        return f"CAST(timezone({_quote(tz)}, {col}) AS DATE)"
    return f"CAST({col} AS DATE)"


def _parse_distinct_dates(src: _Source, date_col: str, date_format, epoch_unit) -> pd.DataFrame:
    """The pandas rules (:func:`~clvmodels.data.dates.parse_dates`) applied to the distinct raw dates.

    Only the distinct values go through pandas, so the log itself stays out of memory. The rules
    look at the set of values (their layouts, offsets, day/month fields), which the distinct
    values have; the messages quote rows and first values in file order, so when parsing refuses
    or warns it runs again on the distinct values in order of first appearance, labelled by the
    row they first appear in: the pandas engine's message, word for word.
    """
    col = _ident(date_col)
    raw = src.relation(f"SELECT DISTINCT {col} AS raw FROM {{src}}").df()["raw"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed, refused = parse_dates(raw, date_col, date_format=date_format, epoch_unit=epoch_unit,
                                          keep_unparsable=True), False
        except ClvDataError:
            refused = True
    if refused or caught:
        ordered = src.relation(
            f"SELECT {col} AS raw, min(_clv_row) AS first FROM {src.numbered()} GROUP BY 1 ORDER BY 2").df()
        raw = ordered["raw"].set_axis(pd.Index([src.label(i) for i in ordered["first"]]))
        parsed = parse_dates(raw, date_col, date_format=date_format, epoch_unit=epoch_unit, keep_unparsable=True)
    return pd.DataFrame({"raw": raw.to_numpy(), "day": parsed.dt.floor("D").to_numpy()})


def _amount_expr(amount_col: str, dtype: str) -> str:
    col = _ident(amount_col)
    if _is_text(dtype):
        return f"TRY_CAST(trim({col}) AS DOUBLE)"
    return f"CAST({col} AS DOUBLE)"


def _missing_id(customer_col: str, dtype: str) -> str:
    col = _ident(customer_col)
    return f"({col} IS NULL OR isnan({col}))" if dtype in ("FLOAT", "DOUBLE") else f"{col} IS NULL"


# --------------------------------------------------------------------------- messages
def _shown(value, dtype: str):
    """A missing value as pandas shows it in the same column (NaT for times, nan otherwise)."""
    if value is None:
        return pd.NaT if dtype.startswith(("DATE", "TIMESTAMP")) else float("nan")
    return value


def _offending(src: _Source, bad: str, customer_col: str, value_col: str | None, value_type: str = ""):
    """Count, first row labels, first distinct customer ids and first raw values of the bad rows."""
    rows = src.numbered()
    cust = _ident(customer_col)
    n = src.relation(f"SELECT count(*) FROM {rows} WHERE {bad}").fetchall()[0][0]
    shown = f", {_ident(value_col)}" if value_col else ""
    first = src.relation(f"SELECT _clv_row{shown} FROM {rows} WHERE {bad} ORDER BY _clv_row LIMIT 5").fetchall()
    ids = src.relation(
        f"SELECT {cust} FROM {rows} WHERE {bad} GROUP BY {cust} ORDER BY min(_clv_row) LIMIT 5"
    ).fetchall()
    labels = [src.label(r[0]) for r in first]
    values = [_shown(r[1], value_type) for r in first[:3]] if value_col else []
    return int(n), labels, [i[0] for i in ids], values


# --------------------------------------------------------------------------- the engine
def rfm_summary_duckdb(
    source,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    *,
    unit: str = defaults.UNIT,
    calibration_end=None,
    observation_end=None,
    date_format: str | None = None,
    epoch_unit: str | None = None,
    duckdb_config: Mapping[str, Any] | None = None,
    include_first_transaction: bool = False,
    periods: str = "continuous",
    regularity: bool = False,
) -> pd.DataFrame:
    """:func:`clvmodels.rfm_summary` computed by DuckDB, out of core; same arguments and result.

    Parameters
    ----------
    source : str, Path, list, DuckDB relation, Arrow table, Polars frame or DataFrame
        The transaction log: a path or glob of Parquet or CSV files (``.parquet``, ``.csv``,
        ``.csv.gz``, ``.tsv``) or a list of them, or a table object. Never modified.
    customer_col, date_col, amount_col, unit, calibration_end, observation_end, date_format, epoch_unit, include_first_transaction, periods, regularity
        As in :func:`clvmodels.rfm_summary`.
    duckdb_config : mapping, optional
        DuckDB settings for the connection, e.g. ``{"memory_limit": "2GB", "threads": 2,
        "temp_directory": "/scratch"}`` (default memory limit: 80 % of RAM; spill files go to
        a fresh temporary folder, removed afterwards). Ignored for a DuckDB relation, which runs
        on its own connection with that connection's settings.

    Returns
    -------
    DataFrame
        The summary, as from the pandas engine.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "log.csv").write_text("id,day,value\\n1,2024-01-01,10\\n1,2024-01-01,5\\n"
    ...                                     "1,2024-01-15,20\\n2,2024-01-08,7\\n")
    >>> rfm_summary_duckdb(folder / "log.csv", "id", "day", "value", unit="W", calibration_end="2024-01-15")
        frequency  recency    T  monetary_value
    id
    1         1.0      2.0  2.0            20.0
    2         0.0      0.0  1.0             0.0
    """
    unit = normalize_unit(unit)
    src = _Source(source, duckdb_config)
    try:
        return _summarise(src, customer_col, date_col, amount_col, unit, calibration_end, observation_end,
                          date_format, epoch_unit, bool(include_first_transaction), periods, bool(regularity))
    finally:
        src.close()


def transaction_file_summary(
    path,
    customer_col: str,
    date_col: str,
    amount_col: str | None = None,
    *,
    outlier_factor: float = 10.0,
    duckdb_config: Mapping[str, Any] | None = None,
    **options,
) -> tuple[pd.DataFrame, dict]:
    """The summary of a transaction file read as written, and the facts of its data-quality record.

    What the command line gives for a CSV/TSV/Parquet file without cleaning options, out of
    core: CSV fields are the text written (ids ``007`` and ``7`` are two customers, ``NA`` is an
    id, an empty field is missing), ids follow :func:`clvmodels.prepare_transactions` (a blank
    id is refused with its rows; text such as ``17850.0`` is customer ``17850``), and the facts are
    the fields of its :class:`~clvmodels.data.prepare.DataQuality`: ``rows_read``,
    ``first_date``, ``last_date``, ``transactions`` (rows), ``purchase_days``, ``customers``,
    ``float_like_ids``, ``high_spenders``, ``n_high_spenders``, ``giant_orders``,
    ``n_giant_orders``, by the same definitions.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.csv.gz``, ``.tsv`` or ``.parquet`` file.
    customer_col, date_col, amount_col
        As in :func:`clvmodels.rfm_summary`.
    outlier_factor : float
        The ``k`` of the high-spender and giant-order flags (as in ``prepare_transactions``).
    duckdb_config : mapping, optional
        As in :func:`rfm_summary_duckdb`.
    **options
        The other arguments of :func:`clvmodels.rfm_summary` (``unit``, ``calibration_end``, ...).

    Returns
    -------
    (DataFrame, dict)

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "log.csv").write_text("id,day\\n007,2024-01-01\\n7.0,2024-01-08\\n7,2024-01-15\\n")
    >>> s, facts = transaction_file_summary(folder / "log.csv", "id", "day", unit="W")
    >>> s.index.tolist(), facts["customers"], facts["float_like_ids"]
    (['007', '7'], 2, 1)
    """
    facts: dict = {"outlier_factor": float(outlier_factor)}
    unit = normalize_unit(options.pop("unit", defaults.UNIT))
    src = _Source(path, duckdb_config, as_written=True)
    if src.kind != "files" or len(src.paths) != 1 or _glob.has_magic(src.paths[0]):
        src.close()
        raise ValueError(f"transaction_file_summary reads one file; got {path!r}.")
    try:
        out = _summarise(src, customer_col, date_col, amount_col, unit, options.pop("calibration_end", None),
                         options.pop("observation_end", None), options.pop("date_format", None),
                         options.pop("epoch_unit", None), bool(options.pop("include_first_transaction", False)),
                         options.pop("periods", "continuous"), bool(options.pop("regularity", False)), facts=facts)
    finally:
        src.close()
    if options:
        raise TypeError(f"Unknown arguments of transaction_file_summary: {', '.join(options)}.")
    return out, facts


def _quality_facts(src: _Source, cust: str, day: str, amount: str | None, raw_id: bool, facts: dict) -> None:
    """prepare_transactions' counts and flags of a checked log, into ``facts``."""
    float_like = (r"count(DISTINCT _clv_raw_id) FILTER (WHERE regexp_full_match(_clv_raw_id, '[+-]?[0-9]+\.0+'))"
                  if raw_id else "0")
    amount_sum = f"fsum({amount})" if amount else "0.0"
    per_day = f"SELECT {cust} AS customer, {day} AS day, {amount_sum} AS amount FROM {{src}} GROUP BY 1, 2"
    n, first, last, customers, purchase_days, n_float = src.relation(
        f"SELECT count(*), min({day}), max({day}), count(DISTINCT {cust}), "
        f"(SELECT count(*) FROM ({per_day})), {float_like} FROM {{src}}").fetchall()[0]
    facts.update(rows_read=int(n), first_date=str(first), last_date=str(last), transactions=int(n),
                 customers=int(customers), purchase_days=int(purchase_days), float_like_ids=int(n_float),
                 high_spenders=(), n_high_spenders=0, giant_orders=(), n_giant_orders=0)
    if amount is None:
        return
    k = repr(float(facts["outlier_factor"]))
    # the means and the orders in descending order, ties by customer (then day): pandas' stable sorts
    means = f"SELECT customer, fsum(amount) / count(*) AS m FROM ({per_day}) GROUP BY customer"
    high = src.relation(
        f"WITH m AS ({means}), h AS (SELECT * FROM m WHERE m > {k} * (SELECT median(m) FROM m)) "
        f"SELECT CAST(customer AS VARCHAR), (SELECT count(*) FROM h) FROM h ORDER BY m DESC, customer LIMIT 10"
    ).fetchall()
    giant = src.relation(
        f"WITH o AS ({per_day}), g AS (SELECT * FROM o WHERE amount > {k} * (SELECT median(amount) FROM o)) "
        f"SELECT CAST(customer AS VARCHAR), strftime(day, '%Y-%m-%d'), amount, (SELECT count(*) FROM g) FROM g "
        f"ORDER BY amount DESC, customer, day LIMIT 10"
    ).fetchall()
    facts.update(high_spenders=tuple(r[0] for r in high), n_high_spenders=int(high[0][1]) if high else 0,
                 giant_orders=tuple((r[0], r[1], float(r[2])) for r in giant),
                 n_giant_orders=int(giant[0][3]) if giant else 0)


def _summarise(src: _Source, customer_col, date_col, amount_col, unit, calibration_end, observation_end,
               date_format, epoch_unit, include_first: bool = False, periods: str = "continuous",
               regularity: bool = False, facts: dict | None = None) -> pd.DataFrame:
    from clvmodels.data import summary as pandas_engine

    types = src.columns(date_col, customer_col)
    needed = [c for c in (customer_col, date_col, amount_col) if c is not None]
    missing = [c for c in needed if c not in types]
    if missing:
        raise pandas_engine.missing_columns_error(missing, types)
    cust = _ident(customer_col)
    no_id = _missing_id(customer_col, types[customer_col])
    n, n_no_id = src.relation(f"SELECT count(*), count(*) FILTER (WHERE {no_id}) FROM {{src}}").fetchall()[0]
    if n == 0:
        raise pandas_engine.empty_log_error()
    if n_no_id:
        _, labels, _, _ = _offending(src, no_id, customer_col, None)
        if src.as_written:
            raise pandas_engine.missing_ids_refused_error(customer_col, n_no_id, labels)
        raise pandas_engine.missing_ids_error(customer_col, n_no_id, labels)

    if _is_datetime(types[date_col]):
        # taken as they are (date_format and epoch_unit are about text and numbers), as in parse_dates,
        # which still checks those two arguments
        parse_dates(pd.Series([], dtype="datetime64[ns]"), date_col, date_format=date_format, epoch_unit=epoch_unit)
        day = _datetime_expr(src, date_col, types[date_col])
    else:
        src.map_days(date_col, _parse_distinct_dates(src, date_col, date_format, epoch_unit))
        day = "_clv_day"
    amount = _amount_expr(amount_col, types[amount_col]) if amount_col is not None else None
    bad_amount = f"(({amount}) IS NULL OR NOT isfinite({amount}) OR ({amount}) < 0)" if amount else "false"

    n_bad_day, n_bad_amount, log_days = src.relation(
        f"SELECT count(*) FILTER (WHERE ({day}) IS NULL), count(*) FILTER (WHERE {bad_amount}), "
        f"list(DISTINCT {day}) FILTER (WHERE ({day}) IS NOT NULL) FROM {{src}}"
    ).fetchall()[0]
    if n_bad_day:
        k, labels, ids, values = _offending(src, f"({day}) IS NULL", customer_col, date_col, types[date_col])
        raise unparsable_dates_error(date_col, k, describe_rows(k, labels, ids), values)
    if amount_col is not None and types[amount_col] == "BOOLEAN":
        raise pandas_engine.boolean_amounts_error(amount_col)
    if n_bad_amount:
        k, labels, ids, values = _offending(src, bad_amount, customer_col, amount_col, types[amount_col])
        raise pandas_engine.bad_amounts_error(amount_col, k, describe_rows(k, labels, ids), values)

    if facts is not None:
        _quality_facts(src, cust, day, amount, "_clv_raw_id" in src.relation("SELECT * FROM {src} LIMIT 0").columns,
                       facts)

    # The window rules live in the pandas engine: apply them to the log's distinct purchase days
    # (a few thousand rows at most), which is all they look at.
    probe = pd.DataFrame({"c": 0, "d": pd.to_datetime(sorted(log_days))})
    window = pandas_engine.rfm_summary(probe, "c", "d", unit=unit, calibration_end=calibration_end,
                                       observation_end=observation_end, engine="pandas",
                                       include_first_transaction=include_first, periods=periods).attrs
    cal_end = pd.Timestamp(window["calibration_end"])
    obs_end = None if window["observation_end"] is None else pd.Timestamp(window["observation_end"])
    cal = f"DATE '{cal_end.date()}'"
    obs = f"DATE '{obs_end.date()}'" if obs_end is not None else None
    scale = UNIT_DAYS[unit]

    calendar = periods == "calendar"
    # Each purchase day is put in its slot (the day itself, or with periods="calendar" the start
    # of its calendar period) and on its side of the window (0 calibration, 1 holdout, 2 after)
    # before grouping, so a period straddling calibration_end is cut as the pandas engine cuts it.
    slot = f"CAST(date_trunc('{_TRUNC[unit]}', {day}) AS DATE)" if calendar and unit in _TRUNC else day
    side = f"CASE WHEN ({day}) <= {cal} THEN 0 " + (f"WHEN ({day}) <= {obs} THEN 1 " if obs else "") + "ELSE 2 END"
    if calendar and unit in ("M", "Y"):
        part = "month" if unit == "M" else "year"

        def span(a: str, b: str) -> str:
            return f"CAST(date_diff('{part}', {a}, {b}) AS DOUBLE)"
    else:
        def span(a: str, b: str) -> str:
            return f"CAST(date_diff('day', {a}, {b}) AS DOUBLE) / {scale!r}"
    cal_slot = f"DATE '{pandas_engine.period_start(cal_end, unit).date()}'" if calendar else cal
    k = 0 if include_first else 1

    # Sums are Kahan-compensated (fsum), as pandas' group-by sums are.
    per_day_amount = f", fsum({amount}) AS amount" if amount else ""
    money = ""
    if amount:
        money = ", fsum(amount) FILTER (WHERE side = 0)" + ("" if include_first else
                                                           " - arg_min(amount, day) FILTER (WHERE side = 0)")
        money += " AS repeat_total"
    hold = ""
    if obs is not None:
        hold = ", count(*) FILTER (WHERE side = 1) AS n_hold"
        if amount:
            hold += ", fsum(amount) FILTER (WHERE side = 1) AS hold_total"
    days = (f"SELECT {cust} AS customer, {slot} AS day, {side} AS side{per_day_amount} FROM {{src}} "
            f"GROUP BY 1, 2, 3")
    litt = ""
    if regularity:
        # each calibration day's gap to the customer's previous one (slots are distinct, so gaps > 0)
        previous = "lag(day) OVER (PARTITION BY customer, side ORDER BY day)"
        days = f"SELECT *, ln({span(previous, 'day')}) AS log_gap FROM ({days})"
        litt = ", coalesce(sum(log_gap) FILTER (WHERE side = 0), 0.0) AS litt"
    sql = (
        f"WITH days AS ({days}), "
        f"c AS (SELECT customer, min(day) FILTER (WHERE side = 0) AS first_day, count(*) FILTER (WHERE side = 0) AS n_cal, "
        f"max(day) FILTER (WHERE side = 0) AS last_cal{money}{hold}{litt} FROM days GROUP BY customer) "
        f"SELECT customer, n_cal = 0 AS excluded, "
        f"CAST(n_cal - {k} AS DOUBLE) AS frequency, "
        f"{span('first_day', 'last_cal')} AS recency, "
        f"{span('first_day', cal_slot)} AS \"T\""
        + (f", CASE WHEN n_cal > {k} THEN repeat_total / CAST(n_cal - {k} AS DOUBLE) ELSE 0.0 END AS monetary_value"
           if amount else "")
        + (", litt" if regularity else "")
        + (", CAST(n_hold AS DOUBLE) AS frequency_holdout" if obs else "")
        + (", CASE WHEN n_hold > 0 THEN hold_total / CAST(n_hold AS DOUBLE) ELSE 0.0 END AS monetary_value_holdout"
           if obs and amount else "")
        + " FROM c ORDER BY customer"
    )
    res = src.relation(sql).df()
    excluded = res["excluded"].to_numpy(dtype=bool)
    n_excluded = int(excluded.sum())
    if n_excluded:
        later = res["customer"].to_numpy()[excluded][:5].tolist()
        warnings.warn(pandas_engine.excluded_message(n_excluded, cal_end, later), DataWarning, stacklevel=4)
        res = res[~excluded]
    index = pd.Index(res["customer"].to_numpy(), name=customer_col,
                     dtype="str" if _is_text(types[customer_col]) else None)
    out = res.drop(columns=["customer", "excluded"]).set_axis(index, axis=0)
    out = out.astype({c: float for c in out.columns})
    if obs_end is not None and calendar:
        out["duration_holdout"] = pandas_engine.periods_between(pandas_engine.period_start(cal_end, unit),
                                                                pandas_engine.period_start(obs_end, unit), unit)
    elif obs_end is not None:
        out["duration_holdout"] = ((obs_end - cal_end) / pd.Timedelta(days=1)) / scale
    out.attrs.update(window, n_excluded=n_excluded)
    return out
