"""mkdocs hooks of the clvmodels site (listed under ``hooks:`` in mkdocs.yml)."""

from __future__ import annotations

import os


def on_config(config):
    # mkdocs-jupyter executes the notebooks in kernels that inherit this environment; a
    # non-interactive MPLBACKEND (Agg, as the test suite's own kernels use) would make every
    # plt.show() draw nothing, and the site would show the notebooks without their figures.
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    return config
