"""The foundation benchmark script runs end to end and its lifetimes comparison holds.

Not a timing test: it runs ``benchmarks/bench_foundation.py`` on a tiny simulated log and
checks what the script reports against lifetimes 0.11.3 (the source of truth for the
summary definitions and the optima), and that a lifetimes step over its time limit is
reported as such rather than waited for.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("lifetimes")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location("bench_foundation", ROOT / "benchmarks" / "bench_foundation.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_simulated_log_agrees_with_lifetimes(bench, capsys):
    results = bench.main(["--customers", "3000", "--skip-cdnow", "--no-progress"])
    (res,) = results["datasets"]
    checks = res["checks"]
    assert checks["summary_same_customers"]
    assert checks["summary_max_abs_diff"]["frequency"] == 0
    assert checks["summary_max_abs_diff"]["recency"] == 0 and checks["summary_max_abs_diff"]["T"] == 0
    assert checks["summary_max_abs_diff"]["monetary_value"] < 1e-9
    for model in ("bgnbd", "gamma_gamma"):
        assert checks[model]["max_rel_param_diff"] < 1e-4  # two optimisers, one optimum
        assert checks[model]["loglik_clvmodels_fit"] >= checks[model]["loglik_lifetimes_fit"] - 1e-6
    for name, diff in checks["scoring_max_rel_diff"].items():
        assert diff < 1e-8, name
    assert all(res["lifetimes"][step]["status"] == "ok" for step in bench.STEPS)
    assert "fits + scoring" in capsys.readouterr().out


def test_lifetimes_step_over_its_time_limit_is_reported_not_awaited(bench, capsys):
    results = bench.main(["--customers", "2000", "--skip-cdnow", "--no-progress", "--lifetimes-timeout", "0.01",
                          "--extrapolate-from", "500"])
    (res,) = results["datasets"]
    for step in bench.STEPS:
        assert res["lifetimes"][step]["status"] == "timeout"
    assert ">0.01 s" in capsys.readouterr().out
