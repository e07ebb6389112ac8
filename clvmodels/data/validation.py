"""Checks of summary tables against the columns a model reads.

Each failure names the column, the rule, how many customers break it, the first offending
customer ids and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from clvmodels.errors import ClvDataError, UnitMismatchError
from clvmodels.units import UNIT_DAYS, UNIT_NAMES, normalize_unit

__all__ = ["offenders", "offending_rows", "describe_rows", "validate_summary", "validate_fit_data", "as_summary_frame", "check_summary_unit",
           "check_consistent_rows"]

_RULES = {
    "count": ("a whole number >= 0", lambda v: np.isfinite(v) & (v >= 0) & (v == np.round(v))),
    "positive_count": ("a whole number >= 1", lambda v: np.isfinite(v) & (v >= 1) & (v == np.round(v))),
    "time": ("finite and >= 0", lambda v: np.isfinite(v) & (v >= 0)),
    "nonnegative": ("finite and >= 0", lambda v: np.isfinite(v) & (v >= 0)),
    "positive_time": ("finite and > 0", lambda v: np.isfinite(v) & (v > 0)),
    "positive": ("finite and > 0", lambda v: np.isfinite(v) & (v > 0)),
    "binary": ("0 or 1", lambda v: (v == 0) | (v == 1)),
    "real": ("a finite number", np.isfinite),
}

_FIXES = {
    ("frequency", "positive_count"): (
        "the Gamma-Gamma model is fitted on customers with at least one repeat purchase: "
        "pass summary[summary['frequency'] > 0]"
    ),
    ("monetary_value", "positive"): (
        "the Gamma-Gamma model needs a positive mean spend for every repeat buyer; drop or "
        "correct those customers (zero-value purchases carry no spend information)"
    ),
}

#: How to get a column that only some summaries have, quoted when a model needs it and it is missing.
_MISSING_FIXES = {
    "litt": ("Build the summary with clvmodels.rfm_summary(..., regularity=True), which adds 'litt' (the sum "
             "of each customer's log inter-purchase times, which the regularity models read)"),
}


def offenders(index: pd.Index, bad: np.ndarray, k: int = 5) -> str:
    """Describe offending rows: their count and the first ``k`` ids.

    Examples
    --------
    >>> offenders(pd.Index(["a", "b", "c"]), np.array([False, True, True]))
    "2 rows (first: 'b', 'c')"
    """
    return describe_rows(int(np.sum(bad)), list(index[bad][:k]))


def describe_rows(n: int, labels: list, customers: list | None = None) -> str:
    """The wording of :func:`offenders` / :func:`offending_rows` from a count, first labels and customers.

    For callers that find the rows themselves (the DuckDB engine counts them in SQL).

    Examples
    --------
    >>> describe_rows(2, [1, 2], ["b"])
    "2 rows (first: 1, 2) of customers 'b'"
    """
    rows = f"{n} row{'s' if n != 1 else ''} (first: {', '.join(repr(i) for i in labels)})"
    if customers is None:
        return rows
    return f"{rows} of customers {', '.join(repr(i) for i in customers)}"


def offending_rows(index: pd.Index, ids: pd.Series | None, bad: np.ndarray) -> str:
    """Offending transaction rows: their count, first row labels and (with ``ids``) those rows' customers.

    Examples
    --------
    >>> offending_rows(pd.RangeIndex(3), pd.Series(["a", "b", "b"]), np.array([False, True, True]))
    "2 rows (first: 1, 2) of customers 'b'"
    """
    customers = None if ids is None else pd.unique(ids.to_numpy()[bad])[:5].tolist()
    return describe_rows(int(np.sum(bad)), list(index[bad][:5]), customers)


def as_summary_frame(data) -> pd.DataFrame:
    """Accept a DataFrame or a mapping of equal-length arrays; never modify the caller's object."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        return pd.DataFrame({k: np.asarray(v) for k, v in data.items()})
    raise TypeError(
        f"Expected a summary DataFrame (one row per customer, e.g. from clvmodels.rfm_summary) "
        f"or a mapping of column arrays. Got {type(data).__name__} instead."
    )


