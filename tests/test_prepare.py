"""``prepare_transactions`` and the CLI's data-preparation options, on a generated messy export.

The export looks like a retailer's line-item file: invoice numbers, amount = quantity x unit
price, cancellations as negative quantities on later ``C`` invoices (one of them a giant
order cancelled the same day), returns that match no purchase, rows without a customer id,
``M/D/YYYY H:MM`` timestamps and ids written like floats (``17850.0``). The generator keeps
the ground truth (which purchase each cancellation cancels), and every count of the
data-quality record is checked against a pandas computation on that ground truth, not
against the implementation's own rules.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvmodels as clv
from clvmodels.cli import app
from clvmodels.data.prepare import CANCELLED, MISSING_ID, NET_DAYS, RETURN_ROWS
from clvmodels.errors import ClvDataError

START = pd.Timestamp("2010-12-01 08:00")
GIANT = ("16446", 80995, 2.08)  # customer, quantity, unit price: a GBP 168k order, cancelled the same day
CAL_END = "2011-09-30"
BIG = "99999"  # a wholesale customer whose two orders are far above the others


def _stamp(ts: pd.Timestamp) -> str:
    return f"{ts.month}/{ts.day}/{ts.year} {ts.hour}:{ts.minute:02d}"


def messy_export(n_customers: int = 300, seed: int = 7) -> pd.DataFrame:
    """A line-item export and its ground truth (columns ``_kind``: purchase, cancelled, return, unmatched,
    missing; ``_customer``: the true id). Amounts are unique within a customer, so the cancelled
    purchase of each return is unambiguous."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    invoice = 536000
    prices = np.array([0.85, 1.25, 1.65, 2.10, 2.55, 2.95, 3.39, 4.25, 4.95, 7.95, 12.75])

    def add(inv, customer, ts, qty, price, kind, written=None):
        rows.append({"InvoiceNo": inv, "StockCode": f"{rng.integers(20000, 90000)}", "Quantity": int(qty),
                     "InvoiceDate": _stamp(ts), "UnitPrice": float(price),
                     "CustomerID": written if written is not None else customer, "Country": "United Kingdom",
                     "_kind": kind, "_customer": customer, "_ts": ts})

    for i in range(n_customers):
        customer = str(12346 + i)
        written = f"{customer}.0" if i % 3 == 0 else customer  # a third written like floats
        used: set[int] = set()
        # BG/NBD-like histories (so the fits of the CLI test are well posed): a first purchase in the first
        # four months, exponential gaps, a dropout chance after each purchase; on distinct days
        rate, dropout = rng.gamma(1.5, 1 / 40), rng.beta(1.0, 4.0)
        basket = rng.gamma(4.0, 0.5)  # the customer's typical basket size: spend differs between customers
        days = [float(rng.uniform(0, 120))]
        while rng.uniform() > dropout and days[-1] < 370:
            days.append(days[-1] + rng.exponential(1 / rate))
        days = sorted({int(d) for d in days if d < 370})
        for d in days:
            invoice += 1
            ts = START + pd.Timedelta(days=int(d), minutes=int(rng.integers(0, 600)))
            for _ in range(int(rng.integers(1, 4))):
                qty, price = 1 + int(rng.integers(0, 6) * basket), float(rng.choice(prices))
                while round(qty * price * 100) in used:  # a larger quantity always ends the search
                    qty += 1
                used.add(round(qty * price * 100))
                add(str(invoice), customer, ts, qty, price, "purchase", written)
        # some customers cancel one line of a past order on a later invoice (a day to a month later)
        if i % 7 == 3:
            line = next(r for r in reversed(rows) if r["_customer"] == customer and r["_kind"] == "purchase")
            line["_kind"] = "cancelled"
            invoice += 1
            ts = line["_ts"] + pd.Timedelta(days=int(rng.integers(1, 30)))
            add(f"C{invoice}", customer, ts, -line["Quantity"], line["UnitPrice"], "return", written)
        # and some return part of a line: no purchase of that amount, so the purchase stays
        if i % 11 == 5:
            line = next((r for r in rows if r["_customer"] == customer and r["_kind"] == "purchase"), None)
            # (only when no purchase of one unit at that price exists: that purchase would be the one cancelled)
            if line is not None and line["Quantity"] > 1 and round(line["UnitPrice"] * 100) not in used:
                invoice += 1
                add(f"C{invoice}", customer, line["_ts"] + pd.Timedelta(hours=2), -1, line["UnitPrice"],
                    "unmatched", written)
    # the giant order: a small purchase months before, then 80,995 units and their cancellation the same day
    giant_id, qty, price = GIANT
    add("536900", giant_id, START + pd.Timedelta(days=40), 6, 2.55, "purchase", giant_id + ".0")
    day = START + pd.Timedelta(days=373, hours=1)
    add("581483", giant_id, day, qty, price, "cancelled", giant_id + ".0")
    add("C581484", giant_id, day + pd.Timedelta(minutes=9), -qty, price, "return", giant_id + ".0")
    # a wholesale buyer: two big orders that stay (flagged, not dropped)
    add("560001", BIG, START + pd.Timedelta(days=100, hours=3), 500, 1.65, "purchase")
    add("570001", BIG, START + pd.Timedelta(days=200, hours=5), 300, 2.10, "purchase")
    # rows without a customer id (empty in the file), some with negative prices ("Adjust bad debt")
    for k in range(37):
        ts = START + pd.Timedelta(days=int(rng.integers(0, 370)), minutes=int(rng.integers(0, 600)))
        add(str(540000 + k), "", ts, int(rng.integers(1, 20)), float(rng.choice(prices)) * (-1 if k == 0 else 1),
            "missing")
    frame = pd.DataFrame(rows)
    return frame.sort_values("_ts", kind="stable").reset_index(drop=True)


