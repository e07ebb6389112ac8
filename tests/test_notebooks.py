"""Every notebook in ``notebooks/`` runs from top to bottom, and is stored without outputs.

The kernel is the interpreter running the tests (a kernelspec written to ``tmp_path`` points at
``sys.executable``), so a fresh virtual environment executes the notebooks with its own
clvmodels, whatever kernels the machine has registered elsewhere. Notebooks run in
``tmp_path``, so files they write do not land in the repository. Notebooks on the team's shared
data (``04_covariates``: the apparel retailer) find it through ``CLVMODELS_SHARED_DIR``, set to
the folder the tests use (:func:`conftest.shared_data_dir`: skipped without it, failed in CI).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from conftest import shared_data_dir

nbformat = pytest.importorskip("nbformat", reason="the dev extra installs nbformat")
nbclient = pytest.importorskip("nbclient", reason="the dev extra installs nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
KERNEL = "clvmodels-tests"
#: Tutorials that must run without any warning (the kernel shows every warning once).
QUIET = {"01_quickstart.ipynb"}
#: Notebooks that read ``shared/data`` (found through ``CLVMODELS_SHARED_DIR``).
SHARED_DATA = {"04_covariates.ipynb"}
#: What a notebook must print (regular expressions on its stdout): the results it exists to show.
PRINTS = {
    "04_covariates.ipynb": [
        r"converged: True \(plain\), True \(covariates\)",  # the Pareto/NBD fits on the apparel data
        r"Pareto/NBD: D = \d+\.\d+ on 4 df, p = ",  # the likelihood-ratio test against the plain model
        r"BG/NBD: D = \d+\.\d+ on 6 df, p = ",
        r"is better by -?\d+\.\d elpd",  # the LOO comparison
        r"customer equity over 36 months: [\d,]+ \(plain\), [\d,]+ \(covariates\)",
    ],
    "05_model_zoo.ipynb": [
        r"best by AIC: \S+; best holdout MAE: \S+",  # the two rankings of the MLE table
        r"chosen k: BG/CNBD-k 1, MBG/CNBD-k 1",  # no regularity on CDNOW (BTYDplus's demo/cdnow.R)
        r"Pareto/GGG sampled in \d+ s",  # the small NUTS run on a CDNOW subsample
        r"mean regularity t/gamma: \d+\.\d+ \(94% HDI",
        r"GGompertz/NBD +sampled in",  # every CDNOW model's posterior, ranked by LOO
        r"sBG vs BdW: D = \d+\.\d+ on 1 df, p = ",  # duration dependence on the High End cohort
    ],
}


def test_there_are_notebooks():
    assert any(p.name == "01_quickstart.ipynb" for p in NOTEBOOKS)


@pytest.fixture
def test_kernel(tmp_path, monkeypatch) -> str:
    """A kernelspec for this interpreter, found first through ``JUPYTER_PATH``; returns its name."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "clvmodels tests",
        "language": "python",
        "env": {"MPLBACKEND": "Agg", "PYTHONWARNINGS": "default"},
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    assert KernelSpecManager().get_kernel_spec(KERNEL).argv[0] == sys.executable
    return KERNEL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path, test_kernel, monkeypatch):
    if path.name in SHARED_DATA:
        # the kernel inherits the environment: point the notebook at the tests' data folder
        monkeypatch.setenv("CLVMODELS_SHARED_DIR", str(shared_data_dir().parent))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name=test_kernel,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    if path.name in QUIET:
        warned = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr" and "Warning" in o.text]
        assert not warned, f"{path.name} emits warnings: {warned}"
    stdout = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")
    missing = [pattern for pattern in PRINTS.get(path.name, []) if not re.search(pattern, stdout)]
    assert not missing, f"{path.name} no longer prints {missing}"