def check_summary_unit(data, fitted_unit: str | None, *, what: str) -> str | None:
    """The time unit to read ``data`` in; refuse a summary whose unit differs from the model's.

    A summary from :func:`clvmodels.rfm_summary` carries its unit in ``data.attrs["unit"]``
    (see :func:`clvmodels.with_unit` to set it on a table of your own). A table without one is
    taken to be in the model's unit.

    Parameters
    ----------
    data : DataFrame or mapping
        The summary.
    fitted_unit : str or None
        The unit the model was fitted in (``model.unit_``); None when unknown.
    what : str
        The call being made, quoted in the message (``"BG/NBD expected_purchases"``).

    Returns
    -------
    str or None
        The summary's unit when it has one, else ``fitted_unit``.

    Raises
    ------
    UnitMismatchError
        The two units are known and differ.

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [1.0], "recency": [7.0], "T": [14.0]})
    >>> check_summary_unit(s, "W", what="BG/NBD expected_purchases")
    'W'
    >>> s.attrs["unit"] = "D"
    >>> check_summary_unit(s, "W", what="BG/NBD expected_purchases")
    Traceback (most recent call last):
    ...
    clvmodels.errors.UnitMismatchError: BG/NBD expected_purchases: the summary is in days (attrs['unit'] = 'D') but the model was fitted in weeks ('W'): times would be read 7 times too large. Rebuild the summary with rfm_summary(..., unit='W'), or refit the model on this summary.
    """
    attrs = getattr(data, "attrs", None) or {}
    raw = attrs.get("unit")
    summary_unit = None if raw is None else normalize_unit(raw, "summary.attrs['unit']")
    model_unit = None if fitted_unit is None else normalize_unit(fitted_unit, "fitted_unit")
    if summary_unit is None or model_unit is None or summary_unit == model_unit:
        return summary_unit or model_unit
    names = {k: v + "s" for k, v in UNIT_NAMES.items()}
    ratio = UNIT_DAYS[model_unit] / UNIT_DAYS[summary_unit]
    scale = f"{ratio:.4g} times too large" if ratio > 1 else f"{1 / ratio:.4g} times too small"
    raise UnitMismatchError(
        f"{what}: the summary is in {names[summary_unit]} (attrs['unit'] = {summary_unit!r}) but the model was "
        f"fitted in {names[model_unit]} ({model_unit!r}): times would be read {scale}. Rebuild the summary with "
        f"rfm_summary(..., unit={model_unit!r}), or refit the model on this summary."
    )


def check_consistent_rows(frame: pd.DataFrame, arrays: Mapping[str, np.ndarray]) -> None:
    """Refuse rows whose frequency and recency contradict each other (as lifetimes does).

    A customer without repeat purchases (frequency 0) has recency 0; one with repeat purchases
    has a last purchase after the first (recency > 0). A table marked ``attrs["surface"] = True``
    is a grid over the (frequency, recency) plane on which a formula is drawn as a surface (the
    matrix plots), not a table of customers, and is not checked.

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [0.0, 2.0], "recency": [3.0, 4.0]}, index=pd.Index(["a", "b"]))
    >>> check_consistent_rows(s, {k: s[k].to_numpy() for k in s})
    Traceback (most recent call last):
    ...
    clvmodels.errors.ClvDataError: Columns 'frequency' and 'recency' contradict each other: frequency 0 with recency > 0 in 1 row (first: 'a'); a customer without repeat purchases has recency 0. Fix those rows (recency 0, or the right frequency) or rebuild the summary with clvmodels.rfm_summary.
    """
    if "frequency" not in arrays or "recency" not in arrays or frame.attrs.get("surface"):
        return
    x, tx = np.asarray(arrays["frequency"]), np.asarray(arrays["recency"])
    for bad, what, why in (
        ((x == 0) & (tx > 0), "frequency 0 with recency > 0", "a customer without repeat purchases has recency 0"),
        ((x > 0) & (tx == 0), "frequency > 0 with recency 0",
         "a repeat purchase comes after the first one, so its recency is > 0"),
    ):
        if bad.any():
            raise ClvDataError(
                f"Columns 'frequency' and 'recency' contradict each other: {what} in "
                f"{offenders(frame.index, bad)}; {why}. Fix those rows (recency 0, or the right frequency) or "
                f"rebuild the summary with clvmodels.rfm_summary."
            )


