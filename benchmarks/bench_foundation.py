"""Foundation benchmark: clvmodels against lifetimes 0.11.3, in one run.

Times, for clvmodels and for lifetimes, the four steps of the basic workflow:

1. summary: transaction log -> (frequency, recency, T, monetary_value) per customer
   (:func:`clvmodels.rfm_summary` vs ``lifetimes.utils.summary_data_from_transaction_data``);
2. BG/NBD fit by maximum likelihood (``BetaGeo().fit`` vs ``BetaGeoFitter.fit``);
3. Gamma-Gamma fit on the repeat buyers (``GammaGamma().fit`` vs ``GammaGammaFitter.fit``);
4. scoring every customer: conditional expected purchases over a horizon, P(alive) and
   expected spend, at the same parameters for both libraries (clvmodels' estimates),

on the CDNOW sample (weeks, calibration end 1997-09-30) and on a simulated log (default
1,000,000 customers, daily dates, see ``simulate_log.py``). It checks that both libraries give
the same summaries, reach the same optimum and score alike, and prints times, speed-ups
(lifetimes time / clvmodels time) and the peak resident memory of every step.

clvmodels runs in this process. Each lifetimes step runs in a child process with a time limit
(``--lifetimes-timeout`` seconds); a step that runs out of time is killed, re-run on a random
subset of ``--extrapolate-from`` customers, and its time extrapolated linearly to the full
size. Such figures are marked ``~`` and explained under the table. Both fits and the scoring
get identical input (clvmodels' summary, which equals lifetimes' exact-time summary), and the
inputs are prepared outside the timed region.

Times are wall-clock seconds of one call (median of ``--repeats`` calls on CDNOW, one call on
the simulated log). clvmodels compiles each model's likelihood graph (PyTensor) once per
process; that one-off cost is shown on its own line and left out of the fit times.
Peak memory is the peak resident set size during the step (Linux: ``VmHWM`` after resetting
it through ``/proc/self/clear_refs``), with the growth over the size at the step's start in
brackets.

Usage::

    python benchmarks/bench_foundation.py [--customers N] [--lifetimes-timeout S]
                                          [--skip-lifetimes] [--json [PATH]]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as a script: make the sibling module importable
    sys.path.insert(0, str(HERE))

from simulate_log import SimulationSetup, simulate_log  # noqa: E402

STEPS = ("summary", "bgnbd_fit", "gamma_gamma_fit", "scoring")
STEP_TITLES = {
    "summary": "summary (log -> RFM)",
    "bgnbd_fit": "BG/NBD fit",
    "gamma_gamma_fit": "Gamma-Gamma fit",
    "scoring": "scoring (E[X], P(alive), spend)",
}
BG_NAMES = ("r", "alpha", "a", "b")
GG_NAMES = ("p", "q", "gamma")  # lifetimes calls gamma "v"
_WARM: list[bool] = []  # set once the likelihood graphs are compiled in this process


# --------------------------------------------------------------------------- measurement
def _proc_status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak resident memory (MB) of the code run inside the ``with`` block.

    On Linux the kernel's high-water mark (``VmHWM``) is reset on entry by writing ``5`` to
    ``/proc/self/clear_refs``, so the peak belongs to this block only and costs nothing to
    measure. Elsewhere the process-wide ``ru_maxrss`` is reported (a peak since start).
    """

    def __enter__(self) -> PeakMemory:
        self.exact = False
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self.exact = _proc_status_kb("VmHWM") is not None
        except OSError:
            pass
        rss = _proc_status_kb("VmRSS")
        self.before_mb = rss / 1024 if rss is not None else float("nan")
        return self

    def __exit__(self, *exc) -> None:
        if self.exact:
            self.peak_mb = _proc_status_kb("VmHWM") / 1024
        else:
            import resource

            self.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.growth_mb = self.peak_mb - self.before_mb


def measure(fn: Callable[[], Any], repeats: int = 1) -> tuple[dict[str, float], Any]:
    """Run ``fn`` ``repeats`` times; median wall time, peak memory, and the last result."""
    times = []
    with PeakMemory() as mem:
        for _ in range(repeats):
            start = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - start)
    return {"seconds": float(np.median(times)), "peak_mb": mem.peak_mb, "growth_mb": mem.growth_mb,
            "repeats": repeats}, out


