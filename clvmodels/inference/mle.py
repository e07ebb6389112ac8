"""Maximum likelihood for any :class:`~clvmodels.models.spec.ModelSpec`.

The model's one log-likelihood is turned into a PyTensor graph on an unconstrained scale
(log for positive parameters, logit for unit-interval ones), compiled once per model with its
exact gradient, and maximised by L-BFGS-B followed by Newton steps. Standard errors come from
the Hessian on the unconstrained scale (central differences of the exact gradient) mapped to
the natural scale by the delta method, :math:`\\Sigma = J H^{-1} J^\\top` with diagonal
:math:`J = \\partial\\theta/\\partial\\eta`; the result is symmetric by construction.
"""

from __future__ import annotations

import contextlib
import itertools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

try:  # installed with pymc
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

from clvmodels import backend
from clvmodels.checks import check_number
from clvmodels.data.compress import column_codes
from clvmodels.errors import ConvergenceError, ConvergenceWarning, warning_text
from clvmodels.models.spec import ModelSpec

__all__ = ["MLEResult", "fit_mle", "loglik_and_grad", "penalty", "penalty_coefficients", "penalty_scales", "prior_terms",
           "starting_values"]

_COMPILED: dict[str, object] = {}
#: Above this many distinct rows the quasi-Newton phase runs on a random subset of _SUBSET rows.
_LARGE = 50_000
_SUBSET = 20_000


#: A ridge to infinity: over this many quasi-Newton iterations some parameter moved outward
#: monotonically by more than _RIDGE_FACTOR, ended beyond _RIDGE_FAR of 1 (either way), and the
#: log-likelihood rose by less than _RIDGE_GAIN in all.
_RIDGE_WINDOW, _RIDGE_FACTOR, _RIDGE_FAR, _RIDGE_GAIN = 8, 10.0, 50.0, 0.5


class _Ridge:
    """L-BFGS-B callback that stops a walk along a ridge to the edge of the parameter space.

    Where the data do not identify a parameter (Pareto/NBD's dropout heterogeneity on a short
    calibration period: s and beta grow together), the likelihood keeps rising, ever more
    slowly, toward a boundary; the walk there gets slow (the special functions at huge
    parameters) and never ends in an optimum. Stopping it early lets the fit say so.
    """

    def __init__(self, total_weight: float):
        self.total_weight = total_weight
        self.history: list[tuple[np.ndarray, float]] = []
        self.runaway: np.ndarray | None = None
        self.start: np.ndarray | None = None

    def __call__(self, intermediate_result):
        self.history.append((np.array(intermediate_result.x, dtype=float), float(intermediate_result.fun)))
        if len(self.history) <= _RIDGE_WINDOW:
            return
        window = self.history[-_RIDGE_WINDOW - 1:]
        thetas = np.array([th for th, _ in window])
        gain = (window[0][1] - window[-1][1]) * self.total_weight
        steps = np.diff(thetas, axis=0) * np.sign(thetas[-1])
        runaway = (
            np.all(steps >= 0, axis=0)
            & (np.abs(thetas[-1] - thetas[0]) > np.log(_RIDGE_FACTOR))
            & (np.abs(thetas[-1]) > np.log(_RIDGE_FAR))
        )
        if runaway.any() and gain < _RIDGE_GAIN:
            self.runaway, self.start = runaway, thetas[0]
            raise StopIteration

    def describe(self, spec: ModelSpec, theta: np.ndarray) -> tuple[list[str], str]:
        """The parameters that ran away, and a sentence on how (with the model's own reading of that ridge)."""
        names = [p.name for p, hit in zip(spec.params, self.runaway) if hit]
        moves = ", ".join(
            f"{p.name} {float(p.from_unconstrained(self.start[i])):.4g} -> {float(p.from_unconstrained(theta[i])):.4g}"
            for i, p in enumerate(spec.params) if self.runaway[i]
        )
        together = ""
        if len(names) == 2:
            i, j = np.flatnonzero(self.runaway)
            ratio_then, ratio_now = self.start[i] - self.start[j], theta[i] - theta[j]
            if abs(ratio_now - ratio_then) < 0.1:
                together = f"; {names[0]}/{names[1]} stays near {np.exp(ratio_now):.4g}"
        # only the fitted model's own explanation of this ridge, never another model's
        notes = [text for params, text in spec.ridges if set(params) == set(names)]
        detail = (f"The likelihood keeps rising toward the edge of the parameter space ({moves} over the last "
                  f"{_RIDGE_WINDOW} iterations, log-likelihood gain below {_RIDGE_GAIN}{together}), so it has no "
                  f"maximum inside it.")
        return names, " ".join([detail, *notes])


def _warn(headline: str, detail: str, advice: str, cli_advice: str) -> None:
    # stacklevel 6: the user's call of the estimator's fit (fit, _fit_point, fit_mle, _warn_unconverged, _warn)
    warnings.warn(ConvergenceWarning(warning_text(headline, detail, advice),
                                     cli_message=warning_text(headline, detail, cli_advice)), stacklevel=6)


