"""Model registry: one module per model, one line here per model."""

from clvmodels.models.base import CLVModel, SpendModel, TransactionModel
from clvmodels.models.bgnbd import BetaGeo
from clvmodels.models.gamma_gamma import GammaGamma
from clvmodels.models.pareto_nbd import ParetoNBD
from clvmodels.models.mbgnbd import ModifiedBetaGeo
from clvmodels.models.bgbb import BetaGeoBetaBinom
from clvmodels.models.sbg import ShiftedBetaGeo

#: Every model class by its ``spec.name`` (what JSON files and the CLI call it).
REGISTRY: dict[str, type[CLVModel]] = {
    cls.spec.name: cls
    for cls in (
        BetaGeo,
        GammaGamma,
        ParetoNBD,
        ModifiedBetaGeo,
        BetaGeoBetaBinom,
        ShiftedBetaGeo,
    )
}

__all__ = [
    "CLVModel", "TransactionModel", "SpendModel", "BetaGeo", "GammaGamma", "REGISTRY", "get_model",
    "ParetoNBD", "ModifiedBetaGeo", "BetaGeoBetaBinom", "ShiftedBetaGeo",
]


def get_model(name: str) -> type[CLVModel]:
    """The model class registered under ``name`` (``"bgnbd"``, ``"gamma_gamma"``, ...).

    Examples
    --------
    >>> get_model("bgnbd").__name__
    'BetaGeo'
    """
    key = name.strip().lower().replace("-", "_").replace("/", "")
    aliases = {"bg_nbd": "bgnbd", "betageo": "bgnbd", "gammagamma": "gamma_gamma", "gg": "gamma_gamma",
               "paretonbd": "pareto_nbd", "pnbd": "pareto_nbd", "mbg_nbd": "mbgnbd", "bg_bb": "bgbb",
               "shifted_beta_geometric": "sbg"}
    key = aliases.get(key, key)
    if key not in REGISTRY:
        raise ValueError(f"Unknown model {name!r}; choose one of {', '.join(sorted(REGISTRY))}.")
    return REGISTRY[key]
