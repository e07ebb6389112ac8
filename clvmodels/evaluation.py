"""Checking a fitted transaction model against what happened: calibration/holdout evaluation.

Two kinds of check, as in Fader, Hardie & Lee (2005, section 4):

- **Aggregate tracking** (:func:`tracking`, :func:`tracking_summary`): expected against actual
  repeat purchases per period, incremental and cumulative, over the calibration and holdout
  periods. Customers are born at different times: each customer's birth is
  ``calibration_end - T``, and her expected purchases by calendar time :math:`t` are the
  model's new-customer expectation :math:`E[X(t - \\text{birth})]`. Actuals come from the
  transaction log (purchases counted by day, the first purchase left out, as in
  :func:`clvmodels.rfm_summary`).
- **Individual** (:func:`conditional_expectations`, :func:`holdout_errors`,
  :func:`p_alive_calibration`): each customer's conditional expected holdout purchases against
  her actual ones, averaged by calibration frequency (0, 1, ..., 7+) or recency bins;
  per-customer MAE, RMSE and bias; P(alive) calibration.

The individual checks work from **any** calibration/holdout table with the columns
``frequency``, ``recency``, ``T`` (calibration period, in the model's time unit),
``frequency_holdout`` (repeat purchases in the holdout) and ``duration_holdout`` (its length,
same unit; may differ between customers), whatever produced it.

From a model with a posterior (``model.posterior_``, see :meth:`BetaGeo.sample`), every
expected column comes with the posterior mean and an HDI (``*_lower``, ``*_upper``) of the
expectation, computed draw by draw from the posterior's parameters. These intervals carry
the parameter uncertainty; they do not add the Poisson-type noise of the purchase counts.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from clvmodels import predict
from clvmodels.checks import check_number, check_probability
from clvmodels.data.holdout import HOLDOUT_COLUMNS, validate_holdout_table
from clvmodels.data.dates import parse_dates
from clvmodels.data.validation import check_summary_unit, offenders, validate_summary
from clvmodels.errors import ClvDataError
from clvmodels.fit import Fit, Posterior
from clvmodels.intervals import hdi, summarize
from clvmodels.inference.bayes import prior_draws
from clvmodels.units import normalize_unit, unit_days

__all__ = [
    "HOLDOUT_COLUMNS",
    "validate_holdout_table",
    "tracking",
    "tracking_summary",
    "conditional_expectations",
    "holdout_errors",
    "p_alive_calibration",
    "posterior_predictive_check",
    "prior_predictive_check",
    "calibration_histogram",
]

# --------------------------------------------------------------------------- inputs
# (the checks of calibration/holdout tables live with the other input checks, in clvmodels.data)


def _thin(fit: Fit, max_draws: int | None) -> Fit:
    """At most ``max_draws`` evenly spaced draws of ``fit`` (as one chain); a point fit as it is."""
    n = fit.n_draws
    if max_draws is None or n <= max_draws:
        return fit
    max_draws = int(check_number("max_draws", max_draws, low=1, integer=True))
    keep = np.linspace(0, n - 1, max_draws).round().astype(int)
    ds = xr.Dataset({k: (("chain", "draw"), v[keep][None, :]) for k, v in predict.flat_draws(fit).items()})
    return Posterior(fit.spec, xr.DataTree.from_dict({"posterior": ds}), unit=fit.unit)


def _theta(fit: Fit) -> dict[str, np.ndarray]:
    return {k: v[:, None] for k, v in predict.flat_draws(fit).items()}


def _expected_holdout(model, fit: Fit, table: pd.DataFrame) -> np.ndarray:
    """Conditional expected purchases over each customer's own holdout duration, draws x customers."""
    fn = model._prediction("expected_purchases")
    _, arrays = model._validated(table[list(model.spec.data_names)], for_fit=False)
    theta = _theta(fit)
    out = np.empty((fit.n_draws, len(table)))
    durations = table["duration_holdout"].to_numpy()
    for d in np.unique(durations):
        rows = np.flatnonzero(durations == d)
        out[:, rows] = predict.evaluate(fn, theta, {k: v[rows] for k, v in arrays.items()}, fit.n_draws, t=float(d))
    return out


def _add_interval(out: pd.DataFrame, name: str, per_draw: np.ndarray, hdi_prob: float) -> None:
    """The value in ``name``; with many draws its mean there and HDI bounds in ``name_lower`` / ``name_upper``."""
    if per_draw.shape[0] == 1:
        out[name] = per_draw[0]
        return
    summary = summarize(per_draw, hdi_prob)
    out[name] = summary["mean"]
    out[f"{name}_lower"] = summary["hdi_lower"]
    out[f"{name}_upper"] = summary["hdi_upper"]


