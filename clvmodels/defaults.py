"""The defaults every entry point shares: the Python API, the command line, the demo and the report.

They are written here once, so that ``clvmodels predict`` and :func:`clvmodels.lifetime_value`
give the same CLV for the same inputs when neither is told otherwise. Pass the argument (or
the option) to use another value; nothing else reads a literal of its own.

- :data:`UNIT` ``"W"``: summaries, and so models, in weeks. CDNOW-style logs and the
  published BG/NBD and Pareto/NBD fits are in weeks, and weekly rates are numbers of a
  readable size (daily ones are tiny, monthly ones hide the recency of a purchase).
- :data:`HORIZON` 12 periods of :data:`HORIZON_UNIT` ``"M"``: a CLV over the next 12
  calendar months from the calibration end.
- :data:`DISCOUNT_RATE` 0.01 per :data:`HORIZON_UNIT`: 1 % a month (about 12.7 % a year),
  the conventional monthly rate in CLV work. A rate of 0 gives undiscounted revenue.
- :data:`MARGIN` 1.0: the CLV is revenue (pass the share of spend that is profit for margin).

Examples
--------
>>> from clvmodels import defaults
>>> defaults.UNIT, defaults.HORIZON, defaults.HORIZON_UNIT, defaults.DISCOUNT_RATE
('W', 12, 'M', 0.01)
>>> defaults.describe()
'12-month horizon, discount 1% per month, margin 100% (summary unit: weeks)'
"""

from __future__ import annotations

__all__ = ["UNIT", "HORIZON", "HORIZON_UNIT", "DISCOUNT_RATE", "MARGIN", "describe"]

#: Time unit of summaries and models (``rfm_summary(unit=...)``, ``--unit``).
UNIT: str = "W"
#: Length of the CLV horizon, in periods of :data:`HORIZON_UNIT` (``horizon=``, ``--horizon``).
HORIZON: int = 12
#: Period of the horizon and of the discount rate (``lifetime_value(unit=...)``, ``--horizon-unit``).
HORIZON_UNIT: str = "M"
#: Discount rate per period of :data:`HORIZON_UNIT` (``discount_rate=``, ``--discount-rate``): 1 % a month.
DISCOUNT_RATE: float = 0.01
#: Share of spend that is profit (``margin=``, ``--margin``): 1 = revenue.
MARGIN: float = 1.0

_NAMES = {"H": "hour", "D": "day", "W": "week", "M": "month", "Y": "year"}


def describe() -> str:
    """The defaults in one phrase, for help texts and docs.

    Examples
    --------
    >>> describe().split(",")[0]
    '12-month horizon'
    """
    return (f"{HORIZON}-{_NAMES[HORIZON_UNIT]} horizon, discount {DISCOUNT_RATE:.0%} per {_NAMES[HORIZON_UNIT]}, "
            f"margin {MARGIN:.0%} (summary unit: {_NAMES[UNIT]}s)")
