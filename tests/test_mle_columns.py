"""The likelihood graph evaluates one-column terms once per distinct value, with unchanged results.

:func:`clvmodels.inference.mle._compile` feeds every data column as (distinct values, codes)
and :func:`clvmodels.inference.mle._lift_gathers` moves element-wise work that depends on one
column before the gather. The sources of truth: the NumPy backend's log-likelihood summed row
by row (an independent evaluation of the same formula, no PyTensor), central finite
differences of it for the gradient, and the graph's own structure after the rewrite.
"""

import numpy as np
import pytest

from clvmodels import backend
from clvmodels.inference import mle
from clvmodels.models import bgbb, bgnbd, gamma_gamma, mbgnbd, pareto_nbd


def _rows(name: str, rng: np.random.Generator, n: int = 6000) -> dict[str, np.ndarray]:
    if name in ("bgnbd", "mbgnbd", "pareto_nbd"):
        T = rng.integers(30, 400, n).astype(float)
        x = rng.poisson(2.0, n).astype(float)
        tx = np.where(x > 0, np.floor(rng.uniform(0, 1, n) * T), 0.0)
        return {"frequency": x, "recency": tx, "T": T}
    if name == "bgbb":
        n_periods = rng.integers(3, 7, n).astype(float)
        x = np.floor(rng.uniform(0, 1, n) * (n_periods + 1))
        tx = np.where(x > 0, np.maximum(x, np.floor(rng.uniform(0, 1, n) * (n_periods + 1))), 0.0)
        return {"frequency": x, "recency": tx, "n_periods": n_periods}
    x = rng.integers(1, 30, n).astype(float)
    return {"frequency": x, "monetary_value": np.round(rng.gamma(6.0, 5.0, n), 2)}  # spend: nearly all distinct


SPECS = {"bgnbd": bgnbd.SPEC, "mbgnbd": mbgnbd.SPEC, "pareto_nbd": pareto_nbd.SPEC, "bgbb": bgbb.SPEC,
         "gamma_gamma": gamma_gamma.SPEC}
THETA = {"bgnbd": [-1.0, 3.0, -0.5, 1.0], "mbgnbd": [-1.0, 3.0, -0.5, 1.0], "pareto_nbd": [-0.6, 2.3, -0.5, 2.4],
         "bgbb": [0.2, -0.4, -0.3, 0.5], "gamma_gamma": [1.8, 1.3, 2.7]}


def _numpy_total(spec, theta, data, weights) -> float:
    params = {p.name: p.from_unconstrained(theta[i], xp=backend.numpy) for i, p in enumerate(spec.params)}
    return float(np.sum(weights * spec.loglik(backend.numpy, **params, **data)))


@pytest.mark.parametrize("name", list(SPECS))
def test_factored_likelihood_and_gradient_equal_the_row_by_row_numpy_formula(name):
    spec, rng = SPECS[name], np.random.default_rng(5)
    data = _rows(name, rng)
    weights = rng.integers(1, 4, len(data["frequency"])).astype(float)
    theta = np.array(THETA[name], dtype=float)
    total, grad = mle.loglik_and_grad(spec, theta, data, weights)
    assert total == pytest.approx(_numpy_total(spec, theta, data, weights), rel=1e-11)
    for i in range(len(theta)):
        h = 1e-5
        e = np.zeros_like(theta)
        e[i] = h
        fd = (_numpy_total(spec, theta + e, data, weights) - _numpy_total(spec, theta - e, data, weights)) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-6, abs=1e-6 * abs(total) / len(weights))


