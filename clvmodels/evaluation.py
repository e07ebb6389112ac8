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

import numpy as np
import pandas as pd

from clvmodels.data.holdout import HOLDOUT_COLUMNS, validate_holdout_table
from clvmodels.data.validation import offenders
from clvmodels.errors import ClvDataError
from clvmodels.units import normalize_unit, unit_days

__all__ = [
    "HOLDOUT_COLUMNS",
    "validate_holdout_table",
    "tracking",
    "tracking_summary",
    "conditional_expectations",
    "holdout_errors",
    "p_alive_calibration",
]

# --------------------------------------------------------------------------- inputs
# (the checks of calibration/holdout tables live with the other input checks, in clvmodels.data)


def _posterior_draws(model, max_draws: int | None) -> list[dict[str, float]] | None:
    """Parameter draws of a sampled model (thinned evenly to ``max_draws``), or None for a point fit."""
    posterior = getattr(model, "posterior_", None)
    if posterior is None:
        return None
    from clvmodels.inference.bayes import posterior_arrays

    group = posterior["posterior"] if "posterior" in getattr(posterior, "children", {}) else posterior
    ds = group.to_dataset() if hasattr(group, "to_dataset") else group
    arrays = posterior_arrays(ds, model.spec.param_names)
    n = len(next(iter(arrays.values())))
    keep = np.arange(n) if max_draws is None or n <= max_draws else np.linspace(0, n - 1, max_draws).round().astype(int)
    return [{k: float(v[i]) for k, v in arrays.items()} for i in keep]


def _point_models(model, max_draws):
    """The models to evaluate: the fit itself, or one point model per posterior draw."""
    draws = _posterior_draws(model, max_draws)
    if draws is None:
        return None
    unit = getattr(model, "unit_", None)
    return [type(model).from_params(d, unit=unit) for d in draws]


