"""Documentation that must stay true: the mkdocs site builds with ``--strict`` (the notebooks
executed, with their outputs), loads nothing from the network, shows no reStructuredText left over
from the docstrings and the signatures' defaults; the Python examples of README.md and the
getting-started page run, and the set-up commands README gives are the ones CI runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
import time
import warnings
from html.parser import HTMLParser
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
NOTEBOOK_PAGES = {path.stem: f"notebooks/{path.stem}.html" for path in sorted((REPO / "notebooks").glob("*.ipynb"))}
#: where a CDN or a web font would be fetched from; the site must load nothing from the network
CDN_HOSTS = ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "unpkg.com", "fonts.googleapis.com", "fonts.gstatic.com",
             "polyfill.io", "code.jquery.com", "ajax.googleapis.com")
#: Sphinx roles and directives of the numpydoc docstrings, which must not reach a page literally
RST_LEFTOVER = re.compile(r":(?:py:)?(?:class|func|meth|data|mod|attr|exc|obj|const|math):(?:`|<code>)|\.\. math::"
                          r"|\.\. \[\w+\]|\[\w+\]_")


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The site, built once per session with ``--strict``, notebooks executed (what CI builds).

    The build runs in a scratch folder (mkdocs-jupyter's cache lands there, so every session
    really executes the notebooks), and the notebooks' ``python3`` kernel is this interpreter
    (a kernelspec found first through ``JUPYTER_PATH``), whatever kernels the machine has.
    """
    require("mkdocs")
    require("mkdocstrings_handlers.python")
    require("mkdocs_jupyter")
    work = tmp_path_factory.mktemp("docs-build")
    spec_dir = work / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "clvmodels docs", "language": "python",
    }))
    site = work / "site"
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(DOCS / "mkdocs.yml"), "-d", str(site)],
        capture_output=True, text=True, timeout=900, cwd=work,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "JUPYTER_PATH": str(work / "jupyter"),
             "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"docs site built in {time.perf_counter() - start:.0f} s (notebooks executed)")
    return site


def html_pages(site: Path) -> list[Path]:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    return pages


def test_mkdocs_site_builds_strict(site):
    for page in ("index.html", "getting-started.html", "models/bgnbd.html", "models/gamma-gamma.html",
                 "cli.html", "api.html", "benchmarks.html", *NOTEBOOK_PAGES.values()):
        assert (site / page).is_file(), f"{page} missing from the site"
    # equations go through arithmatex, and the API reference is generated from the docstrings
    assert "arithmatex" in (site / "models" / "bgnbd.html").read_text()
    api = (site / "api.html").read_text()
    for anchor in ("clvmodels.data.summary.rfm_summary", "clvmodels.estimators.BetaGeo.expected_purchases",
                   "clvmodels.estimators.GammaGamma.expected_spend", "clvmodels.value.lifetime_value"):
        assert f'id="{anchor}"' in api, f"API reference has no entry {anchor}"


class _Assets(HTMLParser):
    """The URLs a page loads: scripts, stylesheets, fonts, icons and preconnects."""

    def __init__(self):
        super().__init__()
        self.loaded: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe") and attrs.get("src"):
            self.loaded.append(attrs["src"])
        if tag == "link" and attrs.get("href") and attrs.get("rel") != "canonical":
            self.loaded.append(attrs["href"])


def test_site_loads_nothing_from_the_network_and_bundles_mathjax(site):
    for page in html_pages(site):
        text = page.read_text()
        parser = _Assets()
        parser.feed(text)
        remote = [url for url in parser.loaded if re.match(r"(https?:)?//", url)]
        assert not remote, f"{page.relative_to(site)} loads {remote}"
        named = [host for host in CDN_HOSTS if host in text]
        assert not named, f"{page.relative_to(site)} names {named}"
    # the equations: MathJax from the site itself, with the fonts it looks for beside the script
    parser = _Assets()
    parser.feed((site / "models" / "bgnbd.html").read_text())
    mathjax = [url for url in parser.loaded if "mathjax" in url.lower() and url.endswith(".js")]
    assert any(url.endswith("tex-chtml-full.js") for url in mathjax), mathjax
    script = site / "javascripts" / "mathjax" / "tex-chtml-full.js"
    assert script.stat().st_size > 1_000_000  # the real MathJax, not a stub
    fonts = script.parent / "output" / "chtml" / "fonts" / "woff-v2"
    assert (fonts / "MathJax_Main-Regular.woff").stat().st_size > 10_000
    assert "woff-v2" in script.read_text()  # where MathJax looks for them


