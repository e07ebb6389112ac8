"""Outputs: written atomically, never overwritten by surprise, and safe against what customer ids hold.

Organised by rule (issue 10, sections 4, 5 and 8):

A. every file is written to a temporary file beside it and moved into place: a failure, a
   full disk or a kill leaves the old file or none; concurrent writers never interleave;
B. JSON is strict (no NaN/Infinity literals) and a non-finite value is named by its field;
C. the command line refuses to overwrite an existing output without ``--force``;
D. the command line checks the output path before any fitting or sampling;
E. nothing printed on the terminal that came from data is read as markup or escape codes;
F. CSV cells that a spreadsheet would run as formulas are neutralised (OWASP); Parquet and
   JSON keep the exact ids;
G. figures draw ids with ``$`` literally;
H. slow stages of ``predict``/``report`` say so on stderr off a terminal; quick work is quiet.

Sources of truth: the file system itself (bytes on disk, permissions, listings), OWASP's
CSV-injection rule, matplotlib's own renderer with math parsing switched off, and the Python
API (the CLI writes what the library computes).
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import clvmodels as clv
import clvmodels.cli as cli
from clvmodels.cli import app
from clvmodels.output_files import (
    OutputExistsError,
    atomic_path,
    atomic_paths,
    check_output_path,
    strict_json,
    write_json_atomic,
    write_text_atomic,
)
from clvmodels.untrusted_text import (
    CSV_FORMULA_TRIGGERS,
    literal_label,
    neutralize_csv_cell,
    neutralize_csv_frame,
    restore_csv_cell,
    terminal_text,
)

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
CAL_END = "1997-09-30"

#: Ids that each attack one consumer: Rich markup, OSC 8 hyperlinks, ANSI colours, spreadsheet
#: formulas, mathtext (a valid and an invalid formula), Rich emoji codes.
NASTY_IDS = [
    "[/bold]",
    "[link=https://evil.example]click[/link]",
    "\x1b[31mred\x1b[0m",
    '=HYPERLINK("http://evil.example","x")',
    "-5",
    "+1",
    "@SUM(A1)",
    "$x^2$",
    "$\\frac$",
    ":fire:",
    "\x1b]8;;http://evil.example\x1b\\lnk\x1b]8;;\x1b\\",
]


def invoke(*args) -> object:
    return runner.invoke(app, [str(a) for a in args])


def ok(*args):
    result = invoke(*args)
    assert result.exit_code == 0, result.output + result.stderr
    return result


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp-"))


@pytest.fixture(scope="module")
def nasty_log(tmp_path_factory) -> Path:
    """300 CDNOW customers as a CSV log; the first 11 ids (several of them repeat buyers) are hostile."""
    tx = clv.datasets.load_cdnow()
    ids = sorted(tx["customer_id"].unique())[:300]
    names = {c: (NASTY_IDS[i] if i < len(NASTY_IDS) else f"c{c}") for i, c in enumerate(ids)}
    sub = tx[tx["customer_id"].isin(ids)].copy()
    sub["customer_id"] = sub["customer_id"].map(names)
    sub["date"] = sub["date"].dt.strftime("%Y-%m-%d")
    path = tmp_path_factory.mktemp("log") / "log.csv"
    sub.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def nasty_summary(nasty_log) -> pd.DataFrame:
    tx = pd.read_csv(nasty_log, dtype={"customer_id": str}, keep_default_na=False)
    return clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end=CAL_END)


@pytest.fixture(scope="module")
def point_models():
    bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    return bg, gg


def full_disk_after(n_bytes: int):
    """A stand-in for a writer on a full disk: writes ``n_bytes`` of the output, then fails with ENOSPC."""

    def write(self, path_or_buf=None, *args, **kwargs):
        text = original_to_csv(self, None, *args, **kwargs)
        with open(path_or_buf, "w") as fh:
            fh.write(text[:n_bytes])
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


original_to_csv = pd.DataFrame.to_csv


# =========================================================================== A. atomic writes
def test_atomic_path_moves_a_complete_file_into_place_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "scores.csv"
    with atomic_path(target) as temp:
        assert temp.parent == tmp_path and temp.name.endswith("-scores.csv") and temp.name.startswith(".tmp-")
        temp.write_text("a,b\n1,2\n")
        assert not target.exists()
    assert target.read_text() == "a,b\n1,2\n"
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_midway_leaves_the_old_file_untouched(tmp_path, error):
    target = tmp_path / "scores.csv"
    target.write_text("old complete file\n")
    with pytest.raises(type(error)):
        with atomic_path(target) as temp:
            temp.write_text("new but trunc")
            raise error
    assert target.read_text() == "old complete file\n"
    assert temp_files(tmp_path) == []


def test_a_failure_with_no_old_file_leaves_nothing_under_the_final_name(tmp_path):
    with pytest.raises(OSError, match="No space left"):
        write_text_atomic_failing(tmp_path / "report.html")
    assert list(tmp_path.iterdir()) == []


def write_text_atomic_failing(path: Path) -> None:
    with atomic_path(path) as temp:
        temp.write_text("<html><body>half")
        raise OSError(errno.ENOSPC, "No space left on device")


def test_write_table_on_a_full_disk_keeps_the_old_scores(tmp_path, monkeypatch):
    target = tmp_path / "scores.csv"
    old = pd.DataFrame({"clv": [1.0, 2.0]}, index=pd.Index(["a", "b"], name="customer_id"))
    cli.write_table(old, target)
    before = target.read_bytes()
    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk_after(20))
    new = pd.DataFrame({"clv": np.arange(1000.0)}, index=pd.Index([f"c{i}" for i in range(1000)], name="customer_id"))
    with pytest.raises(OSError, match="No space left"):
        cli.write_table(new, target)
    assert target.read_bytes() == before
    assert temp_files(tmp_path) == []


def test_predict_on_a_full_disk_keeps_the_old_scores_and_reports_one_line(tmp_path, monkeypatch, nasty_log):
    target = tmp_path / "scores.csv"
    target.write_text("customer_id,clv\nold,1\n")
    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk_after(50))
    result = invoke("predict", nasty_log, "--calibration-end", CAL_END, "--output", target, "--force")
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
    assert target.read_text() == "customer_id,clv\nold,1\n"
    assert temp_files(tmp_path) == []


def test_report_failing_while_writing_the_html_keeps_the_old_pair(tmp_path, monkeypatch, nasty_summary,
                                                                   point_models):
    bg, gg = point_models
    html = tmp_path / "r.html"
    files = clv.report(bg, gg, nasty_summary, html, top=5)
    old_html, old_csv = html.read_bytes(), files.customers.read_bytes()
    original = Path.write_text

    def failing(self, data, *args, **kwargs):
        if self.name.endswith("-r.html"):  # the report's temporary HTML file
            original(self, data[: len(data) // 2], *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing)
    with pytest.raises(OSError, match="No space left"):
        clv.report(bg, gg, nasty_summary.iloc[:100], html, top=5)  # a different table: a mixed pair would show
    assert html.read_bytes() == old_html and files.customers.read_bytes() == old_csv
    assert temp_files(tmp_path) == []


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from clvmodels.output_files import atomic_paths
    folder = Path(sys.argv[1])
    with atomic_paths(folder / "r.customers.csv", folder / "r.html") as (csv, html):
        csv.write_text("id\\nnew\\n")
        with open(html, "w") as fh:
            fh.write("<html>new, half written")
            fh.flush()
            print("ready", flush=True)
            time.sleep(60)
""")


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_a_kill_while_the_report_pair_is_written_leaves_the_old_pair(tmp_path):
    (tmp_path / "r.customers.csv").write_text("id\nold\n")
    (tmp_path / "r.html").write_text("<html>old</html>")
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.stdout.close()
    assert (tmp_path / "r.customers.csv").read_text() == "id\nold\n"
    assert (tmp_path / "r.html").read_text() == "<html>old</html>"


