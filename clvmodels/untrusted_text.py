"""Text that came from data (customer ids, segment names), made harmless where it is shown.

Customer ids are whatever the transaction log holds. Three places would otherwise interpret them:

- **Spreadsheets** run a CSV cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return as a formula (CSV injection). :func:`neutralize_csv_cell` prefixes such
  text with a single quote, as OWASP recommends, so the spreadsheet shows it as text.
  :func:`neutralize_csv_frame` does it for the text columns and the index of a table and
  leaves numeric columns alone (``-1.5`` stays a number). :func:`restore_csv_cell` undoes it
  exactly. Parquet and JSON outputs keep the exact ids.
- **Terminals** run escape sequences (colours, cursor moves, OSC 8 hyperlinks, window titles)
  and Rich parses ``[bold]``/``[link=...]`` markup. :func:`terminal_text` replaces control
  characters by visible escapes; print it as a ``rich.text.Text`` (never parsed as markup),
  or pass it through :func:`rich.markup.escape` inside markup.
- **matplotlib** draws text between two ``$`` as mathtext (and fails on a bad formula,
  which drops the figure). :func:`literal_label` escapes the dollar signs.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CSV_FORMULA_TRIGGERS",
    "neutralize_csv_cell",
    "restore_csv_cell",
    "neutralize_csv_frame",
    "terminal_text",
    "literal_label",
]

#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection"),
#: with their full-width forms, which some spreadsheets fold to the ASCII ones.
CSV_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_QUOTE = "'"


def neutralize_csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet shows as text: a leading ``'`` before a formula character.

    Text that already starts with ``'`` gets one more, so that :func:`restore_csv_cell` gives
    back every value exactly. Anything that is not a string is returned unchanged.

    Examples
    --------
    >>> neutralize_csv_cell("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralize_csv_cell("-12"), neutralize_csv_cell("C-12"), neutralize_csv_cell(-12)
    ("'-12", 'C-12', -12)
    """
    if isinstance(value, str) and value.startswith((*CSV_FORMULA_TRIGGERS, _QUOTE)):
        return _QUOTE + value
    return value


def restore_csv_cell(value: Any) -> Any:
    """Undo :func:`neutralize_csv_cell` (for reading a clvmodels CSV back with the exact ids).

    Examples
    --------
    >>> restore_csv_cell("'=1+1"), restore_csv_cell("''quoted"), restore_csv_cell("plain")
    ('=1+1', "'quoted", 'plain')
    """
    if isinstance(value, str) and value.startswith(_QUOTE) and value[1:2] and value[1:].startswith(
            (*CSV_FORMULA_TRIGGERS, _QUOTE)):
        return value[1:]
    return value


def _is_text(values: pd.Series | pd.Index) -> bool:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return not np.issubdtype(np.asarray(dtype.categories).dtype, np.number)
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)


def _neutralize_values(values):
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype(object).map(neutralize_csv_cell)
    return values.map(neutralize_csv_cell)


def neutralize_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (index and text columns) cannot run as spreadsheet formulas.

    Only text columns (object, string or categorical of text) and a text index are changed;
    numeric and date columns are written as they are, so negative numbers stay numbers.
    The input is not modified.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"clv": [-1.5, 2.0], "segment": ["@risk", "loyal"]},
    ...                  index=pd.Index(["=cmd|' /C calc'!A0", "42"], name="customer_id"))
    >>> out = neutralize_csv_frame(f)
    >>> out.index.tolist(), out["segment"].tolist(), out["clv"].tolist()
    (["'=cmd|' /C calc'!A0", '42'], ["'@risk", 'loyal'], [-1.5, 2.0])
    """
    out = frame.copy()
    for col in out.columns:
        if _is_text(out[col]):
            out[col] = _neutralize_values(out[col])
    if isinstance(out.index, pd.MultiIndex):
        out.index = out.index.set_levels(
            [_neutralize_values(level) if _is_text(level) else level for level in out.index.levels])
    elif _is_text(out.index):
        out.index = pd.Index(_neutralize_values(out.index), name=out.index.name)
    out.attrs = dict(frame.attrs)
    return out


# C0 and C1 controls, DEL, and the bidirectional overrides/isolates that reorder what is shown
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(value: Any, *, max_length: int | None = None) -> str:
    """``str(value)`` with every control character shown as a visible escape (``\\x1b``), safe to print.

    Escape sequences (colours, hyperlinks, cursor moves), tabs, newlines and bidirectional
    overrides never reach the terminal. The result is plain text: print it as a
    :class:`rich.text.Text` (or escape it with :func:`rich.markup.escape`) so Rich does not
    read ``[...]`` as markup.

    Parameters
    ----------
    value : object
        Anything; converted with ``str``.
    max_length : int, optional
        Longer text is cut and ends with ``…`` (ids of any length cannot flood a table).

    Examples
    --------
    >>> terminal_text("\\x1b]8;;http://evil\\x1b\\\\click\\x1b]8;;\\x1b\\\\")
    '\\\\x1b]8;;http://evil\\\\x1b\\\\click\\\\x1b]8;;\\\\x1b\\\\'
    >>> terminal_text("a\\nb"), terminal_text(7)
    ('a\\\\nb', '7')
    """
    text = _UNSAFE.sub(lambda m: {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(m.group()) or _visible(m), str(value))
    if max_length is not None and len(text) > max_length:
        text = text[: max(1, max_length - 1)] + "…"
    return text


def literal_label(value: Any) -> str:
    """``str(value)`` for a matplotlib label, drawn as written: dollar signs never start mathtext.

    Examples
    --------
    >>> literal_label("$x^2$ customer"), literal_label(7)
    ('\\\\$x^2\\\\$ customer', '7')
    """
    return str(value).replace("$", r"\$")