def validate_summary(spec, data, *, for_fit: bool, unit: str | None = None) -> tuple[pd.Index, dict[str, np.ndarray]]:
    """Return the customer index and float arrays of the columns ``spec`` reads, checked.

    With ``unit`` (the unit the model was fitted in) the summary's own unit is checked
    against it first (:func:`check_summary_unit`). Rows whose frequency and recency contradict
    each other are refused (:func:`check_consistent_rows`).

    Examples
    --------
    >>> from clvmodels.models.bgnbd import SPEC
    >>> s = pd.DataFrame({"frequency": [1, 0], "recency": [3.0, 0.0], "T": [2.0, 5.0]},
    ...                  index=pd.Index([7, 8], name="customer_id"))
    >>> validate_summary(SPEC, s, for_fit=True)
    Traceback (most recent call last):
    ...
    clvmodels.errors.ClvDataError: Column 'recency' must not exceed column 'T' (recency is the time of the last purchase t_x, T the time observed since the first purchase): 1 row (first: 7). Check the summary's time unit and observation end, or rebuild it with clvmodels.rfm_summary.
    """
    frame = as_summary_frame(data)
    if unit is not None:
        check_summary_unit(frame, unit, what=spec.title)
    if frame.attrs.get("include_first_transaction") and "frequency" in {f.name for f in spec.data}:
        # its frequency counts the first purchase: every model reads repeat purchases there
        raise ClvDataError(
            f"{spec.title} reads 'frequency' as repeat purchases, but this summary was built with "
            f"include_first_transaction=True (its frequency counts the first purchase too, and its monetary_value "
            f"averages it in). Rebuild it with rfm_summary(..., include_first_transaction=False) for models."
        )
    if len(frame) == 0:
        raise ClvDataError(f"The summary passed to {spec.title} has no rows; it needs one row per customer.")
    missing = [f.name for f in spec.data if f.name not in frame.columns]
    design = getattr(spec, "covariates", None)
    absent_covariates = [m for m in missing if design is not None and m in design.columns]
    if absent_covariates and len(absent_covariates) == len(missing):
        # a covariate model reads its covariates as summary columns: say where they come from
        raise ClvDataError(
            f"{spec.title} with covariates reads the covariate column{'s' if len(absent_covariates) > 1 else ''} "
            f"{', '.join(repr(m) for m in absent_covariates)} from the summary, which lacks "
            f"{'them' if len(absent_covariates) > 1 else 'it'} (found: {', '.join(map(str, frame.columns[:10]))}). "
            f"Join the per-customer covariate table first: summary = clv.join_covariates(summary, table, "
            f"customer='customer_id')."
        )
    if missing:
        how = next((_MISSING_FIXES[m] for m in missing if m in _MISSING_FIXES),
                   "Build the summary with clvmodels.rfm_summary or rename your columns")
        raise ClvDataError(
            f"{spec.title} needs the summary columns {', '.join(repr(f.name) for f in spec.data)}; "
            f"missing {', '.join(repr(m) for m in missing)}. {how} "
            f"(found: {', '.join(map(str, frame.columns[:10]))})."
        )
    for field in spec.data:
        n = int((frame.columns == field.name).sum())
        if n > 1:
            raise ClvDataError(f"The summary has {n} columns named '{field.name}'; {spec.title} reads one. Rename or "
                               f"drop the others.")
    arrays: dict[str, np.ndarray] = {}
    for field in spec.data:
        col = frame[field.name]
        try:
            values = pd.to_numeric(col, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        except (ValueError, TypeError):
            bad = pd.to_numeric(col, errors="coerce").isna().to_numpy()
            raise ClvDataError(
                f"Column '{field.name}' must be numeric; {offenders(frame.index, bad)} are not. "
                f"Convert or drop them."
            ) from None
        kind = field.fit_kind if (for_fit and field.fit_kind) else field.kind
        text, rule = _RULES[kind]
        with np.errstate(invalid="ignore"):
            bad = ~rule(values)
        if bad.any():
            fix = _FIXES.get((field.name, kind), "correct or drop those customers, or rebuild the summary with clvmodels.rfm_summary")
            raise ClvDataError(
                f"Column '{field.name}' ({field.description}) must be {text}: "
                f"{offenders(frame.index, bad)} are not. Fix: {fix}."
            )
        arrays[field.name] = values
    for field in spec.data:
        if field.at_most is not None:
            bad = arrays[field.name] > arrays[field.at_most] * (1 + 1e-12)
            if bad.any():
                other = {f.name: f for f in spec.data}.get(field.at_most)
                why = f"{field.name} is the {field.description}" + (f", {other.name} the {other.description}"
                                                                     if other is not None else "")
                raise ClvDataError(
                    f"Column '{field.name}' must not exceed column '{field.at_most}' ({why}): "
                    f"{offenders(frame.index, bad)}. Check the summary's time unit and observation end, or "
                    f"rebuild it with clvmodels.rfm_summary."
                )
    check_consistent_rows(frame, arrays)
    return frame.index, arrays


def validate_fit_data(spec, data, weights=None) -> tuple[pd.Index, dict[str, np.ndarray], np.ndarray | None]:
    """:func:`validate_summary` for fitting, plus the optional per-row ``weights`` (customers per row).

    Examples
    --------
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> s = pd.DataFrame({"frequency": [1, 2], "monetary_value": [3.0, 4.0]})
    >>> validate_fit_data(SPEC, s, weights=[1, -1])
    Traceback (most recent call last):
    ...
    ValueError: The 'weights' parameter must be one finite, non-negative number per summary row (2 rows). Got shape (2,) instead, or negative/NaN values.
    """
    index, arrays = validate_summary(spec, data, for_fit=True)
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (len(index),) or not np.all(np.isfinite(weights) & (weights >= 0)):
            raise ValueError(
                f"The 'weights' parameter must be one finite, non-negative number per summary row "
                f"({len(index)} rows). Got shape {weights.shape} instead, or negative/NaN values."
            )
    return index, arrays, weights