@pytest.mark.parametrize("notebook", sorted(NOTEBOOK_PAGES), ids=sorted(NOTEBOOK_PAGES))
def test_notebook_pages_show_the_outputs_of_a_run(site, notebook):
    text = (site / NOTEBOOK_PAGES[notebook]).read_text()
    source = json.loads((REPO / "notebooks" / f"{notebook}.ipynb").read_text())
    code_cells = [c for c in source["cells"] if c["cell_type"] == "code"]
    assert not any(c["outputs"] for c in code_cells)  # so every output on the page comes from the build
    outputs = len(re.findall(r'class="[^"]*\bjp-OutputArea-output\b', text))
    assert outputs >= len(code_cells) // 2, f"{notebook}: {outputs} outputs for {len(code_cells)} code cells"
    assert "Traceback" not in text
    figures = len(re.findall(r'<img[^>]*src="data:image/png;base64,', text))
    drawn = sum("plt.show()" in "".join(c["source"]) or "plotting.plot_" in "".join(c["source"]) for c in code_cells)
    assert figures >= drawn, f"{notebook}: {figures} figures on the page, {drawn} cells draw one"
    assert drawn > 0 or notebook == "04_covariates", f"{notebook} draws no figure"  # 04 is tables and tests
    # markdown cells' equations go through arithmatex like the pages', for the bundled MathJax
    assert 'class="arithmatex"' in text


def test_quickstart_page_prints_the_published_fit(site):
    text = re.sub(r"<[^>]+>", "", (site / NOTEBOOK_PAGES["01_quickstart"]).read_text())
    printed = re.search(r"log-likelihood (-[\d.]+), converged: True", text)
    assert printed, "the quick-start page does not show the BG/NBD fit's output"
    np.testing.assert_allclose(float(printed.group(1)), value(BGNBD_FHL2005.loglik),
                               rtol=printed_rtol(BGNBD_FHL2005.loglik))


def test_no_page_shows_a_sphinx_role_or_directive(site):
    for page in html_pages(site):
        leftovers = RST_LEFTOVER.findall(page.read_text())
        assert not leftovers, f"{page.relative_to(site)} shows {sorted(set(leftovers))}"
        # and no TeX that missed arithmatex (it would show as raw "\\frac{...}" text)
        prose = re.sub(r'<(div|span) class="arithmatex">.*?</\1>|<(pre|code|script|style)\b.*?</\2>', "",
                       page.read_text(), flags=re.S)
        raw_tex = re.findall(r"\\(?:frac|lambda|alpha|Gamma|mathrm|sum|left|mid)\b", re.sub(r"<[^>]+>", "", prose))
        assert not raw_tex, f"{page.relative_to(site)} shows untypeset TeX {sorted(set(raw_tex))}"
    api = (site / "api.html").read_text()
    # roles became links where the site documents the object
    assert re.search(r'<a class="autorefs[^"]*"[^>]*href="#clvmodels\.errors\.DataWarning"', api)


