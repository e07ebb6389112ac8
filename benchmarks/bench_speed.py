"""Speed benchmark of issue 12: fit, scoring and CLV at 1M and 10M customers against lifetimes, in one run.

For each size (default 1,000,000 and 10,000,000 customers) a summary is simulated straight in
NumPy (``speed_data.py``: the BG/NBD process in days, Gamma-Gamma amounts; kept as Parquet in
``--workdir`` so a second run starts at once), then timed, for both libraries on the same rows:

- **BG/NBD fit** by maximum likelihood (``BetaGeo().fit`` vs ``BetaGeoFitter().fit``);
- **scoring**: conditional expected purchases over 365 days and P(alive) for every customer,
  at the same parameters (clvmodels' estimates); clvmodels both right after its fit (the fitted
  model) and from a model built from the parameters (``from_params``), which the issue found
  to differ by 2x;
- **12-month CLV** with Gamma-Gamma spend and 1 % monthly discounting
  (``lifetime_value`` vs ``GammaGammaFitter.customer_lifetime_value``, ``freq="D"``).

Targets (issue 12): fit >= 15x faster, scoring >= 3x at 10M, CLV >= 10x at 1M. clvmodels runs
in this process, after compiling its likelihood graph once on a small subset (a one-off cost
printed on its own line). Every lifetimes step runs in a child process with a time limit
(``--lifetimes-timeout``); one that runs out is timed on ``--extrapolate-from`` customers and
scaled linearly (marked ``~``). The script also checks that both libraries agree: parameters,
scores and CLV totals (lifetimes' months are 30 days, ours calendar months of 30.44 days on
average, so CLV totals differ by about 1 %, which is printed rather than hidden).

Usage::

    python benchmarks/bench_speed.py [--sizes 1000000 10000000] [--lifetimes-timeout 900]
                                     [--skip-lifetimes] [--workdir DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as a script: make the sibling modules importable
    sys.path.insert(0, str(HERE))

from bench_foundation import Progress, machine_info, measure  # noqa: E402
from speed_data import cached_summary  # noqa: E402

BG_NAMES = ("r", "alpha", "a", "b")
HORIZON_DAYS = 365.0
CLV_MONTHS = 12
DISCOUNT = 0.01
TARGETS = {"fit": 15.0, "score": 3.0, "clv": 10.0}
TASKS = ("fit", "score", "clv")
TITLES = {"fit": "BG/NBD fit", "score": "E[X] 365 d + P(alive)", "clv": "12-month CLV (Gamma-Gamma)"}


def _columns(summary: pd.DataFrame) -> tuple[pd.Series, ...]:
    return tuple(summary[c] for c in ("frequency", "recency", "T", "monetary_value"))


# --------------------------------------------------------------------------- lifetimes child
def _worker(task: str, workdir: Path, n: int, subsample: int | None) -> None:
    """Child-process entry: one lifetimes step on the cached summary; its timing as JSON."""
    warnings.simplefilter("ignore")  # lifetimes uses APIs that pandas/numpy deprecate
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    summary = cached_summary(n, workdir)
    if subsample is not None:
        summary = summary.iloc[:subsample]  # customers are simulated independently: a random subset
    x, tx, T, m = _columns(summary)
    params = json.loads((workdir / f"params_{n}.json").read_text())
    out: dict[str, Any] = {"n_customers": len(summary)}
    bgf = BetaGeoFitter()
    if task == "fit":
        timing, bgf = measure(lambda: bgf.fit(x, tx, T))
        out["params"] = {k: float(bgf.params_[k]) for k in BG_NAMES}
    else:
        bgf.params_ = pd.Series(params["bg"])
        bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # what fit() would set
        if task == "score":
            def run():
                return (bgf.conditional_expected_number_of_purchases_up_to_time(HORIZON_DAYS, x, tx, T),
                        bgf.conditional_probability_alive(x, tx, T))
            timing, (ep, pa) = measure(run)
            out["expected_purchases_sum"] = float(np.sum(ep))
            out["probability_alive_sum"] = float(np.sum(pa))
        else:
            ggf = GammaGammaFitter()
            gg = params["gg"]
            ggf.params_ = pd.Series({"p": gg["p"], "q": gg["q"], "v": gg["gamma"]})
            timing, clv = measure(lambda: ggf.customer_lifetime_value(
                bgf, x, tx, T, m, time=CLV_MONTHS, freq="D", discount_rate=DISCOUNT))
            out["clv_sum"] = float(np.sum(clv))
    out.update(timing)
    suffix = "" if subsample is None else "_sub"
    (workdir / f"lt_{task}_{n}{suffix}.json").write_text(json.dumps(out))


def run_lifetimes(task: str, workdir: Path, n: int, timeout: float, extrapolate_from: int,
                  progress: Progress) -> dict[str, Any]:
    """A lifetimes step in a child process within ``timeout`` s; extrapolated when it runs out."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", task, "--workdir", str(workdir), "--n", str(n)]

    def child(extra: list[str]) -> dict[str, Any]:
        proc = subprocess.run(cmd + extra, timeout=timeout, capture_output=True, text=True)
        if proc.returncode != 0:
            return {"status": "error", "error": (proc.stderr.strip().splitlines() or ["(no output)"])[-1]}
        res = json.loads((workdir / f"lt_{task}_{n}{'_sub' if extra else ''}.json").read_text())
        return {**res, "status": "ok"}

    progress(f"lifetimes {TITLES[task]} on {n:,} customers (limit {timeout:g} s)")
    try:
        return child([])
    except subprocess.TimeoutExpired:
        pass
    m = min(extrapolate_from, n)
    progress(f"lifetimes {TITLES[task]} ran out of time; timing it on {m:,} customers to extrapolate")
    try:
        sub = child(["--subsample", str(m)])
    except subprocess.TimeoutExpired:
        return {"status": "timeout"}
    if sub.get("status") != "ok":
        return sub
    return {**sub, "status": "ok", "extrapolated": True, "subsample_seconds": sub["seconds"],
            "seconds": sub["seconds"] * n / sub["n_customers"]}