# --------------------------------------------------------------------------- aggregate tracking
def _days_between(a: pd.Timestamp, b: pd.Timestamp) -> float:
    return float((b - a) / pd.Timedelta(days=1))


def tracking(
    model,
    summary: pd.DataFrame,
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    period: float = 1.0,
    calibration_end=None,
    observation_end=None,
    unit: str | None = None,
    hdi_prob: float = 0.94,
    max_draws: int | None = 200,
    predictive: bool = False,
    n_sims: int = 200,
    random_seed: int | None = None,
) -> pd.DataFrame:
    """Expected against actual repeat purchases per period, over calibration and holdout.

    Time runs from the first customer's first purchase (``origin`` = ``calibration_end -
    max(T)``). Customer :math:`i` is born at :math:`b_i` = ``calibration_end - T_i``; period
    :math:`k` is :math:`[(k-1)p, kp)` for ``period`` :math:`p` (in the model's time unit) and
    the expected cumulative repeat purchases at its end :math:`e_k` are
    :math:`\\sum_i E[X(\\max(e_k - b_i, 0))]`, with the model's
    ``expected_purchases_new_customer``. Actual repeat purchases are the purchase days of each
    summary customer after her first one, up to ``observation_end``, placed in the period that
    holds the day's start. The last period is cut at the end of ``observation_end``.

    Parameters
    ----------
    model : TransactionModel
        Fitted (or sampled) transaction model.
    summary : DataFrame
        The calibration summary of the customers to track (needs ``T``); never modified.
    transactions : DataFrame
        The transaction log the summary was built from; never modified.
    customer_col, date_col : str
        Columns of the log.
    period : float
        Length of one tracking period, in the model's time unit.
    calibration_end, observation_end : date-like, optional
        Default to ``summary.attrs`` (as set by :func:`clvmodels.rfm_summary`);
        ``observation_end`` falls back to the last date of the log.
    unit : str, optional
        The time unit of ``T``; defaults to ``summary.attrs["unit"]``, then ``model.unit_``.
    hdi_prob : float
        Probability of the HDIs (posterior models only).
    max_draws : int, optional
        At most this many evenly spaced posterior draws are used (posterior models only).
    predictive : bool
        Also simulate the purchase counts themselves (``n_sims`` runs of the model's
        generative process, ``spec.simulate`` with ``return_times``, for every customer from
        her birth; a posterior model cycles through its draws) and give the HDI of the
        simulated counts: a predictive interval for ``actual``, which the interval of the
        expectation is not.
    n_sims, random_seed
        Number of simulated customer bases and the seed (``predictive=True``).

    Returns
    -------
    DataFrame
        Indexed by ``period`` (1, 2, ...): ``start`` and ``end`` (model time units since the
        origin), ``date_end`` (last calendar day of the period), ``phase`` ("calibration" or
        "holdout"), ``actual``, ``expected`` (per period), ``actual_cumulative``,
        ``expected_cumulative``; for a posterior also ``expected_lower/upper`` and
        ``expected_cumulative_lower/upper``; with ``predictive=True`` also
        ``predictive_lower/upper`` and ``predictive_cumulative_lower/upper``. ``attrs``:
        ``calibration_end`` (as a position on the period axis), ``origin``, ``unit``, ``period``.

    Examples
    --------
    >>> import clvmodels as clv, pandas as pd
    >>> tx = pd.DataFrame({"id": [1, 1, 1, 2, 2], "day": pd.to_datetime(["2024-01-01", "2024-01-09",
    ...                    "2024-01-20", "2024-01-08", "2024-01-16"])})
    >>> s = clv.rfm_summary(tx, "id", "day", unit="W", calibration_end="2024-01-14",
    ...                     observation_end="2024-01-21")
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> t = tracking(bg, s, tx, customer_col="id", date_col="day")
    >>> t[["phase", "actual", "actual_cumulative"]]
                  phase  actual  actual_cumulative
    period
    1       calibration     0.0                0.0
    2       calibration     1.0                1.0
    3           holdout     2.0                3.0
    """
    attrs = getattr(summary, "attrs", {})
    unit = unit or check_summary_unit(summary, model.unit_, what=f"{model.spec.title} tracking")
    if unit is None:
        raise ValueError("The time unit of the summary is unknown: pass unit='W' (or 'D', 'M', 'Y').")
    unit = normalize_unit(unit)
    cal_end = calibration_end or attrs.get("calibration_end")
    if cal_end is None:
        raise ValueError("Pass calibration_end= (the summary's attrs do not record it).")
    period = check_number("period", period, low=0, low_open=True, where="tracking")
    hdi_prob = check_probability("hdi_prob", hdi_prob, where="tracking")
    missing = [c for c in (customer_col, date_col) if c not in transactions.columns]
    if missing:
        raise ClvDataError(
            f"The transaction log has no column {', '.join(map(repr, missing))}; pass customer_col=/date_col= "
            f"(its columns: {', '.join(map(str, transactions.columns[:10]))})."
        )
    if "T" not in summary.columns:
        raise ClvDataError("The summary needs a 'T' column (time since each customer's first purchase).")
    cal_end = pd.Timestamp(cal_end)
    days_per_unit = unit_days(unit)
    T = pd.to_numeric(summary["T"], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(T) & (T >= 0)):
        raise ClvDataError(f"Column 'T' must be finite and >= 0: {offenders(summary.index, ~(np.isfinite(T) & (T >= 0)))}.")
    birth_days = np.round(T.max() * days_per_unit) - np.round(T * days_per_unit)  # day resolution, like the summary
    origin = cal_end - pd.Timedelta(days=float(np.round(T.max() * days_per_unit)))

    dates = transactions[date_col]
    if not pd.api.types.is_datetime64_any_dtype(dates):
        # the same reading rules as rfm_summary: bare numbers are refused, not read as 1970
        dates = parse_dates(dates, date_col, ids=transactions[customer_col])
    dates = pd.to_datetime(dates).dt.floor("D")
    obs_end = pd.Timestamp(observation_end or attrs.get("observation_end") or dates.max())
    log = pd.DataFrame({"customer": transactions[customer_col].to_numpy(), "day": dates.to_numpy()})
    known = log["customer"].isin(summary.index).to_numpy()
    if not known.any():
        raise ClvDataError(
            f"No customer of the transaction log's column '{customer_col}' is in the summary's index (log ids like "
            f"{log['customer'].head(3).tolist()!r}, summary ids like {summary.index[:3].tolist()!r}); pass the log the "
            f"summary was built from, with the same id type."
        )
    log = log[known & (log["day"] <= obs_end).to_numpy()].drop_duplicates()
    log = log.sort_values(["customer", "day"])
    repeat = log[log.duplicated("customer", keep="first")]  # every purchase day after the first one
    repeat_time = ((repeat["day"] - origin) / pd.Timedelta(days=1)).to_numpy(dtype=float) / days_per_unit

    end_time = (_days_between(origin, obs_end) + 1.0) / days_per_unit  # the end of observation_end's day
    cal_time = (_days_between(origin, cal_end) + 1.0) / days_per_unit
    n_periods = int(np.ceil(end_time / period - 1e-9))
    k = np.arange(1, n_periods + 1)
    ends = np.minimum(k * period, end_time)
    starts = (k - 1) * period
    actual = np.bincount(np.floor(repeat_time / period + 1e-9).astype(int), minlength=n_periods)[:n_periods]

    # customers are grouped by birth day and, in a covariate model, by their covariates too: the
    # expectation of a new customer is each group's own
    covariates = model.spec.covariates.columns if model.spec.covariates is not None else ()
    z = validate_summary(model.spec, summary, for_fit=False)[1] if covariates else {}
    keys = np.column_stack([birth_days / days_per_unit, *(z[c] for c in covariates)])
    keys, counts = np.unique(keys, axis=0, return_counts=True)
    births = keys[:, 0]
    ages = np.clip(ends[:, None] - births[None, :], 0.0, None)

    fit = _thin(model.fit_, max_draws)
    new_customer = model._prediction("expected_purchases_new_customer")

    def cumulative_expected(at: np.ndarray) -> np.ndarray:
        """Expected repeat purchases of all customers by ages ``at`` (periods x groups), per draw."""
        total = np.zeros((fit.n_draws, at.shape[0]))
        step = max(1, predict.CHUNK_BYTES // (8 * fit.n_draws * at.shape[0]))  # bounded memory: groups in blocks
        for start in range(0, at.shape[1], step):
            block = at[:, start:start + step]
            rows = {"t": block.reshape(-1), **{c: np.broadcast_to(keys[start:start + step, j + 1], block.shape).reshape(-1)
                                               for j, c in enumerate(covariates)}}
            values = predict.evaluate(new_customer, _theta(fit), rows, fit.n_draws)
            total += values.reshape(fit.n_draws, *block.shape) @ counts[start:start + step]
        return total

    out = pd.DataFrame(index=pd.Index(k, name="period"))
    out["start"] = starts
    out["end"] = ends
    out["date_end"] = origin + pd.to_timedelta(np.ceil(ends * days_per_unit - 1e-9) - 1.0, unit="D")
    out["phase"] = np.where(starts < cal_time - 1e-12, "calibration", "holdout")
    out["actual"] = actual.astype(float)
    # Exact calibration/holdout split for tracking_summary: a period may straddle the
    # calibration end, so the split cannot be read off the period rows.
    cal_ages = np.clip(cal_time - births, 0.0, None)
    expected_cal = float(np.mean(cumulative_expected(cal_ages[None, :])))
    cum = cumulative_expected(ages)
    _add_interval(out, "expected", np.diff(cum, axis=1, prepend=0.0), hdi_prob)
    out["actual_cumulative"] = out["actual"].cumsum()
    _add_interval(out, "expected_cumulative", cum, hdi_prob)
    if predictive:
        counts_per_sim = _simulate_tracking(model, birth_days / days_per_unit, end_time, period, n_periods, n_sims,
                                            random_seed, max_draws)
        lo, hi = hdi(counts_per_sim, hdi_prob)
        out["predictive_lower"], out["predictive_upper"] = lo, hi
        lo, hi = hdi(np.cumsum(counts_per_sim, axis=1), hdi_prob)
        out["predictive_cumulative_lower"], out["predictive_cumulative_upper"] = lo, hi
    out.attrs.update(calibration_end=cal_time / period, origin=str(origin.date()), unit=unit, period=float(period),
                     calibration_actual=float(np.sum(repeat_time < cal_time - 1e-12)),
                     calibration_expected=expected_cal)
    return out


def _simulate_tracking(model, births, end_time, period, n_periods, n_sims, random_seed, max_draws) -> np.ndarray:
    """Repeat purchases per period of ``n_sims`` simulated customer bases (n_sims x n_periods)."""
    simulate = getattr(model.spec, "simulate", None)
    if simulate is None or "return_times" not in inspect.signature(simulate).parameters:
        raise ValueError(
            f"predictive=True simulates purchase times with the model's generative process; {model.spec.title} "
            f"does not provide one with purchase times (spec.simulate(..., return_times=True)). Use predictive=False."
        )
    if int(n_sims) != n_sims or n_sims < 2:
        raise ValueError(f"The 'n_sims' parameter must be a whole number >= 2. Got {n_sims!r} instead.")
    fit = _thin(model.fit_, max_draws)
    theta = predict.flat_draws(fit)
    rng = np.random.default_rng(random_seed)
    horizon = np.clip(end_time - births, 0.0, None)
    out = np.empty((int(n_sims), n_periods))
    for i in range(int(n_sims)):
        params = {k: float(v[i % fit.n_draws]) for k, v in theta.items()}
        _, (who, when) = simulate(rng, len(births), **params, T=horizon, return_times=True)
        bins = np.floor((births[who] + when) / period + 1e-9).astype(int)
        out[i] = np.bincount(np.minimum(bins, n_periods - 1), minlength=n_periods)[:n_periods]
    return out


def tracking_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Actual and expected repeat purchases in the calibration period, the holdout and in total.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`tracking`.

    Returns
    -------
    DataFrame
        Rows ``calibration``, ``holdout``, ``total``; columns ``actual``, ``expected``,
        ``difference`` (expected - actual) and ``relative_error`` (difference / actual).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"phase": ["calibration", "holdout"], "actual": [10.0, 5.0], "expected": [9.0, 6.0]})
    >>> tracking_summary(t)
                 actual  expected  difference  relative_error
    calibration    10.0       9.0        -1.0       -0.100000
    holdout         5.0       6.0         1.0        0.200000
    total          15.0      15.0         0.0        0.000000
    """
    g = table.groupby("phase", sort=False)[["actual", "expected"]].sum()
    g = g.reindex([p for p in ("calibration", "holdout") if p in g.index])
    g.loc["total"] = table[["actual", "expected"]].sum()
    if "calibration_actual" in table.attrs and {"calibration", "holdout"} <= set(g.index):
        # the period holding the calibration end is split exactly (see tracking)
        g.loc["calibration"] = [table.attrs["calibration_actual"], table.attrs["calibration_expected"]]
        g.loc["holdout"] = g.loc["total"] - g.loc["calibration"]
    g.index.name = None
    g["difference"] = g["expected"] - g["actual"]
    g["relative_error"] = g["difference"] / g["actual"]
    return g


# --------------------------------------------------------------------------- individual level
def _interval_labels(edges: np.ndarray) -> list[str]:
    """Readable bin labels: the first bin closed on both sides, the others on the right."""
    return [f"{'[' if i == 0 else '('}{lo:.4g}, {hi:.4g}]" for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))]


def _group_labels(table: pd.DataFrame, by: str, max_frequency: int, bins) -> pd.Series:
    if by == "frequency":
        x = table["frequency"].astype(int)
        labels = x.clip(upper=max_frequency).astype(str)
        labels[x >= max_frequency] = f"{max_frequency}+"
        order = [str(i) for i in range(max_frequency)] + [f"{max_frequency}+"]
        return pd.Series(pd.Categorical(labels, categories=order, ordered=True), index=table.index, name="frequency")
    if by == "recency":
        edges = bins
        if edges is None or np.ndim(edges) == 0:
            n = 6 if edges is None else int(edges)
            edges = np.linspace(0.0, float(table["recency"].max()), n + 1)
        edges = np.unique(np.asarray(edges, dtype=float))
        cut = pd.cut(table["recency"], edges, include_lowest=True, labels=_interval_labels(edges))
        return pd.Series(cut, index=table.index, name="recency")
    raise ValueError(f"The 'by' parameter must be 'frequency' or 'recency'. Got {by!r} instead.")


def conditional_expectations(
    model,
    table: pd.DataFrame,
    *,
    by: str = "frequency",
    max_frequency: int = 7,
    bins=None,
    hdi_prob: float = 0.94,
    max_draws: int | None = 200,
) -> pd.DataFrame:
    """Mean conditional expected holdout purchases against the actual mean, by group.

    Each customer's expectation is the model's ``expected_purchases`` over her own
    ``duration_holdout`` given her calibration (frequency, recency, T).

    Parameters
    ----------
    model : TransactionModel
        Fitted (or sampled) transaction model.
    table : DataFrame
        Calibration/holdout table (:data:`HOLDOUT_COLUMNS`); never modified.
    by : {"frequency", "recency"}
        Group by calibration frequency (0, 1, ..., ``max_frequency``-1, then
        ``"{max_frequency}+"``) or by recency bins.
    max_frequency : int
        First frequency pooled into the last group.
    bins : int or sequence, optional
        Recency bins: the number of equal-width bins from 0 to the largest recency (6 by
        default) or their edges, in the model's time unit.
    hdi_prob, max_draws
        For posterior models: HDI probability, and the number of draws used.

    Returns
    -------
    DataFrame
        One row per group: ``customers``, ``actual`` (mean holdout purchases), ``expected``
        (mean conditional expectation; for a posterior its mean and ``expected_lower`` /
        ``expected_upper``).

    Examples
    --------
    >>> import clvmodels as clv, pandas as pd
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> t = pd.DataFrame({"frequency": [0, 0, 2, 9], "recency": [0.0, 0.0, 30.0, 35.0], "T": [38.0, 30.0, 38.0, 38.0],
    ...                   "frequency_holdout": [0, 1, 2, 5], "duration_holdout": [39.0] * 4})
    >>> conditional_expectations(bg, t, max_frequency=2)[["customers", "actual"]]
               customers  actual
    frequency
    0                  2     0.5
    1                  0     NaN
    2+                 2     3.5
    """
    data = _holdout_table(model, table)
    hdi_prob = check_probability("hdi_prob", hdi_prob, where="conditional_expectations")
    max_frequency = int(check_number("max_frequency", max_frequency, low=1, integer=True, where="conditional_expectations"))
    labels = _group_labels(data, by, max_frequency, bins)
    grouped = pd.DataFrame({"group": labels, "actual": data["frequency_holdout"]})
    out = grouped.groupby("group", observed=False).agg(customers=("actual", "size"), actual=("actual", "mean"))
    out.index.name = labels.name
    expected = _expected_holdout(model, _thin(model.fit_, max_draws), data)
    codes = pd.Categorical(labels).codes
    n_groups = len(out)
    sums = np.zeros((expected.shape[0], n_groups))
    for code in np.unique(codes[codes >= 0]):
        sums[:, code] = expected[:, codes == code].sum(axis=1)
    sizes = np.bincount(codes[codes >= 0], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_draw = sums / np.where(sizes > 0, sizes, np.nan)
    _add_interval(out, "expected", per_draw, hdi_prob)
    out["customers"] = out["customers"].astype(int)
    return out


def _holdout_table(model, table: pd.DataFrame) -> pd.DataFrame:
    """The checked calibration/holdout columns, with the model's covariates carried along."""
    design = model.spec.covariates
    keep = list(design.columns) if design is not None else []
    # summary columns a model reads beyond (x, t_x, T), e.g. CNBD-k's litt (checked when it predicts)
    extra = [f for f in model.spec.data if f.name not in HOLDOUT_COLUMNS and f.name not in keep]
    absent = [f for f in extra if f.name not in table.columns]
    if absent and isinstance(table, pd.DataFrame):
        raise ClvDataError(f"The calibration/holdout table has no column {absent[0].name!r}, which {model.spec.title} "
                           f"reads ({absent[0].description or 'a summary column'}).")
    return validate_holdout_table(table, unit=model.unit_, keep=keep + [f.name for f in extra])


