"""Benchmark of the Bayesian engine against PyMC-Marketing, printing figures and ratios in one run.

1. NUTS on the CDNOW sample (BG/NBD), 4 chains x 1,000 draws after 1,000 tuning steps: wall
   time of the whole fit (compilation included) and minimum bulk ESS per second, clvmodels
   with the PyMC sampler and with nutpie, and PyMC-Marketing's ``BetaGeoModel`` with the same
   draws and the same (PyMC) sampler.
2. Per-customer posterior CLV (12 months, 1 % monthly discount) for 100,000 simulated
   customers x 4,000 draws: time and peak memory of clvmodels' ``lifetime_value`` against
   PyMC-Marketing's ``GammaGammaModel.expected_customer_lifetime_value`` (run under an address
   space limit, and also at 10,000 customers where it fits).
3. The issue's memory bound: per-customer CLV summaries of 1,000,000 customers from 1,000
   draws, peak memory of the whole process.

Each CLV measurement runs in a fresh process and reports that process's peak resident memory
(``ru_maxrss``, imports included) and the increase over its resident memory just before the
call. Customers are simulated from the CDNOW BG/NBD and Gamma-Gamma estimates on the day grid
that ``clvmodels.rfm_summary`` produces (calibration 39 weeks, first purchases over 12 weeks).

PyMC-Marketing 1.3 requires ``pymc<6.4`` while clvmodels' environment has pymc 6.4, so it runs
from its own virtual environment: set ``PMM_PYTHON`` to its interpreter (default
``/tmp/pmm_venv/bin/python``, created with ``python3.12 -m venv /tmp/pmm_venv &&
/tmp/pmm_venv/bin/pip install pymc-marketing``). Without it, only clvmodels' figures print.

Usage::

    .venv/bin/python benchmarks/bench_bayes.py            # the full benchmark (about 15 min on 2 cores)
    .venv/bin/python benchmarks/bench_bayes.py --quick    # reduced sizes, to check that it runs
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
PMM_PYTHON = os.environ.get("PMM_PYTHON", "/tmp/pmm_venv/bin/python")
BG_MLE = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}  # FHL (2005), CDNOW weeks
GG_MLE = {"p": 6.25, "q": 3.74, "gamma": 15.44}  # Fader & Hardie (2013)


def rss_mib() -> float:
    """Current resident memory of this process (Linux /proc), MiB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- data
def simulate_customers(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """CDNOW-like customers on a day grid (weeks as days / 7), with mean repeat spend."""
    from clvmodels.models import bgnbd, gamma_gamma

    rng = np.random.default_rng(seed)
    first_day = rng.integers(0, 84, n)
    T = (273 - first_day) / 7.0
    d = bgnbd.simulate(rng, n, **BG_MLE, T=T)
    recency = np.floor(d["recency"] * 7.0 + 1e-9) / 7.0
    x = d["frequency"]
    spend = np.zeros(n)
    buyers = x > 0
    spend[buyers] = gamma_gamma.simulate(rng, int(buyers.sum()), **GG_MLE, frequency=x[buyers])["monetary_value"]
    return {"customer_id": np.arange(n), "frequency": x, "recency": recency, "T": T, "monetary_value": spend}


def cdnow_summary():
    import clvmodels as clv

    return clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
                           calibration_end="1997-09-30")


# --------------------------------------------------------------------------- workers (fresh processes)
def worker_ours_clv(args) -> dict:
    import pandas as pd

    import clvmodels as clv

    bg = clv.load_model(args.bg)
    gg = clv.load_model(args.gg)
    d = np.load(args.data)
    frame = pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T", "monetary_value")},
                         index=pd.Index(d["customer_id"], name="customer_id"))
    draws = bg.posterior_["posterior"].sizes["chain"] * bg.posterior_["posterior"].sizes["draw"]
    before = rss_mib()
    t0 = time.perf_counter()
    out = clv.lifetime_value(bg, gg, frame, horizon=12, unit="M", discount_rate=0.01, model_unit="W")
    elapsed = time.perf_counter() - t0
    from clvmodels.data.compress import compress

    n_rows = len(compress({k: frame[k].to_numpy() for k in ("frequency", "recency", "T")})[1])
    return {"seconds": elapsed, "peak_mib": peak_mib(), "before_mib": before, "customers": len(frame),
            "draws": int(draws), "distinct_rows": n_rows, "mean_clv": float(out["mean"].mean())}