def _warn_unconverged(spec: ModelSpec, values: np.ndarray, *, ridge: _Ridge, theta: np.ndarray, grad_norm: float,
                      gtol: float, positive_definite: bool, penalized: bool) -> None:
    """One :class:`~clvmodels.errors.ConvergenceWarning` per problem of a fit that did not converge."""
    title, names = spec.title, spec.param_names
    estimates = ", ".join(f"{n} = {v:.4g}" for n, v in zip(names, values))
    py_start = f"fit(..., init={{{names[0]!r}: ..., {names[-1]!r}: ...}})"
    cli_start = f"--init {names[0]}=VALUE,{names[-1]}=VALUE"
    penalizer = "" if penalized else ", or a penalizer (fit(..., penalizer=0.01))"
    if ridge.runaway is not None:
        runaway, detail = ridge.describe(spec, theta)
        them = "them" if len(runaway) > 1 else "it"
        _warn(f"{title} maximum likelihood did not converge: these data do not identify {' and '.join(runaway)}.",
              detail, f"A longer calibration period usually identifies {them}{penalizer}.",
              f"A longer calibration period (a later --calibration-end) usually identifies {them}.")
    elif grad_norm >= gtol:
        _warn(f"{title} maximum likelihood did not converge: the gradient is not zero.",
              f"Largest component {grad_norm:.2e} per customer (tolerance {gtol:.0e}) at {estimates}.",
              f"Try other starting values ({py_start}), a coarser time unit{penalizer}.",
              f"Try other starting values ({cli_start}) or a coarser time unit (--unit).")
    if not positive_definite:
        _warn(f"{title} maximum likelihood: no standard errors (the Hessian is not positive definite).",
              f"At {estimates} the likelihood is flat or curves upward along some direction, so the "
              f"estimates are not a well-defined maximum.",
              f"Try other starting values ({py_start}){penalizer}, or check that the data carry information on "
              f"every parameter (e.g. enough repeat buyers).",
              f"Try other starting values ({cli_start}), or check that the data carry information on every "
              f"parameter (e.g. enough repeat buyers).")


def _lbfgs(objective, theta0, options, callback=None, bounds=None):
    """L-BFGS-B with one BLAS thread: on a handful of parameters BLAS threads only add
    synchronisation, which on a busy machine cost ~5 ms per iteration (scipy 1.18, OpenBLAS)."""
    limit = threadpool_limits(limits=1, user_api="blas") if threadpool_limits else contextlib.nullcontext()
    with limit:
        return optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B", options=options, callback=callback,
                                 bounds=bounds)


@dataclass
class MLEResult:
    """Outcome of :func:`fit_mle`; plain data, so it serialises to JSON."""

    params: dict[str, float]
    cov: np.ndarray
    loglik: float
    converged: bool
    n_iter: int
    grad_norm: float
    message: str
    theta: np.ndarray = field(repr=False)

    @property
    def se(self) -> dict[str, float]:
        return dict(zip(self.params, np.sqrt(np.clip(np.diag(self.cov), 0, None)).tolist()))


