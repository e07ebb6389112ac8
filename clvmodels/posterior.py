"""Predictions from a posterior: per-customer mean, sd and HDI in bounded memory.

Every posterior prediction evaluates the model module's one formula with the NumPy backend on
a block of *distinct* summary rows at a time, with the parameters as columns of draws: a
``draws x rows`` block whose size is capped (:data:`CHUNK_BYTES`). Each block is reduced at
once to per-row mean, standard deviation and highest-density interval, and only those few
numbers per row are kept and expanded to customers. No ``draws x customers`` table is built
unless the draws are asked for (``return_draws=True``, size-guarded by
:data:`MAX_DRAWS_BYTES`).

The same module holds the posterior parameter table, the posterior predictive check of
repeat-purchase counts, posterior CLV / customer equity and NetCDF persistence.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from clvmodels import backend
from clvmodels.data.compress import compress
from clvmodels.data.validation import validate_summary
from clvmodels.errors import ModelFileError

__all__ = [
    "CHUNK_BYTES",
    "MAX_DRAWS_BYTES",
    "POSTERIOR_FORMAT",
    "POSTERIOR_FORMAT_VERSION",
    "is_posterior",
    "hdi_columns",
    "posterior_summary",
    "predict_customers",
    "predict_population",
    "posterior_predictive_check",
    "prior_predictive_check",
    "plot_posterior_predictive_check",
    "lifetime_value",
    "customer_equity",
    "save_posterior",
    "load_posterior",
]

#: Target size of one draws x rows block of intermediate results (8 MiB: a formula makes about
#: a dozen temporaries of that size, and larger blocks are no faster).
CHUNK_BYTES = 8 * 2**20
#: Largest draws x customers array returned with ``return_draws=True`` (2 GiB).
MAX_DRAWS_BYTES = 2 * 2**30
POSTERIOR_FORMAT = "clvmodels.posterior"
POSTERIOR_FORMAT_VERSION = 1
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


# --------------------------------------------------------------------------- basics
def is_posterior(model) -> bool:
    """True when ``model`` holds a posterior (was fitted with ``sample`` or loaded from NetCDF).

    Examples
    --------
    >>> import clvmodels as clv
    >>> is_posterior(clv.BetaGeo.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4))
    False
    """
    return getattr(model, "posterior_", None) is not None


def hdi_columns(values: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Highest-density interval of each column of ``values`` (draws along axis 0).

    The narrowest interval holding ``floor(prob * n)`` + 1 sorted draws, the same rule as
    :func:`arviz.hdi` (``method="nearest"``).

    Examples
    --------
    >>> import arviz as az
    >>> x = np.random.default_rng(0).gamma(2.0, size=(2000, 1))
    >>> lo, hi = hdi_columns(x, 0.9)
    >>> bool(np.allclose([lo[0], hi[0]], az.hdi(x[:, 0], prob=0.9)))
    True
    """
    if not 0 < prob < 1:
        raise ValueError(f"The 'hdi_prob' parameter must be in (0, 1). Got {prob!r} instead.")
    xs = np.sort(np.asarray(values, dtype=float).T, axis=1)
    n = xs.shape[1]
    k = int(np.floor(prob * n))
    if k >= n or n < 2:
        return xs[:, 0], xs[:, -1]
    widths = xs[:, k:] - xs[:, : n - k]
    start = np.argmin(np.where(np.isnan(widths), np.inf, widths), axis=1)
    rows = np.arange(xs.shape[0])
    return xs[rows, start], xs[rows, start + k]


def _summarize(values: np.ndarray, prob: float) -> dict[str, np.ndarray]:
    lo, hi = hdi_columns(values, prob)
    return {"mean": values.mean(axis=0), "sd": values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros(values.shape[1]),
            "hdi_lower": lo, "hdi_upper": hi}


def _require_posterior(model):
    if not is_posterior(model):
        raise ValueError(f"{type(model).__name__} holds no posterior; call sample(...) first.")
    return model.posterior_