class Progress:
    """One line per step on stderr for long runs; silent for small ones."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(f"[{time.perf_counter() - self.start:7.1f}s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- lifetimes worker
def _lifetimes_step(step: str, workdir: Path, subsample: int | None) -> None:
    """Child-process entry: run one lifetimes step on the files in ``workdir``; write results."""
    warnings.simplefilter("ignore")  # lifetimes uses APIs that pandas/numpy deprecate
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    cfg = json.loads((workdir / "config.json").read_text())
    with np.load(workdir / "summary.npz") as z:
        summary = pd.DataFrame({k: z[k] for k in ("frequency", "recency", "T", "monetary_value")},
                               index=pd.Index(z["customer_id"], name="customer_id"))
    if subsample is not None:
        summary = summary.iloc[:subsample]  # customers are in random order: a random subset
    repeats = int(cfg["repeats"])
    result: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}

    if step == "summary":
        with np.load(workdir / "log.npz") as z:
            log = pd.DataFrame({"customer_id": z["customer_id"], "date": pd.to_datetime(z["date_ns"]),
                                "amount": z["amount"]})
        if subsample is not None:
            log = log[log["customer_id"].isin(summary.index)]
        variants = {"exact": (cfg["freq"], cfg["freq_multiplier"])}
        if cfg.get("period_freq"):
            variants["periods"] = (cfg["period_freq"], 1)
        for name, (freq, mult) in variants.items():
            def run(freq=freq, mult=mult):
                return summary_data_from_transaction_data(
                    log, "customer_id", "date", "amount", observation_period_end=cfg["calibration_end"],
                    freq=freq, freq_multiplier=mult)
            timing, out = measure(run, repeats)
            if name == "exact":
                result.update(timing)
            out = out.sort_index()
            arrays[f"{name}_customer_id"] = out.index.to_numpy()
            for col in ("frequency", "recency", "T", "monetary_value"):
                arrays[f"{name}_{col}"] = out[col].to_numpy(dtype=float)
    elif step == "bgnbd_fit":
        timing, model = measure(lambda: BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"]),
                                repeats)
        result.update(timing, params=dict(zip(BG_NAMES, model.params_[list(BG_NAMES)].astype(float).tolist())))
    elif step == "gamma_gamma_fit":
        rep = summary[summary["frequency"] > 0]
        timing, model = measure(lambda: GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"]), repeats)
        result.update(timing, params=dict(zip(GG_NAMES, model.params_[["p", "q", "v"]].astype(float).tolist())))
    elif step == "scoring":
        bgf, ggf = BetaGeoFitter(), GammaGammaFitter()
        bgf.params_ = pd.Series(cfg["bgnbd_params"])
        gg = cfg["gamma_gamma_params"]
        ggf.params_ = pd.Series({"p": gg["p"], "q": gg["q"], "v": gg["gamma"]})
        horizon = float(cfg["horizon"])

        def score():
            x, tx, T, m = summary["frequency"], summary["recency"], summary["T"], summary["monetary_value"]
            return (bgf.conditional_expected_number_of_purchases_up_to_time(horizon, x, tx, T),
                    bgf.conditional_probability_alive(x, tx, T),
                    ggf.conditional_expected_average_profit(x, m))

        timing, (ep, pa, sp) = measure(score, repeats)
        result.update(timing)
        arrays.update(expected_purchases=np.asarray(ep, float), probability_alive=np.asarray(pa, float),
                      expected_spend=np.asarray(sp, float))
    else:
        raise ValueError(f"unknown step {step!r}")
    result["n_customers"] = len(summary)
    suffix = "" if subsample is None else "_sub"
    (workdir / f"lt_{step}{suffix}.json").write_text(json.dumps(result))
    if arrays:
        np.savez(workdir / f"lt_{step}{suffix}.npz", **arrays)


def run_lifetimes(step: str, workdir: Path, timeout: float, extrapolate_from: int, n_customers: int,
                  progress: Progress) -> dict[str, Any]:
    """Run a lifetimes step in a child process within ``timeout`` s; extrapolate if it runs out."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", step, "--workdir", str(workdir)]

    def child(extra: list[str]) -> dict[str, Any]:
        proc = subprocess.run(cmd + extra, timeout=timeout, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            return {"status": "error", "error": tail}
        suffix = "_sub" if extra else ""
        out = json.loads((workdir / f"lt_{step}{suffix}.json").read_text())
        out["status"] = "ok"
        return out

    progress(f"lifetimes {STEP_TITLES[step]} (limit {timeout:g} s)")
    try:
        return child([])
    except subprocess.TimeoutExpired:
        pass
    out: dict[str, Any] = {"status": "timeout", "timeout": timeout}
    m = min(extrapolate_from, n_customers)
    if m <= 0 or m >= n_customers:
        return out
    progress(f"lifetimes {STEP_TITLES[step]} ran out of time; timing it on {m:,} customers to extrapolate")
    try:
        sub = child(["--subsample", str(m)])
    except subprocess.TimeoutExpired:
        return out
    if sub.get("status") == "ok":
        out.update(extrapolated=True, subsample=sub["n_customers"], subsample_seconds=sub["seconds"],
                   seconds=sub["seconds"] * n_customers / sub["n_customers"], peak_mb=sub["peak_mb"],
                   growth_mb=sub["growth_mb"])
    return out


# --------------------------------------------------------------------------- one data set
def bench_dataset(name: str, log: pd.DataFrame, *, unit: str, calibration_end, horizon: float,
                  lt_freq: str, lt_freq_multiplier: int, lt_period_freq: str | None, repeats: int,
                  args, progress: Progress) -> dict[str, Any]:
    """Time the four steps for clvmodels and lifetimes on one transaction log."""
    import clvmodels as clv

    res: dict[str, Any] = {"name": name, "unit": unit, "calibration_end": str(pd.Timestamp(calibration_end).date()),
                           "horizon": horizon, "n_transactions": int(len(log)), "clvmodels": {}, "lifetimes": {},
                           "checks": {}}
    ours = res["clvmodels"]

    progress(f"{name}: clvmodels summary of {len(log):,} transactions")
    ours["summary"], s = measure(
        lambda: clv.rfm_summary(log, "customer_id", "date", "amount", unit=unit, calibration_end=calibration_end),
        repeats)
    s = s.sort_index()
    n = len(s)
    res["n_customers"] = n
    res["n_distinct_bgnbd_rows"] = int(len(s[["frequency", "recency", "T"]].drop_duplicates()))
    repeaters = s[s["frequency"] > 0]
    res["n_repeat_buyers"] = int(len(repeaters))
    res["n_distinct_gamma_gamma_rows"] = int(len(repeaters[["frequency", "monetary_value"]].drop_duplicates()))

    # the PyTensor graphs are compiled once per process; time that apart from the fits
    if not _WARM:
        start = time.perf_counter()
        with warnings.catch_warnings():  # a tiny warm-up fit may not converge; only the compile matters
            warnings.simplefilter("ignore")
            clv.BetaGeo().fit(s.iloc[:2000])
            clv.GammaGamma().fit(repeaters.iloc[:2000])
        res["compile_seconds"] = time.perf_counter() - start
        _WARM.append(True)

    progress(f"{name}: clvmodels BG/NBD fit on {n:,} customers")
    ours["bgnbd_fit"], bg = measure(lambda: clv.BetaGeo().fit(s), repeats)
    ours["bgnbd_fit"].update(params=dict(bg.params_), loglik=bg.loglik_, converged=bool(bg.converged_),
                             n_unique_rows=bg.fit_info_["n_unique_rows"])
    progress(f"{name}: clvmodels Gamma-Gamma fit on {len(repeaters):,} repeat buyers")
    ours["gamma_gamma_fit"], gg = measure(lambda: clv.GammaGamma().fit(repeaters), repeats)
    ours["gamma_gamma_fit"].update(params=dict(gg.params_), loglik=gg.loglik_, converged=bool(gg.converged_),
                                   n_unique_rows=gg.fit_info_["n_unique_rows"])
    progress(f"{name}: clvmodels scoring of {n:,} customers")
    ours["scoring"], (ep, pa, sp) = measure(
        lambda: (bg.expected_purchases(s, t=horizon), bg.probability_alive(s), gg.expected_spend(s)), repeats)

    if args.skip_lifetimes:
        return res

    with tempfile.TemporaryDirectory(prefix="clv-bench-") as tmp:
        work = Path(tmp)
        np.savez(work / "log.npz", customer_id=log["customer_id"].to_numpy(),
                 date_ns=log["date"].to_numpy().astype("datetime64[ns]").astype(np.int64),
                 amount=log["amount"].to_numpy(dtype=float))
        np.savez(work / "summary.npz", customer_id=s.index.to_numpy(),
                 **{c: s[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "monetary_value")})
        (work / "config.json").write_text(json.dumps({
            "calibration_end": str(pd.Timestamp(calibration_end).date()), "freq": lt_freq,
            "freq_multiplier": lt_freq_multiplier, "period_freq": lt_period_freq, "repeats": repeats,
            "horizon": horizon, "bgnbd_params": dict(bg.params_), "gamma_gamma_params": dict(gg.params_)}))
        lt = res["lifetimes"]
        for step in STEPS:
            lt[step] = run_lifetimes(step, work, args.lifetimes_timeout, args.extrapolate_from, n, progress)
            if lt[step].get("status") == "ok" and (work / f"lt_{step}.npz").exists():
                with np.load(work / f"lt_{step}.npz") as z:
                    lt[step]["arrays"] = {k: z[k] for k in z.files}
    res["checks"] = compare(res, s, repeaters, bg, gg, ep, pa, sp, unit=unit, period_freq=lt_period_freq)
    for step in STEPS:
        res["lifetimes"][step].pop("arrays", None)
    return res


def _max_rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))) if len(a) else 0.0


