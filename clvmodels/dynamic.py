"""Estimator of the Pareto/NBD with time-varying covariates (the extended Pareto/NBD).

A separate class rather than an option of :class:`clvmodels.ParetoNBD`: its input is not a
summary table but the per-customer period arrays of
:func:`clvmodels.data.dynamic_covariates.dynamic_covariates` (built from the transaction log
and a long covariate table), and its predictions need the covariates of the prediction
periods. The mathematics is :mod:`clvmodels.models.pareto_nbd_dyncov`; the fit is the generic
:func:`clvmodels.inference.mle.fit_mle`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> import clvmodels as clv
>>> rng = np.random.default_rng(0)
>>> tx = pd.DataFrame({"customer_id": np.repeat(np.arange(60), 3),
...                    "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 80, 180), "D")})
>>> weeks = pd.date_range("2024-01-01", "2024-05-27", freq="7D")
>>> table = pd.DataFrame([(i, w, float(w >= pd.Timestamp("2024-02-05"))) for i in range(60) for w in weeks],
...                      columns=["customer_id", "period_start", "contact"])
>>> d = clv.dynamic_covariates(tx, table, calibration_end="2024-03-24", prediction_end="2024-05-19")
>>> m = clv.DynamicParetoNBD(purchase_covariates=["contact"]).fit(d)  # doctest: +SKIP
>>> m.expected_purchases(d).shape  # doctest: +SKIP
(60,)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import pandas as pd

from clvmodels import backend
from clvmodels.data.dynamic_covariates import DynamicCovariates
from clvmodels.errors import ClvDataError, NotFittedError
from clvmodels.inference.mle import MLEResult, fit_mle
from clvmodels.models import pareto_nbd_dyncov as dyn

__all__ = ["DynamicParetoNBD"]


class DynamicParetoNBD:
    """Pareto/NBD with time-varying purchase and dropout covariates, by maximum likelihood.

    Parameters
    ----------
    purchase_covariates, dropout_covariates : sequence of str
        Columns of the covariate table acting on the purchase rate (``lambda exp(gamma_p' z_t)``)
        and on the dropout rate (``mu exp(gamma_d' z_t)``).

    Attributes
    ----------
    params_, se_ : dict
        Estimates and delta-method standard errors (r, alpha, s, beta at z = 0, then
        ``purchase:<col>``, ``dropout:<col>``).
    loglik_ : float
        Maximised log-likelihood.
    result_ : MLEResult
        The optimiser's full outcome (covariance, convergence).
    """

    def __init__(self, purchase_covariates: Sequence[str] = (), dropout_covariates: Sequence[str] = ()):
        self.purchase_covariates = tuple(purchase_covariates)
        self.dropout_covariates = tuple(dropout_covariates)

    def _spec(self, data: DynamicCovariates):
        if not isinstance(data, DynamicCovariates):
            raise TypeError(f"DynamicParetoNBD reads the arrays of clvmodels.dynamic_covariates(...); got "
                            f"{type(data).__name__}. Build them from the log and the long covariate table first.")
        missing = [c for c in (*self.purchase_covariates, *self.dropout_covariates) if c not in data.columns]
        if missing:
            raise ClvDataError(f"The covariate arrays have no column {', '.join(map(repr, missing))}; they hold "
                               f"{', '.join(map(repr, data.columns))}.")
        return dyn.dyncov_spec(purchase=self.purchase_covariates, dropout=self.dropout_covariates,
                               n_periods=data.n_periods, width=data.width)

    def _data(self, data: DynamicCovariates) -> dict[str, np.ndarray]:
        # only the columns the design uses: unused covariates add nothing to the graph
        full = data.data()
        return {name: full[name] for name in self._spec(data).data_names}

    def fit(self, data: DynamicCovariates, **options) -> Self:
        """Maximum likelihood on ``data``; ``options`` go to :func:`~clvmodels.inference.mle.fit_mle`."""
        spec = self._spec(data)
        result = fit_mle(spec, self._data(data), np.ones(len(data.customers)), **options)
        self.result_: MLEResult = result
        self.params_ = dict(result.params)
        self.se_ = result.se
        self.loglik_ = float(result.loglik)
        return self

    def _require_fit(self) -> dict:
        if "params_" not in self.__dict__:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 f"appropriate arguments before using this estimator.")
        return self.params_

    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% Wald intervals."""
        p = self._require_fit()
        se = pd.Series(self.se_)
        est = pd.Series(p)
        return pd.DataFrame({"estimate": est, "se": se, "lower_95": est - 1.959963984540054 * se,
                             "upper_95": est + 1.959963984540054 * se})

    def _matrices(self, data: DynamicCovariates, params: dict) -> dict:
        cols = list(data.columns)

        def log_mult(z, process, names):
            out = np.zeros(z.shape[:-1])
            for c in names:
                out = out + params[f"{process}:{c}"] * z[..., cols.index(c)]
            return out

        return {"frequency": data.frequency, "length": data.length, "after": data.after,
                "log_w": log_mult(data.z, "purchase", self.purchase_covariates),
                "log_v": log_mult(data.z, "dropout", self.dropout_covariates),
                "future_log_w": log_mult(data.z_future, "purchase", self.purchase_covariates),
                "future_log_v": log_mult(data.z_future, "dropout", self.dropout_covariates)}

    def probability_alive(self, data: DynamicCovariates) -> pd.Series:
        """P(alive at the calibration end) per customer."""
        p = self._require_fit()
        m = self._matrices(data, p)
        base = {k: p[k] for k in ("r", "alpha", "s", "beta")}
        out = dyn.probability_alive_periods(backend.numpy, **base, frequency=m["frequency"], length=m["length"],
                                            after=m["after"], log_w=m["log_w"], log_v=m["log_v"])
        return pd.Series(out, index=data.customers, name="probability_alive")

    def expected_purchases(self, data: DynamicCovariates, t: float | None = None) -> pd.Series:
        """Conditional expected transactions (CET) in (calibration end, calibration end + t], with
        the covariates of the prediction periods; ``t`` (in the data's unit) defaults to the whole
        horizon up to ``prediction_end`` and may not exceed it."""
        p = self._require_fit()
        horizon = float(data.future_length.sum())
        t = horizon if t is None else float(t)
        if not 0 <= t <= horizon + 1e-12:
            raise ValueError(f"t must lie in [0, {horizon:g}] {data.unit}: the covariates cover the prediction "
                             f"periods up to prediction_end only. Got {t!r} instead; extend the covariate table "
                             f"and prediction_end for a longer horizon.")
        starts = np.cumsum(data.future_length) - data.future_length
        future = np.clip(t - starts, 0.0, data.future_length)
        m = self._matrices(data, p)
        base = {k: p[k] for k in ("r", "alpha", "s", "beta")}
        out = dyn.expected_purchases_periods(
            backend.numpy, **base, frequency=m["frequency"], length=m["length"], after=m["after"], log_w=m["log_w"],
            log_v=m["log_v"], future_length=np.broadcast_to(future, m["future_log_w"].shape),
            future_log_w=m["future_log_w"], future_log_v=m["future_log_v"])
        return pd.Series(out, index=data.customers, name="expected_purchases")
