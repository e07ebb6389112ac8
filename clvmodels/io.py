"""Persistence of fits, in one place: JSON for point fits, NetCDF-4 for posteriors; no pickle, no code.

A JSON file holds a :class:`~clvmodels.fit.PointFit` as strict JSON (``NaN`` is written as
``null``); a NetCDF-4 file (HDF5, via h5netcdf) holds a :class:`~clvmodels.fit.Posterior`'s
DataTree, its root attributes recording the format and its version, the model, parameter
names, priors, clvmodels version, time unit and data fingerprint. Reading validates the whole
payload (every field's type, the parameters' names, finiteness and supports, the unit) and
raises :class:`~clvmodels.errors.ModelFileError` naming the file and the field, whatever is
wrong. Writing goes to a temporary file in the same folder that replaces the target only when
complete.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from clvmodels._version import __version__
from clvmodels.errors import ModelFileError
from clvmodels.fit import Fit, PointFit, Posterior
from clvmodels.models.covariates import CovariateDesign, with_covariates
from clvmodels.models.registry import SPECS, with_variant
from clvmodels.models.spec import ModelSpec
from clvmodels.output_files import atomic_path, write_json_atomic
from clvmodels.units import normalize_unit

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "POSTERIOR_FORMAT",
    "POSTERIOR_FORMAT_VERSION",
    "checked_unit",
    "point_fit_to_dict",
    "point_fit_from_dict",
    "save_fit",
    "read_fit",
    "is_posterior_file",
    "LATENT_FORMAT",
    "LATENT_FORMAT_VERSION",
    "save_latent",
    "read_latent",
]

FORMAT = "clvmodels.point_estimate"
#: Version of the JSON layout.
FORMAT_VERSION = 1
POSTERIOR_FORMAT = "clvmodels.posterior"
#: Version of the NetCDF layout.
POSTERIOR_FORMAT_VERSION = 1
#: Posteriors of the latent-parameter models (Pareto/GGG, hierarchical Pareto/NBD): per-customer
#: draws and the summary they were sampled on, which their predictions read.
LATENT_FORMAT = "clvmodels.latent_posterior"
#: Version of that NetCDF layout.
LATENT_FORMAT_VERSION = 1
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def checked_unit(unit: str | None, name: str = "unit") -> str | None:
    """A time unit in its canonical code, or None when unknown.

    Examples
    --------
    >>> checked_unit("weeks"), checked_unit(None)
    ('W', None)
    """
    return None if unit is None else normalize_unit(unit, name)


# --------------------------------------------------------------------------- writing
def _json_number(value) -> float | None:
    """A float for JSON, with NaN and infinities as null (strict JSON has no literal for them)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def point_fit_to_dict(fit: PointFit) -> dict[str, Any]:
    """Plain, strict-JSON form of a point fit.

    Examples
    --------
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> d = point_fit_to_dict(PointFit(SPEC, {"p": 6.25, "q": 3.74, "gamma": 15.44}, se={"p": float("nan")}))
    >>> d["model"], d["se"]["p"]
    ('gamma_gamma', None)
    """
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "clvmodels_version": __version__,
        "model": fit.spec.name,
        "variant": fit.spec.variant or None,
        "covariates": fit.spec.covariates.to_dict() if fit.spec.covariates is not None else None,
        "params": {k: float(v) for k, v in fit.params.items()},
        "se": None if fit.se is None else {k: _json_number(v) for k, v in fit.se.items()},
        "cov": None if fit.cov is None else [[_json_number(v) for v in row] for row in np.asarray(fit.cov)],
        "loglik": _json_number(fit.loglik),
        "converged": fit.converged,
        "n_customers": _json_number(fit.n_customers),
        "unit": fit.unit,
        "data_fingerprint": fit.fingerprint,
        # the likelihood by Erlang order of a CNBD-k k="auto" fit (how k was chosen); optional
        **({"k_logliks": {str(k): _json_number(v) for k, v in fit.info["k_logliks"].items()}}
           if "k_logliks" in fit.info else {}),
    }


