"""The self-contained HTML report (Jinja2 templates in ``templates/``, shipped as package data).

``clvmodels.report(...)`` is :func:`clvmodels.report.builder.report`.
"""

from clvmodels.report.builder import ReportFiles, customer_table, report

__all__ = ["report", "ReportFiles", "customer_table"]