def compare(res, s, repeaters, bg, gg, ep, pa, sp, *, unit, period_freq) -> dict[str, Any]:
    """Agreement of the two libraries: summaries, optima (params and log-likelihood), scores."""
    import clvmodels as clv
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    lt, checks = res["lifetimes"], {}
    summ = lt["summary"]
    if summ.get("status") == "ok":
        z = summ["arrays"]
        same_ids = np.array_equal(z["exact_customer_id"], s.index.to_numpy())
        checks["summary_same_customers"] = bool(same_ids)
        if same_ids:
            checks["summary_max_abs_diff"] = {
                c: float(np.max(np.abs(z[f"exact_{c}"] - s[c].to_numpy()))) for c in ("frequency", "recency", "T", "monetary_value")}
        if period_freq and f"periods_frequency" in z and np.array_equal(z["periods_customer_id"], s.index.to_numpy()):
            checks["summary_whole_periods"] = {
                "freq": period_freq,
                "customers_with_other_frequency": int(np.sum(z["periods_frequency"] != s["frequency"].to_numpy())),
                "max_abs_diff_recency": float(np.max(np.abs(z["periods_recency"] - s["recency"].to_numpy()))),
                "max_abs_diff_T": float(np.max(np.abs(z["periods_T"] - s["T"].to_numpy()))),
            }
    x, tx, T = (s[c].to_numpy() for c in ("frequency", "recency", "T"))
    w = np.ones(len(s))

    def lt_bg_loglik(params):  # lifetimes' own formula, in the summary's (unscaled) time unit
        return float(-BetaGeoFitter._negative_log_likelihood(np.log([params[k] for k in BG_NAMES]), x, tx, T, w, 0.0)
                     * len(s))

    fit = lt["bgnbd_fit"]
    if fit.get("status") == "ok":
        theirs = fit["params"]
        checks["bgnbd"] = {
            "max_rel_param_diff": _max_rel([bg.params_[k] for k in BG_NAMES], [theirs[k] for k in BG_NAMES]),
            "loglik_clvmodels_fit": bg.loglik_,
            "loglik_lifetimes_fit": float(clv.BetaGeo.from_params(theirs).log_likelihood(s).sum()),
            "lifetimes_formula_at_clvmodels_fit": lt_bg_loglik(bg.params_),
            "lifetimes_formula_at_lifetimes_fit": lt_bg_loglik(theirs),
        }
    xr, mr = repeaters["frequency"].to_numpy(), repeaters["monetary_value"].to_numpy()

    def lt_gg_loglik(params):
        return float(-GammaGammaFitter._negative_log_likelihood(np.log([params[k] for k in GG_NAMES]), xr, mr,
                                                                np.ones(len(xr)), 0.0) * len(xr))

    fit = lt["gamma_gamma_fit"]
    if fit.get("status") == "ok":
        theirs = fit["params"]
        checks["gamma_gamma"] = {
            "max_rel_param_diff": _max_rel([gg.params_[k] for k in GG_NAMES], [theirs[k] for k in GG_NAMES]),
            "loglik_clvmodels_fit": gg.loglik_,
            "loglik_lifetimes_fit": float(clv.GammaGamma.from_params(theirs).log_likelihood(repeaters).sum()),
            "lifetimes_formula_at_clvmodels_fit": lt_gg_loglik(gg.params_),
            "lifetimes_formula_at_lifetimes_fit": lt_gg_loglik(theirs),
        }
    score = lt["scoring"]
    if score.get("status") == "ok":
        z = score["arrays"]
        checks["scoring_max_rel_diff"] = {
            "expected_purchases": _max_rel(ep.to_numpy(), z["expected_purchases"]),
            "probability_alive": _max_rel(pa.to_numpy(), z["probability_alive"]),
            "expected_spend": _max_rel(sp.to_numpy(), z["expected_spend"]),
        }
    return checks


