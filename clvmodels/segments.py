"""Segments analysts act on: RFM scores with named segments, CLV tiers, churn risk.

- :func:`rfm_scores` scores customers 1..q on recency, frequency and monetary value by
  quantile, from a transaction log or a summary, and names the segments;
  :func:`segment_summary` counts them (and sums their value).
- :func:`clv_tiers` / :func:`tier_summary`: the customer pyramid (platinum: top 1 % by CLV,
  gold: next 4 %, iron: next 15 %, lead: the rest, configurable), with counts, mean CLV and
  share of customer equity per tier.
- :func:`churn_risk` / :func:`churn_risk_summary`: customers whose P(alive) is below a
  threshold, with the expected value at risk.

Everything returns DataFrames indexed by customer (or by segment); the inputs are never
modified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from clvmodels import defaults
from clvmodels.checks import check_number
from clvmodels.data.summary import rfm_summary
from clvmodels.errors import ClvDataError

__all__ = [
    "DEFAULT_SEGMENTS",
    "DEFAULT_TIERS",
    "rfm_scores",
    "segment_summary",
    "clv_tiers",
    "tier_summary",
    "churn_risk",
    "churn_risk_summary",
]

#: Segment names from recency and frequency scores on the 1..5 scale: regular expressions on
#: the two-character string "RF", tried in order (the widely used RFM segment map).
DEFAULT_SEGMENTS: dict[str, str] = {
    r"5[4-5]": "champions",
    r"[3-4][4-5]": "loyal customers",
    r"[4-5][2-3]": "potential loyalists",
    r"51": "new customers",
    r"41": "promising",
    r"33": "need attention",
    r"3[1-2]": "about to sleep",
    r"[1-2]5": "can't lose them",
    r"[1-2][3-4]": "at risk",
    r"[1-2][1-2]": "hibernating",
}

#: The customer pyramid: share of customers per tier, from the top; ``None`` = the rest.
DEFAULT_TIERS: dict[str, float | None] = {"platinum": 0.01, "gold": 0.04, "iron": 0.15, "lead": None}


# --------------------------------------------------------------------------- RFM
def _quantile_score(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Score 1..len(edges)-1 from the share of customers with a strictly smaller value.

    Customers with equal values get equal scores (ties are never split by row order).
    """
    below = (values.rank(method="min").to_numpy() - 1.0) / len(values)
    # the tolerance keeps a share exactly on an edge (0.6 of 5 customers) out of float noise in the edges
    return np.searchsorted(edges[1:-1], below + 1e-9, side="right") + 1


def _quantile_edges(bins) -> np.ndarray:
    if np.ndim(bins) == 0:
        q = int(bins)
        if q != bins or q < 2:
            raise ValueError(f"The 'bins' parameter must be a whole number >= 2 or quantile edges. Got {bins!r} instead.")
        return np.linspace(0.0, 1.0, q + 1)
    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or len(edges) < 3 or edges[0] != 0 or edges[-1] != 1 or np.any(np.diff(edges) <= 0):
        raise ValueError(
            f"Quantile edges in 'bins' must increase from 0 to 1 with at least two bins (e.g. [0, .2, .4, .6, .8, 1]). "
            f"Got {bins!r} instead."
        )
    return edges