def holdout_errors(model, table: pd.DataFrame, *, by: str | None = None, max_frequency: int = 7, bins=None) -> pd.DataFrame:
    """Per-customer errors of the conditional expected holdout purchases: MAE, RMSE and bias.

    The error of customer :math:`i` is :math:`e_i = \\hat y_i - y_i` (expected minus actual
    holdout purchases); bias is the mean of :math:`e_i` (negative: the model under-forecasts).
    For a posterior model the point forecast is the posterior mean of the expectation.

    Parameters
    ----------
    model : TransactionModel
        Fitted (or sampled) transaction model.
    table : DataFrame
        Calibration/holdout table (:data:`HOLDOUT_COLUMNS`); never modified.
    by : {None, "frequency", "recency"}
        Also report the errors by group (as :func:`conditional_expectations`).
    max_frequency, bins
        Grouping options, as in :func:`conditional_expectations`.

    Returns
    -------
    DataFrame
        Columns ``customers``, ``actual`` (total), ``expected`` (total), ``mae``, ``rmse``,
        ``bias``; one row ``all``, or one row per group then ``all``.

    Examples
    --------
    >>> import clvmodels as clv, pandas as pd
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> t = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86],
    ...                   "frequency_holdout": [0, 3], "duration_holdout": [39.0, 39.0]})
    >>> e = holdout_errors(bg, t)
    >>> bool(abs(e.loc["all", "bias"] - (e.loc["all", "expected"] - 3) / 2) < 1e-12)
    True
    """
    data = _holdout_table(model, table)
    # a model with many draws gives the mean over its draws
    expected = pd.Series(_expected_holdout(model, model.fit_, data).mean(axis=0), index=data.index)
    err = expected - data["frequency_holdout"]
    frame = pd.DataFrame({"actual": data["frequency_holdout"], "expected": expected, "err": err})

    def stats(f: pd.DataFrame) -> dict[str, float]:
        return {
            "customers": int(len(f)),
            "actual": float(f["actual"].sum()),
            "expected": float(f["expected"].sum()),
            "mae": float(f["err"].abs().mean()) if len(f) else np.nan,
            "rmse": float(np.sqrt((f["err"] ** 2).mean())) if len(f) else np.nan,
            "bias": float(f["err"].mean()) if len(f) else np.nan,
        }

    rows, names = [], []
    if by is not None:
        labels = _group_labels(data, by, max_frequency, bins)
        for name, f in frame.groupby(labels, observed=False):
            rows.append(stats(f))
            names.append(str(name))
    rows.append(stats(frame))
    names.append("all")
    return pd.DataFrame(rows, index=pd.Index(names, name=by or "customers"))


