"""Summary benchmark: a Parquet transaction log -> per-customer RFM summary, four ways in one run.

1. ``clvmodels.rfm_summary(path, ...)``: the DuckDB engine on the Parquet file (out of core);
2. ``clvmodels.rfm_summary(frame, ..., engine="pandas")`` after ``pandas.read_parquet``;
3. lifetimes' ``summary_data_from_transaction_data`` (exact times, ``freq="D"``) after
   ``pandas.read_parquet``;
4. a plain DuckDB query computing the same columns (purchase days, then customers) fetched
   into pandas, with no validation, no sorting and DuckDB's default settings: the floor the
   engine is measured against (target: the engine at most 1.2x its time).

The log is simulated by ``simulate_log.py`` (BG/NBD purchases, daily dates, about 6.7
transactions per customer) in blocks of 1,000,000 customers written to one Parquet file, so
10,000,000 customers need no more memory than 1,000,000. Each method runs in a fresh child
process; its time is the wall clock of the summary (for 2 and 3 the Parquet read is timed
apart and included in the total, since the DuckDB paths read the file as part of the query),
its memory the peak resident set size of the child process (``ru_maxrss``, which includes the
Python interpreter, the imports and, for 2 and 3, the log in memory). Each method's result is
checked against the others by the sums of its columns.

Usage::

    python benchmarks/bench_summary.py [--customers 1000000] [--skip-lifetimes] [--skip-pandas]
                                       [--memory-limit 3GB] [--workdir DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

METHODS = ("duckdb_engine", "pandas_engine", "lifetimes", "plain_duckdb")
TITLES = {
    "duckdb_engine": "clvmodels, DuckDB engine (file)",
    "pandas_engine": "clvmodels, pandas engine",
    "lifetimes": "lifetimes 0.11.3",
    "plain_duckdb": "plain DuckDB query",
}
BLOCK = 1_000_000

PLAIN_SQL = """
WITH days AS (
    SELECT customer_id, CAST(date AS DATE) AS day, sum(amount) AS amount
    FROM read_parquet({path}) GROUP BY ALL
)
SELECT customer_id,
       CAST(count(*) - 1 AS DOUBLE) AS frequency,
       CAST(date_diff('day', min(day), max(day)) AS DOUBLE) AS recency,
       CAST(date_diff('day', min(day), DATE '{end}') AS DOUBLE) AS "T",
       CASE WHEN count(*) > 1 THEN (sum(amount) - arg_min(amount, day)) / (count(*) - 1) ELSE 0 END
           AS monetary_value
