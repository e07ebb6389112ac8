"""Diagnostic figures of fitted clvmodels models.

Every function draws on the matplotlib ``ax`` it is given (or on a new figure), returns what
it drew (the Axes, or ArviZ's plot collection for posterior parameter plots) and computes no
model quantity itself: values come from the fitted model's public prediction methods, from
:mod:`clvmodels.evaluation` tables or from :mod:`clvmodels.segments` tables. Matrices are
evaluated on a grid of distinct (frequency, recency) cells, so their cost does not grow with
the number of customers. Where a model was fitted by sampling, its predictions carry an
interval and the figures draw it as a band or error bars.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import clvmodels as clv
>>> from clvmodels import plotting
>>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
>>> ax = plotting.plot_probability_alive_matrix(bg, max_frequency=10, T=39)
>>> ax.get_title()
'P(alive) by purchase history (T = 39)'
>>> plotting.close(ax)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from clvmodels.evaluation import calibration_histogram
from clvmodels.untrusted_text import literal_label
from clvmodels.units import UNIT_NAMES

__all__ = [
    "plot_calibration_histogram",
    "plot_frequency_recency_matrix",
    "plot_probability_alive_matrix",
    "plot_tracking",
    "plot_alive_path",
    "plot_conditional_expectations",
    "plot_posterior",
    "plot_top_customers",
    "plot_customer_equity",
    "plot_tiers",
    "plot_segments",
    "close",
]

_OBSERVED = "#1f3b73"
_MODEL = "#d9822b"


# --------------------------------------------------------------------------- helpers
def _axes(ax, figsize: tuple[float, float] = (6.4, 4.0)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def close(drawn) -> None:
    """Close the figure(s) behind what a plotting function returned (Axes, Figure or plot collection).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> close(ax)
    >>> plt.fignum_exists(fig.number)
    False
    """
    import matplotlib.pyplot as plt

    plt.close(figure_of(drawn))


def figure_of(drawn):
    """The matplotlib Figure behind an Axes, an array of Axes, a Figure or an ArviZ plot collection.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> figure_of(ax) is fig
    True
    >>> close(fig)
    """
    from matplotlib.figure import Figure

    if isinstance(drawn, Figure):
        return drawn
    if hasattr(drawn, "viz"):  # arviz_plots.PlotCollection
        return drawn.viz["figure"].item()
    if isinstance(drawn, np.ndarray):
        return drawn.flat[0].figure
    return drawn.figure


def _interval_columns(frame: pd.DataFrame) -> tuple[str | None, str | None]:
    """Names of the lower and upper interval columns of a posterior prediction table."""
    lower = upper = None
    for col in frame.columns:
        name = str(col).lower()
        if lower is None and ("lower" in name or name.endswith("_low") or name in {"hdi_low", "low"}):
            lower = col
        elif upper is None and ("upper" in name or name.endswith("_high") or name in {"hdi_high", "high"}):
            upper = col
    return lower, upper


def point_and_interval(values) -> tuple[pd.Series, pd.Series | None, pd.Series | None]:
    """Split a prediction into its point value and, for posterior predictions, its interval.

    Point fits return a Series; posterior fits a DataFrame with a ``mean`` column and
    interval bounds (columns named ``*lower*`` / ``*upper*``, e.g. ``hdi_lower``).

    Examples
    --------
    >>> import pandas as pd
    >>> p, lo, hi = point_and_interval(pd.DataFrame({"mean": [1.0], "sd": [0.1],
    ...                                               "hdi_lower": [0.8], "hdi_upper": [1.2]}))
    >>> p.tolist(), lo.tolist(), hi.tolist()
    ([1.0], [0.8], [1.2])
    >>> point_and_interval(pd.Series([2.0]))[1] is None
    True
    """
    if isinstance(values, pd.DataFrame):
        if "mean" not in values.columns:
            raise ValueError(
                f"Expected a point prediction (Series) or a posterior summary with a 'mean' column; "
                f"got columns {list(values.columns)}."
            )
        lower, upper = _interval_columns(values)
        return (
            values["mean"],
            None if lower is None else values[lower],
            None if upper is None else values[upper],
        )
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=float))
    return series, None, None


def _history_grid(model, data, max_frequency, T, n_recency) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, float]:
    """The distinct (frequency, recency) cells of a matrix plot at one observation length T."""
    if T is None:
        if data is None:
            raise ValueError("Pass T= (the observation length) or data= (a summary to take the longest T from).")
        T = float(np.max(data["T"]))
    if max_frequency is None:
        if data is None:
            raise ValueError("Pass max_frequency= or data= (a summary to take the largest frequency from).")
        # the 99th percentile keeps one very loyal customer from squashing the picture
        max_frequency = int(np.ceil(np.quantile(data["frequency"], 0.99)))
    max_frequency = max(int(max_frequency), 1)
    frequency = np.arange(max_frequency + 1, dtype=float)
    recency = np.linspace(0.0, float(T), int(n_recency))
    ff, rr = np.meshgrid(frequency, recency, indexing="ij")
    grid = pd.DataFrame({"frequency": ff.ravel(), "recency": rr.ravel(), "T": float(T)})
    # a surface over the (frequency, recency) plane, as lifetimes draws it: the cells that are no
    # customer's history (frequency 0 at recency > 0, and the reverse) are evaluated too; the grid
    # is in the unit of the data it was taken from, so a model of another unit refuses it
    grid.attrs["surface"] = True
    if data is not None and getattr(data, "attrs", {}).get("unit") is not None:
        grid.attrs["unit"] = data.attrs["unit"]
    return grid, frequency, recency, float(T)


def _matrix(ax, values: np.ndarray, frequency, recency, title: str, label: str, cmap: str, vmax=None):
    image = ax.imshow(
        values,
        origin="lower",
        aspect="auto",
        cmap=cmap,
        vmin=0.0,
        vmax=vmax,
        extent=(recency[0], recency[-1], frequency[0] - 0.5, frequency[-1] + 0.5),
        interpolation="nearest",
    )
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_xlabel("recency (time of last purchase since the first)")
    ax.set_ylabel("frequency (repeat purchases)")
    ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- model checks
def plot_calibration_histogram(model, data: pd.DataFrame, *, max_count: int = 7, ax=None):
    """Observed and expected number of customers by repeat purchases in the calibration period.

    Draws :func:`clvmodels.evaluation.calibration_histogram`'s table: the model's P(X(T_i) = n)
    summed over customers, or, for a fit with many draws or a model without a closed-form
    P(X(t) = n), simulated counts with their HDI as error bars.

    Parameters
    ----------
    model : TransactionModel
        Fitted purchase model.
    data : DataFrame
        Calibration summary with ``frequency`` and ``T``.
    max_count : int
        Last bar, standing for "this many or more".
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> ax = plot_calibration_histogram(bg, s)
    >>> [t.get_text() for t in ax.get_xticklabels()][-1]
    '7+'
    >>> close(ax)
    """
    table = calibration_histogram(model, data, max_count=max_count)
    if "hdi_lower" in table.columns:
        return plot_posterior_predictive_check(table, ax=ax, label=table.attrs["source"], expected_bars=True)
    ax = _axes(ax)
    x = np.arange(len(table))
    width = 0.4
    ax.bar(x - width / 2, table["observed"].to_numpy(dtype=float), width, color=_OBSERVED, label="observed")
    ax.bar(x + width / 2, table["expected"].to_numpy(dtype=float), width, color=_MODEL, label="model")
    ax.set_xticks(x, [str(i) for i in table.index])
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("customers")
    ax.set_title("Calibration fit: customers by repeat purchases")
    ax.legend()
    return ax


def plot_posterior_predictive_check(table: pd.DataFrame, ax=None, label: str | None = None, *,
                                    expected_bars: bool = False):
    """Observed vs simulated (posterior-predictive) counts, with the HDI of the simulated counts as error bars.

    Draws :func:`clvmodels.evaluation.posterior_predictive_check`'s (or
    :func:`~clvmodels.evaluation.prior_predictive_check`'s) table; computes nothing itself.

    Parameters
    ----------
    table : DataFrame
        With ``observed``, ``expected``, ``hdi_lower``, ``hdi_upper`` per count bin.
    ax : matplotlib Axes, optional
        Where to draw (a new figure's axes by default).
    label : str, optional
        Legend of the simulated counts (default: the table's source, e.g. "posterior predictive").
    expected_bars : bool
        Draw the simulated mean as bars beside the observed ones (the calibration histogram's
        look) instead of as points on them.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> t = pd.DataFrame({"observed": [5, 3], "expected": [4.5, 3.5], "hdi_lower": [3.0, 2.0],
    ...                   "hdi_upper": [6.0, 5.0]}, index=pd.Index(["0", "1+"], name="frequency"))
    >>> ax = plot_posterior_predictive_check(t)
    >>> len(ax.patches), len(plot_posterior_predictive_check(t, expected_bars=True).patches)
    (2, 4)
    >>> close(ax)
    """
    missing = [c for c in ("observed", "expected", "hdi_lower", "hdi_upper") if c not in table.columns]
    if missing:
        raise ValueError(f"The 'table' parameter must be the output of posterior_predictive_check; it lacks "
                         f"{', '.join(missing)}.")
    ax = _axes(ax)
    source = str(table.attrs.get("source", "posterior"))
    label = label or (source if "predictive" in source or "simulated" in source else f"{source} predictive")
    x = np.arange(len(table))
    width = 0.4 if expected_bars else 0.8
    at = x + width / 2 if expected_bars else x
    expected = table["expected"].to_numpy(dtype=float)
    ax.bar(x - width / 2 if expected_bars else x, table["observed"].to_numpy(dtype=float), width, color=_OBSERVED,
           label="observed")
    if expected_bars:
        ax.bar(at, expected, width, color=_MODEL, label=label)
    lo, hi = table["hdi_lower"].to_numpy(dtype=float), table["hdi_upper"].to_numpy(dtype=float)
    hdi_label = f"{table.attrs.get('hdi_prob', 0.94):.0%} HDI"
    ax.errorbar(at, expected, yerr=[np.clip(expected - lo, 0, None), np.clip(hi - expected, 0, None)],
                fmt="none" if expected_bars else "o", color=_MODEL, ecolor="black", capsize=3,
                label=hdi_label if expected_bars else f"{label}, {hdi_label}")
    ax.set_xticks(x, [str(i) for i in table.index])
    ax.set_xlabel(f"repeat purchases ({table.index.name or 'frequency'})")
    ax.set_ylabel("customers")
    ax.set_title("Calibration fit: customers by repeat purchases")
    ax.legend()
    return ax


def plot_frequency_recency_matrix(
    model,
    data: pd.DataFrame | None = None,
    *,
    t: float = 1.0,
    T: float | None = None,
    max_frequency: int | None = None,
    n_recency: int = 60,
    ax=None,
):
    """Expected purchases in the next ``t`` time units by (frequency, recency), at observation length ``T``.

    Parameters
    ----------
    model : TransactionModel
        Fitted purchase model.
    data : DataFrame, optional
        Summary to take ``T`` (its largest) and ``max_frequency`` (its 99th percentile) from.
    t : float
        Forecast horizon, in the model's time unit.
    T, max_frequency : optional
        Observation length and largest frequency of the grid.
    n_recency : int
        Number of recency values from 0 to ``T``.
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import clvmodels as clv
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> ax = plot_frequency_recency_matrix(bg, t=52, T=39, max_frequency=10)
    >>> ax.images[0].get_array().shape
    (11, 60)
    >>> close(ax)
    """
    grid, frequency, recency, T = _history_grid(model, data, max_frequency, T, n_recency)
    point, lower, _ = point_and_interval(model.expected_purchases(grid, t=t))
    ax = _axes(ax)
    values = np.asarray(point, dtype=float).reshape(len(frequency), len(recency))
    what = "posterior mean of expected purchases" if lower is not None else "expected purchases"
    names = UNIT_NAMES
    unit = names.get(getattr(model, "unit_", None) or getattr(data, "attrs", {}).get("unit"))
    span = "time units" if unit is None else (unit if t == 1 else f"{unit}s")
    return _matrix(ax, values, frequency, recency, f"Expected purchases in the next {t:g} {span} (T = {T:.4g})",
                   what, "viridis")


def plot_probability_alive_matrix(
    model,
    data: pd.DataFrame | None = None,
    *,
    T: float | None = None,
    max_frequency: int | None = None,
    n_recency: int = 60,
    ax=None,
):
    """P(alive) by (frequency, recency), at observation length ``T``.

    Parameters are those of :func:`plot_frequency_recency_matrix` (without ``t``).

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import clvmodels as clv
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> ax = plot_probability_alive_matrix(bg, T=39, max_frequency=5)
    >>> float(ax.images[0].get_array().max()) <= 1.0
    True
    >>> close(ax)
    """
    grid, frequency, recency, T = _history_grid(model, data, max_frequency, T, n_recency)
    point, lower, _ = point_and_interval(model.probability_alive(grid))
    ax = _axes(ax)
    values = np.asarray(point, dtype=float).reshape(len(frequency), len(recency))
    what = "posterior mean of P(alive)" if lower is not None else "P(alive)"
    return _matrix(ax, values, frequency, recency, f"P(alive) by purchase history (T = {T:.4g})", what,
                   "magma", vmax=1.0)


def _column(frame: pd.DataFrame, candidates: Sequence[str], what: str) -> str:
    for c in candidates:
        if c in frame.columns:
            return c
    raise ValueError(
        f"The table has no {what} column (looked for {', '.join(map(repr, candidates))}); its columns are "
        f"{', '.join(map(repr, frame.columns))}. Pass a table from clvmodels.evaluation."
    )


def plot_tracking(table: pd.DataFrame, *, cumulative: bool = True, calibration_end=None, ax=None):
    """Actual and expected repeat purchases per period over calibration and holdout.

    Parameters
    ----------
    table : DataFrame
        One row per period, as returned by :func:`clvmodels.evaluation.tracking`: ``actual``
        and ``expected`` per period, ``actual_cumulative`` and ``expected_cumulative`` running
        totals (summed here when absent) and, from a posterior, the intervals
        ``expected_lower``/``expected_upper`` and ``expected_cumulative_lower``/``..._upper``;
        with ``predictive=True`` the predictive intervals of the actual counts
        (``predictive_lower``/``..._upper``, ``predictive_cumulative_lower``/``..._upper``),
        drawn as a lighter band.
    cumulative : bool
        Draw running totals instead of per-period values.
    calibration_end : optional
        Position of the end of calibration on the period axis (defaults to
        ``table.attrs["calibration_end"]``, which :func:`~clvmodels.evaluation.tracking` sets).
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> t = pd.DataFrame({"actual": [5.0, 7.0, 6.0], "expected": [5.5, 6.5, 6.2]})
    >>> ax = plot_tracking(t, cumulative=True, calibration_end=1)
    >>> ax.lines[0].get_ydata().tolist()
    [5.0, 12.0, 18.0]
    >>> close(ax)
    """
    actual_col = _column(table, ["actual"], "actual")
    expected_col = _column(table, ["expected"], "expected")
    ax = _axes(ax, figsize=(7.5, 4.0))
    suffix = "_cumulative" if cumulative else ""
    actual = table[actual_col].astype(float)
    expected = table[expected_col].astype(float)
    if cumulative:
        actual = table[f"actual{suffix}"].astype(float) if f"actual{suffix}" in table else actual.cumsum()
        expected = table[f"expected{suffix}"].astype(float) if f"expected{suffix}" in table else expected.cumsum()
    x = np.asarray(table.index, dtype=float) if pd.api.types.is_numeric_dtype(table.index) else np.arange(1, len(table) + 1)
    ax.plot(x, actual.to_numpy(), color=_OBSERVED, label="actual")
    ax.plot(x, expected.to_numpy(), color=_MODEL, linestyle="--", label="model")
    prob = table.attrs.get("hdi_prob", 0.94)
    lower, upper = f"predictive{suffix}_lower", f"predictive{suffix}_upper"
    if lower in table.columns and upper in table.columns:
        ax.fill_between(x, table[lower].astype(float).to_numpy(), table[upper].astype(float).to_numpy(),
                        color=_OBSERVED, alpha=0.12, label=f"{prob:.0%} predictive interval of actual")
    lower, upper = f"expected{suffix}_lower", f"expected{suffix}_upper"
    if lower in table.columns and upper in table.columns:
        ax.fill_between(x, table[lower].astype(float).to_numpy(), table[upper].astype(float).to_numpy(), color=_MODEL,
                        alpha=0.3, label=f"{prob:.0%} HDI of the expectation")
    end = calibration_end if calibration_end is not None else table.attrs.get("calibration_end")
    if end is not None:
        ax.axvline(float(end), color="grey", linestyle=":", label="end of calibration")
    unit = table.attrs.get("unit")
    period = table.attrs.get("period")
    ax.set_xlabel(f"period ({period:g} {unit})" if unit and period else "period")
    ax.set_ylabel("cumulative repeat purchases" if cumulative else "repeat purchases per period")
    ax.set_title(("Cumulative" if cumulative else "Incremental") + " tracking: actual vs model")
    ax.legend()
    return ax


def plot_alive_path(path: pd.DataFrame, *, ax=None, label: str = "P(alive)"):
    """One customer's P(alive) over time, with the purchase days (lifetimes' ``plot_history_alive``).

    Parameters
    ----------
    path : DataFrame
        As returned by :func:`clvmodels.alive_history.alive_path`: ``date``, ``p_alive``,
        ``new_purchases`` and, from a posterior, ``p_alive_hdi_lower``/``..._upper`` (drawn
        as a band).
    ax : matplotlib Axes, optional
    label : str
        Legend label of the curve.

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import clvmodels as clv, pandas as pd
    >>> from clvmodels.alive_history import alive_path
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> path = alive_path(bg, pd.DataFrame({"date": ["1997-01-01", "1997-01-15"]}), t=10)
    >>> ax = plot_alive_path(path)
    >>> len(ax.lines[0].get_ydata()), len(ax.collections[0].get_segments())  # 11 ages, 2 purchase days
    (11, 2)
    >>> close(ax)
    """
    for col in ("date", "p_alive", "new_purchases"):
        if col not in path.columns:
            raise ValueError(f"plot_alive_path draws the table of clvmodels.alive_history.alive_path; the column {col!r} "
                             f"is missing (columns: {list(path.columns)}).")
    ax = _axes(ax, figsize=(7.5, 3.6))
    dates = pd.to_datetime(path["date"])
    ax.plot(dates, path["p_alive"].astype(float).to_numpy(), color=_MODEL, label=label)
    if "p_alive_hdi_lower" in path.columns and "p_alive_hdi_upper" in path.columns:
        prob = path.attrs.get("hdi_prob", 0.94)
        ax.fill_between(dates, path["p_alive_hdi_lower"].astype(float).to_numpy(),
                        path["p_alive_hdi_upper"].astype(float).to_numpy(), color=_MODEL, alpha=0.3,
                        label=f"{prob:.0%} HDI")
    bought = dates[path["new_purchases"].to_numpy() > 0]
    if len(bought):
        ax.vlines(bought, 0.0, 1.0, colors=_OBSERVED, linestyles="dashed", linewidth=0.8, label="purchases")
    ax.set_ylim(0.0, 1.02)
    ax.set_ylabel("P(alive)")
    customer = path.attrs.get("customer")
    ax.set_title("History of P(alive)" + (f" of customer {literal_label(customer)}" if customer is not None else ""))
    ax.legend(loc="lower left")
    return ax


def plot_conditional_expectations(table: pd.DataFrame, *, ax=None):
    """Mean holdout purchases, actual against model, by calibration frequency.

    Parameters
    ----------
    table : DataFrame
        One row per calibration-frequency group (index labels such as ``0, 1, ..., "7+"``) with
        ``actual`` and ``expected`` mean holdout purchases, optionally interval columns and a
        ``customers`` count, as returned by :mod:`clvmodels.evaluation`.
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> t = pd.DataFrame({"actual": [0.2, 0.6, 1.1], "expected": [0.23, 0.55, 1.2]},
    ...                  index=pd.Index(["0", "1", "2+"], name="frequency"))
    >>> ax = plot_conditional_expectations(t)
    >>> [tick.get_text() for tick in ax.get_xticklabels()]
    ['0', '1', '2+']
    >>> close(ax)
    """
    actual = table[_column(table, ["actual", "actual_mean", "observed"], "actual")].astype(float).to_numpy()
    expected = table[_column(table, ["expected", "mean", "expected_mean", "model"], "expected")].astype(float).to_numpy()
    ax = _axes(ax)
    x = np.arange(len(table))
    ax.plot(x, actual, marker="o", color=_OBSERVED, label="actual")
    ax.plot(x, expected, marker="s", linestyle="--", color=_MODEL, label="model")
    lower_col, upper_col = _interval_columns(table)
    if lower_col is not None and upper_col is not None:
        ax.fill_between(x, table[lower_col].astype(float), table[upper_col].astype(float), color=_MODEL, alpha=0.25,
                        label="model interval")
    ax.set_xticks(x, [str(i) for i in table.index], parse_math=False)
    ax.set_xlabel(f"{table.index.name or 'frequency'} in the calibration period", parse_math=False)
    ax.set_ylabel("mean purchases in the holdout period")
    ax.set_title("Conditional expectations vs actual")
    ax.legend()
    return ax


# --------------------------------------------------------------------------- posteriors
def plot_posterior(model, *, var_names: Sequence[str] | None = None, kind: str = "dist", **kwargs: Any):
    """Posterior distributions (``kind="dist"``) or trace plots (``kind="trace"``) of a sampled model's parameters.

    Drawn with ``arviz_plots`` on the matplotlib backend.

    Parameters
    ----------
    model
        A model fitted with ``sample()``/``fit(method=...)`` that has a ``posterior_``, or the
        ArviZ DataTree itself.
    var_names : sequence of str, optional
        Parameters to show (default: the model's parameters).
    kind : {"dist", "trace"}
    **kwargs
        Passed on to ``arviz_plots.plot_dist`` / ``plot_trace_dist``.

    Returns
    -------
    arviz_plots.PlotCollection
        Its figure is ``figure_of(result)``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, arviz as az
    >>> rng = np.random.default_rng(0)
    >>> post = az.from_dict({"posterior": {"r": rng.gamma(50, 0.005, (2, 100))}})
    >>> pc = plot_posterior(post)
    >>> type(pc).__name__
    'PlotCollection'
    >>> close(pc)
    """
    import arviz_plots as azp

    tree = getattr(model, "posterior_", None) if hasattr(model, "spec") else model
    if tree is None:
        raise ValueError(
            "The model has no posterior: it was fitted by maximum likelihood. Sample it first "
            "(e.g. model.sample(summary)) to plot parameter posteriors."
        )
    if var_names is None and hasattr(model, "spec"):
        var_names = list(model.spec.param_names)
    functions = {"dist": azp.plot_dist, "trace": azp.plot_trace_dist}
    if kind not in functions:
        raise ValueError(f"The 'kind' parameter must be 'dist' or 'trace'. Got {kind!r} instead.")
    if kind == "dist" and var_names is not None:
        # two panels a row keeps each parameter's density readable at report width
        kwargs.setdefault("col_wrap", min(2, len(var_names)))
        kwargs.setdefault("figure_kwargs", {"figsize": (7.0, 2.9 * ((len(var_names) + 1) // 2) + 0.4)})
    return functions[kind](tree, var_names=var_names, backend="matplotlib", **kwargs)


def plot_top_customers(values, *, n: int = 20, ax=None, label: str = "CLV"):
    """The ``n`` customers of highest value, with their intervals when the values come from a posterior.

    Parameters
    ----------
    values : Series or DataFrame
        Per-customer values (e.g. from :func:`clvmodels.lifetime_value`); a posterior summary
        with ``mean`` and interval columns draws error bars.
    n : int
        Number of customers shown.
    ax : matplotlib Axes, optional
    label : str
        Name of the quantity for the axis label.

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> v = pd.DataFrame({"mean": [10.0, 30.0, 20.0], "hdi_lower": [5.0, 20.0, 12.0], "hdi_upper": [15.0, 41.0, 30.0]},
    ...                  index=pd.Index(["a", "b", "c"], name="customer_id"))
    >>> ax = plot_top_customers(v, n=2)
    >>> [t.get_text() for t in ax.get_yticklabels()]  # bottom to top
    ['c', 'b']
    >>> close(ax)
    """
    point, lower, upper = point_and_interval(values)
    top = point.sort_values(ascending=False).head(int(n))
    ax = _axes(ax, figsize=(6.4, max(2.5, 0.28 * len(top) + 1.2)))
    y = np.arange(len(top))[::-1]
    ax.barh(y, top.to_numpy(), color=_MODEL, alpha=0.85)
    if lower is not None and upper is not None:
        lo, hi = lower.loc[top.index].to_numpy(), upper.loc[top.index].to_numpy()
        ax.errorbar(top.to_numpy(), y, xerr=[top.to_numpy() - lo, hi - top.to_numpy()], fmt="none", ecolor="black",
                    capsize=2, label="interval")
        ax.legend(loc="lower right")
    # ticks bottom to top, so the highest customer is the top label
    # ids are data: drawn as written, never as mathtext (a "$" in an id must not become a formula or fail the
    # figure); parse_math=False keeps get_text() equal to the id
    ax.set_yticks(y[::-1], [str(i) for i in top.index[::-1]], parse_math=False)
    ax.set_xlabel(str(label), parse_math=False)
    ax.set_ylabel(str(point.index.name or "customer"), parse_math=False)
    ax.set_title(f"Top {len(top)} customers by {label}", parse_math=False)
    return ax


def plot_customer_equity(draws, *, hdi: Sequence[float] | None = None, ax=None, label: str = "customer equity"):
    """Posterior distribution of customer equity (the total CLV of the customer base, one value per draw).

    Parameters
    ----------
    draws : array-like
        Customer equity per posterior draw (any shape; flattened).
    hdi : (lower, upper), optional
        Interval to mark, e.g. from the posterior equity summary.
    ax : matplotlib Axes, optional
    label : str

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> ax = plot_customer_equity(np.random.default_rng(0).normal(1e5, 5e3, 400), hdi=(9.1e4, 1.09e5))
    >>> len(ax.patches) > 0
    True
    >>> close(ax)
    """
    values = np.asarray(draws, dtype=float).ravel()
    if values.size == 0:
        raise ValueError("The 'draws' parameter of plot_customer_equity is empty; pass one equity value per draw.")
    ax = _axes(ax)
    ax.hist(values, bins=min(40, max(10, values.size // 20)), color=_MODEL, alpha=0.8)
    mean = float(values.mean())
    ax.axvline(mean, color="black", label=f"mean {mean:,.0f}")
    if hdi is not None:
        lo, hi = map(float, hdi)
        ax.axvspan(lo, hi, color="grey", alpha=0.2, label=f"interval {lo:,.0f} – {hi:,.0f}")
    ax.set_xlabel(str(label), parse_math=False)
    ax.set_ylabel("posterior draws")
    ax.set_title("Customer equity: posterior distribution")
    ax.legend()
    return ax


# --------------------------------------------------------------------------- segments
def _bar_table(table: pd.DataFrame, value_candidates, share_candidates, title: str, ax):
    value_col = _column(table, value_candidates, "count")
    ax = _axes(ax)
    # tier and segment names may come from the user's own table: drawn as written, never as mathtext
    labels = [str(i) for i in table.index]
    x = np.arange(len(table))
    ax.bar(x, table[value_col].astype(float).to_numpy(), color=_OBSERVED, alpha=0.85,
           label=literal_label(value_col))
    ax.set_xticks(x, labels, rotation=30 if max(map(len, labels), default=0) > 8 else 0, ha="right"
                  if max(map(len, labels), default=0) > 8 else "center", parse_math=False)
    ax.set_ylabel(str(value_col), parse_math=False)
    share_col = next((c for c in share_candidates if c in table.columns), None)
    if share_col is not None:
        twin = ax.twinx()
        share = table[share_col].astype(float).to_numpy()
        twin.plot(x, share, color=_MODEL, marker="o", label=literal_label(share_col))
        twin.set_ylabel(str(share_col), parse_math=False)
        twin.set_ylim(0, max(1.0, float(np.nanmax(share)) * 1.1) if share.size else 1.0)
    ax.set_title(title)
    return ax


def plot_tiers(table: pd.DataFrame, *, ax=None):
    """Customers per CLV tier (bars) and each tier's share of customer equity (line).

    Parameters
    ----------
    table : DataFrame
        One row per tier with a customer count (``customers`` or ``count``) and optionally a
        share of equity (``equity_share`` or ``share``), as from :mod:`clvmodels.segments`.
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> t = pd.DataFrame({"customers": [1, 4, 15, 80], "equity_share": [0.2, 0.3, 0.3, 0.2]},
    ...                  index=["platinum", "gold", "iron", "lead"])
    >>> ax = plot_tiers(t)
    >>> [float(b.get_height()) for b in ax.patches]
    [1.0, 4.0, 15.0, 80.0]
    >>> close(ax)
    """
    return _bar_table(table, ["customers", "count", "n_customers", "n"], ["equity_share", "share_of_equity", "share"],
                      "CLV tiers: customers and share of equity", ax)


def plot_segments(table: pd.DataFrame, *, ax=None):
    """Customers per named segment (bars) and, when given, each segment's share of value (line).

    Parameters
    ----------
    table : DataFrame
        One row per segment with a customer count and optionally a value share, as from
        :mod:`clvmodels.segments`.
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> t = pd.DataFrame({"customers": [120, 300]}, index=["champions", "hibernating"])
    >>> ax = plot_segments(t)
    >>> ax.get_title()
    'Segments: customers'
    >>> close(ax)
    """
    ax = _bar_table(table, ["customers", "count", "n_customers", "n"],
                    ["equity_share", "share_of_equity", "value_share", "share"], "Segments: customers", ax)
    return ax
