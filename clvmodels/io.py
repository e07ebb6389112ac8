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
]

FORMAT = "clvmodels.point_estimate"
#: Version of the JSON layout.
FORMAT_VERSION = 1
POSTERIOR_FORMAT = "clvmodels.posterior"
#: Version of the NetCDF layout.
POSTERIOR_FORMAT_VERSION = 1
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
    return PointFit(spec, values, se=se, cov=cov, loglik=_number(payload, "loglik", source), converged=converged,
                    unit=_unit(payload.get("unit"), source), n_customers=n, fingerprint=fp)


def _read_posterior(path: Path, expect: str | None) -> Posterior:
    source = str(path)
    try:
        tree = xr.open_datatree(path, engine="h5netcdf").load()
    except Exception as exc:  # noqa: BLE001 - any failure of the HDF5 reader means "not a posterior file"
        raise ModelFileError(f"{source} is not a clvmodels posterior NetCDF file: {type(exc).__name__}: {exc}") from None
    attrs = dict(tree.attrs)
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