def _hdi(samples: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Highest-density interval along axis 0 (the shortest interval holding ``prob`` of the draws)."""
    s = np.sort(samples, axis=0)
    n = s.shape[0]
    k = max(int(np.floor(prob * n)), 1)
    if k >= n:
        return s[0], s[-1]
    widths = s[k:] - s[: n - k]
    start = np.argmin(widths, axis=0)
    cols = np.arange(s.shape[1]) if s.ndim > 1 else None
    if cols is None:
        return s[start], s[start + k]
    return s[start, cols], s[start + k, cols]


def _add_interval(out: pd.DataFrame, name: str, per_draw: np.ndarray, hdi_prob: float) -> None:
    """Posterior mean in ``name`` and HDI bounds in ``name_lower`` / ``name_upper`` (draws on axis 0)."""
    lo, hi = _hdi(per_draw, hdi_prob)
    out[name] = per_draw.mean(axis=0)
    out[f"{name}_lower"] = lo
    out[f"{name}_upper"] = hi


def _expected_holdout(model, table: pd.DataFrame) -> pd.Series:
    """Conditional expected purchases over each customer's own holdout duration."""
    data = table[["frequency", "recency", "T"]]
    out = pd.Series(np.nan, index=table.index, name="expected")
    durations = table["duration_holdout"].to_numpy()
    for d in np.unique(durations):
        rows = durations == d
        out.iloc[np.flatnonzero(rows)] = _point(model.expected_purchases(data[rows], t=float(d))).to_numpy()
    return out


def _point(prediction) -> pd.Series:
    """A point prediction as is; a posterior prediction table as its posterior mean."""
    return prediction["mean"] if isinstance(prediction, pd.DataFrame) else prediction


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
    unit = unit or attrs.get("unit") or getattr(model, "unit_", None)
    if unit is None:
        raise ValueError("The time unit of the summary is unknown: pass unit='W' (or 'D', 'M', 'Y').")
    unit = normalize_unit(unit)
    cal_end = calibration_end or attrs.get("calibration_end")
    if cal_end is None:
        raise ValueError("Pass calibration_end= (the summary's attrs do not record it).")
    if not (np.isfinite(period) and period > 0):
        raise ValueError(f"The 'period' parameter must be a positive length in the model's unit. Got {period!r} instead.")
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

    dates = pd.to_datetime(transactions[date_col]).dt.floor("D")
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

    births, counts = np.unique(birth_days / days_per_unit, return_counts=True)
    ages = np.clip(ends[:, None] - births[None, :], 0.0, None)

    def cumulative_expected(m) -> np.ndarray:
        values = np.asarray(m.expected_purchases_new_customer(ages.reshape(-1)), dtype=float).reshape(ages.shape)
        return values @ counts

    out = pd.DataFrame(index=pd.Index(k, name="period"))
    out["start"] = starts
    out["end"] = ends
    out["date_end"] = origin + pd.to_timedelta(np.ceil(ends * days_per_unit - 1e-9) - 1.0, unit="D")
    out["phase"] = np.where(starts < cal_time - 1e-12, "calibration", "holdout")
    out["actual"] = actual.astype(float)
    models = _point_models(model, max_draws)
    # Exact calibration/holdout split for tracking_summary: a period may straddle the
    # calibration end, so the split cannot be read off the period rows.
    cal_ages = np.clip(cal_time - births, 0.0, None)
    expected_cal = np.mean([
        float(np.asarray(m.expected_purchases_new_customer(cal_ages), dtype=float) @ counts)
        for m in (models if models is not None else [model])
    ])
    if models is None:
        cum = cumulative_expected(model)
        out["expected"] = np.diff(cum, prepend=0.0)
        out["actual_cumulative"] = out["actual"].cumsum()
        out["expected_cumulative"] = cum
    else:
        cum = np.stack([cumulative_expected(m) for m in models])
        _add_interval(out, "expected", np.diff(cum, axis=1, prepend=0.0), hdi_prob)
        out["actual_cumulative"] = out["actual"].cumsum()
        _add_interval(out, "expected_cumulative", cum, hdi_prob)
    if predictive:
        counts_per_sim = _simulate_tracking(model, birth_days / days_per_unit, end_time, period, n_periods, n_sims,
                                            random_seed, max_draws)
        lo, hi = _hdi(counts_per_sim, hdi_prob)
        out["predictive_lower"], out["predictive_upper"] = lo, hi
        lo, hi = _hdi(np.cumsum(counts_per_sim, axis=1), hdi_prob)
        out["predictive_cumulative_lower"], out["predictive_cumulative_upper"] = lo, hi
    out.attrs.update(calibration_end=cal_time / period, origin=str(origin.date()), unit=unit, period=float(period),
                     calibration_actual=float(np.sum(repeat_time < cal_time - 1e-12)),
                     calibration_expected=expected_cal)
    return out


def _simulate_tracking(model, births, end_time, period, n_periods, n_sims, random_seed, max_draws) -> np.ndarray:
    """Repeat purchases per period of ``n_sims`` simulated customer bases (n_sims x n_periods)."""
    import inspect

    simulate = getattr(model.spec, "simulate", None)
    if simulate is None or "return_times" not in inspect.signature(simulate).parameters:
        raise ValueError(
            f"predictive=True simulates purchase times with the model's generative process; {model.spec.title} "
            f"does not provide one with purchase times (spec.simulate(..., return_times=True)). Use predictive=False."
        )
    if int(n_sims) != n_sims or n_sims < 2:
        raise ValueError(f"The 'n_sims' parameter must be a whole number >= 2. Got {n_sims!r} instead.")
    draws = _posterior_draws(model, max_draws) or [model.params_]
    rng = np.random.default_rng(random_seed)
    horizon = np.clip(end_time - births, 0.0, None)
    out = np.empty((int(n_sims), n_periods))
    for i in range(int(n_sims)):
        _, (who, when) = simulate(rng, len(births), **draws[i % len(draws)], T=horizon, return_times=True)
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
    data = validate_holdout_table(table)
    labels = _group_labels(data, by, max_frequency, bins)
    grouped = pd.DataFrame({"group": labels, "actual": data["frequency_holdout"]})
    out = grouped.groupby("group", observed=False).agg(customers=("actual", "size"), actual=("actual", "mean"))
    out.index.name = labels.name
    models = _point_models(model, max_draws)
    if models is None:
        expected = _expected_holdout(model, data)
        out["expected"] = expected.groupby(labels, observed=False).mean().to_numpy()
    else:
        per_draw = np.stack(
            [_expected_holdout(m, data).groupby(labels, observed=False).mean().to_numpy() for m in models]
        )
        _add_interval(out, "expected", per_draw, hdi_prob)
    out["customers"] = out["customers"].astype(int)
    return out


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
    data = validate_holdout_table(table)
    expected = _expected_holdout(model, data)  # a posterior model gives its posterior mean
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
    data = validate_holdout_table(table)
    p = _point(model.probability_alive(data[["frequency", "recency", "T"]]))  # posterior: its mean
    expected = _expected_holdout(model, data)
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
