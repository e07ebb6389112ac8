"""Run rfm_summary on every engine and input route and check they agree; used by test_summary_engines.py.

:func:`all_engines` stands in for ``clvmodels.rfm_summary`` during the summary tests of
``test_rfm_summary.py`` and ``test_bad_input.py``: each call on a DataFrame runs

- the pandas engine on the DataFrame (the reference),
- the DuckDB engine on the same DataFrame (same row labels, so error messages must match
  character for character),
- the DuckDB engine on the frame written to a Parquet file, against the pandas engine on the
  frame with its rows numbered 0, 1, ... (a file's rows have positions, not labels),
- the DuckDB engine on the frame written to a CSV file (for calls that succeed on the frame),
  against the pandas engine on ``pandas.read_csv`` of that file: both read the same text,

and asserts the same summary (index, dtypes, attrs, values), the same warnings and the same
error type and message. Counts, times, ids and attrs are compared exactly; the spend means
to 1e-13 relative (pandas' group-by sum adds in an order of its own, DuckDB in another; both
are compensated sums, and they differ in the last bits only).
"""

from __future__ import annotations

import inspect
import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _pytest.fixtures import FixtureFunctionDefinition

from clvmodels.data.summary import rfm_summary as _rfm_summary

SPEND = ("monetary_value", "monetary_value_holdout")
_counter = itertools.count()


def _run(fn, *args, **kwargs):
    """(result or None, exception or None, [(category, message), ...])."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out, exc = fn(*args, **kwargs), None
        except Exception as e:  # compared below, then re-raised
            out, exc = None, e
    return out, exc, [(w.category, str(w.message)) for w in caught]


def assert_same_summary(left: pd.DataFrame, right: pd.DataFrame, what: str = "") -> None:
    """Equal summaries: exact but for the spend means (rtol 1e-13)."""
    assert left.attrs == right.attrs, (what, left.attrs, right.attrs)
    exact = [c for c in left.columns if c not in SPEND]
    pd.testing.assert_frame_equal(left[exact], right[exact] if set(exact) <= set(right.columns) else right,
                                  check_exact=True, obj=f"{what} summary")
    assert list(left.columns) == list(right.columns), what
    for col in SPEND:
        if col in left.columns:
            np.testing.assert_allclose(right[col].to_numpy(), left[col].to_numpy(), rtol=1e-13, atol=0,
                                       err_msg=f"{what} {col}")


def _same(ref, got, what: str, messages: bool = True) -> None:
    r_out, r_exc, r_warn = ref
    g_out, g_exc, g_warn = got
    if r_exc is not None:
        assert g_exc is not None, f"{what}: pandas raised {r_exc!r}, DuckDB did not"
        assert type(g_exc) is type(r_exc), (what, r_exc, g_exc)
        if messages:
            assert str(g_exc) == str(r_exc), f"{what}:\npandas: {r_exc}\nDuckDB: {g_exc}"
        return
    assert g_exc is None, f"{what}: DuckDB raised {g_exc!r}, pandas did not"
    assert g_warn == r_warn, (what, r_warn, g_warn)
    assert_same_summary(r_out, g_out, what)


def _csv_safe(frame: pd.DataFrame, customer_col) -> bool:
    """A CSV keeps the ids' type only for integer ids or ids that do not read as numbers."""
    if customer_col not in frame.columns:
        return True
    ids = frame[customer_col]
    if pd.api.types.is_integer_dtype(ids):
        return True
    if pd.api.types.is_string_dtype(ids) or ids.dtype == object:
        return not pd.to_numeric(ids, errors="coerce").notna().any()
    return False


def make_all_engines(folder: Path):
    """An ``rfm_summary`` that runs all engines and routes, checks they agree, and returns DuckDB's."""

    def all_engines(transactions, customer_col="customer_id", date_col="date", amount_col=None, **kw):
        kw.pop("engine", None)
        if not isinstance(transactions, pd.DataFrame):
            return _rfm_summary(transactions, customer_col, date_col, amount_col, **kw)
        args = (customer_col, date_col, amount_col)
        ref = _run(_rfm_summary, transactions, *args, engine="pandas", **kw)
        duck = _run(_rfm_summary, transactions, *args, engine="duckdb", **kw)
        _same(ref, duck, "DataFrame")

        numbered = transactions.reset_index(drop=True)
        ref_numbered = _run(_rfm_summary, numbered, *args, engine="pandas", **kw)
        stem = folder / f"log{next(_counter)}"
        try:
            numbered.to_parquet(f"{stem}.parquet")
        except Exception:  # e.g. an object column of numbers and text: no Parquet type for it
            pass
        else:
            _same(ref_numbered, _run(_rfm_summary, f"{stem}.parquet", *args, **kw), "Parquet file")
        if ref_numbered[1] is None and _csv_safe(numbered, customer_col):
            numbered.to_csv(f"{stem}.csv", index=False)
            # the reference reads the same text: a CSV of zoned times may hold several UTC offsets
            ref_csv = _run(_rfm_summary, pd.read_csv(f"{stem}.csv"), *args, engine="pandas", **kw)
            _same(ref_csv, _run(_rfm_summary, f"{stem}.csv", *args, **kw), "CSV file")

        out, exc, caught = duck
        for category, message in caught:
            warnings.warn(message, category, stacklevel=2)
        if exc is not None:
            raise exc
        return out

    return all_engines


def summary_tests(module, via_fixtures: tuple[str, ...] = ()) -> dict[str, object]:
    """The tests of ``module`` that summarise a log, with the module's fixtures, to re-run elsewhere.

    A test summarises a log when its source names ``rfm_summary`` or a helper function of the
    module whose source does (``summarise`` in test_bad_input.py), or when it requests one of
    ``via_fixtures`` (fixtures the importing module redefines to go through all engines).
    Putting the result in a test module's globals makes pytest collect the tests there again.
    """
    def source(obj) -> str:
        return inspect.getsource(inspect.unwrap(obj))

    functions = {n: o for n, o in vars(module).items() if inspect.isfunction(o) and o.__module__ == module.__name__}
    helpers = [n for n, o in functions.items() if not n.startswith("test") and "rfm_summary" in source(o)]
    names = ("rfm_summary", *helpers)
    found: dict[str, object] = {}
    for name, obj in vars(module).items():
        if isinstance(obj, FixtureFunctionDefinition) and obj.__module__ == module.__name__:
            found[name] = obj
        elif name.startswith("test") and name in functions:
            text = source(obj)
            params = inspect.signature(obj).parameters
            if any(f"{h}" in text for h in names) or any(f in params for f in via_fixtures):
                found[name] = obj
    return found