def p_alive_calibration(model, table: pd.DataFrame, *, bins=10) -> pd.DataFrame:
    """P(alive) calibration: customers grouped by their predicted P(alive at T).

    A customer who buys in the holdout was alive at the end of calibration, so the share of a
    group that buys in the holdout (``share_active``) is a lower bound of its true share
    alive: a calibrated model has ``mean_p_alive >= share_active`` in every group, and the
    gap shrinks as the holdout gets longer. The group's mean expected and actual holdout
    purchases are given too.

    Parameters
    ----------
    model : TransactionModel
        Fitted transaction model (a posterior model uses its posterior-mean P(alive)).
    table : DataFrame
        Calibration/holdout table (:data:`HOLDOUT_COLUMNS`); never modified.
    bins : int or sequence
        Number of equal-width P(alive) bins over [0, 1], or their edges.

    Returns
    -------
    DataFrame
        One row per P(alive) bin: ``customers``, ``mean_p_alive``, ``share_active``,
        ``expected`` and ``actual`` (mean holdout purchases).

    Examples
    --------
    >>> import clvmodels as clv, pandas as pd
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> t = pd.DataFrame({"frequency": [0, 2, 2], "recency": [0.0, 30.43, 2.0], "T": [38.86] * 3,
    ...                   "frequency_holdout": [0, 3, 0], "duration_holdout": [39.0] * 3})
    >>> p_alive_calibration(bg, t, bins=[0, 0.5, 1])[["customers", "share_active"]]
              customers  share_active
    p_alive
    [0, 0.5]          1           0.0
    (0.5, 1]          2           0.5
    """
    data = _holdout_table(model, table)
    fit = model.fit_
    index, arrays = model._validated(data[list(model.spec.data_names)], for_fit=False)
    alive = predict.evaluate(model._prediction("probability_alive"), _theta(fit), arrays, fit.n_draws)
    p = pd.Series(alive.mean(axis=0), index=index)  # many draws: the mean
    expected = pd.Series(_expected_holdout(model, fit, data).mean(axis=0), index=data.index)
    edges = np.linspace(0.0, 1.0, int(bins) + 1) if np.ndim(bins) == 0 else np.asarray(bins, dtype=float)
    labels = pd.cut(p, edges, include_lowest=True, labels=_interval_labels(edges)).rename("p_alive")
    frame = pd.DataFrame({"p": p, "active": (data["frequency_holdout"] > 0).astype(float),
                          "expected": expected, "actual": data["frequency_holdout"]})
    g = frame.groupby(labels, observed=False)
    out = pd.DataFrame({
        "customers": g.size().astype(int),
        "mean_p_alive": g["p"].mean(),
        "share_active": g["active"].mean(),
        "expected": g["expected"].mean(),
        "actual": g["actual"].mean(),
    })
    out.index = out.index.astype(str)
    out.index.name = "p_alive"
    return out


