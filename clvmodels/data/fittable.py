"""Which summary rows a model can be fitted on (stricter than what it can predict for)."""

from __future__ import annotations

import pandas as pd

__all__ = ["fittable_rows"]


def fittable_rows(spec, summary: pd.DataFrame) -> tuple[pd.DataFrame, int, str]:
    """The rows ``spec`` can be fitted on, how many were left out and why.

    Models whose fit needs stricter data than prediction declare it in their spec
    (``DataField.fit_kind``: Gamma-Gamma fits repeat buyers with a positive mean spend only).
    The spec is read by duck typing; the summary is never modified.

    Examples
    --------
    >>> from clvmodels.models.gamma_gamma import SPEC
    >>> s = pd.DataFrame({"frequency": [0, 2], "monetary_value": [0.0, 15.0]}, index=["a", "b"])
    >>> rows, n_out, why = fittable_rows(SPEC, s)
    >>> rows.index.tolist(), n_out, why
    (['b'], 1, 'frequency = 0 or monetary_value = 0')
    """
    keep = None
    reasons = []
    for fld in spec.data:
        if fld.fit_kind in ("positive_count", "positive") and fld.name in summary.columns:
            ok = pd.to_numeric(summary[fld.name], errors="coerce") > 0
            keep = ok if keep is None else keep & ok
            reasons.append(f"{fld.name} = 0")
    if keep is None:
        return summary, 0, ""
    return summary[keep], int((~keep).sum()), " or ".join(reasons)