def save_fit(fit: Fit, path: str | Path) -> Path:
    """Write a fit: JSON for a :class:`PointFit`, NetCDF-4 for a :class:`Posterior`, atomically.

    Examples
    --------
    >>> import tempfile
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> p = save_fit(PointFit(SPEC, {"p": 6.25, "q": 3.74, "gamma": 15.44}), Path(tempfile.mkdtemp()) / "g.json")
    >>> read_fit(p).params["q"]
    3.74
    """
    path = Path(path)
    if isinstance(fit, PointFit):
        return write_json_atomic(path, point_fit_to_dict(fit))
    tree = fit.tree.copy()
    tree.attrs.update({
        "format": POSTERIOR_FORMAT,
        "format_version": POSTERIOR_FORMAT_VERSION,
        "clvmodels_version": __version__,
        "model": fit.spec.name,
        "param_names": json.dumps(list(fit.spec.param_names)),
        "covariates": json.dumps(fit.spec.covariates.to_dict() if fit.spec.covariates is not None else None),
        "variant": fit.spec.variant,
        "priors": tree.attrs.get("priors", json.dumps({})),
        "unit": fit.unit or "",
        "data_fingerprint": fit.fingerprint or "",
        "n_customers": float(fit.n_customers) if fit.n_customers is not None else np.nan,
    })
    with atomic_path(path) as tmp:
        tree.to_netcdf(tmp, engine="h5netcdf")
    return path


# --------------------------------------------------------------------------- reading
def is_posterior_file(path: str | Path) -> bool:
    """True when ``path`` starts with the HDF5 signature (a NetCDF-4 posterior file).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.json"
    >>> _ = p.write_text("{}")
    >>> is_posterior_file(p)
    False
    """
    with open(path, "rb") as fh:
        return fh.read(8) == _HDF5_MAGIC


def spec_for(name, source: str, expect: str | None, kind: str = "model", covariates=None, variant=None) -> ModelSpec:
    """The spec a model file names: the registered model, with its variant and covariate design.

    Examples
    --------
    >>> spec_for("pareto_nbd", "m.json", None, covariates={"purchase": ["channel"]}, variant="correlation").key
    'pareto_nbd+correlation[purchase=channel]'
    """
    if not isinstance(name, str) or name not in SPECS:
        raise ModelFileError(f"{source} holds an unknown model {name!r}: field 'model' must name a clvmodels model "
                             f"({', '.join(SPECS)}).")
    if expect is not None and name != expect:
        raise ModelFileError(f"{source} holds a '{name}' {kind}, not '{expect}'. "
                             f"Use clvmodels.load_model(path) to get whichever model it holds.")
    try:
        spec = with_variant(SPECS[name], variant)
    except ValueError as exc:
        raise ModelFileError(f"{source}: field 'variant': {exc}") from None
    if covariates is None:
        return spec
    ok = isinstance(covariates, Mapping) and all(
        isinstance(v, list) and all(isinstance(c, str) for c in v) for v in covariates.values())
    try:
        if not ok:
            raise ValueError("it must map processes to lists of column names")
        return with_covariates(spec, CovariateDesign.from_dict(covariates))
    except ValueError as exc:
        raise ModelFileError(f"{source}: field 'covariates' is not a covariate design of {SPECS[name].title} "
                             f"({str(exc).rstrip('.')}). Got {covariates!r}.") from None


def _number(payload: Mapping, key: str, source: str, *, optional: bool = True, finite: bool = True) -> float | None:
    value = payload.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (finite and not math.isfinite(value)):
        raise ModelFileError(f"{source}: field '{key}' must be a finite number{' or null' if optional else ''}. "
                             f"Got {value!r} instead.")
    return float(value)


