"""Recovery of covariate coefficients: MLE within 3 standard errors, Bayesian 94% HDI coverage.

Issue 13, "Must show": data simulated from known coefficients (two covariates, one binary and
one continuous; 10,000 customers) must give maximum-likelihood estimates within 3 standard
errors of the truth in at least 95% of replicates, and the posterior's 94% HDI must cover
the truth in about 94% of replicates.

The simulator below writes each customer's parameters by hand (``theta_i = theta_0 *
exp(sign * gamma' z_i)``, the links of Fader & Hardie 2007) and draws from the plain model's
generative process (``spec.simulate``, which takes per-customer parameter arrays); it does
not call :func:`clvmodels.models.covariates.individual_params`, so a wrong link in the
library shows up as a failed recovery. ``tests/test_covariates.py`` runs one replicate per
model of the same study.

Usage::

    PYTHONPATH=. python benchmarks/covariate_recovery.py                 # 40 MLE replicates per model
    PYTHONPATH=. python benchmarks/covariate_recovery.py --replicates 10 --bayes 30
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import clvmodels as clv
from clvmodels.models import bgnbd, gamma_gamma, mbgnbd, pareto_nbd

COVARIATES = ("female", "age")

#: Per model: the estimator, the plain spec, the design, the true parameters (baseline values
#: and coefficients, named as the estimator names them) and the hand-written links
#: (parameter, sign, {covariate: coefficient name}).
CASES = {
    "bgnbd": dict(
        estimator=clv.BetaGeo, spec=bgnbd.SPEC,
        design={"purchase_covariates": COVARIATES, "dropout_covariates": COVARIATES},
        truth={"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5, "purchase:female": 0.4, "purchase:age": -0.3,
               "dropout_a:female": 0.3, "dropout_b:female": -0.3, "dropout_a:age": 0.2, "dropout_b:age": -0.2},
        links=(("alpha", -1.0, {"female": "purchase:female", "age": "purchase:age"}),
               ("a", 1.0, {"female": "dropout_a:female", "age": "dropout_a:age"}),
               ("b", 1.0, {"female": "dropout_b:female", "age": "dropout_b:age"})),
    ),
    "mbgnbd": dict(
        estimator=clv.ModifiedBetaGeo, spec=mbgnbd.SPEC,
        design={"purchase_covariates": COVARIATES, "dropout_covariates": COVARIATES},
        truth={"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6, "purchase:female": 0.4, "purchase:age": -0.3,
               "dropout_a:female": 0.3, "dropout_b:female": -0.3, "dropout_a:age": 0.2, "dropout_b:age": -0.2},
        links=(("alpha", -1.0, {"female": "purchase:female", "age": "purchase:age"}),
               ("a", 1.0, {"female": "dropout_a:female", "age": "dropout_a:age"}),
               ("b", 1.0, {"female": "dropout_b:female", "age": "dropout_b:age"})),
    ),
    "pareto_nbd": dict(
        estimator=clv.ParetoNBD, spec=pareto_nbd.SPEC,
        design={"purchase_covariates": COVARIATES, "dropout_covariates": COVARIATES},
        truth={"r": 0.55, "alpha": 10.5, "s": 0.6, "beta": 11.7, "purchase:female": 0.4, "purchase:age": -0.3,
               "dropout:female": -0.5, "dropout:age": 0.3},
        links=(("alpha", -1.0, {"female": "purchase:female", "age": "purchase:age"}),
               ("beta", -1.0, {"female": "dropout:female", "age": "dropout:age"})),
    ),
    "gamma_gamma": dict(
        estimator=clv.GammaGamma, spec=gamma_gamma.SPEC,
        design={"spend_covariates": COVARIATES},
        truth={"p": 6.25, "q": 3.74, "gamma": 15.44, "spend:female": 0.3, "spend:age": -0.2},
        links=(("gamma", 1.0, {"female": "spend:female", "age": "spend:age"}),),
    ),
}


def customer_params(case: dict, truth: dict, z: dict[str, np.ndarray]) -> dict[str, np.ndarray | float]:
    """Each customer's plain-model parameters, ``theta_0 * exp(sign * sum_k gamma_k z_k)``, by hand."""
    out = {name: truth[name] for name in case["spec"].param_names}
    for param, sign, coefs in case["links"]:
        exponent = sum(truth[coef] * z[col] for col, coef in coefs.items())
        out[param] = truth[param] * np.exp(sign * exponent)
    return out


