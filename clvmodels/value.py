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

__all__ = [
    "lifetime_value",
    "customer_equity",
    "clv_table",
    "continuous_rate",
    "customer_equity_by_cohort",
    "customer_equity_by_cohort_posterior",
    "contractual_value",
    "retention_clv",
]


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
    hdi_prob: float = 0.94,
    return_draws: bool = False,
):
    """Discounted expected margin of each customer over the next ``horizon`` periods.

    When either model holds a posterior (fitted with ``sample``), the CLV is evaluated at every
    draw in bounded memory (:func:`clvmodels.posterior.lifetime_value`) and the result is a
    DataFrame of ``mean``, ``sd``, ``hdi_lower``, ``hdi_upper`` per customer (or the draws
    with ``return_draws=True``).

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
    hdi_prob, return_draws : float, bool
        Posterior only: HDI probability; return the draws (chain, draw, customer) instead.

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
    from clvmodels import posterior

    if posterior.is_posterior(transaction_model) or posterior.is_posterior(spend_model):
        return posterior.lifetime_value(transaction_model, spend_model, data, horizon=horizon, unit=unit,
                                        discount_rate=discount_rate, margin=margin, model_unit=model_unit,
                                        hdi_prob=hdi_prob, return_draws=return_draws)
    if not (np.isfinite(discount_rate) and discount_rate > -1):
        raise ValueError(f"The 'discount_rate' parameter must be a rate per period > -1. Got {discount_rate!r} instead.")
    unit = normalize_unit(unit)
    munit = _model_unit(transaction_model, data, model_unit)
    start = getattr(data, "attrs", {}).get("calibration_end")
    edges = period_edges(horizon, unit, munit, start=start)
    spend = spend_model.expected_spend(data)
    _, discounted = _discounted_purchases(transaction_model, data, edges, discount_rate)
    return (margin * spend * discounted).rename("clv")


def customer_equity(transaction_model, spend_model, data: pd.DataFrame, **kwargs):
    """Customer equity: the sum of :func:`lifetime_value` over the customers in ``data``.

    Keyword arguments are those of :func:`lifetime_value`. When either model holds a
    posterior, the total is computed per draw (:func:`clvmodels.posterior.customer_equity`)
    and returned as a Series of ``mean``, ``sd``, ``hdi_lower``, ``hdi_upper`` (or the
    per-draw totals with ``return_draws=True``).

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
    from clvmodels import posterior

    if posterior.is_posterior(transaction_model) or posterior.is_posterior(spend_model):
        return posterior.customer_equity(transaction_model, spend_model, data, **kwargs)
    return float(lifetime_value(transaction_model, spend_model, data, **kwargs).sum())


# --------------------------------------------------------------------------- extended value
# Everything below works through the models' public prediction calls only
# (expected_purchases, expected_spend, discounted_expected_residual_transactions,
# discounted_expected_residual_lifetime): no model formula is repeated here.


def _discounted_purchases(transaction_model, data, edges, discount_rate) -> tuple[pd.Series, pd.Series]:
    """Undiscounted and discounted expected purchases over the periods ending at ``edges``.

    Purchases expected in period ``k`` are discounted by ``(1 + discount_rate) ** -k``: to the
    end of the period in which they happen.
    """
    discounted = None
    previous = 0.0
    cumulative = None
    for k, t_k in enumerate(edges, start=1):
        cumulative = transaction_model.expected_purchases(data, t=float(t_k))
        step = (cumulative - previous) / (1.0 + discount_rate) ** k
        discounted = step if discounted is None else discounted + step
        previous = cumulative
    return cumulative.rename("expected_purchases"), discounted.rename("discounted_purchases")