# --------------------------------------------------------------------------- predictive checks
def _simulation_design(spec, arrays: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], str]:
    """Which data columns ``spec.simulate`` takes as given (design) and which count it simulates."""
    sig = inspect.signature(spec.simulate)
    design = {k: arrays[k] for k in spec.data_names if k in sig.parameters}
    outcome = next((f.name for f in spec.data if f.kind == "count" and f.name not in design), None)
    if outcome is None:
        raise ValueError(f"{spec.title} simulates no purchase count to check (its counts are inputs); the "
                         f"posterior predictive check of repeat purchases applies to transaction models.")
    return design, outcome


def posterior_predictive_check(model, data=None, *, max_count: int = 7, n_draws: int = 200, hdi_prob: float = 0.94,
                               random_seed: int = 0) -> pd.DataFrame:
    """Observed vs posterior-predictive histogram of repeat purchases (0, 1, ..., ``max_count``+).

    For ``n_draws`` posterior draws (evenly spaced over the chains), every customer's count is
    simulated with the model's own generative process (``spec.simulate``) given the customer's
    observation design (e.g. ``T``); each draw gives one histogram.

    Parameters
    ----------
    model : model with a posterior (or a point estimate: one simulated histogram per draw of the process)
    data : DataFrame, optional
        Summary to check; default the one the posterior was fitted on.
    max_count : int
        Counts at or above it share the last bin (``"7+"``).
    n_draws : int
        Posterior draws to simulate from.

    Returns
    -------
    DataFrame
        Indexed by count bin: ``observed`` customers, ``expected`` (mean over draws), ``sd``,
        ``hdi_lower``/``hdi_upper`` of the simulated counts, and ``inside`` (observed within the HDI).

    Examples
    --------
    >>> import clvmodels as clv
    >>> from clvmodels.models.bgnbd import simulate
    >>> d = pd.DataFrame(simulate(np.random.default_rng(0), 500, 0.5, 4.0, 0.8, 2.5, T=40.0))
    >>> bg = clv.BetaGeo().sample(d, draws=100, tune=100, chains=1, random_seed=1, progressbar=False)
    >>> ppc = posterior_predictive_check(bg, n_draws=20)
    >>> ppc.index.tolist()[-1], int(ppc["observed"].sum())
    ('7+', 500)
    """
    spec = model.spec
    frame = _observed_frame(model) if data is None else data
    index, arrays = model._validated(frame, for_fit=False)
    design, outcome = _simulation_design(spec, arrays)
    fit = model.fit_
    theta = predict.flat_draws(fit)
    total = fit.n_draws
    # many draws: evenly spaced ones; one draw: that draw, simulated n_draws times
    pick = np.unique(np.linspace(0, total - 1, min(n_draws, total)).round().astype(int)) if total > 1 else np.zeros(n_draws, int)
    rng = np.random.default_rng(random_seed)
    bins = np.arange(max_count + 1)
    sims = np.empty((len(pick), max_count + 1))
    n = len(index)
    for i, s in enumerate(pick):
        # a rate drawn as 0 (tiny gamma shapes) means no purchase: inf waiting times are right
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            sim = spec.simulate(rng, n, **{k: float(v[s]) for k, v in theta.items()}, **design)
        sims[i] = np.bincount(np.minimum(np.asarray(sim[outcome]).astype(int), max_count), minlength=max_count + 1)
    observed = np.bincount(np.minimum(arrays[outcome].astype(int), max_count), minlength=max_count + 1)
    summ = summarize(sims, hdi_prob)
    labels = [str(b) for b in bins[:-1]] + [f"{max_count}+"]
    table = pd.DataFrame({"observed": observed.astype(int), "expected": summ["mean"], "sd": summ["sd"],
                          "hdi_lower": summ["hdi_lower"], "hdi_upper": summ["hdi_upper"]}, index=pd.Index(labels, name=outcome))
    table["inside"] = (table["observed"] >= table["hdi_lower"]) & (table["observed"] <= table["hdi_upper"])
    table.attrs.update({"hdi_prob": hdi_prob, "n_draws": len(pick)})
    return table