def test_factoring_keeps_every_row_and_a_subset_shares_the_values():
    data = {"frequency": np.array([2.0, 0.0, 2.0, 5.0]), "recency": np.array([3.0, 0.0, 3.0, 7.5]),
            "T": np.array([9.0, 9.0, 4.0, 8.0])}
    cols = mle._Columns.of(bgnbd.SPEC, data)
    for k, v in data.items():
        np.testing.assert_array_equal(cols.values[k][cols.codes[k]], v)
    # whole numbers: one value per number of their range; others: one per distinct value
    assert cols.values["frequency"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert sorted(cols.values["recency"].tolist()) == [0.0, 3.0, 7.5]
    sub = cols.take(np.array([3, 0]))
    np.testing.assert_array_equal(sub.values["recency"][sub.codes["recency"]], [7.5, 3.0])
    assert mle._Columns.of(bgnbd.SPEC, cols) is cols


def test_one_column_terms_move_before_the_gather_and_mixed_terms_stay_per_row():
    import pytensor
    import pytensor.tensor as pt
    from pytensor.graph.fg import FunctionGraph
    from pytensor.tensor.subtensor import AdvancedSubtensor

    r = pt.dscalar("r")
    xv, xc = pt.dvector("xv"), pt.lvector("xc")
    tv, tc = pt.dvector("tv"), pt.lvector("tc")
    x, t = xv[xc], tv[tc]
    one_column = pt.gammaln(r + x) * 2.0
    mixed = pt.log(x + t)
    graph = FunctionGraph([r, xv, xc, tv, tc], [one_column, mixed], clone=True)
    mle._lift_gathers(graph)
    lifted, kept = graph.outputs
    # gammaln(r + x) * 2 now ends in a gather of a vector computed on the distinct values
    assert isinstance(lifted.owner.op, AdvancedSubtensor)
    assert lifted.owner.inputs[1] is graph.inputs[2]
    # log(x + t) reads two different gathers: it is still evaluated per row
    assert not isinstance(kept.owner.op, AdvancedSubtensor)
    fn = pytensor.function(graph.inputs, graph.outputs)
    vals, codes = np.array([1.0, 4.0]), np.array([1, 0, 1, 1])
    tvals, tcodes = np.array([2.0, 3.0, 5.0]), np.array([0, 2, 1, 0])
    from scipy.special import gammaln

    got_one, got_mixed = fn(0.5, vals, codes, tvals, tcodes)
    np.testing.assert_allclose(got_one, 2.0 * gammaln(0.5 + vals[codes]), rtol=1e-14)
    np.testing.assert_allclose(got_mixed, np.log(vals[codes] + tvals[tcodes]), rtol=1e-14)


def test_two_column_terms_are_evaluated_once_per_distinct_pair():
    import pytensor
    import pytensor.tensor as pt
    from pytensor.graph.fg import FunctionGraph
    from pytensor.tensor.subtensor import AdvancedSubtensor

    r = pt.dscalar("r")
    xv, xc, tv, tc, Tv, Tc = (pt.dvector("xv"), pt.lvector("xc"), pt.dvector("tv"), pt.lvector("tc"),
                              pt.dvector("Tv"), pt.lvector("Tc"))
    a, b, p = pt.lvector("a"), pt.lvector("b"), pt.lvector("p")
    x, t, T = xv[xc], tv[tc], Tv[Tc]
    pair_term = pt.gammaln(r + x) * pt.log(r + t)
    all_three = pair_term + pt.log(T)
    inputs = [r, xv, xc, tv, tc, Tv, Tc, a, b, p]
    graph = FunctionGraph(inputs, [pair_term, all_three], clone=True)
    g = graph.inputs
    mle._lift_gathers(graph, [(g[2], g[4], g[7], g[8], g[9])])
    lifted, kept = graph.outputs
    # the (x, t) term ends in a gather by the pair code; the three-column sum stays per row
    assert isinstance(lifted.owner.op, AdvancedSubtensor) and lifted.owner.inputs[1] is g[9]
    assert not isinstance(kept.owner.op, AdvancedSubtensor)
    rng = np.random.default_rng(3)
    data = {"frequency": rng.integers(0, 4, 50).astype(float), "recency": rng.integers(0, 3, 50).astype(float),
            "T": rng.uniform(1, 2, 50)}
    cols = mle._Columns.of(bgnbd.SPEC, data)
    pa, pb, prow = cols.pair("frequency", "recency")
    assert len(pa) == len(set(zip(data["frequency"], data["recency"]))) < 50
    fn = pytensor.function(graph.inputs, graph.outputs, on_unused_input="ignore")  # x and t: only through pairs
    args = [cols.values["frequency"], cols.codes["frequency"], cols.values["recency"], cols.codes["recency"],
            cols.values["T"], cols.codes["T"], pa, pb, prow]
    from scipy.special import gammaln

    got_pair, got_all = fn(0.5, *args)
    want = gammaln(0.5 + data["frequency"]) * np.log(0.5 + data["recency"])
    np.testing.assert_allclose(got_pair, want, rtol=1e-14)
    np.testing.assert_allclose(got_all, want + np.log(data["T"]), rtol=1e-13, atol=1e-14)
    # a subset of rows keeps the pair table and takes its rows' pair codes
    rows = np.array([7, 3, 3, 40])
    sub = cols.take(rows)
    sa, sb, srow = sub.pair("frequency", "recency")
    np.testing.assert_array_equal(sub.values["frequency"][sa[srow]], data["frequency"][rows])
    np.testing.assert_array_equal(sub.values["recency"][sb[srow]], data["recency"][rows])


def test_pareto_nbd_hypergeometric_terms_run_per_distinct_pair_with_exact_results_at_recency_equal_T():
    """Pareto/NBD's integral terms depend on (x, t_x) and on (x, T): the graph uses both pairs.
    Rows whose last purchase is at T (no room to die after it) and rows with x = 0 are included."""
    spec, rng = pareto_nbd.SPEC, np.random.default_rng(11)
    pairs = mle._compile(spec)[2]
    assert set(pairs) >= {("frequency", "recency"), ("frequency", "T")}
    data = _rows("pareto_nbd", rng, 3000)
    data["recency"][:200] = np.where(data["frequency"][:200] > 0, data["T"][:200], 0.0)
    weights = rng.integers(1, 4, 3000).astype(float)
    theta = np.array(THETA["pareto_nbd"])
    for th in (theta, theta + np.array([0.0, -1.0, 0.0, 1.0])):  # alpha > beta and alpha < beta
        total, grad = mle.loglik_and_grad(spec, th, data, weights)
        assert total == pytest.approx(_numpy_total(spec, th, data, weights), rel=1e-11)
        assert np.all(np.isfinite(grad))
    rows = rng.choice(3000, 500, replace=False)
    cols = mle._Columns.of(spec, data)
    cols.pair("frequency", "recency")  # pairs built on all rows, then a subset is taken
    sub_total, _ = mle.loglik_and_grad(spec, theta, cols.take(rows), weights[rows])
    sub = {k: v[rows] for k, v in data.items()}
    assert sub_total == pytest.approx(_numpy_total(spec, theta, sub, weights[rows]), rel=1e-11)


def test_covariate_columns_are_not_paired():
    """A continuous covariate has about as many distinct pairs as rows: lifting through it only
    adds gathers (BG/NBD with two covariates on 1M rows ran 3x slower), so only the model's own
    counts and times are paired."""
    from clvmodels.models.covariates import CovariateDesign, with_covariates

    design = CovariateDesign(purchase=("z1", "z2"), dropout=("z1",))
    spec = with_covariates(bgnbd.SPEC, design)
    candidates = mle._pair_candidates(spec)
    assert candidates == [("frequency", "recency"), ("frequency", "T"), ("recency", "T")]
    rng = np.random.default_rng(2)
    data = _rows("bgnbd", rng, 2000)
    data |= {"z1": rng.integers(0, 2, 2000).astype(float), "z2": rng.normal(size=2000)}
    theta = np.array([-1.0, 3.0, -0.5, 1.0] + [0.1] * (len(spec.params) - 4))
    total, _ = mle.loglik_and_grad(spec, theta, data, np.ones(2000))
    assert total == pytest.approx(_numpy_total(spec, theta, data, np.ones(2000)), rel=1e-11)
