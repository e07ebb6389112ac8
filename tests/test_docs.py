"""Documentation that must stay true: the mkdocs site builds with ``--strict``, the Python
examples of README.md and the getting-started page run, and the set-up commands README gives
are the ones CI runs.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import clvmodels as clv

from reference_values import BGNBD_FHL2005, GAMMA_GAMMA_FH2013, printed_rtol, value

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = REPO / "docs"


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def bash_blocks(path: Path) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.S)


def require(module: str) -> None:
    """CI installs the docs extra, so a missing tool is a failure there and a skip elsewhere."""
    if importlib.util.find_spec(module) is None:
        message = f"{module} is not installed (pip install -e '.[docs]'; bash .ci/dev test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


# --------------------------------------------------------------------------- the site
def test_mkdocs_site_builds_strict(tmp_path):
    require("mkdocs")
    require("mkdocstrings_handlers.python")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(DOCS / "mkdocs.yml"), "-d", str(site)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for page in ("index.html", "getting-started.html", "models/bgnbd.html", "models/gamma-gamma.html",
                 "cli.html", "api.html", "benchmarks.html"):
        assert (site / page).is_file(), f"{page} missing from the site"
    # equations go through arithmatex, and the API reference is generated from the docstrings
    assert "arithmatex" in (site / "models" / "bgnbd.html").read_text()
    api = (site / "api.html").read_text()
    for anchor in ("clvmodels.data.summary.rfm_summary", "clvmodels.estimators.BetaGeo.expected_purchases",
                   "clvmodels.estimators.GammaGamma.expected_spend", "clvmodels.value.lifetime_value"):
        assert f'id="{anchor}"' in api, f"API reference has no entry {anchor}"


# --------------------------------------------------------------------------- examples
def run_example(code: str, where: str, namespace: dict | None = None) -> dict:
    namespace = {"__name__": "__docs_example__"} if namespace is None else namespace
    exec(compile(code, where, "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


def test_readme_python_example_runs_and_reproduces_FHL2005(tmp_path, monkeypatch, capsys):
    blocks = python_blocks(README)
    assert len(blocks) == 1
    code_lines = [line for line in blocks[0].splitlines() if line.strip()]
    assert len(code_lines) <= 12, "README promises a ~10-line example"
    monkeypatch.chdir(tmp_path)
    ns = run_example(blocks[0], "README.md")
    for name, printed in BGNBD_FHL2005.params.items():
        np.testing.assert_allclose(ns["bg"].params_[name], value(printed), rtol=printed_rtol(printed))
    for name, printed in GAMMA_GAMMA_FH2013.params.items():
        np.testing.assert_allclose(ns["gg"].params_[name], value(printed), rtol=printed_rtol(printed))
    printed_out = capsys.readouterr().out
    assert "customer equity:" in printed_out
    np.testing.assert_allclose(ns["forecast"]["clv_12m"].sum(),
                               clv.customer_equity(ns["bg"], ns["gg"], ns["s"], horizon=12, unit="M",
                                                   discount_rate=0.01), rtol=1e-12)


def test_getting_started_python_examples_run(tmp_path, monkeypatch):
    blocks = python_blocks(DOCS / "pages" / "getting-started.md")
    assert len(blocks) == 3
    monkeypatch.chdir(tmp_path)  # the example saves a model file
    ns = run_example(blocks[0], "getting-started.md[0]")
    assert ns["bg2"].params_.equals(ns["bg"].params_)
    assert ns["value"].sum() == pytest.approx(ns["equity"], rel=1e-12)
    ns = run_example(blocks[1], "getting-started.md[1]", ns)  # the page's blocks continue one session
    for other in ("s_file", "s_duck"):  # the DuckDB engine's summaries: the pandas one's
        assert ns[other].index.equals(ns["s"].index) and ns[other].attrs == ns["s"].attrs
        np.testing.assert_allclose(ns[other].to_numpy(), ns["s"].to_numpy(), rtol=1e-13, atol=0)
    ns = run_example(blocks[2], "getting-started.md[2]", ns)
    assert round(ns["bg"].expected_purchases_new_customer(39), 3) == 1.197


# --------------------------------------------------------------------------- set-up commands
def test_readme_gives_exactly_two_setup_commands_and_ci_runs_the_test_one():
    setup = bash_blocks(README)[0]
    commands = [line.split("#")[0].strip() for line in setup.splitlines() if line.strip()]
    assert commands == ["bash .ci/dev demo", "bash .ci/dev test"]
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r'^exec bash "\$\(dirname "\$\{BASH_SOURCE\[0\]\}"\)/dev" test "\$@"$', ci, flags=re.M)


def _isolated_bin(tmp_path: Path) -> Path:
    """A PATH with only the tools .ci/dev needs, so the machine's own pythons are not seen."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sort", "grep", "sed", "cat", "cksum", "cut", "dirname", "ls"):
        found = next((Path(d) / tool for d in os.environ["PATH"].split(os.pathsep) if (Path(d) / tool).is_file()), None)
        assert found is not None, f"{tool} not found on PATH"
        (bin_dir / tool).symlink_to(found)
    return bin_dir


def _fake(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


def _which_python(tmp_path: Path, bin_dir: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(REPO / ".ci" / "dev"), "which-python"], capture_output=True, text=True, timeout=60,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path / "home"), "PYENV_ROOT": str(tmp_path / "pyenv"), **env},
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.skipif(os.name == "nt", reason="the set-up script is bash")
def test_setup_script_skips_broken_shims_and_old_pythons_and_finds_pyenv_versions(tmp_path):
    bin_dir = _isolated_bin(tmp_path)
    # a pyenv shim that answers "command not found", and a python3 that is too old
    _fake(bin_dir / "python3.12", 'echo "pyenv: python3.12: command not found" >&2; exit 127')
    _fake(bin_dir / "python3", "exit 1")
    _fake(tmp_path / "pyenv" / "versions" / "3.11.7" / "bin" / "python3", "exit 1")
    good = tmp_path / "pyenv" / "versions" / "3.12.1" / "bin" / "python3"
    good.parent.mkdir(parents=True)
    good.symlink_to(sys.executable)
    result = _which_python(tmp_path, bin_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(good)


@pytest.mark.skipif(os.name == "nt", reason="the set-up script is bash")
def test_setup_script_without_a_usable_python_fails_with_a_clear_message(tmp_path):
    bin_dir = _isolated_bin(tmp_path)
    _fake(bin_dir / "python3", "exit 1")
    result = _which_python(tmp_path, bin_dir)
    assert result.returncode != 0
    assert "no Python >= 3.12" in result.stderr and "CLVMODELS_PYTHON" in result.stderr
    old = _which_python(tmp_path, bin_dir, CLVMODELS_PYTHON=str(bin_dir / "python3"))
    assert old.returncode != 0 and "CLVMODELS_PYTHON=" in old.stderr


def test_predictive_intervals_page_example_runs_and_prints_what_the_page_shows(tmp_path, monkeypatch, capsys):
    page = DOCS / "pages" / "predictive-intervals.md"
    blocks = python_blocks(page)
    shown = re.findall(r"```text\n(.*?)```", page.read_text(), flags=re.S)
    assert len(blocks) == len(shown) == 2
    monkeypatch.chdir(tmp_path)
    for block, text in zip(blocks, shown):
        ns = run_example(block, str(page))
        printed = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()]
        assert printed == [line.split() for line in text.splitlines() if line.strip()]
        if "pi" in ns:
            assert (ns["pi"]["purchases_coverage"] >= 0.9).all()
        else:
            assert (ns["v"]["clv_realised_coverage"] >= 0.9 - 0.005).all()
