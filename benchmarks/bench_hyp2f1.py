"""The 2F1 cliff: BG/NBD and MBG/NBD predictions over a sweep of the dropout parameters.

Where a 2F1 parameter exceeds ~200 and a < 1 (b large, as on a gift retailer's log where
dropout is barely identified), the hypergeometric term is out of SciPy's reach. It used to go to
250-digit mpmath one customer at a time (BG/NBD a = 0.0004, b = 204: 19 s for CDNOW's 2,357
customers, 90 s for 2,965); it now takes Euler's integral by a vectorised quadrature
(clvmodels.backend._log_hyp2f1_euler_integral). This prints the time per call of
expected_purchases(t=52) and probability_alive on the CDNOW summary for b from 1 to 1e4 and a
from 1e-4 to 10, and its ratio to the typical case (the published CDNOW fit), plus lifetimes'
time where it is installed.

    PYTHONPATH=. python benchmarks/bench_hyp2f1.py [--quick]
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

import clvmodels as clv


def best_of(fn, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(quick: bool = False) -> None:
    tx = clv.datasets.load_cdnow()
    s = clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end="1997-09-30")
    print(f"CDNOW calibration summary: {len(s):,} customers")
    try:
        from lifetimes import BetaGeoFitter
    except ImportError:
        BetaGeoFitter = None
    typical = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    base = {}
    for name, cls in (("BG/NBD", clv.BetaGeo), ("MBG/NBD", clv.ModifiedBetaGeo)):
        m = cls.from_params(**typical)
        m.expected_purchases(s, t=52)
        base[name] = (best_of(lambda: m.expected_purchases(s, t=52)), best_of(lambda: m.probability_alive(s)))
        print(f"{name} typical case {typical}: expected_purchases {1e3 * base[name][0]:.2f} ms, "
              f"probability_alive {1e3 * base[name][1]:.2f} ms")
    bs = [1.0, 10.0, 204.0, 1e4] if quick else [1.0, 10.0, 100.0, 204.0, 1000.0, 1e4]
    as_ = [1e-4, 0.1, 10.0] if quick else [1e-4, 4e-4, 0.01, 0.1, 0.5, 0.99, 2.0, 10.0]
    print(f"{'model':8} {'a':>8} {'b':>8} {'E[Y(52)] ms':>12} {'ratio':>6} {'P(alive) ms':>12} {'ratio':>6} {'lifetimes ms':>13}")
    worst = 0.0
    for name, cls in (("BG/NBD", clv.BetaGeo), ("MBG/NBD", clv.ModifiedBetaGeo)):
        for a in as_:
            for b in bs:
                m = cls.from_params(r=0.243, alpha=4.414, a=a, b=b)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    m.expected_purchases(s, t=52)  # first call: nothing cached, but no compile either
                    te = best_of(lambda: m.expected_purchases(s, t=52), 3)
                    tp = best_of(lambda: m.probability_alive(s), 3)
                lt = ""
                if BetaGeoFitter is not None and name == "BG/NBD":
                    f = BetaGeoFitter()
                    f.params_ = {"r": 0.243, "alpha": 4.414, "a": a, "b": b}
                    with warnings.catch_warnings(), np.errstate(all="ignore"):
                        warnings.simplefilter("ignore")
                        lt = f"{1e3 * best_of(lambda: f.conditional_expected_number_of_purchases_up_to_time(52, s['frequency'], s['recency'], s['T']), 3):.2f}"
                re, rp = te / base[name][0], tp / base[name][1]
                worst = max(worst, re)
                print(f"{name:8} {a:8.4g} {b:8.4g} {1e3 * te:12.2f} {re:6.1f} {1e3 * tp:12.2f} {rp:6.1f} {lt:>13}")
    print(f"largest expected_purchases ratio to the typical case: {worst:.1f}x")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