def simulate(name: str, n: int, seed: int, truth: dict | None = None) -> pd.DataFrame:
    """A summary of ``n`` customers with covariates ``female`` (0/1) and ``age`` (standardised)."""
    case = CASES[name]
    truth = case["truth"] if truth is None else truth
    rng = np.random.default_rng(seed)
    z = {"female": rng.integers(0, 2, n).astype(float), "age": rng.normal(0.0, 1.0, n)}
    params = customer_params(case, truth, z)
    if name == "gamma_gamma":
        data = case["spec"].simulate(rng, n, **params, frequency=rng.integers(1, 11, n))
    else:
        data = case["spec"].simulate(rng, n, **params, T=rng.uniform(30.0, 78.0, n))
        data.pop("alive")
    frame = pd.DataFrame(data, index=pd.Index(np.arange(n), name="customer_id"))
    for col in COVARIATES:
        frame[col] = z[col]
    frame.attrs["unit"] = "W"
    return frame


def fit_once(name: str, n: int, seed: int):
    """One replicate: the fitted model and, per parameter, (estimate - truth) / SE."""
    case = CASES[name]
    data = simulate(name, n, seed)
    model = case["estimator"](**case["design"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a replicate's warnings are counted as non-convergence below
        model.fit(data)
    z = {k: (model.params_[k] - v) / model.se_[k] for k, v in case["truth"].items()}
    return model, z


def mle_study(replicates: int, n: int) -> pd.DataFrame:
    rows = []
    for name in CASES:
        start, converged, zs = time.perf_counter(), 0, []
        for rep in range(replicates):
            model, z = fit_once(name, n, seed=1000 + rep)
            converged += bool(model.converged_)
            zs.append(z)
        seconds = (time.perf_counter() - start) / replicates
        zs = pd.DataFrame(zs)
        for param in zs.columns:
            rows.append({"model": name, "parameter": param, "replicates": replicates, "converged": converged,
                         "within 3 SE": float((zs[param].abs() <= 3).mean()),
                         "within 1.96 SE": float((zs[param].abs() <= 1.96).mean()),
                         "mean z": float(zs[param].mean()), "sd z": float(zs[param].std()),
                         "max |z|": float(zs[param].abs().max()), "s per fit": round(seconds, 2)})
        # the stricter reading: every parameter of a replicate within 3 SE at once
        worst = zs.abs().max(axis=1)
        rows.append({"model": name, "parameter": "(all at once)", "replicates": replicates, "converged": converged,
                     "within 3 SE": float((worst <= 3).mean()), "within 1.96 SE": float((worst <= 1.96).mean()),
                     "mean z": np.nan, "sd z": np.nan, "max |z|": float(worst.max()), "s per fit": round(seconds, 2)})
    return pd.DataFrame(rows)


def bayes_study(replicates: int, n: int, draws: int, tune: int, chains: int) -> pd.DataFrame:
    """BG/NBD: share of replicates whose 94% HDI covers each true parameter."""
    case = CASES["bgnbd"]
    hits, times, rhat = [], [], []
    for rep in range(replicates):
        data = simulate("bgnbd", n, seed=5000 + rep)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = case["estimator"](**case["design"]).sample(data, draws=draws, tune=tune, chains=chains,
                                                               random_seed=rep, progressbar=False, cores=1,
                                                               log_likelihood=False)
        times.append(time.perf_counter() - start)
        table = model.summary(0.94)  # the library's own HDI, as every posterior prediction reports it
        hits.append({param: bool(table.loc[param, "hdi_lower"] <= true <= table.loc[param, "hdi_upper"])
                     for param, true in case["truth"].items()})
        rhat.append(float(table["r_hat"].max()))
        covered = pd.DataFrame(hits).to_numpy()
        # a running tally, so that a study stopped early still reports its coverage so far
        print(f"  bayes replicate {rep + 1}/{replicates}: {times[-1]:.1f} s, covered {int(covered[-1].sum())}/"
              f"{covered.shape[1]} parameters; so far {covered.mean():.3f} of all (parameter, replicate) pairs",
              flush=True)
    hits = pd.DataFrame(hits)
    out = pd.DataFrame({"parameter": hits.columns, "replicates": replicates,
                        "94% HDI covers": hits.mean().to_numpy(), "s per run": round(float(np.mean(times)), 1),
                        "max r_hat (worst run)": max(rhat)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=40)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--bayes", type=int, default=0, help="Bayesian replicates (BG/NBD); 0 skips the study")
    parser.add_argument("--bayes-customers", type=int, default=2_000)
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--tune", type=int, default=300)
    parser.add_argument("--chains", type=int, default=2)
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    if args.replicates:
        table = mle_study(args.replicates, args.customers)
        print(f"MLE recovery, {args.customers:,} customers, {args.replicates} replicates per model")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"), flush=True)
    if args.bayes:
        table = bayes_study(args.bayes, args.bayes_customers, args.draws, args.tune, args.chains)
        print(f"BG/NBD posterior, {args.bayes_customers:,} customers, {args.bayes} replicates, draws={args.draws} "
              f"tune={args.tune} chains={args.chains}")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