def _per_customer(value, index: pd.Index, name: str) -> pd.Series:
    """A scalar, or a Series aligned on the customers, as a float Series over ``index``."""
    if isinstance(value, pd.Series):
        missing = index.difference(value.index)
        if len(missing):
            raise ValueError(
                f"The '{name}' Series has no value for {len(missing)} customers of the summary (first: "
                f"{', '.join(map(repr, missing[:5].tolist()))}). Index it by the summary's customer ids."
            )
        out = pd.to_numeric(value.reindex(index), errors="coerce").astype(float)
    else:
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 0:
            out = pd.Series(float(arr), index=index)
        elif arr.shape == (len(index),):
            out = pd.Series(arr, index=index)
        else:
            raise ValueError(
                f"The '{name}' parameter must be a number or one value per customer ({len(index)}). "
                f"Got shape {arr.shape} instead."
            )
    bad = ~np.isfinite(out.to_numpy())
    if bad.any():
        raise ValueError(
            f"The '{name}' parameter must be finite for every customer; {int(bad.sum())} are not (first: "
            f"{', '.join(map(repr, index[bad][:5].tolist()))})."
        )
    return out.rename(name)


def continuous_rate(discount_rate: float, unit: str, model_unit: str) -> float:
    """Continuously compounded discount rate per ``model_unit`` equivalent to ``discount_rate`` per ``unit``.

    .. math:: \\delta = \\frac{\\ln(1 + d)}{\\text{length of one unit in model units}}

    Month and year lengths are the mean Gregorian ones (see :mod:`clvmodels.units`): a rate
    per year becomes a rate per week by dividing :math:`\\ln(1+d)` by 365.2425 / 7.

    Parameters
    ----------
    discount_rate : float
        Discount rate per period of ``unit`` (0.10 = 10 %).
    unit, model_unit : str
        Unit of ``discount_rate``; unit of the returned rate (the model's time unit).

    Examples
    --------
    >>> round(continuous_rate(0.10, "Y", "W"), 8)  # ln(1.1) / (365.2425 / 7)
    0.00182665
    >>> round(continuous_rate(0.01, "W", "W"), 8)  # ln(1.01)
    0.00995033
    """
    from clvmodels.units import convert

    if not (np.isfinite(discount_rate) and discount_rate > -1):
        raise ValueError(f"The 'discount_rate' parameter must be a rate per period > -1. Got {discount_rate!r} instead.")
    return float(np.log1p(discount_rate) / convert(1.0, unit, model_unit))


#: Names under which transaction models offer the closed-form DERT, in order of preference.
_DERT_METHODS = ("discounted_expected_residual_transactions", "discounted_expected_transactions")


def _dert(transaction_model, data, delta: float) -> pd.Series:
    # clvmodels models all have the method (TransactionModel); their spec says whether it applies
    spec = getattr(transaction_model, "spec", None)
    method = next((getattr(transaction_model, n) for n in _DERT_METHODS
                   if hasattr(transaction_model, n) and (spec is None or n in spec.predictions)), None)
    if method is None:
        raise ValueError(
            f"discounting='continuous' needs the closed-form discounted expected residual transactions (DERT), "
            f"which {type(transaction_model).__name__} does not provide. Use discounting='discrete' with a horizon, "
            f"or a model that has it (BetaGeo, ParetoNBD)."
        )
    return method(data, discount_rate=delta).rename("discounted_purchases")


def _units_statement(horizon, unit, munit, start, edges, discount_rate, discounting, delta) -> str:
    if discounting == "continuous":
        return (
            f"continuous discounting over an unlimited horizon at {discount_rate:g} per {unit} = "
            f"{delta:.6g} per {munit} (the model's unit), delta = ln(1 + rate) / ({unit} in {munit}); "
            f"months/years at their mean Gregorian length"
        )
    calendar = (
        f"calendar {'months' if unit == 'M' else 'years'} from {start}"
        if start is not None and unit in ("M", "Y")
        else ("mean Gregorian lengths" if unit in ("M", "Y") else "exact lengths")
    )
    return (
        f"horizon of {horizon} periods of {unit} ({calendar}) = {edges[-1]:.6g} {munit} (the model's unit); "
        f"discount rate {discount_rate:g} per {unit}, purchases discounted to the end of their period"
    )