class _ParameterTables(HTMLParser):
    """(object id, parameter, rendered default) from mkdocstrings' parameter tables."""

    def __init__(self):
        super().__init__()
        self.rows: list[tuple[str, str, str]] = []
        self._object = None
        self._header: list[str] = []
        self._in_params = False
        self._cells: list[str] | None = None
        self._cell_text: list[str] | None = None
        self._th = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag.startswith("h") and "doc-heading" in (attrs.get("class") or "") and attrs.get("id"):
            self._object = attrs["id"]
        elif tag == "table":
            self._header = []
        elif tag == "th":
            self._th = True
            self._header.append("")
        elif tag == "tr" and "doc-section-item" in (attrs.get("class") or ""):
            self._cells = []
        elif tag == "td" and self._cells is not None:
            self._cell_text = []

    def handle_endtag(self, tag):
        if tag == "th":
            self._th = False
        elif tag == "td" and self._cell_text is not None:
            self._cells.append(" ".join("".join(self._cell_text).split()))
            self._cell_text = None
        elif tag == "tr" and self._cells is not None:
            if self._header == ["Name", "Type", "Description", "Default"] and len(self._cells) == 4:
                self.rows.append((self._object, self._cells[0], self._cells[3]))
            self._cells = None

    def handle_data(self, data):
        if self._th:
            self._header[-1] += data.strip()
        elif self._cell_text is not None:
            self._cell_text.append(data)


def _documented_object(identifier: str):
    parts = identifier.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:]:
            obj = getattr(obj, name)
        return obj
    raise LookupError(identifier)


def test_every_documented_default_is_the_signatures(site):
    checked = 0
    for page in html_pages(site):
        parser = _ParameterTables()
        parser.feed(page.read_text())
        for identifier, name, shown in parser.rows:
            obj = _documented_object(identifier)
            try:
                parameter = inspect.signature(obj).parameters[name]
            except (KeyError, TypeError, ValueError):
                continue  # *args-style or builtin entries
            where = f"{page.relative_to(site)}: {identifier}({name}) shows default {shown!r}"
            if parameter.default is inspect.Parameter.empty:
                assert shown == "required", where + ", the signature has none"
            else:
                module = sys.modules[getattr(obj, "__module__", None) or obj.__name__]
                rendered = eval(shown, vars(module))  # noqa: S307 - the source text of our own defaults
                assert rendered == parameter.default or (rendered is parameter.default), \
                    where + f", the signature {parameter.default!r}"
            checked += 1
    assert checked > 200
    # the two that were wrong: a shared entry ("customer_col, date_col : str") and a value set
    rows = {(i, n): d for p in [site / "api.html"] for i, n, d in _parse_rows(p)}
    assert rows[("clvmodels.data.summary.rfm_summary", "date_col")] == "'date'"
    assert rows[("clvmodels.data.summary.rfm_summary", "unit")] == "defaults.UNIT"  # clvmodels.defaults: 'W'


def _parse_rows(page: Path):
    parser = _ParameterTables()
    parser.feed(page.read_text())
    return parser.rows


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


def test_covariates_page_example_runs_on_the_apparel_data(monkeypatch):
    from conftest import shared_data_dir

    page = DOCS / "pages" / "covariates.md"
    blocks = python_blocks(page)
    assert len(blocks) == 1
    monkeypatch.chdir(shared_data_dir().parent.parent)  # the example reads shared/data/...
    ns = run_example(blocks[0], str(page))
    pnbd, plain, lrt = ns["pnbd"], ns["plain"], ns["lrt"]
    assert pnbd.converged_ and plain.converged_
    # the page's comment: 4 coefficients (purchase on alpha, dropout on beta, for 2 covariates)
    assert lrt["df"] == 4 and pnbd.spec.param_names[4:] == (
        "purchase:gender", "purchase:channel", "dropout:gender", "dropout:channel")
    assert lrt["statistic"] == pytest.approx(2 * (pnbd.loglik_ - plain.loglik_), rel=1e-12)
    assert np.isfinite([pnbd.se_[p] for p in pnbd.spec.param_names]).all()
    # the page says a prior override takes a coefficient's name, and MAP uses those priors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", clv.IdentificationWarning)  # BG/NBD's dropout on these data; not the subject
        map_fit = clv.BetaGeo(purchase_covariates=["channel"]).fit(
            ns["s"], method="map", priors={"purchase:channel": ("Normal", {"mu": 0, "sigma": 0.5})})
    assert map_fit.fit_info_["priors"]["purchase:channel"] == "Normal(mu=0, sigma=0.5)"