def _unit(value, source: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return checked_unit(value if isinstance(value, str) else repr(value))
    except ValueError:
        raise ModelFileError(f"{source}: field 'unit' must be one of 'H', 'D', 'W', 'M', 'Y' or null. "
                             f"Got {value!r} instead.") from None


def point_fit_from_dict(payload: Any, *, expect: str | None = None, source: str = "The model payload") -> PointFit:
    """A :class:`PointFit` from :func:`point_fit_to_dict` output, every field checked.

    Examples
    --------
    >>> point_fit_from_dict({"format": FORMAT, "format_version": 1, "model": "gamma_gamma",
    ...                      "params": {"p": 6.25, "q": "x", "gamma": 15.44}})
    Traceback (most recent call last):
    ...
    clvmodels.errors.ModelFileError: The model payload: field 'params.q' must be a finite number. Got 'x' instead.
    """
    if not isinstance(payload, Mapping):
        raise ModelFileError(f"{source} is not a clvmodels JSON model: it holds a {type(payload).__name__}, not an object.")
    if payload.get("format") != FORMAT:
        raise ModelFileError(f"{source}: Not a clvmodels point-estimate file (field 'format' is "
                             f"{payload.get('format')!r}, expected {FORMAT!r}).")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{source} has format version {payload.get('format_version')!r}; this clvmodels reads version "
            f"{FORMAT_VERSION}. Refit the model, or load it with the clvmodels version that wrote it "
            f"({payload.get('clvmodels_version')})."
        )
    spec = spec_for(payload.get("model"), source, expect, covariates=payload.get("covariates"),
                     variant=payload.get("variant"))
    names = list(spec.param_names)
    params = payload.get("params")
    if not isinstance(params, Mapping):
        raise ModelFileError(f"{source}: field 'params' must be an object of {', '.join(names)}. Got {params!r} instead.")
    if sorted(params) != sorted(names):
        raise ModelFileError(f"{source}: field 'params' must hold exactly {', '.join(names)} for {spec.title}. "
                             f"Got {', '.join(map(str, params))} instead.")
    values = {}
    for p in spec.params:
        v = params[p.name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ModelFileError(f"{source}: field 'params.{p.name}' must be a finite number. Got {v!r} instead.")
        if not p.in_support(v):
            raise ModelFileError(f"{source}: field 'params.{p.name}' must be {p.support_text}. Got {v!r} instead.")
        values[p.name] = float(v)
    se = payload.get("se")
    if se is not None:
        if not isinstance(se, Mapping) or not set(se) <= set(names):
            raise ModelFileError(f"{source}: field 'se' must be null or an object of numbers keyed by {', '.join(names)}. "
                                 f"Got {se!r} instead.")
        se = {k: (np.nan if se.get(k) is None else _number(se, k, f"{source}: field 'se'", optional=False))
              for k in names}
    cov = payload.get("cov")
    if cov is not None:
        k = len(names)
        ok = isinstance(cov, list) and len(cov) == k and all(isinstance(r, list) and len(r) == k for r in cov) and all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for r in cov for v in r)
        if not ok:
            raise ModelFileError(f"{source}: field 'cov' must be null or a {k} x {k} list of numbers. Got {cov!r} instead.")
        cov = np.array([[np.nan if v is None else float(v) for v in r] for r in cov])
    converged = payload.get("converged")
    if converged is not None and not isinstance(converged, bool):
        raise ModelFileError(f"{source}: field 'converged' must be true, false or null. Got {converged!r} instead.")
    fp = payload.get("data_fingerprint")
    if fp is not None and not isinstance(fp, str):
        raise ModelFileError(f"{source}: field 'data_fingerprint' must be a string or null. Got {fp!r} instead.")
    n = _number(payload, "n_customers", source)
    if n is not None and n < 0:
        raise ModelFileError(f"{source}: field 'n_customers' must be >= 0. Got {n!r} instead.")
    info = {}
    k_logliks = payload.get("k_logliks")
    if k_logliks is not None:
        ok = isinstance(k_logliks, Mapping) and all(
            isinstance(k, str) and k.isdigit() and int(k) >= 1 for k in k_logliks)
        if not ok:
            raise ModelFileError(f"{source}: field 'k_logliks' must be null or an object of log-likelihoods keyed by "
                                 f"whole numbers k >= 1. Got {k_logliks!r} instead.")
        info["k_logliks"] = {int(k): (np.nan if v is None else _number(k_logliks, k, f"{source}: field 'k_logliks'",
                                                                       optional=False)) for k, v in k_logliks.items()}
    return PointFit(spec, values, se=se, cov=cov, loglik=_number(payload, "loglik", source), converged=converged,
                    unit=_unit(payload.get("unit"), source), n_customers=n, fingerprint=fp, info=info)