# --------------------------------------------------------------------------- report
def _fmt_time(t: dict | None) -> str:
    if not t or "seconds" not in t:
        return "-"
    sec = t["seconds"]
    text = f"{sec * 1000:.1f} ms" if sec < 1 else f"{sec:.2f} s"
    return ("~" + text) if t.get("extrapolated") else text


def _fmt_mem(t: dict | None) -> str:
    if not t or "peak_mb" not in t:
        return "-"
    return f"{t['peak_mb']:.0f} (+{max(t['growth_mb'], 0):.0f})"


def _ratio(ours: dict, theirs: dict | None) -> float | None:
    if not theirs or "seconds" not in theirs:
        return None
    return theirs["seconds"] / ours["seconds"]


def report(res: dict[str, Any]) -> list[str]:
    """Lines of the results table of one data set."""
    lines = [f"\n{res['title']}",
             f"  {res['n_customers']:,} customers, {res['n_transactions']:,} transactions, unit {res['unit']}, "
             f"calibration end {res['calibration_end']}; {res['n_distinct_bgnbd_rows']:,} distinct (x, t_x, T) rows "
             f"({100 * res['n_distinct_bgnbd_rows'] / res['n_customers']:.1f}%), {res['n_repeat_buyers']:,} repeat buyers "
             f"with {res['n_distinct_gamma_gamma_rows']:,} distinct (x, m) rows"]
    if "compile_seconds" in res:
        lines.append(f"  one-off PyTensor compile of both likelihoods (first fits in the process): "
                     f"{res['compile_seconds']:.2f} s, not included below")
    header = f"  {'step':<33}{'clvmodels':>11}{'lifetimes':>13}{'speed-up':>10}   {'peak MB clv':>13}{'peak MB lt':>14}"
    lines += [header, "  " + "-" * (len(header) - 2)]
    notes = []
    ours, lt = res["clvmodels"], res["lifetimes"]
    for step in STEPS:
        theirs = lt.get(step)
        r = _ratio(ours[step], theirs)
        rtxt = "-" if r is None else (f"~{r:.1f}x" if theirs.get("extrapolated") else f"{r:.1f}x")
        if theirs and theirs.get("status") == "timeout" and "seconds" not in theirs:
            rtxt = f">{theirs['timeout'] / ours[step]['seconds']:.0f}x"
        lt_time = _fmt_time(theirs)
        if theirs and theirs.get("status") == "timeout" and "seconds" not in theirs:
            lt_time = f">{theirs['timeout']:g} s"
        if theirs and theirs.get("status") == "error":
            lt_time, rtxt = "error", "-"
            notes.append(f"lifetimes {STEP_TITLES[step]} failed: {theirs['error']}")
        if theirs and theirs.get("extrapolated"):
            notes.append(f"lifetimes {STEP_TITLES[step]}: did not finish within {theirs['timeout']:g} s; "
                         f"took {theirs['subsample_seconds']:.2f} s on {theirs['subsample']:,} customers, "
                         f"extrapolated linearly to {res['n_customers']:,}")
        lines.append(f"  {STEP_TITLES[step]:<33}{_fmt_time(ours[step]):>11}{lt_time:>13}{rtxt:>10}   "
                     f"{_fmt_mem(ours[step]):>13}{_fmt_mem(theirs):>14}")
    fit_steps = ("bgnbd_fit", "gamma_gamma_fit", "scoring")
    ours_total = sum(ours[k]["seconds"] for k in fit_steps)
    res["fit_and_scoring"] = {"clvmodels_seconds": ours_total}
    if all(lt.get(k, {}).get("seconds") is not None for k in fit_steps):
        lt_total = sum(lt[k]["seconds"] for k in fit_steps)
        approx = any(lt[k].get("extrapolated") for k in fit_steps)
        ratio = lt_total / ours_total
        res["fit_and_scoring"].update(lifetimes_seconds=lt_total, speedup=ratio, extrapolated=approx)
        lines.append(f"  {'fits + scoring':<33}{_fmt_time({'seconds': ours_total}):>11}"
                     f"{_fmt_time({'seconds': lt_total, 'extrapolated': approx}):>13}"
                     f"{('~' if approx else '') + f'{ratio:.1f}x':>10}")
    lines.append("  peak MB: peak resident memory of the process during the step (growth over its start)")
    lines += [f"  note: {n}" for n in notes]

    c = res["checks"]
    if "summary_max_abs_diff" in c:
        d = c["summary_max_abs_diff"]
        lines.append(f"  summary vs lifetimes (freq={res['lt_freq']!r}, freq_multiplier={res['lt_freq_multiplier']}): "
                     f"same customers {c['summary_same_customers']}; max |difference| "
                     + ", ".join(f"{k} {v:.2g}" for k, v in d.items()))
    if "summary_whole_periods" in c:
        p = c["summary_whole_periods"]
        lines.append(f"  lifetimes with freq={p['freq']!r} counts whole periods instead: {p['customers_with_other_frequency']:,} "
                     f"customers get another frequency (purchases in one period merge; the period holding "
                     f"calibration_end is kept whole), recency differs by up to {p['max_abs_diff_recency']:.3g} and "
                     f"T by up to {p['max_abs_diff_T']:.3g} {res['unit']}")
    for key, title, names in (("bgnbd", "BG/NBD", BG_NAMES), ("gamma_gamma", "Gamma-Gamma", GG_NAMES)):
        if key in c:
            d = c[key]
            ours_fit = res["clvmodels"][f"{key}_fit"]
            lines.append(f"  {title} optimum: clvmodels " + ", ".join(f"{k}={ours_fit['params'][k]:.6g}" for k in names)
                         + f" (converged {ours_fit['converged']}, {ours_fit['n_unique_rows']:,} distinct rows); "
                         f"max relative parameter difference to lifetimes {d['max_rel_param_diff']:.1e}")
            lines.append(f"    log-likelihood at clvmodels' / lifetimes' estimates: {d['loglik_clvmodels_fit']:.4f} / "
                         f"{d['loglik_lifetimes_fit']:.4f} (clvmodels formula; difference "
                         f"{d['loglik_clvmodels_fit'] - d['loglik_lifetimes_fit']:+.1e}), "
                         f"{d['lifetimes_formula_at_clvmodels_fit']:.4f} / {d['lifetimes_formula_at_lifetimes_fit']:.4f} "
                         f"(lifetimes formula; difference "
                         f"{d['lifetimes_formula_at_clvmodels_fit'] - d['lifetimes_formula_at_lifetimes_fit']:+.1e})")
    if "scoring_max_rel_diff" in c:
        lines.append("  scores at the same parameters, max relative difference per customer: "
                     + ", ".join(f"{k} {v:.1e}" for k, v in c["scoring_max_rel_diff"].items()))
    return lines


