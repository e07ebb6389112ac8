"""Pareto/NBD fits on CDNOW and on simulated customers: clvmodels vs lifetimes' ParetoNBDFitter.

Usage: python benchmarks/bench_pareto.py [n_simulated]   (default 1,000,000)

Prints wall-clock times, estimates, log-likelihoods and whether standard errors exist.
lifetimes has no standard errors; on the large data it is timed on the same rows. The one-off
cost of compiling the likelihood graph in a fresh process (the first fit's time minus a warm
one on CDNOW) is printed, and each speed-up is given without it and with it ("compile
included": what a script that fits once pays).
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd

import clvmodels as clv
from clvmodels.models import pareto_nbd


def _time(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run(name: str, summary: pd.DataFrame, compile_s: float = 0.0) -> dict:
    ours, t_ours = _time(lambda: clv.ParetoNBD().fit(summary))
    row = {"data": name, "customers": len(summary), "clvmodels_s": round(t_ours, 2),
           "clvmodels_loglik": round(ours.loglik_, 3), "clvmodels_params": {k: round(v, 5) for k, v in ours.params_.items()},
           "clvmodels_se": {k: round(v, 5) for k, v in ours.se_.items()}}
    try:
        from lifetimes import ParetoNBDFitter
    except ImportError:
        return row
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lf, t_lf = _time(lambda: ParetoNBDFitter().fit(summary["frequency"], summary["recency"], summary["T"]))
    row.update({"lifetimes_s": round(t_lf, 2),
                "lifetimes_params": {k: round(float(v), 5) for k, v in lf.params_.items()},
                "speedup": round(t_lf / t_ours, 1), "speedup_compile_included": round(t_lf / (t_ours + compile_s), 1)})
    return row


def main(n: int = 1_000_000) -> None:
    tx = clv.datasets.load_cdnow()
    s = clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end="1997-09-30")
    _, first = _time(lambda: clv.ParetoNBD().fit(s))  # compiles the likelihood graph
    _, warm = _time(lambda: clv.ParetoNBD().fit(s))
    compile_s = max(first - warm, 0.0)
    print(f"compile (first fit in this process minus a warm one): {compile_s:.1f} s")
    print(run("CDNOW sample (2,357)", s, compile_s))
    rng = np.random.default_rng(2026)
    sim = pareto_nbd.simulate(rng, n, r=0.55, alpha=10.58, s=0.61, beta=11.67, T=rng.uniform(27.0, 39.0, n))
    # summaries in whole days, as a transaction log would give
    sim = pd.DataFrame({k: np.round(v * 7) / 7 for k, v in sim.items()})
    # a repeat purchase within half a day of the first one rounds to recency 0, which a summary
    # never has (it would have merged the two days): put it on the next day
    sim["recency"] = np.where(sim["frequency"] > 0, np.maximum(sim["recency"], 1 / 7), 0.0)
    sim["T"] = np.maximum(sim["T"], sim["recency"])
    print(run(f"simulated ({n:,})", sim, compile_s))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