def worker_pmm_fit(args) -> dict:
    import arviz as az
    import pandas as pd
    import pymc_marketing
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    d = np.load(args.data)
    frame = pd.DataFrame({k: d[k] for k in ("customer_id", "frequency", "recency", "T", "monetary_value")})
    model = BetaGeoModel()
    t0 = time.perf_counter()
    # PyMC-Marketing 1.3 passes fit(**kwargs) to pm.sample (its sample_kwargs is ignored for "mcmc")
    model.fit(frame[["customer_id", "frequency", "recency", "T"]], method="mcmc", progressbar=False,
              random_seed=1, draws=args.draws, tune=args.tune, chains=args.chains)
    elapsed = time.perf_counter() - t0
    post = model.idata["posterior"].to_dataset()[["r", "alpha", "a", "b"]]
    ess = az.ess(post, method="bulk")
    min_ess = min(float(ess[v]) for v in ess.data_vars)
    model.save(args.out_bg)
    rb = frame[frame["frequency"] > 0]
    gg = GammaGammaModel()
    gg.fit(rb[["customer_id", "frequency", "monetary_value"]], method="mcmc", progressbar=False, random_seed=2,
           draws=args.draws, tune=args.tune, chains=args.chains)
    gg.save(args.out_gg)
    return {"seconds": elapsed, "min_ess_bulk": min_ess, "version": pymc_marketing.__version__,
            "draws": int(post.sizes["chain"] * post.sizes["draw"]),
            "means": {k: float(post[k].mean()) for k in ("r", "alpha", "a", "b")}}


