"""From a raw export (line items, cancellations, missing ids) to a transaction log the summary reads.

:func:`prepare_transactions` returns a new, cleaned frame and a :class:`DataQuality` record of
what it read, dropped and why, and what looks odd. The rules (docs/pages/preparing-data.md
states them for users):

- **amounts**: ``quantity x price`` when both columns are given, else the amount column;
- **customer ids** are text as written (``007`` and ``7`` are two customers); an id a
  spreadsheet or pandas turned into a float (``17850.0``, or a float column) loses its ``.0``
  (so ``17850`` and ``17850.0`` are one customer) and is counted; integer columns stay integers;
- **missing ids** (empty or blank) are refused, or dropped and counted with
  ``drop_missing_ids=True``;
- **dates** are parsed once, by :func:`clvmodels.data.dates.parse_dates` (``dayfirst``,
  ``date_format``, ``epoch_unit``);
- **returns** (rows with a negative amount: a negative quantity or a negative price) are
  refused without ``returns``; ``returns="drop"`` drops them *and the purchases they cancel*;
  ``returns="net"`` nets them into the customer's purchases of the same day (see
  :func:`prepare_transactions` for the exact rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clvmodels.data.dates import parse_dates
from clvmodels.data.summary import bad_amounts_error, empty_log_error, missing_columns_error, missing_ids_refused_error
from clvmodels.data.validation import offending_rows as _where
from clvmodels.errors import ClvDataError
from clvmodels.wording import counted

__all__ = ["prepare_transactions", "DataQuality", "RETURN_RULES"]

#: Accepted values of ``returns``.
RETURN_RULES = ("drop", "net")

#: Reasons a row is dropped, as keys of :attr:`DataQuality.dropped`.
MISSING_ID = "missing customer id"
RETURN_ROWS = "returns and cancellations (negative amounts)"
CANCELLED = "purchases cancelled by a matching return"
NET_DAYS = "customer-days whose net amount is <= 0"
#: Each reason for one row (the keys above are the plural).
_ONE = {MISSING_ID: "row without a customer id", RETURN_ROWS: "return or cancellation (negative amount)",
        CANCELLED: "purchase cancelled by a matching return", NET_DAYS: "row of a customer-day whose net amount is <= 0"}
_MANY = {MISSING_ID: "rows without a customer id", NET_DAYS: "rows of customer-days whose net amount is <= 0"}

_FLOAT_ID = re.compile(r"^([+-]?\d+)\.0+$")


@dataclass(frozen=True)
class DataQuality:
    """What :func:`prepare_transactions` read, dropped and why, and what looks odd.

    Row counts are of input rows: ``rows_read == rows_kept + sum(dropped.values())``.

    Attributes
    ----------
    rows_read, rows_kept : int
        Rows of the input, and rows that went into the cleaned log (with ``returns="net"``,
        the rows of the customer-days kept, returns netted into them included).
    dropped : dict
        Rows dropped, by reason (only the reasons that apply to the options given).
    first_date, last_date : str or None
        The days the cleaned log covers (``YYYY-MM-DD``).
    transactions : int
        Orders in the cleaned log: distinct (customer, invoice) with ``invoice_col``, else rows
        (with ``returns="net"``: customer-days).
    purchase_days : int
        Distinct (customer, day) pairs: the purchases the models count.
    customers : int
        Distinct customers in the cleaned log.
    unmatched_returns : int
        With ``returns="drop"``: return rows with no earlier purchase of the same amount by the
        same customer (dropped alone: a partial return, or a purchase before the log began).
    returns_netted : int
        With ``returns="net"``: return rows netted into a customer-day that stays positive.
    float_like_ids : int
        Distinct ids written like floats (``17850.0``), read without the ``.0``.
    high_spenders : tuple of str
        Customers whose mean spend per purchase day exceeds ``outlier_factor`` times the
        median of the customers' means (largest first; at most 10).
    n_high_spenders : int
        Their number.
    giant_orders : tuple of (customer, order, amount)
        Orders worth more than ``outlier_factor`` times the median order (largest first; at
        most 10). ``order`` is the invoice, or the day without ``invoice_col``.
    n_giant_orders : int
        Their number.
    outlier_factor : float
        The ``k`` of the two flags above.

    Examples
    --------
    >>> q = DataQuality(rows_read=3, rows_kept=2, dropped={"missing customer id": 1}, first_date="2024-01-01",
    ...                 last_date="2024-01-05", transactions=2, purchase_days=2, customers=1)
    >>> print(q.lines()[1])
    Dropped 1 row: 1 row without a customer id.
    """

    rows_read: int
    rows_kept: int
    dropped: dict[str, int]
    first_date: str | None
    last_date: str | None
    transactions: int
    purchase_days: int
    customers: int
    unmatched_returns: int = 0
    returns_netted: int = 0
    float_like_ids: int = 0
    high_spenders: tuple[str, ...] = ()
    n_high_spenders: int = 0
    giant_orders: tuple[tuple[str, str, float], ...] = ()
    n_giant_orders: int = 0
    outlier_factor: float = 10.0
    notes: tuple[str, ...] = field(default=())

    def lines(self) -> list[str]:
        """The summary as a few plain sentences (what ``clvmodels summarize`` prints).

        Examples
        --------
        >>> q = DataQuality(rows_read=1, rows_kept=1, dropped={}, first_date="2024-01-01", last_date="2024-01-01",
        ...                 transactions=1, purchase_days=1, customers=1)
        >>> q.lines()[:2]
        ['Read 1 row; kept 1.', 'Dropped no rows.']
        """
        k = f"{self.outlier_factor:g}"
        out = [f"Read {counted(self.rows_read, 'row')}; kept {self.rows_kept:,}."]
        total = sum(self.dropped.values())
        if total:
            why = "; ".join(counted(n, _ONE.get(reason, reason), _MANY.get(reason, reason))
                            for reason, n in self.dropped.items() if n)
            out.append(f"Dropped {counted(total, 'row')}: {why}.")
        else:
            out.append("Dropped no rows.")
        if self.unmatched_returns:
            n = self.unmatched_returns
            out.append(f"{counted(n, 'return')} matched no earlier purchase of the same amount by the same customer "
                       f"(a partial return, or a purchase before the log began); only the return "
                       f"{'was' if n == 1 else 'rows were'} dropped.")
        if self.returns_netted:
            n = self.returns_netted
            out.append(f"{counted(n, 'return')} {'was' if n == 1 else 'were'} netted into the same customer's "
                       f"purchases of that day.")
        out.append(f"Dates {self.first_date} to {self.last_date}; {counted(self.transactions, 'transaction')}, "
                   f"{counted(self.purchase_days, 'purchase day')}, {counted(self.customers, 'customer')}.")
        if self.float_like_ids:
            n = self.float_like_ids
            out.append(f"Flag: {counted(n, 'customer id')} {'was' if n == 1 else 'were'} written like numbers with a "
                       f"decimal part (e.g. 17850.0) and read without the '.0'.")
        if self.n_high_spenders:
            n = self.n_high_spenders
            out.append(f"Flag: {counted(n, 'customer')} {'spends' if n == 1 else 'spend'} on average more than {k} x "
                       f"the median customer's mean per purchase day (first: {', '.join(self.high_spenders[:3])}).")
        if self.n_giant_orders:
            biggest = self.giant_orders[0]
            n = self.n_giant_orders
            out.append(f"Flag: {counted(n, 'single order')} {'is' if n == 1 else 'are'} worth more than {k} x the "
                       f"median order (largest: customer {biggest[0]}, {biggest[1]}, {biggest[2]:,.2f}).")
        out.extend(self.notes)
        return out

    def to_frame(self) -> pd.DataFrame:
        """The counts as a two-column table (``item``, ``value``), e.g. for the HTML report.

        Examples
        --------
        >>> q = DataQuality(rows_read=3, rows_kept=2, dropped={"missing customer id": 1}, first_date="2024-01-01",
        ...                 last_date="2024-01-05", transactions=2, purchase_days=2, customers=1)
        >>> q.to_frame().set_index("item").loc["Dropped: missing customer id", "value"]
        '1'
        """
        rows = [("Rows read", f"{self.rows_read:,}"), ("Rows kept", f"{self.rows_kept:,}")]
        rows += [(f"Dropped: {reason}", f"{n:,}") for reason, n in self.dropped.items()]
        if self.unmatched_returns:
            rows.append(("Returns without a matching purchase", f"{self.unmatched_returns:,}"))
        if self.returns_netted:
            rows.append(("Returns netted into their day", f"{self.returns_netted:,}"))
        rows += [("Date range", f"{self.first_date} to {self.last_date}"), ("Transactions", f"{self.transactions:,}"),
                 ("Purchase days", f"{self.purchase_days:,}"), ("Customers", f"{self.customers:,}"),
                 ("Ids written like floats (17850.0)", f"{self.float_like_ids:,}"),
                 (f"Customers with mean spend > {self.outlier_factor:g} x median", f"{self.n_high_spenders:,}"),
                 (f"Orders worth > {self.outlier_factor:g} x the median order", f"{self.n_giant_orders:,}")]
        return pd.DataFrame(rows, columns=["item", "value"])


def _ids_as_text(ids: pd.Series) -> tuple[pd.Series, int]:
    """Customer ids as text (same index), floats that hold integers (``17850.0``) without the ``.0``,
    and how many distinct ids were written that way. Integer columns are kept as they are (they
    are exact, and their order is the numeric one); other text is kept as written (``007`` and
    ``7`` stay two customers). Expects no missing ids."""
    if pd.api.types.is_integer_dtype(ids) or pd.api.types.is_bool_dtype(ids):
        return ids.copy(), 0
    if pd.api.types.is_float_dtype(ids):
        values = ids.to_numpy(dtype=float)
        whole = values == np.round(values)
        text = ids.astype(str).to_numpy(dtype=object).copy()
        text[whole] = pd.Series(values[whole]).astype("int64").astype(str).to_numpy(dtype=object)
        return pd.Series(text, index=ids.index, dtype=object), int(pd.unique(values[whole]).size)
    text = ids.astype(str)
    looks_float = text.str.match(_FLOAT_ID).to_numpy(dtype=bool)
    n = int(text[looks_float].nunique())
    out = text.to_numpy(dtype=object).copy()
    out[looks_float] = text[looks_float].str.replace(_FLOAT_ID, r"\1", regex=True).to_numpy(dtype=object)
    return pd.Series(out, index=ids.index, dtype=object), n


def _numbers(frame: pd.DataFrame, column: str, ids: pd.Series, *, negative_ok: bool) -> np.ndarray:
    """A column of numbers; missing, unparsable, infinite (and, unless ``negative_ok``, negative) values are
    refused with their rows."""
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw):
        raise ClvDataError(f"Column '{column}' holds True/False values, not numbers. Pass the right column.")
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if not negative_ok:
        bad |= values < 0
    if bad.any():
        if not negative_ok:
            raise bad_amounts_error(column, int(bad.sum()), _where(frame.index, ids, bad), raw[bad].head(3).tolist())
        raise ClvDataError(
            f"Column '{column}' must hold finite numbers; {int(bad.sum())} are missing, unparsable or infinite at "
            f"{_where(frame.index, ids, bad)} (values {raw[bad].head(3).tolist()!r}). Fix or drop those rows."
        )
    return values


def _cancelled_purchases(customers: np.ndarray, dates: np.ndarray, amounts: np.ndarray) -> tuple[np.ndarray, int]:
    """Positions of the purchases that the returns cancel, and the number of returns that match none.

    A return (negative amount) cancels one purchase of the same customer with the same absolute
    amount (to the cent), dated at or before it: the latest such purchase not cancelled already.
    """
    cents = np.round(np.abs(amounts) * 100).astype(np.int64)
    is_return = amounts < 0
    table = pd.DataFrame({"customer": customers, "cents": cents, "date": dates, "is_return": is_return,
                          "pos": np.arange(len(amounts))})
    keys = table.loc[is_return, ["customer", "cents"]].drop_duplicates()
    involved = table.merge(keys, on=["customer", "cents"])
    involved = involved[involved["is_return"] | (amounts[involved["pos"].to_numpy()] > 0)]
    # within a customer and amount, in time order; at the same moment the purchase comes first
    involved = involved.sort_values(["customer", "cents", "date", "is_return", "pos"], kind="stable")
    cancelled: list[int] = []
    unmatched = 0
    stack: list[int] = []
    previous = None
    for customer, amount, ret, pos in zip(involved["customer"], involved["cents"], involved["is_return"],
                                          involved["pos"]):
        if (customer, amount) != previous:
            stack, previous = [], (customer, amount)
        if not ret:
            stack.append(pos)
        elif stack:
            cancelled.append(stack.pop())
        else:
            unmatched += 1
    return np.asarray(cancelled, dtype=np.int64), unmatched


def _flags(customers: pd.Series, days: pd.Series, amounts: pd.Series, orders: pd.Series,
           factor: float) -> tuple[tuple, int, tuple, int]:
    """Customers with a mean spend per purchase day above ``factor`` x the median of the means; orders above
    ``factor`` x the median order."""
    frame = pd.DataFrame({"customer": customers.to_numpy(), "day": days.to_numpy(), "amount": amounts.to_numpy(),
                          "order": orders.to_numpy()})
    per_day = frame.groupby(["customer", "day"])["amount"].sum()
    means = per_day.groupby(level="customer").mean().sort_values(ascending=False, kind="stable")
    high = means[means > factor * means.median()]
    per_order = frame.groupby(["customer", "order"])["amount"].sum().sort_values(ascending=False, kind="stable")
    giant = per_order[per_order > factor * per_order.median()]
    return (tuple(map(str, high.index[:10])), len(high),
            tuple((str(c), str(o), float(v)) for (c, o), v in giant.head(10).items()), len(giant))


def prepare_transactions(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    *,
    quantity_col: str | None = None,
    price_col: str | None = None,
    invoice_col: str | None = None,
    drop_missing_ids: bool = False,
    returns: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    epoch_unit: str | None = None,
    outlier_factor: float = 10.0,
) -> tuple[pd.DataFrame, DataQuality]:
    """Clean a raw transaction export into a log for :func:`clvmodels.rfm_summary`, and say what was done.

    The input is never modified. The cleaned log holds the kept rows with all their columns,
    the customer ids as text (``customer_col``; integer ids stay integers), the dates parsed (``date_col``) and the amounts
    as floats (``amount_col``, or a new ``"amount"`` column computed as quantity x price);
    with ``returns="net"`` it holds one row per customer and day instead (columns
    ``customer_col``, ``date_col``, the amount).

    The rules, in the order they apply:

    1. Rows without a customer id (missing or blank) are refused, or dropped and counted with
       ``drop_missing_ids=True``.
    2. Ids are read as text as written; floats holding integers (a float column, or text such as
       ``17850.0``) lose their ``.0`` (``17850.0`` is customer ``"17850"``), and the number of such
       ids is flagged. Integer columns are kept as they are.
    3. Dates are read by :func:`clvmodels.data.dates.parse_dates` (``dayfirst``, ``date_format``,
       ``epoch_unit``).
    4. The amount is ``quantity_col x price_col`` when both are given, else ``amount_col``.
       Missing, unparsable and infinite values are refused with their rows.
    5. Rows with a negative amount are returns or cancellations. Without ``returns`` they are
       refused (the error says how to handle them).

       - ``returns="drop"``: every return row is dropped, and so is the purchase it cancels:
         the same customer's purchase row with the same absolute amount (to the cent), dated at
         or before the return, the latest one not already cancelled. A cancelled order thus
         leaves no trace. Returns that match no purchase (a partial return of some units, or
         a purchase from before the log began) are dropped alone and counted in
         ``unmatched_returns``; the purchase of a partial return stays at its full value.
       - ``returns="net"``: the amounts of each customer and calendar day are summed, returns
         included, and days whose net is <= 0 (to rounding: within 1e-9 of the day's gross
         amount) are dropped with all their rows. A return booked on a later day than its
         purchase does not reduce that earlier purchase (it makes its own day non-positive);
         ``"drop"`` matches across days.

    Parameters
    ----------
    transactions : DataFrame
        The raw log, one row per line item or transaction.
    customer_col, date_col : str
        Columns of the customer id and the date (with or without time of day).
    amount_col : str, optional
        Column of the transaction value. With ``quantity_col`` and ``price_col`` it names the
        column the product is written to (default ``"amount"``; it must not exist yet).
    quantity_col, price_col : str, optional
        Columns of the quantity and the unit price; both or neither.
    invoice_col : str, optional
        Column of the invoice (order) number: transactions and giant orders are counted per
        invoice instead of per row.
    drop_missing_ids : bool
        Drop rows without a customer id (counted) instead of refusing them.
    returns : {"drop", "net"}, optional
        How to handle rows with a negative amount (see above).
    dayfirst : bool, optional
        ``True`` for dates written day first (``31/12/2024``); see :func:`~clvmodels.data.dates.parse_dates`.
    date_format, epoch_unit : str, optional
        As in :func:`clvmodels.rfm_summary`.
    outlier_factor : float
        The ``k`` of the flags: customers whose mean spend per purchase day exceeds ``k`` times
        the median customer's, and orders worth more than ``k`` times the median order.

    Returns
    -------
    (DataFrame, DataQuality)
        The cleaned log (a new frame) and the record of what was read, dropped and flagged.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"Invoice": ["1", "1", "2", "C3", "4"],
    ...                     "CustomerID": [17850.0, 17850.0, 13047.0, 13047.0, None],
    ...                     "InvoiceDate": ["12/1/2010 8:26", "12/1/2010 8:26", "12/1/2010 9:01", "12/2/2010 10:00",
    ...                                     "12/2/2010 11:00"],
    ...                     "Quantity": [6, 2, 500, -500, 1], "UnitPrice": [2.55, 3.39, 2.08, 2.08, 1.0]})
    >>> log, quality = prepare_transactions(raw, "CustomerID", "InvoiceDate", quantity_col="Quantity",
    ...                                     price_col="UnitPrice", invoice_col="Invoice",
    ...                                     dayfirst=False, drop_missing_ids=True, returns="drop")
    >>> log[["CustomerID", "amount"]]
      CustomerID  amount
    0      17850   15.30
    1      17850    6.78
    >>> quality.dropped
    {'missing customer id': 1, 'returns and cancellations (negative amounts)': 1, 'purchases cancelled by a matching return': 1}
    >>> quality.transactions, quality.customers, quality.float_like_ids
    (1, 1, 2)
    """
    if not isinstance(transactions, pd.DataFrame):
        raise TypeError(f"Expected a DataFrame of transactions. Got {type(transactions).__name__} instead.")
    if returns is not None and returns not in RETURN_RULES:
        raise ValueError(f"The 'returns' parameter of prepare_transactions must be 'drop', 'net' or None. "
                         f"Got {returns!r} instead.")
    if (quantity_col is None) != (price_col is None):
        raise ValueError("Pass quantity_col= and price_col= together (the amount is quantity x price), or neither "
                         "(command line: --quantity COL --price COL).")
    if not outlier_factor > 1:
        raise ValueError(f"The 'outlier_factor' parameter of prepare_transactions must be > 1. "
                         f"Got {outlier_factor!r} instead.")
    from_product = quantity_col is not None
    amount_name = (amount_col or "amount") if from_product else amount_col
    if returns is not None and amount_name is None:
        raise ValueError("returns= needs amounts: pass amount_col= or quantity_col= and price_col=.")
    needed = [c for c in (customer_col, date_col, None if from_product else amount_col, quantity_col, price_col,
                          invoice_col) if c is not None]
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise missing_columns_error(missing, transactions.columns)
    if from_product and amount_name in transactions.columns:
        raise ClvDataError(f"The log already has a column {amount_name!r}, which the amount quantity x price would "
                           f"replace; pass another name as amount_col= (command line: --amount NAME).")
    for c in dict.fromkeys(needed):
        if int((transactions.columns == c).sum()) > 1:
            raise ClvDataError(f"The transaction log has {int((transactions.columns == c).sum())} columns named {c!r}; "
                               f"rename or drop all but one of them.")
    if len(transactions) == 0:
        raise empty_log_error()

    rows_read = len(transactions)
    dropped: dict[str, int] = {}
    raw_ids = transactions[customer_col]
    blank = raw_ids.isna().to_numpy(dtype=bool).copy()  # (Arrow-backed columns give read-only arrays)
    if not pd.api.types.is_numeric_dtype(raw_ids):
        blank |= raw_ids.astype("string").str.strip().eq("").fillna(False).to_numpy(dtype=bool)
    if drop_missing_ids:
        dropped[MISSING_ID] = int(blank.sum())
    elif blank.any():
        raise missing_ids_refused_error(customer_col, int(blank.sum()), transactions.index[blank][:5].tolist())
    frame = transactions.loc[~blank].copy()  # a new frame: the caller's is never touched
    ids, float_like = _ids_as_text(frame[customer_col])
    frame[customer_col] = ids
    frame[date_col] = parse_dates(frame[date_col], date_col, date_format=date_format, epoch_unit=epoch_unit,
                                  ids=ids, dayfirst=dayfirst)

    unmatched = netted = 0
    if amount_name is not None:
        if from_product:
            amounts = (_numbers(frame, quantity_col, ids, negative_ok=True)
                       * _numbers(frame, price_col, ids, negative_ok=True))
        else:
            amounts = _numbers(frame, amount_col, ids, negative_ok=returns is not None)
        negative = amounts < 0
        if returns is None and negative.any():
            shown = (frame.loc[negative, [quantity_col, price_col]].head(3).to_numpy().tolist() if from_product
                     else frame.loc[negative, amount_col].head(3).tolist())
            raise ClvDataError(
                str(bad_amounts_error(f"{quantity_col} x {price_col}" if from_product else amount_col,
                                      int(negative.sum()), _where(frame.index, ids, negative), shown))
                + " Or pass returns='drop' (returns and the purchases they cancel are dropped) or returns='net' "
                  "(netted per customer and day); command line: --returns drop|net."
            )
        frame[amount_name] = amounts
        if returns == "drop":
            cancelled, unmatched = _cancelled_purchases(ids.to_numpy(), frame[date_col].to_numpy(), amounts)
            keep = ~negative
            keep[cancelled] = False
            dropped[RETURN_ROWS] = int(negative.sum())
            dropped[CANCELLED] = len(cancelled)
            frame = frame.loc[keep]
        elif returns == "net":
            day = frame[date_col].dt.floor("D")
            group = pd.DataFrame({"customer": ids.to_numpy(), "day": day.to_numpy(), "amount": amounts,
                                  "gross": np.abs(amounts), "rows": 1, "returns": negative.astype(int)})
            days = group.groupby(["customer", "day"], sort=True).sum()
            positive = (days["amount"] > 1e-9 * days["gross"]).to_numpy()
            dropped[NET_DAYS] = int(days.loc[~positive, "rows"].sum())
            netted = int(days.loc[positive, "returns"].sum())
            days = days[positive].reset_index()
            frame = pd.DataFrame({customer_col: days["customer"].to_numpy(dtype=object),
                                  date_col: days["day"].to_numpy(), amount_name: days["amount"].to_numpy()})

    rows_kept = rows_read - sum(dropped.values())
    days = frame[date_col].dt.floor("D")
    purchase_days = int(pd.MultiIndex.from_arrays([frame[customer_col], days]).nunique()) if len(frame) else 0
    if invoice_col is not None and returns != "net":
        orders = frame[invoice_col].astype(str)
        transactions_kept = int(pd.MultiIndex.from_arrays([frame[customer_col], orders]).nunique()) if len(frame) else 0
    else:  # without invoices an order is what the models see: a customer's purchase day
        orders = days.dt.strftime("%Y-%m-%d")
        transactions_kept = len(frame)
    high, n_high, giant, n_giant = ((), 0, (), 0)
    if amount_name is not None and len(frame):
        high, n_high, giant, n_giant = _flags(frame[customer_col], days, frame[amount_name], orders, outlier_factor)
    quality = DataQuality(
        rows_read=rows_read,
        rows_kept=rows_kept,
        dropped=dropped,
        first_date=str(days.min().date()) if len(frame) else None,
        last_date=str(days.max().date()) if len(frame) else None,
        transactions=transactions_kept,
        purchase_days=purchase_days,
        customers=int(frame[customer_col].nunique()),
        unmatched_returns=int(unmatched),
        returns_netted=netted,
        float_like_ids=float_like,
        high_spenders=high,
        n_high_spenders=n_high,
        giant_orders=giant,
        n_giant_orders=n_giant,
        outlier_factor=float(outlier_factor),
    )
    return frame, quality
