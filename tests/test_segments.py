"""Segments: quantile scores by construction, log and summary agree, the default segment map is
complete, the pyramid's tier sizes from its definition, churn risk hand-computed, inputs unchanged."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pandas as pd
import pytest

from clvmodels import segments as sg
from clvmodels.errors import ClvDataError


def frame_hash(df: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes()
                          + repr(list(df.columns)).encode()).hexdigest()


def distinct_summary(n=100, seed=3):
    rng = np.random.default_rng(seed)
    T = np.full(n, 100.0)
    return pd.DataFrame({
        "frequency": rng.permutation(n).astype(float),
        "recency": rng.permutation(n) * 0.5,
        "T": T,
        "monetary_value": rng.permutation(n) + 1.0,
    }, index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"))


def test_quintiles_of_distinct_values_hold_a_fifth_each():
    sc = sg.rfm_scores(distinct_summary())
    for col in ("R", "F", "M"):
        assert sc[col].value_counts().sort_index().tolist() == [20] * 5


def test_scores_increase_with_recency_frequency_and_spend():
    s = distinct_summary()
    sc = sg.rfm_scores(s)
    # higher frequency / spend / more recent last purchase never gets a lower score
    for col, key in (("F", s["frequency"]), ("M", s["monetary_value"]), ("R", s["recency"])):
        order = np.argsort(key.to_numpy())
        assert np.all(np.diff(sc[col].to_numpy()[order]) >= 0)


def test_custom_quantile_edges():
    sc = sg.rfm_scores(distinct_summary(), bins=[0, 0.5, 0.9, 1], segments=None)
    assert sc["F"].value_counts().sort_index().tolist() == [50, 40, 10]
    assert "segment" not in sc


def test_ties_get_equal_scores():
    s = pd.DataFrame({"frequency": [0, 0, 0, 0, 0, 0, 1, 2, 3, 4], "recency": [0.0] * 6 + [1, 2, 3, 4],
                      "T": [10.0] * 10})
    sc = sg.rfm_scores(s)
    assert sc["F"].iloc[:6].nunique() == 1 and sc["F"].iloc[0] == 1
    # 60 % of customers are below x = 1: score 1 + (edges 0.2, 0.4, 0.6 at or below 0.6) = 4
    assert sc["F"].tolist()[6:] == [4, 4, 5, 5]


def test_summary_and_transaction_log_give_the_same_scores(cdnow_transactions, cdnow_summary):
    log = cdnow_transactions[cdnow_transactions["date"] <= "1997-09-30"]
    from_log = sg.rfm_scores(log, observation_end="1997-09-30", unit="D")
    from_summary = sg.rfm_scores(cdnow_summary)
    pd.testing.assert_frame_equal(from_log[["R", "F", "M", "segment"]], from_summary[["R", "F", "M", "segment"]],
                                  check_names=False)


def test_default_segment_map_names_every_score_pair():
    import re

    for r, f in itertools.product(range(1, 6), repeat=2):
        assert any(re.fullmatch(p, f"{r}{f}") for p in sg.DEFAULT_SEGMENTS), (r, f)


def test_default_names_need_five_bins_and_custom_names_work():
    s = distinct_summary()
    with pytest.raises(ValueError, match="scores 1..5"):
        sg.rfm_scores(s, bins=4)
    sc = sg.rfm_scores(s, bins=3, segments={r"3.": "recent", r".3": "frequent"})
    assert set(sc["segment"]) == {"recent", "frequent", "other"}
    assert (sc.loc[sc["R"] == 3, "segment"] == "recent").all()


def test_rfm_needs_summary_or_log_columns():
    with pytest.raises(ClvDataError, match="needs a summary"):
        sg.rfm_scores(pd.DataFrame({"a": [1]}))


def test_segment_summary_shares(cdnow_summary):
    sc = sg.rfm_scores(cdnow_summary)
    value = pd.Series(np.arange(len(sc), dtype=float), index=sc.index)
    t = sg.segment_summary(sc, value)
    assert t["n_customers"].sum() == len(sc)
    assert t["share_of_equity"].sum() == pytest.approx(1.0, rel=1e-12)
    assert t["total_value"].sum() == pytest.approx(value.sum(), rel=1e-12)


# --------------------------------------------------------------------------- tiers
def test_pyramid_tier_sizes_from_the_definition():
    # 2,357 customers: platinum round(23.57) = 24, gold round(117.85) - 24 = 94,
    # iron round(471.4) - 118 = 353, lead the rest 1,886
    clv = pd.Series(np.random.default_rng(1).gamma(0.5, 20.0, 2357))
    t = sg.clv_tiers(clv)
    assert t["tier"].value_counts(sort=False).to_dict() == {"platinum": 24, "gold": 94, "iron": 353, "lead": 1886}
    s = sg.tier_summary(t)
    # every platinum customer is worth at least as much as every gold one, and so on
    mins = s["min_clv"].drop("total").to_numpy()
    maxs = t.groupby("tier", observed=False)["clv"].max().to_numpy()
    assert np.all(mins[:-1] >= maxs[1:])
    assert s.loc["total", "customer_equity"] == pytest.approx(clv.sum(), rel=1e-12)
    assert s["share_of_equity"].drop("total").sum() == pytest.approx(1.0, rel=1e-12)
    assert s.loc["platinum", "mean_clv"] == pytest.approx(clv.nlargest(24).mean(), rel=1e-12)


def test_configurable_tiers_and_their_errors():
    clv = pd.Series(np.arange(10.0), index=list("abcdefghij"))
    t = sg.clv_tiers(clv, {"top": 0.3, "bottom": 0.7})
    assert t.loc[["j", "i", "h"], "tier"].eq("top").all() and (t["tier"] == "bottom").sum() == 7
    with pytest.raises(ValueError, match="sum to at most 1"):
        sg.clv_tiers(clv, {"a": 0.8, "b": 0.5})
    with pytest.raises(ValueError, match="fit in no tier"):
        sg.clv_tiers(clv, {"a": 0.2, "b": 0.3})
    with pytest.raises(ValueError, match="Only the last tier"):
        sg.clv_tiers(clv, {"a": None, "b": 0.3})


# --------------------------------------------------------------------------- churn risk
def test_churn_risk_hand_computed_and_threshold():
    p = pd.Series([0.95, 0.6, 0.3, 0.1], index=list("abcd"))
    v = pd.Series([100.0, 50.0, 80.0, 10.0], index=list("dcba"))  # by id, not position
    r = sg.churn_risk(p, v, threshold=0.5)
    assert r["at_risk"].tolist() == [False, False, True, True]
    np.testing.assert_allclose(r["value_at_risk"], [0.05 * 10, 0.4 * 80, 0.7 * 50, 0.9 * 100], rtol=1e-15)
    s = sg.churn_risk_summary(r)
    assert s.loc["at risk", "value_at_risk"] == pytest.approx(35.0 + 90.0, rel=1e-15)
    assert s.loc["total", "n_customers"] == 4
    assert sg.churn_risk(p, v, threshold=0.7)["at_risk"].sum() == 3
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        sg.churn_risk(pd.Series([1.2]), 1.0)


def test_segments_never_modify_inputs(cdnow_summary, cdnow_transactions):
    s, tx = cdnow_summary.copy(deep=True), cdnow_transactions.copy(deep=True)
    hs, ht = frame_hash(s), frame_hash(tx)
    clv = pd.Series(np.linspace(0, 1, len(s)), index=s.index)
    hc = frame_hash(clv.to_frame())
    sc = sg.rfm_scores(s)
    sg.rfm_scores(tx[tx["date"] <= "1997-09-30"], observation_end="1997-09-30")
    sg.segment_summary(sc, clv)
    sg.tier_summary(sg.clv_tiers(clv))
    sg.churn_risk_summary(sg.churn_risk(pd.Series(0.5, index=s.index), clv))
    assert frame_hash(s) == hs and frame_hash(tx) == ht and frame_hash(clv.to_frame()) == hc