FROM days GROUP BY customer_id
"""


def write_log(path: Path, n_customers: int, seed: int = 2024) -> int:
    """Simulate ``n_customers`` customers block by block into one Parquet file; returns the row count."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from simulate_log import simulate_log

    rows = 0
    writer = None
    for start in range(0, n_customers, BLOCK):
        n = min(BLOCK, n_customers - start)
        log = simulate_log(n, seed=seed + start // BLOCK)
        log["customer_id"] = log["customer_id"].to_numpy() + np.int64(start)
        table = pa.Table.from_pandas(log, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=1_000_000)
        rows += len(log)
    writer.close()
    return rows


def worker(method: str, path: str, end: str, memory_limit: str | None) -> dict[str, Any]:
    """Child process: run one method on the log file; time, peak memory and column sums."""
    warnings.simplefilter("ignore")
    import pandas as pd

    out: dict[str, Any] = {}
    if method == "plain_duckdb":
        import duckdb

        start = time.perf_counter()
        s = duckdb.sql(PLAIN_SQL.format(path="'" + path + "'", end=end)).df()
        out["seconds"] = time.perf_counter() - start
    elif method == "duckdb_engine":
        import clvmodels as clv

        config = {"memory_limit": memory_limit} if memory_limit else None
        start = time.perf_counter()
        s = clv.rfm_summary(path, "customer_id", "date", "amount", unit="D", calibration_end=end,
                            duckdb_config=config)
        out["seconds"] = time.perf_counter() - start
    else:
        if method == "pandas_engine":
            import clvmodels as clv
        else:
            from lifetimes.utils import summary_data_from_transaction_data
        start = time.perf_counter()
        log = pd.read_parquet(path)
        out["read_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        if method == "pandas_engine":
            s = clv.rfm_summary(log, "customer_id", "date", "amount", unit="D", calibration_end=end,
                                engine="pandas")
        else:
            s = summary_data_from_transaction_data(log, "customer_id", "date", "amount",
                                                   observation_period_end=end, freq="D")
        out["summary_seconds"] = time.perf_counter() - start
        out["seconds"] = out["read_seconds"] + out["summary_seconds"]
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["customers"] = int(len(s))
    out["sums"] = {c: float(s[c].sum()) for c in ("frequency", "recency", "T", "monetary_value")}
    return out


def run_child(method: str, path: Path, end: str, memory_limit: str | None, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", method, "--log", str(path), "--end", end]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"> {timeout:.0f} s (stopped)"}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory limit of the clvmodels engine, e.g. 3GB")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per method")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the log (kept if given)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    parser.add_argument("--end", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.log, args.end, args.memory_limit)))
        return

    tmp = None
    folder = args.workdir
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="clv-bench-summary-")
        folder = Path(tmp.name)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"log-{args.customers}.parquet"
    start = time.perf_counter()
    if not path.exists():
        rows = write_log(path, args.customers)
    else:
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(path).metadata.num_rows
    import duckdb

    # the calibration end: the log's last purchase day (the window's last day may have none)
    end = str(duckdb.sql(f"SELECT CAST(max(date) AS DATE) FROM read_parquet('{path}')").fetchall()[0][0])
    print(f"log: {args.customers:,} customers, {rows:,} transactions, {path.stat().st_size / 2**20:.0f} MB Parquet "
          f"(written in {time.perf_counter() - start:.0f} s); calibration end {end}", flush=True)
    load = os.getloadavg()[0]
    methods = [m for m in METHODS if not (m == "lifetimes" and args.skip_lifetimes)
               and not (m == "pandas_engine" and args.skip_pandas)]
    results: dict[str, dict[str, Any]] = {}
    for m in methods:
        results[m] = run_child(m, path, end, args.memory_limit if m == "duckdb_engine" else None, args.timeout)
        r = results[m]
        print(f"  {TITLES[m]}: " + (r["error"] if "error" in r else f"{r['seconds']:.1f} s, {r['peak_mb']:.0f} MB peak"),
              file=sys.stderr, flush=True)

    base = results["plain_duckdb"].get("seconds") or float("nan")
    engine = results["duckdb_engine"].get("seconds") or float("nan")
    print(f"\nsummary of {args.customers:,} customers ({rows:,} transactions); {os.cpu_count()} cores, "
          f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"{'method':34s} {'seconds':>9s} {'peak MB':>9s} {'x plain DuckDB':>15s} {'x clvmodels DuckDB':>19s}")
    for m in methods:
        r = results[m]
        if "error" in r:
            print(f"{TITLES[m]:34s} {r['error']}")
            continue
        detail = f"  (read {r['read_seconds']:.1f} + summary {r['summary_seconds']:.1f})" if "read_seconds" in r else ""
        print(f"{TITLES[m]:34s} {r['seconds']:9.2f} {r['peak_mb']:9.0f} {r['seconds'] / base:14.2f}x "
              f"{r['seconds'] / engine:18.2f}x{detail}")
    ok = [r for r in results.values() if "sums" in r]
    agree = all(r["customers"] == ok[0]["customers"] and all(
        abs(r["sums"][c] - ok[0]["sums"][c]) <= 1e-9 * abs(ok[0]["sums"][c]) for c in ok[0]["sums"]) for r in ok)
    print(f"results agree (customers and column sums): {agree}")
    if args.json:
        args.json.write_text(json.dumps({"customers": args.customers, "rows": rows, "load": load,
                                         "python": platform.python_version(), "results": results}, indent=2))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
