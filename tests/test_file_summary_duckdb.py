"""``transaction_file_summary``: the DuckDB read of a file as written equals the CLI's pandas path."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from clvmodels.cli import prepared_log, summarize
from clvmodels.data.duckdb_engine import transaction_file_summary
from clvmodels.errors import ClvDataError

from engine_check import assert_same_summary


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cdnow_file_summary_and_quality_equal_the_pandas_cli_path(tmp_path, cdnow_transactions, suffix):
    path = tmp_path / f"log{suffix}"
    tx = cdnow_transactions.assign(customer_id=cdnow_transactions["customer_id"].astype(str))
    tx.to_csv(path, index=False) if suffix == ".csv" else tx.to_parquet(path)
    kw = dict(unit="W", calibration_end="1997-09-30", observation_end="1998-06-30")
    log, _, _, quality = prepared_log(path, None, customer="customer_id", date="date", amount="amount")
    ref = summarize(log, customer="customer_id", date="date", amount="amount", **kw)
    got, facts = transaction_file_summary(path, "customer_id", "date", "amount", **kw)
    assert_same_summary(ref, got, suffix)
    expected = {k: v for k, v in dataclasses.asdict(quality).items() if k in facts}
    assert {k: facts[k] for k in expected} == expected and expected["customers"] == 2357


def test_ids_as_written_and_missing_ids_refused_with_the_cli_message(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("id,day,v\n007,2024-01-01,1\n7.0,2024-01-08,2\nNA,2024-01-09,3\n7,2024-01-15,4\n")
    got, facts = transaction_file_summary(path, "id", "day", "v", unit="D")
    assert got.index.tolist() == ["007", "7", "NA"] and got.loc["7", "frequency"] == 1.0
    assert facts["float_like_ids"] == 1
    path.write_text("id,day,v\n1,2024-01-01,1\n ,2024-01-08,2\n")
    log_error = r"Column 'id' has 1 missing customer id \(rows 1\)\. Drop them with drop_missing_ids=True"
    with pytest.raises(ClvDataError, match=log_error):
        transaction_file_summary(path, "id", "day", "v")
    with pytest.raises(ClvDataError, match=log_error):
        prepared_log(path, None, customer="id", date="day", amount="v")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_summarize_through_duckdb_writes_what_the_pandas_path_writes(tmp_path, cdnow_transactions, suffix):
    from typer.testing import CliRunner

    from clvmodels.cli import app

    path = tmp_path / f"log{suffix}"
    tx = cdnow_transactions.assign(customer_id=cdnow_transactions["customer_id"].astype(str))
    tx.to_csv(path, index=False) if suffix == ".csv" else tx.to_parquet(path)
    args = ["summarize", str(path), "--amount", "amount", "--calibration-end", "1997-09-30",
            "--observation-end", "1998-06-30"]
    runner = CliRunner()
    fast = runner.invoke(app, args + ["--output", str(tmp_path / "fast.csv")])
    # --sep sends a CSV through pandas; a Parquet file goes there with --dayfirst (no effect on ISO dates)
    slow = runner.invoke(app, args + ["--output", str(tmp_path / "slow.csv")]
                         + (["--sep", ","] if suffix == ".csv" else ["--dayfirst"]))
    assert fast.exit_code == slow.exit_code == 0, (fast.output, slow.output)
    got, ref = (pd.read_csv(tmp_path / f"{name}.csv", dtype={"customer_id": str}) for name in ("fast", "slow"))
    # exact but for the spend means, whose compensated sums differ in the last bits (engine_check)
    spend = ["monetary_value", "monetary_value_holdout"]
    pd.testing.assert_frame_equal(got.drop(columns=spend), ref.drop(columns=spend), check_exact=True)
    pd.testing.assert_frame_equal(got[spend], ref[spend], rtol=1e-13, atol=0)
    assert len(got) == 2357
    assert fast.output.replace("fast.csv", "X") == slow.output.replace("slow.csv", "X")


@pytest.mark.parametrize("dtype", ["int64", "float64"])
def test_cli_parquet_ids_stored_as_numbers_match_the_pandas_path(tmp_path, cdnow_transactions, dtype):
    # a float id column (17850.0) is the text "17850" in prepare_transactions: the CLI must not write "17850.0"
    from typer.testing import CliRunner

    from clvmodels.cli import app

    path = tmp_path / "log.parquet"
    cdnow_transactions.assign(customer_id=cdnow_transactions["customer_id"].astype(dtype)).to_parquet(path)
    args = ["summarize", str(path), "--amount", "amount", "--calibration-end", "1997-09-30"]
    runner = CliRunner()
    fast = runner.invoke(app, args + ["--output", str(tmp_path / "fast.csv")])
    slow = runner.invoke(app, args + ["--output", str(tmp_path / "slow.csv"), "--dayfirst"])
    assert fast.exit_code == slow.exit_code == 0, (fast.output, slow.output)
    got, ref = (pd.read_csv(tmp_path / f"{name}.csv", dtype={"customer_id": str}) for name in ("fast", "slow"))
    assert got["customer_id"].tolist() == ref["customer_id"].tolist()
    assert not got["customer_id"].str.contains(".", regex=False).any()
    pd.testing.assert_frame_equal(got.drop(columns=["monetary_value"]), ref.drop(columns=["monetary_value"]))
