r"""Estimator of Abe's (2009) hierarchical Bayes Pareto/NBD: per-customer rates, correlated, with covariates.

A separate class rather than a :class:`~clvmodels.models.spec.ModelSpec`: its parameters are
not a handful of population values but two latent log-rates per customer, sampled by NUTS
together with the hyperparameters. The first stage (likelihood and predictions given the
rates) is :mod:`clvmodels.models.hierarchical_pareto_nbd`, written once against the backend
and used here both for the PyMC graph (PyTensor) and for the predictions (NumPy).

Model, for customer :math:`i` with covariate row :math:`z_i` (an intercept, then the chosen
summary columns):

.. math::

    \theta_i = (\log\lambda_i, \log\mu_i)^\top = B^\top z_i + L\,\epsilon_i,\quad
    \epsilon_i \sim \mathcal N(0, I_2),\quad \Sigma = L L^\top,

    B_{kj} \sim \mathcal N(0, \sigma_B^2),\quad
    L \sim \mathrm{LKJCholeskyCov}(\eta,\ \sigma_j \sim \mathrm{HalfNormal}(s_\sigma)),

the non-centred form (NUTS samples :math:`\epsilon_i`, not :math:`\theta_i`, so the funnel
between :math:`\Sigma` and the rates does not slow it).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from clvmodels.models.hierarchical_pareto_nbd import simulate
>>> d = simulate(np.random.default_rng(1), np.array([[-2.0, -3.5]]), (0.7, 0.7), 0.5, np.ones((60, 1)), 39.0)
>>> s = pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T")})
>>> m = HierarchicalParetoNBD().sample(s, draws=100, tune=100, chains=1, random_seed=1)  # doctest: +SKIP
>>> m.summary().index.tolist()  # doctest: +SKIP
['log_lambda:intercept', 'log_mu:intercept', 'sigma_log_lambda', 'sigma_log_mu', 'rho']
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from clvmodels import backend, io
from clvmodels.data.validation import offenders, validate_summary
from clvmodels.errors import ClvDataError, ModelFileError, NotFittedError
from clvmodels.intervals import STATISTICS, summarize
from clvmodels.models import hierarchical_pareto_nbd as hpn
from clvmodels.models import pareto_nbd

__all__ = ["HierarchicalParetoNBD", "LatentModel", "METHODS"]

#: Inference methods: NUTS on every latent rate, or mean-field ADVI (pm.fit) for speed.
METHODS = ("nuts", "advi")


def _design(frame: pd.DataFrame, index: pd.Index, covariates: Sequence[str]) -> np.ndarray:
    """The covariate matrix [1, z_1, ...], checked: present, numeric, finite."""
    missing = [c for c in covariates if c not in frame.columns]
    if missing:
        raise ClvDataError(f"The summary has no covariate column {', '.join(map(repr, missing))} (found: "
                           f"{', '.join(map(str, frame.columns[:10]))}). Join it first: "
                           f"clv.join_covariates(summary, table, customer='customer_id').")
    cols = [np.ones(len(frame))]
    for c in covariates:
        values = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            raise ClvDataError(f"Covariate column {c!r} must be numeric and finite: {int(bad.sum())} row(s) are not "
                               f"({offenders(index, bad)}). Encode categories as 0/1 columns and fill or drop "
                               f"missing values.")
        cols.append(values)
    return np.column_stack(cols)


def _checked_summary(model, summary, spec):
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"{type(model).__name__}.sample reads a summary DataFrame (clvmodels.rfm_summary); got "
                        f"{type(summary).__name__}.")
    return validate_summary(spec, summary, for_fit=True)


class LatentModel:
    """What the models with latent per-customer parameters share: sampling, draws and per-customer summaries.

    A subclass builds its PyMC model (a ``log_rates`` variable: customer x latent, on the log
    scale) and calls :meth:`_run`; the per-customer predictions are its first-stage functions
    evaluated on every draw (NumPy) and summarised.

    Examples
    --------
    >>> issubclass(HierarchicalParetoNBD, LatentModel)
    True
    """

    def _run(self, model, keep: Sequence[str], *, method: str, draws: int, tune: int, chains: int, cores: int | None,
             random_seed: int | None, sampler: str, target_accept: float, advi_iterations: int,
             progressbar: bool) -> None:
        import pymc as pm
        import xarray as xr

        if method not in METHODS:
            raise ValueError(f"The 'method' parameter must be one of {', '.join(map(repr, METHODS))}. "
                             f"Got {method!r} instead.")
        seed = None if random_seed is None else int(random_seed)
        start = time.perf_counter()
        with model, np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            if method == "nuts":
                dt = pm.sample(draws=draws, tune=tune, chains=chains, cores=cores, random_seed=seed,
                               nuts_sampler=sampler, target_accept=target_accept, progressbar=progressbar,
                               compute_convergence_checks=False, quiet=not progressbar)
            else:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", category=UserWarning)
                    approx = pm.fit(n=advi_iterations, method="advi", random_seed=seed, progressbar=progressbar,
                                    obj_optimizer=pm.adam(learning_rate=0.02))
                dt = approx.sample(draws * chains, random_seed=seed)
        self.sampling_seconds_ = time.perf_counter() - start
        groups = {"posterior": dt["posterior"].to_dataset()[list(keep)]}
        if "sample_stats" in dt.children:
            groups["sample_stats"] = dt["sample_stats"].to_dataset()
        self.posterior_ = xr.DataTree.from_dict(groups)
        self.posterior_.attrs["inference"] = method

    #: The constructor's options (saved with the posterior, restored by :meth:`load`).
    _OPTIONS: tuple[str, ...] = ()
    #: The model's name in its files.
    _FILE_MODEL: str = ""

    def _saved_state(self) -> dict[str, Any]:
        """Fitted state beyond the draws and the summary's arrays, as JSON data (none by default)."""
        return {}

    def _restore_state(self, state: dict[str, Any], frame: pd.DataFrame) -> None:
        self.summary_ = frame

    def save(self, path: str | Path) -> Path:
        """Write the posterior, the options and the summary's columns it predicts from as NetCDF-4 (no code).

        Examples
        --------
        >>> HierarchicalParetoNBD().save("m.nc")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        clvmodels.errors.NotFittedError: ...
        """
        self._require_fit()
        options = {name: getattr(self, name) for name in self._OPTIONS}
        state = {"options": options, "state": self._saved_state(),
                 "sampling_seconds": float(self.__dict__.get("sampling_seconds_", np.nan))}
        tree = self.posterior_.copy()
        return io.save_latent(tree, path, model=self._FILE_MODEL, estimator=type(self).__name__, options=state,
                              data=self._arrays, index=self._index)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by :meth:`save`: the same draws, summaries and predictions.

        Examples
        --------
        >>> HierarchicalParetoNBD.load("no_such_file.nc")
        Traceback (most recent call last):
        ...
        clvmodels.errors.ModelFileError: no_such_file.nc is not a model file: it does not exist.
        """
        tree, saved, frame = io.read_latent(path, expect=cls._FILE_MODEL)
        try:
            model = cls(**saved["options"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{path}: attribute 'options' does not hold {cls.__name__}'s options "
                                 f"({', '.join(cls._OPTIONS)}): {exc}.") from None
        model.posterior_ = tree
        model.sampling_seconds_ = saved.get("sampling_seconds", np.nan)
        model._index = frame.index
        model._arrays = {k: frame[k].to_numpy(dtype=float) for k in frame.columns}
        model._restore_state(saved.get("state", {}), frame)
        return model

    def _require_fit(self):
        if "posterior_" not in self.__dict__:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'sample' with "
                                 f"appropriate arguments before using this estimator.")
        return self.posterior_["posterior"].to_dataset()

    def _per_customer(self, fn, hdi_prob: float, name: str, **extra) -> pd.DataFrame:
        post = self._require_fit()
        theta = post["log_rates"].stack(sample=("chain", "draw")).transpose("sample", "customer", ...).values
        # a draw that makes a silence hopeless underflows to probability 0 (log 0 = -inf): the right limit
        with np.errstate(divide="ignore", under="ignore"):
            values = fn(backend.numpy, *(theta[:, :, j] for j in range(theta.shape[2])), **self._arrays, **extra)
        stats = summarize(values, hdi_prob)
        out = pd.DataFrame({k: stats[k] for k in STATISTICS}, index=self._index)
        out.columns = [f"{name}_{k}" if k != "mean" else name for k in STATISTICS]
        return out


class HierarchicalParetoNBD(LatentModel):
    """Pareto/NBD with lognormal, correlated per-customer rates and covariates (Abe 2009), by NUTS.

    Parameters
    ----------
    eta : float
        LKJ shape of the correlation prior (1: uniform on (-1, 1); 2: mild shrinkage to 0).
    beta_sigma : float
        Standard deviation of the normal prior on each coefficient of the mean log-rates.
    sigma_scale : float
        Scale of the half-normal prior on each log-rate's standard deviation.

    Attributes
    ----------
    posterior_ : xarray.DataTree
        The draws: ``beta`` (term x rate), ``sigma`` (rate), ``rho`` and per customer
        ``log_rates`` (customer x rate).
    summary_ : pandas.DataFrame
        The summary the posterior was sampled on (predictions are for these customers).
    covariates_ : tuple of str
        The covariate columns of the design (after the intercept).
    sampling_seconds_ : float
        Wall time of the sampler (or of the ADVI fit and its draws).

    Examples
    --------
    >>> HierarchicalParetoNBD(eta=2.0).eta
    2.0
    """

    _OPTIONS = ("eta", "beta_sigma", "sigma_scale")
    _FILE_MODEL = "hierarchical_pareto_nbd"

    def _saved_state(self) -> dict[str, Any]:
        return {"covariates": list(self.covariates_)}

    def _restore_state(self, state: dict[str, Any], frame: pd.DataFrame) -> None:
        # the covariate columns shaped the draws but no prediction reads them: the file keeps their names
        self.summary_ = frame
        self.covariates_ = tuple(state.get("covariates", ()))

    def __init__(self, *, eta: float = 2.0, beta_sigma: float = 5.0, sigma_scale: float = 2.5):
        self.eta = float(eta)
        self.beta_sigma = float(beta_sigma)
        self.sigma_scale = float(sigma_scale)

    def _model(self, arrays: dict[str, np.ndarray], design: np.ndarray, index: pd.Index, terms: list[str]):
        import pymc as pm

        coords = {"customer": np.asarray(index), "rate": list(hpn.RATES), "term": terms}
        with pm.Model(coords=coords) as model:
            beta = pm.Normal("beta", 0.0, self.beta_sigma, dims=("term", "rate"))
            chol, corr, sds = pm.LKJCholeskyCov("chol", n=2, eta=self.eta, compute_corr=True,
                                                sd_dist=pm.HalfNormal.dist(self.sigma_scale, shape=2))
            pm.Deterministic("sigma", sds, dims="rate")
            pm.Deterministic("rho", corr[0, 1])
            eps = pm.Normal("eps", 0.0, 1.0, dims=("customer", "rate"))
            theta = pm.Deterministic("log_rates", pm.math.dot(design, beta) + pm.math.dot(eps, chol.T),
                                     dims=("customer", "rate"))
            ll = hpn.loglik(backend.pytensor, theta[:, 0], theta[:, 1], **arrays)
            pm.Potential("loglik", ll.sum())
        return model

    def sample(self, summary: pd.DataFrame, covariates: Sequence[str] = (), *, draws: int = 1000, tune: int = 1000,
               chains: int = 2, cores: int | None = None, random_seed: int | None = None, method: str = "nuts",
               sampler: str = "nutpie", target_accept: float = 0.9, advi_iterations: int = 30_000,
               progressbar: bool = False) -> Self:
        """Sample the posterior of the hyperparameters and of every customer's rates.

        Parameters
        ----------
        summary : DataFrame
            One row per customer with ``frequency``, ``recency``, ``T`` (e.g. :func:`clvmodels.rfm_summary`)
            and the covariate columns.
        covariates : sequence of str
            Summary columns shifting the mean log-rates (intercept-only when empty).
        draws, tune, chains, cores, random_seed
            As for :func:`pymc.sample`; for ADVI ``chains * draws`` draws are taken from the fit.
        method : {"nuts", "advi"}
            NUTS on all latent rates, or mean-field ADVI (much faster, but it ignores posterior
            correlations, so its intervals are too narrow: see the docs page).
        sampler : {"nutpie", "pymc"}
            The NUTS implementation (nutpie compiles the graph with numba and is several times faster).

        Returns
        -------
        self

        Examples
        --------
        >>> HierarchicalParetoNBD().sample(None)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        TypeError: ...
        """
        if isinstance(covariates, str):
            covariates = [covariates]
        covariates = tuple(covariates)
        index, arrays = _checked_summary(self, summary, pareto_nbd.SPEC)
        design = _design(summary, index, covariates)
        model = self._model(arrays, design, index, ["intercept", *covariates])
        self._run(model, ["beta", "sigma", "rho", "log_rates"], method=method, draws=draws, tune=tune, chains=chains,
                  cores=cores, random_seed=random_seed, sampler=sampler, target_accept=target_accept,
                  advi_iterations=advi_iterations, progressbar=progressbar)
        self.summary_ = summary
        self.covariates_ = covariates
        self._index, self._arrays = index, arrays
        return self

    def hyperparameter_draws(self) -> pd.DataFrame:
        """The hyperparameters' draws (chains stacked), one column each: coefficients, sigmas, rho.

        Examples
        --------
        >>> HierarchicalParetoNBD().hyperparameter_draws()
        Traceback (most recent call last):
        ...
        clvmodels.errors.NotFittedError: This HierarchicalParetoNBD instance is not fitted yet. Call 'sample' with appropriate arguments before using this estimator.
        """
        post = self._require_fit()
        out = {}
        beta = post["beta"].stack(sample=("chain", "draw")).transpose("sample", ...).values
        for k, term in enumerate(post["term"].values):
            for j, rate in enumerate(hpn.RATES):
                out[f"{rate}:{term}"] = beta[:, k, j]
        sigma = post["sigma"].stack(sample=("chain", "draw")).transpose("sample", ...).values
        for j, rate in enumerate(hpn.RATES):
            out[f"sigma_{rate}"] = sigma[:, j]
        out["rho"] = post["rho"].stack(sample=("chain", "draw")).values
        return pd.DataFrame(out)

    def summary(self, hdi_prob: float = 0.94) -> pd.DataFrame:
        """Posterior mean, sd and HDI of each hyperparameter (mean log-rates' coefficients, sigmas, correlation).

        Examples
        --------
        >>> HierarchicalParetoNBD().summary()  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        clvmodels.errors.NotFittedError: ...
        """
        draws = self.hyperparameter_draws()
        stats = summarize(draws.to_numpy(), hdi_prob)
        return pd.DataFrame({k: stats[k] for k in STATISTICS}, index=draws.columns)

    def rates(self, hdi_prob: float = 0.94) -> pd.DataFrame:
        """Each customer's purchase rate lambda and dropout rate mu (per time unit of the summary), with HDIs.

        Examples
        --------
        >>> HierarchicalParetoNBD().rates()  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        clvmodels.errors.NotFittedError: ...
        """
        lam = self._per_customer(lambda xp, ll, lm, **_: np.exp(ll), hdi_prob, "lambda")
        mu = self._per_customer(lambda xp, ll, lm, **_: np.exp(lm), hdi_prob, "mu")
        return pd.concat([lam, mu], axis=1)

    def probability_alive(self, hdi_prob: float = 0.94) -> pd.DataFrame:
        """P(alive at the end of calibration) per customer: posterior mean, sd and HDI.

        Examples
        --------
        >>> HierarchicalParetoNBD().probability_alive()  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        clvmodels.errors.NotFittedError: ...
        """
        return self._per_customer(hpn.probability_alive, hdi_prob, "probability_alive")

    def expected_purchases(self, t: float, hdi_prob: float = 0.94) -> pd.DataFrame:
        """Expected purchases in (T, T + t] per customer (``t`` in the summary's time unit), with HDIs.

        Examples
        --------
        >>> HierarchicalParetoNBD().expected_purchases(39)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        clvmodels.errors.NotFittedError: ...
        """
        if not np.isfinite(t) or t < 0:
            raise ValueError(f"t must be a finite number >= 0 (the forecast length). Got {t!r} instead.")
        return self._per_customer(hpn.expected_purchases, hdi_prob, "expected_purchases", t=float(t))