def _draws(model, n_total: int | None = None) -> tuple[dict[str, np.ndarray], tuple[str, ...], dict]:
    """Parameter draws as flat arrays, the dims and coords they came from.

    A point-estimate model gives one draw; with ``n_total`` the draws are cycled to that
    length (pairing independent posteriors draw by draw).
    """
    from clvmodels.inference.bayes import posterior_arrays

    if is_posterior(model):
        post = model.posterior_["posterior"].to_dataset()
        theta = posterior_arrays(post, model.spec.param_names)
        dims, coords = ("chain", "draw"), {"chain": post["chain"].values, "draw": post["draw"].values}
    else:
        theta = {k: np.array([v], dtype=float) for k, v in model._require_params().items()}
        dims, coords = ("draw",), {"draw": np.array([0])}
    if n_total is not None:
        theta = {k: np.resize(v, n_total) for k, v in theta.items()}
    return theta, dims, coords


def _row_slices(n_rows: int, n_draws: int, chunk_bytes: int, factor: int = 1) -> Iterator[slice]:
    step = max(1, int(chunk_bytes // (8 * n_draws * max(1, factor))))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def _reduce_rows(kernel: Callable[[dict[str, np.ndarray]], np.ndarray], unique: Mapping[str, np.ndarray],
                 n_draws: int, prob: float, *, keep_draws: bool = False, counts: np.ndarray | None = None,
                 chunk_bytes: int = CHUNK_BYTES, factor: int = 1):
    """Evaluate ``kernel`` on blocks of distinct rows; per-row summaries (and optional draws / weighted totals)."""
    n_rows = len(next(iter(unique.values())))
    out = {k: np.empty(n_rows) for k in ("mean", "sd", "hdi_lower", "hdi_upper")}
    draws = np.empty((n_draws, n_rows)) if keep_draws else None
    totals = np.zeros(n_draws) if counts is not None else None
    for sl in _row_slices(n_rows, n_draws, chunk_bytes, factor):
        rows = {k: np.asarray(v[sl], dtype=float)[None, :] for k, v in unique.items()}
        with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
            block = np.broadcast_to(kernel(rows), (n_draws, sl.stop - sl.start))
        for k, v in _summarize(block, prob).items():
            out[k][sl] = v
        if draws is not None:
            draws[:, sl] = block
        if totals is not None:
            totals += block @ counts[sl]
    return out, draws, totals


def _frame(summary: Mapping[str, np.ndarray], inverse: np.ndarray, index: pd.Index, prob: float, name: str) -> pd.DataFrame:
    frame = pd.DataFrame({k: v[inverse] for k, v in summary.items()}, index=index)
    frame.attrs.update({"hdi_prob": prob, "quantity": name})
    return frame


def _draws_array(draws: np.ndarray, inverse: np.ndarray, index: pd.Index, dims, coords, name: str) -> xr.DataArray:
    from clvmodels.inference.bayes import _customer_coord

    n_draws = draws.shape[0]
    if 8 * n_draws * len(inverse) > MAX_DRAWS_BYTES:
        raise MemoryError(
            f"return_draws=True would build a {n_draws} draws x {len(inverse)} customers array "
            f"({8 * n_draws * len(inverse) / 2**30:.1f} GiB > {MAX_DRAWS_BYTES / 2**30:.0f} GiB). Ask for the draws "
            f"of fewer customers (pass a subset of the summary), or use the summaries (return_draws=False)."
        )
    shape = tuple(len(coords[d]) for d in dims)
    values = draws[:, inverse].reshape(*shape, len(inverse))
    return xr.DataArray(values, dims=(*dims, "customer"), coords={**coords, "customer": _customer_coord(index)}, name=name)


# --------------------------------------------------------------------------- predictions
def predict_customers(model, name: str, data, *, hdi_prob: float = 0.94, return_draws: bool = False,
                      chunk_bytes: int = CHUNK_BYTES, **kwargs):
    """Posterior of one per-customer prediction: DataFrame of mean, sd, hdi_lower, hdi_upper.

    With ``return_draws=True``: the draws as an xarray DataArray (chain, draw, customer).

    Examples
    --------
    >>> import clvmodels as clv
    >>> from clvmodels.models.gamma_gamma import simulate
    >>> d = pd.DataFrame(simulate(np.random.default_rng(0), 300, 6.0, 4.0, 15.0))
    >>> gg = clv.GammaGamma().sample(d, draws=100, tune=100, chains=1, random_seed=1, progressbar=False)
    >>> gg.expected_spend(d.head(2)).columns.tolist()
    ['mean', 'sd', 'hdi_lower', 'hdi_upper']
    """
    index, arrays = validate_summary(model.spec, data, for_fit=False)
    fn = model._prediction(name)
    theta, dims, coords = _draws(model)
    n_draws = len(next(iter(theta.values())))
    cols = {k: v[:, None] for k, v in theta.items()}
    unique, _, inverse = compress(arrays)
    kernel = lambda rows: fn(backend.numpy, **cols, **rows, **kwargs)  # noqa: E731
    summary, draws, _ = _reduce_rows(kernel, unique, n_draws, hdi_prob, keep_draws=return_draws, chunk_bytes=chunk_bytes)
    if return_draws:
        return _draws_array(draws, inverse, index, dims, coords, name)
    return _frame(summary, inverse, index, hdi_prob, name)


def predict_population(model, name: str, label: str, values, *, hdi_prob: float = 0.94,
                       return_draws: bool = False, **fixed):
    """Posterior of a population-level prediction over a scalar or 1-d argument.

    A scalar argument gives a Series (mean, sd, hdi_lower, hdi_upper); an array a DataFrame
    indexed by the argument; ``return_draws=True`` the draws (chain, draw[, label]).

    Examples
    --------
    >>> import clvmodels as clv
    >>> from clvmodels.models.bgnbd import simulate
    >>> d = pd.DataFrame(simulate(np.random.default_rng(0), 500, 0.5, 4.0, 0.8, 2.5, T=40.0))
    >>> bg = clv.BetaGeo().sample(d, draws=100, tune=100, chains=1, random_seed=1, progressbar=False)
    >>> bg.expected_purchases_new_customer(10.0).index.tolist()
    ['mean', 'sd', 'hdi_lower', 'hdi_upper']
    """
    fn = model._prediction(name)
    theta, dims, coords = _draws(model)
    arr = np.asarray(values, dtype=float)
    cols = {k: v[:, None] for k, v in theta.items()}
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        out = np.asarray(fn(backend.numpy, **cols, **{label: np.atleast_1d(arr)[None, :]}, **fixed), dtype=float)
    out = np.broadcast_to(out, (len(next(iter(theta.values()))), np.atleast_1d(arr).size))
    if return_draws:
        shape = tuple(len(coords[d]) for d in dims)
        if arr.ndim == 0:
            return xr.DataArray(out[:, 0].reshape(shape), dims=dims, coords=coords, name=name)
        return xr.DataArray(out.reshape(*shape, arr.size), dims=(*dims, label), coords={**coords, label: arr}, name=name)
    summary = _summarize(out, hdi_prob)
    if arr.ndim == 0:
        series = pd.Series({k: float(v[0]) for k, v in summary.items()}, name=name)
        series.attrs["hdi_prob"] = hdi_prob
        return series
    frame = pd.DataFrame(summary, index=pd.Index(arr, name=label))
    frame.attrs.update({"hdi_prob": hdi_prob, "quantity": name})
    return frame


def posterior_summary(model, hdi_prob: float = 0.94) -> pd.DataFrame:
    """Posterior mean, sd, HDI, R-hat and bulk/tail ESS of each parameter.

    Examples
    --------
    >>> import clvmodels as clv
    >>> from clvmodels.models.gamma_gamma import simulate
    >>> d = pd.DataFrame(simulate(np.random.default_rng(0), 300, 6.0, 4.0, 15.0))
    >>> gg = clv.GammaGamma().sample(d, draws=500, tune=500, chains=2, random_seed=1, progressbar=False)
    >>> gg.summary().columns.tolist()
    ['mean', 'sd', 'hdi_lower', 'hdi_upper', 'r_hat', 'ess_bulk', 'ess_tail']
    """
    import arviz as az

    post = _require_posterior(model)["posterior"].to_dataset()
    theta, _, _ = _draws(model)
    names = list(model.spec.param_names)
    table = pd.DataFrame(_summarize(np.column_stack([theta[n] for n in names]), hdi_prob), index=names)
    if post.sizes.get("chain", 1) > 1:
        rhat, bulk, tail = az.rhat(post), az.ess(post, method="bulk"), az.ess(post, method="tail")
        table["r_hat"] = [float(rhat[n]) for n in names]
        table["ess_bulk"] = [float(bulk[n]) for n in names]
        table["ess_tail"] = [float(tail[n]) for n in names]
    else:
        table["r_hat"] = table["ess_bulk"] = table["ess_tail"] = np.nan
    table.attrs["hdi_prob"] = hdi_prob
    return table


# --------------------------------------------------------------------------- posterior predictive check
def _simulation_design(spec, arrays: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], str]:
    """Which data columns ``spec.simulate`` takes as given (design) and which count it simulates."""
    sig = inspect.signature(spec.simulate)
    design = {k: arrays[k] for k in spec.data_names if k in sig.parameters}
    outcome = next((f.name for f in spec.data if f.kind == "count" and f.name not in design), None)
    if outcome is None:
        raise ValueError(f"{spec.title} simulates no purchase count to check (its counts are inputs); the "
                         f"posterior predictive check of repeat purchases applies to transaction models.")
    return design, outcome


