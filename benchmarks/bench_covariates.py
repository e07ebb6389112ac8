"""Covariate models' fit time against the plain model's (issue 13), and NUTS on the apparel data.

Simulates ``--customers`` customers (default 1,000,000) of BG/NBD and of Pareto/NBD in weeks
with two covariates acting on both processes (``z1`` binary, ``z2`` standard normal:
continuous, so no two customers share a row and compression cannot help), fits the plain
model and the covariate model by maximum likelihood on the same rows, and prints the times,
their ratio (goal: at most 3x), and the covariate estimates against the truth. Then, unless
``--skip-nuts``, NUTS on the 600 apparel customers (``../shared/data``) with gender and
channel on both processes.

Usage::

    python benchmarks/bench_covariates.py [--customers 1000000] [--binary] [--models bgnbd pareto_nbd]
                                          [--skip-nuts] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"

TRUE = {
    "bgnbd": ({"r": 0.8, "alpha": 6.0, "a": 0.9, "b": 3.0},
              {"purchase:z1": 0.4, "purchase:z2": -0.25, "dropout_a:z1": 0.3, "dropout_a:z2": 0.0,
               "dropout_b:z1": -0.2, "dropout_b:z2": 0.15}),
    "pareto_nbd": ({"r": 0.8, "alpha": 6.0, "s": 0.7, "beta": 12.0},
                   {"purchase:z1": 0.4, "purchase:z2": -0.25, "dropout:z1": -0.3, "dropout:z2": 0.2}),
}


def simulate(model: str, n: int, seed: int = 0, binary: bool = False) -> pd.DataFrame:
    """A summary of ``n`` customers drawn from ``model`` with covariates z1 (0/1) and z2 (normal,
    or 0/1 with ``binary``)."""
    rng = np.random.default_rng(seed)
    base, coef = TRUE[model]
    z1 = rng.integers(0, 2, n).astype(float)
    z2 = rng.integers(0, 2, n).astype(float) if binary else rng.standard_normal(n)
    T = np.round(rng.uniform(1.0, 78.0, n) * 7) / 7  # whole days, in weeks
    alpha = base["alpha"] * np.exp(-(coef["purchase:z1"] * z1 + coef["purchase:z2"] * z2))
    lam = rng.gamma(base["r"], 1.0 / alpha)
    if model == "bgnbd":
        a = base["a"] * np.exp(coef["dropout_a:z1"] * z1 + coef["dropout_a:z2"] * z2)
        b = base["b"] * np.exp(coef["dropout_b:z1"] * z1 + coef["dropout_b:z2"] * z2)
        p = rng.beta(a, b)
        n_events = rng.poisson(lam * T)
        alive_for = rng.geometric(p)  # the purchase after which the customer drops out
        x = np.minimum(n_events, alive_for)
        # the x-th of n_events uniform purchase times on (0, T)
        tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(n_events - x + 1, 1)), 0.0)
    else:
        beta = base["beta"] * np.exp(-(coef["dropout:z1"] * z1 + coef["dropout:z2"] * z2))
        end = np.minimum(rng.exponential(1.0 / rng.gamma(base["s"], 1.0 / beta)), T)
        x = rng.poisson(lam * end)
        tx = np.where(x > 0, end * rng.beta(np.maximum(x, 1), 1.0), 0.0)
    return pd.DataFrame({"frequency": x.astype(float), "recency": tx, "T": T, "z1": z1, "z2": z2},
                        index=pd.RangeIndex(n, name="customer_id"))


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_mle(n: int, binary: bool = False, models=("bgnbd", "pareto_nbd")) -> list[dict]:
    import clvmodels as clv

    rows = []
    for model, cls in (("bgnbd", clv.BetaGeo), ("pareto_nbd", clv.ParetoNBD)):
        if model not in models:
            continue
        s = simulate(model, n, binary=binary)
        covs = {"purchase_covariates": ["z1", "z2"], "dropout_covariates": ["z1", "z2"]}
        # compile both graphs on a small subset first: the one-off cost is printed apart
        _, compile_plain = _timed(lambda: cls().fit(s.iloc[:2000]))
        _, compile_cov = _timed(lambda: cls(**covs).fit(s.iloc[:2000]))
        plain, t_plain = _timed(lambda: cls().fit(s))
        with_cov, t_cov = _timed(lambda: cls(**covs).fit(s))
        truth = TRUE[model][1]
        z = {k: (with_cov.params_[k] - v) / with_cov.se_[k] for k, v in truth.items()}
        rows.append({"model": model, "customers": n, "plain_s": t_plain, "covariates_s": t_cov,
                     "ratio": t_cov / t_plain, "compile_plain_s": compile_plain, "compile_covariates_s": compile_cov,
                     "converged": bool(with_cov.converged_), "max_abs_z": float(max(abs(v) for v in z.values())),
                     "loglik_gain": float(with_cov.loglik_ - plain.loglik_)})
        rows[-1]["z2"] = "binary" if binary else "normal"
        print(f"{model:11s} {n:>10,} customers, z2 {rows[-1]['z2']}: plain {t_plain:6.2f} s, 2 covariates on both processes "
              f"{t_cov:6.2f} s = {t_cov / t_plain:4.2f}x (goal <= 3x); first fits incl. compile "
              f"{compile_plain:.1f} s / {compile_cov:.1f} s; converged {with_cov.converged_}, "
              f"largest |estimate - truth| / SE = {rows[-1]['max_abs_z']:.2f}", flush=True)
    return rows


def run_nuts(draws: int = 1000, tune: int = 1000, chains: int = 2) -> list[dict]:
    import clvmodels as clv

    tx = pd.read_csv(SHARED / "apparel_transactions.csv")
    cov = pd.read_csv(SHARED / "apparel_customers.csv")
    s = clv.join_covariates(clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W",
                                            calibration_end="2007-12-31"), cov, customer="customer_id")
    rows = []
    for cls in (clv.BetaGeo, clv.ParetoNBD):
        model = cls(purchase_covariates=["gender", "channel"], dropout_covariates=["gender", "channel"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted, seconds = _timed(lambda: model.sample(s, draws=draws, tune=tune, chains=chains, random_seed=1,
                                                          progressbar=False))
        diag = fitted.summary()
        rows.append({"model": cls.spec.name, "draws": draws, "tune": tune, "chains": chains, "seconds": seconds,
                     "max_r_hat": float(diag["r_hat"].max()), "min_ess_bulk": float(diag["ess_bulk"].min())})
        print(f"NUTS {cls.spec.title:11s} apparel (600 customers, 4 coefficients): {chains} x ({tune} + {draws}) in "
              f"{seconds:.1f} s, max r_hat {rows[-1]['max_r_hat']:.3f}, min ESS {rows[-1]['min_ess_bulk']:.0f}",
              flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--skip-nuts", action="store_true")
    parser.add_argument("--binary", action="store_true", help="both covariates 0/1 (rows compress), not z2 normal")
    parser.add_argument("--models", nargs="+", default=["bgnbd", "pareto_nbd"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    out = {"mle": run_mle(args.customers, binary=args.binary, models=args.models)}
    if not args.skip_nuts:
        out["nuts"] = run_nuts()
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
