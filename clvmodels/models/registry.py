"""The model registry: one line per model, and lookup by name or alias."""

from __future__ import annotations

from clvmodels.models import bdw, bgbb, bgnbd, cnbdk, gamma_gamma, ggompertz_nbd, mbgnbd, pareto_nbd, sbg
from clvmodels.models.correlation import with_correlation
from clvmodels.models.spec import ModelSpec

__all__ = ["SPECS", "get_spec", "with_variant"]

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
        cnbdk.BG_SPEC,
        cnbdk.MBG_SPEC,
    )
}

#: Models whose structure has a whole-number order in its variant (``"k3"``: Erlang-3 purchases).
_ORDERED = {cnbdk.BG_SPEC.name, cnbdk.MBG_SPEC.name}


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


def with_variant(spec: ModelSpec, variant: str | None) -> ModelSpec:
    """The registered ``spec`` in the structural variant a model file names.

    ``None`` or ``""`` is the plain model, ``"correlation"`` correlated rates
    (:func:`~clvmodels.models.correlation.with_correlation`), ``"k<n>"`` the Erlang order of
    the (M)BG/CNBD-k models, which every such file must state. A ``ValueError`` says what
    the variant may be.

    Examples
    --------
    >>> with_variant(get_spec("mbgcnbd"), "k3").key
    'mbgcnbd+k3'
    >>> with_variant(get_spec("bgnbd"), "k3")
    Traceback (most recent call last):
    ...
    ValueError: the variant of a BG/NBD model must be null or 'correlation'. Got 'k3' instead.
    """
    if spec.name in _ORDERED:
        digits = variant[1:] if isinstance(variant, str) and variant.startswith("k") else ""
        if not (digits.isdigit() and digits.isascii() and int(digits) >= 1):
            raise ValueError(f"the variant of a {spec.title} model must be 'k<n>', its Erlang order n >= 1 "
                             f"('k2'). Got {variant!r} instead.")
        return cnbdk.with_k(spec, int(digits))
    if variant in (None, ""):
        return spec
    if variant != "correlation":
        raise ValueError(f"the variant of a {spec.title} model must be null or 'correlation'. Got {variant!r} instead.")
    return with_correlation(spec)