def clv_table(
    transaction_model,
    spend_model,
    data: pd.DataFrame,
    *,
    horizon: int | None = 12,
    unit: str = "M",
    discount_rate: float = 0.0,
    margin=1.0,
    service_cost=None,
    discounting: str = "discrete",
    model_unit: str | None = None,
) -> pd.DataFrame:
    """Per-customer lifetime value with its parts, in stated units.

    .. math::

        \\mathrm{CLV}_i = D_i \\, \\bigl(m_i \\, E[Z_i] - c_i\\bigr)

    where :math:`E[Z_i]` is the expected spend per purchase (``spend_model``), :math:`m_i`
    the margin, :math:`c_i` the service cost per purchase and :math:`D_i` the discounted
    expected number of purchases:

    - ``discounting="discrete"``: :math:`D_i = \\sum_{k=1}^{H} \\Delta E[Y_i(t_k)] / (1+d)^k`,
      purchases of period :math:`k` of ``unit`` discounted to its end; months and years are
      cut at calendar boundaries from ``data.attrs["calibration_end"]`` when known;
    - ``discounting="continuous"``: :math:`D_i = \\mathrm{DERT}_i(\\delta)`, the closed-form
      discounted expected residual transactions over an unlimited horizon (``horizon=None``),
      with :math:`\\delta` = :func:`continuous_rate` ``(discount_rate, unit, model unit)``.

    Parameters
    ----------
    transaction_model : TransactionModel
        Fitted purchase model.
    spend_model : SpendModel
        Fitted spend model.
    data : DataFrame
        Customer summary with the columns both models read; never modified.
    horizon : int or None
        Number of periods of ``unit`` (discrete); ``None`` with continuous discounting.
    unit : {"D", "W", "M", "Y"}
        Length of one period; ``discount_rate`` is per period of this unit.
    discount_rate : float
        Discount rate per period of ``unit``.
    margin : float or Series
        Share of spend that is profit, overall or per customer.
    service_cost : float or Series, optional
        Cost of serving one purchase (currency per purchase), overall or per customer;
        discounted like the purchases it belongs to.
    discounting : {"discrete", "continuous"}
        See above.
    model_unit : str, optional
        Time unit of the transaction model, if neither the model nor the summary records it.

    Returns
    -------
    DataFrame
        Indexed like ``data``: ``expected_purchases`` (undiscounted, over the horizon; NaN for
        an unlimited horizon), ``discounted_purchases``, ``expected_spend``, ``margin``,
        ``service_cost``, ``clv``. ``attrs["units"]`` states the conversions made.

    Examples
    --------
    >>> import clvmodels as clv, pandas as pd
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> s = pd.DataFrame({"frequency": [2.0, 0.0], "recency": [30.43, 0.0], "T": [38.86, 38.86],
    ...                   "monetary_value": [20.0, 0.0]})
    >>> t = clv_table(bg, gg, s, horizon=1, unit="Y", discount_rate=0.1, margin=0.3, service_cost=1.0)
    >>> print(t.attrs["units"])
    horizon of 1 periods of Y (mean Gregorian lengths) = 52.1775 W (the model's unit); discount rate 0.1 per Y, purchases discounted to the end of their period
    >>> bool(abs(t["clv"] - t["expected_purchases"] / 1.1 * (0.3 * t["expected_spend"] - 1.0)).max() < 1e-12)
    True
    """
    if discounting not in ("discrete", "continuous"):
        raise ValueError(f"The 'discounting' parameter must be 'discrete' or 'continuous'. Got {discounting!r} instead.")
    if not (np.isfinite(discount_rate) and discount_rate > -1):
        raise ValueError(f"The 'discount_rate' parameter must be a rate per period > -1. Got {discount_rate!r} instead.")
    if any(getattr(m, "posterior_", None) is not None for m in (transaction_model, spend_model)):
        raise ValueError(
            "clv_table evaluates point fits. For a posterior use clvmodels.lifetime_value / customer_equity "
            "(mean, sd and HDI per customer and for the total), or customer_equity_by_cohort_posterior."
        )
    unit = normalize_unit(unit)
    munit = _model_unit(transaction_model, data, model_unit)
    start = getattr(data, "attrs", {}).get("calibration_end")
    spend = spend_model.expected_spend(data).rename("expected_spend")
    index = spend.index
    m = _per_customer(margin, index, "margin")
    cost = _per_customer(0.0 if service_cost is None else service_cost, index, "service_cost")
    if discounting == "continuous":
        if horizon is not None:
            raise ValueError(
                "The closed-form DERT is over an unlimited horizon: pass horizon=None with discounting='continuous', "
                "or use discounting='discrete' for a finite horizon."
            )
        if not discount_rate > 0:
            raise ValueError(
                f"Continuous discounting over an unlimited horizon needs a discount_rate > 0. Got {discount_rate!r} instead."
            )
        delta = continuous_rate(discount_rate, unit, munit)
        discounted = _dert(transaction_model, data, delta)
        total = pd.Series(np.nan, index=index, name="expected_purchases")
        edges = None
    else:
        if horizon is None:
            raise ValueError("Discrete discounting needs a finite horizon (a whole number of periods of 'unit').")
        delta = None
        edges = period_edges(horizon, unit, munit, start=start)
        total, discounted = _discounted_purchases(transaction_model, data, edges, discount_rate)
    out = pd.DataFrame(
        {
            "expected_purchases": total.to_numpy(),
            "discounted_purchases": discounted.to_numpy(),
            "expected_spend": spend.to_numpy(),
            "margin": m.to_numpy(),
            "service_cost": cost.to_numpy(),
        },
        index=index,
    )
    out["clv"] = out["discounted_purchases"] * (out["margin"] * out["expected_spend"] - out["service_cost"])
    out.attrs["units"] = _units_statement(horizon, unit, munit, start, edges, discount_rate, discounting, delta)
    out.attrs["model_unit"] = munit
    return out


