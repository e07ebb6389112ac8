"""rfm_summary's engines agree: pandas and DuckDB (DataFrame, Parquet, CSV, Arrow, relation, Polars).

The summary tests of test_rfm_summary.py and test_bad_input.py run here again with
``clvmodels.rfm_summary`` replaced by :func:`engine_check.make_all_engines`: every call runs
both engines on every input route and asserts the same summary, warnings and errors, and the
test's own assertions (published CDNOW counts, hand-computed logs, error wording) are checked on
the DuckDB result. Further tests: the apparel log from its CSV file, adversarial logs, the other
input types, the DuckDB-only rules, and a Parquet log larger than DuckDB's memory limit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels.data.summary import rfm_summary
from clvmodels.errors import ClvDataError, DataWarning

import test_bad_input
import test_rfm_summary
from engine_check import assert_same_summary, make_all_engines, summary_tests
from reference_values import CDNOW

duckdb = pytest.importorskip("duckdb")

# The summary tests of the pandas engine, collected again here (fixtures come along); the
# cdnow_summary fixture below replaces conftest's, so its tests run through all engines too.
_REUSED = {}
for _module in (test_rfm_summary, test_bad_input):
    for _name, _obj in summary_tests(_module, via_fixtures=("cdnow_summary",)).items():
        assert _name not in _REUSED, f"{_name} is defined in two of the reused test modules"
        _REUSED[_name] = _obj
assert len(_REUSED) > 20, sorted(_REUSED)  # the summary tests were found
globals().update(_REUSED)


@pytest.fixture(autouse=True)
def all_engines(tmp_path, monkeypatch):
    """Every clv.rfm_summary call in this module runs (and compares) all engines."""
    fn = make_all_engines(tmp_path)
    monkeypatch.setattr(clv, "rfm_summary", fn)
    return fn


@pytest.fixture
def cdnow_summary(all_engines, cdnow_transactions):
    """The CDNOW summary of conftest, built here through all engines (not the cached pandas one)."""
    return all_engines(cdnow_transactions, "customer_id", "date", "amount", unit=CDNOW["unit"],
                       calibration_end=CDNOW["calibration_end"], observation_end=CDNOW["observation_end"])


# --------------------------------------------------------------------------- real logs
@pytest.mark.parametrize("unit", ["H", "D", "W", "M", "Y"])
@pytest.mark.parametrize("window", [{}, {"calibration_end": "1997-06-30"},
                                    {"calibration_end": "1997-09-30", "observation_end": "1998-06-30"}])
def test_cdnow_every_unit_and_window(all_engines, cdnow_transactions, unit, window):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        all_engines(cdnow_transactions, "customer_id", "date", "amount", unit=unit, **window)


@pytest.mark.parametrize("window", [{}, {"calibration_end": "2007-12-31", "observation_end": "2010-12-20"},
                                    {"calibration_end": "2005-06-30", "observation_end": "2006-06-30"}])
def test_apparel_log_from_its_csv_file_equals_pandas_on_read_csv(shared_data, window):
    path = shared_data / "apparel_transactions.csv"
    ref = clv.rfm_summary(pd.read_csv(path), "customer_id", "date", "amount", unit="W", engine="pandas", **window)
    got = clv.rfm_summary(path, "customer_id", "date", "amount", unit="W", **window)  # auto: DuckDB on the file
    assert len(got) == 600 and got.index.dtype == np.int64
    assert_same_summary(ref, got, "apparel CSV")
    assert_same_summary(ref, clv.rfm_summary(str(path), "customer_id", "date", "amount", unit="W",
                                             engine="duckdb", **window), "apparel CSV str")


# --------------------------------------------------------------------------- adversarial logs
def test_same_day_purchases_and_a_single_customer(all_engines):
    tx = pd.DataFrame({"c": [5, 5, 5, 5], "d": pd.to_datetime(["2024-03-01 08:00", "2024-03-01 23:59",
                                                            "2024-03-01 00:00", "2024-03-09 12:00"]),
                       "v": [1.25, 2.5, 0.0, 4.0]})
    s = all_engines(tx, "c", "d", "v", unit="D")
    assert s.loc[5].tolist() == [1.0, 8.0, 8.0, 4.0]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles", "UTC", "+05:30"])
def test_zoned_timestamps_count_days_on_the_local_calendar(all_engines, zone):
    local = pd.to_datetime(["2024-03-30 23:30", "2024-03-31 00:30", "2024-03-31 23:59", "2024-04-02 00:01",
                            "2024-03-30 12:00"])
    tz = pd.Timestamp("2024-01-01").tz_localize(zone).tz if zone[0] not in "+-" else zone
    tx = pd.DataFrame({"c": ["a", "a", "a", "a", "b"], "d": local.tz_localize(tz), "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    s = all_engines(tx, "c", "d", "v", unit="D", calibration_end="2024-04-01", observation_end="2024-04-02")
    # the local days Mar 30, Mar 31 (twice), Apr 2: two calibration purchase days after the first
    assert s.loc["a", ["frequency", "recency", "T", "frequency_holdout"]].tolist() == [1.0, 1.0, 2.0, 1.0]
    assert s.loc["a", "monetary_value"] == 5.0


def test_offsets_in_csv_strings_keep_the_stated_local_day(tmp_path):
    text = ("c,d,v\n1,2024-01-01 23:30+05:00,1\n1,2024-01-02 00:30+05:00,2\n2,2024-01-01 10:00+05:00,3\n")
    (tmp_path / "tz.csv").write_text(text)
    ref = clv.rfm_summary(pd.read_csv(tmp_path / "tz.csv"), "c", "d", "v", engine="pandas")
    got = clv.rfm_summary(tmp_path / "tz.csv", "c", "d", "v")
    assert_same_summary(ref, got)
    assert got.loc[1, "frequency"] == 1.0  # local Jan 1 and Jan 2 (UTC would be one day: Jan 1)


def test_customers_first_seen_after_calibration_end_and_only_in_the_holdout(all_engines):
    tx = pd.DataFrame({"c": ["x", "y", "y", "z", "w"],
                       "d": ["2024-01-01", "2024-01-02", "2024-02-01", "2024-02-03", "2024-03-05"],
                       "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    with pytest.warns(DataWarning, match=r"Left out 2 customers .* \(first: 'w', 'z'\)"):
        s = all_engines(tx, "c", "d", "v", calibration_end="2024-01-31", observation_end="2024-02-29")
    assert s.index.tolist() == ["x", "y"] and s.attrs["n_excluded"] == 2


def test_ids_that_look_like_numbers_with_leading_zeros_stay_text(all_engines, tmp_path):
    tx = pd.DataFrame({"c": ["007", "7", "007", "0010"], "d": ["2024-01-01", "2024-01-01", "2024-01-05", "2024-01-03"],
                       "v": [1.0, 2.0, 3.0, 4.0]})
    s = all_engines(tx, "c", "d", "v")
    assert s.index.tolist() == ["0010", "007", "7"] and s.index.dtype == "str"
    tx.to_csv(tmp_path / "zeros.csv", index=False)
    from_csv = clv.rfm_summary(tmp_path / "zeros.csv", "c", "d", "v")  # DuckDB keeps them as text
    assert_same_summary(s, from_csv, "CSV with leading zeros")


# --------------------------------------------------------------------------- other input types
@pytest.fixture
def cdnow_reference(cdnow_transactions):
    kw = dict(unit="W", calibration_end="1997-09-30", observation_end="1998-06-30")
    return clv.rfm_summary(cdnow_transactions, "customer_id", "date", "amount", engine="pandas", **kw), kw


def test_arrow_table_and_duckdb_relation(cdnow_transactions, cdnow_reference):
    pa = pytest.importorskip("pyarrow")
    ref, kw = cdnow_reference
    table = pa.Table.from_pandas(cdnow_transactions, preserve_index=False)
    assert_same_summary(ref, clv.rfm_summary(table, "customer_id", "date", "amount", **kw), "Arrow")
    con = duckdb.connect()
    rel = con.from_arrow(table) if hasattr(con, "from_arrow") else con.sql("SELECT * FROM table")
    assert_same_summary(ref, clv.rfm_summary(rel, "customer_id", "date", "amount", **kw), "relation")
    assert con.sql("SELECT current_setting('threads')").fetchall()[0][0] >= 1  # connection still usable


def test_polars_frame(cdnow_transactions, cdnow_reference):
    pl = pytest.importorskip("polars")
    ref, kw = cdnow_reference
    assert_same_summary(ref, clv.rfm_summary(pl.from_pandas(cdnow_transactions), "customer_id", "date", "amount",
                                             **kw), "Polars")


def test_glob_and_list_of_parquet_files_equal_one_file(cdnow_transactions, cdnow_reference, tmp_path):
    ref, kw = cdnow_reference
    parts = np.array_split(np.arange(len(cdnow_transactions)), 3)
    for i, rows in enumerate(parts):
        cdnow_transactions.iloc[rows].to_parquet(tmp_path / f"part-{i}.parquet")
    assert_same_summary(ref, clv.rfm_summary(tmp_path / "part-*.parquet", "customer_id", "date", "amount", **kw))
    files = [tmp_path / f"part-{i}.parquet" for i in range(3)]
    assert_same_summary(ref, clv.rfm_summary(files, "customer_id", "date", "amount", **kw))


def test_bad_row_of_the_second_file_is_numbered_across_the_files(tmp_path):
    a = pd.DataFrame({"c": [1, 2], "d": ["2024-01-01", "2024-01-02"]})
    b = pd.DataFrame({"c": [3, 4], "d": ["2024-01-03", "soon"]})
    a.to_parquet(tmp_path / "a.parquet")
    b.to_parquet(tmp_path / "b.parquet")
    with pytest.raises(ClvDataError, match=r"1 missing or unparsable date at 1 row \(first: 3\) of customers 4;"):
        clv.rfm_summary(tmp_path / "*.parquet", "c", "d")


# --------------------------------------------------------------------------- DuckDB-only rules
def test_numeric_dates_need_their_format(tmp_path):
    pd.DataFrame({"c": [1, 1], "d": [19970101, 19970108]}).to_parquet(tmp_path / "n.parquet")
    with pytest.raises(ClvDataError, match=r"Column 'd' holds bare numbers \(e.g. \[19970101, 19970108\]\).*date_format= \(e.g. '%Y%m%d'"):
        clv.rfm_summary(tmp_path / "n.parquet", "c", "d")
    s = clv.rfm_summary(tmp_path / "n.parquet", "c", "d", date_format="%Y%m%d", unit="D")
    assert s.loc[1, ["frequency", "recency"]].tolist() == [1.0, 7.0]


def test_missing_file_unknown_extension_and_engine_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.parquet"):
        clv.rfm_summary(tmp_path / "nothere.parquet")
    with pytest.raises(FileNotFoundError, match="No transaction file matches"):
        clv.rfm_summary(str(tmp_path / "*.csv"))
    with pytest.raises(ValueError, match=r"\.parquet, \.csv"):
        clv.rfm_summary(tmp_path / "log.xlsx")
    with pytest.raises(ValueError, match="'engine' parameter of rfm_summary must be 'auto', 'pandas' or 'duckdb'"):
        rfm_summary(pd.DataFrame(), engine="spark")  # the library's function: the fixture drops engine=


def test_input_frame_and_file_are_left_unchanged(cdnow_transactions, tmp_path):
    tx = cdnow_transactions.copy()
    before = pd.util.hash_pandas_object(tx).sum()
    tx.to_parquet(tmp_path / "t.parquet")
    stamp = (tmp_path / "t.parquet").stat().st_mtime_ns
    clv.rfm_summary(tx, "customer_id", "date", "amount", engine="duckdb")
    clv.rfm_summary(tmp_path / "t.parquet", "customer_id", "date", "amount")
    assert pd.util.hash_pandas_object(tx).sum() == before
    assert (tmp_path / "t.parquet").stat().st_mtime_ns == stamp


# --------------------------------------------------------------------------- out of core
def test_parquet_log_larger_than_the_memory_limit_spills_and_summarises(tmp_path):
    """2.5M transactions (57 MB as columns in memory) of 220k customers under a 48 MB DuckDB limit.

    The same query with spilling switched off (no temp_directory) runs out of memory, so the
    limit binds and the spill is what lets the summary finish. (At 32 MB the parts of the query
    that cannot spill ran out of memory too: an explicit error, never a different summary.)
    """
    rng = np.random.default_rng(12)
    n_rows, n_customers = 2_500_000, 220_000
    log = pd.DataFrame({"customer_id": rng.integers(0, n_customers, n_rows),
                        "date": np.datetime64("2022-01-01", "D") + rng.integers(0, 700, n_rows),
                        "amount": np.round(rng.gamma(2.0, 10.0, n_rows), 2)})
    log.to_parquet(tmp_path / "big.parquet", row_group_size=100_000)
    assert log.memory_usage(index=False).sum() > 48 * 2**20  # the log alone is over the limit
    kw = dict(unit="W", calibration_end="2023-06-30", observation_end="2023-12-01")
    # one thread and no insertion order: the parts of a query that cannot spill stay small
    limited = {"memory_limit": "48MB", "threads": 1, "preserve_insertion_order": False}
    with pytest.raises(duckdb.OutOfMemoryException):
        clv.rfm_summary(tmp_path / "big.parquet", "customer_id", "date", "amount",
                        duckdb_config={**limited, "temp_directory": ""}, **kw)
    spill = tmp_path / "spill"
    with warnings.catch_warnings(record=True) as caught:  # an out-of-memory error propagates as itself
        warnings.simplefilter("always")
        got = clv.rfm_summary(tmp_path / "big.parquet", "customer_id", "date", "amount",
                              duckdb_config={**limited, "temp_directory": str(spill)}, **kw)
    assert any(issubclass(w.category, DataWarning) and "first seen after" in str(w.message) for w in caught)
    with pytest.warns(DataWarning, match=r"Left out \d+ customers first seen after"):
        ref = clv.rfm_summary(log, "customer_id", "date", "amount", engine="pandas", **kw)
    assert len(got) == len(ref) > 210_000
    assert_same_summary(ref, got, "spilled")
