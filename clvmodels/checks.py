"""One validation routine for the numbers a user passes as options.

Every public function that takes a horizon, a forecast length ``t``, a purchase count ``n``,
a discount rate, a margin, a cost, an HDI probability or a threshold checks it here, so the
same input gets the same message everywhere: the argument's name, the rule, the value given
(scikit-learn's wording). Nothing here knows about models or data frames.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

__all__ = ["check_number", "check_numbers", "check_probability"]


def _describe(low, high, low_open, high_open, integer) -> str:
    kind = "a whole number" if integer else "a finite number"
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return kind + (" " + " and ".join(parts) if parts else "")


def _out_of_range(values: np.ndarray, low, high, low_open, high_open, integer) -> np.ndarray:
    bad = ~np.isfinite(values)
    with np.errstate(invalid="ignore"):
        if low is not None:
            bad |= values <= low if low_open else values < low
        if high is not None:
            bad |= values >= high if high_open else values > high
        if integer:
            bad |= values != np.round(values)
    return bad


def check_number(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
    where: str = "",
) -> float:
    """``value`` as a float after checking it is one finite real number in range.

    Parameters
    ----------
    name : str
        The argument's name, quoted in the message.
    value : number
        What the user passed. Booleans, strings, arrays and ``None`` are refused with a
        :class:`TypeError`; NaN, infinities and values out of range with a :class:`ValueError`.
    low, high : float, optional
        Bounds; ``low_open`` / ``high_open`` exclude them.
    integer : bool
        Require a whole number (returned as a float all the same).
    where : str
        The function's name, for the message (``"expected_purchases"``).

    Returns
    -------
    float

    Examples
    --------
    >>> check_number("t", 39)
    39.0
    >>> check_number("t", -5, low=0, where="expected_purchases")
    Traceback (most recent call last):
    ...
    ValueError: The 't' parameter of expected_purchases must be a finite number >= 0. Got -5 instead.
    >>> check_number("margin", "0.3")
    Traceback (most recent call last):
    ...
    TypeError: The 'margin' parameter must be a real number. Got '0.3' (str) instead.
    """
    of = f" of {where}" if where else ""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"The '{name}' parameter{of} must be a real number. Got {value!r} ({type(value).__name__}) instead."
        )
    number = float(value)
    if _out_of_range(np.array([number]), low, high, low_open, high_open, integer)[0]:
        raise ValueError(
            f"The '{name}' parameter{of} must be {_describe(low, high, low_open, high_open, integer)}. "
            f"Got {value!r} instead."
        )
    return number


def check_numbers(
    name: str,
    values,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
    where: str = "",
) -> np.ndarray:
    """A scalar or a 1-d sequence of numbers as a float array (0-d or 1-d), each checked as in :func:`check_number`.

    Examples
    --------
    >>> check_numbers("n", [0, 1, 2], low=0, integer=True).tolist()
    [0.0, 1.0, 2.0]
    >>> check_numbers("t", [1.0, float("nan")], low=0)
    Traceback (most recent call last):
    ...
    ValueError: The 't' parameter must hold finite numbers >= 0; 1 value is not (first: nan).
    """
    of = f" of {where}" if where else ""
    if np.ndim(values) == 0 and not isinstance(values, (str, bytes)):
        return np.asarray(check_number(name, values, low=low, high=high, low_open=low_open, high_open=high_open,
                                       integer=integer, where=where))
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray, range)) and not hasattr(values, "__array__"):
        raise TypeError(
            f"The '{name}' parameter{of} must be a number or a 1-d sequence of numbers. "
            f"Got {values!r} ({type(values).__name__}) instead."
        )
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError):
        raise TypeError(f"The '{name}' parameter{of} must be a number or a 1-d sequence of numbers. "
                        f"Got {values!r} instead.") from None
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.number)):
        raise TypeError(f"The '{name}' parameter{of} must hold real numbers. Got {values!r} "
                        f"(dtype {arr.dtype}) instead.")
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"The '{name}' parameter{of} must be a number or a non-empty 1-d sequence of numbers. "
                         f"Got shape {arr.shape} instead.")
    arr = arr.astype(float)
    bad = _out_of_range(arr, low, high, low_open, high_open, integer)
    if bad.any():
        rule = _describe(low, high, low_open, high_open, integer).replace("a whole number", "whole numbers").replace(
            "a finite number", "finite numbers")
        n = int(bad.sum())
        raise ValueError(f"The '{name}' parameter{of} must hold {rule}; {n} value{'s are' if n > 1 else ' is'} not "
                         f"(first: {float(arr[bad][0])!r}).")
    return arr


def check_probability(name: str, value, *, where: str = "") -> float:
    """A probability strictly between 0 and 1 (HDI probabilities, interval coverages).

    Examples
    --------
    >>> check_probability("hdi_prob", 0.94)
    0.94
    >>> check_probability("hdi_prob", 1.0)
    Traceback (most recent call last):
    ...
    ValueError: The 'hdi_prob' parameter must be a finite number > 0 and < 1. Got 1.0 instead.
    """
    return check_number(name, value, low=0.0, high=1.0, low_open=True, high_open=True, where=where)
