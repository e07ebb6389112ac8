"""Bayesian inference for any :class:`~clvmodels.models.spec.ModelSpec`, with PyMC.

The PyMC model is built from the spec alone: one prior per :class:`~clvmodels.models.spec.Param`
(its ``prior``, or the caller's override) and one potential, the weighted sum of the spec's
``loglik`` written against :data:`clvmodels.backend.pytensor` over the *distinct* summary rows
(:func:`clvmodels.data.compress`). Sampling cost therefore grows with the number of distinct
(x, t_x, T) rows, not with the number of customers.

Samplers: NUTS through PyMC (``sampler="pymc"``, the default), nutpie or NumPyro when
installed; approximations for large data: ADVI (``method="advi"``) and Pathfinder
(``method="pathfinder"``, needs ``pymc-extras``).

After sampling, the per-customer log-likelihood (for :func:`arviz.loo`) is evaluated with the
NumPy backend in chunks of distinct rows and expanded to customers; it is kept only while it
fits in :data:`LOGLIK_MAX_BYTES` (see :func:`pointwise_loglik`).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from clvmodels import backend, predict
from clvmodels.fit import Fit
from clvmodels.models.spec import ModelSpec

__all__ = [
    "SAMPLERS",
    "METHODS",
    "LOGLIK_MAX_BYTES",
    "resolve_priors",
    "describe_priors",
    "build_pymc_model",
    "sample_posterior",
    "prior_draws",
    "log_prior",
    "pointwise_loglik",
    "loglik_bytes",
    "observed_dataset",
]

logger = logging.getLogger(__name__)

SAMPLERS = ("pymc", "nutpie", "numpyro")
METHODS = ("nuts", "advi", "pathfinder")

#: Largest per-customer log-likelihood array (chains x draws x customers x 8 bytes) stored in
#: ``posterior_`` by default: 256 MiB, e.g. 4,000 draws x 8,000 customers. Beyond it the group
#: is left out (LOO needs it in memory anyway); pass ``log_likelihood=True`` to force it.
LOGLIK_MAX_BYTES = 256 * 2**20

_NEEDS = {"nutpie": ("nutpie", "pip install nutpie"), "numpyro": ("numpyro", "pip install numpyro jax")}


# --------------------------------------------------------------------------- priors
def resolve_priors(spec: ModelSpec, priors: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Each parameter's prior: the spec's default unless ``priors`` overrides it.

    An override is one of

    - ``("Gamma", {"alpha": 2.0, "beta": 1.0})``: a PyMC distribution name and its arguments;
    - an unnamed PyMC distribution, ``pm.Gamma.dist(alpha=2.0, beta=1.0)``;
    - a callable ``f(name) -> TensorVariable`` called inside the model context, for priors
      with their own hyperpriors (hierarchies).

    Examples
    --------
    >>> from clvmodels.models.bgnbd import SPEC
    >>> resolve_priors(SPEC, {"r": ("Gamma", {"alpha": 2.0, "beta": 4.0})})["r"]
    ('Gamma', {'alpha': 2.0, 'beta': 4.0})
    >>> resolve_priors(SPEC, {"rr": ("Gamma", {})})
    Traceback (most recent call last):
    ...
    ValueError: The 'priors' parameter names unknown parameters of BG/NBD: 'rr'. Its parameters are r, alpha, a, b.
    """
    priors = dict(priors or {})
    unknown = [k for k in priors if k not in spec.param_names]
    if unknown:
        raise ValueError(
            f"The 'priors' parameter names unknown parameters of {spec.title}: "
            f"{', '.join(repr(k) for k in unknown)}. Its parameters are {', '.join(spec.param_names)}."
        )
    out: dict[str, Any] = {}
    for p in spec.params:
        prior = priors.get(p.name, p.prior)
        if isinstance(prior, tuple):
            if len(prior) != 2 or not isinstance(prior[0], str) or not isinstance(prior[1], Mapping):
                raise ValueError(
                    f"The prior of '{p.name}' must be (distribution name, keyword arguments), e.g. "
                    f"('Gamma', {{'alpha': 2.0, 'beta': 1.0}}). Got {prior!r} instead."
                )
            import pymc as pm

            if not hasattr(pm, prior[0]):
                raise ValueError(f"The prior of '{p.name}' names {prior[0]!r}, which is not a PyMC distribution.")
            prior = (prior[0], dict(prior[1]))
        elif not callable(prior) and not hasattr(prior, "owner"):
            raise ValueError(
                f"The prior of '{p.name}' must be a (name, kwargs) tuple, a pm.<Dist>.dist(...) object or a "
                f"callable name -> random variable. Got {type(prior).__name__} instead."
            )
        out[p.name] = prior
    return out


