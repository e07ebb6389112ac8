"""The estimator contract every clvmodels model follows.

``Model()`` takes only options; ``fit(summary)`` returns the model; learned state ends in
``_`` (``params_``, ``se_``, ``cov_``, ``loglik_``, ``converged_``); predictions are named the
same for every model and evaluate the model module's one definition of each quantity.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import stats

from clvmodels import backend
from clvmodels.data.compress import compress
from clvmodels.data.validation import validate_fit_data, validate_summary
from clvmodels.errors import ModelFileError, NotFittedError
from clvmodels.models.spec import ModelSpec, validate_params

__all__ = ["CLVModel", "TransactionModel", "SpendModel", "FORMAT_VERSION"]

#: Version of the JSON file layout written by :meth:`CLVModel.save`.
FORMAT_VERSION = 1


def _purchase_counts(n) -> np.ndarray:
    """``n`` of P(X = n) as floats, after checking they are non-negative whole numbers."""
    counts = np.asarray(n, dtype=float)
    if counts.ndim > 1 or not np.all(np.isfinite(counts) & (counts >= 0) & (counts == np.floor(counts))):
        raise ValueError(f"n must be a non-negative whole number or a 1-d sequence of them; got {n!r}.")
    return counts


def _horizon(t) -> float:
    """The forecast length ``t``, checked to be a finite number >= 0."""
    value = float(t)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"t must be a finite length of time >= 0 (in the summary's unit); got {t!r}.")
    return value


def _package_version() -> str:
    from clvmodels import __version__

    return __version__


def fingerprint(arrays: Mapping[str, np.ndarray]) -> str:
    """A short hash of the sufficient statistics, to tell which data a fit came from."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(np.ascontiguousarray(arrays[name], dtype=float).tobytes())
    return h.hexdigest()[:16]


