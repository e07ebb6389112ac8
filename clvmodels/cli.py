"""The ``clvmodels`` command line.

``clvmodels demo`` runs the main job on the bundled CDNOW sample; ``clvmodels fit`` fits one
model to a transaction log (CSV or Parquet) or a bundled data set. The CLI only calls the
public API: it computes no model quantity itself.

Extending it
------------
- A new command is a function decorated with ``@command("clvmodels NAME ...example...")``
  (its docstring becomes the help, the example(s) the epilog) that reuses the option types below (``SourceArg``, ``DatasetOpt``,
  ``CustomerOpt``...) and the helpers :func:`load_transactions`, :func:`summarize` and
  :func:`fit_model`. Raise :class:`CliError` (or let a ``ValueError`` from the library
  through) for bad input: :class:`ClvGroup` turns it into one line on stderr and exit code 1,
  with the traceback only under ``--debug``.
- A new inference method is one entry in :data:`FIT_METHODS` (name -> function
  ``(model_class, summary) -> fitted model``); ``--method`` offers whatever is registered.
- A new model appears by itself: ``--model`` accepts every name in
  :data:`clvmodels.REGISTRY` (and the aliases of :func:`clvmodels.get_model`).
- A new bundled data set is one entry in :data:`DATASETS`.
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:  # the library is imported lazily so that ``--help`` stays instant
    import pandas as pd

    from clvmodels.models.base import CLVModel

__all__ = ["app", "main", "CliError", "DATASETS", "FIT_METHODS", "load_transactions", "summarize", "fit_model"]


class CliError(Exception):
    """A user error: shown as one line ``Error: <message>`` and exit code 1."""


class ClvGroup(TyperGroup):
    """Command group that reports errors in one line and accepts ``--debug`` anywhere."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        # ``--debug`` belongs to the group, but users type it after the command too
        args = list(args)
        end = args.index("--") if "--" in args else len(args)
        if "--debug" in args[:end]:
            args.remove("--debug")
            args.insert(0, "--debug")
        return super().parse_args(ctx, args)

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            # usage errors of the (possibly vendored) click carry their own exit code and display
            if hasattr(exc, "exit_code") or ctx.params.get("debug") or os.environ.get("CLVMODELS_DEBUG"):
                raise
            message = " ".join(str(exc).split()) or type(exc).__name__
            typer.echo(f"Error: {message} (run with --debug for the traceback)", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    name="clvmodels",
    cls=ClvGroup,
    help="Customer-lifetime-value models (BG/NBD, Gamma-Gamma, ...) from transaction logs.",
    epilog="Example: [bold]clvmodels demo --output clv-output[/bold]   (then: clvmodels fit --help)",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from clvmodels import __version__

        typer.echo(f"clvmodels {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", is_eager=True,
                                          callback=_print_version)] = False,
) -> None:
    """Customer-lifetime-value models (BG/NBD, Gamma-Gamma, ...) from transaction logs."""


def _unwrap(text: str) -> str:
    """Docstring paragraphs as single lines: Rich help keeps line breaks, the terminal wraps."""
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def command(*examples: str, name: str | None = None) -> Callable:
    """Register a command; its docstring is the help and ``examples`` (at least one) the epilog."""
    if not examples:
        raise TypeError("Every clvmodels command shows at least one example in its --help.")

    def register(fn: Callable) -> Callable:
        import inspect

        label = "Example" if len(examples) == 1 else "Examples"
        epilog = f"{label}:\n\n" + "\n\n".join(f"  [bold]{e}[/bold]" for e in examples)
        return app.command(name=name, help=_unwrap(inspect.getdoc(fn) or ""), epilog=epilog)(fn)

    return register


# --------------------------------------------------------------------------- data sources
@dataclass(frozen=True)
class Dataset:
    """A bundled transaction log with the conventions its published analyses use."""

    load: Callable[[], pd.DataFrame]
    description: str
    unit: str = "W"
    calibration_end: str | None = None
    columns: dict[str, str] = field(default_factory=lambda: {"customer": "customer_id", "date": "date",
                                                              "amount": "amount"})