TERM_SCRIPT = textwrap.dedent("""
    import time
    from pathlib import Path
    import sys
    from clvmodels.cli import _exit_cleanly_on_sigterm
    from clvmodels.output_files import atomic_path
    _exit_cleanly_on_sigterm()  # what the clvmodels script does first
    with atomic_path(Path(sys.argv[1])) as temp:
        temp.write_text("new, half written")
        print("ready", flush=True)
        time.sleep(60)
""")


@pytest.mark.skipif(os.name == "nt", reason="SIGTERM delivery is POSIX")
def test_a_terminated_run_keeps_the_old_file_and_removes_its_temporary_file(tmp_path):
    target = tmp_path / "scores.csv"
    target.write_text("old\n")
    proc = subprocess.Popen([sys.executable, "-c", TERM_SCRIPT, str(target)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert temp_files(tmp_path) != []  # the write is under way
        proc.terminate()
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.stdout.close()
    assert target.read_text() == "old\n" and temp_files(tmp_path) == []


CONCURRENT_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import pandas as pd
    from clvmodels.cli import write_table
    target, tag, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    frame = pd.DataFrame({"clv": range(30_000), "run": tag},
                         index=pd.Index([f"{tag}{i}" for i in range(30_000)], name="customer_id"))
    (go.parent / f"ready-{tag}").touch()
    while not go.exists():
        time.sleep(0.001)
    write_table(frame, target)
""")


def test_two_processes_writing_the_same_scores_leave_one_complete_file(tmp_path):
    target, go = tmp_path / "scores.csv", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for trial in range(3):
        for name in ("go", "ready-a", "ready-b"):
            (tmp_path / name).unlink(missing_ok=True)
        procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_SCRIPT, str(target), tag, str(go)], env=env)
                 for tag in ("a", "b")]
        deadline = time.monotonic() + 120
        while not ((tmp_path / "ready-a").exists() and (tmp_path / "ready-b").exists()):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "a writer did not start"
            time.sleep(0.01)
        go.touch()  # both have built their tables: they write at the same moment
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
        frame = pd.read_csv(target)
        assert len(frame) == 30_000, f"trial {trial}: {len(frame)} rows"
        assert frame["run"].nunique() == 1 and frame["clv"].tolist() == list(range(30_000))
    assert temp_files(tmp_path) == []


def test_threads_writing_the_same_pair_never_mix_their_files(tmp_path):
    html, csv = tmp_path / "r.html", tmp_path / "r.customers.csv"
    barrier = threading.Barrier(8)
    errors = []

    def write(tag: str) -> None:
        try:
            barrier.wait()
            with atomic_paths(csv, html) as (c, h):
                c.write_text(tag * 50_000)
                h.write_text(tag * 20_000)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    for _ in range(5):
        threads = [threading.Thread(target=write, args=(t,)) for t in "abcdefgh"]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert errors == []
        c, h = csv.read_text(), html.read_text()
        assert len(set(c)) == 1 and c == c[0] * 50_000 and h == c[0] * 20_000  # complete, and from the same run
    assert temp_files(tmp_path) == []


def test_written_files_get_the_usual_permissions_not_the_temporary_files_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        fresh = write_text_atomic(tmp_path / "new.txt", "x")
        assert fresh.stat().st_mode & 0o777 == 0o644
        kept = tmp_path / "kept.txt"
        kept.write_text("old")
        kept.chmod(0o640)
        write_text_atomic(kept, "new")
        assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_text() == "new"
    finally:
        os.umask(old)


def test_the_temporary_file_keeps_the_extension_so_writers_choose_the_format_as_for_the_final_name(tmp_path):
    target = tmp_path / "scores.csv.gz"
    frame = pd.DataFrame({"clv": [1.5, 2.5]})
    with atomic_path(target) as temp:
        frame.to_csv(temp, index=False)  # pandas infers gzip from the name
    assert target.read_bytes()[:2] == b"\x1f\x8b"
    pd.testing.assert_frame_equal(pd.read_csv(target), frame)


def test_overwrite_false_refuses_an_existing_file_and_keeps_it(tmp_path):
    target = tmp_path / "m.json"
    target.write_text("old")
    with pytest.raises(OutputExistsError, match=r"'.*m\.json' already exists"):
        write_text_atomic(target, "new", overwrite=False)
    assert target.read_text() == "old" and temp_files(tmp_path) == []


def test_overwrite_false_on_a_pair_moves_neither_file_when_one_exists(tmp_path):
    (tmp_path / "r.html").write_text("old html")
    with pytest.raises(OutputExistsError, match=r"r\.html"):
        with atomic_paths(tmp_path / "r.customers.csv", tmp_path / "r.html", overwrite=False) as (c, h):
            c.write_text("new csv")
            h.write_text("new html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]
    assert (tmp_path / "r.html").read_text() == "old html"


def test_without_overwrite_two_concurrent_writers_of_a_new_file_give_one_winner_and_one_refusal(tmp_path):
    target = tmp_path / "new.csv"
    barrier = threading.Barrier(2)
    outcomes = {}

    def write(tag: str) -> None:
        barrier.wait()
        try:
            write_text_atomic(target, tag * 100_000, overwrite=False)
            outcomes[tag] = "written"
        except OutputExistsError as exc:
            outcomes[tag] = exc.path

    for _ in range(5):
        target.unlink(missing_ok=True)
        threads = [threading.Thread(target=write, args=(t,)) for t in "ab"]
        [t.start() for t in threads]
        [t.join() for t in threads]
        winner = [t for t, o in outcomes.items() if o == "written"]
        assert len(winner) == 1 and outcomes[{"a": "b", "b": "a"}[winner[0]]] == str(target)
        assert target.read_text() == winner[0] * 100_000
    assert temp_files(tmp_path) == []


def test_a_file_that_appears_during_the_work_is_refused_by_the_cli_naming_force(tmp_path):
    target = tmp_path / "s.csv"
    target.write_text("someone else's")
    with pytest.raises(cli.CliError, match=r"'.*s\.csv' already exists; pass --force"):
        cli.write_table(pd.DataFrame({"x": [1]}), target, overwrite=False)
    assert target.read_text() == "someone else's"


@pytest.mark.parametrize(("paths", "error", "message"), [
    (lambda d: [d / "x.csv", d / "x.csv"], ValueError, "same file twice"),
    (lambda d: [d], IsADirectoryError, "is a folder"),
    (lambda d: [d / "missing" / "x.csv"], FileNotFoundError, "does not exist"),
])
def test_atomic_paths_refuses_impossible_targets_by_name(tmp_path, paths, error, message):
    with pytest.raises(error, match=message):
        with atomic_paths(*paths(tmp_path)):
            pass
    assert temp_files(tmp_path) == []


# =========================================================================== B. strict JSON
@pytest.mark.parametrize(("payload", "field"), [
    ({"params": {"r": 0.2, "b": float("inf")}}, "params.b"),
    ({"cov": [[1.0, 0.0], [float("nan"), 1.0]]}, r"cov\[1\]\[0\]"),
    ({"params": {"a": np.float64("-inf")}}, "params.a"),
    ({"draws": np.array([1.0, np.nan])}, r"draws\[1\]"),
])
def test_strict_json_names_the_non_finite_field(payload, field):
    with pytest.raises(ValueError, match=f"field '{field}' is .*strict JSON"):
        strict_json(payload)


def test_strict_json_writes_null_only_where_allowed_and_converts_numpy():
    payload = {"params": {"r": np.float64(0.25)}, "se": {"r": np.nan}, "n": np.int64(3), "cov": np.eye(2),
               "shape": (1, 2)}
    out = strict_json(payload, null_ok={"se"})
    assert out == {"params": {"r": 0.25}, "se": {"r": None}, "n": 3, "cov": [[1.0, 0.0], [0.0, 1.0]],
                   "shape": [1, 2]}
    assert type(out["n"]) is int and type(out["params"]["r"]) is float
    assert strict_json({"x": [float("inf")]}, null_ok=True) == {"x": [None]}
    assert payload["se"]["r"] != payload["se"]["r"]  # the input is not modified (still NaN)


def test_strict_json_names_a_value_json_cannot_hold():
    with pytest.raises(TypeError, match="field 'fitted_at' holds a datetime"):
        import datetime

        strict_json({"fitted_at": datetime.datetime(2026, 1, 1)})


def test_write_json_atomic_output_parses_under_a_strict_reader_and_a_bad_payload_touches_nothing(tmp_path):
    target = tmp_path / "model.json"
    write_json_atomic(target, {"params": {"r": 0.25}, "se": {"r": float("nan")}}, null_ok={"se"})

    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    assert json.loads(target.read_text(), parse_constant=no_constants) == {"params": {"r": 0.25}, "se": {"r": None}}
    before = target.read_bytes()
    with pytest.raises(ValueError, match="params.r"):
        write_json_atomic(target, {"params": {"r": float("nan")}})
    assert target.read_bytes() == before and temp_files(tmp_path) == []


def test_demo_summary_json_is_strict(tmp_path):
    ok("demo", "--output", tmp_path / "out")
    for name in ("summary.json", "bgnbd.json", "gamma_gamma.json"):
        text = (tmp_path / "out" / name).read_text()
        json.loads(text, parse_constant=lambda c: pytest.fail(f"{name} holds the non-JSON constant {c}"))
    assert temp_files(tmp_path / "out") == []


# =========================================================================== C. no overwrite without --force
@pytest.mark.parametrize(("name", "args"), [
    ("s.csv", lambda p: ["summarize", "--dataset", "cdnow", "--output", p]),
    ("s.parquet", lambda p: ["summarize", "--dataset", "cdnow", "--output", p]),
    ("scores.json", lambda p: ["predict", "--dataset", "cdnow", "--output", p]),
    ("bg.json", lambda p: ["fit", "--dataset", "cdnow", "--save", p]),
    ("r.html", lambda p: ["report", "--dataset", "cdnow", "--output", p]),
    ("r.customers.csv", lambda p: ["report", "--dataset", "cdnow", "--output", p.with_name("r.html")]),
    ("forecast.csv", lambda p: ["demo", "--output", p.parent]),
    ("summary.json", lambda p: ["demo", "--output", p.parent]),
])
def test_the_cli_refuses_to_overwrite_without_force_naming_the_file_and_the_flag(tmp_path, name, args, monkeypatch):
    def no_fit(*_, **__):
        raise AssertionError("the command fitted a model before refusing its output")

    monkeypatch.setitem(cli.FIT_METHODS, "mle", no_fit)
    existing = tmp_path / name
    existing.write_text("precious")
    result = invoke(*args(existing))
    assert result.exit_code == 1, result.output
    line = result.stderr.strip()
    assert line.startswith("Error:") and "--force" in line and str(existing) in line, line
    assert existing.read_text() == "precious"


def test_force_overwrites_and_the_python_api_overwrites_by_default(tmp_path, nasty_summary, point_models):
    target = tmp_path / "s.csv"
    target.write_text("precious")
    ok("summarize", "--dataset", "cdnow", "--output", target, "--force")
    assert len(pd.read_csv(target)) == 2357
    bg, gg = point_models
    html = tmp_path / "r.html"
    clv.report(bg, gg, nasty_summary, html, top=3)
    first = (tmp_path / "r.customers.csv").read_bytes()
    clv.report(bg, gg, nasty_summary.iloc[:50], html, top=3)  # the API replaces the pair
    assert (tmp_path / "r.customers.csv").read_bytes() != first
    with pytest.raises(OutputExistsError, match="r.customers.csv"):
        clv.report(bg, gg, nasty_summary, html, top=3, overwrite=False)


def test_fit_save_with_force_replaces_the_model_file(tmp_path):
    target = tmp_path / "bg.json"
    ok("fit", "--dataset", "cdnow", "--save", target)
    target.write_text("{}")
    ok("fit", "--dataset", "cdnow", "--save", target, "--force")
    assert clv.load_model(target).spec.name == "bgnbd"
    assert temp_files(tmp_path) == []


def test_every_command_that_writes_documents_force():
    for name in ("summarize", "predict", "report", "fit", "demo"):
        assert "--force" in invoke(name, "--help").stdout, f"{name} --help does not show --force"


# =========================================================================== D. output checked before the work
@pytest.mark.parametrize(("args", "message"), [
    (lambda d: ["predict", "--dataset", "cdnow", "--output", d / "no-such-folder" / "s.csv"], "does not exist"),
    (lambda d: ["predict", "--dataset", "cdnow", "--output", d / "scores.xlsx"], ".csv, .parquet or .json"),
    (lambda d: ["predict", "--dataset", "cdnow", "--method", "mcmc", "--output", d / "typo" / "s.parquet"],
     "does not exist"),
    (lambda d: ["fit", "--dataset", "cdnow", "--method", "mcmc", "--save", d / "nope" / "bg.nc"], "does not exist"),
    pytest.param(lambda d: ["fit", "--dataset", "cdnow", "--save", "/sys/bg.json"], "Cannot write to the folder",
                 marks=pytest.mark.skipif(not os.path.isdir("/sys"), reason="needs a read-only folder (Linux /sys)")),
    (lambda d: ["report", "--dataset", "cdnow", "--output", d / "report.pdf"], "ending in .html or .htm"),
    (lambda d: ["report", "--dataset", "cdnow", "--method", "mcmc", "--output", d / "x" / "r.html"],
     "does not exist"),
    (lambda d: ["summarize", "--dataset", "cdnow", "--output", d / "a-file.csv" / "s.csv"], "which is a file"),
])
def test_a_bad_output_path_is_refused_before_fitting_or_sampling(tmp_path, monkeypatch, args, message):
    def no_fit(*_, **__):
        raise AssertionError("fitted before checking the output")

    for method in list(cli.FIT_METHODS):
        monkeypatch.setitem(cli.FIT_METHODS, method, no_fit)
    (tmp_path / "a-file.csv").write_text("x")
    argv = args(tmp_path)
    result = invoke(*argv)
    assert result.exit_code == 1, result.output
    assert message in result.stderr and "fitted before" not in result.stderr, result.stderr
    option = "--save" if "--save" in argv else "--output"
    assert option in result.stderr or "ending in" in result.stderr


def test_an_output_that_is_a_folder_is_named(tmp_path):
    (tmp_path / "scores.csv").mkdir()
    with pytest.raises(ValueError, match=r"'.*scores\.csv' \(given by --output\) is a folder"):
        check_output_path(tmp_path / "scores.csv")
    (tmp_path / "x.txt").write_text("x")
    result = invoke("demo", "--output", tmp_path / "x.txt")
    assert result.exit_code == 1 and "is a file" in result.stderr and "x.txt" in result.stderr


# =========================================================================== E. terminal
def test_summarize_prints_hostile_ids_literally(nasty_log):
    result = ok("summarize", nasty_log, "--calibration-end", CAL_END)
    out = result.stdout
    assert "[/bold]" in out  # printed, not read as a closing tag (which made summarize fail)
    assert ":fire:" in out and "\N{FIRE}" not in out
    assert "\x1b" not in out and "\\x1b[31mred" in out
    assert "$x^2$" in out


def test_tables_print_every_hostile_id_as_text(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that no cell wraps
    frame = pd.DataFrame({"clv": np.arange(len(NASTY_IDS), dtype=float), "segment": NASTY_IDS[::-1]},
                         index=pd.Index(NASTY_IDS, name="[red]customer"))
    cli._print_head(frame, "Top [blink]customers", rows=len(NASTY_IDS))
    out = capsys.readouterr().out
    assert "[link=https://evil.example]click[/link]" in out  # shown as text, not as a link
    assert "[red]customer" in out and "Top [blink]customers" in out
    assert "\x1b" not in out and out.count("\\x1b]8;;http://evil.example") == 2  # index and segment column


def test_on_a_colour_terminal_ids_still_send_no_escape_sequence(nasty_log, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    out = ok("summarize", nasty_log, "--calibration-end", CAL_END).stdout
    assert "\x1b[1m" in out or "\x1b[" in out  # Rich styles the table: this is a colour terminal
    assert "\x1b]8;" not in out  # no hyperlink, neither from [link=...] nor from the OSC 8 id
    assert "\x1b[31m" not in out  # the id's red never reaches the terminal


def test_predict_prints_hostile_top_customers_literally(nasty_log):
    out = ok("predict", nasty_log, "--calibration-end", CAL_END).stdout
    assert "+1" in out and "\x1b" not in out  # '+1' is among the top customers


def test_errors_and_notes_quoting_data_carry_no_escape_sequence(capsys):
    @cli.command("clvmodels hostile")
    def hostile() -> None:
        """Raise an error that quotes an id."""
        raise ValueError("Row of customer '\x1b]8;;http://evil.example\x1b\\id\x1b]8;;\x1b\\' is bad")

    try:
        result = invoke("hostile")
    finally:
        app.registered_commands.pop()
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr and "\\x1b]8;;http://evil.example" in result.stderr
    cli._note("customer '\x1b[2Jcleared' has T = 0")
    err = capsys.readouterr().err
    assert err == "Note: customer '\\x1b[2Jcleared' has T = 0\n"


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b[31mred", "\\x1b[31mred"),
    ("bell\x07", "bell\\x07"),
    ("two\nlines", "two\\nlines"),
    ("tab\there", "tab\\there"),
    ("csi\x9b2J", "csi\\x9b2J"),  # the 8-bit C1 form of ESC [
    ("del\x7f", "del\\x7f"),
    ("evil\u202egnp.exe", "evil\\u202egnp.exe"),  # right-to-left override
    ("Zoë [b]", "Zoë [b]"),  # ordinary text and brackets are kept (Text is not parsed as markup)
])
def test_terminal_text_shows_control_characters_as_visible_escapes(raw, shown):
    assert terminal_text(raw) == shown


def test_terminal_text_cuts_very_long_ids():
    assert terminal_text("x" * 500, max_length=10) == "x" * 9 + "…"


# =========================================================================== F. CSV formula neutralisation
@pytest.mark.parametrize("trigger", CSV_FORMULA_TRIGGERS)
def test_every_owasp_trigger_is_neutralised_with_a_leading_quote(trigger):
    value = f"{trigger}cmd|' /C calc'!A0"
    assert neutralize_csv_cell(value) == "'" + value
    assert restore_csv_cell(neutralize_csv_cell(value)) == value


@pytest.mark.parametrize("value", ["abc", "a=b", "C-12", "", "12", "1e5", 42, -5, -1.5, None, float("nan")])
def test_harmless_text_and_non_text_are_left_alone(value):
    out = neutralize_csv_cell(value)
    assert out is value or out == value


def test_neutralising_is_exactly_reversible_even_for_ids_that_start_with_a_quote():
    ids = ["'", "''", "'=x", "'plain", "=x", "-", "plain", "'-5"]
    neutral = [neutralize_csv_cell(i) for i in ids]
    assert [restore_csv_cell(n) for n in neutral] == ids
    assert len(set(neutral)) == len(ids)


def test_neutralize_csv_frame_changes_text_only_and_copies():
    frame = pd.DataFrame({"clv": [-1.5, 2.0], "count": [-3, 4], "segment": pd.Categorical(["@risk", "loyal"]),
                          "note": ["+x", "y"]}, index=pd.Index(["=1+1", "ok"], name="customer_id"))
    before = frame.copy()
    out = neutralize_csv_frame(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert out.index.tolist() == ["'=1+1", "ok"] and out.index.name == "customer_id"
    assert out["segment"].tolist() == ["'@risk", "loyal"] and out["note"].tolist() == ["'+x", "y"]
    assert out["clv"].tolist() == [-1.5, 2.0] and out["count"].tolist() == [-3, 4]


def test_numeric_ids_stay_numbers_in_csv(tmp_path):
    frame = pd.DataFrame({"clv": [1.0, -2.0]}, index=pd.Index([-7, 8], name="customer_id"))
    cli.write_table(frame, tmp_path / "s.csv")
    assert (tmp_path / "s.csv").read_text().splitlines()[1:] == ["-7,1.0", "8,-2.0"]


def test_predict_neutralises_ids_in_csv_and_keeps_them_exact_in_parquet_and_json(tmp_path, nasty_log):
    for suffix in (".csv", ".parquet", ".json"):
        ok("predict", nasty_log, "--calibration-end", CAL_END, "--output", tmp_path / f"s{suffix}")
    csv = pd.read_csv(tmp_path / "s.csv", dtype={"customer_id": str}, keep_default_na=False)
    parquet = pd.read_parquet(tmp_path / "s.parquet")
    records = pd.DataFrame(json.loads((tmp_path / "s.json").read_text()))
    exact = set(NASTY_IDS)
    assert exact <= set(parquet.index) and exact <= set(records["customer_id"])
    csv_ids = set(csv["customer_id"])
    for nasty in NASTY_IDS:
        if nasty.startswith(("=", "+", "-", "@")):
            assert "'" + nasty in csv_ids and nasty not in csv_ids
    assert "$x^2$" in csv_ids and "[/bold]" in csv_ids  # only formula starts are changed
    assert {restore_csv_cell(i) for i in csv_ids} == set(parquet.index)
    np.testing.assert_allclose(csv["clv_12m"].to_numpy(), parquet["clv_12m"].to_numpy(), rtol=1e-12)


def test_report_csv_is_neutralised_and_the_page_states_its_hash(tmp_path, nasty_summary, point_models):
    bg, gg = point_models
    files = clv.report(bg, gg, nasty_summary, tmp_path / "r.html", top=20)
    data = files.customers.read_bytes()
    ids = set(pd.read_csv(io.BytesIO(data), dtype={"customer_id": str}, keep_default_na=False)["customer_id"])
    assert "'+1" in ids and "'-5" in ids and "+1" not in ids
    assert f"SHA-256 {hashlib.sha256(data).hexdigest()}" in files.html.read_text(encoding="utf-8")


def test_demo_forecast_csv_has_the_same_numbers_as_before(tmp_path):
    ok("demo", "--output", tmp_path / "out")
    forecast = pd.read_csv(tmp_path / "out" / "forecast.csv", index_col="customer_id")
    assert len(forecast) == 2357 and forecast.index.dtype.kind == "i"  # numeric CDNOW ids untouched


# =========================================================================== G. figures
@pytest.fixture
def agg():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def _pixels(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def test_top_customers_figure_draws_mathtext_ids_literally(agg):
    ids = ["$x^2$", "$\\frac$", "a$b", "$$"]
    values = pd.Series([4.0, 3.0, 2.0, 1.0], index=pd.Index(ids, name="customer $id$"))
    ax = clv.plotting.plot_top_customers(values, n=4, label="CLV in $")
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png")  # an invalid formula used to fail the figure here
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == sorted(ids)
    assert ax.get_ylabel() == "customer $id$" and ax.get_title().endswith("CLV in $")
    texts = [*ax.get_yticklabels(), ax.yaxis.label, ax.xaxis.label, ax.title]
    assert not any(t.get_parse_math() for t in texts)


def test_an_unescaped_mathtext_id_does_fail_a_figure_so_the_test_above_can_fail(agg):
    fig, ax = agg.subplots()
    ax.set_yticks([0], ["$\\frac$"])
    with pytest.raises(ValueError):
        fig.savefig(io.BytesIO(), format="png")


def test_literal_label_renders_like_text_with_math_parsing_off(agg):
    for text in ["$x^2$ and $y$", "price $5", "a\\$b"]:
        fig1 = agg.figure(figsize=(3, 1))
        fig1.text(0.1, 0.5, literal_label(text))
        fig2 = agg.figure(figsize=(3, 1))
        fig2.text(0.1, 0.5, text, parse_math=False)
        assert np.array_equal(_pixels(fig1), _pixels(fig2)), text


def test_segment_names_with_dollars_are_drawn_literally(agg):
    table = pd.DataFrame({"customers": [3, 5], "equity_share": [0.4, 0.6]}, index=["$big$ spenders", "$\\bad"])
    ax = clv.plotting.plot_segments(table)
    ax.figure.savefig(io.BytesIO(), format="png")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["$big$ spenders", "$\\bad"]


def test_report_with_mathtext_ids_draws_every_figure(tmp_path, nasty_summary, point_models):
    bg, gg = point_models
    summary = nasty_summary.copy()
    summary.attrs = dict(nasty_summary.attrs)
    summary.loc["$\\frac$", "frequency"] = summary["frequency"].max() + 5  # the top customer: on the top figure
    files = clv.report(bg, gg, summary, tmp_path / "r.html", top=20)
    page = files.html.read_text(encoding="utf-8")
    assert "could not be drawn" not in page
    assert "$\\frac$" in page  # in the top-customers table, HTML-escaped where needed


# =========================================================================== H. progress
def test_every_slow_stage_of_predict_says_so_in_one_line_on_stderr(tmp_path, monkeypatch, nasty_log):
    monkeypatch.setattr(cli, "PROGRESS_AFTER_SECONDS", 0.0)
    result = ok("predict", nasty_log, "--calibration-end", CAL_END, "--output", tmp_path / "s.csv")
    lines = [line for line in result.stderr.splitlines() if line.startswith("clvmodels: ")]
    assert [line.split()[1] for line in lines] == ["Reading", "Fitting", "Scoring", "Writing"], result.stderr
    assert "Scoring 300 customers" in lines[2] and str(tmp_path / "s.csv") in lines[3]


def test_slow_stages_of_report_say_so_including_sampling(tmp_path, monkeypatch, nasty_log):
    monkeypatch.setattr(cli, "PROGRESS_AFTER_SECONDS", 0.0)
    result = ok("report", nasty_log, "--calibration-end", CAL_END, "--output", tmp_path / "r.html")
    lines = [line for line in result.stderr.splitlines() if line.startswith("clvmodels: ")]
    assert [line.split()[1] for line in lines] == ["Summarising", "Fitting", "Building"], result.stderr
    assert cli._models_stage("bgnbd", "mcmc", None, None) == "Sampling (mcmc) the bgnbd model and the spend model"


def test_quick_work_stays_quiet_off_a_terminal(tmp_path, nasty_log):
    assert cli.PROGRESS_AFTER_SECONDS >= 5
    result = ok("predict", nasty_log, "--calibration-end", CAL_END, "--output", tmp_path / "s.csv")
    assert "clvmodels:" not in result.stderr


def test_a_stage_announces_itself_once_only_when_it_outlasts_the_threshold(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_show_progress", lambda: False)
    monkeypatch.setattr(cli, "PROGRESS_AFTER_SECONDS", 0.05)
    with cli._stage("Sampling the posterior"):
        time.sleep(0.5)
    with cli._stage("Quick step"):
        pass
    time.sleep(0.2)  # a timer that was not cancelled would print by now
    assert capsys.readouterr().err == "clvmodels: Sampling the posterior...\n"


def test_on_a_terminal_stages_show_a_spinner_and_print_no_log_line(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_show_progress", lambda: True)
    monkeypatch.setattr(cli, "PROGRESS_AFTER_SECONDS", 0.0)
    with cli._stage("Building the report"):
        time.sleep(0.05)
    with cli._stage("Sampling", live=False):  # PyMC shows its own bar: no second live display
        with cli._progress() as progress:
            progress.add_task("chunk", total=1)
    assert "clvmodels: " not in capsys.readouterr().err
