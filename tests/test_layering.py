"""The package's layers, read from each module's imports (AST): lower floors never import higher ones.

See docs/pages/architecture.md. A module may import modules of a lower floor, and modules of
its own subpackage (data.* from data.*, models.* from models.*) as long as no cycle forms.
Nothing imports the package face ``clvmodels/__init__.py``; package-internal imports sit at
module level, so that the route from ``fit`` to the likelihood is visible to tools, with one
documented exception: the CLI imports the library inside its commands so that ``--help``
stays instant.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "clvmodels"

#: Floor of each module (by dotted name or prefix; the longest matching prefix wins).
FLOORS = {
    "clvmodels._version": 0,
    "clvmodels.errors": 0,
    "clvmodels.checks": 0,
    "clvmodels.defaults": 0,  # the shared default unit, horizon and discount rate (constants only)
    "clvmodels.wording": 0,  # counts in words ("1 purchase", "2 purchases")
    "clvmodels.units": 1,
    "clvmodels.intervals": 1,
    "clvmodels.backend": 1,
    "clvmodels.output_files": 1,
    "clvmodels.untrusted_text": 1,
    "clvmodels.data": 2,
    "clvmodels.datasets": 3,
    "clvmodels.special": 2,
    "clvmodels.models.spec": 3,
    "clvmodels.models.common": 4,
    "clvmodels.models": 5,
    "clvmodels.models.registry": 6,
    "clvmodels.fit": 7,
    "clvmodels.predict": 8,
    "clvmodels.inference": 9,
    "clvmodels.io": 10,
    "clvmodels.identification": 10,  # weakly identified parameters of a point fit, in plain words (over models)
    "clvmodels.estimators": 11,
    "clvmodels.dynamic": 11,  # the time-varying covariate Pareto/NBD's estimator (beside estimators)
    "clvmodels.hierarchical": 11,  # Abe's (2009) hierarchical Pareto/NBD estimator (beside estimators)
    "clvmodels.pareto_ggg": 12,  # Platzer & Reutterer's Pareto/GGG estimator (over the hierarchical base)
    "clvmodels.value": 12,
    "clvmodels.evaluation": 12,
    "clvmodels.alive_history": 12,
    "clvmodels.segments": 12,
    "clvmodels.comparison": 13,  # model comparison: ranks by fit criterion and by holdout errors (evaluation)
    "clvmodels.predictive": 13,  # predictive intervals: over estimators, predict and value (its CLV periods)
    "clvmodels.plotting": 13,
    "clvmodels.reporting": 14,
    "clvmodels.spark": 14,  # summaries, fits and scores on Spark: uses data, estimators and value
    "clvmodels.cli": 15,
}
#: Modules allowed to import the library inside functions, and why.
LAZY_ALLOWED = {
    "clvmodels.cli": "imports the library inside commands so that `clvmodels --help` stays instant",
    # rfm_summary (data.summary) dispatches to the DuckDB engine, which applies the pandas
    # engine's window rules to the log's distinct days; to be split into a dispatching module
    "clvmodels.data.duckdb_engine": "reuses data.summary's window rules (imported when a summary is made)",
}
#: Third-party imports a floor must never make.
FORBIDDEN_THIRD_PARTY = {"clvmodels.models": ("pandas",), "clvmodels.fit": ("pymc",), "clvmodels.predict": ("pymc",)}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _floor(name: str) -> int:
    best = max((p for p in FLOORS if name == p or name.startswith(p + ".")), key=len, default=None)
    assert best is not None, f"{name} has no floor in tests/test_layering.py: add it to FLOORS"
    return FLOORS[best]


def _subpackage(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or name in MODULES and MODULES[name].name == "__init__.py" else name


def _imports(name: str) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for each import of the package or a third party."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                continue  # imports for type checkers only
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                if child.module == "clvmodels":
                    # `from clvmodels import value` imports a submodule; anything else reads the package face
                    found.extend((f"clvmodels.{a.name}" if f"clvmodels.{a.name}" in MODULES else "clvmodels",
                                  child.lineno, in_function) for a in child.names)
                else:
                    mod = child.module
                    for a in child.names:
                        sub = f"{mod}.{a.name}"
                        found.append((sub if sub in MODULES else mod, child.lineno, in_function))
            visit(child, inner)

    visit(tree, False)
    return found


def _internal_edges() -> dict[str, set[str]]:
    """Module-level imports between package modules, and function-level ones of modules not allowed them."""
    return {name: {m for m, _, inside in _imports(name) if m in MODULES and m != name
                   and not (inside and name in LAZY_ALLOWED)} for name in MODULES}


@pytest.mark.parametrize("name", [n for n in MODULES if n != "clvmodels"])
def test_no_module_imports_a_higher_floor_or_the_package_face(name):
    own = _subpackage(name)
    for module, line, _ in _imports(name):
        if module == "clvmodels":
            pytest.fail(f"{name}:{line} imports the package face clvmodels/__init__.py; import the module itself")
        if module not in MODULES:
            continue
        if module.startswith(own + ".") or module == own:
            continue  # its own subpackage: checked for cycles below
        assert _floor(module) < _floor(name), (
            f"{name} (floor {_floor(name)}) imports {module} (floor {_floor(module)}) at line {line}: "
            f"a lower layer may not depend on a higher one"
        )


@pytest.mark.parametrize("name", [n for n in MODULES if n not in LAZY_ALLOWED])
def test_package_imports_are_at_module_level(name):
    lazy = [(m, line) for m, line, inside in _imports(name) if inside and m in MODULES]
    assert not lazy, f"{name} imports package modules inside functions: {lazy} (move them to the top)"


@pytest.mark.parametrize("prefix, banned", list(FORBIDDEN_THIRD_PARTY.items()))
def test_lower_floors_do_not_import_heavy_or_tabular_libraries(prefix, banned):
    for name in MODULES:
        if name == prefix or name.startswith(prefix + "."):
            for module, line, _ in _imports(name):
                assert module.split(".")[0] not in banned, f"{name}:{line} imports {module}"


def test_the_import_graph_has_no_cycle():
    edges = _internal_edges()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_the_layering_check_catches_a_violation(tmp_path, monkeypatch):
    """The rule can fail: a model module importing the estimators is reported."""
    fake = tmp_path / "bad_model.py"
    fake.write_text("from clvmodels.estimators import BetaGeo\n")
    monkeypatch.setitem(MODULES, "clvmodels.models.bad_model", fake)
    with pytest.raises(AssertionError, match="lower layer may not depend on a higher one"):
        test_no_module_imports_a_higher_floor_or_the_package_face("clvmodels.models.bad_model")
