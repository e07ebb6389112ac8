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


def _btydplus_ll(k, r, alpha, a, b, x, tx, T, litt, d):
    # BTYDplus R/mbg-cnbd-k.R xbgcnbd.LL, term by term, in mpmath
    import mpmath as mp

    mp.mp.dps = 40
    r, alpha, a, b, x, tx, T, litt = map(mp.mpf, (r, alpha, a, b, x, tx, T, litt))
    p1 = (k - 1) * litt - x * mp.log(mp.factorial(k - 1))
    p2 = mp.log(mp.beta(a, b + x + d)) - mp.log(mp.beta(a, b))
    p3 = mp.loggamma(r + k * x) - mp.loggamma(r) + r * mp.log(alpha)
    p4 = -(r + k * x) * mp.log(alpha + T)
    s1 = (1 if (d or x > 0) else 0) * a / (b + x - 1 + d) * ((alpha + T) / (alpha + tx)) ** (r + k * x)
    s2 = 1 + sum(mp.rf(r + k * x, j) * (T - tx) ** j / (mp.factorial(j) * (alpha + T) ** j) for j in range(1, k))
    return float(p1 + p2 + p3 + p4 + mp.log(s1 + s2))


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("d", [0, 1])
def test_loglik_equals_btydplus_r_formula_in_mpmath(k, d):
    import numpy as np
    import pandas as pd

    rows = pd.DataFrame({"frequency": [0, 1, 3, 7], "recency": [0.0, 4.0, 20.5, 30.0], "T": [38.0, 30.0, 36.0, 30.0],
                         "litt": [0.0, np.log(4.0), 5.1, 9.0]})
    cls = clv.ModifiedBetaGeoCNBD if d else clv.BetaGeoCNBD
    params = {"r": 0.85, "alpha": 1.45, "a": 0.79, "b": 2.42}
    ours = cls.from_params(params, k=k).log_likelihood(rows).to_numpy()
    ref = [_btydplus_ll(k, *params.values(), *row, d) for row in rows.itertuples(index=False)]
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_auto_recovers_k3_and_parameters_on_btydplus_test_design():
    # BTYDplus tests/testthat/test-mbg-cnbd-k.R: 8,000 customers, T in whole 12-week steps of 36-96, k = 3
    import numpy as np
    import pandas as pd

    from clvmodels.models import cnbdk

    truth = {"r": 0.85, "alpha": 1.45, "a": 0.79, "b": 2.42}
    rng = np.random.default_rng(1)
    T = np.round(rng.uniform(36, 96, 8000) / 12) * 12
    d = cnbdk.simulate(rng, 8000, **truth, T=T, k=3, dropout_at_zero=True)
    m = clv.ModifiedBetaGeoCNBD(k="auto").fit(pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T", "litt")}))
    assert m.k_ == 3 and m.k_logliks_.idxmax() == 3
    for name, value in truth.items():
        assert abs(m.params_[name] - value) < 3 * m.se_[name], name


def test_sampling_needs_a_fixed_k():
    from clvmodels.estimators import BetaGeoCNBD

    with pytest.raises(ValueError, match=r"sample\(\) needs a fixed k"):
        BetaGeoCNBD(k="auto").sample(None)