def _read_posterior(path: Path, expect: str | None) -> Posterior:
    source = str(path)
    try:
        tree = xr.open_datatree(path, engine="h5netcdf").load()
    except Exception as exc:  # noqa: BLE001 - any failure of the HDF5 reader means "not a posterior file"
        raise ModelFileError(f"{source} is not a clvmodels posterior NetCDF file: {type(exc).__name__}: {exc}") from None
    attrs = dict(tree.attrs)
    if attrs.get("format") == LATENT_FORMAT:
        raise ModelFileError(f"{source} holds a {attrs.get('model')!r} posterior of per-customer latent parameters: "
                             f"load it with clvmodels.{attrs.get('estimator', 'ParetoGGG')}.load(path).")
    if attrs.get("format") != POSTERIOR_FORMAT:
        raise ModelFileError(f"{source} is not a clvmodels posterior file (attribute 'format' is {attrs.get('format')!r}).")
    version = attrs.get("format_version")
    if not isinstance(version, (int, np.integer)) or int(version) != POSTERIOR_FORMAT_VERSION:
        raise ModelFileError(
            f"{source} has posterior format version {version if not isinstance(version, (int, np.integer)) else int(version)}; "
            f"this clvmodels reads version "
            f"{POSTERIOR_FORMAT_VERSION}. Load it with the clvmodels version that wrote it "
            f"({attrs.get('clvmodels_version')}) or sample again."
        )
    try:
        design = json.loads(attrs.get("covariates", "null"))
    except (TypeError, json.JSONDecodeError):
        raise ModelFileError(f"{source}: attribute 'covariates' is not JSON: {attrs.get('covariates')!r}.") from None
    spec = spec_for(attrs.get("model"), source, expect, kind="posterior", covariates=design,
                     variant=attrs.get("variant") or None)
    try:
        names = json.loads(attrs.get("param_names", "[]"))
    except (TypeError, json.JSONDecodeError):
        names = None
    if names is None or tuple(names) != spec.param_names:
        raise ModelFileError(f"{source}: attribute 'param_names' is {attrs.get('param_names')!r}, but {spec.title} has "
                             f"{list(spec.param_names)}: it was written by an incompatible version.")
    n = attrs.get("n_customers")
    try:
        n = None if n is None or not np.isfinite(float(n)) else float(n)
    except (TypeError, ValueError):
        raise ModelFileError(f"{source}: attribute 'n_customers' must be a number. Got {n!r} instead.") from None
    fp = attrs.get("data_fingerprint") or None
    try:
        return Posterior(spec, tree, unit=_unit(attrs.get("unit"), source), n_customers=n,
                         fingerprint=None if fp is None else str(fp))
    except ValueError as exc:
        raise ModelFileError(f"{source}: {exc}") from None


