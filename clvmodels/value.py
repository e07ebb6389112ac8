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

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from clvmodels import defaults
from clvmodels import predict
from clvmodels.checks import check_number, check_numbers, check_probability
from clvmodels.data.compress import compress
from clvmodels.fit import Fit
from clvmodels.intervals import STATISTICS, summarize
from clvmodels.units import convert, normalize_unit, period_edges, unit_days

__all__ = [
    "lifetime_value",
    "customer_equity",
    "clv_table",
    "score_table",
    "horizon_column",
    "with_horizon_names",
    "continuous_rate",
    "customer_equity_by_cohort",
    "customer_equity_by_cohort_posterior",
    "contractual_value",
    "retention_clv",
]


def _model_unit(transaction_model, data, model_unit) -> str:
    unit = model_unit or getattr(transaction_model, "unit_", None) or getattr(data, "attrs", {}).get("unit")
    if unit is None:
        raise ValueError(
            "The time unit of the transaction model is unknown (it was neither fitted on a clvmodels summary nor "
            "built with unit=...). Pass model_unit='W' (or 'D', 'M', 'Y') to lifetime_value."
        )
    return normalize_unit(unit, "model_unit")


def _discount_rate(discount_rate) -> float:
    rate = check_number("discount_rate", discount_rate)  # type and finiteness
    if not rate > -1:
        raise ValueError(f"The 'discount_rate' parameter must be a rate per period > -1. Got {discount_rate!r} instead.")
    return rate