def raw_view(export: pd.DataFrame) -> pd.DataFrame:
    """The export as a CSV reader gives it: ids as text (missing ones empty), without the ground truth."""
    raw = export.drop(columns=["_kind", "_customer", "_ts"]).copy()
    raw["CustomerID"] = raw["CustomerID"].replace("", np.nan)
    return raw


@pytest.fixture(scope="module")
def export() -> pd.DataFrame:
    return messy_export()


@pytest.fixture(scope="module")
def truth(export) -> dict:
    """The data-quality counts computed with pandas from the generator's ground truth."""
    kept = export[export["_kind"] == "purchase"]
    with_id = export[export["_kind"] != "missing"]
    amount = kept["Quantity"] * kept["UnitPrice"]
    day = kept["_ts"].dt.normalize()
    per_day = amount.groupby([kept["_customer"], day]).sum()
    means = per_day.groupby(level=0).mean()
    per_invoice = amount.groupby([kept["_customer"], kept["InvoiceNo"]]).sum()
    return {
        "rows_read": len(export),
        "missing": int((export["_kind"] == "missing").sum()),
        "returns": int(export["_kind"].isin(["return", "unmatched"]).sum()),
        "cancelled": int((export["_kind"] == "cancelled").sum()),
        "unmatched": int((export["_kind"] == "unmatched").sum()),
        "kept": len(kept),
        "invoices": int(kept.groupby(["_customer", "InvoiceNo"]).ngroups),
        "purchase_days": int(per_day.size),
        "customers": int(kept["_customer"].nunique()),
        "first": str(day.min().date()), "last": str(day.max().date()),
        "float_ids": int(with_id.loc[with_id["CustomerID"].str.endswith(".0"), "CustomerID"].nunique()),
        "high_spenders": int((means > 10 * means.median()).sum()),
        "giant_orders": int((per_invoice > 10 * per_invoice.median()).sum()),
        "totals": amount.groupby(kept["_customer"]).sum().sort_index(),
        "first_days": day.groupby(kept["_customer"]).min(),
    }


