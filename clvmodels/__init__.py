"""clvmodels: probabilistic customer-lifetime-value models.

Transaction logs to per-customer summaries (:func:`rfm_summary`), "buy till you die" models
fitted by maximum likelihood (:class:`BetaGeo`, :class:`GammaGamma`), per-customer forecasts
and discounted lifetime value (:func:`lifetime_value`, :func:`customer_equity`).

The names below are imported on first use (PEP 562): ``import clvmodels`` itself loads
neither SciPy nor PyTensor, PyMC or matplotlib, so that ``clvmodels --help`` answers at once.
No public function shares its name with a submodule (``compare`` lives in
:mod:`clvmodels.comparison`, ``alive_path`` in :mod:`clvmodels.alive_history`, ``report`` in
:mod:`clvmodels.reporting`): importing a submodule binds it as an attribute of the package,
which would otherwise replace the function of that name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from clvmodels._version import __version__
# the exceptions are plain classes (no imports): loaded eagerly, so ``except clv.ClvDataError`` costs nothing
from clvmodels.errors import ClvDataError, ConvergenceError, ConvergenceWarning, DataWarning, ModelFileError
from clvmodels.errors import IdentificationWarning, NotFittedError, UnitMismatchError

#: Public name -> module that defines it; a module's own name maps to the module itself.
_LAZY: dict[str, str] = {
    "datasets": "clvmodels.datasets",
    "rfm_summary": "clvmodels.data",
    "join_covariates": "clvmodels.data",
    "dynamic_covariates": "clvmodels.data.dynamic_covariates",
    "DynamicCovariates": "clvmodels.data.dynamic_covariates",
    "DynamicParetoNBD": "clvmodels.dynamic",
    "HierarchicalParetoNBD": "clvmodels.hierarchical",
    "ParetoGGG": "clvmodels.pareto_ggg",
    "prepare_transactions": "clvmodels.data",
    "DataQuality": "clvmodels.data",
    "with_unit": "clvmodels.data.attrs",
    "BetaGeo": "clvmodels.estimators",
    "GammaGamma": "clvmodels.estimators",
    "ParetoNBD": "clvmodels.estimators",
    "ModifiedBetaGeo": "clvmodels.estimators",
    "BetaGeoBetaBinom": "clvmodels.estimators",
    "ShiftedBetaGeo": "clvmodels.estimators",
    "BetaDiscreteWeibull": "clvmodels.estimators",
    "GGompertzNBD": "clvmodels.estimators",
    "BetaGeoCNBD": "clvmodels.estimators",
    "ModifiedBetaGeoCNBD": "clvmodels.estimators",
    "REGISTRY": "clvmodels.estimators",
    "get_model": "clvmodels.estimators",
    "load_model": "clvmodels.estimators",
    "compare": "clvmodels.comparison",
    "likelihood_ratio_test": "clvmodels.comparison",
    "lifetime_value": "clvmodels.value",
    "customer_equity": "clvmodels.value",
    "clv_table": "clvmodels.value",
    "predictive_interval": "clvmodels.predictive",
    "purchase_pmf": "clvmodels.predictive",
    "value_interval": "clvmodels.predictive",
    "alive_path": "clvmodels.alive_history",
    "PointFit": "clvmodels.fit",
    "Posterior": "clvmodels.fit",
    "evaluation": "clvmodels.evaluation",
    "identification": "clvmodels.identification",  # clv.identification.check(model): what the data cannot tell
    "segments": "clvmodels.segments",
    "report": "clvmodels.reporting",
}

__all__ = [
    "__version__",
    *_LAZY,
    "ClvDataError",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataWarning",
    "IdentificationWarning",
    "ModelFileError",
    "NotFittedError",
    "UnitMismatchError",
]

if TYPE_CHECKING:  # the same names for type checkers, IDEs and the API docs
    from clvmodels import datasets, evaluation, identification, segments
    from clvmodels.alive_history import alive_path
    from clvmodels.comparison import compare, likelihood_ratio_test
    from clvmodels.data import DataQuality, join_covariates, prepare_transactions, rfm_summary
    from clvmodels.data.attrs import with_unit
    from clvmodels.estimators import REGISTRY, BetaGeo, BetaGeoBetaBinom, GammaGamma, ModifiedBetaGeo, ParetoNBD
    from clvmodels.estimators import BetaDiscreteWeibull, GGompertzNBD, ShiftedBetaGeo, get_model, load_model
    from clvmodels.estimators import BetaGeoCNBD, ModifiedBetaGeoCNBD
    from clvmodels.data.dynamic_covariates import DynamicCovariates, dynamic_covariates
    from clvmodels.dynamic import DynamicParetoNBD
    from clvmodels.hierarchical import HierarchicalParetoNBD
    from clvmodels.pareto_ggg import ParetoGGG
    from clvmodels.fit import PointFit, Posterior
    from clvmodels.predictive import predictive_interval, purchase_pmf, value_interval
    from clvmodels.reporting import report
    from clvmodels.value import clv_table, customer_equity, lifetime_value


def __getattr__(name: str) -> Any:
    """Import a public name on first use, and any submodule as ``clvmodels.<name>`` (``clv.value``)."""
    target = _LAZY.get(name)
    if target is None:
        if name.startswith("_"):
            raise AttributeError(f"module 'clvmodels' has no attribute {name!r}")
        try:
            # submodules were attributes of the package when it imported everything; they stay reachable
            return importlib.import_module(f"clvmodels.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"clvmodels.{name}":
                raise  # the submodule exists but one of its own imports is missing
            raise AttributeError(f"module 'clvmodels' has no attribute {name!r}") from None
    module = importlib.import_module(target)
    value = module if target == f"clvmodels.{name}" else getattr(module, name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
