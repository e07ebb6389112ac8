"""Fitting on and scoring a Spark customer summary.

A fit collects only the distinct rows of the model's sufficient statistics with their counts
(the same compression every fit makes first), so the driver holds thousands of rows, not
millions of customers. Scoring runs on the executors: the fitted model travels as plain data
(the JSON of a point fit, or the parameter draws of a posterior as lists of numbers), is
rebuilt there once per partition, and scores Arrow batches with :func:`clvmodels.value.score_table`,
the function behind the pandas API's and the CLI's per-customer tables.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr
from pyspark.sql import types as T

from clvmodels import defaults
from clvmodels.data.fittable import fittable_rows
from clvmodels.errors import ClvDataError, DataWarning
from clvmodels.estimators import REGISTRY, CLVModel
from clvmodels.fit import PointFit, Posterior
from clvmodels.io import point_fit_from_dict, point_fit_to_dict, spec_for
from clvmodels.spark.summary import arrow_safe, summary_attrs, to_pandas
from clvmodels.value import score_table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["fit", "score", "model_payload", "model_from_payload"]

#: Rows scored at a time on an executor: with a posterior of D draws a block holds
#: rows x D numbers per quantity (10,000 x 1,000 x 8 bytes = 80 MB).
DEFAULT_BATCH_ROWS = 10_000


def fit(model: CLVModel, summary: DataFrame, *, method: str = "mle", drop_unfittable: bool = False,
        **kwargs: Any) -> CLVModel:
    """Fit ``model`` on a Spark summary, collecting only its distinct sufficient statistics.

    Parameters
    ----------
    model : CLVModel
        An unfitted model, e.g. ``clvmodels.BetaGeo()``.
    summary : pyspark.sql.DataFrame
        From :func:`clvmodels.spark.rfm_summary`.
    method : {"mle", "mcmc"}
        ``model.fit`` (maximum likelihood) or ``model.sample`` (PyMC), on the weighted rows.
    drop_unfittable : bool
        Leave out (with a :class:`~clvmodels.errors.DataWarning` giving the number of customers)
        the rows the model cannot be fitted on, e.g. customers without repeat purchases for
        Gamma-Gamma.
    **kwargs
        Passed to ``model.fit`` or ``model.sample`` (``init``, ``maxiter``, ``draws``, ...).

    Returns
    -------
    CLVModel
        ``model``, fitted; the same estimates as fitting the pandas summary.

    Examples
    --------
    >>> bg = fit(clvmodels.BetaGeo(), spark_summary)  # doctest: +SKIP
    >>> sorted(bg.params_.index)  # doctest: +SKIP
    ['a', 'alpha', 'b', 'r']
    """
    if method not in ("mle", "mcmc"):
        raise ValueError(f"method must be 'mle' or 'mcmc'. Got {method!r} instead.")
    attrs = summary_attrs(summary)
    names = list(model.spec.data_names)
    missing = [c for c in names if c not in summary.columns]
    if missing:
        raise ClvDataError(f"The summary has no column {', '.join(map(repr, missing))}, which {model.spec.title} "
                           f"is fitted on; make it with amount_col= for a spend model.")
    table = summary.groupBy(*names).count().toPandas()
    table = table.sort_values(names, kind="stable").reset_index(drop=True)
    table.attrs.update(attrs)
    if drop_unfittable:
        kept, _, reason = fittable_rows(model.spec, table)
        n_out = int(table["count"].sum() - kept["count"].sum())
        if n_out:
            warnings.warn(f"{n_out} customers left out of the {model.spec.title} fit ({reason}).", DataWarning,
                          stacklevel=2)
        table = kept
    weights = table["count"].to_numpy(dtype=float)
    data = table[names]
    data.attrs.update(attrs)
    if method == "mle":
        return model.fit(data, weights=weights, **kwargs)
    return model.sample(data, weights=weights, **kwargs)


def model_payload(model: CLVModel | None) -> str | None:
    """A fitted model as a JSON string of plain data, what executors rebuild it from.

    Examples
    --------
    >>> import clvmodels as clv
    >>> p = model_payload(clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44))
    >>> float(model_from_payload(p).params_["q"])
    3.74
    """
    if model is None:
        return None
    fit = model._require_fit()
    if isinstance(fit, PointFit):
        return json.dumps({"kind": "point", "fit": point_fit_to_dict(fit)})
    return json.dumps({"kind": "posterior", "model": fit.spec.name, "variant": fit.spec.variant or None,
                       "covariates": fit.spec.covariates.to_dict() if fit.spec.covariates is not None else None,
                       "unit": fit.unit,
                       "n_customers": fit.n_customers,
                       "draws": {k: np.asarray(v, dtype=float).tolist() for k, v in fit.draws().items()}})


def model_from_payload(payload: str | None) -> CLVModel | None:
    """The model :func:`model_payload` describes (on an executor, or anywhere).

    Examples
    --------
    >>> import clvmodels as clv
    >>> bg = clv.BetaGeo.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4, unit="W")
    >>> model_from_payload(model_payload(bg)).params_.equals(bg.params_)
    True
    """
    if payload is None:
        return None
    data = json.loads(payload)
    if data["kind"] == "point":
        fit = point_fit_from_dict(data["fit"])
        return REGISTRY[fit.spec.name].from_fit(fit)
    cls = REGISTRY[data["model"]]
    spec = spec_for(data["model"], "The Spark model payload", None, covariates=data.get("covariates"),
                    variant=data.get("variant"))
    ds = xr.Dataset({k: (("chain", "draw"), np.asarray(v, dtype=float)) for k, v in data["draws"].items()})
    post = Posterior(spec, xr.DataTree.from_dict({"posterior": ds}), unit=data["unit"],
                     n_customers=data["n_customers"])
    return cls.from_fit(post)


def _spark_type(dtype) -> T.DataType:
    if pd.api.types.is_bool_dtype(dtype):
        return T.BooleanType()
    if pd.api.types.is_integer_dtype(dtype):
        return T.LongType()
    if pd.api.types.is_float_dtype(dtype):
        return T.DoubleType()
    return T.StringType()


def _scorer(tm_payload: str, sm_payload: str | None, attrs: dict, customer_col: str, columns: list[str],
            settings: dict, batch_rows: int):
    def score_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        tm, sm = model_from_payload(tm_payload), model_from_payload(sm_payload)
        for batch in batches:
            for start in range(0, len(batch), batch_rows):
                part = batch.iloc[start:start + batch_rows]
                data = part.drop(columns=[customer_col]).set_axis(pd.Index(part[customer_col].to_numpy(),
                                                                           name=customer_col), axis=0)
                data.attrs.update(attrs)
                table = score_table(tm, sm, data, **settings)
                yield arrow_safe(table.rename_axis(customer_col).reset_index()[columns])

    return score_batches


def score(summary: DataFrame, transaction_model: CLVModel, spend_model: CLVModel | None = None, *,
          horizon: int = defaults.HORIZON, unit: str = defaults.HORIZON_UNIT,
          discount_rate: float = defaults.DISCOUNT_RATE, margin: float = defaults.MARGIN,
          hdi_prob: float = 0.94, batch_rows: int = DEFAULT_BATCH_ROWS) -> DataFrame:
    """Per-customer forecasts of a Spark summary, computed on the executors.

    The columns of :func:`clvmodels.value.score_table` (P(alive), expected purchases over the
    horizon, expected spend, CLV, CLV if active; with a posterior also their HDI bounds), one
    row per customer, unsorted. Memory on an executor is bounded by ``batch_rows``.

    Parameters
    ----------
    summary : pyspark.sql.DataFrame
        From :func:`clvmodels.spark.rfm_summary` (with ``amount_col`` for CLV).
    transaction_model, spend_model : CLVModel
        Fitted models (point fits or posteriors); without a spend model there is no CLV.
    horizon, unit, discount_rate, margin, hdi_prob
        As in :func:`clvmodels.value.score_table`.
    batch_rows : int
        Customers scored at a time on an executor.

    Returns
    -------
    pyspark.sql.DataFrame
        Lazy; the customer id first.

    Examples
    --------
    >>> scores = score(spark_summary, bg, gg, horizon=12, unit="M")  # doctest: +SKIP
    >>> scores.columns[:2]  # doctest: +SKIP
    ['customer_id', 'frequency']
    """
    batch_rows = int(batch_rows)
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be a positive number of rows. Got {batch_rows!r} instead.")
    attrs = summary_attrs(summary)
    customer_col = summary.columns[0]
    settings = dict(horizon=horizon, unit=unit, discount_rate=discount_rate, margin=margin, hdi_prob=hdi_prob)
    # the columns (and any error in the settings) from one customer scored on the driver
    head = to_pandas(summary.limit(1))
    if len(head) == 0:
        raise ClvDataError("The Spark summary has no customers: there is nothing to score.")
    probe = score_table(transaction_model, spend_model, head, **settings).rename_axis(customer_col).reset_index()
    columns = list(probe.columns)
    id_field = summary.schema[customer_col]
    schema = T.StructType([T.StructField(customer_col, id_field.dataType, id_field.nullable)]
                          + [T.StructField(c, _spark_type(probe[c].dtype)) for c in columns[1:]])
    fn = _scorer(model_payload(transaction_model), model_payload(spend_model), attrs, customer_col, columns,
                 settings, batch_rows)
    return summary.mapInPandas(fn, schema)
