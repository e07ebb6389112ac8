"""(M)BG/CNBD-k estimators: k = 1 on CDNOW is the BG/NBD and MBG/NBD fit; BTYDplus's cdnow demo
(demo/cdnow.R: "k=1 -> no regularity detected for CDNow"); JSON keeps k; a summary without litt is refused."""

from __future__ import annotations

import pytest

import clvmodels as clv
from clvmodels.errors import ClvDataError


@pytest.fixture(scope="module")
def cdnow_regular(cdnow_transactions):
    return clv.rfm_summary(cdnow_transactions, "customer_id", "date", "amount", unit="W",
                           calibration_end="1997-09-30", regularity=True)


@pytest.mark.parametrize("cnbd, plain", [(clv.BetaGeoCNBD, clv.BetaGeo), (clv.ModifiedBetaGeoCNBD, clv.ModifiedBetaGeo)])
def test_k1_mle_on_cdnow_equals_the_bgnbd_and_mbgnbd_fits(cdnow_regular, cnbd, plain):
    a, b = cnbd(k=1).fit(cdnow_regular), plain().fit(cdnow_regular)
    for name in b.params_.index:
        assert a.params_[name] == pytest.approx(b.params_[name], rel=1e-5)
    assert a.loglik_ == pytest.approx(b.loglik_, rel=1e-10)


def test_btydplus_demo_cdnow_mbgcnbd_picks_k1(cdnow_regular):
    m = clv.ModifiedBetaGeoCNBD(k="auto").fit(cdnow_regular)
    assert m.k_ == 1
    lls = m.k_logliks_
    assert list(lls.index) == [1, 2, 3] and lls.is_monotonic_decreasing  # stopped after falling twice
    # BTYDplus's MBG/NBD estimates on CDNOW (tests/reference_values.py MBGNBD_BTYDPLUS)
    for name, value in {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}.items():
        assert m.params_[name] == pytest.approx(value, rel=1e-3)


def test_save_load_keeps_k_and_predictions(cdnow_regular, tmp_path):
    m = clv.ModifiedBetaGeoCNBD.from_params(r=0.85, alpha=1.45, a=0.79, b=2.42, k=3, unit="W")
    path = m.save(tmp_path / "m.json")
    for loaded in (clv.load_model(path), clv.ModifiedBetaGeoCNBD.load(path)):
        assert type(loaded) is clv.ModifiedBetaGeoCNBD and loaded.k_ == 3
        for method, kw in (("probability_alive", {}), ("expected_purchases", {"t": 10.0})):
            a = getattr(loaded, method)(cdnow_regular.head(50), **kw)
            b = getattr(m, method)(cdnow_regular.head(50), **kw)
            assert a.equals(b)


def test_a_summary_without_litt_is_refused_naming_regularity(cdnow_regular):
    plain = cdnow_regular.drop(columns="litt")
    for k in (2, "auto"):
        with pytest.raises(ClvDataError, match=r"'litt'.*regularity=True"):
            clv.BetaGeoCNBD(k=k).fit(plain)
