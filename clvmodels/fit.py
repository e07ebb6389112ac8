"""The one fitted-parameters value: what every inference engine returns and every prediction reads.

A fit is parameter *draws* with dims ``(chain, draw)``: a maximum-likelihood fit
(:class:`PointFit`) is one draw, a posterior (:class:`Posterior`, from MCMC, ADVI, Pathfinder,
the prior, or the asymptotic normal of a maximum-likelihood fit) is many. Consumers call
:meth:`draws` and never ask which kind they hold; where a presentation must say "interval or
not", it reads ``n_draws > 1``. Both are plain data: a :class:`PointFit` is JSON as it is, a
:class:`Posterior` an ArviZ DataTree, so a fit can travel to a Spark executor without the
estimator, PyTensor or PyMC.

A parameter's draws may carry further dims after ``(chain, draw)`` (a customer dim for
per-customer parameters); the prediction engine broadcasts them as columns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from clvmodels.checks import check_number, check_probability
from clvmodels.intervals import summarize
from clvmodels.models.spec import ModelSpec, validate_params

__all__ = ["PointFit", "Posterior", "Fit", "fingerprint"]


def fingerprint(arrays: Mapping[str, np.ndarray]) -> str:
    """A short hash of the sufficient statistics, to tell which data a fit came from.

    Examples
    --------
    >>> fingerprint({"x": np.array([1.0, 2.0])}) == fingerprint({"x": np.array([1, 2])})
    True
    """
    h = hashlib.sha256()
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(np.ascontiguousarray(arrays[name], dtype=float).tobytes())
    return h.hexdigest()[:16]


def _optional_float(name: str, value) -> float | None:
    return None if value is None else check_number(name, value)


def _customer_count(value) -> float | int | None:
    """A count of customers: an int when whole customers were counted, a float for weighted rows."""
    if value is None:
        return None
    number = check_number("n_customers", value, low=0)
    return int(number) if isinstance(value, (int, np.integer)) else number


@dataclass(frozen=True, eq=False)
class PointFit:
    """A point estimate (maximum likelihood, or values given by hand): one draw of the parameters.

    Attributes
    ----------
    spec : ModelSpec
        The model the parameters belong to.
    params : mapping
        Parameter values by name, checked against the spec's supports.
    se : mapping, optional
        Standard errors (natural scale).
    cov : ndarray, optional
        Covariance of the estimates (natural scale), parameters in ``spec.param_names`` order.
    loglik, converged : optional
        Maximised log-likelihood and the optimiser's verdict.
    info : mapping
        Optimiser facts (iterations, gradient norm, message, distinct rows).
    unit, n_customers, fingerprint : optional
        Time unit of the data, customers fitted on, hash of their sufficient statistics.

    Examples
    --------
    >>> from clvmodels.models.bgnbd import SPEC
    >>> fit = PointFit(SPEC, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, unit="W")
    >>> fit.n_draws, fit.draws()["r"].shape
    (1, (1, 1))
    """

    spec: ModelSpec
    params: Mapping[str, float]
    se: Mapping[str, float] | None = None
    cov: np.ndarray | None = None
    loglik: float | None = None
    converged: bool | None = None
    info: Mapping[str, Any] = field(default_factory=dict)
    unit: str | None = None
    n_customers: float | int | None = None
    fingerprint: str | None = None

    def __post_init__(self) -> None:
        params = validate_params(self.spec, dict(self.params))
        for name, value in params.items():
            if np.ndim(value) != 0:
                raise ValueError(
                    f"The '{name}' parameter of {self.spec.title} must be one number. Got an array of shape "
                    f"{np.shape(value)} instead (per-customer parameters come from a covariate model)."
                )
            params[name] = float(value)
        object.__setattr__(self, "params", params)
        if self.se is not None:
            se = {}
            for name in self.spec.param_names:
                v = self.se.get(name, np.nan)
                if v is None or isinstance(v, (bool, str)) or not np.isscalar(v):
                    raise ValueError(f"The standard error of '{name}' must be a number or NaN. Got {v!r} instead.")
                se[name] = float(v)
            object.__setattr__(self, "se", se)
        if self.cov is not None:
            cov = np.asarray(self.cov, dtype=float)
            k = len(self.spec.params)
            if cov.shape != (k, k):
                raise ValueError(f"The covariance of a {self.spec.title} fit must be {k} x {k}. Got shape {cov.shape} instead.")
            object.__setattr__(self, "cov", cov)
        object.__setattr__(self, "loglik", _optional_float("loglik", self.loglik))
        object.__setattr__(self, "n_customers", _customer_count(self.n_customers))

    @property
    def n_draws(self) -> int:
        """Always 1."""
        return 1

    def coords(self) -> dict[str, np.ndarray]:
        """The ``chain`` and ``draw`` coordinates of :meth:`draws` (one of each)."""
        return {"chain": np.array([0]), "draw": np.array([0])}

    def draws(self) -> dict[str, np.ndarray]:
        """Parameter name -> array of dims (chain, draw) = (1, 1)."""
        return {k: np.full((1, 1), v) for k, v in self.params.items()}

    def summary(self, prob: float = 0.95) -> pd.DataFrame:
        """Estimates, standard errors and Wald intervals of coverage ``prob``.

        The interval is computed on the unconstrained scale (log for positive parameters) and
        mapped back, so it always lies inside the parameter's support.

        Examples
        --------
        >>> from clvmodels.models.gamma_gamma import SPEC
        >>> PointFit(SPEC, {"p": 6.25, "q": 3.74, "gamma": 15.44}).summary().columns.tolist()
        ['estimate', 'se', 'lower 95%', 'upper 95%']
        """
        prob = check_probability("ci", prob)
        z = stats.norm.ppf(0.5 + prob / 2)
        pct = f"{100 * prob:g}%"
        rows = []
        for p in self.spec.params:
            est = self.params[p.name]
            se = (self.se or {}).get(p.name, np.nan)
            # se on the unconstrained scale by the delta method, then back
            se_theta = se / p.jacobian(est) if np.isfinite(se) else np.nan
            theta = p.to_unconstrained(est)
            lo, hi = (float(p.from_unconstrained(theta - z * se_theta)), float(p.from_unconstrained(theta + z * se_theta)))
            rows.append({"estimate": est, "se": se, f"lower {pct}": lo, f"upper {pct}": hi})
        return pd.DataFrame(rows, index=pd.Index(self.spec.param_names, name=None))

    def sample_asymptotic(self, draws: int = 1000, random_seed: int | None = None) -> Posterior:
        """Draws from the asymptotic normal of the estimate, on the unconstrained scale.

        :math:`\\theta = g(\\text{params})` (log / logit) is drawn from
        :math:`N(\\hat\\theta, J^{-1} \\Sigma J^{-1})`, with :math:`\\Sigma` the covariance the
        summary reports and :math:`J` the Jacobian of :math:`g^{-1}`, and mapped back, so every
        draw lies in the support. Fed to the prediction engine, these draws give
        parameter-uncertainty intervals for any prediction without MCMC. They carry the
        sampling uncertainty of the estimates only, like a Wald interval: no prior, and no
        Poisson-type noise of the purchase counts.

        Examples
        --------
        >>> from clvmodels.models.gamma_gamma import SPEC
        >>> fit = PointFit(SPEC, {"p": 6.25, "q": 3.74, "gamma": 15.44},
        ...                cov=np.diag([0.5, 0.2, 4.0]) ** 2)
        >>> post = fit.sample_asymptotic(2000, random_seed=0)
        >>> post.n_draws, bool(abs(np.median(post.draws()["p"]) - 6.25) < 0.1)
        (2000, True)
        """
        n = int(check_number("draws", draws, low=2, integer=True))
        if self.cov is None or not np.all(np.isfinite(self.cov)):
            raise ValueError(
                f"This {self.spec.title} fit has no finite covariance of its estimates (built from given values, or the "
                f"Hessian was not invertible at the estimate), so it has no asymptotic distribution to draw from. "
                f"Refit with .fit(...) on data that identify every parameter, or use .sample(...) for a posterior."
            )
        est = np.array([self.params[p.name] for p in self.spec.params])
        jac = np.array([float(p.jacobian(v)) for p, v in zip(self.spec.params, est)])
        cov_theta = self.cov / jac[:, None] / jac[None, :]
        cov_theta = 0.5 * (cov_theta + cov_theta.T)
        if np.min(np.linalg.eigvalsh(cov_theta)) < -1e-10 * max(1.0, float(np.max(np.abs(np.diag(cov_theta))))):
            raise ValueError(f"The covariance of this {self.spec.title} fit is not positive semi-definite; "
                             f"its asymptotic distribution is undefined. Refit, or use .sample(...).")
        theta_hat = np.array([float(p.to_unconstrained(v)) for p, v in zip(self.spec.params, est)])
        rng = np.random.default_rng(random_seed)
        theta = rng.multivariate_normal(theta_hat, cov_theta, size=n, method="eigh")
        data = {p.name: (("chain", "draw"), np.asarray(p.from_unconstrained(theta[:, i]), dtype=float)[None, :])
                for i, p in enumerate(self.spec.params)}
        tree = xr.DataTree.from_dict({"posterior": xr.Dataset(data, coords={"chain": [0], "draw": np.arange(n)})})
        tree.attrs["inference"] = "asymptotic normal of the maximum-likelihood estimate"
        return Posterior(self.spec, tree, unit=self.unit, n_customers=self.n_customers, fingerprint=self.fingerprint)


@dataclass(frozen=True, eq=False)
class Posterior:
    """Many draws of the parameters, in an ArviZ DataTree (``posterior`` group, dims chain x draw).

    The tree may also hold ``sample_stats``, ``log_likelihood`` and ``observed_data``. Every
    parameter of the spec must be there, with finite draws inside its support: a file whose
    draws are NaN is refused here rather than predicting NaN everywhere.

    Examples
    --------
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> ds = xr.Dataset({k: (("chain", "draw"), np.full((2, 3), v)) for k, v in
    ...                  {"p": 6.0, "q": 4.0, "gamma": 15.0}.items()})
    >>> post = Posterior(SPEC, xr.DataTree.from_dict({"posterior": ds}))
    >>> post.n_draws, post.params["q"]
    (6, 4.0)
    """

    spec: ModelSpec
    tree: xr.DataTree
    unit: str | None = None
    n_customers: float | int | None = None
    fingerprint: str | None = None
    _draws: dict[str, np.ndarray] = field(default=None, init=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if "posterior" not in self.tree.children:
            raise ValueError("A posterior needs a 'posterior' group (an ArviZ DataTree from sampling).")
        post = self.tree["posterior"].to_dataset()
        draws = {}
        for p in self.spec.params:
            if p.name not in post.data_vars:
                raise ValueError(f"The posterior of {self.spec.title} has no draws of '{p.name}' "
                                 f"(has: {', '.join(map(str, post.data_vars))}).")
            var = post[p.name]
            if "chain" not in var.dims or "draw" not in var.dims:
                raise ValueError(f"The draws of '{p.name}' must have dims (chain, draw, ...). Got {var.dims} instead.")
            values = np.asarray(var.transpose("chain", "draw", ...).values, dtype=float)
            if values.size == 0:
                raise ValueError(f"The posterior of {self.spec.title} holds no draws of '{p.name}'.")
            if not p.in_support(values):
                bad = int(np.sum(~np.isfinite(values) | ~np.vectorize(p.in_support)(values)))
                raise ValueError(
                    f"The posterior of {self.spec.title} has {bad} draws of '{p.name}' that are not finite numbers "
                    f"{p.support_text}; a posterior with such draws cannot predict. Sample again."
                )
            draws[p.name] = values
        object.__setattr__(self, "_draws", draws)
        object.__setattr__(self, "n_customers", _customer_count(self.n_customers))

    @property
    def n_draws(self) -> int:
        """Number of draws over all chains."""
        first = next(iter(self._draws.values()))
        return int(first.shape[0] * first.shape[1])

    def coords(self) -> dict[str, np.ndarray]:
        """The ``chain`` and ``draw`` coordinates of :meth:`draws`."""
        post = self.tree["posterior"].to_dataset()
        return {"chain": np.asarray(post["chain"].values), "draw": np.asarray(post["draw"].values)}

    def draws(self) -> dict[str, np.ndarray]:
        """Parameter name -> array of dims (chain, draw, ...)."""
        return dict(self._draws)

    @property
    def params(self) -> dict[str, float]:
        """Posterior means."""
        return {k: float(np.mean(v)) for k, v in self._draws.items()}

    @property
    def se(self) -> dict[str, float]:
        """Posterior standard deviations (0 for a single draw)."""
        return {k: float(np.std(v, ddof=1)) if v.size > 1 else 0.0 for k, v in self._draws.items()}

    @property
    def source(self) -> str:
        """How the draws were made (``"nuts (pymc)"``, ``"advi"``, the asymptotic normal, ...)."""
        return str(self.tree.attrs.get("inference", ""))

    def summary(self, prob: float = 0.94) -> pd.DataFrame:
        """Posterior mean, sd, HDI, R-hat and bulk/tail ESS of each parameter.

        Examples
        --------
        >>> from clvmodels.models.gamma_gamma import SPEC
        >>> rng = np.random.default_rng(0)
        >>> ds = xr.Dataset({k: (("chain", "draw"), v + 0.1 * rng.standard_normal((2, 200))) for k, v in
        ...                  {"p": 6.0, "q": 4.0, "gamma": 15.0}.items()})
        >>> Posterior(SPEC, xr.DataTree.from_dict({"posterior": ds})).summary().columns.tolist()
        ['mean', 'sd', 'hdi_lower', 'hdi_upper', 'r_hat', 'ess_bulk', 'ess_tail']
        """
        import arviz as az

        names = list(self.spec.param_names)
        flat = np.column_stack([self._draws[n].reshape(-1) for n in names])
        table = pd.DataFrame(summarize(flat, prob), index=names)
        post = self.tree["posterior"].to_dataset()
        if post.sizes.get("chain", 1) > 1:
            rhat, bulk, tail = az.rhat(post), az.ess(post, method="bulk"), az.ess(post, method="tail")
            table["r_hat"] = [float(rhat[n]) for n in names]
            table["ess_bulk"] = [float(bulk[n]) for n in names]
            table["ess_tail"] = [float(tail[n]) for n in names]
        else:
            table["r_hat"] = table["ess_bulk"] = table["ess_tail"] = np.nan
        table.attrs["hdi_prob"] = prob
        return table


#: What an estimator holds once fitted.
Fit = PointFit | Posterior