def describe_priors(spec: ModelSpec, priors: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Plain-text form of each prior (what posterior files record).

    Examples
    --------
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> describe_priors(SPEC, {"p": ("HalfNormal", {"sigma": 10.0})})["p"]
    'HalfNormal(sigma=10.0)'
    """
    out = {}
    for name, prior in resolve_priors(spec, priors).items():
        if isinstance(prior, tuple):
            out[name] = f"{prior[0]}({', '.join(f'{k}={v!r}' for k, v in prior[1].items())})"
        elif hasattr(prior, "owner"):
            import pymc as pm

            out[name] = pm.printing.str_for_dist(prior, formatting="plain").strip()
        else:
            out[name] = f"callable {getattr(prior, '__qualname__', repr(prior))}"
    return out


def _make_rv(name: str, prior, model):
    import pymc as pm

    if isinstance(prior, tuple):
        return getattr(pm, prior[0])(name, **prior[1])
    if hasattr(prior, "owner"):
        # a fresh copy of the node: the caller's object stays unnamed and reusable across models
        return model.register_rv(prior.owner.clone().default_output(), name)
    return prior(name)


def build_pymc_model(
    spec: ModelSpec,
    data: Mapping[str, np.ndarray],
    weights: np.ndarray,
    *,
    priors: Mapping[str, Any] | None = None,
    likelihood: bool = True,
):
    """The PyMC model of ``spec`` on (distinct, weighted) rows of data.

    Parameters
    ----------
    spec : ModelSpec
        The model: its parameters' priors and its one ``loglik``.
    data : mapping of str to ndarray
        One float array per ``spec.data_names`` column, usually the distinct rows from
        :func:`clvmodels.data.compress`.
    weights : ndarray
        Number of customers behind each row.
    priors : mapping, optional
        Overrides of the default priors, see :func:`resolve_priors`.
    likelihood : bool
        Add the likelihood potential (``False`` gives the prior-only model).

    Returns
    -------
    pymc.Model

    Examples
    --------
    >>> import numpy as np
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> m = build_pymc_model(SPEC, {"frequency": np.array([1.0, 3.0]),
    ...                             "monetary_value": np.array([10.0, 20.0])}, np.array([2.0, 1.0]))
    >>> [v.name for v in m.free_RVs]
    ['p', 'q', 'gamma']
    """
    import pymc as pm
    import pytensor.tensor as pt

    resolved = resolve_priors(spec, priors)
    with pm.Model() as model:
        params = {p.name: _make_rv(p.name, resolved[p.name], model) for p in spec.params}
        if likelihood:
            consts = {k: pt.constant(np.asarray(data[k], dtype=float), name=k) for k in spec.data_names}
            w = pt.constant(np.asarray(weights, dtype=float), name="weights")
            pm.Potential("loglik", pt.sum(w * spec.loglik(backend.pytensor, **params, **consts)))
    return model


def log_prior(spec: ModelSpec, priors: Mapping[str, Any] | None = None) -> Callable[[np.ndarray], tuple]:
    """The joint log prior density of the parameters, with its derivatives, for MAP fits.

    The priors are those :meth:`sample` uses (:func:`resolve_priors`), each parameter's PyMC
    distribution, so a MAP fit and a posterior share one prior definition. The density is
    on the natural scale (no Jacobian of a transform), as ``pymc.find_MAP`` maximises it. The
    priors must be independent: a callable prior (a hierarchy) has no density of its own here.

    Returns
    -------
    callable
        ``values -> (log density, first derivatives, second derivatives)``: the sum over the
        parameters, and one derivative per parameter (each prior depends on its own parameter
        only), at the natural-scale ``values`` in ``spec.param_names`` order.

    Examples
    --------
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> lp = log_prior(SPEC, {p: ("Exponential", {"lam": 1.0}) for p in SPEC.param_names})
    >>> value, d1, d2 = lp(np.array([1.0, 2.0, 3.0]))
    >>> round(value, 12), d1.tolist(), d2.tolist()  # log(e^-1 e^-2 e^-3)
    (-6.0, [-1.0, -1.0, -1.0], [0.0, 0.0, 0.0])
    """
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt

    resolved = resolve_priors(spec, priors)
    values = pt.dvector("values")
    total, d1, d2 = pt.constant(0.0), [], []
    for i, p in enumerate(spec.params):
        prior = resolved[p.name]
        if isinstance(prior, tuple):
            dist = getattr(pm, prior[0]).dist(**prior[1])
        elif hasattr(prior, "owner"):
            dist = prior
        else:
            raise ValueError(
                f"A MAP fit needs a prior density for each parameter on its own; the prior of '{p.name}' is a "
                f"callable (a hierarchy). Pass a (name, kwargs) tuple or a pm.<Dist>.dist(...) object, or sample "
                f"the posterior with sample()."
            )
        v = values[i]
        lp = pm.logp(dist, v)
        g = pytensor.grad(lp, v)
        total = total + lp
        d1.append(g)
        d2.append(pytensor.grad(g, v))
    fn = pytensor.function([values], [total, pt.stack(d1), pt.stack(d2)], on_unused_input="ignore")

    def evaluate(vals: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        value, first, second = fn(np.asarray(vals, dtype=float))
        return float(value), np.asarray(first, dtype=float), np.asarray(second, dtype=float)

    return evaluate


def prior_draws(spec: ModelSpec, draws: int = 1000, *, priors: Mapping[str, Any] | None = None,
                random_seed: int | None = None) -> dict[str, np.ndarray]:
    """Draws of the parameters from their priors, checked against each parameter's support.

    Examples
    --------
    >>> from clvmodels.models.bgnbd import SPEC
    >>> d = prior_draws(SPEC, 500, random_seed=1)
    >>> sorted(d), d["a"].shape
    (['a', 'alpha', 'b', 'r'], (500,))
    """
    import pymc as pm

    model = build_pymc_model(spec, {}, np.zeros(0), priors=priors, likelihood=False)
    values = pm.draw([model[p.name] for p in spec.params], draws=draws, random_seed=random_seed)
    out = {p.name: np.asarray(v, dtype=float).reshape(draws) for p, v in zip(spec.params, values)}
    for p in spec.params:
        if not p.in_support(out[p.name]):
            raise ValueError(
                f"The prior of '{p.name}' ({describe_priors(spec, priors)[p.name]}) puts mass outside the "
                f"parameter's support ({p.name} {p.support_text}). Choose a distribution on that support "
                f"(Gamma, HalfNormal, Weibull or LogNormal for positive parameters, Beta for unit-interval ones)."
            )
    return out


# --------------------------------------------------------------------------- sampling
def _progress(progressbar: bool | None) -> bool:
    if progressbar is not None:
        return bool(progressbar)
    # Long work shows progress on a terminal; CI logs and notebooks run quiet by default.
    return bool(getattr(sys.stderr, "isatty", lambda: False)()) and not os.environ.get("CI")


def _check_sampler(sampler: str, method: str) -> None:
    if sampler not in SAMPLERS:
        raise ValueError(f"The 'sampler' parameter must be one of {', '.join(map(repr, SAMPLERS))}. Got {sampler!r} instead.")
    if method not in METHODS:
        raise ValueError(f"The 'method' parameter must be one of {', '.join(map(repr, METHODS))}. Got {method!r} instead.")
    if method == "nuts" and sampler in _NEEDS:
        module, cmd = _NEEDS[sampler]
        if importlib.util.find_spec(module) is None:
            raise ImportError(f"sampler={sampler!r} needs the '{module}' package, which is not installed: {cmd} "
                              f"(or use the default sampler='pymc').")
    if method == "pathfinder" and importlib.util.find_spec("pymc_extras") is None:
        raise ImportError("method='pathfinder' needs the 'pymc-extras' package, which is not installed: "
                          "pip install pymc-extras (or use method='advi' for a fast approximation).")


def sample_posterior(
    spec: ModelSpec,
    data: Mapping[str, np.ndarray],
    weights: np.ndarray,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
    random_seed: int | None = None,
    priors: Mapping[str, Any] | None = None,
    sampler: str = "pymc",
    method: str = "nuts",
    progressbar: bool | None = None,
    target_accept: float = 0.8,
    **kwargs,
) -> xr.DataTree:
    """Sample the posterior of ``spec`` given distinct rows ``data`` with ``weights``.

    Returns a DataTree with the ``posterior`` and, for NUTS, ``sample_stats`` groups; the
    caller adds the data groups. For ``method="advi"`` / ``"pathfinder"`` the approximation is
    fitted (``kwargs`` go to ``pm.fit`` / ``pymc_extras.fit``) and ``chains * draws`` draws are
    taken from it as one chain. Other ``kwargs`` go to ``pm.sample``.

    Examples
    --------
    >>> import numpy as np
    >>> from clvmodels.models.gamma_gamma import SPEC, simulate
    >>> d = simulate(np.random.default_rng(0), 300, 6.0, 4.0, 15.0)
    >>> dt = sample_posterior(SPEC, d, np.ones(300), draws=50, tune=50, chains=1, random_seed=1,
    ...                       progressbar=False)
    >>> dict(dt.posterior.sizes)
    {'chain': 1, 'draw': 50}
    """
    import pymc as pm

    _check_sampler(sampler, method)
    model = build_pymc_model(spec, data, weights, priors=priors)
    show = _progress(progressbar)
    seed = None if random_seed is None else int(random_seed)
    # Early tuning steps can overflow in NumPy (energy of a far-off proposal); the sampler
    # rejects those steps itself, so the floating-point warnings carry no information.
    with model, np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        if method == "nuts":
            # A dense (PyMC) or low-rank (nutpie) mass matrix: CLV parameters are strongly
            # correlated (r with alpha, a with b, q with gamma), and with a handful of parameters
            # adapting the full covariance costs nothing while it multiplies the ESS per second
            # by 3-10 over a diagonal one (measured on CDNOW, docs/pages/bayesian.md).
            if sampler == "pymc":
                kwargs.setdefault("init", "jitter+adapt_full")
            elif sampler == "nutpie":
                kwargs.setdefault("nuts", {"adaptation": "low_rank"})
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="QuadPotentialFullAdapt is an experimental feature")
                dt = pm.sample(
                    draws=draws, tune=tune, chains=chains, cores=cores, random_seed=seed, progressbar=show,
                    nuts_sampler=sampler, target_accept=target_accept, compute_convergence_checks=False,
                    quiet=not show, **kwargs,
                )
        elif method == "advi":
            fit_kwargs = {"n": 20_000, **kwargs}
            if "callbacks" not in fit_kwargs:
                from pymc.variational.callbacks import CheckParametersConvergence

                fit_kwargs["callbacks"] = [CheckParametersConvergence(diff="relative", tolerance=1e-3)]
            # Start at the posterior mode with Adam: from the prior's centre, PyMC's default
            # step sizes leave strongly correlated posteriors (Gamma-Gamma) far from converged.
            if "start" not in fit_kwargs:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="`find_MAP` will return", category=FutureWarning)
                    fit_kwargs["start"] = pm.find_MAP(progressbar=False, jitter=False)
            fit_kwargs.setdefault("obj_optimizer", pm.adam(learning_rate=0.01))
            approx = pm.fit(method="advi", random_seed=seed, progressbar=show, **fit_kwargs)
            dt = approx.sample(draws * chains, random_seed=seed)
        else:
            import pymc_extras as pmx

            dt = pmx.fit(method="pathfinder", num_draws=draws * chains, random_seed=seed, progressbar=show, **kwargs)
    keep = {"posterior": dt["posterior"].to_dataset()[list(spec.param_names)]}
    if "sample_stats" in dt.children:
        keep["sample_stats"] = dt["sample_stats"].to_dataset()
    out = xr.DataTree.from_dict(keep)
    out.attrs.update({"inference": f"{method}" + (f" ({sampler})" if method == "nuts" else ""),
                      "priors": json.dumps(describe_priors(spec, priors))})
    return out


# --------------------------------------------------------------------------- after sampling
def pointwise_loglik(
    fit: Fit,
    unique: Mapping[str, np.ndarray],
    inverse: np.ndarray,
    customers: pd.Index,
    *,
    chunk_bytes: int = 32 * 2**20,
) -> xr.DataArray:
    """Per-customer log-likelihood at every draw of ``fit``, dims (chain, draw, customer).

    Evaluated through the prediction engine once per distinct row, a block of rows at a time
    (each block's draws x rows stays under ``chunk_bytes``), then expanded to customers.

    Examples
    --------
    >>> from clvmodels.fit import Posterior
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> post = xr.Dataset({k: (("chain", "draw"), np.full((1, 2), v)) for k, v in
    ...                    {"p": 6.25, "q": 3.74, "gamma": 15.44}.items()})
    >>> fit = Posterior(SPEC, xr.DataTree.from_dict({"posterior": post}))
    >>> ll = pointwise_loglik(fit, {"frequency": np.array([2.0]), "monetary_value": np.array([20.0])},
    ...                       np.array([0, 0]), pd.Index(["a", "b"], name="id"))
    >>> ll.dims, round(float(ll[0, 0, 1]), 4)
    (('chain', 'draw', 'customer'), -3.5074)
    """
    n_draws = fit.n_draws
    theta = {k: v[:, None] for k, v in predict.flat_draws(fit).items()}
    n_rows = len(next(iter(unique.values())))
    per_row = np.empty((n_draws, n_rows))
    for sl in predict.row_slices(n_rows, n_draws, chunk_bytes):
        per_row[:, sl] = predict.evaluate(fit.spec.loglik, theta, {k: v[sl] for k, v in unique.items()}, n_draws)
    return predict.draws_array(per_row[:, inverse], fit, customers, "loglik")


def loglik_bytes(n_draws: int, n_customers: int) -> int:
    """Bytes of a draws x customers float64 array (for the :data:`LOGLIK_MAX_BYTES` guard).

    Examples
    --------
    >>> loglik_bytes(4000, 2357) / 2**20 < LOGLIK_MAX_BYTES / 2**20
    True
    """
    return 8 * int(n_draws) * int(n_customers)


def observed_dataset(spec: ModelSpec, index: pd.Index, arrays: Mapping[str, np.ndarray],
                     weights: np.ndarray | None = None) -> xr.Dataset:
    """The summary a posterior was fitted on, as an xarray Dataset with dim ``customer``.

    Examples
    --------
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> ds = observed_dataset(SPEC, pd.Index([1, 2], name="cid"), {"frequency": np.array([1.0, 2.0]),
    ...                       "monetary_value": np.array([5.0, 6.0])})
    >>> list(ds.data_vars), ds.attrs["customer_index_name"]
    (['frequency', 'monetary_value'], 'cid')
    """
    coords = {"customer": predict.customer_coord(index)}
    ds = xr.Dataset({k: ("customer", np.asarray(arrays[k], dtype=float)) for k in spec.data_names}, coords=coords)
    if weights is not None:
        ds["weight"] = ("customer", np.asarray(weights, dtype=float))
    ds.attrs["customer_index_name"] = "" if index.name is None else str(index.name)
    return ds
