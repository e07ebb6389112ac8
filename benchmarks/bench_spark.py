"""Spark local mode against the pandas and DuckDB engines: summary, BG/NBD + Gamma-Gamma fit, scoring.

One run on one simulated log (``benchmarks/simulate_log.py``, written to Parquet): the
summary by each engine, the fits on Spark's collected distinct rows against the fits on the
pandas summary, and the per-customer scores (P(alive), expected purchases, spend, 12-month
CLV) on the executors against :func:`clvmodels.value.score_table`. Every Spark result is
compared with the pandas one, so the ratios are between equal answers. Spark runs in
``local[N]`` here, so this measures its overhead on one machine, not a cluster's speed-up.

    python benchmarks/bench_spark.py [--customers 200000] [--cores 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clvmodels as clv  # noqa: E402
from clvmodels.value import score_table  # noqa: E402

from simulate_log import simulate_log  # noqa: E402


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    import clvmodels.spark as cs

    folder = Path(tempfile.mkdtemp(prefix="clv-bench-spark-"))
    log = simulate_log(args.customers)
    path = folder / "log.parquet"
    log.to_parquet(path, index=False, coerce_timestamps="us")  # Spark reads no nanosecond timestamps
    end = str((log["date"].min() + pd.Timedelta(days=365)).date())
    kw = dict(unit="D", calibration_end=end)
    print(f"log: {args.customers:,} customers, {len(log):,} rows, calibration end {end}")

    ref, t_pandas = _timed(lambda: clv.rfm_summary(log, "customer_id", "date", "amount", engine="pandas", **kw))
    _, t_duck = _timed(lambda: clv.rfm_summary(path, "customer_id", "date", "amount", **kw))

    t0 = time.perf_counter()
    spark = (SparkSession.builder.master(f"local[{args.cores}]").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", str(args.partitions))
             .config("spark.sql.session.timeZone", "UTC").config("spark.driver.memory", "4g")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    t_start = time.perf_counter() - t0
    sdf = spark.read.parquet(str(path))
    summary = cs.rfm_summary(sdf, "customer_id", "date", "amount", **kw).cache()
    got, t_spark = _timed(lambda: cs.to_pandas(summary))
    pd.testing.assert_frame_equal(got.drop(columns="monetary_value"), ref.drop(columns="monetary_value"),
                                  check_exact=True)
    np.testing.assert_allclose(got["monetary_value"], ref["monetary_value"], rtol=1e-13)

    (bg_ref, t_fit_pandas) = _timed(lambda: clv.BetaGeo().fit(ref))
    (bg, t_fit_spark) = _timed(lambda: cs.fit(clv.BetaGeo(), summary))
    gg_ref = clv.GammaGamma().fit(ref[ref.frequency > 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gg = cs.fit(clv.GammaGamma(), summary, drop_unfittable=True)
    worst = max(abs(m.params_[k] / v - 1) for m, ref_m in ((bg, bg_ref), (gg, gg_ref)) for k, v in ref_m.params_.items())

    scores_ref, t_score_pandas = _timed(lambda: score_table(bg_ref, gg_ref, ref, horizon=12, unit="M"))
    out = folder / "scores.parquet"
    _, t_score_spark = _timed(lambda: cs.score(summary, bg_ref, gg_ref, horizon=12, unit="M")
                              .write.mode("overwrite").parquet(str(out)))
    scores = pd.read_parquet(out).set_index("customer_id").loc[scores_ref.index]
    np.testing.assert_array_equal(scores["clv"].to_numpy(), scores_ref["clv"].to_numpy())
    spark.stop()

    rows = [
        ("summary", t_pandas, t_duck, t_spark),
        ("BG/NBD fit (incl. collecting distinct rows)", t_fit_pandas, None, t_fit_spark),
        ("score + 12-month CLV (Spark: written to Parquet)", t_score_pandas, None, t_score_spark),
    ]
    print(f"Spark local[{args.cores}] started in {t_start:.1f} s; BG/NBD and Gamma-Gamma estimates equal to {worst:.1e} (relative)")
    print(f"{'step':<50} {'pandas':>8} {'DuckDB':>8} {'Spark':>8} {'Spark/pandas':>13}")
    for name, p, d, s in rows:
        print(f"{name:<50} {p:8.2f} {'' if d is None else f'{d:8.2f}':>8} {s:8.2f} {s / p:12.2f}x")
    result = {"customers": args.customers, "rows": len(log), "cores": args.cores, "spark_start_s": t_start,
              "steps": [{"step": n, "pandas_s": p, "duckdb_s": d, "spark_s": s} for n, p, d, s in rows]}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