def _acquisition_period(data: pd.DataFrame, cohort_unit: str, calibration_end=None, model_unit=None) -> pd.Series:
    """Calendar period of each customer's first purchase: calibration_end - T."""
    attrs = getattr(data, "attrs", {})
    cal_end = calibration_end or attrs.get("calibration_end")
    unit = model_unit or attrs.get("unit")
    if cal_end is None or unit is None:
        raise ValueError(
            "Deriving acquisition cohorts needs the calibration end date and the time unit of 'T'; the summary "
            "does not record them (data.attrs). Pass calibration_end= and model_unit=, or cohort='<column>'."
        )
    from clvmodels.units import unit_days

    days = np.round(data["T"].to_numpy(dtype=float) * unit_days(unit))
    first = pd.Timestamp(cal_end) - pd.to_timedelta(days, unit="D")
    freq = {"M": "M", "Q": "Q", "Y": "Y", "W": "W"}.get(str(cohort_unit).upper())
    if freq is None:
        raise ValueError(f"The 'cohort_unit' parameter must be 'W', 'M', 'Q' or 'Y'. Got {cohort_unit!r} instead.")
    return pd.Series(first.to_period(freq).astype(str), index=data.index, name="cohort")


def customer_equity_by_cohort(
    clv: pd.Series,
    data: pd.DataFrame | None = None,
    *,
    cohort=None,
    cohort_unit: str = "M",
    calibration_end=None,
    model_unit: str | None = None,
) -> pd.DataFrame:
    """Customer equity by cohort and in total, from per-customer CLV.

    Parameters
    ----------
    clv : Series
        CLV per customer (e.g. ``clv_table(...)["clv"]`` or :func:`lifetime_value`).
    data : DataFrame, optional
        The customer summary, to take the cohort from; never modified.
    cohort : str or Series, optional
        A column of ``data`` or a Series indexed like ``clv``. By default the acquisition
        period: first purchase = ``calibration_end - T`` (from ``data.attrs``, or the
        arguments), as a calendar period of ``cohort_unit``.
    cohort_unit : {"W", "M", "Q", "Y"}
        Length of the acquisition periods.
    calibration_end, model_unit : optional
        When the summary's ``attrs`` do not record them.

    Returns
    -------
    DataFrame
        One row per cohort then a ``"total"`` row: ``n_customers``, ``customer_equity``,
        ``mean_clv``, ``share_of_equity``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"T": [38.86, 30.0, 25.0]}, index=[1, 2, 3])
    >>> s.attrs.update(unit="W", calibration_end="1997-09-30")
    >>> customer_equity_by_cohort(pd.Series([10.0, 20.0, 30.0], index=[1, 2, 3]), s, cohort_unit="M")
             n_customers  customer_equity  mean_clv  share_of_equity
    cohort
    1997-01            1             10.0      10.0         0.166667
    1997-03            1             20.0      20.0         0.333333
    1997-04            1             30.0      30.0         0.500000
    total              3             60.0      20.0         1.000000
    """
    if isinstance(clv, pd.DataFrame):
        raise TypeError(
            "customer_equity_by_cohort takes one CLV per customer (a Series). A posterior CLV table (mean, sd, HDI) "
            "cannot be summed into cohort intervals: use customer_equity_by_cohort_posterior(transaction_model, "
            "spend_model, data, ...) instead."
        )
    clv = pd.Series(clv, dtype=float)
    if isinstance(cohort, str):
        if data is None or cohort not in data.columns:
            raise ValueError(f"cohort={cohort!r} names no column of 'data'; pass the summary holding it, or a Series.")
        labels = data[cohort]
    elif isinstance(cohort, pd.Series):
        labels = cohort
    elif cohort is None:
        if data is None:
            raise ValueError("Pass the summary as 'data' (to derive acquisition cohorts from T) or a 'cohort' Series.")
        labels = _acquisition_period(data, cohort_unit, calibration_end, model_unit)
    else:
        raise TypeError(f"The 'cohort' parameter must be a column name or a Series. Got {type(cohort).__name__} instead.")
    missing = clv.index.difference(labels.index)
    if len(missing):
        raise ValueError(
            f"No cohort for {len(missing)} customers of 'clv' (first: {', '.join(map(repr, missing[:5].tolist()))}); "
            f"index the cohorts like the CLV."
        )
    labels = labels.reindex(clv.index).rename("cohort")
    frame = pd.DataFrame({"clv": clv.to_numpy(), "cohort": labels.to_numpy()}, index=clv.index)
    g = frame.groupby("cohort", sort=True)["clv"]
    table = pd.DataFrame({"n_customers": g.size(), "customer_equity": g.sum(), "mean_clv": g.mean()})
    table.index = table.index.astype(str)
    total = pd.DataFrame(
        {"n_customers": [len(clv)], "customer_equity": [clv.sum()], "mean_clv": [clv.mean()]}, index=["total"]
    )
    table = pd.concat([table, total])
    table.index.name = "cohort"
    table["share_of_equity"] = table["customer_equity"] / float(clv.sum()) if clv.sum() != 0 else np.nan
    return table


