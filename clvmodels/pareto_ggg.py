r"""Estimator of Platzer & Reutterer's (2016) Pareto/GGG: per-customer purchase rate, dropout rate and regularity.

Like :class:`~clvmodels.hierarchical.HierarchicalParetoNBD` its parameters are latent per
customer, so it is sampled rather than fitted by maximum likelihood. The first stage
(likelihood with the lifetime integrated out in closed form, P(alive), forecast simulation) is
:mod:`clvmodels.models.pareto_ggg`, written once against the backend.

Model, for customer :math:`i`:

.. math::

    \lambda_i \sim \Gamma(r, \alpha),\quad \mu_i \sim \Gamma(s, \beta),\quad k_i \sim \Gamma(t, \gamma),

    \log r, \log s, \log t \sim \mathcal N(0, \sigma_{\text{shape}}^2),\quad
    \log \alpha, \log \beta, \log \gamma \sim \mathcal N(0, \sigma_{\text{rate}}^2).

NUTS samples :math:`\log\lambda_i, \log\mu_i, \log k_i` (PyMC's log transform of the gammas)
with the six hyperparameters, using exact gradients (the regularized incomplete gamma
function is differentiable in its shape); BTYDplus's ``pggg.mcmc.DrawParameters`` instead
slice-samples each parameter in turn with the lifetime augmented.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from clvmodels.models.pareto_ggg import simulate
>>> d = simulate(np.random.default_rng(1), 80, 1.0, 5.0, 0.5, 20.0, 4.0, 1.0, 39.0)
>>> s = pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T", "litt")})
>>> m = ParetoGGG().sample(s, draws=100, tune=100, chains=1, random_seed=1)  # doctest: +SKIP
>>> m.summary().index.tolist()  # doctest: +SKIP
['r', 'alpha', 's', 'beta', 't', 'gamma']
"""

from __future__ import annotations

from dataclasses import replace
from typing import Self

import numpy as np
import pandas as pd

from clvmodels import backend
from clvmodels.errors import ClvDataError
from clvmodels.hierarchical import LatentModel, _checked_summary
from clvmodels.intervals import STATISTICS, summarize
from clvmodels.models import pareto_ggg as pggg
from clvmodels.models import pareto_nbd
from clvmodels.models.cnbdk import LITT

__all__ = ["ParetoGGG", "HYPERPARAMETERS"]

#: The population parameters: shape and rate of the gammas of lambda, mu and k.
HYPERPARAMETERS = ("r", "alpha", "s", "beta", "t", "gamma")

# what a Pareto/GGG summary must hold (validation and its messages only)
_DATA = replace(pareto_nbd.SPEC, title="Pareto/GGG", data=(*pareto_nbd.SPEC.data, LITT))


