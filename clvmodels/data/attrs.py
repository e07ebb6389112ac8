"""A summary's time unit and window, recorded in ``DataFrame.attrs`` (what pandas keeps and drops: docs/pages/input-rules.md)."""

from __future__ import annotations

import pandas as pd

from clvmodels.data.dates import to_day
from clvmodels.errors import UnitMismatchError
from clvmodels.units import normalize_unit

__all__ = ["with_unit"]


def with_unit(summary: pd.DataFrame, unit: str, *, calibration_end=None, observation_end=None) -> pd.DataFrame:
    """The summary with its time unit (and window) recorded in ``attrs``, as :func:`clvmodels.rfm_summary` does.

    Use it to restore what pandas drops (``merge``, ``join``, ``concat`` of tables with
    different ``attrs``, a CSV round trip) or to declare the unit of a summary built
    elsewhere, so that models can check it against the unit they were fitted in. The caller's
    DataFrame is not modified (the result shares its data: pandas copies on write).

    It labels, it does not convert: a summary that already records another unit is refused
    (rebuild it with ``rfm_summary(..., unit=...)`` to change units).

    Parameters
    ----------
    summary : DataFrame
        Per-customer summary (``recency``, ``T``... in ``unit``).
    unit : {"H", "D", "W", "M", "Y"}
        The unit its times are in.
    calibration_end, observation_end : date-like, optional
        The window, recorded as ISO dates; kept from ``summary.attrs`` when not given.

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import io
    >>> s = pd.DataFrame({"frequency": [1.0], "recency": [2.0], "T": [5.0]})
    >>> back = pd.read_csv(io.StringIO(s.to_csv()), index_col=0)  # CSV keeps no attrs
    >>> with_unit(back, "weeks", calibration_end="1997-09-30").attrs
    {'unit': 'W', 'calibration_end': '1997-09-30'}
    >>> back.attrs
    {}
    """
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"Expected a summary DataFrame. Got {type(summary).__name__} instead.")
    code = normalize_unit(unit)
    recorded = summary.attrs.get("unit")
    if recorded is not None and normalize_unit(recorded, "summary.attrs['unit']") != code:
        raise UnitMismatchError(
            f"The summary already records unit {recorded!r}, not {code!r}; with_unit labels a table, it does not "
            f"convert its times. Rebuild the summary with rfm_summary(..., unit={code!r}) to change units."
        )
    out = summary.copy(deep=False)
    out.attrs = dict(summary.attrs)
    out.attrs["unit"] = code
    for name, value in (("calibration_end", calibration_end), ("observation_end", observation_end)):
        if value is not None:
            out.attrs[name] = str(to_day(value, name).date())
    return out
