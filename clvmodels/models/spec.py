"""Models as data: parameter and data declarations shared by every inference engine.

A model module declares a :class:`ModelSpec`: its parameters (name, support, default prior,
symbol), the summary columns it reads, its log-likelihood and its predictions, each written
once against :mod:`clvmodels.backend`. The maximum-likelihood engine derives its
unconstrained transform from each :class:`Param`'s support, the Bayesian engine derives its
priors, and :func:`validate_params` its checks; no model writes its own ``if a <= 0``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from clvmodels import backend

__all__ = ["POSITIVE", "UNIT_INTERVAL", "REAL", "BACKENDS", "NUMPY_ONLY", "Param", "DataField", "Prediction", "ModelSpec",
           "validate_params"]

#: The array namespaces a formula can be written for (see :mod:`clvmodels.backend`).
BACKENDS = ("numpy", "pytensor")
#: For predictions that need NumPy/SciPy-only steps (quadrature, Python-level branches).
NUMPY_ONLY = ("numpy",)

POSITIVE = "positive"
UNIT_INTERVAL = "unit_interval"
#: The whole real line (identity transform): regression coefficients of covariates.
REAL = "real"


@dataclass(frozen=True)
class Param:
    """One model parameter.

    Attributes
    ----------
    name : str
        Name used in ``params_`` and in the posterior (paper symbol spelled out).
    support : str
        ``"positive"`` (log transform), ``"unit_interval"`` (logit transform) or ``"real"``
        (no transform: a covariate's coefficient).
    symbol : str
        LaTeX symbol for tables and docs.
    prior : tuple
        Default prior as ``(pymc distribution name, keyword arguments)``.
    init : float
        Starting value for maximum likelihood.
    time_scale : bool
        The parameter is measured in the summary's time unit (the scale of a gamma-distributed
        rate, such as BG/NBD's ``alpha``): a penalized fit expresses it in units of the longest
        observation time, so that the penalty does not depend on the time unit.
    """

    name: str
    support: str = POSITIVE
    symbol: str = ""
    prior: tuple[str, Mapping[str, float]] = ("HalfNormal", {"sigma": 10.0})
    init: float = 1.0
    time_scale: bool = False

    def to_unconstrained(self, value):
        """Map a value in the support to the real line (log or logit)."""
        value = np.asarray(value, dtype=float)
        if self.support == POSITIVE:
            return np.log(value)
        if self.support == REAL:
            return value
        return np.log(value) - np.log1p(-value)

    def from_unconstrained(self, theta, xp=None):
        """Inverse of :meth:`to_unconstrained`; ``xp`` chooses the backend (NumPy by default)."""
        xp = xp or backend.numpy
        if self.support == POSITIVE:
            return xp.exp(theta)
        if self.support == REAL:
            return theta
        return 1.0 / (1.0 + xp.exp(-theta))

    def jacobian(self, value):
        """d value / d theta at ``value`` (for the delta method)."""
        value = np.asarray(value, dtype=float)
        if self.support == POSITIVE:
            return value
        if self.support == REAL:
            return np.ones_like(value)
        return value * (1.0 - value)

    def curvature(self, value):
        """d2 value / d theta2 at ``value`` (for penalties and priors in the unconstrained scale)."""
        value = np.asarray(value, dtype=float)
        if self.support == POSITIVE:
            return value  # exp'' = exp
        if self.support == REAL:
            return np.zeros_like(value)
        return value * (1.0 - value) * (1.0 - 2.0 * value)  # logistic'' = v' (1 - 2 v)

    def in_support(self, value) -> bool:
        value = np.asarray(value, dtype=float)
        if self.support == POSITIVE:
            return bool(np.all(np.isfinite(value) & (value > 0)))
        if self.support == REAL:
            return bool(np.all(np.isfinite(value)))
        return bool(np.all((value > 0) & (value < 1)))

    @property
    def support_text(self) -> str:
        return {POSITIVE: "> 0", REAL: "a finite number"}.get(self.support, "in (0, 1)")


@dataclass(frozen=True)
class DataField:
    """One summary column a model reads, with the rule its values must satisfy.

    ``kind`` is ``"count"`` (non-negative integer), ``"positive_count"`` (integer >= 1),
    ``"time"`` (finite, >= 0), ``"positive_time"`` (> 0) or ``"positive"`` (finite, > 0).
    ``at_most`` names another field this one may not exceed (recency <= T).
    """

    name: str
    kind: str
    at_most: str | None = None
    description: str = ""
    fit_kind: str | None = None
    """Stricter rule for fitting than for prediction (Gamma-Gamma fits only repeat buyers)."""


@dataclass(frozen=True)
class Prediction:
    """One prediction a model offers: its formula, its scope and the backends it works on.

    Attributes
    ----------
    fn : callable
        ``fn(xp, **params, **data, **arguments)``, written once against the array namespace.
    scope : {"customer", "population"}, optional
        ``"customer"``: a value per summary row (reads the spec's data columns);
        ``"population"``: a function of its own argument only (``t``, ``n``, ``renewals``).
        Inferred from ``fn``'s signature when not given.
    backends : tuple of str
        Where ``fn`` can be evaluated: ``("numpy", "pytensor")`` (the default), or
        :data:`NUMPY_ONLY` when a step has no PyTensor form. The contract tests read it.
    broadcasts : tuple of str
        Arguments that may be arrays of any shape broadcasting against ``draws x rows`` from
        the left (``t`` of shape ``(H, 1, 1)``: H horizons in one call, the result
        ``H x draws x rows``). The CLV evaluates all period ends at once through it, so
        the parts that do not depend on ``t`` (P(alive)) are computed once.

    Examples
    --------
    >>> from clvmodels.models.bgnbd import SPEC
    >>> SPEC.predictions["expected_purchases"].scope, SPEC.predictions["probability_of_purchases"].scope
    ('customer', 'population')
    """

    fn: Callable
    scope: str | None = None
    backends: tuple[str, ...] = BACKENDS
    broadcasts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scope not in (None, "customer", "population"):
            raise ValueError(f"A prediction's scope is 'customer' or 'population'. Got {self.scope!r} instead.")
        unknown = set(self.backends) - set(BACKENDS)
        if unknown or "numpy" not in self.backends:
            raise ValueError(f"A prediction's backends are a subset of {BACKENDS} including 'numpy'. "
                             f"Got {self.backends!r} instead.")

    def __call__(self, xp, *args, **kwargs):
        return self.fn(xp, *args, **kwargs)

    @property
    def __name__(self) -> str:  # noqa: A003 - a prediction reads like the function it wraps
        return self.fn.__name__


@dataclass(frozen=True)
class ModelSpec:
    """Everything an engine needs to know about a model, and nothing about an engine."""

    name: str
    title: str
    params: tuple[Param, ...]
    data: tuple[DataField, ...]
    loglik: Callable
    predictions: Mapping[str, Callable] = field(default_factory=dict)
    reference: str = ""
    ridges: tuple[tuple[tuple[str, ...], str], ...] = ()
    """What it means when maximum likelihood walks off to the edge of the parameter space along
    some parameters together: ``((names, sentence), ...)``, quoted in that fit's warning only."""
    simulate: Callable | None = None
    """``simulate(rng, n, **params, **design) -> dict of data arrays``: the generative process,
    for recovery tests, goodness-of-fit checks and benchmarks."""
    simulate_future: Callable | None = None
    """``simulate_future(rng, **params, frequency, T, edges) -> counts``: purchases in each period
    ``(edges[k-1], edges[k]]`` after ``T`` of customers *known to be alive at T* with ``frequency``
    repeat purchases, their latent rates drawn from their posterior given that history (params
    and data broadcast together; the counts gain a last axis of len(edges)). Together with
    ``probability_alive`` it simulates the realised future conditional on a history, for the
    predictive intervals of value (:func:`clvmodels.predictive.value_interval`)."""
    aliases: tuple[str, ...] = ()
    """Other names users call the model by (``"bg_nbd"``, ``"pnbd"``), read by the registry."""
    covariate_links: Mapping[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    """Where customer covariates may enter, by process (``"purchase"``, ``"dropout"``,
    ``"spend"``): ``(parameter, sign)`` pairs, the parameter of customer i being
    ``parameter * exp(sign * coefficients' z_i)`` (:mod:`clvmodels.models.covariates`)."""
    covariates: object | None = None
    """The :class:`~clvmodels.models.covariates.CovariateDesign` of a spec with covariates
    (built by :func:`~clvmodels.models.covariates.with_covariates`), None for the plain model."""
    plain: ModelSpec | None = None
    rate_mixtures: tuple[tuple[str, str], ...] = ()
    """(shape, scale) of each gamma-mixed rate, purchase then dropout (Pareto/NBD: (r, alpha),
    (s, beta)): the models whose rates :mod:`clvmodels.models.correlation` can correlate."""
    variant: str = ""
    """A structural variant of the model (``"correlation"``), part of :attr:`key`."""
    """The plain model a spec with covariates was built from (None for a plain model)."""

    def __post_init__(self) -> None:
        # a bare function is a prediction on both backends, its scope read off its signature
        data = set(self.data_names)
        out = {}
        for name, pred in self.predictions.items():
            pred = pred if isinstance(pred, Prediction) else Prediction(pred)
            if pred.scope is None:
                takes_data = bool(data & set(inspect.signature(pred.fn).parameters))
                pred = replace(pred, scope="customer" if takes_data else "population")
            out[name] = pred
        object.__setattr__(self, "predictions", out)

    @property
    def key(self) -> str:
        """Identifies the model's structure (its name, and its covariate design if any): what
        compiled graphs are cached under."""
        name = f"{self.name}+{self.variant}" if self.variant else self.name
        return name if self.covariates is None else f"{name}[{self.covariates.key}]"

    @property
    def base_params(self) -> tuple[str, ...]:
        """The plain model's parameters (all of them for a model without covariates)."""
        return (self.plain or self).param_names

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def data_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.data)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


def validate_params(spec: ModelSpec, params: Mapping[str, float]) -> dict[str, float]:
    """Check a complete set of parameter values against the spec's supports.

    Examples
    --------
    >>> from clvmodels.models.bgnbd import SPEC
    >>> validate_params(SPEC, {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4})["r"]
    0.24
    >>> validate_params(SPEC, {"r": 0.24, "alpha": -1, "a": 0.79, "b": 2.4})
    Traceback (most recent call last):
    ...
    ValueError: The 'alpha' parameter of BG/NBD must be > 0. Got -1 instead.
    """
    missing = [n for n in spec.param_names if n not in params]
    extra = [n for n in params if n not in spec.param_names]
    if missing or extra:
        raise ValueError(
            f"{spec.title} takes the parameters {', '.join(spec.param_names)}; "
            + (f"missing {', '.join(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unknown {', '.join(extra)}" if extra else "")
            + "."
        )
    out = {}
    for p in spec.params:
        v = params[p.name]
        if not p.in_support(v):
            raise ValueError(f"The '{p.name}' parameter of {spec.title} must be {p.support_text}. Got {v!r} instead.")
        out[p.name] = v if np.ndim(v) else float(v)
    return out