def _cdnow(version: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from clvmodels.datasets import load_cdnow

        return load_cdnow(version)

    return load


#: Bundled data sets for ``--dataset``.
DATASETS: dict[str, Dataset] = {
    "cdnow": Dataset(_cdnow("sample"), "CDNOW sample, 2,357 customers (Fader, Hardie & Lee 2005)",
                     unit="W", calibration_end="1997-09-30"),
    "cdnow-master": Dataset(_cdnow("master"), "CDNOW master file, 23,570 customers",
                            unit="W", calibration_end="1997-09-30"),
}

_READERS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def _read_file(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise CliError(f"Transaction file '{path}' does not exist (or is not a file).")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".zip", ".xz", ".zst"):
        suffixes = suffixes[:-1]  # pandas decompresses CSV by extension
    kind = _READERS.get(suffixes[-1] if suffixes else "")
    if kind is None:
        raise CliError(
            f"Cannot tell the format of '{path}' from its extension; use .csv (optionally .gz), .tsv or .parquet."
        )
    if kind == "parquet":
        try:
            return pd.read_parquet(path)
        except ImportError:
            raise CliError("Reading Parquet needs pyarrow: pip install 'clvmodels[parquet]'.") from None
    return pd.read_csv(path, sep="\t" if kind == "tsv" else ",")


def load_transactions(source: Path | None, dataset: str | None) -> tuple[pd.DataFrame, Dataset | None]:
    """The transaction log from a file or a bundled data set (exactly one of the two)."""
    if (source is None) == (dataset is None):
        raise CliError("Give either a TRANSACTIONS file or --dataset NAME (e.g. --dataset cdnow), not both or neither.")
    if dataset is not None:
        key = dataset.strip().lower()
        if key not in DATASETS:
            raise CliError(f"Unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}.")
        return DATASETS[key].load(), DATASETS[key]
    return _read_file(Path(source)), None


def _check_columns(transactions: pd.DataFrame, **columns: str | None) -> None:
    """Name the missing column by its CLI option (the library's message names Python arguments)."""
    have = [str(c) for c in transactions.columns]
    for option, column in columns.items():
        if column is not None and column not in transactions.columns:
            raise CliError(
                f"The transaction log has no column '{column}' (given by --{option}); its columns are "
                f"{', '.join(repr(c) for c in have)}. Pass the right name with --{option} COLUMN."
            )


def summarize(
    transactions: pd.DataFrame,
    *,
    customer: str,
    date: str,
    amount: str | None,
    unit: str,
    calibration_end: str | None,
    observation_end: str | None = None,
) -> pd.DataFrame:
    """Per-customer summary through :func:`clvmodels.rfm_summary`; data warnings become notes on stderr."""
    from clvmodels import rfm_summary

    _check_columns(transactions, customer=customer, date=date, amount=amount)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = rfm_summary(transactions, customer, date, amount, unit=unit,
                              calibration_end=calibration_end, observation_end=observation_end)
    for w in caught:
        typer.echo(f"Note: {w.message}", err=True)
    return summary


# --------------------------------------------------------------------------- fitting
def _fit_mle(model_class: type[CLVModel], summary: pd.DataFrame) -> CLVModel:
    return model_class().fit(summary)


#: Inference methods for ``--method``: name -> ``(model_class, summary) -> fitted model``.
#: The Bayesian engine adds e.g. ``"mcmc"`` and ``"advi"`` here.
FIT_METHODS: dict[str, Callable[[type[CLVModel], pd.DataFrame], CLVModel]] = {"mle": _fit_mle}


def _fit_rows(model_class: type[CLVModel], summary: pd.DataFrame) -> tuple[pd.DataFrame, int, str]:
    """The rows a model can be fitted on, how many were left out and why.

    Models whose fit needs stricter data than prediction declare it in their spec
    (``DataField.fit_kind``; Gamma-Gamma fits repeat buyers only).
    """
    keep = None
    reasons = []
    for fld in model_class.spec.data:
        if fld.fit_kind == "positive_count" and fld.name in summary.columns:
            ok = summary[fld.name] > 0
            keep = ok if keep is None else keep & ok
            reasons.append(f"{fld.name} = 0")
    if keep is None:
        return summary, 0, ""
    return summary[keep], int((~keep).sum()), " or ".join(reasons)


def fit_model(model: str, summary: pd.DataFrame, method: str = "mle") -> tuple[CLVModel, dict[str, Any]]:
    """Fit the registered ``model`` on ``summary`` by ``method``; return it and facts about the fit."""
    from clvmodels.models import get_model

    try:
        model_class = get_model(model)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    fitter = FIT_METHODS.get(method.strip().lower())
    if fitter is None:
        raise CliError(f"Unknown or unavailable method {method!r}; available: {', '.join(FIT_METHODS)}.")
    missing = [c for c in model_class.spec.data_names if c not in summary.columns]
    if missing:
        hint = " (pass --amount COLUMN with the transaction values)" if "monetary_value" in missing else ""
        raise CliError(f"The {model_class.spec.title} model needs the summary column(s) {', '.join(missing)}{hint}.")
    rows, n_left_out, reason = _fit_rows(model_class, summary)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = fitter(model_class, rows)
    for w in caught:
        typer.echo(f"Note: {w.message}", err=True)
    facts: dict[str, Any] = {"method": method, "n_left_out": n_left_out}
    if n_left_out:
        facts["left_out_reason"] = (
            f"{n_left_out} of {len(summary)} customers left out of the fit ({reason}); "
            f"{model_class.spec.title} is fitted on the others"
        )
    return fitted, facts


def _plain(value: Any) -> Any:
    """JSON-ready copy: NumPy scalars to Python numbers, NaN and infinities to null (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # NumPy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def model_record(model: CLVModel, facts: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """One JSON-ready record of a fitted model: name, params, se, loglik, n_customers, converged, ..."""
    d = model.to_dict()
    record = {
        "model": d["model"],
        "title": model.spec.title,
        "params": d["params"],
        "se": d["se"],
        "loglik": d["loglik"],
        "n_customers": d["n_customers"],
        "converged": d["converged"],
        "unit": d["unit"],
        **(facts or {}),
        **extra,
    }
    return _plain(record)


# --------------------------------------------------------------------------- output helpers
def _console():
    from rich.console import Console

    return Console(stderr=False, highlight=False)


def _print_fit(console, model: CLVModel, facts: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"{model.spec.title} ({facts.get('method', 'mle')})", title_justify="left")
    s = model.summary()
    table.add_column("parameter")
    for col in s.columns:
        table.add_column(str(col), justify="right")
    for name, row in s.iterrows():
        table.add_row(str(name), *(f"{v:.4g}" for v in row))
    console.print(table)
    converged = "yes" if model.converged_ else "NO"
    console.print(f"log-likelihood {model.loglik_:.3f}   customers {model.n_customers_}   converged {converged}")
    if facts.get("left_out_reason"):
        console.print(facts["left_out_reason"])


# --------------------------------------------------------------------------- option types
SourceArg = Annotated[
    Path | None,
    typer.Argument(help="Transaction log: .csv (optionally .gz), .tsv or .parquet, one row per transaction.",
                   show_default=False, metavar="TRANSACTIONS"),
]
DatasetOpt = Annotated[
    str | None, typer.Option("--dataset", help="Use a bundled data set instead of a file: cdnow, cdnow-master.")
]
CustomerOpt = Annotated[str, typer.Option("--customer", help="Customer id column.")]
DateOpt = Annotated[str, typer.Option("--date", help="Transaction date column.")]
AmountOpt = Annotated[
    str | None,
    typer.Option("--amount", help="Transaction value column (needed for spend models). [default: amount if present]",
                 show_default=False),
]
UnitOpt = Annotated[
    str | None, typer.Option("--unit", help="Time unit: D, W, M or Y. [default: W]", show_default=False)
]
CalibrationOpt = Annotated[
    str | None,
    typer.Option("--calibration-end", help="Last date of the calibration period (YYYY-MM-DD). "
                 "[default: the data set's convention, else the last date in the log]", show_default=False),
]
MethodOpt = Annotated[str, typer.Option("--method", help="Inference method: mle (maximum likelihood); an unknown name lists those available.")]


def _source_defaults(tx: pd.DataFrame, ds: Dataset | None, amount: str | None, unit: str | None,
                     calibration_end: str | None) -> tuple[str | None, str, str | None]:
    if amount is None and "amount" in tx.columns:
        amount = "amount"
    unit = unit or (ds.unit if ds else "W")
    calibration_end = calibration_end or (ds.calibration_end if ds else None)
    return amount, unit, calibration_end


# --------------------------------------------------------------------------- commands
@command(
    "clvmodels fit --dataset cdnow --model bgnbd --json",
    "clvmodels fit transactions.csv --customer customer_id --date date --amount amount --unit W "
    "--calibration-end 1997-09-30 --model gamma-gamma --json",
)
def fit(
    transactions: SourceArg = None,
    dataset: DatasetOpt = None,
    customer: CustomerOpt = "customer_id",
    date: DateOpt = "date",
    amount: AmountOpt = None,
    unit: UnitOpt = None,
    calibration_end: CalibrationOpt = None,
    model: Annotated[str, typer.Option("--model", help="Model: bgnbd or gamma-gamma (any registered model).")]
    = "bgnbd",
    method: MethodOpt = "mle",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    save: Annotated[Path | None, typer.Option("--save", help="Also write the fitted model as JSON to this file.")]
    = None,
) -> None:
    """Fit one model to a transaction log and print its estimates.

    The log is summarised per customer (clvmodels.rfm_summary) up to --calibration-end and the
    model is fitted by --method. Spend models (gamma-gamma) are fitted on repeat buyers only;
    the output says how many customers were left out.
    """
    tx, ds = load_transactions(transactions, dataset)
    amount, unit, calibration_end = _source_defaults(tx, ds, amount, unit, calibration_end)
    summary = summarize(tx, customer=customer, date=date, amount=amount, unit=unit, calibration_end=calibration_end)
    fitted, facts = fit_model(model, summary, method)
    if save is not None:
        fitted.save(save)
    if as_json:
        record = model_record(fitted, facts, calibration_end=summary.attrs.get("calibration_end"),
                              source=str(transactions) if transactions else f"dataset:{dataset}")
        typer.echo(json.dumps(record, allow_nan=False))
        return
    _print_fit(_console(), fitted, facts)
    if save is not None:
        typer.echo(f"Model written to {save}")


@command("clvmodels demo --output clv-output --discount-rate 0.01")
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the output files (created if needed).")]
    = Path("clv-output"),
    discount_rate: Annotated[float, typer.Option("--discount-rate", help="Discount rate per month for the CLV.")]
    = 0.01,
    horizon: Annotated[int, typer.Option("--horizon", help="CLV horizon in months.")] = 12,
) -> None:
    """The main job on the bundled CDNOW sample, from raw log to customer equity.

    Summarises the log in weeks with calibration ending 1997-09-30, fits BG/NBD and
    Gamma-Gamma by maximum likelihood, and writes to --output: forecast.csv (per customer:
    frequency, recency, T, monetary_value, p_alive, expected purchases in the next 52 weeks,
    expected spend per purchase, discounted CLV over --horizon months), bgnbd.json and
    gamma_gamma.json (the fitted models) and summary.json (parameters, log-likelihoods,
    customer equity).
    """
    import pandas as pd

    from clvmodels import customer_equity, lifetime_value

    if not (math.isfinite(discount_rate) and discount_rate > -1):
        raise CliError(f"--discount-rate must be a rate per month > -1 (0.01 = 1 %). Got {discount_rate!r}.")
    if horizon < 1:
        raise CliError(f"--horizon must be a whole number of months >= 1. Got {horizon!r}.")
    console = _console()
    ds = DATASETS["cdnow"]
    tx = ds.load()
    summary = summarize(tx, customer="customer_id", date="date", amount="amount", unit=ds.unit,
                        calibration_end=ds.calibration_end)
    bg, bg_facts = fit_model("bgnbd", summary)
    gg, gg_facts = fit_model("gamma_gamma", summary)
    weeks = 52
    clv_col = f"clv_{horizon}m"
    forecast = pd.DataFrame({
        "frequency": summary["frequency"],
        "recency": summary["recency"],
        "T": summary["T"],
        "monetary_value": summary["monetary_value"],
        "p_alive": bg.probability_alive(summary),
        f"expected_purchases_{weeks}w": bg.expected_purchases(summary, t=weeks),
        "expected_spend": gg.expected_spend(summary),
        clv_col: lifetime_value(bg, gg, summary, horizon=horizon, unit="M", discount_rate=discount_rate),
    })
    equity = customer_equity(bg, gg, summary, horizon=horizon, unit="M", discount_rate=discount_rate)

    output.mkdir(parents=True, exist_ok=True)
    forecast.to_csv(output / "forecast.csv", float_format="%.6g")
    bg.save(output / "bgnbd.json")
    gg.save(output / "gamma_gamma.json")
    record = {
        "dataset": ds.description,
        "unit": ds.unit,
        "calibration_end": ds.calibration_end,
        "n_customers": int(len(summary)),
        "clv": {"horizon_months": horizon, "discount_rate_per_month": discount_rate, "margin": 1.0,
                "column": clv_col},
        "customer_equity": equity,
        "models": [model_record(bg, bg_facts), model_record(gg, gg_facts)],
        "files": ["forecast.csv", "bgnbd.json", "gamma_gamma.json", "summary.json"],
    }
    (output / "summary.json").write_text(json.dumps(_plain(record), indent=2, allow_nan=False))

    console.print(f"[bold]CDNOW sample[/bold]: {len(summary):,} customers, {len(tx):,} transactions, "
                  f"weeks, calibration to {ds.calibration_end}")
    _print_fit(console, bg, bg_facts)
    _print_fit(console, gg, gg_facts)
    console.print(f"Customer equity ({horizon}-month CLV, discount {discount_rate:.2%} per month, revenue): "
                  f"[bold]{equity:,.2f}[/bold]")
    console.print(f"Written to {output}/: forecast.csv ({len(forecast):,} customers), bgnbd.json, "
                  f"gamma_gamma.json, summary.json")


def main() -> None:
    """Entry point of the ``clvmodels`` script."""
    app(prog_name="clvmodels")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