def posterior_predictive_check(model, data=None, *, max_count: int = 7, n_draws: int = 200, hdi_prob: float = 0.94,
                               random_seed: int = 0) -> pd.DataFrame:
    """Observed vs posterior-predictive histogram of repeat purchases (0, 1, ..., ``max_count``+).

    For ``n_draws`` posterior draws (evenly spaced over the chains), every customer's count is
    simulated with the model's own generative process (``spec.simulate``) given the customer's
    observation design (e.g. ``T``); each draw gives one histogram.

    Parameters
    ----------
    model : model with a posterior (or a point estimate: one simulated histogram per draw of the process)
    data : DataFrame, optional
        Summary to check; default the one the posterior was fitted on.
    max_count : int
        Counts at or above it share the last bin (``"7+"``).
    n_draws : int
        Posterior draws to simulate from.

    Returns
    -------
    DataFrame
        Indexed by count bin: ``observed`` customers, ``expected`` (mean over draws), ``sd``,
        ``hdi_lower``/``hdi_upper`` of the simulated counts, and ``inside`` (observed within the HDI).

    Examples
    --------
    >>> import clvmodels as clv
    >>> from clvmodels.models.bgnbd import simulate
    >>> d = pd.DataFrame(simulate(np.random.default_rng(0), 500, 0.5, 4.0, 0.8, 2.5, T=40.0))
    >>> bg = clv.BetaGeo().sample(d, draws=100, tune=100, chains=1, random_seed=1, progressbar=False)
    >>> ppc = posterior_predictive_check(bg, n_draws=20)
    >>> ppc.index.tolist()[-1], int(ppc["observed"].sum())
    ('7+', 500)
    """
    spec = model.spec
    frame = _observed_frame(model) if data is None else data
    index, arrays = validate_summary(spec, frame, for_fit=False)
    design, outcome = _simulation_design(spec, arrays)
    theta, _, _ = _draws(model)
    total = len(next(iter(theta.values())))
    pick = np.unique(np.linspace(0, total - 1, min(n_draws, total)).round().astype(int)) if is_posterior(model) else np.zeros(n_draws, int)
    rng = np.random.default_rng(random_seed)
    bins = np.arange(max_count + 1)
    sims = np.empty((len(pick), max_count + 1))
    n = len(index)
    for i, s in enumerate(pick):
        # a rate drawn as 0 (tiny gamma shapes) means no purchase: inf waiting times are right
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            sim = spec.simulate(rng, n, **{k: float(v[s]) for k, v in theta.items()}, **design)
        sims[i] = np.bincount(np.minimum(np.asarray(sim[outcome]).astype(int), max_count), minlength=max_count + 1)
    observed = np.bincount(np.minimum(arrays[outcome].astype(int), max_count), minlength=max_count + 1)
    summ = _summarize(sims, hdi_prob)
    labels = [str(b) for b in bins[:-1]] + [f"{max_count}+"]
    table = pd.DataFrame({"observed": observed.astype(int), "expected": summ["mean"], "sd": summ["sd"],
                          "hdi_lower": summ["hdi_lower"], "hdi_upper": summ["hdi_upper"]}, index=pd.Index(labels, name=outcome))
    table["inside"] = (table["observed"] >= table["hdi_lower"]) & (table["observed"] <= table["hdi_upper"])
    table.attrs.update({"hdi_prob": hdi_prob, "n_draws": len(pick)})
    return table


