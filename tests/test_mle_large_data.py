"""The large-data path of the maximum-likelihood engine reaches the full-data optimum.

With many distinct rows, :func:`clvmodels.inference.mle.fit_mle` starts its quasi-Newton search
on a subset of rows and finishes with Newton steps on all of them. The source of truth here is
the same engine run on all rows from the start (the subset path switched off): both must land
on the same maximum, with the same standard errors.
"""

import numpy as np
import pytest

from clvmodels.inference import mle
from clvmodels.models import bgnbd, gamma_gamma


@pytest.fixture(scope="module")
def bgnbd_rows():
    # continuous times: (x, t_x, T) rows are all distinct, so more rows than the subset threshold
    rng = np.random.default_rng(11)
    n = mle._LARGE + 10_000
    return bgnbd.simulate(rng, n, 0.8, 30.0, 0.9, 4.0, T=rng.uniform(200.0, 700.0, n)), n


@pytest.mark.parametrize("model", ["bgnbd", "gamma_gamma"])
def test_subset_warm_start_reaches_the_full_data_optimum(model, bgnbd_rows, monkeypatch):
    data, n = bgnbd_rows
    if model == "bgnbd":
        spec = bgnbd.SPEC
    else:
        spec = gamma_gamma.SPEC
        rng = np.random.default_rng(12)
        data = gamma_gamma.simulate(rng, n, 6.0, 4.0, 15.0, frequency=rng.integers(1, 40, n))
    weights = np.ones(n)
    large = mle.fit_mle(spec, data, weights)
    assert large.message.startswith("warm start")  # the subset path did run
    monkeypatch.setattr(mle, "_LARGE", 10 * n)
    full = mle.fit_mle(spec, data, weights)
    assert not full.message.startswith("warm start")
    assert large.converged and full.converged
    for name in spec.param_names:
        assert large.params[name] == pytest.approx(full.params[name], rel=1e-6)
        assert large.se[name] == pytest.approx(full.se[name], rel=1e-4)
    assert large.loglik == pytest.approx(full.loglik, rel=1e-12)
