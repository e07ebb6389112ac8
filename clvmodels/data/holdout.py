"""Calibration/holdout tables: the columns the individual-level holdout checks read, checked.

Every row :func:`clvmodels.rfm_summary` produces with ``observation_end`` is accepted,
including customers first seen on the calibration end (``T = 0``) and a holdout of length 0
(``observation_end == calibration_end``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clvmodels.data.validation import check_consistent_rows, check_summary_unit, offenders
from clvmodels.errors import ClvDataError

__all__ = ["HOLDOUT_COLUMNS", "validate_holdout_table"]

#: The columns a calibration/holdout table needs for the individual-level checks.
HOLDOUT_COLUMNS = ("frequency", "recency", "T", "frequency_holdout", "duration_holdout")

_RULES = {
    "frequency": ("a whole number >= 0", lambda v: np.isfinite(v) & (v >= 0) & (v == np.round(v))),
    "frequency_holdout": ("a whole number >= 0", lambda v: np.isfinite(v) & (v >= 0) & (v == np.round(v))),
    "recency": ("finite and >= 0", lambda v: np.isfinite(v) & (v >= 0)),
    "T": ("finite and >= 0", lambda v: np.isfinite(v) & (v >= 0)),
    "duration_holdout": ("finite and >= 0", lambda v: np.isfinite(v) & (v >= 0)),
}


def validate_holdout_table(table, *, unit: str | None = None, keep=()) -> pd.DataFrame:
    """Check a calibration/holdout table and return a copy restricted to :data:`HOLDOUT_COLUMNS` (float).

    Parameters
    ----------
    table : DataFrame
        One row per customer with ``frequency``, ``recency``, ``T``, ``frequency_holdout``
        and ``duration_holdout``; never modified. The calibration columns may also be named
        ``frequency_cal``, ``recency_cal``, ``T_cal`` (the layout of lifetimes'
        ``calibration_and_holdout_data``).
    unit : str, optional
        The unit the model was fitted in: a table whose ``attrs["unit"]`` differs is refused
        (:func:`clvmodels.data.validation.check_summary_unit`).
    keep : sequence of str
        Further columns to carry along unchanged (a covariate model's covariates; the model
        checks them when it predicts).

    Returns
    -------
    DataFrame
        The five columns as floats, with the table's index and ``attrs``.

    Examples
    --------
    >>> t = pd.DataFrame({"frequency": [1], "recency": [2.0], "T": [5.0], "frequency_holdout": [-1],
    ...                   "duration_holdout": [10.0]}, index=pd.Index(["c7"], name="customer_id"))
    >>> validate_holdout_table(t)
    Traceback (most recent call last):
    ...
    clvmodels.errors.ClvDataError: Column 'frequency_holdout' must be a whole number >= 0: 1 row (first: 'c7') are not. Fix: correct or drop those customers.
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"Expected a calibration/holdout DataFrame. Got {type(table).__name__} instead.")
    if unit is not None:
        check_summary_unit(table, unit, what="The holdout evaluation")
    # lifetimes' calibration_and_holdout_data names the calibration columns with a "_cal" suffix
    source = {c: c if c in table.columns or f"{c}_cal" not in table.columns else f"{c}_cal" for c in HOLDOUT_COLUMNS}
    missing = [c for c in HOLDOUT_COLUMNS if source[c] not in table.columns]
    if missing:
        raise ClvDataError(
            f"The calibration/holdout table needs the columns {', '.join(map(repr, HOLDOUT_COLUMNS))}; missing "
            f"{', '.join(map(repr, missing))}. Build it with clvmodels.rfm_summary(..., observation_end=...) or "
            f"rename your columns (found: {', '.join(map(str, table.columns[:10]))})."
        )
    duplicated = [source[c] for c in HOLDOUT_COLUMNS if int((table.columns == source[c]).sum()) > 1]
    if duplicated:
        raise ClvDataError(f"The calibration/holdout table has several columns named {duplicated[0]!r}; keep one.")
    if len(table) == 0:
        raise ClvDataError("The calibration/holdout table has no rows.")
    out = pd.DataFrame(index=table.index)
    for col in HOLDOUT_COLUMNS:
        values = pd.to_numeric(table[source[col]], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        rule, test = _RULES[col]
        with np.errstate(invalid="ignore"):
            ok = test(values)
        if not ok.all():
            raise ClvDataError(
                f"Column '{source[col]}' must be {rule}: {offenders(table.index, ~ok)} are not. "
                f"Fix: correct or drop those customers."
            )
        out[col] = values
    bad = out["recency"].to_numpy() > out["T"].to_numpy() * (1 + 1e-12)
    if bad.any():
        raise ClvDataError(
            f"Column '{source['recency']}' must not exceed column '{source['T']}': {offenders(table.index, bad)}. "
            f"Check the table's time unit, or rebuild it with clvmodels.rfm_summary(..., observation_end=...)."
        )
    check_consistent_rows(table, {"frequency": out["frequency"].to_numpy(), "recency": out["recency"].to_numpy()})
    absent = [c for c in keep if c not in table.columns]
    if absent:
        raise ClvDataError(
            f"The calibration/holdout table has no column {', '.join(map(repr, absent))}, which the model reads (its "
            f"covariates). Join them with clvmodels.join_covariates(table, covariates, customer=...)."
        )
    for col in keep:
        out[col] = table[col]
    out.attrs.update(table.attrs)
    return out