def prior_predictive_check(model_class, data, *, priors=None, max_count: int = 7, n_draws: int = 200,
                           hdi_prob: float = 0.94, random_seed: int = 0) -> pd.DataFrame:
    """Observed histogram of repeat purchases against the one the priors alone predict.

    Parameters are drawn from the (default or given) priors and pushed through the model's
    generative process with each customer's observation design, as in
    :func:`posterior_predictive_check`; wide intervals that still cover the observed counts
    show priors that are weakly informative yet plausible.

    Examples
    --------
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> t = prior_predictive_check(clv.BetaGeo, s, n_draws=50)
    >>> bool(t["inside"].all())
    True
    """
    from clvmodels.inference.bayes import prior_draws

    theta = prior_draws(model_class.spec, n_draws, priors=priors, random_seed=random_seed)
    tree = xr.DataTree.from_dict({"posterior": xr.Dataset({k: (("chain", "draw"), v[None, :]) for k, v in theta.items()})})
    model = model_class()
    attach_posterior(model, tree, unit=None, fingerprint=None, n_customers=None)
    table = posterior_predictive_check(model, data, max_count=max_count, n_draws=n_draws, hdi_prob=hdi_prob,
                                       random_seed=random_seed)
    table.attrs["source"] = "prior"
    return table


