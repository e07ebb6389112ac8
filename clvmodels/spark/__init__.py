"""clvmodels on Apache Spark: summaries, fits and scores of customer bases on a cluster.

``pip install "clvmodels[spark]"`` (pyspark >= 4); the executors need clvmodels installed
too. :func:`rfm_summary` builds the customer summary on the executors with the definitions
of :func:`clvmodels.rfm_summary`; :func:`fit` collects only the distinct sufficient
statistics and fits with the usual engines; :func:`score` computes per-customer forecasts
and CLV on the executors from the fit as plain data. See docs/pages/spark.md.
"""

from clvmodels.spark.scoring import fit, model_from_payload, model_payload, score
from clvmodels.spark.summary import rfm_summary, summary_attrs, to_pandas

__all__ = ["rfm_summary", "to_pandas", "summary_attrs", "fit", "score", "model_payload", "model_from_payload"]
