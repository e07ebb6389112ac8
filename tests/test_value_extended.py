"""Customer value: discounting and units against hand-computed cases, the retention formula
against its closed form, a summed series and a simulation, DERT against numerical integration,
sBG contractual value against its summed survival series, cohort equity against the raw log.

Hand-computed cases use stub models with a known expected-purchase curve, so the only thing
under test is the value arithmetic (units, discounting, margin, cost), not a model formula.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

import clvmodels as clv
from clvmodels import value
from clvmodels.estimators import SpendModel, TransactionModel
from clvmodels.models.common import RFM_FIELDS
from clvmodels.models.spec import ModelSpec, Param
from clvmodels.units import period_edges

from reference_values import BGNBD_FHL2005, GAMMA_GAMMA_FH2013


def frame_hash(df: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes()
                          + repr(list(df.columns)).encode() + repr(df.attrs).encode()).hexdigest()


def _linear_spec() -> ModelSpec:
    """A transaction model with E[Y(t)] = rate * t for every customer, in weeks; DERT = rate / delta."""

    def expected_purchases(xp, rate, *, frequency, recency, T, t):
        return rate * t + 0.0 * T

    def dert(xp, rate, *, frequency, recency, T, discount_rate):
        return rate / discount_rate + 0.0 * T

    return ModelSpec("linear_buyer", "linear buyer", (Param("rate"),), RFM_FIELDS, loglik=lambda xp, rate, **d: 0.0 * d["T"],
                     predictions={"expected_purchases": expected_purchases, "discounted_expected_transactions": dert})


def _fixed_spend_spec() -> ModelSpec:
    def expected_spend(xp, spend, *, frequency):
        return spend + 0.0 * frequency

    return ModelSpec("fixed_spend", "fixed spend", (Param("spend"),), clv.GammaGamma.spec.data[:1],
                     loglik=lambda xp, spend, **d: 0.0 * d["frequency"], predictions={"expected_spend": expected_spend})


class _Linear(TransactionModel):
    spec = _linear_spec()


class _Fixed(SpendModel):
    spec = _fixed_spend_spec()


def LinearBuyer(rate):
    """Stub transaction model: E[Y(t)] = rate * t for every customer, in weeks; DERT = rate / delta."""
    return _Linear.from_params(rate=rate, unit="W")


def FixedSpend(spend):
    return _Fixed.from_params(spend=spend)


@pytest.fixture
def two_customers():
    return pd.DataFrame({"frequency": [1.0, 3.0], "recency": [2.0, 9.0], "T": [10.0, 10.0]},
                        index=pd.Index(["a", "b"], name="customer_id"))


@pytest.fixture(scope="module")
def bg():
    return clv.BetaGeo.from_params(BGNBD_FHL2005.values(precise=True), unit="W")


@pytest.fixture(scope="module")
def gg():
    return clv.GammaGamma.from_params(GAMMA_GAMMA_FH2013.values())


# --------------------------------------------------------------------------- hand-computed
def test_discrete_discounting_matches_hand_computed_case(two_customers):
    # 2 purchases a week, 3 weekly periods at 10 % per week, spend 10, margin 0.5, cost 1 per purchase:
    # D = 2/1.1 + 2/1.21 + 2/1.331 = 4.973703981968445; CLV = D * (0.5 * 10 - 1)
    t = value.clv_table(LinearBuyer(2.0), FixedSpend(10.0), two_customers, horizon=3, unit="W",
                        discount_rate=0.10, margin=0.5, service_cost=1.0)
    np.testing.assert_allclose(t["discounted_purchases"], 4.973703981968445, rtol=1e-14)
    np.testing.assert_allclose(t["expected_purchases"], 6.0, rtol=1e-14)
    np.testing.assert_allclose(t["clv"], 4.973703981968445 * 4.0, rtol=1e-14)


def test_per_customer_margin_and_service_cost_align_on_customer_ids(two_customers):
    # given in the reverse order: must be matched by id, not by position
    margin = pd.Series([0.2, 0.5], index=["b", "a"])
    cost = pd.Series([3.0, 0.0], index=["b", "a"])
    t = value.clv_table(LinearBuyer(1.0), FixedSpend(10.0), two_customers, horizon=1, unit="W", margin=margin,
                        service_cost=cost, discount_rate=0.0)
    # one period of one week, no discounting: 1 purchase; a: 0.5*10 - 0 = 5, b: 0.2*10 - 3 = -1
    assert t["clv"].to_dict() == pytest.approx({"a": 5.0, "b": -1.0}, rel=1e-14)
    with pytest.raises(ValueError, match="'margin' Series has no value for 1 customers"):
        value.clv_table(LinearBuyer(1.0), FixedSpend(10.0), two_customers, margin=pd.Series([0.2], index=["a"]))


def test_calendar_months_from_calibration_end_hand_computed(bg, gg):
    # after 1997-09-30 the months are October (31 days), November (30), December (31); 12 months = 365 days
    s = pd.DataFrame({"frequency": [2.0], "recency": [30.43], "T": [38.86], "monetary_value": [20.0]})
    s.attrs.update(unit="W", calibration_end="1997-09-30")
    np.testing.assert_allclose(period_edges(3, "M", "W", start="1997-09-30"), [31 / 7, 61 / 7, 92 / 7], rtol=1e-15)
    t = value.clv_table(bg, gg, s, horizon=12, unit="M", discount_rate=0.0)
    np.testing.assert_allclose(t["expected_purchases"], bg.expected_purchases(s, t=365 / 7), rtol=1e-12)
    assert "calendar months from 1997-09-30" in t.attrs["units"]
    assert "52.1429 W" in t.attrs["units"]
    # without a calendar start the mean Gregorian month is used: 12 months = 365.2425 days
    s.attrs.clear()
    t = value.clv_table(bg, gg, s, horizon=12, unit="M", model_unit="W")
    np.testing.assert_allclose(t["expected_purchases"], bg.expected_purchases(s, t=365.2425 / 7), rtol=1e-12)
    assert "mean Gregorian lengths" in t.attrs["units"]


def test_lifetime_value_equals_clv_table_column(bg, gg, cdnow_summary):
    kwargs = dict(horizon=12, unit="M", discount_rate=0.01, margin=0.3)
    np.testing.assert_allclose(value.lifetime_value(bg, gg, cdnow_summary, **kwargs),
                               value.clv_table(bg, gg, cdnow_summary, **kwargs)["clv"], rtol=1e-13)


def test_continuous_rate_hand_computed():
    # 10 % a year on a weekly model: ln(1.1) / (365.2425 / 7)
    assert value.continuous_rate(0.10, "Y", "W") == pytest.approx(np.log(1.1) * 7 / 365.2425, rel=1e-15)
    assert value.continuous_rate(0.02, "M", "D") == pytest.approx(np.log(1.02) * 12 / 365.2425, rel=1e-15)


def test_continuous_discounting_uses_dert_with_converted_rate(two_customers):
    # stub DERT = rate / delta; delta for 10 %/year on weeks
    t = value.clv_table(LinearBuyer(2.0), FixedSpend(10.0), two_customers, horizon=None, unit="Y",
                        discount_rate=0.10, margin=0.5, discounting="continuous")
    delta = np.log(1.1) * 7 / 365.2425
    np.testing.assert_allclose(t["clv"], 2.0 / delta * 5.0, rtol=1e-13)
    assert t["expected_purchases"].isna().all()
    assert "continuous discounting" in t.attrs["units"]
    with pytest.raises(ValueError, match="horizon=None"):
        value.clv_table(LinearBuyer(2.0), FixedSpend(10.0), two_customers, horizon=12, discounting="continuous",
                        discount_rate=0.1)


def published_transaction_model(name):
    from reference_values import PARETO_NBD_FHL2005

    if name == "bgnbd":
        return clv.BetaGeo.from_params(BGNBD_FHL2005.values(precise=True), unit="W")
    return clv.ParetoNBD.from_params(PARETO_NBD_FHL2005.values(precise=True), unit="W")


@pytest.mark.parametrize("name", ["bgnbd", "pareto_nbd"])
def test_dert_matches_numerical_integration_of_expected_purchases(name, gg, cdnow_summary):
    """DERT(delta) = int_0^inf e^{-delta t} dE[Y(t)] = delta int_0^inf e^{-delta t} E[Y(t)] dt (by parts)."""
    model = published_transaction_model(name)
    if "discounted_expected_transactions" not in model.spec.predictions:
        pytest.skip(f"{type(model).__name__} has no closed-form DERT yet (model-family issue)")
    s = cdnow_summary.iloc[[0, 1, 2, 5, 20]]
    delta = value.continuous_rate(0.15, "Y", "W")
    t = value.clv_table(model, gg, s, horizon=None, unit="Y", discount_rate=0.15, discounting="continuous")
    for cid, row in s.iterrows():
        one = s.loc[[cid]]

        def integrand(u):
            return np.exp(-delta * u) * float(model.expected_purchases(one, t=u).iloc[0])

        numeric = delta * integrate.quad(integrand, 0, np.inf, limit=400, epsabs=0, epsrel=1e-10)[0]
        assert t.loc[cid, "discounted_purchases"] == pytest.approx(numeric, rel=1e-6)


# --------------------------------------------------------------------------- retention formula
def test_retention_formula_hand_computed():
    # m = 100, r = 0.8, i = 10 %, c = 50
    assert value.retention_clv(100, 0.8, 0.10, 50) == pytest.approx(100 * 1.1 / 0.3 - 50, rel=1e-15)
    assert value.retention_clv(100, 0.8, 0.10, timing="end") == pytest.approx(100 * 0.8 / 0.3, rel=1e-15)
    assert value.retention_clv(100, 0.8, 0.10, horizon=3) == pytest.approx(100 + 80 / 1.1 + 64 / 1.21, rel=1e-15)
    assert value.retention_clv(100, 1.0, 0.0, horizon=4) == pytest.approx(400.0, rel=1e-15)


@pytest.mark.parametrize("timing, first", [("start", 0), ("end", 1)])
@pytest.mark.parametrize("horizon", [None, 7])
def test_retention_formula_equals_summed_series(timing, first, horizon):
    m, r, i, c = 37.5, np.array([0.3, 0.75, 0.95]), 0.08, 12.0
    n = 5000 if horizon is None else horizon
    t = np.arange(first, first + n)
    series = (m * (r[:, None] / (1 + i)) ** t[None, :]).sum(axis=1) - c
    np.testing.assert_allclose(value.retention_clv(m, r, i, c, timing=timing, horizon=horizon), series, rtol=1e-12)


def test_retention_formula_matches_simulated_customers():
    """Simulate lifetimes: paid at the start of each period alive, retained with probability r."""
    rng = np.random.default_rng(20261123)
    m, r, i, c, n = 100.0, 0.8, 0.10, 50.0, 400_000
    periods_alive = rng.geometric(1 - r, n)  # 1, 2, ... periods of payment
    pv = m * (1 - (1 / (1 + i)) ** periods_alive) / (1 - 1 / (1 + i)) - c
    se = pv.std() / np.sqrt(n)
    assert abs(pv.mean() - value.retention_clv(m, r, i, c)) < 4 * se


def test_retention_formula_rejects_divergent_and_bad_input():
    with pytest.raises(ValueError, match="retention < 1 \\+ discount_rate"):
        value.retention_clv(1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="'retention' parameter must be a probability"):
        value.retention_clv(1.0, 1.2, 0.1)
    with pytest.raises(ValueError, match="'timing'"):
        value.retention_clv(1.0, 0.5, 0.1, timing="middle")


# --------------------------------------------------------------------------- sBG contractual value
def test_sbg_contractual_value_matches_summed_survival_series():
    """E[RLV] = m * DERL; DERL summed from the sBG survival S(t) = B(alpha, beta + t) / B(alpha, beta)."""
    sbg_cls = getattr(clv, "ShiftedBetaGeo", None)
    if sbg_cls is None or not hasattr(sbg_cls, "discounted_expected_residual_lifetime"):
        pytest.skip("ShiftedBetaGeo with a DERL is not available yet (model-family issue)")
    from scipy.special import betaln

    from reference_values import SBG_FH2007_REGULAR

    params = SBG_FH2007_REGULAR.values()
    model = sbg_cls.from_params(params)
    a, b, d = params["alpha"], params["beta"], 0.10
    out = value.contractual_value(model, margin=50.0, discount_rate=d, renewals=[0, 1, 4])
    t = np.arange(1, 20000)
    for n in (0, 1, 4):
        # n renewals made, just before the next decision: the payments of renewals n+1, n+2, ...
        # with probability S(t)/S(n), the first at full value (Fader & Hardie 2010)
        later = t[t > n]
        surv = np.exp(betaln(a, b + later) - betaln(a, b + n))
        derl = np.sum(surv * np.exp(-(later - n - 1) * np.log1p(d)))
        assert out.loc[n, "derl"] == pytest.approx(derl, rel=1e-6)
        assert out.loc[n, "residual_value"] == pytest.approx(50.0 * derl, rel=1e-6)


def test_contractual_value_needs_a_derl():
    with pytest.raises(ValueError, match="discounted expected residual lifetime"):
        value.contractual_value(object(), margin=1.0, discount_rate=0.1)


# --------------------------------------------------------------------------- cohorts
def test_cohort_equity_matches_first_purchase_months_of_the_raw_log(bg, gg, cdnow_summary, cdnow_transactions):
    clv_ = value.clv_table(bg, gg, cdnow_summary, horizon=12, unit="M", discount_rate=0.01, margin=0.3)["clv"]
    table = value.customer_equity_by_cohort(clv_, cdnow_summary, cohort_unit="M")
    first = cdnow_transactions.groupby("customer_id")["date"].min().dt.strftime("%Y-%m")
    expected_counts = first.value_counts().sort_index()
    assert table.drop(index="total")["n_customers"].to_dict() == expected_counts.to_dict()
    by_month = clv_.groupby(first.reindex(clv_.index)).sum()
    np.testing.assert_allclose(table.drop(index="total")["customer_equity"], by_month.sort_index(), rtol=1e-12)
    assert table.loc["total", "customer_equity"] == pytest.approx(clv_.sum(), rel=1e-12)
    assert table["share_of_equity"].drop("total").sum() == pytest.approx(1.0, rel=1e-12)


def test_cohort_from_a_column_and_clear_errors(two_customers):
    data = two_customers.assign(channel=["web", "shop"])
    table = value.customer_equity_by_cohort(pd.Series([3.0, 4.0], index=["a", "b"]), data, cohort="channel")
    assert table["customer_equity"].to_dict() == {"shop": 4.0, "web": 3.0, "total": 7.0}
    with pytest.raises(ValueError, match="names no column"):
        value.customer_equity_by_cohort(pd.Series([3.0, 4.0], index=["a", "b"]), data, cohort="region")
    with pytest.raises(ValueError, match="calibration end date"):
        value.customer_equity_by_cohort(pd.Series([3.0, 4.0], index=["a", "b"]), two_customers)


# --------------------------------------------------------------------------- inputs
def test_value_functions_never_modify_inputs(bg, gg, cdnow_summary):
    s = cdnow_summary.copy(deep=True)
    margin = pd.Series(0.3, index=s.index)
    before, before_m = frame_hash(s), frame_hash(margin.to_frame())
    t = value.clv_table(bg, gg, s, horizon=6, unit="M", discount_rate=0.01, margin=margin, service_cost=0.5)
    value.lifetime_value(bg, gg, s, horizon=6)
    value.customer_equity_by_cohort(t["clv"], s)
    assert frame_hash(s) == before and frame_hash(margin.to_frame()) == before_m


def test_bad_discount_rate_is_named():
    s = pd.DataFrame({"frequency": [1.0], "recency": [1.0], "T": [2.0]})
    with pytest.raises(ValueError, match="'discount_rate' parameter must be a rate per period > -1"):
        value.clv_table(LinearBuyer(1.0), FixedSpend(1.0), s, discount_rate=-1.5)
    with pytest.raises(ValueError, match="'discounting' parameter"):
        value.clv_table(LinearBuyer(1.0), FixedSpend(1.0), s, discounting="weekly")


# --------------------------------------------------------------------------- posterior cohorts
def with_posterior(cls, draws: dict[str, np.ndarray], unit=None):
    """A model carrying the given draws as its posterior_ (no sampling in these tests)."""
    import xarray as xr

    from clvmodels.fit import Posterior

    ds = xr.Dataset({k: (("chain", "draw"), np.asarray(v, dtype=float).reshape(1, -1)) for k, v in draws.items()})
    return cls.from_fit(Posterior(cls.spec, xr.DataTree.from_dict({"posterior": ds}), unit=unit))


def test_posterior_cohort_equity_degenerate_equals_point_and_total_is_sum_of_draws(bg, gg, cdnow_summary):
    kwargs = dict(horizon=6, unit="M", discount_rate=0.01, margin=0.3)
    point = value.customer_equity_by_cohort(value.clv_table(bg, gg, cdnow_summary, **kwargs)["clv"], cdnow_summary)
    flat = with_posterior(clv.BetaGeo, {k: np.full(4, v) for k, v in bg.params_.items()}, unit="W")
    post = value.customer_equity_by_cohort_posterior(flat, gg, cdnow_summary, **kwargs)
    np.testing.assert_allclose(post["mean"], point["customer_equity"], rtol=1e-10)
    np.testing.assert_allclose(post["hdi_lower"], post["hdi_upper"], rtol=1e-10)
    rng = np.random.default_rng(11)
    spread = with_posterior(clv.BetaGeo, {k: v * np.exp(rng.normal(0, 0.05, 40)) for k, v in bg.params_.items()},
                            unit="W")
    post = value.customer_equity_by_cohort_posterior(spread, gg, cdnow_summary, hdi_prob=0.9, **kwargs)
    assert post.loc["total", "mean"] == pytest.approx(post["mean"].drop("total").sum(), rel=1e-12)
    assert (post["hdi_lower"] < post["mean"]).all() and (post["mean"] < post["hdi_upper"]).all()
    assert post["n_customers"].tolist() == point["n_customers"].tolist()
    # clv_table takes posteriors now (issue 11): its CLV column is the posterior mean of the same CLV
    table = value.clv_table(spread, gg, cdnow_summary, **kwargs)
    np.testing.assert_allclose(table["clv"].to_numpy(),
                               value.lifetime_value(spread, gg, cdnow_summary, **kwargs)["mean"].to_numpy(), rtol=1e-12)


def test_cohort_equity_refuses_a_posterior_clv_table(two_customers):
    table = pd.DataFrame({"mean": [1.0, 2.0], "sd": [0.1, 0.1]}, index=["a", "b"])
    with pytest.raises(TypeError, match="customer_equity_by_cohort_posterior"):
        value.customer_equity_by_cohort(table, two_customers.assign(c=["x", "y"]), cohort="c")
