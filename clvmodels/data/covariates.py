"""Customer covariates joined to a summary: one row per customer, numeric columns, checked.

The covariate models (:mod:`clvmodels.models.covariates`) read covariates as summary
columns. :func:`join_covariates` puts a per-customer table beside the summary by customer id
and refuses what would make a fit silently wrong: customers without covariates, duplicated
ids, missing values, constant columns (they duplicate the baseline parameter), and text
columns it was not asked to encode.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from clvmodels.data.validation import as_summary_frame, offenders
from clvmodels.errors import ClvDataError, DataWarning

__all__ = ["join_covariates"]


def _id_kind(index: pd.Index) -> str:
    return "numbers" if pd.api.types.is_numeric_dtype(index.dtype) else "text"


def _encode(table: pd.DataFrame, column: str, categorical: str) -> pd.DataFrame:
    """One text/categorical column as 0/1 indicator columns ``column=level`` (the first level
    in sorted order is the reference and gets no column), or the refusal."""
    col = table[column]
    if categorical != "onehot":
        raise ClvDataError(
            f"Covariate column '{column}' is not numeric (dtype {col.dtype}, e.g. {col.dropna().iloc[0]!r}). Pass "
            f"join_covariates(..., categorical='onehot') to encode it as 0/1 columns, or convert it to numbers."
        )
    levels = sorted(col.dropna().unique(), key=str)
    if len(levels) < 2:
        # one level: no indicator column at all, the covariate would vanish without a word
        raise ClvDataError(
            f"Covariate column '{column}' has the same value ({levels[0]!r}) for all {len(col)} customers: it "
            f"carries no information on how they differ. Leave it out."
        )
    return pd.DataFrame({f"{column}={level}": (col == level).astype(float) for level in levels[1:]}, index=table.index)


def join_covariates(
    summary: pd.DataFrame,
    covariates: pd.DataFrame,
    *,
    customer: str | None = None,
    columns: Sequence[str] | None = None,
    categorical: str = "onehot",
    extra: str = "warn",
) -> pd.DataFrame:
    """The summary with covariate columns joined by customer id, checked for a covariate model.

    Parameters
    ----------
    summary : DataFrame
        A per-customer summary indexed by customer id (:func:`clvmodels.rfm_summary`).
    covariates : DataFrame
        One row per customer: the id in column ``customer`` (or as the index), the
        covariates in the other columns.
    customer : str, optional
        The id column of ``covariates``; without it, its index holds the ids.
    columns : sequence of str, optional
        The covariates to join (default: every column but the id).
    categorical : {"onehot", "refuse"}
        Text and categorical columns: ``"onehot"`` (the default) encodes each as 0/1
        indicator columns named ``column=level``, the first level in sorted order the
        reference (no column); ``"refuse"`` raises with the fix. Boolean columns become 0/1.
    extra : {"warn", "ignore", "raise"}
        What to do about customers in ``covariates`` that are not in the summary (they are
        left out).

    Returns
    -------
    DataFrame
        A new summary (the inputs are not modified) with the covariate columns appended and
        ``attrs["covariates"]`` listing them.

    Raises
    ------
    ClvDataError
        Summary customers missing from ``covariates``, duplicated ids, missing values,
        constant columns, column names the summary already has, unencoded text columns.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"frequency": [1.0, 0.0, 2.0], "recency": [3.0, 0.0, 5.0], "T": [6.0, 6.0, 6.0]},
    ...                  index=pd.Index([1, 2, 3], name="customer_id"))
    >>> cov = pd.DataFrame({"customer_id": [3, 1, 2], "channel": ["web", "shop", "web"], "age": [30, 41, 25]})
    >>> join_covariates(s, cov, customer="customer_id")[["age", "channel=web"]]
                  age  channel=web
    customer_id
    1            41.0          0.0
    2            25.0          1.0
    3            30.0          1.0
    """
    if categorical not in ("onehot", "refuse"):
        raise ValueError(f"categorical must be 'onehot' or 'refuse'. Got {categorical!r} instead.")
    if extra not in ("warn", "ignore", "raise"):
        raise ValueError(f"extra must be 'warn', 'ignore' or 'raise'. Got {extra!r} instead.")
    frame = as_summary_frame(summary)
    if not isinstance(covariates, pd.DataFrame):
        raise TypeError(f"covariates must be a pandas DataFrame with one row per customer. Got "
                        f"{type(covariates).__name__} instead.")
    table = covariates
    if customer is not None:
        if customer not in table.columns:
            raise ClvDataError(f"The covariate table has no id column '{customer}' (its columns: "
                               f"{', '.join(map(str, table.columns[:10]))}). Pass customer= the column holding the ids.")
        if table[customer].isna().any():
            raise ClvDataError(f"The covariate table's id column '{customer}' has missing values in "
                               f"{offenders(table.index, table[customer].isna().to_numpy())}. Drop those rows.")
        table = table.set_index(customer)
    if len(table) == 0:
        raise ClvDataError("The covariate table has no rows; it needs one row per customer of the summary.")
    dup = table.index.duplicated(keep=False)
    if dup.any():
        raise ClvDataError(f"The covariate table has more than one row for some customers: "
                           f"{offenders(table.index, dup)}. Time-invariant covariates are one row per customer; "
                           f"keep one row each (or aggregate them).")
    names = list(table.columns) if columns is None else list(columns)
    absent = [c for c in names if c not in table.columns]
    if absent:
        raise ClvDataError(f"The covariate table has no column {', '.join(map(repr, absent))} (its columns: "
                           f"{', '.join(map(str, table.columns[:10]))}).")
    if not names:
        raise ClvDataError("The covariate table has no covariate columns besides the customer id.")
    missing = ~frame.index.isin(table.index)
    if missing.all() and _id_kind(frame.index) != _id_kind(table.index):
        raise ClvDataError(
            f"No customer of the summary is in the covariate table: the summary's ids are "
            f"{_id_kind(frame.index)} (e.g. {frame.index[:1].tolist()[0]!r}), the table's {_id_kind(table.index)} "
            f"(e.g. {table.index[:1].tolist()[0]!r}). Read both id columns with the same type."
        )
    if missing.any():
        raise ClvDataError(
            f"{int(missing.sum())} of the summary's {len(frame)} customers have no row in the covariate table "
            f"({offenders(frame.index, missing)}). Give every customer covariates, or drop those customers from the "
            f"summary first (summary[summary.index.isin(table_ids)])."
        )
    n_extra = int((~table.index.isin(frame.index)).sum())
    if n_extra:
        text = (f"{n_extra} customers of the covariate table are not in the summary and are left out "
                f"(e.g. {table.index[~table.index.isin(frame.index)][:1].tolist()[0]!r}).")
        if extra == "raise":
            raise ClvDataError(text + " Pass extra='warn' or 'ignore' to accept that.")
        if extra == "warn":
            warnings.warn(text, DataWarning, stacklevel=2)
    rows = table.loc[frame.index, names]
    parts = []
    for name in names:
        col = rows[name]
        if col.isna().any():
            raise ClvDataError(f"Covariate column '{name}' has missing values for {offenders(frame.index, col.isna().to_numpy())}. "
                               f"Fill them (e.g. with an indicator column for 'unknown') or drop those customers.")
        if pd.api.types.is_bool_dtype(col.dtype):
            parts.append(col.astype(float).to_frame(name))
        elif pd.api.types.is_numeric_dtype(col.dtype):
            parts.append(pd.to_numeric(col).astype(float).to_frame(name))
        else:
            parts.append(_encode(rows, name, categorical))
    joined = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)
    for name in joined.columns:
        values = joined[name].to_numpy()
        if not np.all(np.isfinite(values)):
            raise ClvDataError(f"Covariate column '{name}' must be finite: {offenders(frame.index, ~np.isfinite(values))} "
                               f"are not.")
        if np.ptp(values) == 0:
            raise ClvDataError(
                f"Covariate column '{name}' has the same value ({values[0]:g}) for all {len(frame)} customers: its "
                f"coefficient would duplicate the baseline parameter and is not identified. Leave it out."
            )
    clash = sorted(set(joined.columns) & set(frame.columns))
    if clash:
        raise ClvDataError(f"The summary already has the column {', '.join(map(repr, clash))}; rename the covariate "
                           f"or drop the summary's column first.")
    out = pd.concat([frame, joined], axis=1)
    out.attrs = {**frame.attrs, "covariates": list(joined.columns)}
    return out