def rfm_scores(
    data: pd.DataFrame,
    *,
    bins=5,
    segments: Mapping[str, str] | str | None = "default",
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = "amount",
    observation_end=None,
    unit: str = defaults.UNIT,
) -> pd.DataFrame:
    """RFM scores by quantile, with named segments.

    Recency is scored on the time since the last purchase (more recent: higher score),
    frequency on the number of repeat purchases and monetary value on the mean repeat spend
    (higher: higher score). A customer's score is one plus the number of quantile edges
    below the share of customers with a strictly smaller value, so equal values always get
    equal scores (with many ties a score may be empty).

    Parameters
    ----------
    data : DataFrame
        A summary (columns ``frequency``, ``recency``, ``T`` and optionally
        ``monetary_value``, e.g. from :func:`clvmodels.rfm_summary`) or a transaction log
        (``customer_col``, ``date_col`` and optionally ``amount_col``), summarised with
        :func:`clvmodels.rfm_summary` at ``observation_end``. Never modified.
    bins : int or sequence
        Number of equal-frequency bins (5: scores 1..5), or quantile edges from 0 to 1.
    segments : "default", mapping or None
        Regular expressions on the string of the recency and frequency scores (e.g. ``"54"``)
        mapped to segment names, tried in order; ``"default"`` is :data:`DEFAULT_SEGMENTS`
        (5 bins only); ``None`` names no segments. Customers no rule matches get "other".
    customer_col, date_col, amount_col : str
        Columns of a transaction log.
    observation_end : date-like, optional
        For a transaction log: the date recency is measured at (default: its last date).
    unit : str
        For a transaction log: the time unit of the summary (default weeks, :data:`clvmodels.defaults.UNIT`).

    Returns
    -------
    DataFrame
        Per customer: ``time_since_last`` (``T - recency``), ``frequency``, ``monetary_value``
        (when known), the scores ``R``, ``F`` (and ``M``), ``rfm`` (the scores as a string),
        and ``segment``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"frequency": [0, 1, 3, 6, 10], "recency": [0.0, 5.0, 20.0, 38.0, 39.0],
    ...                   "T": [40.0] * 5, "monetary_value": [0.0, 10.0, 20.0, 30.0, 40.0]},
    ...                  index=pd.Index(list("abcde"), name="customer_id"))
    >>> rfm_scores(s)[["R", "F", "M", "rfm", "segment"]]
                 R  F  M  rfm              segment
    customer_id
    a            1  1  1  111          hibernating
    b            2  2  2  222          hibernating
    c            3  3  3  333       need attention
    d            4  4  4  444      loyal customers
    e            5  5  5  555            champions
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"Expected a summary or transaction DataFrame. Got {type(data).__name__} instead.")
    edges = _quantile_edges(bins)
    if {"frequency", "recency", "T"}.issubset(data.columns):
        summary = data
    elif {customer_col, date_col}.issubset(data.columns):

        amount = amount_col if amount_col in data.columns else None
        summary = rfm_summary(data, customer_col, date_col, amount, unit=unit, calibration_end=observation_end)
    else:
        raise ClvDataError(
            f"rfm_scores needs a summary (columns 'frequency', 'recency', 'T') or a transaction log (columns "
            f"{customer_col!r}, {date_col!r}); found {', '.join(map(str, data.columns[:10]))}. Pass customer_col=/date_col=."
        )
    numeric = {c: pd.to_numeric(summary[c], errors="coerce") for c in ("frequency", "recency", "T")}
    for c, v in numeric.items():
        if v.isna().any():
            bad = v.isna().to_numpy()
            raise ClvDataError(f"Column '{c}' must be numeric: {int(bad.sum())} values are missing or not numbers.")
    out = pd.DataFrame(index=summary.index)
    # rounded so that equal gaps in days tie whatever float noise the unit conversion left
    out["time_since_last"] = (numeric["T"] - numeric["recency"]).round(9)
    out["frequency"] = numeric["frequency"]
    has_m = "monetary_value" in summary.columns
    if has_m:
        out["monetary_value"] = pd.to_numeric(summary["monetary_value"], errors="coerce")
    out["R"] = _quantile_score(-out["time_since_last"], edges)
    out["F"] = _quantile_score(out["frequency"], edges)
    if has_m:
        out["M"] = _quantile_score(out["monetary_value"], edges)
    score_cols = ["R", "F", "M"] if has_m else ["R", "F"]
    out["rfm"] = out[score_cols].astype(str).agg("".join, axis=1)
    rules = segments
    if isinstance(rules, str):
        if rules != "default":
            raise ValueError(f"The 'segments' parameter must be 'default', a mapping or None. Got {rules!r} instead.")
        if len(edges) != 6:
            raise ValueError(
                "The default segment names are defined on scores 1..5: use bins=5, or pass segments= a mapping of "
                "regular expressions on the 'RF' score string to names, or segments=None."
            )
        rules = DEFAULT_SEGMENTS
    if rules is not None:
        rf = (out["R"].astype(str) + out["F"].astype(str)).to_numpy()
        names = np.full(len(out), "other", dtype=object)
        done = np.zeros(len(out), dtype=bool)
        for pattern, name in rules.items():
            rx = re.compile(pattern)
            hit = np.array([bool(rx.fullmatch(v)) for v in rf]) & ~done
            names[hit] = name
            done |= hit
        out["segment"] = names
    return out


def segment_summary(scores: pd.DataFrame, value: pd.Series | None = None, *, by: str = "segment") -> pd.DataFrame:
    """Customers per segment, their mean scores and, with ``value``, their share of it.

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`rfm_scores` (or any per-customer table with a ``by`` column).
    value : Series, optional
        A value per customer (e.g. CLV), indexed like ``scores``.
    by : str
        The column to group by.

    Returns
    -------
    DataFrame
        Per segment, largest first: ``n_customers``, ``share_customers``, the mean of each
        score column, and with ``value``: ``total_value``, ``mean_value``, ``share_of_equity``.

    Examples
    --------
    >>> import pandas as pd
    >>> sc = pd.DataFrame({"segment": ["a", "b", "b"], "R": [5, 1, 2]}, index=[1, 2, 3])
    >>> print(segment_summary(sc, pd.Series([30.0, 5.0, 5.0], index=[1, 2, 3])).to_string())
             n_customers  share_customers  mean_R  total_value  mean_value  share_of_equity
    segment
    b                  2         0.666667     1.5         10.0         5.0             0.25
    a                  1         0.333333     5.0         30.0        30.0             0.75
    """
    if by not in scores.columns:
        raise ValueError(f"The table has no column {by!r} to group by; pass by= one of {list(scores.columns)}.")
    g = scores.groupby(by, sort=False)
    out = pd.DataFrame({"n_customers": g.size()})
    out["share_customers"] = out["n_customers"] / len(scores)
    for c in ("R", "F", "M"):
        if c in scores.columns:
            out[f"mean_{c}"] = g[c].mean()
    if value is not None:
        v = _aligned(value, scores.index, "value")
        gv = v.groupby(scores[by], sort=False)
        out["total_value"] = gv.sum()
        out["mean_value"] = gv.mean()
        out["share_of_equity"] = out["total_value"] / float(v.sum())
    return out.sort_values("n_customers", ascending=False, kind="stable")


def _aligned(values, index: pd.Index, name: str) -> pd.Series:
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=float), index=index)
    missing = index.difference(series.index)
    if len(missing):
        raise ValueError(
            f"'{name}' has no value for {len(missing)} customers (first: {', '.join(map(repr, missing[:5].tolist()))}); "
            f"index it like the customer table."
        )
    out = pd.to_numeric(series.reindex(index), errors="coerce").astype(float)
    if out.isna().any():
        bad = index[out.isna().to_numpy()]
        raise ValueError(f"'{name}' must be numeric for every customer; {len(bad)} are not (first: {bad[:5].tolist()}).")
    return out.rename(name)


# --------------------------------------------------------------------------- CLV tiers
def clv_tiers(clv: pd.Series, tiers: Mapping[str, float | None] | None = None) -> pd.DataFrame:
    """The customer pyramid: tiers by CLV rank.

    Customers are ranked by CLV, highest first (equal CLVs keep the order of ``clv``); the
    first tier takes the top ``round(share * n)`` customers, the next the following ones up to
    the rounded cumulative share, and so on; a tier with share ``None`` (the last) takes the
    rest.

    Parameters
    ----------
    clv : Series
        CLV per customer.
    tiers : mapping, optional
        Tier name to share of customers, from the top (default :data:`DEFAULT_TIERS`:
        platinum 1 %, gold 4 %, iron 15 %, lead the rest).

    Returns
    -------
    DataFrame
        Per customer, indexed like ``clv``: ``clv``, ``rank`` (1 = highest) and ``tier``
        (ordered categorical).

    Examples
    --------
    >>> import pandas as pd
    >>> t = clv_tiers(pd.Series(range(100), dtype=float))
    >>> t["tier"].value_counts(sort=False).to_dict()
    {'platinum': 1, 'gold': 4, 'iron': 15, 'lead': 80}
    """
    tiers = dict(DEFAULT_TIERS if tiers is None else tiers)
    names = list(tiers)
    shares = list(tiers.values())
    if not names:
        raise ValueError("The 'tiers' parameter must name at least one tier.")
    if any(s is None for s in shares[:-1]):
        raise ValueError("Only the last tier may have share None (the rest of the customers).")
    fixed = np.array([s for s in shares if s is not None], dtype=float)
    if np.any(~np.isfinite(fixed) | (fixed < 0)) or fixed.sum() > 1 + 1e-12:
        raise ValueError(f"Tier shares must be >= 0 and sum to at most 1. Got {tiers!r} instead.")
    values = pd.to_numeric(pd.Series(clv), errors="coerce").astype(float)
    if values.isna().any():
        raise ValueError(f"'clv' must be numeric for every customer; {int(values.isna().sum())} values are not.")
    n = len(values)
    order = np.argsort(-values.to_numpy(), kind="stable")
    rank = np.empty(n, dtype=int)
    rank[order] = np.arange(1, n + 1)
    cum = np.cumsum([s if s is not None else 1.0 - fixed.sum() for s in shares])
    if shares[-1] is None:
        cum[-1] = 1.0
    bounds = np.round(np.minimum(cum, 1.0) * n).astype(int)  # last rank of each tier
    codes = np.searchsorted(bounds, rank, side="left")
    if np.any(codes >= len(names)):
        raise ValueError(
            f"The tier shares sum to {fixed.sum():g} < 1: {int(np.sum(codes >= len(names)))} customers fit in no tier. "
            f"Give the last tier share None (the rest)."
        )
    out = pd.DataFrame({"clv": values.to_numpy(), "rank": rank}, index=values.index)
    out["tier"] = pd.Categorical.from_codes(codes, categories=names, ordered=True)
    return out


def tier_summary(tiers: pd.DataFrame) -> pd.DataFrame:
    """Counts, CLV range, mean CLV and share of customer equity per tier, plus a total row.

    Parameters
    ----------
    tiers : DataFrame
        Output of :func:`clv_tiers`.

    Returns
    -------
    DataFrame
        One row per tier then ``total``: ``n_customers``, ``share_customers``, ``min_clv``,
        ``mean_clv``, ``customer_equity``, ``share_of_equity``.

    Examples
    --------
    >>> import pandas as pd
    >>> print(tier_summary(clv_tiers(pd.Series([100.0, 10.0, 5.0, 5.0]), {"top": 0.25, "rest": None})).to_string())
          n_customers  share_customers  min_clv  mean_clv  customer_equity  share_of_equity
    tier
    top             1             0.25    100.0     100.0            100.0         0.833333
    rest            3             0.75      5.0       6.666667        20.0         0.166667
    total           4             1.00      5.0      30.0            120.0         1.000000
    """
    g = tiers.groupby("tier", observed=False)["clv"]
    out = pd.DataFrame({
        "n_customers": g.size().astype(int),
        "share_customers": g.size() / len(tiers),
        "min_clv": g.min(),
        "mean_clv": g.mean(),
        "customer_equity": g.sum(),
    })
    out.index = out.index.astype(str)
    out.loc["total"] = [len(tiers), 1.0, tiers["clv"].min(), tiers["clv"].mean(), tiers["clv"].sum()]
    out["n_customers"] = out["n_customers"].astype(int)
    total = float(tiers["clv"].sum())
    out["share_of_equity"] = out["customer_equity"] / total if total != 0 else np.nan
    out.index.name = "tier"
    return out


# --------------------------------------------------------------------------- churn risk
def churn_risk(p_alive: pd.Series, value, *, threshold: float = 0.5) -> pd.DataFrame:
    """Customers at risk of having churned, with the expected value at risk.

    A customer is at risk when P(alive) < ``threshold``. Her expected value at risk is
    :math:`(1 - P(\\text{alive})) \\cdot V`, where :math:`V` is her value *if still active*.
    For BG/NBD and Pareto/NBD the conditional expectation factorises as
    :math:`E[Y \\mid \\text{history}] = P(\\text{alive}) \\, E[Y \\mid \\text{alive}, \\text{history}]`,
    so the value if active is ``clv / p_alive``; historical spend over a period is another
    common choice.

    Parameters
    ----------
    p_alive : Series
        P(alive) per customer (e.g. ``model.probability_alive(summary)``).
    value : Series or float
        Value of each customer if still active, indexed like ``p_alive``.
    threshold : float
        Customers with P(alive) below it are at risk.

    Returns
    -------
    DataFrame
        Per customer: ``p_alive``, ``value``, ``at_risk`` (bool), ``value_at_risk``.

    Examples
    --------
    >>> import pandas as pd
    >>> churn_risk(pd.Series([0.9, 0.2]), pd.Series([100.0, 50.0]), threshold=0.5)
       p_alive  value  at_risk  value_at_risk
    0      0.9  100.0    False           10.0
    1      0.2   50.0     True           40.0
    """
    threshold = check_number("threshold", threshold, where="churn_risk")  # type and finiteness; the range below
    if not (np.isfinite(threshold) and 0 <= threshold <= 1):
        raise ValueError(f"The 'threshold' parameter must be a probability in [0, 1]. Got {threshold!r} instead.")
    p = pd.to_numeric(pd.Series(p_alive), errors="coerce").astype(float)
    bad = ~(np.isfinite(p.to_numpy()) & (p.to_numpy() >= 0) & (p.to_numpy() <= 1))
    if bad.any():
        raise ValueError(
            f"'p_alive' must be probabilities in [0, 1]; {int(bad.sum())} values are not "
            f"(first customers: {p.index[bad][:5].tolist()})."
        )
    v = _aligned(value if isinstance(value, pd.Series) else np.broadcast_to(np.asarray(value, dtype=float), p.shape),
                 p.index, "value")
    out = pd.DataFrame({"p_alive": p.to_numpy(), "value": v.to_numpy()}, index=p.index)
    out["at_risk"] = out["p_alive"] < threshold
    out["value_at_risk"] = (1.0 - out["p_alive"]) * out["value"]
    return out


def churn_risk_summary(risk: pd.DataFrame) -> pd.DataFrame:
    """Customers, value and expected value at risk, for the at-risk group, the others and all.

    Parameters
    ----------
    risk : DataFrame
        Output of :func:`churn_risk`.

    Returns
    -------
    DataFrame
        Rows ``at risk``, ``not at risk``, ``total``: ``n_customers``, ``share_customers``,
        ``mean_p_alive``, ``value``, ``value_at_risk``.

    Examples
    --------
    >>> import pandas as pd
    >>> churn_risk_summary(churn_risk(pd.Series([0.9, 0.2]), pd.Series([100.0, 50.0])))
                 n_customers  share_customers  mean_p_alive  value  value_at_risk
    at risk                1              0.5          0.20   50.0           40.0
    not at risk            1              0.5          0.90  100.0           10.0
    total                  2              1.0          0.55  150.0           50.0
    """
    rows = {}
    for name, mask in (("at risk", risk["at_risk"]), ("not at risk", ~risk["at_risk"]), ("total", None)):
        f = risk if mask is None else risk[mask.to_numpy()]
        rows[name] = {
            "n_customers": int(len(f)),
            "share_customers": len(f) / len(risk) if len(risk) else np.nan,
            "mean_p_alive": float(f["p_alive"].mean()) if len(f) else np.nan,
            "value": float(f["value"].sum()),
            "value_at_risk": float(f["value_at_risk"].sum()),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
