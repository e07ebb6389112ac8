"""clvmodels: probabilistic customer-lifetime-value models.

Transaction logs to per-customer summaries (:func:`rfm_summary`), "buy till you die" models
fitted by maximum likelihood (:class:`BetaGeo`, :class:`GammaGamma`), per-customer forecasts
and discounted lifetime value (:func:`lifetime_value`, :func:`customer_equity`).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("clvmodels")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from clvmodels import datasets
from clvmodels.data import rfm_summary
from clvmodels.errors import ClvDataError, ConvergenceError, ConvergenceWarning, DataWarning, ModelFileError, NotFittedError
from clvmodels.errors import UnitMismatchError
from clvmodels.units import with_unit
from clvmodels.models import REGISTRY, BetaGeo, GammaGamma, get_model
from clvmodels.models import BetaGeoBetaBinom, ModifiedBetaGeo, ParetoNBD, ShiftedBetaGeo
from clvmodels.persistence import load_model
from clvmodels.compare import compare, likelihood_ratio_test  # noqa: E402 (functions; module is clvmodels.compare)
from clvmodels.value import customer_equity, lifetime_value
from clvmodels import evaluation, segments  # holdout checks and segments, as clv.evaluation.*, clv.segments.*
from clvmodels.report import report  # the function; the package is clvmodels.report.builder

__all__ = [
    "__version__",
    "datasets",
    "rfm_summary",
    "with_unit",
    "BetaGeo",
    "GammaGamma",
    "ParetoNBD",
    "ModifiedBetaGeo",
    "BetaGeoBetaBinom",
    "ShiftedBetaGeo",
    "compare",
    "likelihood_ratio_test",
    "REGISTRY",
    "get_model",
    "load_model",
    "lifetime_value",
    "customer_equity",
    "evaluation",
    "segments",
    "report",
    "ClvDataError",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataWarning",
    "ModelFileError",
    "NotFittedError",
    "UnitMismatchError",
]