def _numbers(name: str, values) -> np.ndarray:
    """A number or an array of numbers (any shape, for broadcasting), each finite."""
    if np.ndim(values) <= 1:
        return check_numbers(name, values)
    arr = np.asarray(values)
    if not np.issubdtype(arr.dtype, np.number) or arr.dtype == bool:
        raise TypeError(f"The '{name}' parameter must hold real numbers. Got dtype {arr.dtype} instead.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"The '{name}' parameter must hold finite numbers; {int((~np.isfinite(arr)).sum())} are not.")
    return arr.astype(float)


def _margin(margin) -> float:
    return check_number("margin", margin, low=0, high=1)


# --------------------------------------------------------------------------- the one CLV evaluation
@dataclass(frozen=True)
class _ClvInputs:
    """What one CLV evaluation reads: the two fits paired draw by draw, the data, the periods."""

    index: pd.Index
    t_theta: dict[str, np.ndarray]
    s_theta: dict[str, np.ndarray]
    t_arrays: dict[str, np.ndarray]
    s_arrays: dict[str, np.ndarray]
    purchases: Callable
    spend: Callable
    n_draws: int
    lead: Fit
    edges: np.ndarray | None
    factors: np.ndarray | None
    dert: Callable | None = None
    delta: float | None = None


def _inputs(tm, sm, data, *, horizon, unit, discount_rate, model_unit, discounting: str = "discrete") -> _ClvInputs:
    t_fit, s_fit = tm.fit_, sm.fit_
    unit = normalize_unit(unit)
    munit = _model_unit(tm, data, model_unit)
    index, t_arrays = tm._validated(data, for_fit=False)
    _, s_arrays = sm._validated(data, for_fit=False)
    # The two fits' parameters are independent (Gamma-Gamma assumes spend independent of the
    # purchase process), so pairing draw s of one with draw s of the other, cycling the shorter,
    # samples their joint posterior.
    lead = t_fit if t_fit.n_draws >= s_fit.n_draws else s_fit
    n_draws = lead.n_draws
    t_theta = {k: v[:, None] for k, v in predict.flat_draws(t_fit, n_draws).items()}
    s_theta = {k: v[:, None] for k, v in predict.flat_draws(s_fit, n_draws).items()}
    common = dict(index=index, t_theta=t_theta, s_theta=s_theta, t_arrays=t_arrays, s_arrays=s_arrays,
                  purchases=tm._prediction("expected_purchases"), spend=sm._prediction("expected_spend"),
                  n_draws=n_draws, lead=lead)
    if discounting == "continuous":
        dert = tm.spec.predictions.get("discounted_expected_transactions")
        if dert is None:
            raise ValueError(
                f"discounting='continuous' needs the closed-form discounted expected residual transactions (DERT), "
                f"which {type(tm).__name__} does not provide. Use discounting='discrete' with a horizon, "
                f"or a model that has it (BetaGeo, ParetoNBD)."
            )
        return _ClvInputs(**common, edges=None, factors=None, dert=dert, delta=continuous_rate(discount_rate, unit, munit))
    check_number("horizon", horizon)  # a real number; period_edges says which ones are valid
    edges = period_edges(horizon, unit, munit, start=getattr(data, "attrs", {}).get("calibration_end"))
    factors = (1.0 + discount_rate) ** -np.arange(1, len(edges) + 1, dtype=float)
    return _ClvInputs(**common, edges=edges, factors=factors)


def _clv_blocks(c: _ClvInputs, chunk_bytes: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Yield (customer positions, cumulative purchases, discounted purchases, spend), each draws x customers.

    Purchases in period ``k`` are discounted by ``(1 + d) ** -k``: to the end of the period in
    which they happen. The purchase factor (the expensive one: a hypergeometric function per
    period) is evaluated once per distinct (frequency, recency, T) row when there are many
    draws: customers are visited grouped by that row, so a block needs only the distinct rows
    of its own customers. One draw evaluates every row as it is (hashing would cost as much).
    """
    n = len(c.index)
    if c.n_draws > 1:
        t_unique, _, t_inverse = compress(c.t_arrays)
    else:
        t_unique, t_inverse = c.t_arrays, np.arange(n)
    order = np.argsort(t_inverse, kind="stable")
    together = c.dert is None and "t" in getattr(c.purchases, "broadcasts", ())
    # all period ends in one call make horizon-times larger temporaries: blocks shrink to match
    step = max(1, int(chunk_bytes // (8 * c.n_draws * 4 * (len(c.edges) if together else 1))))
    for start in range(0, n, step):
        pos = order[start:start + step]
        rows = t_inverse[pos]
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        t_rows = {k: v[lo:hi] for k, v in t_unique.items()}
        if c.dert is not None:
            discounted = predict.evaluate(c.dert, c.t_theta, t_rows, c.n_draws, discount_rate=c.delta)
            cumulative = np.full_like(discounted, np.nan)
        else:
            if together:
                # every period end in one call: what does not depend on t is computed once
                totals = predict.evaluate(c.purchases, c.t_theta, t_rows, c.n_draws,
                                          t=np.asarray(c.edges, dtype=float)[:, None, None])
            else:
                totals = [predict.evaluate(c.purchases, c.t_theta, t_rows, c.n_draws, t=float(t_k)) for t_k in c.edges]
            discounted, cumulative = 0.0, 0.0
            for factor, step_total in zip(c.factors, totals):
                discounted = discounted + (step_total - cumulative) * factor
                cumulative = step_total
        spend = predict.evaluate(c.spend, c.s_theta, {k: v[pos] for k, v in c.s_arrays.items()}, c.n_draws)
        idx = rows - lo
        yield pos, np.asarray(cumulative)[:, idx], np.asarray(discounted)[:, idx], spend


def _finite(values: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(values)):
        raise FloatingPointError(
            f"The {what} is not finite: an expected spend is infinite (the Gamma-Gamma mean does not exist when "
            f"q <= 1), or the sum overflowed. Check the spend model's parameters and the magnitudes of the spend data; "
            f"split the customers into smaller groups if the total exceeds 1e308."
        )
    return values


def _per_customer_output(values: np.ndarray, c: _ClvInputs, name: str, hdi_prob: float, return_draws: bool):
    """One draw: a Series; many: mean/sd/HDI per customer; or the draws (chain, draw, customer)."""
    if return_draws:
        return predict.draws_array(values, c.lead, c.index, name)
    if c.n_draws == 1:
        return pd.Series(values[0], index=c.index, name=name)
    frame = pd.DataFrame(summarize(values, hdi_prob), index=c.index)
    frame.attrs.update({"hdi_prob": hdi_prob, "quantity": name})
    return frame


def lifetime_value(
    transaction_model,
    spend_model,
    data: pd.DataFrame,
    *,
    horizon: int = defaults.HORIZON,
    unit: str = defaults.HORIZON_UNIT,
    discount_rate: float = defaults.DISCOUNT_RATE,
    margin: float = defaults.MARGIN,
    model_unit: str | None = None,
    hdi_prob: float = 0.94,
    return_draws: bool = False,
    chunk_bytes: int = predict.CHUNK_BYTES,
):
    """Discounted expected margin of each customer over the next ``horizon`` periods.

    Evaluated at every draw of the two fits, in bounded memory: a point fit gives one number
    per customer; a posterior (from ``sample``, or ``sample_asymptotic`` of a
    maximum-likelihood fit) gives ``mean``, ``sd``, ``hdi_lower``, ``hdi_upper`` per customer
    (or the draws with ``return_draws=True``). The two models' draws are paired draw by draw
    (cycling the shorter): their parameters are independent.

    Parameters
    ----------
    transaction_model : TransactionModel
        Fitted purchase model (e.g. :class:`~clvmodels.BetaGeo`).
    spend_model : SpendModel
        Fitted spend model (e.g. :class:`~clvmodels.GammaGamma`).
    data : DataFrame
        Customer summary with the columns both models read.
    horizon : int
        Number of periods (default 12, :data:`clvmodels.defaults.HORIZON`).
    unit : {"H", "D", "W", "M", "Y"}
        Length of one period; ``discount_rate`` is per period of this unit (default ``"M"``,
        :data:`clvmodels.defaults.HORIZON_UNIT`).
    discount_rate : float
        Discount rate per period (0.01 = 1 % per period), > -1 (default 0.01 per month,
        :data:`clvmodels.defaults.DISCOUNT_RATE`; 0 gives undiscounted value).
    margin : float
        Share of spend that is profit, in [0, 1] (1.0 = revenue, the default).
    model_unit : str, optional
        Time unit of the transaction model, if neither the model nor the summary records it.
    hdi_prob, return_draws : float, bool
        HDI probability (many draws); return the draws (chain, draw, customer) instead.
    chunk_bytes : int
        Size of one block of draws x customers.

    Returns
    -------
    Series, DataFrame or DataArray
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
    discount_rate, margin = _discount_rate(discount_rate), _margin(margin)
    hdi_prob = check_probability("hdi_prob", hdi_prob, where="lifetime_value")
    c = _inputs(transaction_model, spend_model, data, horizon=horizon, unit=unit, discount_rate=discount_rate,
                model_unit=model_unit)
    values = np.empty((c.n_draws, len(c.index)))
    for pos, _, discounted, spend in _clv_blocks(c, chunk_bytes):
        values[:, pos] = margin * spend * discounted
    return _per_customer_output(_finite(values, "CLV"), c, "clv", hdi_prob, return_draws)


def customer_equity(transaction_model, spend_model, data: pd.DataFrame, *, hdi_prob: float = 0.94,
                    return_draws: bool = False, chunk_bytes: int = predict.CHUNK_BYTES, **kwargs):
    """Customer equity: the sum of :func:`lifetime_value` over the customers in ``data``.

    Keyword arguments are those of :func:`lifetime_value`. The total is computed at every
    draw, one block of customers at a time (memory: one number per draw plus one block): a
    float for point fits; for many draws a Series of ``mean``, ``sd``, ``hdi_lower``,
    ``hdi_upper`` (the interval of the sum, not a sum of intervals), or the per-draw totals
    (chain, draw) with ``return_draws=True``.

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
    hdi_prob = check_probability("hdi_prob", hdi_prob, where="customer_equity")
    unknown = set(kwargs) - {"horizon", "unit", "discount_rate", "margin", "model_unit"}
    if unknown:
        raise TypeError(f"customer_equity got unexpected keyword arguments {', '.join(sorted(unknown))}.")
    margin = _margin(kwargs.pop("margin", defaults.MARGIN))
    discount_rate = _discount_rate(kwargs.pop("discount_rate", defaults.DISCOUNT_RATE))
    c = _inputs(transaction_model, spend_model, data, horizon=kwargs.get("horizon", defaults.HORIZON), unit=kwargs.get("unit", defaults.HORIZON_UNIT),
                discount_rate=discount_rate, model_unit=kwargs.get("model_unit"))
    totals = np.zeros(c.n_draws)
    with np.errstate(over="ignore", invalid="ignore"):
        for _, _, discounted, spend in _clv_blocks(c, chunk_bytes):
            totals += (margin * spend * discounted).sum(axis=1)
    _finite(totals, "customer equity")
    if return_draws:
        return predict.draws_array(totals, c.lead, None, "customer_equity")
    if c.n_draws == 1:
        return float(totals[0])
    out = pd.Series({k: float(v[0]) for k, v in summarize(totals[:, None], hdi_prob).items()}, name="customer_equity")
    out.attrs["hdi_prob"] = hdi_prob
    return out


# --------------------------------------------------------------------------- extended value
def _per_customer(value, index: pd.Index, name: str, low: float | None = None, high: float | None = None) -> pd.Series:
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
        if np.ndim(value) == 0:
            return pd.Series(check_number(name, value, low=low, high=high), index=index, name=name)
        arr = np.asarray(value, dtype=float)
        if arr.shape != (len(index),):
            raise ValueError(
                f"The '{name}' parameter must be a number or one value per customer ({len(index)}). "
                f"Got shape {arr.shape} instead."
            )
        out = pd.Series(arr, index=index)
    values = out.to_numpy()
    bad = ~np.isfinite(values)
    if low is not None:
        bad |= values < low
    if high is not None:
        bad |= values > high
    if bad.any():
        rule = "finite" + (f", >= {low:g}" if low is not None else "") + (f", <= {high:g}" if high is not None else "")
        raise ValueError(
            f"The '{name}' parameter must be {rule} for every customer; {int(bad.sum())} are not (first: "
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
    return float(np.log1p(_discount_rate(discount_rate)) / convert(1.0, unit, model_unit))


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
    horizon: int | None = defaults.HORIZON,
    unit: str = defaults.HORIZON_UNIT,
    discount_rate: float = defaults.DISCOUNT_RATE,
    margin=1.0,
    service_cost=None,
    discounting: str = "discrete",
    model_unit: str | None = None,
    hdi_prob: float = 0.94,
    chunk_bytes: int = predict.CHUNK_BYTES,
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

    For fits with many draws (posteriors, asymptotic draws) the parts are posterior means and
    the CLV, computed draw by draw, also has ``clv_sd``, ``clv_hdi_lower``, ``clv_hdi_upper``.

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
    unit : {"H", "D", "W", "M", "Y"}
        Length of one period; ``discount_rate`` is per period of this unit (default months).
    discount_rate : float
        Discount rate per period of ``unit`` (default 0.01, :data:`clvmodels.defaults.DISCOUNT_RATE`).
    margin : float or Series
        Share of spend that is profit (in [0, 1]), overall or per customer.
    service_cost : float or Series, optional
        Cost of serving one purchase (currency per purchase, >= 0), overall or per customer;
        discounted like the purchases it belongs to.
    discounting : {"discrete", "continuous"}
        See above.
    model_unit : str, optional
        Time unit of the transaction model, if neither the model nor the summary records it.
    hdi_prob : float
        Probability of the CLV's HDI (many draws).
    chunk_bytes : int
        Size of one block of draws x customers.

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
    discount_rate = _discount_rate(discount_rate)
    hdi_prob = check_probability("hdi_prob", hdi_prob, where="clv_table")
    unit = normalize_unit(unit)
    munit = _model_unit(transaction_model, data, model_unit)
    start = getattr(data, "attrs", {}).get("calibration_end")
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
    elif horizon is None:
        raise ValueError("Discrete discounting needs a finite horizon (a whole number of periods of 'unit').")
    c = _inputs(transaction_model, spend_model, data, horizon=horizon, unit=unit, discount_rate=discount_rate,
                model_unit=model_unit, discounting=discounting)
    index = c.index
    m = _per_customer(margin, index, "margin", low=0.0, high=1.0).to_numpy()
    cost = _per_customer(0.0 if service_cost is None else service_cost, index, "service_cost", low=0.0).to_numpy()
    n = len(index)
    parts = {k: np.empty(n) for k in ("expected_purchases", "discounted_purchases", "expected_spend")}
    clv = {k: np.empty(n) for k in STATISTICS}
    for pos, cumulative, discounted, spend in _clv_blocks(c, chunk_bytes):
        for name, values in zip(parts, (cumulative, discounted, spend)):
            parts[name][pos] = values.mean(axis=0)
        per_draw = discounted * (m[pos] * spend - cost[pos])
        for k, v in summarize(_finite(per_draw, "CLV"), hdi_prob).items():
            clv[k][pos] = v
    out = pd.DataFrame({**parts, "margin": m, "service_cost": cost}, index=index)
    out["clv"] = clv["mean"]
    if c.n_draws > 1:
        for k in ("sd", "hdi_lower", "hdi_upper"):
            out[f"clv_{k}"] = clv[k]
        out.attrs["hdi_prob"] = hdi_prob
    out.attrs["units"] = _units_statement(horizon, unit, munit, start, c.edges, discount_rate, discounting, c.delta)
    out.attrs["model_unit"] = munit
    return out


def score_table(
    transaction_model,
    spend_model,
    data: pd.DataFrame,
    *,
    horizon: int = defaults.HORIZON,
    unit: str = defaults.HORIZON_UNIT,
    discount_rate: float = defaults.DISCOUNT_RATE,
    margin: float = defaults.MARGIN,
    hdi_prob: float = 0.94,
) -> pd.DataFrame:
    """One row per customer: history, P(alive), expected purchases and spend, CLV (with intervals for many draws).

    What the report's customer table and the CLI's ``predict`` output hold. Expected purchases
    are over the same horizon as the CLV; ``clv_if_active`` is the CLV of the customer given
    that she is still active (CLV / P(alive)), the value at stake in a win-back decision.

    Parameters
    ----------
    transaction_model : TransactionModel
        Fitted purchase model.
    spend_model : SpendModel or None
        Fitted spend model; without it there is no spend or CLV column.
    data : DataFrame
        Customer summary (from :func:`clvmodels.rfm_summary`).
    horizon, unit, discount_rate, margin
        As in :func:`lifetime_value`.
    hdi_prob : float
        Probability of the HDI columns (fits with many draws).

    Returns
    -------
    DataFrame
        Indexed like ``data``, sorted by CLV (or expected purchases) from highest.

    Examples
    --------
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> t = score_table(bg, gg, s, horizon=12, unit="M")
    >>> t.columns.tolist()[:4], len(t) == len(s)
    (['frequency', 'recency', 'T', 'monetary_value'], True)
    >>> bool(t["clv"].is_monotonic_decreasing)
    True
    """
    hdi_prob = check_probability("hdi_prob", hdi_prob, where="score_table")
    munit = _model_unit(transaction_model, data, None)
    start = getattr(data, "attrs", {}).get("calibration_end")
    t_horizon = float(period_edges(horizon, unit, munit, start=start)[-1])
    cols = [c for c in ("frequency", "recency", "T", "monetary_value", "frequency_holdout", "monetary_value_holdout")
            if c in data.columns]
    out = data[cols].copy()
    pieces = {
        "p_alive": transaction_model.probability_alive(data, hdi_prob=hdi_prob),
        "expected_purchases": transaction_model.expected_purchases(data, t=t_horizon, hdi_prob=hdi_prob),
    }
    if spend_model is not None:
        pieces["expected_spend"] = spend_model.expected_spend(data, hdi_prob=hdi_prob)
        pieces["clv"] = lifetime_value(transaction_model, spend_model, data, horizon=horizon, unit=unit,
                                       discount_rate=discount_rate, margin=margin, hdi_prob=hdi_prob)
    for name, values in pieces.items():
        if isinstance(values, pd.DataFrame):
            for col in values.columns:
                if col == "mean":
                    out[name] = values[col].to_numpy()
                elif np.issubdtype(values[col].dtype, np.number):
                    out[f"{name}_{col}"] = values[col].to_numpy()
        else:
            out[name] = np.asarray(values, dtype=float)
    if "clv" in out.columns:
        # the conditional expectation factorises as P(alive) x E[. | alive]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["clv_if_active"] = np.where(out["p_alive"] > 0, out["clv"] / out["p_alive"], 0.0)
    out.attrs.update(data.attrs, horizon=horizon, horizon_unit=unit, horizon_model_units=t_horizon)
    key = "clv" if "clv" in out.columns else "expected_purchases"
    return out.sort_values(key, ascending=False, kind="stable")


#: Quantities measured over the forecast horizon: in output files their names carry it (longest first, so that
#: ``clv_if_active`` is not read as ``clv`` + ``_if_active``).
HORIZON_QUANTITIES = ("expected_purchases", "clv_if_active", "value_at_risk", "clv_realised", "purchases", "clv",
                      "value")
#: Statistics that may follow a quantity's name (``clv_sd``, ``clv_hdi_lower``, ``purchases_lower``).
_STATISTIC_SUFFIXES = ("", "_sd", "_hdi_lower", "_hdi_upper", "_lower", "_upper", "_coverage")


def horizon_column(name: str, horizon: int, unit: str) -> str:
    """The output name of a column: a quantity over the horizon gets ``_<horizon><unit>`` after its name.

    The one naming rule of every per-customer table written or printed (``clvmodels demo``,
    ``predict``, ``report``): ``clv`` over 12 months is ``clv_12m``, its HDI bound
    ``clv_12m_hdi_lower``, expected purchases over 52 weeks ``expected_purchases_52w``. Columns
    that do not depend on the horizon (``p_alive``, ``expected_spend``, the history) keep their name.

    Parameters
    ----------
    name : str
        A column of :func:`score_table` (or a predictive-interval column such as ``purchases_lower``).
    horizon : int
        Number of periods of ``unit``.
    unit : str
        Period of the horizon (``"M"``, ``"W"``...).

    Examples
    --------
    >>> horizon_column("clv", 12, "M"), horizon_column("clv_hdi_lower", 12, "M")
    ('clv_12m', 'clv_12m_hdi_lower')
    >>> horizon_column("expected_purchases", 52, "W"), horizon_column("p_alive", 52, "W")
    ('expected_purchases_52w', 'p_alive')
    >>> horizon_column("clv_if_active", 1, "Y"), horizon_column("monetary_value", 1, "Y")
    ('clv_if_active_1y', 'monetary_value')
    """
    tag = f"_{int(horizon)}{normalize_unit(unit).lower()}"
    for stem in HORIZON_QUANTITIES:
        rest = name[len(stem):]
        if name.startswith(stem) and rest in _STATISTIC_SUFFIXES:
            return f"{stem}{tag}{rest}"
    return name


def with_horizon_names(table: pd.DataFrame, horizon: int | None = None, unit: str | None = None) -> pd.DataFrame:
    """A copy of a per-customer table with its columns named by :func:`horizon_column`.

    ``horizon`` and ``unit`` default to the table's ``attrs`` (``horizon``, ``horizon_unit``,
    set by :func:`score_table`).

    Examples
    --------
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> with_horizon_names(score_table(bg, gg, s, horizon=6, unit="M")).columns.tolist()[4:]
    ['p_alive', 'expected_purchases_6m', 'expected_spend', 'clv_6m', 'clv_if_active_6m']
    """
    attrs = getattr(table, "attrs", {})
    horizon = attrs.get("horizon") if horizon is None else horizon
    unit = attrs.get("horizon_unit") if unit is None else unit
    if horizon is None or unit is None:
        raise ValueError("with_horizon_names needs the horizon and its unit: pass horizon= and unit=, or give a table "
                         "from score_table (its attrs hold them).")
    out = table.rename(columns={c: horizon_column(str(c), horizon, unit) for c in table.columns})
    out.attrs.update(attrs)
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
    days = np.round(data["T"].to_numpy(dtype=float) * unit_days(unit))
    first = pd.Timestamp(cal_end) - pd.to_timedelta(days, unit="D")
    freq = {"M": "M", "Q": "Q", "Y": "Y", "W": "W"}.get(str(cohort_unit).upper())
    if freq is None:
        raise ValueError(f"The 'cohort_unit' parameter must be 'W', 'M', 'Q' or 'Y'. Got {cohort_unit!r} instead.")
    return pd.Series(first.to_period(freq).astype(str), index=data.index, name="cohort")


def _cohort_labels(data, index: pd.Index, cohort, cohort_unit, calibration_end, model_unit) -> pd.Series:
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
    missing = index.difference(labels.index)
    if len(missing):
        raise ValueError(
            f"No cohort for {len(missing)} customers of 'clv' (first: {', '.join(map(repr, missing[:5].tolist()))}); "
            f"index the cohorts like the CLV."
        )
    return labels.reindex(index).astype(str).rename("cohort")


def customer_equity_by_cohort(
    clv,
    data: pd.DataFrame | None = None,
    *args,
    cohort=None,
    cohort_unit: str = "M",
    calibration_end=None,
    model_unit: str | None = None,
    hdi_prob: float = 0.94,
    chunk_bytes: int = predict.CHUNK_BYTES,
    **kwargs,
) -> pd.DataFrame:
    """Customer equity by cohort and in total.

    Two forms:

    - ``customer_equity_by_cohort(clv_series, data, cohort=...)``: from one CLV per customer
      (e.g. ``clv_table(...)["clv"]``): ``n_customers``, ``customer_equity``, ``mean_clv``,
      ``share_of_equity``;
    - ``customer_equity_by_cohort(transaction_model, spend_model, data, cohort=..., horizon=...)``:
      from the fits, evaluated at every draw in bounded memory. Point fits give the table
      above; fits with many draws give ``n_customers``, ``mean``, ``sd``, ``hdi_lower``,
      ``hdi_upper`` of each cohort's total, and the ``total`` row's draws are the sums of the
      cohorts' draws (the interval of the sum, not a sum of intervals).

    Parameters
    ----------
    clv : Series, or TransactionModel
        CLV per customer, or the fitted purchase model (then ``data`` is the spend model and
        the third argument the summary).
    data : DataFrame, optional
        The customer summary, to take the cohort from; never modified.
    cohort : str or Series, optional
        A column of ``data`` or a Series indexed like the customers. By default the acquisition
        period: first purchase = ``calibration_end - T`` (from ``data.attrs``, or the
        arguments), as a calendar period of ``cohort_unit``.
    cohort_unit : {"W", "M", "Q", "Y"}
        Length of the acquisition periods.
    calibration_end, model_unit : optional
        When the summary's ``attrs`` do not record them.
    hdi_prob, chunk_bytes
        Probability of the HDIs; block size (the model form).
    **kwargs
        The model form: the CLV's ``horizon``, ``unit``, ``discount_rate``, ``margin``.

    Returns
    -------
    DataFrame
        One row per cohort then a ``"total"`` row.

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
            "customer_equity_by_cohort takes one CLV per customer (a Series), or the fitted models: a CLV table of "
            "means and HDIs cannot be summed into cohort intervals. Call customer_equity_by_cohort(transaction_model, "
            "spend_model, data, ...) (or its earlier name customer_equity_by_cohort_posterior) instead."
        )
    if not isinstance(clv, pd.Series):
        if len(args) != 1:
            raise TypeError("Call customer_equity_by_cohort(transaction_model, spend_model, data, ...) with the "
                            "summary as the third argument.")
        return _equity_by_cohort_from_fits(clv, data, args[0], cohort=cohort, cohort_unit=cohort_unit,
                                           calibration_end=calibration_end, model_unit=model_unit, hdi_prob=hdi_prob,
                                           chunk_bytes=chunk_bytes, **kwargs)
    if args or kwargs:
        raise TypeError("With a CLV Series, customer_equity_by_cohort takes (clv, data) and the cohort options only.")
    clv = pd.Series(clv, dtype=float)
    labels = _cohort_labels(data, clv.index, cohort, cohort_unit, calibration_end, model_unit)
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


