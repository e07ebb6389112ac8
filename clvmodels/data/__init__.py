"""Transaction logs in, validated per-customer summaries out."""

from clvmodels.data.compress import compress
from clvmodels.data.covariates import join_covariates
from clvmodels.data.prepare import DataQuality, prepare_transactions
from clvmodels.data.summary import rfm_summary
from clvmodels.data.validation import validate_summary

__all__ = ["rfm_summary", "join_covariates", "prepare_transactions", "DataQuality", "compress", "validate_summary"]