# --------------------------------------------------------------------------- clvmodels
def bench_size(n: int, args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    """Every task at ``n`` customers, both libraries; figures and agreement checks."""
    import clvmodels as clv

    progress(f"summary of {n:,} simulated customers")
    summary = cached_summary(n, args.workdir)
    repeaters = summary[summary["frequency"] > 0]
    res: dict[str, Any] = {"n_customers": n, "distinct_x_T": int(len(summary.groupby(["frequency", "T"])))}

    progress(f"clvmodels BG/NBD fit on {n:,} customers")
    res["fit"], bg = measure(lambda: clv.BetaGeo().fit(summary))
    res["params"] = {k: float(v) for k, v in bg.params_.items()}
    gg = clv.GammaGamma().fit(repeaters)
    (args.workdir / f"params_{n}.json").write_text(json.dumps(
        {"bg": res["params"], "gg": {k: float(v) for k, v in gg.params_.items()}}))

    def score(model):
        return model.expected_purchases(summary, HORIZON_DAYS), model.probability_alive(summary)

    progress("clvmodels scoring, right after the fit")
    res["score_after_fit"], (ep, pa) = measure(lambda: score(bg))
    fixed = clv.BetaGeo.from_params(res["params"], unit="D")
    progress("clvmodels scoring at fixed parameters")
    res["score"], _ = measure(lambda: score(fixed))
    res["expected_purchases_sum"], res["probability_alive_sum"] = float(ep.sum()), float(pa.sum())

    progress("clvmodels 12-month CLV")
    res["clv"], value = measure(lambda: clv.lifetime_value(fixed, gg, summary, horizon=CLV_MONTHS, unit="M",
                                                           discount_rate=DISCOUNT))
    res["clv_sum"] = float(np.sum(value))

    if not args.skip_lifetimes:
        for task in TASKS:
            res[f"lt_{task}"] = run_lifetimes(task, args.workdir, n, args.lifetimes_timeout,
                                              args.extrapolate_from, progress)
    return res


# --------------------------------------------------------------------------- report
def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def report(results: list[dict[str, Any]], compile_seconds: float) -> list[str]:
    lines = [f"clvmodels likelihood graph compiled once in this process: {compile_seconds:.1f} s (not in the fit times)",
             "",
             "| task | customers | clvmodels s | peak MB | lifetimes s | peak MB | lifetimes / clvmodels | target | met |",
             "|---|---|---|---|---|---|---|---|---|"]
    checks = []
    for r in results:
        n = r["n_customers"]
        for task in TASKS:
            ours, theirs = r[task], r.get(f"lt_{task}", {})
            ok = theirs.get("status") == "ok"
            mark = "~" if theirs.get("extrapolated") else ""
            ratio = theirs["seconds"] / ours["seconds"] if ok else float("nan")
            target = TARGETS[task]
            lt_s = f"{mark}{theirs['seconds']:.2f}" if ok else theirs.get("status", "skipped")
            lt_mb = f"{theirs['peak_mb']:.0f}" if ok else "-"
            met = "-" if not ok else ("yes" if ratio >= target else "no")
            lines.append(f"| {TITLES[task]} | {n:,} | {ours['seconds']:.2f} | {ours['peak_mb']:.0f} | {lt_s} | {lt_mb} "
                         f"| {mark}{ratio:.1f}x | {target:g}x | {met} |")
        lines.append(f"| (scoring right after the fit) | {n:,} | {r['score_after_fit']['seconds']:.2f} | "
                     f"{r['score_after_fit']['peak_mb']:.0f} | | | | | |")
        lt = {t: r.get(f"lt_{t}", {}) for t in TASKS}
        if lt["fit"].get("status") == "ok" and not lt["fit"].get("extrapolated"):
            worst = max(_rel(r["params"][k], lt["fit"]["params"][k]) for k in BG_NAMES)
            checks.append(f"{n:,}: BG/NBD parameters, largest relative difference from lifetimes {worst:.1e}")
        if lt["score"].get("status") == "ok" and not lt["score"].get("extrapolated"):
            checks.append(f"{n:,}: sum of E[X] {r['expected_purchases_sum']:,.1f} (lifetimes "
                          f"{lt['score']['expected_purchases_sum']:,.1f}), sum of P(alive) {r['probability_alive_sum']:,.1f} "
                          f"(lifetimes {lt['score']['probability_alive_sum']:,.1f})")
        if lt["clv"].get("status") == "ok" and not lt["clv"].get("extrapolated"):
            checks.append(f"{n:,}: CLV total {r['clv_sum']:,.0f} (lifetimes {lt['clv']['clv_sum']:,.0f}, "
                          f"{100 * (r['clv_sum'] / lt['clv']['clv_sum'] - 1):+.2f} %: calendar months against 30-day months)")
        checks.append(f"{n:,}: distinct (frequency, T) pairs {r['distinct_x_T']:,}")
    lines += ["", "~ lifetimes ran out of time and was timed on a subset, scaled linearly.", "", "Agreement:"]
    lines += [f"- {c}" for c in checks]
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--lifetimes-timeout", type=float, default=900.0)
    p.add_argument("--extrapolate-from", type=int, default=1_000_000)
    p.add_argument("--skip-lifetimes", action="store_true")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/clvmodels-bench-speed"))
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    p.add_argument("--worker", choices=TASKS, help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--subsample", type=int, default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.worker:
        _worker(args.worker, args.workdir, args.n, args.subsample)
        return []
    import clvmodels as clv

    progress = Progress(True)
    start = time.perf_counter()
    clv.BetaGeo().fit(cached_summary(10_000, args.workdir))  # compiles the likelihood graph once
    compile_seconds = time.perf_counter() - start
    results = [bench_size(n, args, progress) for n in args.sizes]
    info = machine_info()
    print(f"machine: {info}")
    print("\n".join(report(results, compile_seconds)))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "compile_seconds": compile_seconds, "results": results},
                                        indent=2, default=float))
    return results


if __name__ == "__main__":
    main()