def prior_predictive_check(model_class, data, *, priors=None, max_count: int = 7, n_draws: int = 200,
                           hdi_prob: float = 0.94, random_seed: int = 0) -> pd.DataFrame:
    """Observed histogram of repeat purchases against the one the priors alone predict.

    Parameters are drawn from the (default or given) priors and pushed through the model's
    generative process with each customer's observation design, as in
    :func:`posterior_predictive_check`; wide intervals that still cover the observed counts
    show priors that are weakly informative yet plausible.

    Examples
    --------
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> t = prior_predictive_check(clv.BetaGeo, s, n_draws=50)
    >>> bool(t["inside"].all())
    True
    """
    theta = prior_draws(model_class.spec, n_draws, priors=priors, random_seed=random_seed)
    tree = xr.DataTree.from_dict({"posterior": xr.Dataset({k: (("chain", "draw"), v[None, :]) for k, v in theta.items()})})
    tree.attrs["inference"] = "prior"
    model = model_class.from_fit(Posterior(model_class.spec, tree))
    table = posterior_predictive_check(model, data, max_count=max_count, n_draws=n_draws, hdi_prob=hdi_prob,
                                       random_seed=random_seed)
    table.attrs["source"] = "prior"
    return table


def _observed_frame(model) -> pd.DataFrame:
    tree = model.posterior_
    if tree is None or "observed_data" not in tree.children:
        raise ValueError("The posterior holds no observed summary; pass data=... explicitly.")
    ds = tree["observed_data"].to_dataset()
    return pd.DataFrame({k: ds[k].values for k in model.spec.data_names}, index=pd.Index(ds["customer"].values))