def plot_posterior_predictive_check(table: pd.DataFrame, ax=None):
    """Bars of the observed histogram with the posterior-predictive mean and HDI per bin.

    Draws :func:`posterior_predictive_check`'s table; computes nothing itself.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`posterior_predictive_check`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure's axes by default).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> t = pd.DataFrame({"observed": [5, 3], "expected": [4.5, 3.5], "hdi_lower": [3.0, 2.0],
    ...                   "hdi_upper": [6.0, 5.0]}, index=pd.Index(["0", "1+"], name="frequency"))
    >>> ax = plot_posterior_predictive_check(t)
    >>> len(ax.patches)
    2
    """
    import matplotlib.pyplot as plt

    missing = [c for c in ("observed", "expected", "hdi_lower", "hdi_upper") if c not in table.columns]
    if missing:
        raise ValueError(f"The 'table' parameter must be the output of posterior_predictive_check; it lacks "
                         f"{', '.join(missing)}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    x = np.arange(len(table))
    ax.bar(x, table["observed"], color="#9ecae1", label="observed")
    err = np.vstack([table["expected"] - table["hdi_lower"], table["hdi_upper"] - table["expected"]])
    prob = table.attrs.get("hdi_prob", 0.94)
    ax.errorbar(x, table["expected"], yerr=err, fmt="o", color="#d62728", capsize=3,
                label=f"{table.attrs.get('source', 'posterior')} predictive mean, {prob:.0%} HDI")
    ax.set_xticks(x, table.index.tolist())
    ax.set_xlabel(f"repeat purchases ({table.index.name or 'frequency'})")
    ax.set_ylabel("customers")
    ax.legend(frameon=False)
    return ax


def _observed_frame(model) -> pd.DataFrame:
    tree = _require_posterior(model)
    if "observed_data" not in tree.children:
        raise ValueError("The posterior holds no observed summary; pass data=... explicitly.")
    ds = tree["observed_data"].to_dataset()
    return pd.DataFrame({k: ds[k].values for k in model.spec.data_names}, index=pd.Index(ds["customer"].values))


# --------------------------------------------------------------------------- CLV and equity
def _clv_parts(tm, sm, data, *, horizon=12, unit="M", discount_rate=0.0, margin=1.0, model_unit=None):
    """The two factors of posterior CLV as kernels over rows, with the data they read."""
    from clvmodels.units import normalize_unit, period_edges
    from clvmodels.value import _model_unit

    if not (np.isfinite(discount_rate) and discount_rate > -1):
        raise ValueError(f"The 'discount_rate' parameter must be a rate per period > -1. Got {discount_rate!r} instead.")
    unit = normalize_unit(unit)
    munit = _model_unit(tm, data, model_unit)
    edges = period_edges(horizon, unit, munit, start=getattr(data, "attrs", {}).get("calibration_end"))
    index, t_arrays = validate_summary(tm.spec, data, for_fit=False)
    _, s_arrays = validate_summary(sm.spec, data, for_fit=False)
    lead = tm if is_posterior(tm) else sm
    _, dims, coords = _draws(lead)
    n_draws = int(np.prod([len(coords[d]) for d in dims]))
    t_theta = {k: v[:, None] for k, v in _draws(tm, n_draws)[0].items()}
    s_theta = {k: v[:, None] for k, v in _draws(sm, n_draws)[0].items()}
    purchases, spend = tm._prediction("expected_purchases"), sm._prediction("expected_spend")
    factors = (1.0 + discount_rate) ** -np.arange(1, len(edges) + 1, dtype=float)

    def discounted_purchases(rows):
        discounted = 0.0
        previous = 0.0
        for factor, t_k in zip(factors, edges):
            cumulative = purchases(backend.numpy, **t_theta, **rows, t=float(t_k))
            discounted = discounted + (cumulative - previous) * factor
            previous = cumulative
        return discounted

    def margin_spend(rows):
        return margin * spend(backend.numpy, **s_theta, **rows)

    return discounted_purchases, margin_spend, t_arrays, s_arrays, index, n_draws, dims, coords


def _clv_blocks(parts, chunk_bytes: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (customer positions, draws x customers CLV block) covering every customer once.

    The purchase factor (the expensive one: a hypergeometric function per period) is evaluated
    once per distinct (frequency, recency, T) row: customers are visited grouped by that row,
    so a block needs only the distinct rows of its own customers. The spend factor is cheap
    and is evaluated per customer.
    """
    discounted_purchases, margin_spend, t_arrays, s_arrays, index, n_draws, _, _ = parts
    t_unique, _, t_inverse = compress(t_arrays)
    order = np.argsort(t_inverse, kind="stable")
    step = max(1, int(chunk_bytes // (8 * n_draws)))
    for start in range(0, len(order), step):
        pos = order[start:start + step]
        rows = t_inverse[pos]
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
            disc = np.broadcast_to(discounted_purchases({k: v[lo:hi][None, :] for k, v in t_unique.items()}),
                                   (n_draws, hi - lo))
            value = margin_spend({k: v[pos][None, :] for k, v in s_arrays.items()})
            block = np.broadcast_to(value * disc[:, rows - lo], (n_draws, len(pos)))
        yield pos, block


def lifetime_value(transaction_model, spend_model, data: pd.DataFrame, *, horizon: int = 12, unit: str = "M",
                   discount_rate: float = 0.0, margin: float = 1.0, model_unit: str | None = None,
                   hdi_prob: float = 0.94, return_draws: bool = False, chunk_bytes: int = CHUNK_BYTES):
    """Posterior CLV per customer: mean, sd and HDI (or the draws), in bounded memory.

    Same definition and arguments as :func:`clvmodels.value.lifetime_value`, evaluated at every
    posterior draw. The two models' posteriors are independent (the Gamma-Gamma model assumes
    spend independent of the purchase process), so pairing draw ``s`` of one with draw ``s`` of
    the other (cycling the shorter) samples their joint posterior. Either model may be a
    point estimate (one draw). Memory: a few draws x ``chunk_bytes / (8 draws)`` customer
    blocks at a time, plus four numbers per customer.

    Examples
    --------
    >>> import clvmodels as clv
    >>> from clvmodels.models.bgnbd import simulate
    >>> d = pd.DataFrame(simulate(np.random.default_rng(0), 400, 0.5, 4.0, 0.8, 2.5, T=40.0))
    >>> d["monetary_value"] = np.where(d["frequency"] > 0, 20.0, 0.0)
    >>> bg = clv.BetaGeo().sample(d, draws=100, tune=100, chains=1, random_seed=1, progressbar=False)
    >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> v = lifetime_value(bg, gg, d, horizon=6, unit="M", model_unit="W")
    >>> v.columns.tolist(), len(v)
    (['mean', 'sd', 'hdi_lower', 'hdi_upper'], 400)
    """
    parts = _clv_parts(transaction_model, spend_model, data, horizon=horizon, unit=unit, discount_rate=discount_rate,
                       margin=margin, model_unit=model_unit)
    index, n_draws, dims, coords = parts[4:]
    n = len(index)
    if return_draws:
        draws = np.empty((n_draws, n))
        for pos, block in _clv_blocks(parts, chunk_bytes):
            draws[:, pos] = block
        return _draws_array(draws, np.arange(n), index, dims, coords, "clv")
    out = {k: np.empty(n) for k in ("mean", "sd", "hdi_lower", "hdi_upper")}
    for pos, block in _clv_blocks(parts, chunk_bytes):
        for k, v in _summarize(block, hdi_prob).items():
            out[k][pos] = v
    return _frame(out, np.arange(n), index, hdi_prob, "clv")


def customer_equity(transaction_model, spend_model, data: pd.DataFrame, *, hdi_prob: float = 0.94,
                    return_draws: bool = False, chunk_bytes: int = CHUNK_BYTES, **kwargs):
    """Posterior customer equity: the sum of CLV over customers at each draw, with mean and HDI.

    Keyword arguments are those of :func:`lifetime_value`. Memory is one number per draw plus
    one block of customers.

    Returns
    -------
    Series
        ``mean``, ``sd``, ``hdi_lower``, ``hdi_upper`` of the total; with ``return_draws=True``
        the per-draw totals as a DataArray (chain, draw).

    Examples
    --------
    >>> import clvmodels as clv
    >>> from clvmodels.models.bgnbd import simulate
    >>> d = pd.DataFrame(simulate(np.random.default_rng(0), 400, 0.5, 4.0, 0.8, 2.5, T=40.0))
    >>> d["monetary_value"] = np.where(d["frequency"] > 0, 20.0, 0.0)
    >>> bg = clv.BetaGeo().sample(d, draws=100, tune=100, chains=1, random_seed=1, progressbar=False)
    >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> ce = customer_equity(bg, gg, d, horizon=6, unit="M", model_unit="W")
    >>> bool(ce["hdi_lower"] < ce["mean"] < ce["hdi_upper"])
    True
    """
    parts = _clv_parts(transaction_model, spend_model, data, **kwargs)
    n_draws, dims, coords = parts[5:]
    totals = np.zeros(n_draws)
    for _, block in _clv_blocks(parts, chunk_bytes):
        totals += block.sum(axis=1)
    if return_draws:
        shape = tuple(len(coords[d]) for d in dims)
        return xr.DataArray(totals.reshape(shape), dims=dims, coords=coords, name="customer_equity")
    out = pd.Series({k: float(v[0]) for k, v in _summarize(totals[:, None], hdi_prob).items()}, name="customer_equity")
    out.attrs["hdi_prob"] = hdi_prob
    return out


# --------------------------------------------------------------------------- persistence
def save_posterior(model, path: str | Path) -> Path:
    """Write a posterior model to NetCDF (HDF5, via h5netcdf): no code is stored.

    The root attributes record the format and its version, the model name, parameter names,
    priors, clvmodels version, time unit and data fingerprint.
    """
    from clvmodels import __version__

    tree = _require_posterior(model).copy()
    tree.attrs.update({
        "format": POSTERIOR_FORMAT,
        "format_version": POSTERIOR_FORMAT_VERSION,
        "clvmodels_version": __version__,
        "model": model.spec.name,
        "param_names": json.dumps(list(model.spec.param_names)),
        "priors": tree.attrs.get("priors", json.dumps({})),
        "unit": getattr(model, "unit_", None) or "",
        "data_fingerprint": getattr(model, "data_fingerprint_", None) or "",
        "n_customers": float(getattr(model, "n_customers_", None) or np.nan),
    })
    path = Path(path)
    tree.to_netcdf(path, engine="h5netcdf")
    return path


def is_posterior_file(path: str | Path) -> bool:
    """True when ``path`` starts with the HDF5 signature (a NetCDF-4 posterior file).

    Examples
    --------
    >>> import tempfile, os
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "x.json"
    >>> _ = p.write_text("{}")
    >>> is_posterior_file(p)
    False
    """
    with open(path, "rb") as fh:
        return fh.read(8) == _HDF5_MAGIC


def load_posterior(path: str | Path, cls=None):
    """Read a posterior written by :func:`save_posterior`; ``cls`` (optional) must match its model.

    Raises :class:`~clvmodels.errors.ModelFileError` for a file of another format, format
    version or model.
    """
    from clvmodels.models import REGISTRY

    try:
        tree = xr.open_datatree(path, engine="h5netcdf")
        tree = tree.load()
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path} is not a clvmodels posterior NetCDF file: {exc}") from None
    attrs = dict(tree.attrs)
    if attrs.get("format") != POSTERIOR_FORMAT:
        raise ModelFileError(f"{path} is not a clvmodels posterior file (format {attrs.get('format')!r}).")
    if int(attrs.get("format_version", -1)) != POSTERIOR_FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has posterior format version {int(attrs.get('format_version', -1))}; this clvmodels reads version "
            f"{POSTERIOR_FORMAT_VERSION}. Load it with the clvmodels version that wrote it "
            f"({attrs.get('clvmodels_version')}) or sample again."
        )
    name = attrs.get("model")
    target = REGISTRY.get(name)
    if target is None:
        raise ModelFileError(f"{path} holds an unknown model {name!r}; known: {', '.join(REGISTRY)}.")
    if cls is not None and cls.spec.name != name:
        raise ModelFileError(f"The file holds a '{name}' posterior, not '{cls.spec.name}'. "
                             f"Use clvmodels.load_model(path) to get whichever model it holds.")
    names = json.loads(attrs.get("param_names", "[]"))
    if tuple(names) != target.spec.param_names:
        raise ModelFileError(f"{path} has parameters {names}, but {target.spec.title} has {list(target.spec.param_names)}: "
                             f"it was written by an incompatible version.")
    model = target()
    n = attrs.get("n_customers")
    attach_posterior(model, tree, unit=attrs.get("unit") or None, fingerprint=attrs.get("data_fingerprint") or None,
                     n_customers=None if n is None or not np.isfinite(n) else n)
    return model


def attach_posterior(model, tree: xr.DataTree, *, unit, fingerprint, n_customers) -> None:
    """Set a model's fitted state from a posterior tree (posterior means as ``params_``)."""
    theta, _, _ = _draws_from_tree(model.spec, tree)
    model.posterior_ = tree
    model._params = {k: float(np.mean(v)) for k, v in theta.items()}
    model.unit_ = unit
    model.data_fingerprint_ = fingerprint
    model.n_customers_ = n_customers
    model.se_ = {k: float(np.std(v, ddof=1)) if v.size > 1 else 0.0 for k, v in theta.items()}
    model.cov_ = None
    model.loglik_ = None
    model.converged_ = None


def _draws_from_tree(spec, tree):
    from clvmodels.inference.bayes import posterior_arrays

    post = tree["posterior"].to_dataset()
    return posterior_arrays(post, spec.param_names), None, None