class CLVModel:
    """Base of all clvmodels models: fitting by maximum likelihood, parameters, persistence."""

    spec: ClassVar[ModelSpec]

    def __init__(self) -> None:
        self._params: dict[str, float] | None = None
        #: Posterior (ArviZ DataTree) after :meth:`sample`; None for point estimates.
        self.posterior_ = None

    # ----------------------------------------------------------------- fitted state
    def _require_params(self) -> dict[str, float]:
        if self._params is None:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                f"arguments, or build it with {type(self).__name__}.from_params(...), before using this estimator."
            )
        return self._params

    @property
    def params_(self) -> dict[str, float]:
        """Parameter estimates (name -> value)."""
        return dict(self._require_params())

    def __repr__(self) -> str:
        if self._params is None:
            return f"{type(self).__name__}()"
        vals = ", ".join(f"{k}={v:.4g}" for k, v in self._params.items())
        return f"{type(self).__name__}({vals})"

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_params(cls, params: Mapping[str, float] | None = None, /, *, unit: str | None = None, **values: float) -> Self:
        """Build a model from known parameter values, ready to predict without fitting.

        Parameters
        ----------
        params : mapping, optional
            Parameter values by name; or give them as keyword arguments.
        unit : str, optional
            Time unit the parameters refer to (``"W"`` for the published CDNOW values).

        Examples
        --------
        >>> import clvmodels as clv
        >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
        >>> round(bg.expected_purchases_new_customer(39), 3)
        1.197
        """
        model = cls()
        merged = {**(params or {}), **values}
        model._params = validate_params(cls.spec, merged)
        model.unit_ = unit
        model.se_ = None
        model.cov_ = None
        model.loglik_ = None
        model.converged_ = None
        model.n_customers_ = None
        model.data_fingerprint_ = None
        return model

    def fit(
        self,
        data,
        *,
        weights=None,
        init: Mapping[str, float] | None = None,
        maxiter: int = 2000,
    ) -> Self:
        """Estimate the parameters by maximum likelihood.

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

        Returns
        -------
        self
            With ``params_``, ``se_``, ``cov_``, ``loglik_``, ``converged_``, ``n_customers_``.
        """
        from clvmodels.inference.mle import fit_mle

        index, arrays, weights = validate_fit_data(self.spec, data, weights)
        unique, counts, _ = compress(arrays, weights)
        result = fit_mle(self.spec, unique, counts, init=init, maxiter=maxiter)
        names = list(self.spec.param_names)
        self._params = result.params
        self.posterior_ = None
        self.cov_ = pd.DataFrame(result.cov, index=names, columns=names)
        self.se_ = result.se
        self.loglik_ = float(result.loglik)
        self.converged_ = result.converged
        self.n_customers_ = float(counts.sum()) if weights is not None else int(len(index))
        self.fit_info_ = {"iterations": result.n_iter, "grad_norm": result.grad_norm, "message": result.message,
                          "n_unique_rows": int(len(counts))}
        self.unit_ = getattr(data, "attrs", {}).get("unit") if isinstance(data, pd.DataFrame) else None
        self.data_fingerprint_ = fingerprint(arrays)
        return self

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
        HDI (see :mod:`clvmodels.posterior`).

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
        from clvmodels.inference.bayes import fit_posterior

        return fit_posterior(self, data, weights=weights, draws=draws, tune=tune, chains=chains, cores=cores,
                             random_seed=random_seed, priors=priors, sampler=sampler, method=method,
                             progressbar=progressbar, target_accept=target_accept, log_likelihood=log_likelihood,
                             **kwargs)

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
        from clvmodels.inference.diagnostics import diagnostics_table
        from clvmodels.posterior import _require_posterior

        return diagnostics_table(_require_posterior(self))

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
        if getattr(self, "posterior_", None) is not None:
            from clvmodels.posterior import posterior_summary

            return posterior_summary(self, hdi_prob=0.94 if ci is None else ci)
        params = self._require_params()
        ci = 0.95 if ci is None else ci
        z = stats.norm.ppf(0.5 + ci / 2)
        pct = f"{100 * ci:g}%"
        rows = []
        for p in self.spec.params:
            est = params[p.name]
            se = (self.se_ or {}).get(p.name, np.nan)
            # se on the unconstrained scale by the delta method, then back
            se_theta = se / p.jacobian(est) if np.isfinite(se) else np.nan
            theta = p.to_unconstrained(est)
            lo, hi = (float(p.from_unconstrained(theta - z * se_theta)), float(p.from_unconstrained(theta + z * se_theta)))
            rows.append({"estimate": est, "se": se, f"lower {pct}": lo, f"upper {pct}": hi})
        return pd.DataFrame(rows, index=pd.Index(self.spec.param_names, name=None))

    def log_likelihood(self, data) -> pd.Series:
        """Log-likelihood of each customer's summary at the fitted parameters.

        Examples
        --------
        >>> import clvmodels as clv
        >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
        ...                     unit="W", calibration_end="1997-09-30")
        >>> round(float(gg.log_likelihood(s[s.frequency > 0]).sum()), 1)
        -4055.9
        """
        self._require_params()
        index, arrays = validate_summary(self.spec, data, for_fit=True)
        return self._evaluate(self.spec.loglik, index, arrays, name="loglik")

    # ----------------------------------------------------------------- evaluation
    def _evaluate(self, fn, index: pd.Index, arrays: Mapping[str, np.ndarray], name: str, **kwargs) -> pd.Series:
        """Evaluate one of the model's formulas per customer.

        Evaluated on every row, not once per distinct row: for a single evaluation, hashing
        the rows costs about as much as the formulas (on 1e6 daily-unit customers, collapsing
        made the three BG/NBD and Gamma-Gamma scores 2-4x slower). Fits, which evaluate the
        likelihood many times, do collapse.
        """
        params = self._require_params()
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            values = np.asarray(fn(backend.numpy, **params, **arrays, **kwargs), dtype=float)
        # a copy: never a read-only broadcast view, never memory shared with the caller's data
        values = np.array(np.broadcast_to(values, (len(index),)))
        return pd.Series(values, index=index, name=name)

    def _prediction(self, name: str):
        fn = self.spec.predictions.get(name)
        if fn is None:
            raise AttributeError(
                f"{self.spec.title} has no prediction '{name}'; it offers {', '.join(self.spec.predictions)}."
            )
        return fn

    def _predict_per_customer(self, name: str, data, *, hdi_prob: float = 0.94, return_draws: bool = False, **kwargs):
        if getattr(self, "posterior_", None) is not None:
            from clvmodels.posterior import predict_customers

            return predict_customers(self, name, data, hdi_prob=hdi_prob, return_draws=return_draws, **kwargs)
        self._require_params()  # an unfitted model says so before any complaint about the data
        index, arrays = validate_summary(self.spec, data, for_fit=False)
        return self._evaluate(self._prediction(name), index, arrays, name=name, **kwargs)

    def _predict_population(self, name: str, label: str, values, *, hdi_prob: float = 0.94, return_draws: bool = False,
                            **fixed):
        """Evaluate a population-level prediction over a scalar or a 1-d array argument."""
        if getattr(self, "posterior_", None) is not None:
            from clvmodels.posterior import predict_population

            return predict_population(self, name, label, values, hdi_prob=hdi_prob, return_draws=return_draws, **fixed)
        params = self._require_params()
        arr = np.asarray(values, dtype=float)
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            out = self._prediction(name)(backend.numpy, **params, **{label: arr}, **fixed)
        if arr.ndim == 0:
            return float(out)
        return pd.Series(np.asarray(out, dtype=float), index=pd.Index(arr, name=label), name=name)

    # ----------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """Plain-data form of the fitted model (what :meth:`save` writes as JSON)."""
        params = self._require_params()
        cov = getattr(self, "cov_", None)
        return {
            "format": "clvmodels.point_estimate",
            "format_version": FORMAT_VERSION,
            "clvmodels_version": _package_version(),
            "model": self.spec.name,
            "params": params,
            "se": getattr(self, "se_", None),
            "cov": None if cov is None else cov.to_numpy().tolist(),
            "loglik": getattr(self, "loglik_", None),
            "converged": getattr(self, "converged_", None),
            "n_customers": getattr(self, "n_customers_", None),
            "unit": getattr(self, "unit_", None),
            "data_fingerprint": getattr(self, "data_fingerprint_", None),
        }

    def save(self, path: str | Path) -> Path:
        """Write the fitted model as JSON (no code is stored, nothing is executed on load).

        Examples
        --------
        >>> import clvmodels as clv, tempfile, os
        >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
        >>> path = bg.save(os.path.join(tempfile.mkdtemp(), "bg.json"))
        >>> clv.load_model(path).params_ == bg.params_
        True

        A posterior (after :meth:`sample`) is written as NetCDF-4 instead (``.nc``; see
        :func:`clvmodels.posterior.save_posterior`).
        """
        if getattr(self, "posterior_", None) is not None:
            from clvmodels.posterior import save_posterior

            return save_posterior(self, path)
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=True))
        return path

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> Self:
        """Rebuild a model from :meth:`to_dict` output, refusing other models and formats."""
        if payload.get("format") != "clvmodels.point_estimate":
            raise ModelFileError(f"Not a clvmodels point-estimate file (format {payload.get('format')!r}).")
        if payload.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(
                f"The file has format version {payload.get('format_version')!r}; this clvmodels reads version "
                f"{FORMAT_VERSION}. Refit the model, or load it with the clvmodels version that wrote it "
                f"({payload.get('clvmodels_version')})."
            )
        if payload.get("model") != cls.spec.name:
            raise ModelFileError(
                f"The file holds a '{payload.get('model')}' model, not '{cls.spec.name}'. "
                f"Use clvmodels.load_model(path) to get whichever model it holds."
            )
        model = cls.from_params(payload["params"], unit=payload.get("unit"))
        names = list(cls.spec.param_names)
        model.se_ = payload.get("se")
        model.cov_ = None if payload.get("cov") is None else pd.DataFrame(payload["cov"], index=names, columns=names)
        model.loglik_ = payload.get("loglik")
        model.converged_ = payload.get("converged")
        model.n_customers_ = payload.get("n_customers")
        model.data_fingerprint_ = payload.get("data_fingerprint")
        return model

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by :meth:`save` (JSON point estimate or NetCDF posterior)."""
        from clvmodels.posterior import is_posterior_file, load_posterior

        if is_posterior_file(path):
            return load_posterior(path, cls)
        from clvmodels.persistence import read_payload

        return cls.from_dict(read_payload(path))


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
        return self._predict_per_customer("expected_purchases", data, t=np.asarray(t, dtype=float), hdi_prob=hdi_prob,
                                         return_draws=return_draws)

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
        return self._predict_per_customer("probability_alive", data, hdi_prob=hdi_prob, return_draws=return_draws)

    def probability_of_purchases(self, n, t: float, *, hdi_prob: float = 0.94, return_draws: bool = False):
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
        return self._predict_population("probability_of_purchases", "n", _purchase_counts(n), t=_horizon(t),
                                        hdi_prob=hdi_prob, return_draws=return_draws)

    def conditional_probability_of_purchases(self, data, n, t: float, *, hdi_prob: float = 0.94):
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
        counts = _purchase_counts(n)
        t = _horizon(t)
        if counts.ndim == 0:
            return self._predict_per_customer("conditional_probability_of_purchases", data, n=counts, t=t,
                                              hdi_prob=hdi_prob)
        columns = {int(k): self.conditional_probability_of_purchases(data, k, t, hdi_prob=hdi_prob) for k in counts}
        frame = pd.concat(columns, axis=1, names=["n"])
        frame.attrs.update({"quantity": "conditional_probability_of_purchases", "t": t})
        return frame

    def discounted_expected_transactions(self, data, discount_rate: float):
        """DERT per customer: discounted expected residual transactions, in closed form.

        Offered by the models whose spec has the ``discounted_expected_transactions``
        prediction. The rate is the model's: continuous per time unit of the summary for
        BG/NBD and Pareto/NBD, per opportunity (discrete) for BG/BB.

        Parameters
        ----------
        data : DataFrame
            Summary with the columns the model reads.
        discount_rate : float
            Discount rate, as above.

        Examples
        --------
        >>> import clvmodels as clv, pandas as pd
        >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> s = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86]})
        >>> bg.discounted_expected_transactions(s, discount_rate=0.0027).round(2).tolist()
        [1.02, 5.16]
        """
        return self._predict_per_customer("discounted_expected_transactions", data,
                                          discount_rate=np.asarray(discount_rate, dtype=float))

    def expected_purchases_new_customer(self, t, *, hdi_prob: float = 0.94, return_draws: bool = False):
        """E[X(t)]: expected purchases in the first ``t`` time units of a customer just acquired.

        Parameters
        ----------
        t : float or array
            Length(s) of the period.
        hdi_prob : float
            Posterior only: probability of the highest-density interval.
        return_draws : bool
            Posterior only: return the draws (xarray DataArray) instead of the summary.

        Examples
        --------
        >>> import clvmodels as clv
        >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> bg.expected_purchases_new_customer([13.0, 39.0]).round(3).tolist()
        [0.534, 1.197]
        """
        return self._predict_population("expected_purchases_new_customer", "t", t, hdi_prob=hdi_prob,
                                        return_draws=return_draws)


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
        return self._predict_per_customer("expected_spend", data, hdi_prob=hdi_prob, return_draws=return_draws)