def calibration_histogram(model, data: pd.DataFrame, *, max_count: int = 7) -> pd.DataFrame:
    """Observed and expected number of customers by repeat purchases in the calibration period.

    The expected count of customers with ``n`` repeat purchases is the sum over customers of
    the model's P(X(T_i) = n), evaluated once per distinct ``T``; the last bin collects
    ``max_count`` and more. For a fit with many draws, or a model without a closed-form
    P(X(t) = n), the counts are simulated instead (:func:`posterior_predictive_check`), with
    the HDI of the simulated counts.

    Parameters
    ----------
    model : TransactionModel
        Fitted purchase model.
    data : DataFrame
        Calibration summary with ``frequency`` and ``T``.
    max_count : int
        Last bin, standing for "this many or more".

    Returns
    -------
    DataFrame
        Indexed by the bins ``"0"``, ..., ``"7+"``: ``observed``, ``expected`` (and
        ``hdi_lower``, ``hdi_upper`` when simulated); ``attrs["source"]`` says which.

    Examples
    --------
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> t = calibration_histogram(bg, s)
    >>> t.index[-1], int(t["observed"].sum()), bool(abs(t["expected"].sum() - len(s)) < 1e-6)
    ('7+', 2357, True)
    """
    max_count = int(check_number("max_count", max_count, low=1, integer=True, where="calibration_histogram"))
    fit = model.fit_
    if fit.n_draws > 1 or "probability_of_purchases" not in model.spec.predictions:
        table = posterior_predictive_check(model, data, max_count=max_count)
        table.attrs["source"] = "posterior predictive" if fit.n_draws > 1 else "simulated from the model"
        return table
    _, arrays = model._validated(data, for_fit=False)
    bins = np.arange(max_count + 1)
    observed = np.bincount(np.minimum(arrays["frequency"].astype(int), max_count), minlength=max_count + 1)
    T_values, T_counts = np.unique(arrays["T"], return_counts=True)
    pmf = model._prediction("probability_of_purchases")
    theta = _theta(fit)
    expected = np.zeros(max_count, dtype=float)
    for T, count in zip(T_values, T_counts):
        expected += count * predict.evaluate(pmf, theta, {"n": bins[:-1].astype(float)}, 1, t=float(T))[0]
    expected = np.append(expected, float(len(arrays["T"])) - expected.sum())
    labels = [str(b) for b in bins[:-1]] + [f"{max_count}+"]
    table = pd.DataFrame({"observed": observed.astype(int), "expected": expected}, index=pd.Index(labels, name="frequency"))
    table.attrs["source"] = "model"
    return table