def _equity_by_cohort_from_fits(tm, sm, data, *, cohort, cohort_unit, calibration_end, model_unit, hdi_prob,
                                chunk_bytes, **kwargs) -> pd.DataFrame:
    hdi_prob = check_probability("hdi_prob", hdi_prob, where="customer_equity_by_cohort")
    margin = _margin(kwargs.pop("margin", defaults.MARGIN))
    discount_rate = _discount_rate(kwargs.pop("discount_rate", defaults.DISCOUNT_RATE))
    unknown = set(kwargs) - {"horizon", "unit"}
    if unknown:
        raise TypeError(f"customer_equity_by_cohort got unexpected keyword arguments {', '.join(sorted(unknown))}.")
    c = _inputs(tm, sm, data, horizon=kwargs.get("horizon", defaults.HORIZON), unit=kwargs.get("unit", defaults.HORIZON_UNIT),
                discount_rate=discount_rate, model_unit=model_unit)
    labels = _cohort_labels(data, c.index, cohort, cohort_unit, calibration_end, model_unit)
    names, codes = np.unique(labels.to_numpy(), return_inverse=True)
    totals = np.zeros((c.n_draws, len(names)))
    for pos, _, discounted, spend in _clv_blocks(c, chunk_bytes):
        values = margin * spend * discounted
        block_codes = codes[pos]
        for code in np.unique(block_codes):
            totals[:, code] += values[:, block_codes == code].sum(axis=1)
    _finite(totals, "customer equity by cohort")
    counts = np.bincount(codes, minlength=len(names))
    if c.n_draws == 1:
        clv_ = lifetime_value(tm, sm, data, horizon=kwargs.get("horizon", defaults.HORIZON), unit=kwargs.get("unit", defaults.HORIZON_UNIT),
                              discount_rate=discount_rate, margin=margin, model_unit=model_unit)
        return customer_equity_by_cohort(clv_, data, cohort=labels)
    per_draw = np.column_stack([totals, totals.sum(axis=1)])
    out = pd.DataFrame({"n_customers": np.append(counts, counts.sum()).astype(int), **summarize(per_draw, hdi_prob)},
                       index=pd.Index([str(n) for n in names] + ["total"], name="cohort"))
    out.attrs["hdi_prob"] = hdi_prob
    return out


def customer_equity_by_cohort_posterior(transaction_model, spend_model, data: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """The model form of :func:`customer_equity_by_cohort` (kept under its earlier name).

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
    return customer_equity_by_cohort(transaction_model, spend_model, data, **kwargs)


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
    discount_rate = check_number("discount_rate", discount_rate, low=0, low_open=True, where="contractual_value")
    margin = check_number("margin", margin, where="contractual_value")
    n = np.atleast_1d(check_numbers("renewals", renewals, low=0, integer=True, where="contractual_value"))
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
    m, r, i, c = (_numbers(n, v) for n, v in (("margin", margin), ("retention", retention),
                                               ("discount_rate", discount_rate), ("acquisition_cost", acquisition_cost)))
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
        horizon = check_number("horizon", horizon, low=0, integer=True, where="retention_clv")
        with np.errstate(divide="ignore", invalid="ignore"):
            series = np.where(q == 1.0, float(horizon), (1.0 - q ** int(horizon)) / np.where(q == 1.0, 0.5, 1.0 - q))
    value = m * series * (q if timing == "end" else 1.0) - c
    return float(value) if np.ndim(value) == 0 else value
