"""Contractual data: a cohort's survival table as renewal rows for the shifted-beta-geometric model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clvmodels.errors import ClvDataError

__all__ = ["renewals_from_survival"]


def renewals_from_survival(survival, n_customers: int) -> pd.DataFrame:
    """A cohort's survival table as (period, churned, count) rows for :meth:`clvmodels.ShiftedBetaGeo.fit`.

    Parameters
    ----------
    survival : sequence of float
        Shares in (0, 1] (or counts) of the cohort still active at the end of periods 1, 2, ...
    n_customers : int
        Cohort size at period 0. Shares become counts ``round(share * n_customers)``.

    Returns
    -------
    DataFrame
        One row per period with the customers lost in it (``churned=1``) and one row for
        those still active after the last period (``churned=0``), with their ``count``.

    Examples
    --------
    >>> renewals_from_survival([0.869, 0.743], n_customers=1000)
       period  churned  count
    0       1        1    131
    1       2        1    126
    2       2        0    743
    """
    values = np.asarray(survival, dtype=float)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values) & (values > 0)):
        raise ClvDataError(
            f"The 'survival' table must be a non-empty 1-d sequence of positive numbers, one per period; got {survival!r}."
        )
    n0 = float(n_customers)
    counts = np.round(values * n0) if np.all(values <= 1) else values
    alive = np.concatenate([[n0], counts])
    lost = -np.diff(alive)
    if np.any(lost < 0):
        first = int(np.flatnonzero(lost < 0)[0]) + 1
        raise ClvDataError(
            f"Survival must not increase: period {first} has more active customers than period {first - 1} "
            f"(n_customers={n_customers}). Check the table and the cohort size."
        )
    periods = np.arange(1, values.size + 1)
    rows = pd.DataFrame({"period": periods, "churned": 1, "count": lost.astype(int)})
    last = pd.DataFrame({"period": [values.size], "churned": [0], "count": [int(counts[-1])]})
    return pd.concat([rows, last], ignore_index=True)
