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


@pytest.mark.parametrize("model", [clv.BetaGeoCNBD, clv.ModifiedBetaGeoCNBD])
@pytest.mark.parametrize("k", [2, "auto"])
def test_a_fitted_model_round_trips_through_json_exactly(cdnow_regular, tmp_path, model, k):
    import json

    import pandas as pd

    m = model(k=k).fit(cdnow_regular)
    path = m.save(tmp_path / "m.json")
    payload = json.loads(path.read_text())
    assert payload["model"] == model.spec.name and payload["variant"] == f"k{m.k_}"
    for loaded in (clv.load_model(path), model.load(path)):
        assert type(loaded) is model and loaded.k_ == m.k_ == (2 if k == 2 else 1)
        assert loaded.params_.equals(m.params_) and loaded.se_ == m.se_
        pd.testing.assert_frame_equal(loaded.cov_, m.cov_, check_exact=True)
        assert (loaded.loglik_, loaded.converged_, loaded.unit_, loaded.data_fingerprint_) == (
            m.loglik_, m.converged_, m.unit_, m.data_fingerprint_)
        # how k was chosen survives too (None for a fixed k)
        if k == "auto":
            pd.testing.assert_series_equal(loaded.k_logliks_, m.k_logliks_, check_exact=True)
        else:
            assert loaded.k_logliks_ is None and "k_logliks" not in payload
        for method, kw in (("probability_alive", {}), ("expected_purchases", {"t": 39.0})):
            pd.testing.assert_series_equal(getattr(loaded, method)(cdnow_regular, **kw),
                                           getattr(m, method)(cdnow_regular, **kw), check_exact=True)


def test_bad_k_logliks_in_a_file_is_named(tmp_path):
    import json

    from clvmodels.errors import ModelFileError

    payload = clv.BetaGeoCNBD.from_params(r=0.85, alpha=1.45, a=0.79, b=2.42, k=1).to_dict()
    path = tmp_path / "m.json"
    path.write_text(json.dumps({**payload, "k_logliks": {"one": -3.0}}))
    with pytest.raises(ModelFileError, match=r"field 'k_logliks' must be"):
        clv.load_model(path)


@pytest.mark.parametrize("cnbd, plain", [(clv.BetaGeoCNBD, clv.BetaGeo), (clv.ModifiedBetaGeoCNBD, clv.ModifiedBetaGeo)])
def test_holdout_comparison_reads_litt_and_k1_forecasts_as_the_bgnbd(cdnow_transactions, cnbd, plain):
    h = clv.rfm_summary(cdnow_transactions, "customer_id", "date", "amount", unit="W",
                        calibration_end="1997-09-30", observation_end="1998-06-30", regularity=True)
    a, b = cnbd(k=1).fit(h), plain().fit(h)
    table = clv.compare(a, b, names=["cnbd", "plain"], holdout=h)
    # BG/CNBD-1 is the BG/NBD: the same holdout errors to the optimiser's precision
    for col in ("holdout_mae", "holdout_rmse", "holdout_bias", "holdout_total_error"):
        assert table.loc["cnbd", col] == pytest.approx(table.loc["plain", col], rel=1e-4)
    # and at k = 2 the table has its row (litt reaches the prediction), with a worse fit on CDNOW
    two = clv.compare(cnbd(k=2).fit(h), b, names=["k2", "plain"], holdout=h)
    assert two.loc["k2", "loglik"] < two.loc["plain", "loglik"] and two["holdout_mae"].notna().all()
    with pytest.raises(ClvDataError, match=r"litt"):
        clv.compare(a, holdout=h.drop(columns="litt"))