def read_fit(path: str | Path, *, expect: str | None = None) -> Fit:
    """The fit stored in ``path`` (JSON or NetCDF), or a :class:`ModelFileError` naming the file and the field.

    Parameters
    ----------
    path : str or Path
        A file written by :func:`save_fit` (``model.save``).
    expect : str, optional
        The model name the file must hold.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "m.json"
    >>> _ = p.write_text('{"format": "clvmodels.point_estimate", "format_version": 1, "model": "bgnbd"}')
    >>> read_fit(p)
    Traceback (most recent call last):
    ...
    clvmodels.errors.ModelFileError: ...m.json: field 'params' must be an object of r, alpha, a, b. Got None instead.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path} is not a model file: {'it is a folder' if path.is_dir() else 'it does not exist'}.")
    if is_posterior_file(path):
        return _read_posterior(path, expect)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        # binary files (pickles, NetCDF of another program) fail to decode, not to parse
        raise ModelFileError(f"{path} is not a clvmodels JSON model file: {type(exc).__name__}: {exc}") from None
    return point_fit_from_dict(payload, expect=expect, source=str(path))


# --------------------------------------------------------------------------- latent-parameter posteriors
def save_latent(tree: xr.DataTree, path: str | Path, *, model: str, estimator: str, options: Mapping[str, Any],
                data: Mapping[str, np.ndarray], index) -> Path:
    """Write a latent-parameter posterior and the per-customer data it was sampled on as NetCDF-4, atomically.

    Parameters
    ----------
    tree : xarray.DataTree
        The draws (``posterior`` and optionally ``sample_stats``), with a ``customer`` dim.
    path : str or Path
    model, estimator : str
        The model's name and its estimator class in :mod:`clvmodels` (what :func:`read_latent` checks).
    options : mapping
        The estimator's options and fitted state, as plain JSON data.
    data : mapping of str to array
        Per-customer arrays (``frequency``, ``recency``, ...), in the order of ``index``.
    index : pandas.Index
        The customer ids.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> ds = xr.Dataset({"r": (("chain", "draw"), np.ones((1, 2)))})
    >>> p = save_latent(xr.DataTree.from_dict({"posterior": ds}), Path(tempfile.mkdtemp()) / "m.nc", model="demo",
    ...                 estimator="Demo", options={"sigma": 2.0}, data={"T": np.array([3.0])}, index=pd.Index(["c1"]))
    >>> tree, options, frame = read_latent(p, expect="demo")
    >>> options, frame.index.tolist(), float(frame["T"].iloc[0])
    ({'sigma': 2.0}, ['c1'], 3.0)
    """
    path = Path(path)
    out = tree.copy()
    customers = np.asarray(index)
    if customers.dtype == object:
        customers = customers.astype(str)
    constant = xr.Dataset({k: ("customer", np.asarray(v, dtype=float)) for k, v in data.items()},
                          coords={"customer": customers})
    out["constant_data"] = xr.DataTree(constant)
    out.attrs.update({
        "format": LATENT_FORMAT,
        "format_version": LATENT_FORMAT_VERSION,
        "clvmodels_version": __version__,
        "model": model,
        "estimator": estimator,
        "options": json.dumps(dict(options)),
        "customer_index_name": json.dumps(index.name if isinstance(index.name, str) else None),
    })
    with atomic_path(path) as tmp:
        out.to_netcdf(tmp, engine="h5netcdf")
    return path


def read_latent(path: str | Path, *, expect: str) -> tuple[xr.DataTree, dict[str, Any], Any]:
    """The tree, options and per-customer data (a DataFrame indexed by customer) of a :func:`save_latent` file.

    A file that is not one, of another model or of another format version raises
    :class:`~clvmodels.errors.ModelFileError` naming the file and the attribute.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "m.json"
    >>> _ = p.write_text("{}")
    >>> read_latent(p, expect="pareto_ggg")
    Traceback (most recent call last):
    ...
    clvmodels.errors.ModelFileError: ...m.json is not a clvmodels NetCDF posterior file (no HDF5 signature).
    """
    import pandas as pd

    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ModelFileError(f"{path} is not a model file: {'it is a folder' if path.is_dir() else 'it does not exist'}.")
    if not is_posterior_file(path):
        raise ModelFileError(f"{source} is not a clvmodels NetCDF posterior file (no HDF5 signature).")
    try:
        tree = xr.open_datatree(path, engine="h5netcdf").load()
    except Exception as exc:  # noqa: BLE001 - any failure of the HDF5 reader means "not a posterior file"
        raise ModelFileError(f"{source} is not a clvmodels posterior NetCDF file: {type(exc).__name__}: {exc}") from None
    attrs = dict(tree.attrs)
    if attrs.get("format") != LATENT_FORMAT:
        raise ModelFileError(f"{source} is not a latent-parameter posterior file (attribute 'format' is "
                             f"{attrs.get('format')!r}, expected {LATENT_FORMAT!r}); load it with "
                             f"clvmodels.load_model(path).")
    version = attrs.get("format_version")
    if not isinstance(version, (int, np.integer)) or int(version) != LATENT_FORMAT_VERSION:
        shown = int(version) if isinstance(version, (int, np.integer)) else repr(version)
        raise ModelFileError(f"{source} has latent posterior format version {shown}; this clvmodels reads version "
                             f"{LATENT_FORMAT_VERSION}. Load it with the clvmodels version that wrote it "
                             f"({attrs.get('clvmodels_version')}) or sample again.")
    if attrs.get("model") != expect:
        raise ModelFileError(f"{source} holds a {attrs.get('model')!r} posterior, not {expect!r}. Load it with "
                             f"clvmodels.{attrs.get('estimator')}.load(path).")
    try:
        options = json.loads(attrs.get("options", "{}"))
        name = json.loads(attrs.get("customer_index_name", "null"))
    except (TypeError, json.JSONDecodeError):
        raise ModelFileError(f"{source}: attribute 'options' or 'customer_index_name' is not JSON.") from None
    if not isinstance(options, dict) or "posterior" not in tree.children or "constant_data" not in tree.children:
        raise ModelFileError(f"{source}: a latent posterior file needs the groups 'posterior' and 'constant_data' "
                             f"and an 'options' object; it was written by an incompatible version.")
    constant = tree["constant_data"].to_dataset()
    frame = pd.DataFrame({k: constant[k].values for k in constant.data_vars},
                         index=pd.Index(constant["customer"].values, name=name))
    groups = {g: tree[g].to_dataset() for g in tree.children if g != "constant_data"}
    out = xr.DataTree.from_dict(groups)
    # the sampler's own attributes (e.g. "inference") come back; the file's bookkeeping does not
    written = {"format", "format_version", "clvmodels_version", "model", "estimator", "options", "customer_index_name"}
    out.attrs.update({k: v for k, v in attrs.items() if k not in written})
    return out, options, frame