def worker_pmm_clv(args) -> dict:
    import pandas as pd
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    if args.limit_gib:
        lim = int(args.limit_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    bg = BetaGeoModel.load(args.bg)
    gg = GammaGammaModel.load(args.gg)
    d = np.load(args.data)
    frame = pd.DataFrame({k: d[k] for k in ("customer_id", "frequency", "recency", "T", "monetary_value")})
    before = rss_mib()
    t0 = time.perf_counter()
    try:
        out = gg.expected_customer_lifetime_value(transaction_model=bg, data=frame, future_t=12, discount_rate=0.01,
                                                  time_unit="W")
        # the same per-customer summary clvmodels returns
        mean = out.mean(("chain", "draw"))
        out.std(("chain", "draw"))
        status = "ok"
        mean_clv = float(mean.mean())
    except MemoryError:
        status, mean_clv = f"MemoryError under a {args.limit_gib:g} GiB address-space limit", float("nan")
    elapsed = time.perf_counter() - t0
    draws = bg.idata["posterior"].sizes["chain"] * bg.idata["posterior"].sizes["draw"]
    return {"seconds": elapsed, "peak_mib": peak_mib(), "before_mib": before, "customers": len(frame),
            "draws": int(draws), "status": status, "mean_clv": mean_clv}


def run_worker(python: str, name: str, **kw) -> dict:
    cmd = [python, str(HERE), "--worker", name] + [f"--{k.replace('_', '-')}={v}" for k, v in kw.items()]
    res = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    if res.returncode != 0 or not lines:
        return {"error": (res.stderr.strip().splitlines() or ["no output"])[-1], "returncode": res.returncode}
    return json.loads(lines[-1][len("RESULT "):])


# --------------------------------------------------------------------------- the benchmark
def nuts_ours(s, sampler: str, draws: int, tune: int, chains: int):
    import clvmodels as clv

    t0 = time.perf_counter()
    bg = clv.BetaGeo().sample(s, draws=draws, tune=tune, chains=chains, random_seed=1, sampler=sampler, progressbar=False)
    elapsed = time.perf_counter() - t0
    table = bg.diagnostics()
    min_ess = float(table.query("check == 'ess_bulk'")["value"].min())
    max_rhat = float(table.query("check == 'r_hat'")["value"].max())
    return bg, elapsed, min_ess, max_rhat


def thin_to(model, n_draws: int):
    """A copy of a posterior model keeping ``n_draws`` draws (evenly over the chains)."""
    from clvmodels.fit import Posterior

    tree = model.posterior_.copy()
    post = tree["posterior"].to_dataset()
    per_chain = max(1, n_draws // post.sizes["chain"])
    step = max(1, post.sizes["draw"] // per_chain)
    tree["posterior"] = tree["posterior"].to_dataset().isel(draw=slice(0, step * per_chain, step))
    for group in ("log_likelihood", "sample_stats"):
        if group in tree.children:
            del tree[group]
    return type(model).from_fit(Posterior(model.spec, tree, unit=model.unit_, fingerprint=model.data_fingerprint_,
                                          n_customers=model.n_customers_))


def main(quick: bool, parts: str = "123") -> None:
    import clvmodels as clv

    draws, tune, chains = (200, 200, 2) if quick else (1000, 1000, 4)
    n_clv, n_pmm_small, n_big, big_draws = (5_000, 2_000, 50_000, 200) if quick else (100_000, 2_000, 1_000_000, 1000)
    if "1" not in parts and "2" not in parts:
        # the memory bound only needs 1,000 draws of a converged posterior
        draws, tune, chains = max(draws, big_draws // 2), 500, 2
    have_pmm = Path(PMM_PYTHON).exists()
    tmp = Path(tempfile.mkdtemp(prefix="bench_bayes_"))
    print(f"clvmodels {clv.__version__}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}; "
          f"{'QUICK (reduced sizes)' if quick else 'full sizes'}")

    # 1. NUTS on CDNOW
    s = cdnow_summary()
    if "1" not in parts:
        bg = clv.BetaGeo().sample(s, draws=draws, tune=tune, chains=chains, random_seed=1, progressbar=False)
        pmm = None
    else:
        bg, pmm = _part1(s, draws, tune, chains, have_pmm, tmp)
    gg = clv.GammaGamma().sample(s[s["frequency"] > 0], draws=draws, tune=tune, chains=chains, random_seed=2,
                                 progressbar=False)
    if "2" in parts:
        _part2(bg, gg, pmm, quick, draws, chains, n_pmm_small, n_clv, tmp)
    if "3" in parts:
        _part3(bg, gg, n_big, big_draws, tmp)


def _part1(s, draws, tune, chains, have_pmm, tmp):
    print(f"\n1. BG/NBD NUTS on CDNOW ({len(s)} customers), {chains} chains x {draws} draws after {tune} tuning")
    rows = []
    bg, sec, ess, rhat = nuts_ours(s, "pymc", draws, tune, chains)
    rows.append(("clvmodels, PyMC NUTS (dense mass matrix)", sec, ess, rhat))
    try:
        _, sec2, ess2, rhat2 = nuts_ours(s, "nutpie", draws, tune, chains)
        rows.append(("clvmodels, nutpie (low-rank mass matrix)", sec2, ess2, rhat2))
    except ImportError as exc:
        print(f"   nutpie: {exc}")
    pmm = None
    cdnow_npz = tmp / "cdnow.npz"
    np.savez(cdnow_npz, customer_id=s.index.to_numpy(), frequency=s["frequency"].to_numpy(),
             recency=s["recency"].to_numpy(), T=s["T"].to_numpy(), monetary_value=s["monetary_value"].to_numpy())
    if have_pmm:
        pmm = run_worker(PMM_PYTHON, "pmm-fit", data=cdnow_npz, draws=draws, tune=tune, chains=chains,
                         out_bg=tmp / "pmm_bg.nc", out_gg=tmp / "pmm_gg.nc")
        if "error" in pmm:
            print(f"   PyMC-Marketing failed: {pmm['error']}")
        else:
            rows.append((f"PyMC-Marketing {pmm['version']} BetaGeoModel, PyMC NUTS ({pmm['draws']} draws)", pmm["seconds"], pmm["min_ess_bulk"], float("nan")))
    else:
        print(f"   PyMC-Marketing: no interpreter at {PMM_PYTHON} (set PMM_PYTHON); its figures are left out")
    print(f"   {'fit':48s} {'wall s':>8s} {'min bulk ESS':>13s} {'ESS/s':>8s} {'max R-hat':>10s}")
    for name, sec_, ess_, rhat_ in rows:
        print(f"   {name:48s} {sec_:8.1f} {ess_:13.0f} {ess_ / sec_:8.1f} {rhat_:10.4f}")
    if pmm and "error" not in pmm:
        base = pmm["min_ess_bulk"] / pmm["seconds"]
        for name, sec_, ess_, _ in rows[:-1]:
            print(f"   ratio ESS/s {name} / PyMC-Marketing: {ess_ / sec_ / base:.1f}x")
    return bg, pmm


def show(name, r):
    if "error" in r:
        print(f"   {name:48s} failed: {r['error']}")
        return
    note = r.get("status", "") if r.get("status", "ok") != "ok" else ""
    if "distinct_rows" in r:
        note = f"{r['distinct_rows']} distinct (x, t_x, T) rows"
    print(f"   {name:48s} {r['customers']:10d} {r['draws']:6d} {r['seconds']:8.1f} {r['peak_mib']:9.0f} "
          f"{r['peak_mib'] - r['before_mib']:7.0f}  {note}")


def _part2(bg, gg, pmm, quick, draws, chains, n_pmm_small, n_clv, tmp):
    n_draws_clv = 4000 if not quick else draws * chains
    bg_path, gg_path = tmp / "bg.nc", tmp / "gg.nc"
    thin_to(bg, n_draws_clv).save(bg_path)
    thin_to(gg, n_draws_clv).save(gg_path)
    print(f"\n2. Posterior CLV (12 months, 1% monthly discount) per customer, {n_draws_clv} draws")
    print(f"   {'run':48s} {'customers':>10s} {'draws':>6s} {'seconds':>8s} {'peak MiB':>9s} {'+MiB':>7s}  note")

    results = {}
    for n in (n_pmm_small, n_clv):
        path = tmp / f"cust_{n}.npz"
        np.savez(path, **simulate_customers(n, seed=n))
        results[("ours", n)] = run_worker(sys.executable, "ours-clv", bg=bg_path, gg=gg_path, data=path)
        show("clvmodels lifetime_value", results[("ours", n)])
        if pmm and "error" not in pmm:
            results[("pmm", n)] = run_worker(PMM_PYTHON, "pmm-clv", bg=tmp / "pmm_bg.nc", gg=tmp / "pmm_gg.nc", data=path,
                                             limit_gib=12)
            show("PyMC-Marketing expected_customer_lifetime_value", results[("pmm", n)])
            a, b = results[("ours", n)], results[("pmm", n)]
            if "error" not in a and "error" not in b and b.get("status") == "ok":
                print(f"   ratios at {n} customers: {b['seconds'] / a['seconds']:.1f}x faster, "
                      f"{(b['peak_mib'] - b['before_mib']) / max(1.0, a['peak_mib'] - a['before_mib']):.1f}x less added memory, "
                      f"{b['peak_mib'] / a['peak_mib']:.1f}x less peak memory")



def _part3(bg, gg, n_big, big_draws, tmp):
    print(f"\n3. Memory bound: {n_big} customers x {big_draws} draws")
    thin_to(bg, big_draws).save(tmp / "bg_big.nc")
    thin_to(gg, big_draws).save(tmp / "gg_big.nc")
    path = tmp / "cust_big.npz"
    np.savez(path, **simulate_customers(n_big, seed=7))
    big = run_worker(sys.executable, "ours-clv", bg=tmp / "bg_big.nc", gg=tmp / "gg_big.nc", data=path)
    show("clvmodels lifetime_value", big)
    if "error" not in big:
        print(f"   peak {big['peak_mib'] / 1024:.2f} GiB of the 2 GiB budget (whole process, imports included)")


def _worker_main(argv) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--worker", required=True)
    for name in ("bg", "gg", "data", "out-bg", "out-gg"):
        p.add_argument(f"--{name}")
    for name in ("draws", "tune", "chains"):
        p.add_argument(f"--{name}", type=int)
    p.add_argument("--limit-gib", type=float, default=0.0)
    args = p.parse_args(argv)
    fn = {"ours-clv": worker_ours_clv, "pmm-fit": worker_pmm_fit, "pmm-clv": worker_pmm_clv}[args.worker]
    print("RESULT " + json.dumps(fn(args)), flush=True)


if __name__ == "__main__":
    if "--worker" in sys.argv:
        _worker_main(sys.argv[1:])
    else:
        parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
        parser.add_argument("--quick", action="store_true", help="reduced sizes, to check that the benchmark runs")
        parser.add_argument("--parts", default="123", help="which parts to run, e.g. '3' for the memory bound only")
        a = parser.parse_args()
        main(a.quick, a.parts)
