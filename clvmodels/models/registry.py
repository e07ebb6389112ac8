"""The model registry: one line per model, and lookup by name or alias."""

from __future__ import annotations

from clvmodels.models import bdw, bgbb, bgnbd, gamma_gamma, ggompertz_nbd, mbgnbd, pareto_nbd, sbg
from clvmodels.models.spec import ModelSpec

__all__ = ["SPECS", "get_spec"]

#: Every model's spec by its ``name`` (what JSON files and the CLI call it).
SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        bgnbd.SPEC,
        gamma_gamma.SPEC,
        pareto_nbd.SPEC,
        mbgnbd.SPEC,
        bgbb.SPEC,
        sbg.SPEC,
        bdw.SPEC,
        ggompertz_nbd.SPEC,
    )
}


def _key(name: str) -> str:
    return str(name).strip().lower().replace("-", "_").replace("/", "").replace(" ", "_")


def get_spec(name: str) -> ModelSpec:
    """The spec registered under ``name`` or one of its aliases (case, ``-`` and ``/`` ignored).

    Examples
    --------
    >>> get_spec("BG/NBD").title
    'BG/NBD'
    >>> get_spec("pnbd").name
    'pareto_nbd'
    """
    key = _key(name)
    for spec in SPECS.values():
        if key == spec.name or key in spec.aliases or key == _key(spec.title):
            return spec
    raise ValueError(f"Unknown model {name!r}; choose one of {', '.join(sorted(SPECS))}.")
