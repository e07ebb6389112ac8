"""The history of one customer's P(alive) over time (lifetimes' ``calculate_alive_path``).

At each age (time since the first purchase) the customer's summary *as it stood then*
(repeat purchase days so far, recency, T = the age) is scored by the model's own
``probability_alive``: the curve jumps up at each purchase and decays in between. Nothing is
computed here but the summaries; P(alive) is the model module's one formula, through the
prediction engine, so a posterior gives its mean and HDI at every age.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clvmodels.checks import check_number
from clvmodels.data.attrs import with_unit
from clvmodels.data.dates import parse_dates
from clvmodels.errors import ClvDataError, UnitMismatchError
from clvmodels.estimators import TransactionModel
from clvmodels.units import normalize_unit, unit_days

__all__ = ["alive_path"]

#: The summary columns of models whose P(alive) is a function of continuous-time histories.
_RFM = ("frequency", "recency", "T")


def alive_path(
    model: TransactionModel,
    transactions: pd.DataFrame,
    t: float,
    *,
    date_col: str = "date",
    customer=None,
    customer_col: str = "customer_id",
    step: float = 1.0,
    unit: str | None = None,
    date_format: str | None = None,
    hdi_prob: float = 0.94,
) -> pd.DataFrame:
    """P(alive) of one customer at ages 0, ``step``, 2 ``step``, ... ``t`` after the first purchase.

    Purchases are counted by day, as in :func:`clvmodels.rfm_summary`: at age ``a`` the
    customer's frequency is the number of purchase days after the first one up to age ``a``
    (inclusive), recency the age of the last of them, and T = ``a``. Ages are continuous, in
    the model's time unit (days / 7 for weeks; 30.436875-day months).

    Parameters
    ----------
    model : BetaGeo, ParetoNBD or ModifiedBetaGeo
        A fitted continuous-time model (a point fit or a posterior).
    transactions : DataFrame
        Transactions of one customer, or of many with ``customer`` naming the one to trace.
        Not modified.
    t : float
        Last age to evaluate, in the model's unit.
    date_col : str
        Column of the transaction dates.
    customer : optional
        The customer id to trace, looked up in ``customer_col``.
    customer_col : str
        Column of customer ids (used with ``customer``, and to refuse a log of several customers).
    step : float
        Spacing of the ages, in the model's unit.
    unit : {"H", "D", "W", "M", "Y"}, optional
        Time unit of ``t`` and ``step``; by default the model's (the unit it was fitted in).
        Required when the model records none.
    date_format : str, optional
        ``strftime`` layout of ``date_col`` (as in :func:`clvmodels.rfm_summary`).
    hdi_prob : float
        Posterior only: probability of the HDI.

    Returns
    -------
    DataFrame
        Indexed by ``age`` (in ``unit``), with ``date`` (the first purchase day plus the age),
        ``frequency``, ``recency``, ``T``, ``new_purchases`` (purchase days since the previous
        age; 1 at age 0 for the first purchase) and ``p_alive``; from a posterior also
        ``p_alive_sd``, ``p_alive_hdi_lower`` and ``p_alive_hdi_upper``. ``attrs`` hold
        ``unit`` and ``customer``.

    Notes
    -----
    lifetimes' ``calculate_alive_path(model, transactions, datetime_col, t, freq)`` resamples
    the log to calendar periods of ``freq`` (``"W"``: weeks ending on Sunday) and counts a
    period with a purchase as one; with daily data and ``freq="D"`` it is this function with
    ``unit="D"``. Here the unit is the model's, and ages are exact times since the first
    purchase.

    Examples
    --------
    >>> import clvmodels as clv
    >>> import pandas as pd
    >>> from clvmodels.alive_history import alive_path
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> tx = pd.DataFrame({"date": ["1997-01-01", "1997-01-15", "1997-03-12"]})
    >>> path = alive_path(bg, tx, t=20)
    >>> path.loc[[0, 2, 9, 10, 20], "frequency"].tolist()
    [0, 1, 1, 2, 2]
    >>> path.loc[[0, 2, 9, 10, 20], "p_alive"].round(3).tolist()
    [1.0, 0.754, 0.55, 0.812, 0.57]
    """
    if not isinstance(model, TransactionModel) or tuple(model.spec.data_names) != _RFM:
        title = getattr(getattr(model, "spec", None), "title", type(model).__name__)
        raise TypeError(f"alive_path needs a continuous-time purchase model (BetaGeo, ParetoNBD, ModifiedBetaGeo) "
                        f"whose summary is frequency, recency, T; got {title}.")
    fitted_unit = model.unit_
    if unit is None and fitted_unit is None:
        raise ValueError("The model records no time unit (it was built from parameters or fitted on a table "
                         "without one): pass unit='W' (or 'D', 'M', 'Y'), the unit its parameters refer to.")
    unit = normalize_unit(unit if unit is not None else fitted_unit)
    if fitted_unit is not None and unit != fitted_unit:
        raise UnitMismatchError(f"The model was fitted in unit {fitted_unit!r} but alive_path was given "
                                f"unit={unit!r}; pass unit={fitted_unit!r} (t and step are read in it).")
    t = float(check_number("t", t, low=0, where="alive_path"))
    step = float(check_number("step", step, low=0, low_open=True, where="alive_path"))
    if not isinstance(transactions, pd.DataFrame):
        raise TypeError(f"alive_path reads a pandas DataFrame of transactions; got {type(transactions).__name__}.")
    if date_col not in transactions.columns:
        raise ClvDataError(f"The transactions have no column {date_col!r} (columns: {list(transactions.columns)}); "
                           f"pass date_col= naming the transaction dates.")
    rows = transactions
    if customer is not None:
        if customer_col not in transactions.columns:
            raise ClvDataError(f"customer={customer!r} was given but the transactions have no column "
                               f"{customer_col!r}; pass customer_col= naming the customer ids.")
        rows = transactions[transactions[customer_col] == customer]
        if rows.empty:
            raise ClvDataError(f"No transaction of customer {customer!r} in column {customer_col!r}.")
    elif customer_col in transactions.columns and transactions[customer_col].nunique(dropna=False) > 1:
        ids = transactions[customer_col].drop_duplicates().head(3).tolist()
        raise ClvDataError(f"The transactions belong to {transactions[customer_col].nunique(dropna=False)} customers "
                           f"(e.g. {ids}): pass customer= with the one to trace, or that customer's rows only.")
    if rows.empty:
        raise ClvDataError("The transactions are empty: a P(alive) path starts at a first purchase.")
    days = parse_dates(rows[date_col], date_col, date_format=date_format).dt.normalize()
    first = days.min()
    # purchase days as ages in the unit: one purchase per day, as rfm_summary counts them
    purchase_ages = np.unique(((days - first).dt.days.to_numpy(dtype=float))) / unit_days(unit)
    ages = np.arange(0.0, t + step * 1e-9, step)
    # purchases up to each age, inclusive; a tiny slack so that a purchase on a step lands on it
    done = np.searchsorted(purchase_ages, ages * (1 + 1e-12) + 1e-12, side="right")
    frequency = done - 1
    recency = purchase_ages[done - 1]
    summary = pd.DataFrame({"frequency": frequency, "recency": recency, "T": ages},
                           index=pd.Index(ages, name="age"))
    p_alive = model.probability_alive(with_unit(summary, unit), hdi_prob=hdi_prob)
    out = summary.copy()
    out.insert(0, "date", first + pd.to_timedelta(ages * unit_days(unit), unit="D"))
    out["new_purchases"] = np.diff(done, prepend=0)
    if isinstance(p_alive, pd.DataFrame):
        out["p_alive"] = p_alive["mean"]
        for col in ("sd", "hdi_lower", "hdi_upper"):
            out[f"p_alive_{col}"] = p_alive[col]
        out.attrs["hdi_prob"] = hdi_prob
    else:
        out["p_alive"] = p_alive
    out.attrs.update({"unit": unit, "customer": customer})
    return out
