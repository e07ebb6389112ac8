"""clvmodels: probabilistic customer-lifetime-value models.

Transaction logs to per-customer summaries (:func:`rfm_summary`), "buy till you die" models
fitted by maximum likelihood (:class:`BetaGeo`, :class:`GammaGamma`), per-customer forecasts
and discounted lifetime value (:func:`lifetime_value`, :func:`customer_equity`).
"""

from clvmodels._version import __version__
from clvmodels import datasets
from clvmodels.data import DataQuality, prepare_transactions, rfm_summary
from clvmodels.errors import ClvDataError, ConvergenceError, ConvergenceWarning, DataWarning, ModelFileError, NotFittedError
from clvmodels.errors import IdentificationWarning, UnitMismatchError
from clvmodels.data.attrs import with_unit
from clvmodels.estimators import REGISTRY, BetaGeo, GammaGamma, get_model, load_model
from clvmodels.estimators import BetaGeoBetaBinom, ModifiedBetaGeo, ParetoNBD, ShiftedBetaGeo
from clvmodels.fit import PointFit, Posterior
from clvmodels.compare import compare, likelihood_ratio_test  # noqa: E402 (functions; module is clvmodels.compare)
from clvmodels.value import clv_table, customer_equity, lifetime_value
from clvmodels.predictive import predictive_interval, purchase_pmf, value_interval
from clvmodels.alive_path import alive_path  # the function; the module is clvmodels.alive_path
from clvmodels import identification  # clv.identification.check(model): what the data cannot tell
from clvmodels import evaluation, segments  # holdout checks and segments, as clv.evaluation.*, clv.segments.*
from clvmodels.report import report  # the function; the package is clvmodels.report.builder

__all__ = [
    "__version__",
    "datasets",
    "rfm_summary",
    "prepare_transactions",
    "DataQuality",
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
    "clv_table",
    "predictive_interval",
    "purchase_pmf",
    "value_interval",
    "alive_path",
    "PointFit",
    "Posterior",
    "evaluation",
    "identification",
    "segments",
    "report",
    "ClvDataError",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataWarning",
    "IdentificationWarning",
    "ModelFileError",
    "NotFittedError",
    "UnitMismatchError",
]