def machine_info() -> dict[str, Any]:
    import clvmodels

    versions = {"python": platform.python_version(), "clvmodels": clvmodels.__version__}
    for mod in ("numpy", "scipy", "pandas", "pytensor", "lifetimes"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # lifetimes is optional
            versions[mod] = None
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "platform": platform.platform(),
            "cpu": cpu, "cpu_count": os.cpu_count(), "load_average_at_start": os.getloadavg(), "versions": versions}


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000, help="customers in the simulated log (default 1,000,000)")
    ap.add_argument("--lifetimes-timeout", type=float, default=900.0,
                    help="time limit in seconds for each lifetimes step (default 900)")
    ap.add_argument("--extrapolate-from", type=int, default=100_000,
                    help="when a lifetimes step runs out of time, time it on this many customers and extrapolate "
                         "linearly (0: do not; default 100,000)")
    ap.add_argument("--skip-lifetimes", action="store_true", help="time clvmodels only")
    ap.add_argument("--skip-cdnow", action="store_true", help="only the simulated log")
    ap.add_argument("--repeats", type=int, default=5, help="calls per step on CDNOW (median reported; default 5)")
    ap.add_argument("--seed", type=int, default=2024, help="seed of the simulated log")
    ap.add_argument("--json", nargs="?", const="auto", default=None, metavar="PATH",
                    help="also write the results as JSON (default path benchmarks/results/foundation-<time>.json)")
    ap.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="one line per step on stderr (default: on from 100,000 customers)")
    ap.add_argument("--worker", choices=STEPS, help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--subsample", type=int, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    return obj


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.worker:
        _lifetimes_step(args.worker, args.workdir, args.subsample)
        return {}
    if not args.skip_lifetimes:
        try:
            import lifetimes  # noqa: F401
        except ImportError:
            sys.exit("lifetimes is not installed (pip install 'clvmodels[lifetimes]'); or pass --skip-lifetimes.")
    import clvmodels as clv

    progress = Progress(args.progress if args.progress is not None else args.customers >= 100_000)
    results: dict[str, Any] = {"machine": machine_info(), "arguments": {k: v for k, v in vars(args).items()
                                                                         if k not in ("worker", "workdir", "subsample")}}
    lines = [f"clvmodels {results['machine']['versions']['clvmodels']} vs lifetimes "
             f"{results['machine']['versions']['lifetimes']}; {results['machine']['cpu']}, "
             f"{results['machine']['cpu_count']} CPUs, load average {os.getloadavg()[0]:.2f} at start; "
             f"{results['machine']['date_utc']}"]
    datasets = []
    if not args.skip_cdnow:
        tx = clv.datasets.load_cdnow()
        res = bench_dataset("cdnow", tx, unit="W", calibration_end="1997-09-30", horizon=39.0, lt_freq="D",
                            lt_freq_multiplier=7, lt_period_freq="W", repeats=args.repeats, args=args, progress=progress)
        res.update(title="CDNOW sample (weeks; scoring horizon 39 weeks)", lt_freq="D", lt_freq_multiplier=7)
        lines += report(res)
        datasets.append(res)
    if args.customers > 0:
        setup = SimulationSetup()
        progress(f"simulating a log of {args.customers:,} customers")
        start = time.perf_counter()
        log = simulate_log(args.customers, setup, seed=args.seed)
        sim_seconds = time.perf_counter() - start
        # the summary refuses a calibration end after the last purchase (small logs may lack one on the last day)
        cal_end = min(setup.observation_end, log["date"].max())
        res = bench_dataset("simulated", log, unit="D", calibration_end=cal_end, horizon=365.0, lt_freq="D",
                            lt_freq_multiplier=1, lt_period_freq=None, repeats=1, args=args, progress=progress)
        res.update(title=f"Simulated log (days; scoring horizon 365 days; simulated in {sim_seconds:.1f} s)",
                   lt_freq="D", lt_freq_multiplier=1,
                   simulation={"setup": {k: getattr(setup, k) for k in setup.__dataclass_fields__}, "seed": args.seed})
        lines += report(res)
        lines.append(f"  simulation: BG/NBD r={setup.r}, alpha={setup.alpha} days, a={setup.a}, b={setup.b}; "
                     f"Gamma-Gamma p={setup.p}, q={setup.q}, gamma={setup.gamma}; acquisitions uniform over "
                     f"{setup.acquisition_days} days, window {setup.window_days} days from {setup.start}")
        if "speedup" in res.get("fit_and_scoring", {}):
            fs = res["fit_and_scoring"]
            lines.append(f"  goal, fits + scoring >= 10x faster than lifetimes on {res['n_customers']:,} customers: "
                         f"{'met' if fs['speedup'] >= 10 else 'NOT met'} ({'~' if fs['extrapolated'] else ''}"
                         f"{fs['speedup']:.1f}x)")
        datasets.append(res)
    results["datasets"] = datasets
    results["machine"]["load_average_at_end"] = os.getloadavg()
    lines.append(f"\nload average at end {os.getloadavg()[0]:.2f}")
    print("\n".join(lines))
    if args.json:
        path = (HERE / "results" / f"foundation-{datetime.now(UTC):%Y%m%dT%H%M%S}.json" if args.json == "auto"
                else Path(args.json))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_jsonable(results), indent=2, default=str))
        print(f"results written to {path}")
    return results


if __name__ == "__main__":
    main()