def customer_equity_by_cohort_posterior(
    transaction_model,
    spend_model,
    data: pd.DataFrame,
    *,
    cohort=None,
    cohort_unit: str = "M",
    hdi_prob: float = 0.94,
    calibration_end=None,
    model_unit: str | None = None,
    **kwargs,
) -> pd.DataFrame:
    """Customer equity by cohort and in total from a posterior: mean, sd and HDI of each total.

    At each posterior draw the CLV of the customers of a cohort is summed
    (:func:`clvmodels.posterior.customer_equity`, in bounded memory); the draws of the total
    are the sums of the cohorts' draws, so the total's interval is that of the sum, not a sum
    of intervals.

    Parameters
    ----------
    transaction_model, spend_model
        Models of which at least one holds a posterior.
    data : DataFrame
        Customer summary; never modified.
    cohort, cohort_unit, calibration_end, model_unit
        As in :func:`customer_equity_by_cohort`.
    hdi_prob : float
        Probability of the HDIs.
    **kwargs
        Passed to the CLV (``horizon``, ``unit``, ``discount_rate``, ``margin``, ``model_unit``).

    Returns
    -------
    DataFrame
        One row per cohort then ``total``: ``n_customers``, ``mean``, ``sd``, ``hdi_lower``,
        ``hdi_upper``.

    Examples
    --------
    >>> import clvmodels as clv, numpy as np, pandas as pd
    >>> from clvmodels.models.bgnbd import simulate
    >>> d = pd.DataFrame(simulate(np.random.default_rng(0), 300, 0.5, 4.0, 0.8, 2.5, T=40.0))
    >>> d["monetary_value"] = np.where(d["frequency"] > 0, 20.0, 0.0)
    >>> d["channel"] = np.where(np.arange(300) % 3 == 0, "shop", "web")
    >>> bg = clv.BetaGeo().sample(d, draws=100, tune=100, chains=1, random_seed=1, progressbar=False)
    >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> t = customer_equity_by_cohort_posterior(bg, gg, d, cohort="channel", horizon=6, unit="M",
    ...                                         model_unit="W")
    >>> t.index.tolist(), bool(abs(t.loc["total", "mean"] - t["mean"].iloc[:2].sum()) < 1e-6)
    (['shop', 'web', 'total'], True)
    """
    from clvmodels.posterior import customer_equity as posterior_equity
    from clvmodels.posterior import hdi_columns

    if isinstance(cohort, str):
        if cohort not in data.columns:
            raise ValueError(f"cohort={cohort!r} names no column of 'data'; pass a column name or a Series.")
        labels = data[cohort].astype(str)
    elif isinstance(cohort, pd.Series):
        labels = cohort.reindex(data.index).astype(str)
    else:
        labels = _acquisition_period(data, cohort_unit, calibration_end, model_unit)
    if model_unit is not None:
        kwargs["model_unit"] = model_unit
    names, counts, draws = [], [], []
    for name in sorted(labels.unique()):
        rows = (labels == name).to_numpy()
        part = data[rows]
        part.attrs = dict(getattr(data, "attrs", {}))
        totals = posterior_equity(transaction_model, spend_model, part, hdi_prob=hdi_prob, return_draws=True, **kwargs)
        names.append(name)
        counts.append(int(rows.sum()))
        draws.append(np.asarray(totals, dtype=float).reshape(-1))
    per_draw = np.column_stack(draws + [np.sum(draws, axis=0)])
    lo, hi = hdi_columns(per_draw, hdi_prob)
    out = pd.DataFrame(
        {
            "n_customers": counts + [int(sum(counts))],
            "mean": per_draw.mean(axis=0),
            "sd": per_draw.std(axis=0, ddof=1) if per_draw.shape[0] > 1 else np.zeros(per_draw.shape[1]),
            "hdi_lower": lo,
            "hdi_upper": hi,
        },
        index=pd.Index(names + ["total"], name="cohort"),
    )
    out.attrs["hdi_prob"] = hdi_prob
    return out