class _Columns:
    """The data columns of a fit, each factored once into its distinct values and each row's code.

    The likelihood graph reads a column as ``values[codes]``, and :func:`_lift_gathers` moves
    every sub-expression of one column before that gather: BG/NBD's log-gamma and log-beta
    terms of x are then evaluated once per distinct frequency (~100 among 1e6 customers)
    instead of once per row, 4x faster per likelihood-and-gradient pass. A sub-expression of
    two columns is evaluated once per distinct pair of their values (:meth:`pair`): Pareto/NBD's
    hypergeometric terms of (x, t_x) and (x, T).
    """

    def __init__(self, names, values: dict[str, np.ndarray], codes: dict[str, np.ndarray], pairs=None):
        self.names, self.values, self.codes = tuple(names), values, codes
        # (first, second) -> (codes of the first column's values, of the second's, each row's pair)
        self.pairs: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = dict(pairs or {})

    @classmethod
    def of(cls, spec: ModelSpec, data: Mapping[str, np.ndarray]) -> _Columns:
        if isinstance(data, _Columns):
            return data
        values, codes = {}, {}
        for k in spec.data_names:
            col = np.asarray(data[k], dtype=float).ravel()
            # a whole-number range wider than the rows would add more values than it saves
            code, values[k] = column_codes(col, max_values=max(len(col), 1024))
            codes[k] = code.astype(np.int64, copy=False)
        return cls(spec.data_names, values, codes)

    def pair(self, first: str, second: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The distinct (first, second) pairs as codes into each column's values, and each row's pair."""
        if (first, second) not in self.pairs:
            width = len(self.values[second])
            joint = self.codes[first] * width + self.codes[second]
            cells = len(self.values[first]) * width
            if cells <= max(4 * len(joint), 1 << 20):
                # a table over every cell: no sort or hash (a few ms for 1e6 rows)
                seen = np.zeros(cells, dtype=bool)
                seen[joint] = True
                distinct = np.flatnonzero(seen)
                row = (np.cumsum(seen) - 1)[joint]
            else:
                row, distinct = pd.factorize(joint)
            self.pairs[first, second] = (distinct // width, distinct % width, row.astype(np.int64, copy=False))
        return self.pairs[first, second]

    def take(self, rows: np.ndarray) -> _Columns:
        """The rows ``rows`` (codes into the same distinct values and pairs)."""
        pairs = {k: (a, b, row[rows]) for k, (a, b, row) in self.pairs.items()}
        return _Columns(self.names, self.values, {k: c[rows] for k, c in self.codes.items()}, pairs)

    def args(self, candidates: tuple[tuple[str, str], ...] = (), used: tuple[tuple[str, str], ...] = ()) -> list[np.ndarray]:
        """The compiled function's data arguments: each column, then each candidate pair (empty if unused)."""
        empty = np.zeros(0, dtype=np.int64)
        out = [a for k in self.names for a in (self.values[k], self.codes[k])]
        for first, second in candidates:
            out.extend(self.pair(first, second) if (first, second) in used else (empty, empty, empty))
        return out


def _lift_gathers(fgraph, pairs=()) -> None:
    """Rewrite ``f(v[i], w[i], c)`` as ``f(v, w, c)[i]`` throughout ``fgraph`` for elementwise ``f``.

    Applies when every non-scalar input of an elementwise operation is a gather by the same
    integer vector (scalars are the parameters); repeated from the inputs down, it evaluates
    each sub-expression of one data column on the column's distinct values. The gradient's
    graph has the same form, so it gains too. Values are unchanged: only where the
    operation is applied moves.

    ``pairs`` holds ``(i, j, a, b, p)`` graph variables with ``i = a[p]`` and ``j = b[p]``
    (two columns' codes through the codes of their distinct pairs): an operation whose inputs
    are gathers by ``i``, ``j`` or ``p`` becomes ``f(v[a], w[b], u)[p]``, once per distinct
    pair. Returns nothing; ``fgraph`` is rewritten in place.
    """
    from pytensor.graph.rewriting.basic import in2out, node_rewriter
    from pytensor.tensor.elemwise import Elemwise
    from pytensor.tensor.subtensor import AdvancedSubtensor

    def gather(var):
        node = var.owner
        if node is None or not isinstance(node.op, AdvancedSubtensor) or len(node.inputs) != 2:
            return None
        source, index = node.inputs
        ok = source.type.ndim == 1 and index.type.ndim == 1 and index.type.dtype.startswith("int")
        return (source, index) if ok else None

    def through_pair(node, gathered):
        # the one pair whose codes explain every gather of this operation, as (inputs, its row code)
        indices = {id(found[1]) for found in gathered if found is not None}
        for i, j, a, b, p in pairs:
            if indices <= {id(i), id(j), id(p)}:
                route = {id(i): a, id(j): b}
                inputs = [var if found is None else (found[0] if found[1] is p else found[0][route[id(found[1])]])
                          for var, found in zip(node.inputs, gathered)]
                return inputs, p
        return None

    @node_rewriter([Elemwise])
    def lift(fgraph, node):
        gathered = []
        for var in node.inputs:
            found = gather(var)
            if found is None and not all(var.type.broadcastable):
                return None
            gathered.append(found)
        indices = [found[1] for found in gathered if found is not None]
        if not indices:
            return None
        if all(index is indices[0] for index in indices):
            inputs, index = [var if found is None else found[0] for var, found in zip(node.inputs, gathered)], indices[0]
        else:
            routed = through_pair(node, gathered)
            if routed is None:
                return None
            inputs, index = routed
        return [out[index] for out in node.op.make_node(*inputs).outputs]

    in2out(lift).rewrite(fgraph)


def _pair_candidates(spec: ModelSpec) -> list[tuple[str, str]]:
    """Column pairs whose joint terms may run once per distinct pair: the model's own counts and
    times, which repeat across customers. A covariate ('real') column is left out: a continuous
    one has about as many pairs as rows, so lifting through it adds gathers and blocks the fusion
    of the per-row work (BG/NBD with two covariates at 1M rows: 8.2 s -> 25.6 s with it)."""
    own = [d.name for d in spec.data if d.kind != "real"]
    return list(itertools.combinations(own, 2))


def _compile(spec: ModelSpec):
    """Compile ``(theta, *(values, codes) per column, *(a, b, p) per column pair, weights) -> (total
    loglik, gradient)`` once per process; returns the function, its candidate pairs and those its graph uses."""
    compiled = _COMPILED.get(spec.key)
    if compiled is None:
        import pytensor
        import pytensor.tensor as pt
        from pytensor.graph.fg import FunctionGraph

        theta = pt.dvector("theta")
        columns = {name: (pt.dvector(f"{name}_values"), pt.lvector(f"{name}_codes")) for name in spec.data_names}
        names = _pair_candidates(spec)
        pair_vars = {(f, s): tuple(pt.lvector(f"{f}_{s}_{part}") for part in ("a", "b", "p")) for f, s in names}
        data = {name: values[codes] for name, (values, codes) in columns.items()}
        weights = pt.dvector("weights")
        params = {p.name: p.from_unconstrained(theta[i], xp=backend.pytensor) for i, p in enumerate(spec.params)}
        total = pt.sum(weights * spec.loglik(backend.pytensor, **params, **data))
        grad = pytensor.grad(total, theta)
        inputs = [theta, *(v for pair in columns.values() for v in pair), *(v for t in pair_vars.values() for v in t),
                  weights]
        graph = FunctionGraph(inputs, [total, grad], clone=True)
        cloned = dict(zip(inputs, graph.inputs))
        pairs = [(cloned[columns[f][1]], cloned[columns[s][1]], *(cloned[v] for v in pair_vars[f, s])) for f, s in names]
        _lift_gathers(graph, pairs)
        used = tuple(name for name, (_, _, _, _, p) in zip(names, pairs) if graph.clients.get(p))
        fn = pytensor.function(graph.inputs, graph.outputs, on_unused_input="ignore")
        compiled = _COMPILED[spec.key] = (fn, tuple(names), used)
    return compiled


def loglik_and_grad(spec: ModelSpec, theta: np.ndarray, data: Mapping[str, np.ndarray], weights: np.ndarray):
    """Total weighted log-likelihood and its gradient with respect to the unconstrained ``theta``.

    Examples
    --------
    >>> import numpy as np
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> ll, g = loglik_and_grad(SPEC, np.zeros(3), {"frequency": np.array([2.0]),
    ...                         "monetary_value": np.array([1.0])}, np.ones(1))
    >>> g.shape
    (3,)
    """
    fn, candidates, used = _compile(spec)
    total, grad = fn(np.asarray(theta, dtype=float), *_Columns.of(spec, data).args(candidates, used), weights)
    return float(total), np.asarray(grad, dtype=float)


def _hessian(spec, theta, data, weights, step=1e-5, forward=False):
    """Hessian of the total log-likelihood by central differences of the exact gradient.

    ``forward=True``: forward differences (k + 1 gradient passes instead of 2 k, with a
    relative error of ~1e-6 instead of ~1e-10), for fits on many distinct rows, where each
    pass costs most and the standard errors are far smaller than that error matters for.
    """
    k = len(theta)
    hess = np.empty((k, k))
    g0 = loglik_and_grad(spec, theta, data, weights)[1] if forward else None
    for i in range(k):
        h = (step / 10 if forward else step) * max(1.0, abs(theta[i]))
        e = np.zeros(k)
        e[i] = h
        if forward:
            hess[:, i] = (loglik_and_grad(spec, theta + e, data, weights)[1] - g0) / h
        else:
            hess[:, i] = (loglik_and_grad(spec, theta + e, data, weights)[1] - loglik_and_grad(spec, theta - e, data, weights)[1]) / (2 * h)
    return 0.5 * (hess + hess.T)


def _unidentified(spec: ModelSpec, data: Mapping[str, np.ndarray], weights: np.ndarray) -> str | None:
    """Why these data cannot identify the model's parameters, or None: checked on the data
    before any optimisation, so that a fit that cannot succeed ends at once with the reason.

    Each rule is a data set on the edge of what the models can learn from (issue 10, section
    6): on it the likelihood has no maximum inside the parameter space, and the optimiser would
    walk toward an edge, where the special functions get slow (minutes for Pareto/NBD), and
    return numbers that mean nothing. The rules read only the data columns, so they hold for
    every model with those columns.
    """
    names = spec.param_names
    every = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    arrays = {k: np.asarray(v, dtype=float) for k, v in data.items()}
    n_customers = float(np.sum(weights))
    fix = "Fit on a summary with more customers, or more varied ones (a longer calibration period)."
    if n_customers < 2:
        return (f"the summary has {n_customers:g} customer: one history cannot show how customers differ, "
                f"so these data do not identify {every}. {fix}")
    if "T" in arrays and np.all(arrays["T"] == 0):
        return (f"T = 0 for all {n_customers:g} customers (every first purchase is on the calibration end): "
                f"nobody was observed for any time, so the data carry no information on any parameter, "
                f"and do not identify {every}. Move calibration_end later than the first purchases.")
    if "recency" in arrays and "frequency" in arrays and np.all(arrays["frequency"] == 0):
        return (f"no customer made a repeat purchase (frequency is 0 for all {n_customers:g}): the likelihood "
                f"keeps rising as the purchase rate goes to 0, and without purchases there is nothing to learn "
                f"about dropout, so these data do not identify {every}. {fix}")
    if "churned" in arrays and np.all(arrays["churned"] == 0):
        return (f"no customer churned ('churned' is 0 for all {n_customers:g}): the likelihood keeps rising as "
                f"the churn probability goes to 0, so these data do not identify {every}. Fit on a cohort "
                f"observed until some customers churned.")
    if "monetary_value" in arrays and np.ptp(arrays["monetary_value"]) == 0:
        return (f"every customer has the same mean spend ({arrays['monetary_value'][0]:g}): with no spread in "
                f"spend across or within customers the likelihood keeps rising as it shrinks to 0, so these data "
                f"do not identify {every}. {fix}")
    if len(weights) == 1:
        row = ", ".join(f"{k} = {v[0]:g}" for k, v in arrays.items())
        return (f"all {n_customers:g} customers have the same history ({row}): with no variation across "
                f"customers the spread of their rates shrinks to 0 at the optimum, so these data do not "
                f"identify {every}. {fix}")
    return None


def penalty_scales(spec: ModelSpec, data: Mapping[str, np.ndarray]) -> np.ndarray:
    """Factor each parameter is multiplied by inside the L2 penalty: ``1 / max(T)`` for parameters
    measured in the time unit (:attr:`~clvmodels.models.spec.Param.time_scale`), 1 otherwise.

    This is lifetimes' convention (it fits in time scaled so that the longest ``T`` is 1 and
    penalizes the parameters of that scale); it makes the penalty independent of the unit the
    summary is in.

    Examples
    --------
    >>> from clvmodels.models.bgnbd import SPEC
    >>> penalty_scales(SPEC, {"T": np.array([10.0, 40.0])}).tolist()
    [1.0, 0.025, 1.0, 1.0]
    """
    t_max = float(np.max(data["T"])) if "T" in data and len(data["T"]) else 1.0
    return np.array([1.0 / t_max if p.time_scale and t_max > 0 else 1.0 for p in spec.params])


def penalty(spec: ModelSpec, theta: np.ndarray, scales: np.ndarray, coef):
    """The L2 penalty ``sum(coef_i * (scale_i * value_i)**2)`` at the unconstrained ``theta``, with its
    gradient and the diagonal of its Hessian with respect to ``theta``.

    ``coef`` is one coefficient for every parameter or one per parameter (0 leaves a parameter
    unpenalized: :func:`penalty_coefficients`).

    Examples
    --------
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> value, grad, hess = penalty(SPEC, np.zeros(3), np.ones(3), 0.1)
    >>> round(value, 6), grad.round(6).tolist()
    (0.3, [0.2, 0.2, 0.2])
    """
    values = np.array([float(p.from_unconstrained(theta[i])) for i, p in enumerate(spec.params)])
    d1 = np.array([float(p.jacobian(v)) for p, v in zip(spec.params, values)])
    d2 = np.array([float(p.curvature(v)) for p, v in zip(spec.params, values)])
    s2 = scales ** 2
    return (float(np.sum(coef * s2 * values ** 2)), 2.0 * coef * s2 * values * d1,
            2.0 * coef * s2 * (d1 ** 2 + values * d2))


def penalty_coefficients(spec: ModelSpec, penalizer: float | Mapping[str, float]) -> np.ndarray:
    """Each parameter's L2 penalty coefficient: ``penalizer`` for all of them, or, for a mapping,
    the coefficient of each parameter it names (0 for the others).

    A mapping penalizes some parameters only, e.g. a covariate model's regression coefficients
    (``CLVModel.fit(covariate_penalizer=...)``) but not the baseline parameters.

    Examples
    --------
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> penalty_coefficients(SPEC, 0.1).tolist(), penalty_coefficients(SPEC, {"gamma": 0.5}).tolist()
    ([0.1, 0.1, 0.1], [0.0, 0.0, 0.5])
    """
    if isinstance(penalizer, Mapping):
        unknown = sorted(set(penalizer) - set(spec.param_names))
        if unknown:
            raise ValueError(f"{spec.title} has no parameter {', '.join(map(repr, unknown))} to penalize; "
                             f"its parameters are {', '.join(spec.param_names)}.")
        coefs = np.array([float(penalizer.get(name, 0.0)) for name in spec.param_names])
    else:
        coefs = np.full(len(spec.params), float(penalizer))
    if not np.all(np.isfinite(coefs) & (coefs >= 0)):
        raise ValueError(f"Penalty coefficients must be finite and >= 0. Got {penalizer!r} instead.")
    return coefs


def prior_terms(spec: ModelSpec, theta: np.ndarray, log_prior) -> tuple[float, np.ndarray, np.ndarray]:
    """The log prior at the unconstrained ``theta``, with its gradient and Hessian diagonal in ``theta``.

    ``log_prior`` gives the density and its derivatives at the natural-scale values; the chain
    rule maps them to ``theta`` (as :func:`penalty` does for the L2 penalty).

    Examples
    --------
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> def exponential(v):  # three Exponential(1) priors: log p = -sum(v)
    ...     return -float(np.sum(v)), -np.ones(3), np.zeros(3)
    >>> value, grad, hess = prior_terms(SPEC, np.zeros(3), exponential)  # v = exp(0) = 1
    >>> value, grad.tolist(), hess.tolist()
    (-3.0, [-1.0, -1.0, -1.0], [-1.0, -1.0, -1.0])
    """
    values = np.array([float(p.from_unconstrained(theta[i])) for i, p in enumerate(spec.params)])
    d1 = np.array([float(p.jacobian(v)) for p, v in zip(spec.params, values)])
    d2 = np.array([float(p.curvature(v)) for p, v in zip(spec.params, values)])
    lp, g, h = log_prior(values)
    return float(lp), g * d1, h * d1 ** 2 + g * d2


def starting_values(spec: ModelSpec, init: Mapping[str, float] | None = None) -> dict[str, float]:
    """The optimiser's starting values: ``init`` checked against the model, each missing one its default.

    Parameters
    ----------
    spec : ModelSpec
        The model.
    init : mapping, optional
        Starting values on the natural scale for some or all parameters, by name.

    Returns
    -------
    dict
        One float per parameter of ``spec``, in its order.

    Raises
    ------
    ValueError
        For a name the model does not have, or a value outside the parameter's support.
    TypeError
        For a value that is not a real number.

    Examples
    --------
    >>> from clvmodels.models.bgnbd import SPEC
    >>> starting_values(SPEC, {"r": 0.5})
    {'r': 0.5, 'alpha': 1.0, 'a': 1.0, 'b': 1.0}
    >>> starting_values(SPEC, {"beta": 2.0})
    Traceback (most recent call last):
    ...
    ValueError: BG/NBD has no parameter 'beta' to start from; its parameters are r, alpha, a, b.
    """
    init = dict(init or {})
    unknown = [name for name in init if name not in spec.param_names]
    if unknown:
        raise ValueError(f"{spec.title} has no parameter {', '.join(map(repr, unknown))} to start from; "
                         f"its parameters are {', '.join(spec.param_names)}.")
    out = {}
    for p in spec.params:
        if p.name not in init:
            out[p.name] = float(p.init)
            continue
        value = check_number(p.name, init[p.name], where=f"the {spec.title} starting values")
        if not p.in_support(value):
            raise ValueError(f"The starting value of {spec.title}'s '{p.name}' must be {p.support_text}. "
                             f"Got {init[p.name]!r} instead.")
        out[p.name] = value
    return out


def fit_mle(
    spec: ModelSpec,
    data: Mapping[str, np.ndarray],
    weights: np.ndarray,
    *,
    init: Mapping[str, float] | None = None,
    maxiter: int = 2000,
    gtol: float = 1e-7,
    penalizer: float | Mapping[str, float] = 0.0,
    lower: Mapping[str, float] | None = None,
    log_prior: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]] | None = None,
) -> MLEResult:
    """Maximise the weighted log-likelihood of ``spec`` on ``data``, optionally L2-penalized or bounded.

    Parameters
    ----------
    spec : ModelSpec
        The model.
    data : mapping of str to ndarray
        One float array per column in ``spec.data_names`` (usually unique rows).
    weights : ndarray
        Number of customers behind each row.
    init : mapping, optional
        Starting values on the natural scale for some or all parameters (defaults: each
        parameter's ``init``); checked by :func:`starting_values`.
    maxiter : int
        Iteration limit of the quasi-Newton phase.
    gtol : float
        Convergence tolerance on the largest gradient component of the mean log-likelihood
        per customer (scale-free across data sizes).
    penalizer : float
        Coefficient ``c`` of an L2 penalty: the objective minimised is the negative mean
        log-likelihood per customer plus ``c * sum(v**2)`` over the parameters ``v``, those
        measured in the time unit divided by the largest ``T`` first (:func:`penalty_scales`).
        This is lifetimes' ``penalizer_coef`` for BG/NBD, MBG/NBD, BG/BB and Gamma-Gamma;
        lifetimes' Pareto/NBD divides the log-likelihood by the mean weight instead of the
        total, so its ``penalizer_coef`` equals ``c`` times the number of summary rows. The
        reported ``loglik`` is the unpenalized log-likelihood at the penalized estimate, and
        the covariance is the inverse Hessian of the penalized objective. A mapping
        ``{name: c}`` penalizes only the parameters it names, each with its own coefficient
        (:func:`penalty_coefficients`): the same objective, some terms 0.
    lower : mapping, optional
        Lower bounds on the natural scale for some parameters (``{"q": 1.0}``); an estimate on
        its bound is held there, with zero variance.
    log_prior : callable, optional
        ``values -> (log density, d/dv, d2/dv2)`` of independent priors at the natural-scale
        values (:func:`clvmodels.inference.bayes.log_prior`): the fit is then the posterior
        mode (MAP), maximising log-likelihood + log prior; ``loglik`` is still the
        log-likelihood at the estimate and ``cov`` the inverse Hessian of the log posterior
        (the Laplace approximation).

    Returns
    -------
    MLEResult

    Notes
    -----
    With more than 50,000 distinct rows the quasi-Newton phase runs on a fixed-seed subset of
    20,000 rows (the heaviest quarter kept, the rest sampled and reweighted), and only the
    Newton steps, which reach the same optimum, and the final Hessian use all rows.

    Examples
    --------
    >>> import numpy as np
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(1, 6, 2000).astype(float)
    >>> nu = rng.gamma(4.0, 1 / 20.0, 2000)
    >>> z = rng.gamma(6.0 * x, 1 / (nu * x))
    >>> res = fit_mle(SPEC, {"frequency": x, "monetary_value": z}, np.ones(2000))
    >>> res.converged, round(res.params["p"] / 6.0, 1)
    (True, 1.0)
    """
    weights = np.asarray(weights, dtype=float)
    reason = _unidentified(spec, data, weights)
    if reason is not None:
        raise ConvergenceError(f"{spec.title} maximum likelihood cannot succeed: {reason}")
    total_w = float(weights.sum())
    start = starting_values(spec, init)
    theta0 = np.array([float(p.to_unconstrained(start[p.name])) for p in spec.params])
    coef = penalty_coefficients(spec, penalizer)
    scales = penalty_scales(spec, data)
    lower = dict(lower or {})
    unknown = sorted(set(lower) - set(spec.param_names))
    if unknown:
        raise ValueError(f"{spec.title} has no parameter {', '.join(map(repr, unknown))} to bound; "
                         f"its parameters are {', '.join(spec.param_names)}.")
    # bounds on the unconstrained scale (-inf: none); a start below a bound moves onto it
    floor = np.array([float(p.to_unconstrained(lower[p.name])) if p.name in lower else -np.inf for p in spec.params])
    theta0 = np.maximum(theta0, floor)
    bounds = [(None if np.isinf(lo) else lo, None) for lo in floor] if lower else None

    columns = _Columns.of(spec, data)  # factored once: every pass below reuses it
    regularized = bool(np.any(coef)) or log_prior is not None

    def regularizer(theta):
        # per customer, added to the negative mean log-likelihood: the L2 penalty and/or minus
        # the log prior over the total weight; value, gradient and Hessian diagonal in theta
        value, grad, hess = 0.0, np.zeros_like(theta), np.zeros_like(theta)
        if np.any(coef):
            value, grad, hess = penalty(spec, theta, scales, coef)
        if log_prior is not None:
            lp, lg, lh = prior_terms(spec, theta, log_prior)
            value, grad, hess = value - lp / total_w, grad - lg / total_w, hess - lh / total_w
        return value, grad, hess

    def penalized(theta, ll, g, w):
        # the one objective: negative mean log-likelihood per customer plus the regularizer
        if not np.isfinite(ll) or not np.all(np.isfinite(g)):
            return np.inf, np.zeros_like(theta)
        f, grad = -ll / w, -g / w
        if regularized:
            pen, pen_g, _ = regularizer(theta)
            if not np.isfinite(pen):
                return np.inf, np.zeros_like(theta)
            f, grad = f + pen, grad + pen_g
        return f, grad

    def objective(theta):
        with np.errstate(all="ignore"):
            ll, g = loglik_and_grad(spec, theta, columns, weights)
        return penalized(theta, ll, g, total_w)

    def mean_hessian(theta, rows, w):
        # Hessian of the penalized objective of `rows` (mean per customer)
        hess = -_hessian(spec, theta, rows, w) / w.sum()
        if regularized:
            hess = hess + np.diag(regularizer(theta)[2])
        return hess

    def projected(theta, g):
        # the gradient with the components that push a parameter below its bound removed
        return np.where((theta <= floor + 1e-12) & (g > 0), 0.0, g)

    f0, _ = objective(theta0)
    if not np.isfinite(f0):
        where = ", ".join(f"{n} = {v:.4g}" for n, v in start.items())
        message = f"The {spec.title} log-likelihood is not finite at the starting values {where}."
        raise ConvergenceError(
            warning_text(message, "Pass init={...} with values nearer the data's scale, or check the summary's time "
                                  "unit."),
            cli_message=warning_text(message, "Pass --init name=value,... with values nearer the data's scale, or check "
                                        "--unit."))
    lbfgs_options = {"maxiter": maxiter, "gtol": gtol * 1e-2, "ftol": 1e-15, "maxcor": 20}
    if len(weights) > _LARGE:
        # Many distinct rows: find the optimum's neighbourhood on a subset of rows, so that the
        # costly full-data evaluations are only the few Newton steps below. The subset keeps the
        # heaviest rows whole and a random sample of the others, reweighted by the inverse of
        # their sampling fraction: an unbiased, low-variance estimate of the full log-likelihood.
        n_heavy = _SUBSET // 4
        # (a stable sort: argpartition is 3x slower on weights that are mostly equal counts)
        heavy = np.argsort(weights, kind="stable")[len(weights) - n_heavy:]
        light = np.setdiff1d(np.arange(len(weights)), heavy, assume_unique=True)
        picked = np.random.default_rng(0).choice(light, _SUBSET - n_heavy, replace=False)
        rows = np.concatenate([heavy, picked])
        sub_data = columns.take(rows)
        sub_w = np.concatenate([weights[heavy], weights[picked] * (len(light) / len(picked))])

        def sub_objective(theta):
            with np.errstate(all="ignore"):
                ll, g = loglik_and_grad(spec, theta, sub_data, sub_w)
            return penalized(theta, ll, g, float(sub_w.sum()))

        ridge = _Ridge(float(sub_w.sum()))
        res = _lbfgs(sub_objective, theta0, lbfgs_options, ridge, bounds)
        message = f"warm start on {_SUBSET:,} of {len(weights):,} rows: {res.message}; then Newton on all rows"
        # the subset's Hessian is close to the full one: the first Newton steps use it
        hess = mean_hessian(res.x, sub_data, sub_w)
        hess = hess if np.all(np.isfinite(hess)) else None
    else:
        ridge = _Ridge(total_w)
        res = _lbfgs(objective, theta0, lbfgs_options, ridge, bounds)
        message, hess = str(res.message), None
    theta, n_iter = res.x, int(res.nit)
    f, g = objective(theta)
    if not np.isfinite(f):
        theta, hess = theta0, None
        f, g = objective(theta)
    # Newton polishing: quasi-Newton stops on flat ridges (alpha and r trade off), Newton
    # steps with the Hessian reach the optimum to full precision in a few iterations. The
    # Hessian (2 k gradient evaluations) is kept while each step cuts the gradient fourfold.
    fresh = False
    for _ in range(0 if ridge.runaway is not None else 30):
        pg = projected(theta, g)
        g_max = np.max(np.abs(pg))
        if g_max < gtol * 1e-3:
            break
        if hess is None:
            hess, fresh = mean_hessian(theta, columns, weights), True
        # Newton on the parameters not held at a bound (all of them without bounds)
        free = ~((theta <= floor + 1e-12) & (g > 0))
        step = np.zeros_like(theta)
        try:
            step[free] = np.linalg.solve(hess[np.ix_(free, free)], pg[free])
        except np.linalg.LinAlgError:
            break
        t, accepted = 1.0, False
        while t > 1e-4:
            trial = np.maximum(theta - t * step, floor)
            f_new, g_new = objective(trial)
            # near the optimum a Newton step lowers f by less than its rounding error (f is a
            # mean over many rows): there a smaller gradient is the evidence of progress
            if f_new <= f or (f_new - f <= 1e-13 * abs(f) and np.max(np.abs(projected(trial, g_new))) < g_max):
                accepted = True
                break
            if g_max < gtol:  # converged to tolerance; f no longer falls above rounding noise
                break
            t /= 2
        if not accepted:
            if fresh or g_max < gtol:
                break
            hess = None  # the kept Hessian is stale: recompute it and retry
            continue
        theta, f, g = trial, f_new, g_new
        n_iter += 1
        if np.max(np.abs(projected(theta, g))) > 0.25 * g_max:
            hess = None
        fresh = False
    pg = projected(theta, g)
    grad_norm = float(np.max(np.abs(pg))) if np.isfinite(f) else float("inf")
    hess = -_hessian(spec, theta, columns, weights, forward=len(weights) > _LARGE)
    if regularized:
        hess = hess + total_w * np.diag(regularizer(theta)[2])
    # a parameter held at its bound is fixed: the curvature and covariance are those of the others
    free = ~((theta <= floor + 1e-12) & (g > 0))
    sub = hess[np.ix_(free, free)]
    eig = np.linalg.eigvalsh(sub) if np.all(np.isfinite(sub)) else np.array([np.nan])
    positive_definite = bool(np.all(eig > 0))
    converged = bool(np.isfinite(f) and grad_norm < gtol and positive_definite and ridge.runaway is None)
    values = np.array([float(p.from_unconstrained(theta[i])) for i, p in enumerate(spec.params)])
    jac = np.array([float(p.jacobian(values[i])) for i, p in enumerate(spec.params)])
    if positive_definite:
        inv = np.zeros_like(hess)
        inv[np.ix_(free, free)] = np.linalg.inv(sub)
        cov = jac[:, None] * inv * jac[None, :]
        # symmetrise last: (J_i C_ij) J_j and (J_j C_ji) J_i differ in the last bit otherwise
        cov = 0.5 * (cov + cov.T)
    else:
        cov = np.full((len(values), len(values)), np.nan)
    if not converged:
        _warn_unconverged(spec, values, ridge=ridge, theta=theta, grad_norm=grad_norm, gtol=gtol,
                          positive_definite=positive_definite, penalized=bool(np.any(coef)))
    # the log-likelihood itself, without the penalty or prior
    loglik = -f * total_w if not regularized else loglik_and_grad(spec, theta, columns, weights)[0]
    return MLEResult(
        params=dict(zip(spec.param_names, values.tolist())),
        cov=cov,
        loglik=loglik,
        converged=converged,
        n_iter=n_iter,
        grad_norm=grad_norm,
        message=message,
        theta=theta,
    )
