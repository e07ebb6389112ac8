"""The one prediction engine: a model formula x parameter draws x summary rows, in bounded memory.

Every per-customer and population prediction of every fit goes through here. The formula is
the model module's one definition, evaluated with the NumPy backend with the parameters as
columns of draws (``draws x 1``) and the data as rows (``1 x rows``):

- a **point fit** (one draw) is evaluated on every row, a block of :data:`POINT_ROWS` rows at
  a time: for a single evaluation, hashing the rows costs about as much as the formulas (on
  1e6 daily-unit customers, collapsing made the BG/NBD and Gamma-Gamma scores 2-4x slower);
  a formula with a costly factor of few columns evaluates it once per distinct value inside
  the block itself (:func:`clvmodels.models.common.on_distinct`);
- **many draws** are evaluated on the *distinct* rows only (:func:`clvmodels.data.compress`),
  a block of rows at a time so that a ``draws x rows`` block stays under :data:`CHUNK_BYTES`;
  each block is reduced at once to per-row mean, sd and HDI (:func:`clvmodels.intervals.summarize`)
  and only those numbers are expanded to customers. No ``draws x customers`` array is built
  unless the draws are asked for (``return_draws=True``, guarded by :data:`MAX_DRAWS_BYTES`).

The conversion to pandas (a Series for one draw; mean/sd/HDI columns for many) and to xarray
(``return_draws=True``: dims chain, draw[, customer]) happens here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from clvmodels import backend
from clvmodels.data.compress import compress
from clvmodels.errors import DrawsTooLargeError
from clvmodels.fit import Fit
from clvmodels.intervals import STATISTICS, summarize

__all__ = [
    "CHUNK_BYTES",
    "POINT_ROWS",
    "MAX_DRAWS_BYTES",
    "flat_draws",
    "row_slices",
    "evaluate",
    "per_customer",
    "population",
    "draws_array",
    "customer_coord",
]

#: Target size of one draws x rows block of intermediate results (8 MiB: a formula makes about
#: a dozen temporaries of that size, and larger blocks are no faster).
CHUNK_BYTES = 8 * 2**20
#: Rows of one block of a point fit's per-customer evaluation (2 MiB per temporary).
POINT_ROWS = 2**18
#: Largest draws x customers array returned with ``return_draws=True`` (2 GiB).
MAX_DRAWS_BYTES = 2 * 2**30


def flat_draws(fit: Fit, n_total: int | None = None) -> dict[str, np.ndarray]:
    """Each parameter's draws with chain and draw merged into one leading axis.

    With ``n_total`` the draws are cycled to that length, to pair two independent fits draw
    by draw (a point fit's one draw is repeated).

    Examples
    --------
    >>> from clvmodels.fit import PointFit
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> flat_draws(PointFit(SPEC, {"p": 6.0, "q": 4.0, "gamma": 15.0}), n_total=3)["p"].tolist()
    [6.0, 6.0, 6.0]
    """
    out = {}
    for name, values in fit.draws().items():
        flat = values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])
        if n_total is not None and n_total != flat.shape[0]:
            flat = np.take(flat, np.arange(n_total) % flat.shape[0], axis=0)
        out[name] = flat
    return out


def _columns(theta: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Draws as columns (draws x 1) that broadcast against rows (1 x rows)."""
    return {k: v[:, None] if v.ndim == 1 else v for k, v in theta.items()}


def row_slices(n_rows: int, n_draws: int, chunk_bytes: int = CHUNK_BYTES, factor: int = 1) -> Iterator[slice]:
    """Consecutive row ranges whose ``n_draws x rows`` blocks (times ``factor`` arrays) fit ``chunk_bytes``.

    Examples
    --------
    >>> [(s.start, s.stop) for s in row_slices(5, 1, chunk_bytes=16)]
    [(0, 2), (2, 4), (4, 5)]
    """
    step = max(1, int(chunk_bytes // (8 * max(1, n_draws) * max(1, factor))))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def evaluate(fn: Callable, theta: Mapping[str, np.ndarray], rows: Mapping[str, np.ndarray], n_draws: int,
             **kwargs) -> np.ndarray:
    """``fn`` at every draw (rows of the result) and every data row (columns), as a ``draws x rows`` array.

    ``theta`` holds draws as columns (see :func:`flat_draws`), ``rows`` 1-d data arrays.

    Examples
    --------
    >>> from clvmodels.models.gamma_gamma import expected_spend
    >>> theta = {"p": np.array([[6.25]]), "q": np.array([[3.74]]), "gamma": np.array([[15.44]])}
    >>> evaluate(expected_spend, theta, {"frequency": np.array([0.0]), "monetary_value": np.array([0.0])}, 1).round(2)
    array([[35.22]])
    """
    n_rows = len(next(iter(rows.values()))) if rows else 1
    data = {k: np.asarray(v, dtype=float)[None, :] for k, v in rows.items()}
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        out = np.asarray(fn(backend.numpy, **theta, **data, **kwargs), dtype=float)
    # leading axes beyond draws x rows come from an argument given as an array (Prediction.broadcasts)
    return np.broadcast_to(out, out.shape[:-2] + (n_draws, n_rows))


def customer_coord(index: pd.Index) -> np.ndarray:
    """Customer ids as a coordinate NetCDF can store (strings for object ids).

    Examples
    --------
    >>> customer_coord(pd.Index(["a", 1])).tolist()
    ['a', '1']
    """
    values = np.asarray(index)
    if values.dtype == object:
        return np.array([str(v) for v in values], dtype=object)
    return values


def draws_array(values: np.ndarray, fit: Fit, index: pd.Index | None, name: str,
                label: str | None = None, labels=None) -> xr.DataArray:
    """A ``draws x columns`` array as an xarray DataArray with dims (chain, draw[, customer or label]).

    Examples
    --------
    >>> from clvmodels.fit import PointFit
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> fit = PointFit(SPEC, {"p": 6.0, "q": 4.0, "gamma": 15.0})
    >>> draws_array(np.ones((1, 2)), fit, pd.Index(["a", "b"]), "x").dims
    ('chain', 'draw', 'customer')
    """
    coords = fit.coords()
    shape = (len(coords["chain"]), len(coords["draw"]))
    if index is None and label is None:
        return xr.DataArray(np.asarray(values).reshape(shape), dims=("chain", "draw"), coords=coords, name=name)
    if index is not None:
        dim, coord = "customer", customer_coord(index)
    else:
        dim, coord = label, np.asarray(labels)
    return xr.DataArray(np.asarray(values).reshape(*shape, len(coord)), dims=("chain", "draw", dim),
                        coords={**coords, dim: coord}, name=name)


def _guard_draws(n_draws: int, n_customers: int) -> None:
    size = 8 * n_draws * n_customers
    if size > MAX_DRAWS_BYTES:
        raise DrawsTooLargeError(
            f"return_draws=True would build a {n_draws} draws x {n_customers} customers array "
            f"({size / 2**30:.1f} GiB > {MAX_DRAWS_BYTES / 2**30:.0f} GiB). Ask for the draws "
            f"of fewer customers (pass a subset of the summary), or use the summaries (return_draws=False)."
        )


def _check_finite(values: np.ndarray, name: str, index: pd.Index | None = None) -> None:
    """Refuse NaN results; infinities pass (an expectation that does not exist is infinite, e.g.
    Gamma-Gamma's expected spend when q <= 1)."""
    bad = np.isnan(values)
    if bad.any():
        where = ""
        if index is not None and bad.ndim == 1:
            where = f" (first customers: {', '.join(map(repr, index[bad][:5].tolist()))})"
        raise FloatingPointError(
            f"The prediction '{name}' is not a number (NaN) for {int(bad.sum())} value(s){where}. The parameters "
            f"or the data are outside the range where its formula can be evaluated; please report this with the "
            f"fit's parameters."
        )


def per_customer(fit: Fit, fn: Callable, index: pd.Index, arrays: Mapping[str, np.ndarray], *, name: str,
                 hdi_prob: float = 0.94, return_draws: bool = False, chunk_bytes: int = CHUNK_BYTES, **kwargs):
    """One per-customer prediction of a fit: a Series (one draw), mean/sd/HDI columns, or the draws.

    Parameters
    ----------
    fit : PointFit or Posterior
    fn : callable
        The model module's formula, ``fn(xp, **params, **data, **kwargs)``.
    index : Index
        Customer ids (the rows of ``arrays``).
    arrays : mapping
        The summary columns ``fn`` reads, validated.
    name : str
        The quantity's name (the Series name, the DataArray name).
    hdi_prob, return_draws, chunk_bytes
        Probability of the HDI; return the draws (chain, draw, customer); block size.

    Examples
    --------
    >>> from clvmodels.fit import PointFit
    >>> from clvmodels.models.gamma_gamma import SPEC, expected_spend
    >>> fit = PointFit(SPEC, {"p": 6.25, "q": 3.74, "gamma": 15.44})
    >>> per_customer(fit, expected_spend, pd.Index([7]), {"frequency": np.array([3.0]),
    ...              "monetary_value": np.array([20.0])}, name="expected_spend").round(2).tolist()
    [21.94]
    """
    n_draws = fit.n_draws
    theta = _columns(flat_draws(fit))
    if n_draws == 1 and not return_draws:
        # blocks of POINT_ROWS rows: a formula's dozen temporaries then stay in the allocator's
        # heap instead of being mapped and faulted in afresh for every operation (2x faster)
        n_rows = len(index)
        values = np.empty(n_rows)
        for start in range(0, n_rows, POINT_ROWS):
            sl = slice(start, start + POINT_ROWS)
            values[sl] = evaluate(fn, theta, {k: v[sl] for k, v in arrays.items()}, 1, **kwargs)[0]
        _check_finite(values, name, index)
        return pd.Series(values, index=index, name=name, copy=False)  # values is this call's own array
    unique, _, inverse = compress(arrays)
    n_rows = len(next(iter(unique.values())))
    if return_draws:
        _guard_draws(n_draws, len(index))
        draws = np.empty((n_draws, n_rows))
        for sl in row_slices(n_rows, n_draws, chunk_bytes):
            draws[:, sl] = evaluate(fn, theta, {k: v[sl] for k, v in unique.items()}, n_draws, **kwargs)
        _check_finite(draws, name)
        return draws_array(draws[:, inverse], fit, index, name)
    out = {k: np.empty(n_rows) for k in STATISTICS}
    for sl in row_slices(n_rows, n_draws, chunk_bytes):
        block = evaluate(fn, theta, {k: v[sl] for k, v in unique.items()}, n_draws, **kwargs)
        _check_finite(block, name)
        for k, v in summarize(block, hdi_prob).items():
            out[k][sl] = v
    frame = pd.DataFrame({k: v[inverse] for k, v in out.items()}, index=index)
    frame.attrs.update({"hdi_prob": hdi_prob, "quantity": name})
    return frame


def population(fit: Fit, fn: Callable, label: str, values, *, name: str, hdi_prob: float = 0.94,
               return_draws: bool = False, **fixed):
    """A population-level prediction over a scalar or a 1-d argument ``label`` (``t``, ``n``, ...).

    One draw: a float for a scalar argument, a Series indexed by the argument otherwise. Many
    draws: a Series (mean, sd, hdi_lower, hdi_upper) for a scalar, a DataFrame indexed by the
    argument otherwise. ``return_draws=True``: the draws (chain, draw[, label]).

    Examples
    --------
    >>> from clvmodels.fit import PointFit
    >>> from clvmodels.models.bgnbd import SPEC, expected_purchases_new_customer as f
    >>> fit = PointFit(SPEC, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> round(population(fit, f, "t", np.asarray(39.0), name="e"), 3)
    1.197
    """
    arr = np.asarray(values, dtype=float)
    n_draws = fit.n_draws
    theta = _columns(flat_draws(fit))
    out = np.array(evaluate(fn, theta, {label: np.atleast_1d(arr)}, n_draws, **fixed))
    _check_finite(out, name)
    if return_draws:
        if arr.ndim == 0:
            return draws_array(out[:, 0], fit, None, name)
        return draws_array(out, fit, None, name, label=label, labels=arr)
    if n_draws == 1:
        if arr.ndim == 0:
            return float(out[0, 0])
        return pd.Series(out[0], index=pd.Index(arr, name=label), name=name)
    summary = summarize(out, hdi_prob)
    if arr.ndim == 0:
        series = pd.Series({k: float(v[0]) for k, v in summary.items()}, name=name)
        series.attrs["hdi_prob"] = hdi_prob
        return series
    frame = pd.DataFrame(summary, index=pd.Index(arr, name=label))
    frame.attrs.update({"hdi_prob": hdi_prob, "quantity": name})
    return frame
