"""The estimators: one class per model over one fitted value and one prediction engine.

``Model()`` takes only options; ``fit(summary)`` (maximum likelihood) and ``sample(summary)``
(Bayesian) return the model holding its one fitted value ``fit_`` (a
:class:`~clvmodels.fit.PointFit` or a :class:`~clvmodels.fit.Posterior`); every other learned
attribute (``params_``, ``se_``, ``cov_``, ``loglik_``, ``converged_``, ``n_customers_``,
``unit_``, ``data_fingerprint_``, ``fit_info_``, ``posterior_``) is a read-only view of it,
and none exists before fitting (scikit-learn's rule). Predictions are named the same for every
model and evaluate the model module's one definition of each quantity through
:mod:`clvmodels.predict`, whatever kind of fit the model holds. This is the only module that
knows both inference engines.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import xarray as xr

from clvmodels import backend, identification, io, predict
from clvmodels.checks import check_number, check_numbers, check_probability
from clvmodels.data.compress import compress
from clvmodels.data.contractual import renewals_from_survival
from clvmodels.data.fittable import fittable_rows
from clvmodels.data.validation import as_summary_frame, validate_fit_data, validate_summary
from clvmodels.errors import ConvergenceError, DataWarning, IdentificationWarning, NotFittedError
from clvmodels.fit import Fit, PointFit, Posterior, fingerprint
from clvmodels.inference import bayes, mle
from clvmodels.inference.diagnostics import diagnostics_table, warn_if_unconverged
from clvmodels.intervals import summarize
from clvmodels.models import bdw, bgbb, bgnbd, cnbdk, gamma_gamma, ggompertz_nbd, mbgnbd, pareto_nbd, sbg
from clvmodels.models.correlation import OMEGA, correlation, with_correlation
from clvmodels.models.covariates import CovariateDesign, with_covariates
from clvmodels.models.registry import get_spec
from clvmodels.models.spec import ModelSpec

__all__ = [
    "CLVModel",
    "TransactionModel",
    "SpendModel",
    "BetaGeo",
    "ParetoNBD",
    "ModifiedBetaGeo",
    "BetaGeoBetaBinom",
    "ShiftedBetaGeo",
    "BetaDiscreteWeibull",
    "ContractualModel",
    "GGompertzNBD",
    "BetaGeoCNBD",
    "ModifiedBetaGeoCNBD",
    "GammaGamma",
    "REGISTRY",
    "get_model",
    "load_model",
]

logger = logging.getLogger("clvmodels")


def _summary_unit(data) -> str | None:
    return getattr(data, "attrs", {}).get("unit") if isinstance(data, pd.DataFrame) else None


def _plain_start(spec: ModelSpec, arrays: Mapping[str, np.ndarray], weights) -> dict[str, float]:
    """Starting values for a covariate model: the plain model's estimates on the same customers
    (coefficients start at 0). That fit is cheap (the plain columns compress well) and halves
    the quasi-Newton iterations; where it fails, the defaults are used."""
    plain = spec.plain
    unique, counts, _ = compress({k: arrays[k] for k in plain.data_names}, weights)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = mle.fit_mle(plain, unique, counts)
    except (ConvergenceError, ValueError, ArithmeticError):
        return {}
    return dict(result.params) if result.converged else {}


class CLVModel:
    """Base of all clvmodels models: fitting, the fitted value, parameter tables, persistence."""

    spec: ClassVar[ModelSpec]

    def __init__(self, *, purchase_covariates=None, dropout_covariates=None, shared_covariates=None,
                 spend_covariates=None, covariate_prior_sigma: float = 1.0, correlation: bool = False) -> None:
        """A model, optionally with time-invariant customer covariates.

        Parameters
        ----------
        purchase_covariates, dropout_covariates : sequence of str, optional
            Summary columns (see :func:`clvmodels.join_covariates`) acting on the purchase rate
            and on dropout: ``alpha_i = alpha * exp(-gamma' z_i)`` (purchase), and for
            Pareto/NBD ``beta_i = beta * exp(-gamma' z_i)``, for BG/NBD and MBG/NBD
            ``a_i = a * exp(gamma_a' z_i)``, ``b_i = b * exp(gamma_b' z_i)`` (dropout).
        shared_covariates : sequence of str, optional
            Covariates with one coefficient for both processes (an equality constraint).
        spend_covariates : sequence of str, optional
            Gamma-Gamma: ``gamma_i = gamma * exp(delta' z_i)``, so that a positive coefficient
            means a higher mean spend.
        covariate_prior_sigma : float
            Standard deviation of the coefficients' Normal(0, sigma) prior in :meth:`sample`.
        correlation : bool
            Pareto/NBD: correlate the purchase and dropout rates through the Sarmanov family
            (one more parameter, ``omega``; CLVTools' ``use.cor``), see
            :mod:`clvmodels.models.correlation` and :meth:`rate_correlation`.

        Examples
        --------
        >>> import clvmodels as clv
        >>> clv.ParetoNBD(purchase_covariates=["channel"]).spec.param_names
        ('r', 'alpha', 's', 'beta', 'purchase:channel')
        """
        design = CovariateDesign(purchase=purchase_covariates, dropout=dropout_covariates,
                                 shared=shared_covariates, spend=spend_covariates)
        base = with_correlation(type(self).spec) if correlation else type(self).spec
        if correlation and not design:
            self.spec = base
        if design:
            sigma = check_number("covariate_prior_sigma", covariate_prior_sigma, low=0, where=type(self).__name__)
            if sigma <= 0:
                raise ValueError(f"covariate_prior_sigma must be > 0. Got {covariate_prior_sigma!r} instead.")
            self.spec = with_covariates(base, design, prior_sigma=sigma)

    @property
    def covariates_(self) -> CovariateDesign | None:
        """The covariate design of this model (None without covariates)."""
        return self.spec.covariates

    # ----------------------------------------------------------------- fitted state
    def _require_fit(self) -> Fit:
        fit = self.__dict__.get("fit_")
        if fit is None:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                f"arguments, or build it with {type(self).__name__}.from_params(...), before using this estimator."
            )
        return fit

    def _set_fit(self, fit: Fit) -> Self:
        if fit.spec is not self.spec and fit.spec.name != self.spec.name:
            raise ValueError(f"A {fit.spec.title} fit cannot be held by a {type(self).__name__}.")
        if fit.spec.key != self.spec.key:
            if self.spec.key != type(self).spec.key:
                raise ValueError(f"This {type(self).__name__} is the model {self.spec.key}; the fit is of {fit.spec.key}.")
            self.spec = fit.spec  # a plain estimator takes on the fit's covariates (from_fit, load)
        self.__dict__["fit_"] = fit
        return self

    @property
    def fit_(self) -> Fit:
        """The fitted value: a :class:`~clvmodels.fit.PointFit` or a :class:`~clvmodels.fit.Posterior`."""
        return self._require_fit()

    @property
    def params_(self) -> pd.Series:
        """Parameter estimates, a float Series indexed by name (named "params"); posterior means for a posterior.

        A Series, as lifetimes' ``params_`` is: ``params_.round(4)``, ``params_["r"]``,
        ``params_.items()`` and ``**params_`` work; iterating it yields the values (use
        ``params_.index`` or ``dict(params_)`` for the names). A fresh copy on each access.

        Examples
        --------
        >>> import clvmodels as clv
        >>> clv.BetaGeo.from_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259).params_.round(2)
        r        0.24
        alpha    4.41
        a        0.79
        b        2.43
        Name: params, dtype: float64
        """
        params = self._require_fit().params
        return pd.Series({k: float(v) for k, v in params.items()}, name="params", dtype=float)

    @property
    def se_(self) -> dict[str, float] | None:
        """Standard errors (posterior sds for a posterior); None when unknown."""
        se = self._require_fit().se
        return None if se is None else dict(se)

    @property
    def cov_(self) -> pd.DataFrame | None:
        """Covariance of the maximum-likelihood estimates (None for a posterior or given values)."""
        fit = self._require_fit()
        cov = getattr(fit, "cov", None)
        names = list(self.spec.param_names)
        return None if cov is None else pd.DataFrame(cov, index=names, columns=names)

    @property
    def loglik_(self) -> float | None:
        """Maximised log-likelihood (None for a posterior or given values)."""
        return getattr(self._require_fit(), "loglik", None)

    @property
    def converged_(self) -> bool | None:
        """Whether the optimiser's convergence checks passed (None for a posterior or given values)."""
        return getattr(self._require_fit(), "converged", None)

    @property
    def n_customers_(self) -> float | None:
        """Number of customers the fit was made on (a float with weights)."""
        return self._require_fit().n_customers

    @property
    def unit_(self) -> str | None:
        """Time unit of the data the model was fitted on (``"W"``, ``"D"``, ...), or None if unknown."""
        return self._require_fit().unit

    @property
    def data_fingerprint_(self) -> str | None:
        """Hash of the sufficient statistics fitted on."""
        return self._require_fit().fingerprint

    @property
    def fit_info_(self) -> dict[str, Any]:
        """Facts of the optimiser (iterations, gradient norm, message, distinct rows); empty for a posterior."""
        return dict(getattr(self._require_fit(), "info", {}) or {})

    @property
    def identification_(self) -> list[str]:
        """What these data cannot tell: one plain sentence per weakly identified problem (empty when none).

        A point fit's parameter is weakly identified when its 95 % interval on the log (or
        logit) scale spans more than a factor of 100 (see :mod:`clvmodels.identification`);
        the fit warns with the same sentences (:class:`~clvmodels.errors.IdentificationWarning`).

        Examples
        --------
        >>> import clvmodels as clv
        >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
        ...                     unit="W", calibration_end="1997-09-30")
        >>> clv.BetaGeo().fit(s).identification_  # CDNOW identifies all four BG/NBD parameters
        []
        """
        recorded = self.fit_info_.get("identification")
        return list(recorded) if recorded is not None else identification.check(self)

    @property
    def posterior_(self) -> xr.DataTree | None:
        """The posterior (ArviZ DataTree) after :meth:`sample` or loading one; None for a point fit."""
        fit = self._require_fit()
        return fit.tree if isinstance(fit, Posterior) else None

    def __repr__(self) -> str:
        fit = self.__dict__.get("fit_")
        if fit is None:
            return f"{type(self).__name__}()"
        vals = ", ".join(f"{k}={v:.4g}" for k, v in fit.params.items())
        return f"{type(self).__name__}({vals})"

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_params(cls, params: Mapping[str, float] | None = None, /, *, unit: str | None = None,
                    covariates: CovariateDesign | Mapping | None = None, **values: float) -> Self:
        """Build a model from known parameter values, ready to predict without fitting.

        Parameters
        ----------
        params : mapping, optional
            Parameter values by name; or give them as keyword arguments.
        unit : str, optional
            Time unit the parameters refer to (``"W"`` for the published CDNOW values).
        covariates : CovariateDesign or mapping, optional
            The covariate design (``{"purchase": ["channel"]}``); its coefficients are then
            among the parameters (``{"purchase:channel": 0.2}``).

        Examples
        --------
        >>> import clvmodels as clv
        >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
        >>> round(bg.expected_purchases_new_customer(39), 3)
        1.197
        """
        merged = {**(dict(params) if params is not None else {}), **values}
        spec = with_correlation(cls.spec) if OMEGA in merged else cls.spec
        spec = with_covariates(spec, covariates) if covariates else spec
        return cls.from_fit(PointFit(spec, merged, unit=io.checked_unit(unit)))

    @classmethod
    def from_fit(cls, fit: Fit) -> Self:
        """Wrap a fitted value (a :class:`~clvmodels.fit.PointFit` or :class:`~clvmodels.fit.Posterior`) in its estimator.

        Examples
        --------
        >>> import clvmodels as clv
        >>> from clvmodels.fit import PointFit
        >>> clv.GammaGamma.from_fit(PointFit(clv.GammaGamma.spec, {"p": 6.25, "q": 3.74, "gamma": 15.44}))
        GammaGamma(p=6.25, q=3.74, gamma=15.44)
        """
        return cls()._set_fit(fit)

    def fit(
        self,
        data,
        *,
        weights=None,
        init: Mapping[str, float] | None = None,
        maxiter: int = 2000,
        drop_unfittable: bool = False,
        penalizer: float = 0.0,
        covariate_penalizer: float = 0.0,
        method: str = "mle",
        priors: Mapping[str, Any] | None = None,
    ) -> Self:
        """Estimate the parameters by maximum likelihood (or, with ``method="map"``, the posterior mode).

        Customers with identical sufficient statistics are collapsed to one weighted row
        first, so the cost grows with the number of distinct rows, not of customers.

        Parameters
        ----------
        data : DataFrame
            Summary with one row per customer and the columns the model reads
            (``spec.data_names``), e.g. from :func:`clvmodels.rfm_summary`.
        weights : array-like, optional
            Number of customers each row stands for (aggregated tables).
        init : mapping, optional
            Starting values on the natural scale.
        maxiter : int
            Iteration limit of the optimiser.
        drop_unfittable : bool
            Leave out, with a :class:`~clvmodels.errors.DataWarning` saying how many and why, the
            rows the model cannot be fitted on (Gamma-Gamma: customers without a repeat
            purchase), instead of refusing them. Not with ``weights``.
        penalizer : float
            Coefficient of an L2 penalty on the parameters, as lifetimes' ``penalizer_coef``:
            ``penalizer * sum(params**2)`` is added to the negative mean log-likelihood per
            customer, with the parameters measured in the time unit (``alpha``, ``beta``) taken
            in units of the longest ``T`` (see :func:`clvmodels.inference.mle.fit_mle`; for
            lifetimes' Pareto/NBD divide its coefficient by the number of customers). It pulls
            the estimates toward 0 and can stop a walk to the edge of the parameter space;
            ``loglik_`` stays the unpenalized log-likelihood. 0 (the default) is plain
            maximum likelihood.
        covariate_penalizer : float
            Coefficient of an L2 penalty on the covariates' regression coefficients only
            (CLVTools' ``reg.lambdas``): ``covariate_penalizer * sum(coefficient**2)`` is added
            to the negative mean log-likelihood per customer, the baseline parameters left
            unpenalized (on top of ``penalizer``, which applies to every parameter). It shrinks
            the coefficients toward 0, i.e. toward the model without covariates; a model
            without covariates has no coefficients and is unaffected. 0 (the default): none.
        method : {"mle", "map"}
            ``"mle"``: maximum likelihood. ``"map"``: the mode of the posterior under the
            priors :meth:`sample` would use (each parameter's default prior, or ``priors``),
            found by the same optimiser with the log prior added (PyMC-Marketing's
            ``fit(method="map")``); ``se_`` and ``cov_`` are then those of the Laplace
            approximation at the mode, ``loglik_`` the log-likelihood there.
        priors : mapping, optional
            With ``method="map"``: per-parameter prior overrides, as in :meth:`sample`
            (``("Gamma", {"alpha": 2, "beta": 1})`` or a ``pm.Gamma.dist(...)`` object).

        Returns
        -------
        self
            Holding a :class:`~clvmodels.fit.PointFit` as ``fit_`` (and its views ``params_``,
            ``se_``, ``cov_``, ``loglik_``, ``converged_``, ``n_customers_``).

        Examples
        --------
        >>> import clvmodels as clv
        >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
        ...                     unit="W", calibration_end="1997-09-30")
        >>> clv.GammaGamma().fit(s[s.frequency > 0]).fit_.n_draws
        1
        >>> float(clv.BetaGeo().fit(s, penalizer=0.1).params_["a"].round(3))  # shrunk from 0.793 without the penalty
        0.129
        >>> float(clv.BetaGeo().fit(s, method="map", priors={"a": ("Gamma", {"alpha": 100, "beta": 1000})})
        ...       .params_["a"].round(2))  # pulled from 0.793 toward the prior's mean, 0.1
        0.14
        """
        return self._fit_point(data, weights=weights, init=init, maxiter=maxiter, drop_unfittable=drop_unfittable,
                               penalizer=penalizer, covariate_penalizer=covariate_penalizer, method=method,
                               priors=priors)

    def _fit_point(self, data, *, weights, init, maxiter, drop_unfittable, penalizer, covariate_penalizer=0.0,
                   lower=None, method="mle", priors=None) -> Self:
        """The maximum-likelihood or MAP fit behind :meth:`fit` (``lower``: bounds a model's ``fit`` may add)."""
        maxiter = int(check_number("maxiter", maxiter, low=1, integer=True, where="fit"))
        penalizer = float(check_number("penalizer", penalizer, low=0, where="fit"))
        covariate_penalizer = float(check_number("covariate_penalizer", covariate_penalizer, low=0, where="fit"))
        base = set(self.spec.base_params)
        coefficients = [name for name in self.spec.param_names if name not in base]
        # one objective: each parameter's own L2 coefficient (the coefficients' carry both penalties)
        penalty = ({name: penalizer + (covariate_penalizer if name in coefficients else 0.0)
                    for name in self.spec.param_names} if covariate_penalizer and coefficients else penalizer)
        if method not in ("mle", "map"):
            raise ValueError(f"The 'method' parameter of fit must be 'mle' or 'map' (use sample() for MCMC). Got "
                             f"{method!r} instead.")
        if priors is not None and method != "map":
            raise ValueError("priors= is used by fit(method='map') and sample(); maximum likelihood has no priors. "
                             "Pass method='map', or drop priors.")
        log_prior = bayes.log_prior(self.spec, priors) if method == "map" else None
        if drop_unfittable:
            if weights is not None:
                raise ValueError("drop_unfittable=True cannot be combined with weights; drop the rows yourself.")
            data, n_out, reason = fittable_rows(self.spec, as_summary_frame(data))
            if n_out:
                warnings.warn(f"{n_out} customers left out of the {self.spec.title} fit ({reason}).", DataWarning,
                              stacklevel=2)
        index, arrays, weights = validate_fit_data(self.spec, data, weights)
        unique, counts, _ = compress(arrays, weights)
        if self.spec.covariates is not None and not set(self.spec.base_params) <= set(init or {}):
            init = {**_plain_start(self.spec, arrays, weights), **(init or {})}
        result = mle.fit_mle(self.spec, unique, counts, init=init, maxiter=maxiter, penalizer=penalty, lower=lower,
                             log_prior=log_prior)
        info = {"iterations": result.n_iter, "grad_norm": result.grad_norm, "message": result.message,
                "n_unique_rows": int(len(counts))}
        if method == "map":
            info["method"] = "map"
            info["priors"] = bayes.describe_priors(self.spec, priors)
        if penalizer:
            info["penalizer"] = penalizer
        if covariate_penalizer and coefficients:
            info["covariate_penalizer"] = covariate_penalizer
        if lower:
            info["lower_bounds"] = dict(lower)
        # what the data cannot tell: one plain sentence per weakly identified problem, also when
        # the optimiser converged (a non-converged fit also has its own ConvergenceWarning)
        notes = identification.messages(self.spec, result.params, result.cov, converged=result.converged)
        if notes:
            info["identification"] = notes
        for problem in identification.problems(self.spec, result.params, result.cov, converged=result.converged):
            title, params = self.spec.title, result.params
            warnings.warn(IdentificationWarning(problem.warning(title, params),
                                                cli_message=problem.warning(title, params, cli=True)), stacklevel=3)
        fit = PointFit(
            self.spec, result.params, se=result.se, cov=result.cov, loglik=float(result.loglik),
            converged=result.converged,
            info=info,
            unit=_summary_unit(data), n_customers=float(counts.sum()) if weights is not None else int(len(index)),
            fingerprint=fingerprint(arrays),
        )
        return self._set_fit(fit)

    def _before_sample(self) -> None:
        """Refuse to sample when the model's settings do not define one posterior (none here)."""

    def sample(
        self,
        data,
        *,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        random_seed: int | None = None,
        priors: Mapping[str, Any] | None = None,
        sampler: str = "pymc",
        method: str = "nuts",
        progressbar: bool | None = None,
        weights=None,
        cores: int | None = None,
        target_accept: float = 0.8,
        log_likelihood: bool | None = None,
        **kwargs,
    ) -> Self:
        """Sample the posterior of the parameters with PyMC (Bayesian fit).

        The PyMC model is built from the model's spec: each parameter's default prior (see
        ``docs/pages/bayesian.md``) unless ``priors`` overrides it, and the one log-likelihood,
        evaluated on the distinct summary rows with their counts. Afterwards the same
        prediction calls as after :meth:`fit` return, per customer, the posterior mean, sd and
        HDI (see :mod:`clvmodels.predict`).

        Parameters
        ----------
        data : DataFrame
            Summary with the columns the model reads.
        draws, tune, chains : int
            Draws kept per chain, tuning steps per chain, number of chains.
        random_seed : int, optional
            Seed for reproducible draws.
        priors : mapping, optional
            Per-parameter override: ``("Gamma", {"alpha": 2, "beta": 1})``, a
            ``pm.Gamma.dist(...)`` object, or a callable ``name -> random variable``.
        sampler : {"pymc", "nutpie", "numpyro"}
            NUTS implementation (nutpie / numpyro must be installed).
        method : {"nuts", "advi", "pathfinder"}
            MCMC, or a fast approximation for large data (``chains * draws`` draws from it).
        progressbar : bool, optional
            Default: shown on a terminal, hidden in CI and when output is not a terminal.
        weights : array-like, optional
            Number of customers each row stands for (aggregated tables).
        cores : int, optional
            Processes for the chains (PyMC sampler).
        target_accept : float
            NUTS target acceptance; raise it (0.9-0.99) when there are divergences.
        log_likelihood : bool, optional
            Keep the per-customer log-likelihood for LOO. Default: when it fits in
            :data:`clvmodels.inference.bayes.LOGLIK_MAX_BYTES`.
        **kwargs
            Passed on to ``pm.sample`` (or ``pm.fit`` for ADVI).

        Returns
        -------
        self
            With ``posterior_`` (ArviZ DataTree: posterior, log_likelihood, observed_data,
            sample_stats), ``params_`` (posterior means), ``se_`` (posterior sds).

        Examples
        --------
        >>> import clvmodels as clv
        >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
        ...                     unit="W", calibration_end="1997-09-30")
        >>> gg = clv.GammaGamma().sample(s[s.frequency > 0], draws=500, tune=500, chains=2,
        ...                              random_seed=1, progressbar=False)
        >>> sorted(gg.posterior_.children)
        ['log_likelihood', 'observed_data', 'posterior', 'sample_stats']
        """
        self._before_sample()
        for name, value in (("draws", draws), ("chains", chains)):
            check_number(name, value, low=1, integer=True)
        check_number("tune", tune, low=0, integer=True)
        check_probability("target_accept", target_accept)
        spec = self.spec
        index, arrays, weights = validate_fit_data(spec, data, weights)
        bayes.prior_draws(spec, 200, priors=priors, random_seed=0)  # fail early on a prior off the support
        unique, counts, inverse = compress(arrays, weights)
        tree = bayes.sample_posterior(spec, unique, counts, draws=int(draws), tune=int(tune), chains=int(chains),
                                      cores=cores, random_seed=random_seed, priors=priors, sampler=sampler,
                                      method=method, progressbar=progressbar, target_accept=target_accept, **kwargs)
        n_customers = float(counts.sum()) if weights is not None else int(len(index))
        post = Posterior(spec, tree, unit=_summary_unit(data), n_customers=n_customers, fingerprint=fingerprint(arrays))
        size = bayes.loglik_bytes(post.n_draws, len(index))
        keep_ll = log_likelihood if log_likelihood is not None else size <= bayes.LOGLIK_MAX_BYTES
        if keep_ll:
            ll = bayes.pointwise_loglik(post, unique, inverse, index)
            if weights is not None:
                # a row standing for w customers contributes w times its log-likelihood
                ll = ll * xr.DataArray(weights, dims="customer")
            tree["log_likelihood"] = xr.DataTree(xr.Dataset({"loglik": ll}))
        else:
            logger.info("Per-customer log-likelihood left out of posterior_: %d draws x %d customers would take "
                        "%.0f MiB (> LOGLIK_MAX_BYTES). Pass log_likelihood=True to keep it.",
                        post.n_draws, len(index), size / 2**20)
        tree["observed_data"] = xr.DataTree(bayes.observed_dataset(spec, index, arrays, weights))
        tree.attrs["n_unique_rows"] = int(len(counts))
        self._set_fit(post)
        if method == "nuts":
            warn_if_unconverged(diagnostics_table(tree), spec.title, stacklevel=3)
        return self

    def sample_asymptotic(self, draws: int = 1000, random_seed: int | None = None) -> Self:
        """A copy of this maximum-likelihood fit holding draws from the asymptotic normal of its estimates.

        Every prediction, CLV, customer equity and holdout check of the copy then comes with
        mean, sd and HDI, from the parameter uncertainty of the estimates alone (see
        :meth:`clvmodels.fit.PointFit.sample_asymptotic`): intervals without MCMC, which
        neither PyMC-Marketing's MAP fit nor lifetimes offers.

        Parameters
        ----------
        draws : int
            Number of parameter draws.
        random_seed : int, optional
            Seed for reproducible draws.

        Examples
        --------
        >>> import clvmodels as clv
        >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
        ...                     unit="W", calibration_end="1997-09-30")
        >>> bg = clv.BetaGeo().fit(s).sample_asymptotic(500, random_seed=0)
        >>> e = bg.expected_purchases(s.head(2), t=39)
        >>> e.columns.tolist(), bool((e["hdi_lower"] < e["mean"]).all())
        (['mean', 'sd', 'hdi_lower', 'hdi_upper'], True)
        """
        fit = self._require_fit()
        if not isinstance(fit, PointFit):
            raise ValueError(f"This {type(self).__name__} holds a posterior already; its draws give the intervals.")
        return type(self).from_fit(fit.sample_asymptotic(draws, random_seed=random_seed))

    def diagnostics(self) -> pd.DataFrame:
        """Convergence checks of the posterior: R-hat, bulk/tail ESS, divergences, E-BFMI.

        Returns
        -------
        DataFrame
            Columns ``check``, ``parameter``, ``value``, ``threshold``, ``ok``; see
            :func:`clvmodels.inference.diagnostics.diagnostics_table`.

        Examples
        --------
        >>> import clvmodels as clv
        >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
        ...                     unit="W", calibration_end="1997-09-30")
        >>> gg = clv.GammaGamma().sample(s[s.frequency > 0], draws=500, tune=500, chains=2,
        ...                              random_seed=1, progressbar=False)
        >>> gg.diagnostics()["check"].unique().tolist()
        ['r_hat', 'ess_bulk', 'ess_tail', 'divergences', 'bfmi']
        """
        fit = self._require_fit()
        if not isinstance(fit, Posterior):
            raise ValueError(f"{type(self).__name__} holds no posterior; call sample(...) first.")
        return diagnostics_table(fit.tree)

    # ----------------------------------------------------------------- reporting
    def summary(self, ci: float | None = None) -> pd.DataFrame:
        """Estimates with standard errors and confidence intervals.

        The interval is computed on the unconstrained scale (log for positive parameters) and
        mapped back, so it always lies inside the parameter's support. For a posterior
        (after :meth:`sample`): mean, sd, HDI of probability ``ci``, R-hat and ESS.

        Parameters
        ----------
        ci : float, optional
            Coverage of the interval: by default 0.95 (Wald interval of a maximum-likelihood
            fit) or 0.94 (HDI of a posterior, as every posterior prediction and ArviZ).

        Examples
        --------
        >>> import clvmodels as clv
        >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
        ...                     unit="W", calibration_end="1997-09-30")
        >>> clv.BetaGeo().fit(s).summary().round(3)
               estimate     se  lower 95%  upper 95%
        r         0.243  0.013      0.219      0.268
        alpha     4.414  0.378      3.731      5.221
        a         0.793  0.186      0.501      1.255
        b         2.426  0.705      1.372      4.289
        """
        fit = self._require_fit()
        if isinstance(fit, Posterior):
            return fit.summary(0.94 if ci is None else ci)
        return fit.summary(0.95 if ci is None else ci)

    def log_likelihood(self, data) -> pd.Series:
        """Log-likelihood of each customer's summary at the fitted parameters (posterior means for a posterior).

        Examples
        --------
        >>> import clvmodels as clv
        >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
        ...                     unit="W", calibration_end="1997-09-30")
        >>> round(float(gg.log_likelihood(s[s.frequency > 0]).sum()), 1)
        -4055.9
        """
        fit = self._require_fit()
        index, arrays = self._validated(data, for_fit=True)
        point = PointFit(self.spec, fit.params, unit=fit.unit)
        return predict.per_customer(point, self.spec.loglik, index, arrays, name="loglik")

    # ----------------------------------------------------------------- evaluation
    def _validated(self, data, *, for_fit: bool) -> tuple[pd.Index, dict[str, np.ndarray]]:
        """The summary's customer index and checked columns, after checking its unit agrees with the fit's.

        A summary that records no unit (a table of the user's own) is read in the model's unit.
        """
        return validate_summary(self.spec, data, for_fit=for_fit, unit=self._require_fit().unit)

    def _prediction(self, name: str, scope: str | None = None):
        fn = self.spec.predictions.get(name)
        if fn is None:
            raise AttributeError(
                f"{self.spec.title} has no prediction '{name}'; it offers {', '.join(self.spec.predictions)}."
            )
        if scope is not None and fn.scope != scope:
            raise TypeError(f"{self.spec.title}'s '{name}' is a {fn.scope}-level prediction, not a {scope}-level one.")
        return fn

    def _predict(self, name: str, data, *, hdi_prob: float = 0.94, return_draws: bool = False, **kwargs):
        """A per-customer prediction through the one engine, whatever the fit."""
        fit = self._require_fit()  # an unfitted model says so before any complaint about the data
        hdi_prob = check_probability("hdi_prob", hdi_prob, where=name)
        fn = self._prediction(name, "customer")
        index, arrays = self._validated(data, for_fit=False)
        return predict.per_customer(fit, fn, index, arrays, name=name, hdi_prob=hdi_prob,
                                    return_draws=bool(return_draws), **kwargs)

    def _predict_population(self, name: str, label: str, values, *, hdi_prob: float = 0.94,
                            return_draws: bool = False, covariates: Mapping[str, float] | None = None, **fixed):
        """A population-level prediction over a scalar or a 1-d array argument (already checked).

        In a covariate model it is that of a customer with the ``covariates`` given (0 for
        those left out: the baseline customer)."""
        fit = self._require_fit()
        hdi_prob = check_probability("hdi_prob", hdi_prob, where=name)
        design = fit.spec.covariates
        if covariates is not None:
            if design is None:
                raise ValueError(f"This {type(self).__name__} has no covariates; leave out covariates=.")
            unknown = sorted(set(covariates) - set(design.columns))
            if unknown:
                raise ValueError(f"covariates= names {', '.join(map(repr, unknown))}, which the model does not use; its "
                                 f"covariates are {', '.join(design.columns)}.")
        if design is not None:
            given = dict(covariates or {})
            fixed.update({c: check_number(c, given.get(c, 0.0), where=name) for c in design.columns})
        return predict.population(fit, self._prediction(name, "population"), label, values, name=name, hdi_prob=hdi_prob,
                                  return_draws=bool(return_draws), **fixed)

    # ----------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """Plain-data form of a fitted point estimate (what :meth:`save` writes as JSON).

        Examples
        --------
        >>> import clvmodels as clv
        >>> clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44).to_dict()["params"]
        {'p': 6.25, 'q': 3.74, 'gamma': 15.44}
        """
        fit = self._require_fit()
        if not isinstance(fit, PointFit):
            raise ValueError("A posterior has no JSON form; save it with .save('model.nc') (NetCDF).")
        return io.point_fit_to_dict(fit)

    def save(self, path: str | Path) -> Path:
        """Write the fitted model: JSON for a point fit, NetCDF-4 for a posterior (no code is stored).

        Examples
        --------
        >>> import clvmodels as clv, tempfile, os
        >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
        >>> path = bg.save(os.path.join(tempfile.mkdtemp(), "bg.json"))
        >>> clv.load_model(path).params_.equals(bg.params_)
        True
        """
        return io.save_fit(self._require_fit(), path)

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> Self:
        """Rebuild a model from :meth:`to_dict` output, refusing other models and formats.

        Examples
        --------
        >>> import clvmodels as clv
        >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> clv.GammaGamma.from_dict(gg.to_dict()).params_.equals(gg.params_)
        True
        """
        return cls.from_fit(io.point_fit_from_dict(payload, expect=cls.spec.name))

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by :meth:`save` (JSON point estimate or NetCDF posterior).

        Examples
        --------
        >>> import clvmodels as clv, tempfile, os
        >>> path = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44).save(os.path.join(tempfile.mkdtemp(), "g.json"))
        >>> float(clv.GammaGamma.load(path).params_["p"])
        6.25
        """
        return cls.from_fit(io.read_fit(path, expect=cls.spec.name))


class TransactionModel(CLVModel):
    """Models of the purchase process: expected purchases, P(alive), P(X(t) = n)."""

    def expected_purchases(self, data, t: float, *, hdi_prob: float = 0.94, return_draws: bool = False):
        """Expected number of purchases in the next ``t`` time units, per customer, given each history.

        Parameters
        ----------
        data : DataFrame
            Summary with ``frequency``, ``recency`` and ``T`` (one row per customer).
        t : float
            Length of the forecast period, in the summary's time unit.
        hdi_prob : float
            Posterior only: probability of the highest-density interval.
        return_draws : bool
            Posterior only: return the draws (xarray DataArray) instead of the summary.

        Returns
        -------
        Series or DataFrame
            Indexed by customer id; from a posterior a DataFrame with ``mean``, ``sd``,
            ``hdi_lower``, ``hdi_upper``.

        Examples
        --------
        >>> import clvmodels as clv
        >>> import pandas as pd
        >>> bg = clv.BetaGeo.from_params(r=0.2425945, alpha=4.4136019, a=0.7929199, b=2.4258881)
        >>> s = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
        >>> bg.expected_purchases(s, t=39).round(3).tolist()
        [1.226]
        """
        t = check_number("t", t, low=0, where="expected_purchases")
        return self._predict("expected_purchases", data, t=t, hdi_prob=hdi_prob, return_draws=return_draws)

    def probability_alive(self, data, *, hdi_prob: float = 0.94, return_draws: bool = False):
        """Probability that each customer is still active at the end of observation.

        Parameters
        ----------
        data : DataFrame
            Summary with the columns the model reads.
        hdi_prob : float
            Posterior only: probability of the highest-density interval.
        return_draws : bool
            Posterior only: return the draws (xarray DataArray) instead of the summary.

        Examples
        --------
        >>> import clvmodels as clv
        >>> import pandas as pd
        >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> s = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86]})
        >>> bg.probability_alive(s).round(3).tolist()
        [1.0, 0.727]
        """
        return self._predict("probability_alive", data, hdi_prob=hdi_prob, return_draws=return_draws)

    def probability_of_purchases(self, n, t: float, *, hdi_prob: float = 0.94, return_draws: bool = False,
                                 covariates: Mapping[str, float] | None = None):
        """P(X(t) = n): probability that a customer just acquired makes ``n`` purchases in ``t``.

        Parameters
        ----------
        n : int or array of int
            Number(s) of purchases.
        t : float
            Length of the period.
        hdi_prob : float
            Posterior only: probability of the highest-density interval.
        return_draws : bool
            Posterior only: return the draws (xarray DataArray) instead of the summary.
        covariates : mapping, optional
            A covariate model: the new customer's covariate values (``{"channel": 1}``); those
            left out are 0, so without it this is the baseline customer.

        Returns
        -------
        float, or Series indexed by ``n``
            From a posterior: a Series (mean, sd, hdi_lower, hdi_upper) for scalar ``n``, or
            a DataFrame indexed by ``n``.

        Examples
        --------
        >>> import clvmodels as clv
        >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> p = bg.probability_of_purchases(range(3), t=39)
        >>> p.index.tolist(), bool(p.is_monotonic_decreasing)
        ([0.0, 1.0, 2.0], True)
        """
        counts = check_numbers("n", n, low=0, integer=True, where="probability_of_purchases")
        t = check_number("t", t, low=0, where="probability_of_purchases")
        return self._predict_population("probability_of_purchases", "n", counts, t=t, hdi_prob=hdi_prob,
                                        return_draws=return_draws, covariates=covariates)

    def conditional_probability_of_purchases(self, data, n, t: float, *, hdi_prob: float = 0.94,
                                             return_draws: bool = False):
        """P(n purchases in the next ``t`` | each customer's history).

        A customer is inactive (no purchase) with probability 1 - P(alive); an active one is,
        from the end of observation on, a new customer with the parameters her history implies.

        Parameters
        ----------
        data : DataFrame
            Summary with the columns the model reads (one row per customer).
        n : int or sequence of int
            Number(s) of purchases.
        t : float
            Length of the forecast period, in the summary's time unit (opportunities for BG/BB).
        hdi_prob : float
            Posterior only: probability of the highest-density interval.
        return_draws : bool
            Return the draws (xarray DataArray, with an ``n`` dim for a sequence) instead.

        Returns
        -------
        Series or DataFrame
            For a scalar ``n``: a Series per customer (from a posterior, a DataFrame with mean,
            sd, hdi_lower, hdi_upper). For a sequence: a DataFrame with one column per ``n``
            (from a posterior, columns (n, statistic)).

        Examples
        --------
        >>> import clvmodels as clv, pandas as pd
        >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> s = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86]})
        >>> p = bg.conditional_probability_of_purchases(s, n=[0, 1, 2], t=39)
        >>> p.round(3).to_numpy().tolist()
        [[0.855, 0.11, 0.024], [0.445, 0.239, 0.144]]
        """
        counts = check_numbers("n", n, low=0, integer=True, where="conditional_probability_of_purchases")
        t = check_number("t", t, low=0, where="conditional_probability_of_purchases")
        name = "conditional_probability_of_purchases"
        if counts.ndim == 0:
            return self._predict(name, data, n=counts, t=t, hdi_prob=hdi_prob, return_draws=return_draws)
        columns = {int(k): self._predict(name, data, n=np.asarray(k), t=t, hdi_prob=hdi_prob, return_draws=return_draws)
                   for k in counts}
        if return_draws:
            return xr.concat(list(columns.values()), dim=pd.Index(list(columns), name="n"))
        frame = pd.concat(columns, axis=1, names=["n"])
        frame.attrs.update({"quantity": name, "t": t})
        return frame

    def discounted_expected_transactions(self, data, discount_rate: float, *, hdi_prob: float = 0.94,
                                         return_draws: bool = False):
        """DERT per customer: discounted expected residual transactions, in closed form.

        Offered by the models whose spec has the ``discounted_expected_transactions``
        prediction. The rate is the model's: continuous per time unit of the summary for
        BG/NBD and Pareto/NBD, per opportunity (discrete) for BG/BB.

        Parameters
        ----------
        data : DataFrame
            Summary with the columns the model reads.
        discount_rate : float
            Discount rate, as above (> 0).
        hdi_prob, return_draws : float, bool
            Posterior only: HDI probability; return the draws instead.

        Examples
        --------
        >>> import clvmodels as clv, pandas as pd
        >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> s = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86]})
        >>> bg.discounted_expected_transactions(s, discount_rate=0.0027).round(2).tolist()
        [1.02, 5.16]
        """
        rate = check_number("discount_rate", discount_rate, low=0, low_open=True, where="discounted_expected_transactions")
        return self._predict("discounted_expected_transactions", data, discount_rate=rate, hdi_prob=hdi_prob,
                             return_draws=return_draws)

    def rate_correlation(self, *, hdi_prob: float = 0.94):
        """Corr(purchase rate, dropout rate) of a model fitted with ``correlation=True``.

        A float for a point fit; for a posterior a Series of mean, sd and HDI bounds.

        Examples
        --------
        >>> import clvmodels as clv
        >>> m = clv.ParetoNBD.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669, omega=10.0)
        >>> round(m.rate_correlation(), 4)
        0.0357
        """
        fit = self._require_fit()
        if OMEGA not in fit.spec.param_names:
            raise ValueError(f"This {type(self).__name__} has independent purchase and dropout rates; fit it with "
                             f"{type(self).__name__}(correlation=True) to estimate their correlation.")
        draws = predict.flat_draws(fit)
        value = correlation(backend.numpy, *(np.asarray(draws[k], dtype=float) for k in ("r", "alpha", "s", "beta", OMEGA)))
        if fit.n_draws == 1:
            return float(np.ravel(value)[0])
        stats = summarize(np.reshape(value, (-1, 1)), check_probability("hdi_prob", hdi_prob))
        return pd.Series({k: float(v[0]) for k, v in stats.items()}, name="rate_correlation")

    def expected_purchases_new_customer(self, t, *, hdi_prob: float = 0.94, return_draws: bool = False,
                                        covariates: Mapping[str, float] | None = None):
        """E[X(t)]: expected purchases in the first ``t`` time units of a customer just acquired.

        Parameters
        ----------
        t : float or array
            Length(s) of the period.
        hdi_prob : float
            Posterior only: probability of the highest-density interval.
        return_draws : bool
            Posterior only: return the draws (xarray DataArray) instead of the summary.
        covariates : mapping, optional
            A covariate model: the new customer's covariate values (``{"channel": 1}``); those
            left out are 0, so without it this is the baseline customer.

        Examples
        --------
        >>> import clvmodels as clv
        >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> bg.expected_purchases_new_customer([13.0, 39.0]).round(3).tolist()
        [0.534, 1.197]
        """
        t = check_numbers("t", t, low=0, where="expected_purchases_new_customer")
        return self._predict_population("expected_purchases_new_customer", "t", t, hdi_prob=hdi_prob,
                                        return_draws=return_draws, covariates=covariates)


class SpendModel(CLVModel):
    """Models of the value of transactions."""

    def expected_spend(self, data, *, hdi_prob: float = 0.94, return_draws: bool = False):
        """Expected value of a customer's future transactions, given the spend history.

        Parameters
        ----------
        data : DataFrame
            Summary with ``frequency`` and ``monetary_value``.
        hdi_prob : float
            Posterior only: probability of the highest-density interval.
        return_draws : bool
            Posterior only: return the draws (xarray DataArray) instead of the summary.

        Examples
        --------
        >>> import clvmodels as clv
        >>> import pandas as pd
        >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> gg.expected_spend(pd.DataFrame({"frequency": [0, 3], "monetary_value": [0.0, 20.0]})).round(2).tolist()
        [35.22, 21.94]
        """
        return self._predict("expected_spend", data, hdi_prob=hdi_prob, return_draws=return_draws)


# --------------------------------------------------------------------------- the models
class BetaGeo(TransactionModel):
    """BG/NBD model of repeat buying (Fader, Hardie & Lee 2005).

    Parameters ``r, alpha`` (gamma heterogeneity of purchase rates) and ``a, b`` (beta
    heterogeneity of the dropout probability). Fit by :meth:`fit` (maximum likelihood) or
    build from known values with :meth:`from_params`.

    Examples
    --------
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> bg = clv.BetaGeo().fit(s)
    >>> {k: round(v, 3) for k, v in bg.params_.items()}
    {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
    >>> round(bg.loglik_, 1)
    -9582.4
    """

    spec = bgnbd.SPEC


class ParetoNBD(TransactionModel):
    """Pareto/NBD model of repeat buying (Schmittlein, Morrison & Colombo 1987).

    Parameters ``r, alpha`` (gamma heterogeneity of purchase rates) and ``s, beta`` (gamma
    heterogeneity of dropout rates). Fitted by maximum likelihood with standard errors.

    Examples
    --------
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> pnbd = clv.ParetoNBD().fit(s)
    >>> {k: round(v, 3) for k, v in pnbd.params_.items()}
    {'r': 0.553, 'alpha': 10.578, 's': 0.606, 'beta': 11.669}
    >>> round(pnbd.loglik_, 1)
    -9595.0
    """

    spec = pareto_nbd.SPEC


class ModifiedBetaGeo(TransactionModel):
    """MBG/NBD model of repeat buying (Batislam, Denizel & Filiztekin 2007).

    Like :class:`~clvmodels.BetaGeo`, but customers may drop out right after their first
    purchase, so P(alive) of a customer with no repeat purchase is below 1.

    Examples
    --------
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> mbg = clv.ModifiedBetaGeo().fit(s)
    >>> {k: round(v, 3) for k, v in mbg.params_.items()}
    {'r': 0.525, 'alpha': 6.183, 'a': 0.891, 'b': 1.614}
    >>> round(mbg.loglik_, 1)
    -9582.1
    """

    spec = mbgnbd.SPEC


class GGompertzNBD(TransactionModel):
    """GGompertz/NBD: Poisson purchases and gamma-Gompertz lifetimes (Bemmaor & Glady 2012).

    Pareto/NBD with a dropout hazard that may change with age (``b``); ``b -> 0`` is the
    Pareto/NBD. The same calls as :class:`ParetoNBD` except DERT and the pmf, which have no
    closed form here.

    Examples
    --------
    >>> import clvmodels as clv
    >>> gg = clv.GGompertzNBD.from_params(r=0.553, alpha=10.578, b=0.0002, s=0.603, beta=0.0026, unit="W")
    >>> round(gg.expected_purchases_new_customer(39), 3)
    1.256
    """

    spec = ggompertz_nbd.SPEC


class _ErlangModel(TransactionModel):
    """Base of the (M)BG/CNBD-k models: the Erlang order ``k`` is an option, or chosen by likelihood."""

    def __init__(self, k: int | str = 2) -> None:
        super().__init__()
        if k == "auto":
            self.k = "auto"
            return
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"The 'k' parameter of {type(self).__name__} must be a whole number >= 1 (the Erlang "
                             f"order of the inter-purchase times) or 'auto'. Got {k!r} instead.")
        self.k = int(k)
        if self.k != cnbdk.k_of(type(self).spec):
            self.spec = cnbdk.with_k(type(self).spec, self.k)

    @classmethod
    def from_params(cls, params: Mapping[str, float] | None = None, /, *, k: int = 2, unit: str | None = None,
                    **values: float) -> Self:
        """Build a model from known parameter values and Erlang order ``k``, ready to predict without fitting.

        Examples
        --------
        >>> import clvmodels as clv
        >>> m = clv.ModifiedBetaGeoCNBD.from_params(r=0.85, alpha=1.45, a=0.79, b=2.42, k=3, unit="W")
        >>> m.k_, round(m.expected_purchases_new_customer(36.0), 3)
        (3, 2.719)
        """
        merged = {**(dict(params) if params is not None else {}), **values}
        model = cls(k=k)
        return model._set_fit(PointFit(model.spec, merged, unit=io.checked_unit(unit)))

    @property
    def k_(self) -> int:
        """The Erlang order of the fitted (or given) model: the one chosen when ``k="auto"``."""
        return cnbdk.k_of(self._require_fit().spec)

    @property
    def k_logliks_(self) -> pd.Series | None:
        """Maximised log-likelihood by ``k`` of a ``k="auto"`` fit, in the order tried (None otherwise).

        The search stops, as BTYDplus's does, once the log-likelihood has fallen twice in a row
        or a fit fails; ``k_`` is the ``k`` of the largest value.
        """
        table = self.fit_info_.get("k_logliks")
        if table is None:
            return None
        return pd.Series({int(k): float(v) for k, v in table.items()}, name="loglik", dtype=float).rename_axis("k")

    def __repr__(self) -> str:
        fit = self.__dict__.get("fit_")
        if fit is None:
            return f"{type(self).__name__}()" if self.k == 2 else f"{type(self).__name__}(k={self.k!r})"
        vals = ", ".join(f"{k}={v:.4g}" for k, v in fit.params.items())
        return f"{type(self).__name__}(k={cnbdk.k_of(fit.spec)}, {vals})"

    def _set_fit(self, fit: Fit) -> Self:
        if fit.spec.name == self.spec.name and fit.spec.key != self.spec.key and self.k in ("auto", 2):
            self.spec = type(self).spec  # an 'auto' (or default) model takes on the k of the fit it is given
        super()._set_fit(fit)
        if self.k != "auto":
            self.k = cnbdk.k_of(fit.spec)  # a loaded model's option names the k its file holds
        return self

    def fit(self, data, *, weights=None, init: Mapping[str, float] | None = None, maxiter: int = 2000,
            drop_unfittable: bool = False, penalizer: float = 0.0, covariate_penalizer: float = 0.0,
            method: str = "mle", priors: Mapping[str, Any] | None = None) -> Self:
        """Estimate ``r, alpha, a, b`` by maximum likelihood at the model's ``k``, or choose ``k`` too.

        The arguments are those of :meth:`CLVModel.fit`. The summary needs ``litt``
        (``rfm_summary(..., regularity=True)``). With ``k="auto"`` the model is fitted for
        k = 1, 2, ... up to 12 (BTYDplus's grid), stopping once the log-likelihood has fallen
        twice in a row or a fit fails, and keeps the ``k`` of the largest log-likelihood:
        ``k_`` and, per ``k`` tried, ``k_logliks_``. The warnings of the fit kept are repeated;
        those of the others are not.

        Examples
        --------
        >>> import clvmodels as clv
        >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
        ...                     unit="W", calibration_end="1997-09-30", regularity=True)
        >>> m = clv.ModifiedBetaGeoCNBD(k="auto").fit(s)
        >>> m.k_, m.k_logliks_.round(1).to_dict()  # CDNOW: no regularity (BTYDplus's demo finds k = 1 too)
        (1, {1: -9582.1, 2: -9853.3, 3: -10394.4})
        """
        kwargs = {"init": init, "maxiter": maxiter, "drop_unfittable": drop_unfittable, "penalizer": penalizer,
                  "covariate_penalizer": covariate_penalizer, "method": method, "priors": priors}
        if self.k != "auto":
            return super().fit(data, weights=weights, **kwargs)
        validate_fit_data(type(self).spec, data, weights)  # a data problem is reported once, before any fit
        fits: dict[int, tuple[Fit, list]] = {}
        for k in range(1, cnbdk.K_MAX + 1):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    fit = type(self)(k=k).fit(data, weights=weights, **kwargs).fit_
                except (ConvergenceError, ArithmeticError):
                    if not fits:
                        raise
                    break  # BTYDplus stops the grid where a fit fails
            fits[k] = (fit, list(caught))
            lls = [f.loglik for f, _ in fits.values()]
            if len(lls) > 2 and lls[-1] < lls[-2] < lls[-3]:
                break
        best = max(fits, key=lambda k: fits[k][0].loglik)
        fit, caught = fits[best]
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        info = {**fit.info, "k_logliks": {k: float(f.loglik) for k, (f, _) in fits.items()}}
        return self._set_fit(dataclasses.replace(fit, info=info))

    def _before_sample(self) -> None:
        # the posterior is for one k: choosing k is a likelihood comparison, done by fit
        if self.k == "auto":
            raise ValueError(f"sample() needs a fixed k: choose it by maximum likelihood first, "
                             f"m = {type(self).__name__}(k='auto').fit(summary), then "
                             f"{type(self).__name__}(k=m.k_).sample(summary).")


class BetaGeoCNBD(_ErlangModel):
    """BG/CNBD-k: BG/NBD with Erlang-k inter-purchase times (Reutterer, Platzer & Schroeder 2020).

    Regular buyers: while alive, a customer's times between purchases are Erlang-k with rate
    ``lambda ~ Gamma(r, alpha)`` (every k-th event of a Poisson process), and after each
    purchase she drops out with probability ``p ~ Beta(a, b)``. ``k = 1`` is the BG/NBD.
    Parameters as BTYDplus's ``bgcnbd.EstimateParameters``; the summary needs ``litt``
    (``rfm_summary(..., regularity=True)``).

    Parameters
    ----------
    k : int or "auto"
        The Erlang order (default 2), or ``"auto"`` to choose it by maximum likelihood.

    Examples
    --------
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30", regularity=True)
    >>> bg1 = clv.BetaGeoCNBD(k=1).fit(s)  # k = 1 is the BG/NBD
    >>> {k: round(v, 3) for k, v in bg1.params_.items()}, round(bg1.loglik_, 1)
    ({'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}, -9582.4)
    """

    spec = cnbdk.BG_SPEC


class ModifiedBetaGeoCNBD(_ErlangModel):
    """MBG/CNBD-k: MBG/NBD with Erlang-k inter-purchase times (Reutterer, Platzer & Schroeder 2020).

    As :class:`BetaGeoCNBD`, but a customer may also drop out right after her first purchase,
    as in the MBG/NBD (``k = 1``). Parameters as BTYDplus's ``mbgcnbd.EstimateParameters``.

    Parameters
    ----------
    k : int or "auto"
        The Erlang order (default 2), or ``"auto"`` to choose it by maximum likelihood.

    Examples
    --------
    >>> import clvmodels as clv
    >>> m = clv.ModifiedBetaGeoCNBD.from_params(r=0.85, alpha=1.45, a=0.79, b=2.42, k=3)
    >>> import pandas as pd
    >>> s = pd.DataFrame({"frequency": [0, 4], "recency": [0.0, 20.0], "T": [36.0, 36.0], "litt": [0.0, 5.5]})
    >>> m.probability_alive(s).round(3).tolist()
    [0.329, 0.125]
    """

    spec = cnbdk.MBG_SPEC


class BetaGeoBetaBinom(TransactionModel):
    """BG/BB model of discrete-time repeat transactions (Fader, Hardie & Shang 2010).

    Input: one row per customer with ``frequency``, ``recency`` and ``n_periods``, or an
    aggregated table with a count per row passed as ``fit(table, weights=table["count"])``.
    ``t`` in the predictions counts future opportunities.

    Examples
    --------
    >>> import clvmodels as clv
    >>> d = clv.datasets.load_donations()
    >>> bgbb = clv.BetaGeoBetaBinom().fit(d, weights=d["count"])
    >>> {k: round(v, 3) for k, v in bgbb.params_.items()}
    {'alpha': 1.204, 'beta': 0.75, 'gamma': 0.657, 'delta': 2.783}
    >>> round(bgbb.loglik_, 1)
    -33225.6
    """

    spec = bgbb.SPEC

    def probability_alive(self, data, periods_ahead: int = 1, *, hdi_prob: float = 0.94, return_draws: bool = False):
        """P(alive at opportunity n + ``periods_ahead``) for each customer, given the history (x, t_x, n).

        Parameters
        ----------
        data : DataFrame
            Summary with ``frequency``, ``recency``, ``n_periods``.
        periods_ahead : int
            m >= 0: the probability that the customer is still alive at opportunity n + m
            (lifetimes' ``m_periods_in_future``). The default 1 is the next opportunity
            (equation 11 of Fader, Hardie & Shang 2010); 0 is alive through the n observed.
        hdi_prob, return_draws
            Posterior only, as in :meth:`TransactionModel.probability_alive`.

        Examples
        --------
        >>> import clvmodels as clv, pandas as pd
        >>> m = clv.BetaGeoBetaBinom.from_params(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> h = pd.DataFrame({"frequency": [6, 3], "recency": [6, 4], "n_periods": [6, 6]})
        >>> m.probability_alive(h).round(4).tolist()
        [0.9304, 0.4395]
        >>> m.probability_alive(h, periods_ahead=5).round(4).tolist()
        [0.7403, 0.3497]
        """
        ahead = check_number("periods_ahead", periods_ahead, low=0, integer=True, where="probability_alive")
        return self._predict("probability_alive", data, hdi_prob=hdi_prob, return_draws=return_draws,
                             periods_ahead=float(ahead))


class GammaGamma(SpendModel):
    """Gamma-Gamma model of the value of repeat transactions (Fader & Hardie 2013).

    Fit it on customers with at least one repeat purchase (``summary[summary.frequency > 0]``);
    it predicts for every customer, giving the population mean to those without one.

    Examples
    --------
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> gg = clv.GammaGamma().fit(s[s["frequency"] > 0])
    >>> {k: round(v, 2) for k, v in gg.params_.items()}
    {'p': 6.25, 'q': 3.74, 'gamma': 15.44}
    >>> round(float(gg.expected_spend(s).iloc[0]), 2)
    24.65
    """

    spec = gamma_gamma.SPEC

    def fit(
        self,
        data,
        *,
        weights=None,
        init: Mapping[str, float] | None = None,
        maxiter: int = 2000,
        drop_unfittable: bool = False,
        penalizer: float = 0.0,
        covariate_penalizer: float = 0.0,
        q_constraint: bool = False,
        method: str = "mle",
        priors: Mapping[str, Any] | None = None,
    ) -> Self:
        r"""Estimate ``p, q, gamma`` by maximum likelihood, optionally with ``q >= 1``.

        The arguments are those of :meth:`CLVModel.fit`, plus ``q_constraint``.

        Parameters
        ----------
        q_constraint : bool
            Keep ``q >= 1`` (lifetimes' ``q_constraint=True``). With ``q <= 1`` the population
            mean spend :math:`p\gamma/(q-1)` does not exist, and neither does the expected spend
            of a customer with ``p x + q <= 1`` (returned as ``inf``); the constraint buys finite
            values at the price of a fit the data may not support: when it binds, the estimate
            sits at ``q = 1`` (held there, with zero variance), where the population mean is
            still infinite, and ``fit_info_["lower_bounds"]`` records it.

        Examples
        --------
        >>> import clvmodels as clv
        >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
        ...                     unit="W", calibration_end="1997-09-30")
        >>> rb = s[s.frequency > 0]
        >>> float(clv.GammaGamma().fit(rb, penalizer=0.1).params_["q"].round(3))
        0.336
        >>> float(clv.GammaGamma().fit(rb, penalizer=0.1, q_constraint=True).params_["q"].round(3))
        1.0
        """
        return self._fit_point(data, weights=weights, init=init, maxiter=maxiter, drop_unfittable=drop_unfittable,
                               penalizer=penalizer, covariate_penalizer=covariate_penalizer,
                               lower={"q": 1.0} if q_constraint else None, method=method, priors=priors)


class ContractualModel(CLVModel):
    """Base of the models of contract renewals: cohort survival, retention, churn and DERL.

    Fit on individual renewal data (``period``, ``churned``, one row per customer) or on a
    cohort's survival table via :meth:`fit_survival`.
    """

    def fit_survival(self, survival, n_customers: int, **kwargs):
        """Fit from a cohort's survival table (shares with ``n_customers``, or counts).

        Examples
        --------
        >>> import clvmodels as clv
        >>> m = clv.ShiftedBetaGeo().fit_survival([.631, .468, .382, .326, .289, .262, .241], n_customers=1000)
        >>> m.params_.round(3).tolist()
        [0.704, 1.182]
        """
        table = renewals_from_survival(survival, n_customers)
        return self.fit(table, weights=table["count"].to_numpy(dtype=float), **kwargs)

    def survival(self, t, *, hdi_prob: float = 0.94, return_draws: bool = False):
        """S(t): share of a new cohort still active after ``t`` periods (float or Series by t).

        Examples
        --------
        >>> import clvmodels as clv
        >>> clv.ShiftedBetaGeo.from_params(alpha=0.668, beta=3.806).survival(0)
        1.0
        """
        t = check_numbers("t", t, low=0, where="survival")
        return self._predict_population("survival", "t", t, hdi_prob=hdi_prob, return_draws=return_draws)

    def retention_rate(self, t, *, hdi_prob: float = 0.94, return_draws: bool = False):
        """r(t) = S(t)/S(t-1): the retention rate of period ``t`` (rises with t).

        Examples
        --------
        >>> import clvmodels as clv
        >>> clv.ShiftedBetaGeo.from_params(alpha=0.668, beta=3.806).retention_rate([1, 10]).round(3).tolist()
        [0.851, 0.95]
        """
        t = check_numbers("t", t, low=1, where="retention_rate")
        return self._predict_population("retention_rate", "t", t, hdi_prob=hdi_prob, return_draws=return_draws)

    def churn_probability(self, t, *, hdi_prob: float = 0.94, return_draws: bool = False):
        """P(T = t): share of a new cohort churning in period ``t``.

        Examples
        --------
        >>> import clvmodels as clv
        >>> round(clv.ShiftedBetaGeo.from_params(alpha=0.668, beta=3.806).churn_probability(1), 3)
        0.149
        """
        t = check_numbers("t", t, low=0, where="churn_probability")
        return self._predict_population("churn_probability", "t", t, hdi_prob=hdi_prob, return_draws=return_draws)

    def discounted_expected_residual_lifetime(self, discount_rate: float, renewals=0, *,
                                              hdi_prob: float = 0.94, return_draws: bool = False):
        """DERL: discounted expected residual lifetime (in periods) after ``renewals`` renewals.

        Examples
        --------
        >>> import clvmodels as clv
        >>> m = clv.ShiftedBetaGeo.from_params(alpha=0.668, beta=3.806)
        >>> m.discounted_expected_residual_lifetime(0.1, renewals=[0, 4]).round(2).tolist()
        [5.41, 6.9]
        """
        where = "discounted_expected_residual_lifetime"
        rate = check_number("discount_rate", discount_rate, low=0, low_open=True, where=where)
        renewals = check_numbers("renewals", renewals, low=0, integer=True, where=where)
        return self._predict_population(where, "renewals", renewals, discount_rate=rate, hdi_prob=hdi_prob,
                                        return_draws=return_draws)


class ShiftedBetaGeo(ContractualModel):
    """Shifted-beta-geometric model of contract renewals (Fader & Hardie 2007).

    Fit on individual renewal data (``period``, ``churned``, one row per customer) or on a
    cohort's survival table via :meth:`fit_survival`.

    Examples
    --------
    >>> import clvmodels as clv
    >>> sbg = clv.ShiftedBetaGeo().fit_survival([.869, .743, .653, .593, .551, .517, .491], n_customers=1000)
    >>> {k: round(v, 3) for k, v in sbg.params_.items()}
    {'alpha': 0.668, 'beta': 3.806}
    >>> sbg.survival([1, 2]).round(3).tolist()
    [0.851, 0.747]
    """

    spec = sbg.SPEC


class BetaDiscreteWeibull(ContractualModel):
    """Beta-discrete-Weibull model of contract renewals with duration dependence (Fader et al. 2018).

    The sBG with each customer's churn probability changing with tenure (``c < 1``: falling);
    ``c = 1`` is the sBG. The same data and calls as :class:`ShiftedBetaGeo`.

    Examples
    --------
    >>> import clvmodels as clv
    >>> bdw = clv.BetaDiscreteWeibull().fit_survival([.869, .743, .653, .593, .551, .517, .491], n_customers=1000)
    >>> bdw.converged_, bool(bdw.loglik_ >= clv.ShiftedBetaGeo().fit_survival(
    ...     [.869, .743, .653, .593, .551, .517, .491], n_customers=1000).loglik_)
    (True, True)
    """

    spec = bdw.SPEC


# --------------------------------------------------------------------------- registry
#: Every model class by its ``spec.name`` (what JSON files and the CLI call it).
REGISTRY: dict[str, type[CLVModel]] = {
    cls.spec.name: cls for cls in (BetaGeo, GammaGamma, ParetoNBD, ModifiedBetaGeo, BetaGeoBetaBinom, ShiftedBetaGeo,
                                   BetaDiscreteWeibull, GGompertzNBD, BetaGeoCNBD, ModifiedBetaGeoCNBD)
}


def get_model(name: str) -> type[CLVModel]:
    """The model class registered under ``name`` or an alias (``"bgnbd"``, ``"BG/NBD"``, ``"gg"``, ...).

    Examples
    --------
    >>> get_model("bgnbd").__name__
    'BetaGeo'
    """
    return REGISTRY[get_spec(name).name]


def load_model(path: str | Path) -> CLVModel:
    """Load a model saved with ``model.save(path)``, whichever model it is.

    JSON files hold point estimates; NetCDF-4 files hold posteriors (written after
    ``model.sample``). Nothing is unpickled; a file that is not a valid clvmodels model
    raises :class:`~clvmodels.errors.ModelFileError` naming the file and the field.

    Examples
    --------
    >>> import clvmodels as clv, tempfile, os
    >>> path = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44).save(os.path.join(tempfile.mkdtemp(), "gg.json"))
    >>> load_model(path)
    GammaGamma(p=6.25, q=3.74, gamma=15.44)
    """
    fit = io.read_fit(path)
    return REGISTRY[fit.spec.name].from_fit(fit)