def contractual_value(
    model,
    *,
    margin,
    discount_rate: float,
    renewals=0,
) -> pd.DataFrame:
    """Expected residual value of contractual customers: margin x discounted expected residual lifetime.

    .. math:: E[\\mathrm{RLV}] = m \\cdot \\mathrm{DERL}(d \\mid \\text{renewals})

    as in Fader & Hardie (2010), "Customer-base valuation in a contractual setting", with the
    DERL of the fitted shifted-beta-geometric model (its closed form; see the sBG model
    page). The value is taken just before the customer's next renewal decision: the payment
    of that renewal, if she renews, counts at full value, each later one is discounted one
    more period. The margin is per contract period and the discount rate per contract period.

    Parameters
    ----------
    model : ShiftedBetaGeo
        Fitted sBG model, with ``discounted_expected_residual_lifetime``.
    margin : float
        Margin per contract period (currency).
    discount_rate : float
        Discount rate per contract period.
    renewals : int or array of int
        Number of renewals each customer has made so far (0 = just acquired).

    Returns
    -------
    DataFrame
        Indexed by ``renewals``: ``derl`` and ``residual_value``.

    Examples
    --------
    >>> import clvmodels as clv
    >>> sbg = clv.ShiftedBetaGeo.from_params(alpha=0.704, beta=1.182)  # "Regular", Fader & Hardie (2007)
    >>> contractual_value(sbg, margin=100.0, discount_rate=0.10, renewals=[0, 4]).round(2)
              derl  residual_value
    renewals
    0         2.96          296.47
    4         5.89          589.44
    """
    method = getattr(model, "discounted_expected_residual_lifetime", None)
    if method is None:
        raise ValueError(
            f"contractual_value needs a model with a discounted expected residual lifetime (the shifted-beta-geometric "
            f"ShiftedBetaGeo); {type(model).__name__} has none."
        )
    if not (np.isfinite(discount_rate) and discount_rate > 0):
        raise ValueError(f"The 'discount_rate' parameter must be > 0 per period. Got {discount_rate!r} instead.")
    n = np.atleast_1d(np.asarray(renewals, dtype=float))
    if not np.all((n >= 0) & (n == np.round(n))):
        raise ValueError(f"The 'renewals' parameter must hold whole numbers >= 0. Got {renewals!r} instead.")
    derl = np.asarray(method(discount_rate=discount_rate, renewals=n), dtype=float).reshape(n.shape)
    out = pd.DataFrame({"derl": derl}, index=pd.Index(n.astype(int), name="renewals"))
    out["residual_value"] = margin * out["derl"]
    return out


