"""The self-contained HTML report (Jinja2 templates in ``templates/``, shipped as package data).

``clvmodels.report(...)`` is :func:`clvmodels.reporting.builder.report`.
"""

from clvmodels.reporting.builder import ReportFiles, report
from clvmodels.value import score_table as customer_table  # the report's customer table, computed in clvmodels.value

__all__ = ["report", "ReportFiles", "customer_table"]
