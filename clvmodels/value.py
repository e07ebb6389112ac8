"""Discounted customer lifetime value and customer equity, in explicit time units.

For a horizon of :math:`H` periods of a stated unit, with period :math:`k` ending at time
:math:`t_k` after the calibration end (in the model's time unit), per-period discount rate
:math:`d`, margin :math:`m` and expected spend per purchase :math:`E[Z]`:

.. math::

    \\mathrm{CLV} = m \\, E[Z] \\sum_{k=1}^{H}
        \\frac{E[Y(t_k) \\mid \\text{history}] - E[Y(t_{k-1}) \\mid \\text{history}]}{(1+d)^k}

Purchases in a period are discounted to the end of that period. Months and years are cut at
calendar boundaries from the summary's ``calibration_end`` when it is known (see
:mod:`clvmodels.units`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clvmodels.units import normalize_unit, period_edges

__all__ = ["lifetime_value", "customer_equity"]


def _model_unit(transaction_model, data, model_unit):
    unit = model_unit or getattr(transaction_model, "unit_", None) or getattr(data, "attrs", {}).get("unit")
    if unit is None:
        raise ValueError(
            "The time unit of the transaction model is unknown (it was neither fitted on a clvmodels summary nor "
            "built with unit=...). Pass model_unit='W' (or 'D', 'M', 'Y') to lifetime_value."
        )
    return normalize_unit(unit, "model_unit")


def lifetime_value(
    transaction_model,
    spend_model,
    data: pd.DataFrame,
    *,
    horizon: int = 12,
    unit: str = "M",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    model_unit: str | None = None,
) -> pd.Series:
    """Discounted expected margin of each customer over the next ``horizon`` periods.

    Parameters
    ----------
    transaction_model : TransactionModel
        Fitted purchase model (e.g. :class:`~clvmodels.BetaGeo`).
    spend_model : SpendModel
        Fitted spend model (e.g. :class:`~clvmodels.GammaGamma`).
    data : DataFrame
        Customer summary with the columns both models read.
    horizon : int
        Number of periods.
    unit : {"D", "W", "M", "Y"}
        Length of one period; ``discount_rate`` is per period of this unit.
    discount_rate : float
        Discount rate per period (0.01 = 1 % per period).
    margin : float
        Share of spend that is profit (1.0 = revenue).
    model_unit : str, optional
        Time unit of the transaction model, if neither the model nor the summary records it.

    Returns
    -------
    Series
        CLV per customer, in the currency of the spend data, indexed like ``data``.

    Examples
    --------
    >>> import clvmodels as clv, pandas as pd
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> s = pd.DataFrame({"frequency": [2.0], "recency": [30.43], "T": [38.86], "monetary_value": [20.0]})
    >>> v = lifetime_value(bg, gg, s, horizon=12, unit="M", discount_rate=0.0)
    >>> bool(abs(v.iloc[0] - bg.expected_purchases(s, t=12 * 365.2425 / 12 / 7).iloc[0]
    ...          * gg.expected_spend(s).iloc[0]) < 1e-9)
    True
    """
    if not (np.isfinite(discount_rate) and discount_rate > -1):
        raise ValueError(f"The 'discount_rate' parameter must be a rate per period > -1. Got {discount_rate!r} instead.")
    unit = normalize_unit(unit)
    munit = _model_unit(transaction_model, data, model_unit)
    start = getattr(data, "attrs", {}).get("calibration_end")
    edges = period_edges(horizon, unit, munit, start=start)
    spend = spend_model.expected_spend(data)
    discounted = pd.Series(0.0, index=spend.index)
    previous = 0.0
    for k, t_k in enumerate(edges, start=1):
        cumulative = transaction_model.expected_purchases(data, t=t_k)
        discounted += (cumulative - previous) / (1.0 + discount_rate) ** k
        previous = cumulative
    return (margin * spend * discounted).rename("clv")


def customer_equity(transaction_model, spend_model, data: pd.DataFrame, **kwargs) -> float:
    """Customer equity: the sum of :func:`lifetime_value` over the customers in ``data``.

    Keyword arguments are those of :func:`lifetime_value`.

    Examples
    --------
    >>> import clvmodels as clv, pandas as pd
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> s = pd.DataFrame({"frequency": [2.0, 0.0], "recency": [30.43, 0.0], "T": [38.86, 20.0],
    ...                   "monetary_value": [20.0, 0.0]})
    >>> ce = customer_equity(bg, gg, s, horizon=12, unit="M", discount_rate=0.01)
    >>> bool(abs(ce - lifetime_value(bg, gg, s, horizon=12, unit="M", discount_rate=0.01).sum()) < 1e-9)
    True
    """
    return float(lifetime_value(transaction_model, spend_model, data, **kwargs).sum())
