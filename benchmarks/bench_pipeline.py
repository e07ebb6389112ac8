"""Peak memory and time of the whole pipeline on one Parquet log: summary -> fits -> scores -> file.

What an analyst runs on the whole customer base, in one fresh child process so that its peak
resident memory (``ru_maxrss``: interpreter, imports, DuckDB's buffers, the summary, the
scores) is the pipeline's and nothing else's:

1. ``rfm_summary("log.parquet", ...)`` through the DuckDB engine (out of core; optionally
   under ``--memory-limit``);
2. ``BetaGeo().fit`` on the summary and ``GammaGamma().fit`` on its repeat buyers (the first
   fit includes compiling the likelihood graphs, as in any new process);
3. ``clv_table(...)``: per customer E[X], P(alive), expected spend and 12-month CLV at 1 % a month;
4. the scores written to Parquet.

The log is simulated by ``simulate_log.py`` block by block (``bench_summary.write_log``, so
10,000,000 customers need no more memory to write than 1,000,000) and kept in ``--workdir``.
Each stage's time and the resident memory after it are printed, then the peak.

Usage::

    python benchmarks/bench_pipeline.py [--customers 10000000] [--memory-limit 2GB] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as a script: make the sibling modules importable
    sys.path.insert(0, str(HERE))


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(path: str, out_path: str, memory_limit: str | None) -> dict[str, Any]:
    """Child process: the four stages on ``path``; times, resident memory after each, the peak."""
    warnings.simplefilter("ignore")
    import pyarrow.parquet as pq

    import clvmodels as clv

    end = str(pq.read_table(path, columns=["date"])["date"].to_pandas().max().date())
    stages: list[dict[str, Any]] = []

    def stage(name, fn):
        start = time.perf_counter()
        result = fn()
        stages.append({"stage": name, "seconds": time.perf_counter() - start, "rss_mb": _rss_mb()})
        return result

    config = {"memory_limit": memory_limit} if memory_limit else None
    summary = stage("summary (DuckDB engine, file)", lambda: clv.rfm_summary(
        path, "customer_id", "date", "amount", unit="D", calibration_end=end, duckdb_config=config))
    bg = stage("BG/NBD fit", lambda: clv.BetaGeo().fit(summary))
    gg = stage("Gamma-Gamma fit", lambda: clv.GammaGamma().fit(summary[summary["frequency"] > 0]))
    table = stage("scores: E[X], P(alive), spend, 12-month CLV", lambda: clv.clv_table(
        bg, gg, summary, horizon=12, unit="M", discount_rate=0.01).assign(probability_alive=bg.probability_alive(summary)))
    stage("write Parquet", lambda: table.to_parquet(out_path))
    return {"customers": len(summary), "calibration_end": end, "stages": stages,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "equity": float(table["clv"].sum()) if "clv" in table else None,
            "columns": list(table.columns)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--customers", type=int, default=10_000_000)
    p.add_argument("--memory-limit", default=None, help="DuckDB memory_limit of the summary, e.g. 2GB")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/clvmodels-bench-pipeline"))
    p.add_argument("--worker", nargs=3, metavar=("LOG", "OUT", "LIMIT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        log, out, limit = args.worker
        print(json.dumps(worker(log, out, None if limit == "-" else limit)))
        return {}
    from bench_summary import write_log

    args.workdir.mkdir(parents=True, exist_ok=True)
    log = args.workdir / f"log_{args.customers}.parquet"
    if not log.exists():
        print(f"simulating {args.customers:,} customers into {log} ...", file=sys.stderr, flush=True)
        rows = write_log(log, args.customers)
        print(f"{rows:,} transactions, {log.stat().st_size / 2**20:.0f} MB", file=sys.stderr, flush=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(log),
           str(args.workdir / f"scores_{args.customers}.parquet"), args.memory_limit or "-"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"pipeline on {res['customers']:,} customers (calibration end {res['calibration_end']}, "
          f"DuckDB memory limit {args.memory_limit or 'default'}):")
    print("| stage | seconds | resident MB after |\n|---|---:|---:|")
    for s in res["stages"]:
        print(f"| {s['stage']} | {s['seconds']:.1f} | {s['rss_mb']:.0f} |")
    total = sum(s["seconds"] for s in res["stages"])
    print(f"| **whole pipeline** | **{total:.1f}** | peak **{res['peak_mb']:.0f}** |")
    print(f"customer equity {res['equity']:,.0f}; columns {', '.join(res['columns'])}")
    return res


if __name__ == "__main__":
    main()
