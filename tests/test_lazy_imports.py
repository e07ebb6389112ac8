"""``import clvmodels`` is lazy (PEP 562), so ``clvmodels --help`` answers at once (issue 15).

Sources of truth: ``sys.modules`` of a fresh interpreter (what a command line really loaded)
and the modules that define each public name. Each check runs in its own interpreter: the
test session has long imported everything.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import clvmodels as clv

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pymc", "pytensor", "matplotlib", "arviz", "scipy", "pandas", "jinja2")


def run_python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "COLUMNS": "100"}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120,
                          env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("args", [["--help"], ["fit", "--help"], ["predict", "--help"], ["report", "--help"],
                                  ["demo", "--help"], ["--version"]])
def test_help_loads_no_heavy_library(args):
    loaded = json.loads(run_python(f"""
        import json, sys
        sys.argv = ["clvmodels", *{args!r}]
        from clvmodels.cli import main
        try:
            main()
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
        print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})))
    """))
    assert not set(HEAVY) & set(loaded), sorted(set(HEAVY) & set(loaded))


def test_import_clvmodels_alone_loads_no_heavy_library():
    loaded = json.loads(run_python("""
        import json, sys
        import clvmodels
        clvmodels.ConvergenceWarning, clvmodels.__version__
        print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
    """))
    assert not set(HEAVY) & set(loaded)


def _submodules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(clv.__path__, "clvmodels."))


def test_no_public_function_is_named_like_a_submodule():
    # importing clvmodels.X binds the module X as an attribute of the package: a public function
    # called X would be replaced by the module the first time anything imports clvmodels.X
    top_level = {name.split(".")[1] for name in _submodules()}
    functions = {name for name, target in clv._LAZY.items() if target != f"clvmodels.{name}"}
    assert not functions & top_level, sorted(functions & top_level)
    # and the names that are modules are exactly the submodules of those names
    modules = {name for name, target in clv._LAZY.items() if target == f"clvmodels.{name}"}
    assert modules <= top_level


def test_public_names_survive_importing_every_submodule():
    # the worst order: every submodule first (as the CLI and the report do), the public names after
    skip = [] if _has("pyspark") else ["clvmodels.spark"]
    result = json.loads(run_python(f"""
        import importlib, inspect, json, pkgutil, types
        import clvmodels
        names = [m.name for m in pkgutil.walk_packages(clvmodels.__path__, "clvmodels.")]
        for name in names:
            if not any(name == s or name.startswith(s + ".") for s in {skip!r}):
                importlib.import_module(name)
        out = {{}}
        for name in clvmodels.__all__:
            obj = getattr(clvmodels, name)
            out[name] = "module:" + obj.__name__ if isinstance(obj, types.ModuleType) else (
                getattr(obj, "__module__", "") + "." + getattr(obj, "__qualname__", type(obj).__name__))
        print(json.dumps(out))
    """))
    assert result["compare"] == "clvmodels.comparison.compare"
    assert result["alive_path"] == "clvmodels.alive_history.alive_path"
    assert result["report"] == "clvmodels.reporting.builder.report"
    assert result["BetaGeo"] == "clvmodels.estimators.BetaGeo"
    assert result["evaluation"] == "module:clvmodels.evaluation"
    for name, where in result.items():
        # a module only where the public name is that module itself
        assert not where.startswith("module:") or where == f"module:clvmodels.{name}", (name, where)


def test_star_import_dir_and_attribute_access():
    result = json.loads(run_python("""
        import json
        namespace = {}
        exec("from clvmodels import *", namespace)
        import clvmodels
        import pandas as pd
        m = clvmodels.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        fresh = pd.DataFrame({"frequency": [0.0], "recency": [0.0], "T": [10.0]})
        print(json.dumps({"star": sorted(k for k in namespace if k != "__builtins__"), "dir": dir(clvmodels),
                          "all": clvmodels.__all__, "alive": float(m.probability_alive(fresh).iloc[0]),
                          "value": clvmodels.value.__name__}))
    """))
    assert result["star"] == sorted(result["all"])
    assert set(result["all"]) <= set(result["dir"])
    assert result["alive"] == 1.0  # no repeat purchase: BG/NBD's P(alive) is 1 (Fader, Hardie & Lee 2005)
    assert result["value"] == "clvmodels.value"  # submodules stay reachable as attributes
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        clv.no_such_name  # noqa: B018


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
