"""Counts in words, for the sentences the library and the command line print.

Examples
--------
>>> from clvmodels.wording import counted
>>> counted(1, "purchase"), counted(2357, "customer")
('1 purchase', '2,357 customers')
"""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun in the number that fits: ``"1 row"``, ``"0 rows"``, ``"1,234 rows"``.

    Parameters
    ----------
    n : int
        The count (printed with thousands separators).
    singular : str
        The noun phrase for one (``"purchase cancelled by a matching return"``).
    plural : str, optional
        The noun phrase for any other count; default ``singular + "s"``.

    Examples
    --------
    >>> counted(1, "purchase cancelled by a matching return")
    '1 purchase cancelled by a matching return'
    >>> counted(3, "customer-day whose net amount is <= 0", "customer-days whose net amount is <= 0")
    '3 customer-days whose net amount is <= 0'
    """
    word = singular if n == 1 else (plural if plural is not None else singular + "s")
    return f"{n:,} {word}"