def prepare(raw: pd.DataFrame, **options):
    options = {"quantity_col": "Quantity", "price_col": "UnitPrice", "invoice_col": "InvoiceNo",
               "drop_missing_ids": True, "returns": "drop", **options}
    return clv.prepare_transactions(raw, "CustomerID", "InvoiceDate", **options)


def test_the_export_is_as_messy_as_intended(export):
    # the generator's own check: every kind of mess is there, so the tests below can fail
    kinds = export["_kind"].value_counts()
    assert {"purchase", "cancelled", "return", "unmatched", "missing"} <= set(kinds.index)
    assert export["CustomerID"].str.endswith(".0").any() and (export["CustomerID"] == "").any()
    assert export["InvoiceDate"].str.match(r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d$").all()
    assert (export["InvoiceDate"].str.split("/").str[1].astype(int) > 12).any()  # month first is detectable
    returns = export[export["_kind"] == "return"]
    assert (returns["_ts"].dt.normalize() > returns["_ts"].dt.normalize().min()).any()


def test_drop_counts_equal_the_ground_truth(export, truth):
    raw = raw_view(export)
    log, q = prepare(raw)
    assert q.rows_read == truth["rows_read"]
    assert q.dropped == {MISSING_ID: truth["missing"], RETURN_ROWS: truth["returns"], CANCELLED: truth["cancelled"]}
    assert q.rows_kept == len(log) == truth["kept"]
    assert q.rows_read == q.rows_kept + sum(q.dropped.values())
    assert q.unmatched_returns == truth["unmatched"]
    assert (q.first_date, q.last_date) == (truth["first"], truth["last"])
    assert q.transactions == truth["invoices"]
    assert q.purchase_days == truth["purchase_days"]
    assert q.customers == truth["customers"]
    assert q.float_like_ids == truth["float_ids"]
    assert q.n_high_spenders == truth["high_spenders"]
    assert q.n_giant_orders == truth["giant_orders"]
    assert q.high_spenders[0] == BIG and truth["high_spenders"] >= 1  # the flags have something to find
    assert {o[1] for o in q.giant_orders[:2]} == {"560001", "570001"}


def test_drop_keeps_exactly_the_purchases_that_were_not_cancelled(export, truth):
    log, _ = prepare(raw_view(export))
    expected = export.index[export["_kind"] == "purchase"]
    assert log.index.equals(expected)  # the original row labels, so a row can be traced back
    np.testing.assert_array_equal(log["CustomerID"].to_numpy(), export.loc[expected, "_customer"].to_numpy())
    pd.testing.assert_series_equal(log.groupby("CustomerID")["amount"].sum().sort_index(), truth["totals"],
                                   check_names=False, rtol=1e-12)


def test_the_giant_cancelled_order_does_not_survive(export):
    giant_id, qty, price = GIANT
    log, q = prepare(raw_view(export))
    assert log["amount"].max() < qty * price / 100
    assert log.loc[log["CustomerID"] == giant_id, "amount"].tolist() == [6 * 2.55]
    s = clv.rfm_summary(log, "CustomerID", "InvoiceDate", "amount", unit="W")
    assert s.loc[giant_id, "frequency"] == 0  # one purchase day left: the small one
    # dropping only the cancellation rows (what a user does by hand) would leave it: the test can fail
    naive = raw_view(export).assign(amount=lambda f: f["Quantity"] * f["UnitPrice"])
    naive = naive[naive["CustomerID"].notna() & (naive["amount"] > 0)]
    assert naive["amount"].max() == pytest.approx(qty * price)


def test_ids_are_text_without_the_float_tail_and_float_columns_are_read_the_same(export):
    raw = raw_view(export)
    log, _ = prepare(raw)
    assert not log["CustomerID"].str.contains(r"\.").any()
    as_float = raw.assign(CustomerID=pd.to_numeric(raw["CustomerID"]))  # what pd.read_csv gives with NaNs
    assert as_float["CustomerID"].dtype == float
    log_f, q_f = prepare(as_float)
    pd.testing.assert_series_equal(log_f["CustomerID"], log["CustomerID"])
    assert q_f.float_like_ids == as_float["CustomerID"].nunique()  # every float id loses its .0


def test_the_input_frame_is_not_modified(export):
    raw = raw_view(export)
    before = raw.copy(deep=True)
    for returns in ("drop", "net"):
        prepare(raw, returns=returns)
    pd.testing.assert_frame_equal(raw, before)


def test_net_drops_the_customer_days_whose_net_is_not_positive(export):
    raw = raw_view(export)
    log, q = prepare(raw, returns="net")
    # independent: the same netting with pandas on the rows that have an id
    rows = raw[raw["CustomerID"].notna()]
    amount = rows["Quantity"] * rows["UnitPrice"]
    day = pd.to_datetime(rows["InvoiceDate"], format="%m/%d/%Y %H:%M").dt.normalize()
    ids = rows["CustomerID"].str.replace(r"\.0$", "", regex=True)
    net = amount.groupby([ids, day]).sum()
    n_rows = amount.groupby([ids, day]).size()
    positive = net > 1e-6
    assert q.dropped == {MISSING_ID: int(raw["CustomerID"].isna().sum()), NET_DAYS: int(n_rows[~positive].sum())}
    assert q.transactions == q.purchase_days == len(log) == int(positive.sum())
    got = log.set_index(["CustomerID", "InvoiceDate"])["amount"]
    np.testing.assert_allclose(got.to_numpy(), net[positive].to_numpy(), rtol=1e-12)
    assert GIANT[0] in log["CustomerID"].tolist() and log["amount"].max() < GIANT[1] * GIANT[2] / 100
    # a return booked on a later day leaves its purchase in place (documented), unlike "drop"
    later = export[(export["_kind"] == "return") & (export["_customer"] != GIANT[0])]
    assert len(later) and q.returns_netted < q.dropped[NET_DAYS] + len(later)
    assert log["amount"].sum() > prepare(raw)[0]["amount"].sum()


def test_without_returns_the_negative_amounts_are_refused_with_the_fix(export):
    with pytest.raises(ClvDataError, match=r"Quantity x UnitPrice.*negative.*returns='drop'.*--returns drop\|net"):
        prepare(raw_view(export), returns=None)


def test_missing_ids_are_refused_unless_dropped(export):
    with pytest.raises(ClvDataError, match=r"Column 'CustomerID' has 37 missing customer ids.*drop_missing_ids=True"):
        prepare(raw_view(export), drop_missing_ids=False)


def test_dayfirst_reads_day_month_dates_like_their_month_day_twin(export):
    raw = raw_view(export)
    ts = export["_ts"]
    dmy = raw.assign(InvoiceDate=[f"{t.day:02d}/{t.month:02d}/{t.year} {t.hour}:{t.minute:02d}" for t in ts])
    log, _ = prepare(raw)
    log_d, _ = prepare(dmy, dayfirst=True)
    pd.testing.assert_series_equal(log_d["InvoiceDate"], log["InvoiceDate"])
    with pytest.raises(ClvDataError, match=r"read day first \(dayfirst=True\), but row .* month field is 1[3-9]|"
                                           r"month field is [2-3]\d"):
        prepare(raw, dayfirst=True)  # the M/D file has second fields above 12


def test_prepared_log_gives_the_summary_of_the_clean_purchases(export):
    log, _ = prepare(raw_view(export))
    kept = export[export["_kind"] == "purchase"]
    clean = pd.DataFrame({"id": kept["_customer"], "day": kept["_ts"], "amount": kept["Quantity"] * kept["UnitPrice"]})
    pd.testing.assert_frame_equal(clv.rfm_summary(log, "CustomerID", "InvoiceDate", "amount", unit="W"),
                                  clv.rfm_summary(clean, "id", "day", "amount", unit="W"),
                                  check_names=False, rtol=1e-12)


def test_bad_options_are_refused():
    raw = pd.DataFrame({"id": ["1"], "day": ["2024-01-01"], "q": [1], "p": [2.0], "amount": [2.0]})
    with pytest.raises(ValueError, match="'returns' parameter"):
        clv.prepare_transactions(raw, "id", "day", "amount", returns="keep")
    with pytest.raises(ValueError, match="quantity_col= and price_col= together"):
        clv.prepare_transactions(raw, "id", "day", quantity_col="q")
    with pytest.raises(ClvDataError, match="already has a column 'amount'"):
        clv.prepare_transactions(raw, "id", "day", quantity_col="q", price_col="p")
    with pytest.raises(ClvDataError, match="no column 'qty'"):
        clv.prepare_transactions(raw, "id", "day", quantity_col="qty", price_col="p", amount_col="value")
    with pytest.raises(ClvDataError, match=r"Column 'p' must hold finite numbers; 1 are missing"):
        clv.prepare_transactions(raw.assign(p=["x"]), "id", "day", quantity_col="q", price_col="p", amount_col="v")


# --------------------------------------------------------------------------- the command line
runner = CliRunner()


def ok(*args) -> object:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output + result.stderr
    return result


@pytest.fixture(scope="module")
def messy_csv(export, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("messy") / "online_retail.csv"
    export.drop(columns=["_kind", "_customer", "_ts"]).to_csv(path, index=False)
    return path


PREP = ("--customer", "CustomerID", "--date", "InvoiceDate", "--quantity", "Quantity", "--price", "UnitPrice",
        "--invoice", "InvoiceNo", "--drop-missing-ids", "--returns", "drop", "--unit", "W")


def test_cli_from_the_messy_export_to_a_report_in_three_commands(messy_csv, truth, tmp_path):
    summary = tmp_path / "summary.csv"
    out = ok("summarize", messy_csv, *PREP, "--output", summary).stdout
    dropped = truth["missing"] + truth["returns"] + truth["cancelled"]
    assert f"Read {truth['rows_read']:,} rows; kept {truth['kept']:,}." in out
    assert min(truth["missing"], truth["returns"], truth["cancelled"]) > 1  # the plural wording below
    assert (f"Dropped {dropped:,} rows: {truth['missing']} rows without a customer id; {truth['returns']} returns and "
            f"cancellations (negative amounts); {truth['cancelled']} purchases cancelled by a matching return.") in out
    assert (f"Dates {truth['first']} to {truth['last']}; {truth['invoices']:,} transactions, "
            f"{truth['purchase_days']:,} purchase days, {truth['customers']:,} customers.") in out
    assert f"Flag: {truth['float_ids']:,} customer ids were written like numbers" in out
    assert truth["high_spenders"] == 1  # the giant order's buyer: in the singular
    assert "Flag: 1 customer spends on average more than 10 x the median" in out
    assert f"Flag: {truth['giant_orders']:,} single orders are worth more than 10 x the median order" in out
    written = pd.read_csv(summary, index_col=0)
    assert len(written) == truth["customers"] and not written.index.astype(str).str.contains(r"\.").any()

    fitted = ok("fit", messy_csv, *PREP, "--calibration-end", CAL_END, "--json")
    record = json.loads(fitted.stdout)
    assert record["converged"] is True
    assert record["n_customers"] == int((truth["first_days"] <= pd.Timestamp(CAL_END)).sum())
    assert f"Dropped {dropped:,} rows" in fitted.stderr  # one note, on stderr: --json stays parseable

    html = tmp_path / "report.html"
    ok("report", messy_csv, *PREP, "--calibration-end", CAL_END, "--output", html)
    page = html.read_text()
    assert "Data quality" in page
    for label, number in [("Rows read", truth["rows_read"]), ("Dropped: missing customer id", truth["missing"]),
                          ("Dropped: purchases cancelled by a matching return", truth["cancelled"]),
                          ("Customers", truth["customers"]), ("Transactions", truth["invoices"])]:
        assert re.search(rf"<th>{re.escape(label)}</th>\s*<td>{number:,}</td>", page), label


def test_cli_without_the_options_names_them(messy_csv):
    result = runner.invoke(app, ["summarize", str(messy_csv), "--customer", "CustomerID", "--date", "InvoiceDate",
                                 "--quantity", "Quantity", "--price", "UnitPrice"])
    assert result.exit_code == 1 and "--drop-missing-ids" in result.stderr
    result = runner.invoke(app, ["summarize", str(messy_csv), *PREP[:-4], "--drop-missing-ids"])
    assert result.exit_code == 1 and "--returns drop|net" in result.stderr
    result = runner.invoke(app, ["summarize", str(messy_csv), *PREP[:4], "--quantity", "Quantity"])
    assert result.exit_code == 1 and "--quantity COL and --price COL together" in result.stderr
    result = runner.invoke(app, ["summarize", str(messy_csv), *PREP[:-2], "--returns", "keep"])
    assert result.exit_code == 1 and "--returns must be 'drop' or 'net'" in result.stderr


def test_the_docs_page_example_runs_and_states_its_numbers(capsys):
    page = Path(__file__).resolve().parents[1] / "docs" / "pages" / "preparing-data.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    assert blocks
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for block in blocks:
            exec(compile(block, str(page), "exec"), namespace)
    printed = capsys.readouterr().out
    # the page shows what the code prints: each shown output line must be printed
    shown = re.findall(r"```text\n(.*?)```", page.read_text(), flags=re.S)
    assert shown
    for line in "\n".join(shown).splitlines():
        assert line.strip() in printed, line


def test_quality_lines_agree_in_number_with_their_counts():
    """One of a kind reads in the singular, several in the plural ("1 purchases cancelled" was printed)."""
    def quality(n: int) -> clv.DataQuality:
        return clv.DataQuality(rows_read=n + 1, rows_kept=1, dropped={MISSING_ID: n, CANCELLED: n, RETURN_ROWS: n,
                                                                  NET_DAYS: n},
                           first_date="2024-01-01", last_date="2024-01-02", transactions=n, purchase_days=n,
                           customers=n, unmatched_returns=n, returns_netted=n, float_like_ids=n, high_spenders=("a",),
                           n_high_spenders=n, giant_orders=(("a", "7", 100.0),), n_giant_orders=n)

    one = quality(1).lines()
    assert one[0] == "Read 2 rows; kept 1."
    assert one[1] == ("Dropped 4 rows: 1 row without a customer id; 1 purchase cancelled by a matching return; "
                      "1 return or cancellation (negative amount); 1 row of a customer-day whose net amount is <= 0.")
    assert one[2].startswith("1 return matched no earlier purchase") and one[2].endswith("only the return was dropped.")
    assert one[3] == "1 return was netted into the same customer's purchases of that day."
    assert one[4] == "Dates 2024-01-01 to 2024-01-02; 1 transaction, 1 purchase day, 1 customer."
    assert one[5].startswith("Flag: 1 customer id was written like numbers")
    assert one[6].startswith("Flag: 1 customer spends on average")
    assert one[7].startswith("Flag: 1 single order is worth more")

    many = quality(1234).lines()
    assert many[1] == ("Dropped 4,936 rows: 1,234 rows without a customer id; 1,234 purchases cancelled by a matching "
                       "return; 1,234 returns and cancellations (negative amounts); 1,234 rows of customer-days whose "
                       "net amount is <= 0.")
    assert many[3] == "1,234 returns were netted into the same customer's purchases of that day."
    assert many[4] == "Dates 2024-01-01 to 2024-01-02; 1,234 transactions, 1,234 purchase days, 1,234 customers."
    assert many[6].startswith("Flag: 1,234 customers spend on average")
    assert many[7].startswith("Flag: 1,234 single orders are worth more")