def retention_clv(
    margin,
    retention,
    discount_rate,
    acquisition_cost=0.0,
    *,
    timing: str = "start",
    horizon: int | None = None,
):
    """The textbook CLV of a customer with constant retention (the simple model analysts know).

    With margin :math:`m` per period, retention :math:`r`, discount rate :math:`i` per period,
    acquisition cost :math:`c` and :math:`q = r / (1+i)`:

    - ``timing="start"``: the margin arrives at the start of each period, the first one now
      (undiscounted), each later one if the customer is retained:
      :math:`\\sum_{t=0}^{H-1} m q^t - c`, which for an unlimited horizon is
      :math:`m (1+i) / (1+i-r) - c`;
    - ``timing="end"``: the margin arrives at the end of each period the customer is retained
      for (Gupta & Lehmann 2003, "Customers as assets"): :math:`\\sum_{t=1}^{H} m q^t - c`,
      unlimited: :math:`m r / (1+i-r) - c`.

    The finite sums are evaluated by their closed form :math:`\\sum_{t=0}^{H-1} q^t = (1-q^H)/(1-q)`.

    Parameters
    ----------
    margin, retention, discount_rate, acquisition_cost : float or array
        :math:`m`, :math:`r \\in [0, 1]`, :math:`i > -1` with :math:`r < 1 + i`, :math:`c`;
        arrays broadcast.
    timing : {"start", "end"}
        When in a period the margin arrives.
    horizon : int, optional
        Number of periods (unlimited by default).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(retention_clv(100.0, 0.8, 0.10, 50.0), 4)  # 100 * 1.1 / 0.3 - 50
    316.6667
    >>> round(retention_clv(100.0, 0.8, 0.10, timing="end"), 4)  # 100 * 0.8 / 0.3
    266.6667
    >>> round(retention_clv(100.0, 0.8, 0.10, horizon=2), 4)  # 100 + 100 * 0.8 / 1.1
    172.7273
    """
    if timing not in ("start", "end"):
        raise ValueError(f"The 'timing' parameter must be 'start' or 'end'. Got {timing!r} instead.")
    m, r, i, c = (np.asarray(v, dtype=float) for v in (margin, retention, discount_rate, acquisition_cost))
    if np.any(~np.isfinite(r) | (r < 0) | (r > 1)):
        raise ValueError(f"The 'retention' parameter must be a probability in [0, 1]. Got {retention!r} instead.")
    if np.any(~np.isfinite(i) | (i <= -1)):
        raise ValueError(f"The 'discount_rate' parameter must be > -1. Got {discount_rate!r} instead.")
    q = r / (1.0 + i)
    if horizon is None:
        if np.any(q >= 1):
            raise ValueError(
                "With an unlimited horizon the value is finite only when retention < 1 + discount_rate; "
                f"got retention={retention!r}, discount_rate={discount_rate!r}. Pass a finite horizon."
            )
        series = 1.0 / (1.0 - q)
    else:
        if int(horizon) != horizon or horizon < 0:
            raise ValueError(f"The 'horizon' parameter must be a whole number >= 0. Got {horizon!r} instead.")
        with np.errstate(divide="ignore", invalid="ignore"):
            series = np.where(q == 1.0, float(horizon), (1.0 - q ** int(horizon)) / np.where(q == 1.0, 0.5, 1.0 - q))
    value = m * series * (q if timing == "end" else 1.0) - c
    return float(value) if np.ndim(value) == 0 else value