class ParetoGGG(LatentModel):
    """Pareto/GGG: gamma inter-purchase times with per-customer regularity ``k`` (Platzer & Reutterer 2016), by NUTS.

    Parameters
    ----------
    shape_sigma : float
        Standard deviation of the normal prior on the log of each gamma's shape (r, s, t).
    rate_sigma : float
        Standard deviation of the normal prior on the log of each gamma's rate (alpha, beta,
        gamma; they carry the time unit, hence wider).

    Attributes
    ----------
    posterior_ : xarray.DataTree
        The draws of the six hyperparameters and, per customer, ``log_rates`` (customer x
        ``log_lambda``, ``log_mu``, ``log_k``).
    summary_ : pandas.DataFrame
        The summary sampled on (with its ``litt`` column).
    sampling_seconds_ : float
        Wall time of the sampler.

    Examples
    --------
    >>> ParetoGGG(rate_sigma=4.0).rate_sigma
    4.0
    """

    _OPTIONS = ("shape_sigma", "rate_sigma")
    _FILE_MODEL = "pareto_ggg"

    def __init__(self, *, shape_sigma: float = 2.0, rate_sigma: float = 5.0):
        self.shape_sigma = float(shape_sigma)
        self.rate_sigma = float(rate_sigma)

    def _model(self, arrays: dict[str, np.ndarray], index: pd.Index):
        import pymc as pm

        coords = {"customer": np.asarray(index), "latent": list(pggg.LATENTS)}
        with pm.Model(coords=coords) as model:
            hyper = {name: pm.LogNormal(name, 0.0, self.shape_sigma if name in ("r", "s", "t") else self.rate_sigma)
                     for name in HYPERPARAMETERS}
            lam = pm.Gamma("lambda", alpha=hyper["r"], beta=hyper["alpha"], dims="customer")
            mu = pm.Gamma("mu", alpha=hyper["s"], beta=hyper["beta"], dims="customer")
            k = pm.Gamma("k", alpha=hyper["t"], beta=hyper["gamma"], dims="customer")
            theta = pm.Deterministic("log_rates", pm.math.stack([pm.math.log(lam), pm.math.log(mu),
                                                                 pm.math.log(k)], axis=1), dims=("customer", "latent"))
            ll = pggg.loglik(backend.pytensor, theta[:, 0], theta[:, 1], theta[:, 2], **arrays)
            pm.Potential("loglik", ll.sum())
        return model

    def sample(self, summary: pd.DataFrame, *, draws: int = 1000, tune: int = 1000, chains: int = 2,
               cores: int | None = None, random_seed: int | None = None, method: str = "nuts",
               sampler: str = "nutpie", target_accept: float = 0.9, advi_iterations: int = 30_000,
               progressbar: bool = False) -> Self:
        """Sample the posterior of the six hyperparameters and of every customer's rates and regularity.

        Parameters
        ----------
        summary : DataFrame
            One row per customer with ``frequency``, ``recency``, ``T`` and ``litt``
            (``clvmodels.rfm_summary(..., regularity=True)``).
        draws, tune, chains, cores, random_seed
            As for :func:`pymc.sample`.
        method : {"nuts", "advi"}
            NUTS on all latent parameters, or mean-field ADVI (fast, intervals too narrow).
        sampler : {"nutpie", "pymc"}
            The NUTS implementation (nutpie compiles the graph with numba: about twice as fast here).

        Returns
        -------
        self

        Examples
        --------
        >>> ParetoGGG().sample(pd.DataFrame({"frequency": [1.0], "recency": [2.0], "T": [5.0]}))
        Traceback (most recent call last):
        ...
        clvmodels.errors.ClvDataError: Pareto/GGG needs the summary column 'litt' (the sum of log inter-purchase times): build the summary with clvmodels.rfm_summary(..., regularity=True).
        """
        if isinstance(summary, pd.DataFrame) and "litt" not in summary.columns:
            raise ClvDataError("Pareto/GGG needs the summary column 'litt' (the sum of log inter-purchase times): "
                               "build the summary with clvmodels.rfm_summary(..., regularity=True).")
        index, arrays = _checked_summary(self, summary, _DATA)
        model = self._model(arrays, index)
        self._run(model, [*HYPERPARAMETERS, "log_rates"], method=method, draws=draws, tune=tune, chains=chains,
                  cores=cores, random_seed=random_seed, sampler=sampler, target_accept=target_accept,
                  advi_iterations=advi_iterations, progressbar=progressbar)
        self.summary_ = summary
        self._index, self._arrays = index, arrays
        return self

    def hyperparameter_draws(self) -> pd.DataFrame:
        """The six hyperparameters' draws (chains stacked), one column each.

        Examples
        --------
        >>> ParetoGGG().hyperparameter_draws()
        Traceback (most recent call last):
        ...
        clvmodels.errors.NotFittedError: This ParetoGGG instance is not fitted yet. Call 'sample' with appropriate arguments before using this estimator.
        """
        post = self._require_fit()
        return pd.DataFrame({name: post[name].stack(sample=("chain", "draw")).values for name in HYPERPARAMETERS})

    def summary(self, hdi_prob: float = 0.94) -> pd.DataFrame:
        """Posterior mean, sd and HDI of each hyperparameter, and of the mean regularity ``t / gamma``.

        Examples
        --------
        >>> ParetoGGG().summary()  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        clvmodels.errors.NotFittedError: ...
        """
        draws = self.hyperparameter_draws()
        draws["mean_k"] = draws["t"] / draws["gamma"]
        stats = summarize(draws.to_numpy(), hdi_prob)
        return pd.DataFrame({k: stats[k] for k in STATISTICS}, index=draws.columns)

    def regularity(self, hdi_prob: float = 0.94) -> pd.DataFrame:
        """Each customer's purchase rate, dropout rate and regularity ``k`` (posterior mean, sd, HDI).

        Examples
        --------
        >>> ParetoGGG().regularity()  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        clvmodels.errors.NotFittedError: ...
        """
        parts = [self._per_customer(lambda xp, *th, _j=j, **_: np.exp(th[_j]), hdi_prob, name)
                 for j, name in enumerate(("lambda", "mu", "k"))]
        return pd.concat(parts, axis=1)

    def probability_alive(self, hdi_prob: float = 0.94) -> pd.DataFrame:
        """P(alive at the end of calibration) per customer: posterior mean, sd and HDI.

        Examples
        --------
        >>> ParetoGGG().probability_alive()  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        clvmodels.errors.NotFittedError: ...
        """
        return self._per_customer(pggg.probability_alive, hdi_prob, "probability_alive")

    def expected_purchases(self, t: float, hdi_prob: float = 0.94, *, random_seed: int | None = 0) -> pd.DataFrame:
        """Expected purchases in (T, T + t] per customer, by one simulated future per posterior draw.

        The posterior mean is the average of the simulated counts (BTYDplus's
        ``pggg.mcmc.DrawFutureTransactions``); the sd and HDI are those of the simulated count,
        i.e. a predictive interval, not an interval for the mean.

        Examples
        --------
        >>> ParetoGGG().expected_purchases(39)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        clvmodels.errors.NotFittedError: ...
        """
        if not np.isfinite(t) or t < 0:
            raise ValueError(f"t must be a finite number >= 0 (the forecast length). Got {t!r} instead.")
        rng = np.random.default_rng(random_seed)

        def simulated(xp, log_lambda, log_mu, log_k, *, recency, T, **_):
            return pggg.future_purchases(rng, log_lambda, log_mu, log_k, recency=recency, T=T, t=float(t))

        return self._per_customer(simulated, hdi_prob, "expected_purchases")
