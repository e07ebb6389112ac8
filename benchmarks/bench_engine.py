"""Evaluation from many draws against a point fit, through the one prediction engine.

Issue 11 asks that evaluating a posterior cost no more than a point fit times the number of
draws divided by the block size: the engine evaluates all draws of a block of distinct rows
in one vectorised call, instead of one model per draw. This script times, in one run on the
CDNOW calibration/holdout table and on a simulated base:

- ``conditional_expectations`` (holdout check) and ``lifetime_value`` from a point fit;
- the same from 200 draws (``sample_asymptotic``) through the engine;
- the same 200 draws the way evaluation worked before the engine (one ``from_params`` model
  per draw, each calling the public prediction methods).

It prints seconds and the ratios ``many draws / (point x draws)`` and ``per-draw models /
engine``. Run: ``.venv/bin/python benchmarks/bench_engine.py [--customers 100000]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def _timed(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(customers: int, draws: int) -> None:
    import clvmodels as clv
    from clvmodels import evaluation
    from clvmodels.models.bgnbd import simulate

    tx = clv.datasets.load_cdnow()
    cdnow = clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end="1997-09-30",
                            observation_end="1998-06-30")
    rng = np.random.default_rng(0)
    sim = pd.DataFrame(simulate(rng, customers, 0.243, 4.414, 0.793, 2.426, T=rng.uniform(1, 78, customers).round(1)))
    sim = sim.assign(frequency_holdout=rng.poisson(1.0, customers), duration_holdout=39.0)
    sim.attrs["unit"] = "W"
    print(f"{'data':>10s} {'task':>24s} {'point s':>9s} {'engine s':>9s} {'per-draw s':>10s} "
          f"{'engine/(point x draws)':>23s} {'per-draw/engine':>16s}")
    for label, table in (("CDNOW", cdnow), (f"sim {customers:,}", sim)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bg = clv.BetaGeo().fit(table)
        many = bg.sample_asymptotic(draws, random_seed=1)
        theta = {k: v.ravel() for k, v in many.fit_.draws().items()}
        per_draw_models = [clv.BetaGeo.from_params({k: float(v[i]) for k, v in theta.items()}, unit="W")
                           for i in range(draws)]

        def old_conditional_expectations():
            # the pre-engine path: one model per draw through the public methods
            for m in per_draw_models:
                evaluation.conditional_expectations(m, table)

        tasks = {
            "conditional_expectations": (lambda: evaluation.conditional_expectations(bg, table),
                                         lambda: evaluation.conditional_expectations(many, table, max_draws=draws),
                                         old_conditional_expectations),
            "expected_purchases(t=39)": (lambda: bg.expected_purchases(table, t=39.0),
                                         lambda: many.expected_purchases(table, t=39.0),
                                         lambda: [m.expected_purchases(table, t=39.0) for m in per_draw_models]),
        }
        for task, (point, engine, old) in tasks.items():
            t_point, t_engine = _timed(point), _timed(engine, repeat=1)
            t_old = _timed(old, repeat=1)
            print(f"{label:>10s} {task:>24s} {t_point:9.3f} {t_engine:9.3f} {t_old:10.2f} "
                  f"{t_engine / (t_point * draws):23.3f} {t_old / t_engine:16.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    main(args.customers, args.draws)
