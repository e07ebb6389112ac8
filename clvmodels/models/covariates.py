r"""Time-invariant customer covariates, for any model that declares where they enter.

A model's spec lists, per process, the parameters covariates act on and the sign of the
link (:attr:`~clvmodels.models.spec.ModelSpec.covariate_links`). For customer :math:`i` with
covariates :math:`z_i` each such parameter becomes

.. math:: \theta_i = \theta_0 \exp(s\, \gamma^\top z_i),

with :math:`s = -1` for the scale of a gamma-distributed rate (BG/NBD's and Pareto/NBD's
``alpha``, Pareto/NBD's ``beta``: a positive coefficient means a higher rate, more purchases
or earlier dropout) and :math:`s = +1` for shape parameters (BG/NBD's ``a`` and ``b``) and
for Gamma-Gamma's ``gamma`` (a positive coefficient means higher spend). This is the
parameterisation of Fader & Hardie (2007), "Incorporating time-invariant covariates into the
Pareto/NBD and BG/NBD models", and of CLVTools [1]_; ``theta_0`` keeps the plain model's
name (``alpha`` is the scale of a customer whose covariates are all 0).

:func:`with_covariates` turns a plain spec into the spec of the covariate model: the same
likelihood and predictions, evaluated at each customer's parameters, with one
:data:`~clvmodels.models.spec.REAL` coefficient per (process, covariate) and the covariates
as data columns. Maximum likelihood, the Bayesian engine and the prediction engine then
work on it unchanged: no formula is written twice.

References
----------
.. [1] Meierer, Levin, Bachmann, Oblander, Näf and Näf (2025). "CLVTools: Customer lifetime
   value tools for R". Static covariate models ``pnbd``, ``bgnbd``, ``ggomnbd``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from clvmodels.models.spec import REAL, DataField, ModelSpec, Param, Prediction

__all__ = ["CovariateDesign", "Coefficient", "with_covariates", "individual_params", "PROCESSES"]

#: The processes covariates can act on, in the order their coefficients are listed.
PROCESSES = ("purchase", "dropout", "spend")
#: A coefficient shared by the purchase and dropout processes (an equality constraint).
SHARED = "shared"


def _names(value, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    out = tuple(str(v) for v in value)
    slash = [v for v in out if "/" in v or not v]
    if slash:
        # a posterior's variables are named after the coefficients, and a DataTree (NetCDF)
        # cannot name a variable with "/": refuse before any sampling time is spent
        raise ValueError(f"The {what} covariate {slash[0]!r} is empty or contains '/', which a posterior cannot name a "
                         f"variable with; rename the column (summary.rename(columns={{{slash[0]!r}: ...}})).")
    dup = sorted({v for v in out if out.count(v) > 1})
    if dup:
        raise ValueError(f"The {what} covariates list {', '.join(map(repr, dup))} more than once; give each once.")
    return out


@dataclass(frozen=True)
class CovariateDesign:
    """Which covariate columns act on which process.

    Attributes
    ----------
    purchase, dropout, spend : sequence of str
        Covariate columns for the purchase process, the dropout process and the spend.
    shared : sequence of str
        Covariates with one coefficient for both the purchase and the dropout process (an
        equality constraint, CLVTools' ``names.cov.constr``).

    Examples
    --------
    >>> d = CovariateDesign(purchase=["gender", "channel"], dropout="channel")
    >>> d.columns, d.key
    (('gender', 'channel'), 'purchase=gender,channel;dropout=channel')
    >>> CovariateDesign.from_dict(d.to_dict()) == d
    True
    """

    purchase: tuple[str, ...] = ()
    dropout: tuple[str, ...] = ()
    spend: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in (*PROCESSES, SHARED):
            object.__setattr__(self, name, _names(getattr(self, name), name))
        both = sorted(set(self.shared) & (set(self.purchase) | set(self.dropout)))
        if both:
            raise ValueError(f"{', '.join(map(repr, both))} is listed as a shared covariate and also for one "
                             f"process; a shared covariate already acts on both. List it once.")

    @property
    def columns(self) -> tuple[str, ...]:
        """Every covariate column, each once, in order of first mention."""
        out: list[str] = []
        for name in (*PROCESSES, SHARED):
            out += [c for c in getattr(self, name) if c not in out]
        return tuple(out)

    @property
    def key(self) -> str:
        return ";".join(f"{name}={','.join(getattr(self, name))}" for name in (*PROCESSES, SHARED)
                        if getattr(self, name))

    def __bool__(self) -> bool:
        return bool(self.columns)

    def to_dict(self) -> dict[str, list[str]]:
        """Plain data for model files: ``{"purchase": [...], ...}`` (empty processes left out)."""
        return {name: list(getattr(self, name)) for name in (*PROCESSES, SHARED) if getattr(self, name)}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Iterable[str]]) -> CovariateDesign:
        unknown = sorted(set(payload) - {*PROCESSES, SHARED})
        if unknown:
            raise ValueError(f"A covariate design names unknown processes {', '.join(map(repr, unknown))}; "
                             f"they are {', '.join((*PROCESSES, SHARED))}.")
        return cls(**{k: tuple(v) for k, v in payload.items()})


@dataclass(frozen=True)
class Coefficient:
    """One regression coefficient: its name, its covariate column and the ``(parameter, sign)``
    links it enters."""

    name: str
    column: str
    links: tuple[tuple[str, float], ...]


def coefficients(spec: ModelSpec, design: CovariateDesign) -> tuple[Coefficient, ...]:
    """The coefficients of ``design`` on the plain model ``spec``, named ``process:column``
    (``process_parameter:column`` where a process acts on several parameters, as BG/NBD's
    dropout on ``a`` and ``b``).

    Examples
    --------
    >>> from clvmodels.models import bgnbd
    >>> [c.name for c in coefficients(bgnbd.SPEC, CovariateDesign(purchase="gender", dropout="gender"))]
    ['purchase:gender', 'dropout_a:gender', 'dropout_b:gender']
    """
    links = spec.covariate_links
    out = []
    for process in PROCESSES:
        columns = getattr(design, process)
        if columns and process not in links:
            offered = ", ".join(f"{k} ({', '.join(p for p, _ in v)})" for k, v in links.items()) or "none"
            raise ValueError(f"{spec.title} has no {process} covariates: its covariates act on {offered}.")
        for column in columns:
            if len(links[process]) == 1:
                out.append(Coefficient(f"{process}:{column}", column, tuple(links[process])))
            else:
                out += [Coefficient(f"{process}_{param}:{column}", column, ((param, sign),))
                        for param, sign in links[process]]
    if design.shared:
        if "purchase" not in links or "dropout" not in links:
            raise ValueError(f"{spec.title} has no purchase and dropout processes to share a covariate between.")
        for column in design.shared:
            out.append(Coefficient(f"{SHARED}:{column}", column, (*links["purchase"], *links["dropout"])))
    return tuple(out)


def individual_params(xp, spec: ModelSpec, values: Mapping[str, object], data: Mapping[str, object]) -> dict:
    """Each customer's parameters of the plain model: ``theta_0 * exp(sign * sum(coefficient * z))``.

    ``values`` holds the covariate spec's parameters (the plain ones and the coefficients),
    ``data`` the covariate columns. Parameters without covariates are returned as they are.

    Examples
    --------
    >>> import numpy as np
    >>> from clvmodels import backend
    >>> from clvmodels.models import pareto_nbd
    >>> cov = with_covariates(pareto_nbd.SPEC, CovariateDesign(purchase="female"))
    >>> p = individual_params(backend.numpy, cov, {"r": 0.5, "alpha": 10.0, "s": 0.6, "beta": 12.0,
    ...                       "purchase:female": np.log(2.0)}, {"female": np.array([0.0, 1.0])})
    >>> p["alpha"].round(6).tolist(), p["beta"]
    ([10.0, 5.0], 12.0)
    """
    design = spec.covariates
    base = spec.base_params
    exponents: dict[str, object] = {}
    for coef in coefficients(spec.plain, design):
        for param, sign in coef.links:
            term = sign * values[coef.name] * data[coef.column]
            exponents[param] = term if param not in exponents else exponents[param] + term
    return {name: values[name] * xp.exp(exponents[name]) if name in exponents else values[name] for name in base}


def _wrap(spec: ModelSpec, fn, keep: tuple[str, ...] = ()):
    """``fn`` of the plain model as a function of the covariate spec's parameters and data."""
    coef_names = {p.name for p in spec.params} - set(spec.base_params)
    columns = set(spec.covariates.columns)

    def wrapped(xp, *args, **kwargs):
        values = {k: kwargs.pop(k) for k in list(kwargs) if k in coef_names or k in spec.base_params}
        data = {k: kwargs.pop(k) for k in list(kwargs) if k in columns}
        if not data:  # a population-level prediction: the customer whose covariates are all 0
            data = {c: 0.0 for c in columns}
        return fn(xp, *args, **individual_params(xp, spec, values, data), **kwargs)

    wrapped.__name__ = getattr(fn, "__name__", "prediction")
    wrapped.__doc__ = fn.__doc__
    return wrapped


def with_covariates(spec: ModelSpec, design: CovariateDesign | Mapping[str, Iterable[str]], *,
                    prior_sigma: float = 1.0) -> ModelSpec:
    """The spec of ``spec`` with time-invariant covariates as ``design`` says.

    Parameters
    ----------
    spec : ModelSpec
        A plain model whose spec declares ``covariate_links``.
    design : CovariateDesign or mapping
        Which columns act on which process.
    prior_sigma : float
        Standard deviation of the coefficients' default Normal(0, sigma) prior (the Bayesian
        counterpart of an L2 penalty).

    Returns
    -------
    ModelSpec
        Same ``name`` and plain parameters, plus one coefficient per (process, covariate) and
        one data column per covariate; its likelihood and predictions are the plain ones at
        each customer's parameters.

    Examples
    --------
    >>> from clvmodels.models import bgnbd
    >>> cov = with_covariates(bgnbd.SPEC, {"purchase": ["gender"]})
    >>> cov.param_names, cov.data_names
    (('r', 'alpha', 'a', 'b', 'purchase:gender'), ('frequency', 'recency', 'T', 'gender'))
    """
    design = design if isinstance(design, CovariateDesign) else CovariateDesign.from_dict(design)
    if spec.covariates is not None:
        raise ValueError(f"This {spec.title} spec already has covariates ({spec.covariates.key}).")
    if not design:
        return spec
    clash = sorted(set(design.columns) & set(spec.data_names))
    if clash:
        raise ValueError(f"{', '.join(map(repr, clash))} is a summary column {spec.title} reads, not a covariate; "
                         f"rename the covariate.")
    # the wrapped functions tell covariates from parameters and prediction arguments by name
    # (a covariate "t" would be read as the horizon of expected_purchases): refuse a clash
    taken = set(spec.param_names) | {"xp"} | set(inspect.signature(spec.loglik).parameters)
    for pred in spec.predictions.values():
        fn = pred.fn if isinstance(pred, Prediction) else pred
        taken |= set(inspect.signature(fn).parameters)
    clash = sorted(set(design.columns) & (taken - set(spec.data_names)))
    if clash:
        raise ValueError(f"{', '.join(map(repr, clash))} is the name of a {spec.title} parameter or prediction argument, "
                         f"not usable as a covariate column; rename the covariate (e.g. '{clash[0]}_cov').")
    coefs = coefficients(spec, design)
    params = spec.params + tuple(
        Param(c.name, support=REAL, symbol=rf"\gamma_{{\mathrm{{{c.name}}}}}", prior=("Normal", {"mu": 0.0, "sigma": float(prior_sigma)}),
              init=0.0)
        for c in coefs
    )
    data = spec.data + tuple(DataField(c, "real", description=f"covariate '{c}'") for c in design.columns)
    # the generative process needs per-customer parameters: simulate with the plain spec's simulate
    out = replace(spec, params=params, data=data, predictions={}, covariates=design, plain=spec, simulate=None)
    object.__setattr__(out, "loglik", _wrap(out, spec.loglik))
    predictions = {}
    for name, pred in spec.predictions.items():
        # a population prediction is one of the customer whose covariates are 0: it keeps its scope
        predictions[name] = replace(pred, fn=_wrap(out, pred.fn))
    object.__setattr__(out, "predictions", predictions)
    return out
