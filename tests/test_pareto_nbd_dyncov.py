"""The extended Pareto/NBD (time-varying covariates): equal to the time-invariant covariate
model when covariates do not change, to the plain model at zero coefficients, to a numerical
integral of its individual-level likelihood otherwise; the step change of a covariate is
recovered by maximum likelihood; the long-table input gives rfm_summary's (x, t_x, T)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import gammaln

from clvmodels import backend
from clvmodels.data.dynamic_covariates import dynamic_covariates
from clvmodels.data.summary import rfm_summary
from clvmodels.errors import ClvDataError
from clvmodels.inference.mle import fit_mle, loglik_and_grad
from clvmodels.models import pareto_nbd
from clvmodels.models import pareto_nbd_dyncov as dyn
from clvmodels.models.covariates import CovariateDesign, with_covariates

NP = backend.numpy
PARAMS = dict(r=0.55, alpha=10.6, s=0.61, beta=11.7)


def _windows(rng, n, K, width=1.0):
    """Customers entering at random times on a grid of K periods: their entry time and each
    period's length inside (0, T]."""
    entry = rng.uniform(0, K * width * 0.6, n)
    s = np.arange(K) * width
    length = np.clip(np.minimum(K * width, s + width)[None, :] - np.maximum(entry[:, None], s[None, :]), 0, None)
    return entry, length


def _history(rng, n, K):
    """Random but valid (x, t_x, T) with their per-period lengths in (0, T] and (t_x, T]."""
    entry, length = _windows(rng, n, K)
    d = dyn.simulate_periods(rng, 0.8, 3.0, 0.5, 20.0, length=length, log_w=0.0, log_v=0.0)
    return entry, length, d


def test_constant_covariates_equal_the_time_invariant_model():
    rng = np.random.default_rng(1)
    n, K = 300, 12
    _, length, d = _history(rng, n, K)
    g, h = rng.normal(size=n), (rng.random(n) < 0.5).astype(float)
    coefs = {"purchase:g": 0.4, "purchase:h": -0.3, "dropout:g": -0.5, "dropout:h": 0.8}
    log_w = (coefs["purchase:g"] * g + coefs["purchase:h"] * h)[:, None] * np.ones(K)
    log_v = (coefs["dropout:g"] * g + coefs["dropout:h"] * h)[:, None] * np.ones(K)
    m = dict(frequency=d["frequency"], length=length, after=d["after"], log_w=log_w, log_v=log_v)
    static = with_covariates(pareto_nbd.SPEC, CovariateDesign(purchase=["g", "h"], dropout=["g", "h"]))
    data = dict(frequency=d["frequency"], recency=d["recency"], T=d["T"], g=g, h=h)
    ll = dyn.loglik_periods(NP, **PARAMS, **m, log_w_purchases=d["frequency"] * log_w[:, 0])
    ref = static.loglik(NP, **PARAMS, **coefs, **data)
    np.testing.assert_allclose(ll, ref, rtol=1e-10, atol=0)
    pa = dyn.probability_alive_periods(NP, **PARAMS, **m)
    ref_pa = static.predictions["probability_alive"](NP, **PARAMS, **coefs, **data)
    np.testing.assert_allclose(pa, ref_pa, rtol=1e-10, atol=1e-300)
    # 13.5 periods ahead, with the same (constant) covariates over the horizon
    future = np.array([1.0] * 13 + [0.5])[None, :] * np.ones((n, 1))
    cet = dyn.expected_purchases_periods(NP, **PARAMS, **m, future_length=future, future_log_w=log_w[:, :1],
                                         future_log_v=log_v[:, :1])
    ref_cet = static.predictions["expected_purchases"](NP, **PARAMS, **coefs, **data, t=13.5)
    np.testing.assert_allclose(cet, ref_cet, rtol=1e-10, atol=1e-300)


def test_zero_coefficients_equal_the_plain_model_through_the_spec():
    rng = np.random.default_rng(2)
    n, K = 200, 10
    entry, length, d = _history(rng, n, K)
    z = rng.normal(size=(n, K))  # changing over time, but without effect at zero coefficients
    spec = dyn.dyncov_spec(purchase=["z"], dropout=["z"], n_periods=K)
    data = {"frequency": d["frequency"], "recency": d["recency"], "T": d["T"], "start": entry}
    # the spec computes each period's time in (0, T] and (t_x, T] from start, recency and T
    got_length, got_after = dyn.period_lengths(NP, entry, d["recency"], d["T"], n_periods=K, width=1.0)
    np.testing.assert_allclose(got_length, length, atol=1e-12)
    np.testing.assert_allclose(got_after, d["after"], atol=1e-12)
    data |= {f"z:{k}": z[:, k] for k in range(K)} | {"z:purchases": (d["counts"] * z).sum(axis=1)}
    ll = spec.loglik(NP, **PARAMS, **{"purchase:z": 0.0, "dropout:z": 0.0}, **data)
    ref = pareto_nbd.loglik(NP, **PARAMS, frequency=d["frequency"], recency=d["recency"], T=d["T"])
    np.testing.assert_allclose(ll, ref, rtol=1e-10, atol=0)
    # the PyTensor graph of the same formula (the one maximum likelihood differentiates)
    theta = np.array([np.log(PARAMS[k]) for k in ("r", "alpha", "s", "beta")] + [0.0, 0.0])
    total, grad = loglik_and_grad(spec, theta, data, np.ones(n))
    assert total == pytest.approx(float(ref.sum()), rel=1e-10)
    # and its gradient agrees with central differences of the NumPy formula
    theta = theta + np.array([0, 0, 0, 0, 0.3, -0.2])
    total, grad = loglik_and_grad(spec, theta, data, np.ones(n))

    def f(th):
        vals = dict(zip(("r", "alpha", "s", "beta"), np.exp(th[:4]))) | {"purchase:z": th[4], "dropout:z": th[5]}
        return float(np.sum(spec.loglik(NP, **vals, **data)))

    assert total == pytest.approx(f(theta), rel=1e-10)
    eps = 1e-6
    num = [(f(theta + eps * e) - f(theta - eps * e)) / (2 * eps) for e in np.eye(6)]
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-5)


def test_varying_covariates_equal_a_numerical_integral_of_the_individual_likelihood():
    # one customer, covariates changing every period: the bracket's integral by quadrature
    r, alpha, s, beta = PARAMS.values()
    length = np.array([0.4, 1.0, 1.0, 1.0, 1.0, 0.7])
    after = np.array([0.0, 0.0, 0.6, 1.0, 1.0, 0.7])
    log_w = np.array([0.0, 0.5, -0.3, 1.2, 0.2, -0.8])
    log_v = np.array([0.3, -0.4, 0.9, 0.0, -1.0, 0.6])
    x, S = 3.0, 0.5 + 0.5 + (-0.3)  # purchases in periods 1, 1 and 2
    edges = np.concatenate([[0.0], np.cumsum(length)])
    T, tx = edges[-1], edges[-1] - after.sum()

    def A(t, lw):
        return float(np.sum(np.clip(t - edges[:-1], 0, length) * np.exp(lw)))

    def integrand(tau):
        k = min(np.searchsorted(edges, tau, side="right") - 1, len(length) - 1)
        return np.exp(log_v[k]) * (alpha + A(tau, log_w)) ** -(r + x) * (beta + A(tau, log_v)) ** -(s + 1)

    pieces = [integrate.quad(integrand, max(lo, tx), hi, epsabs=0, epsrel=1e-13)[0]
              for lo, hi in zip(edges[:-1], edges[1:]) if hi > tx]
    bracket = (alpha + A(T, log_w)) ** -(r + x) * (beta + A(T, log_v)) ** -s + s * sum(pieces)
    ref = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + S + np.log(bracket)
    ll = dyn.loglik_periods(NP, r, alpha, s, beta, frequency=np.array([x]), length=length[None], after=after[None],
                            log_w=log_w[None], log_v=log_v[None], log_w_purchases=S)
    assert float(ll[0]) == pytest.approx(ref, rel=1e-10)


def _step_data(n, K, rng, truth, width):
    """Customers entering over the first 60% of K periods; a contact switched on at period
    K/2 for a random half of them (and left on), raising purchases and lowering dropout."""
    entry, length = _windows(rng, n, K, width)
    treated = rng.random(n) < 0.5
    contact = (treated[:, None] & (np.arange(K)[None, :] >= K // 2)).astype(float)
    d = dyn.simulate_periods(rng, truth["r"], truth["alpha"], truth["s"], truth["beta"], length=length,
                             log_w=truth["purchase:contact"] * contact, log_v=truth["dropout:contact"] * contact)
    data = {"frequency": d["frequency"], "recency": d["recency"], "T": d["T"], "start": entry}
    data |= {f"contact:{k}": contact[:, k] for k in range(K)} | {"contact:purchases": (d["counts"] * contact).sum(1)}
    return data


def test_step_change_in_a_covariate_is_recovered_by_maximum_likelihood():
    truth = {"r": 0.8, "alpha": 4.0, "s": 0.6, "beta": 12.0, "purchase:contact": 0.7, "dropout:contact": -0.5}
    # 10 periods of 4 weeks (the zero-coefficient test's graph shape: compiled once)
    K, n = 10, 3000
    data = _step_data(n, K, np.random.default_rng(7), truth, width=4.0)
    spec = dyn.dyncov_spec(purchase=["contact"], dropout=["contact"], n_periods=K, width=4.0)
    res = fit_mle(spec, data, np.ones(n))
    assert res.converged
    se = res.se
    for name, value in truth.items():
        assert abs(res.params[name] - value) < 3 * se[name], (name, res.params[name], se[name])
    # the effect is identified from the data, not from the prior: its interval excludes 0
    assert res.params["purchase:contact"] > 3 * se["purchase:contact"]


def _log_and_table():
    rng = np.random.default_rng(3)
    ids = np.arange(40)
    first = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, 40), "D")
    rows = []
    for i, f in zip(ids, first):
        rows.append((i, f))
        for day in rng.integers(0, 120, rng.integers(0, 6)):
            rows.append((i, f + pd.Timedelta(int(day), "D")))
    tx = pd.DataFrame(rows, columns=["customer_id", "date"])
    weeks = pd.date_range("2024-01-01", "2024-06-30", freq="7D")
    table = pd.DataFrame([(i, w, float(w >= pd.Timestamp("2024-02-19") and i % 2), rng.normal())
                          for i in ids for w in weeks], columns=["customer_id", "period_start", "contact", "price"])
    return tx, table


def test_long_table_gives_rfm_summarys_history_and_consistent_arrays():
    tx, table = _log_and_table()
    before = pd.util.hash_pandas_object(table).sum()
    d = dynamic_covariates(tx, table, calibration_end="2024-03-31", prediction_end="2024-05-26")
    assert pd.util.hash_pandas_object(table).sum() == before
    s = rfm_summary(tx, "customer_id", "date", unit="W", calibration_end="2024-03-31")
    got = d.summary().loc[s.index]
    np.testing.assert_allclose(got[["frequency", "recency", "T"]].to_numpy(), s[["frequency", "recency", "T"]].to_numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d.length.sum(axis=1), d.T, rtol=1e-12)
    np.testing.assert_allclose(d.after.sum(axis=1), d.T - d.recency, rtol=1e-12, atol=1e-12)
    assert d.future_length.sum() == pytest.approx(56 / 7)
    # the spec's in-graph lengths (from start, recency, T) are the arrays built from the dates
    length, after = dyn.period_lengths(NP, d.start, d.recency, d.T, n_periods=d.n_periods, width=d.width)
    np.testing.assert_allclose(length, d.length, atol=1e-12)
    np.testing.assert_allclose(after, d.after, atol=1e-12)
    # each repeat purchase day counted once, with the covariates of its week, read off the table
    days = tx.assign(day=pd.to_datetime(tx["date"]).dt.normalize()).drop_duplicates(["customer_id", "day"])
    days = days[days["day"] <= pd.Timestamp("2024-03-31")]
    days = days[days["day"] > days.groupby("customer_id")["day"].transform("min")]
    days["period_start"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        (days["day"] - pd.Timestamp("2024-01-01")).dt.days // 7 * 7, "D")
    expected = days.merge(table, on=["customer_id", "period_start"]).groupby("customer_id")[["contact", "price"]].sum()
    expected = expected.reindex(d.customers, fill_value=0.0)
    np.testing.assert_allclose(d.z_purchases, expected.to_numpy(), rtol=1e-12, atol=1e-12)
    assert d.z.shape == (40, d.n_periods, 2) and d.z_future.shape == (40, len(d.future_starts), 2)


@pytest.mark.parametrize("break_it, message", [
    (lambda t: t.drop(index=12), "misses 1 (customer, period) rows the model needs: customer 0 has no row for the period starting 2024-03-25"),
    (lambda t: t.assign(contact=t["contact"].where(t.index != 7)), "Covariate column 'contact' has 1 missing or infinite values (customer 0 period 2024-02-19)"),
    (lambda t: t.assign(period_start=t["period_start"].where(t.index != 3, pd.Timestamp("2024-01-17"))), "not on a regular grid of 7 days"),
    (lambda t: pd.concat([t, t.iloc[:1]]), "repeated (customer, period) pairs, e.g. customer 0 period 2024-01-01"),
    (lambda t: t.assign(contact="yes"), "Covariate column 'contact' is not numeric"),
])
def test_bad_long_tables_are_refused_with_the_customer_and_period(break_it, message):
    tx, table = _log_and_table()
    with pytest.raises(ClvDataError, match=None) as err:
        dynamic_covariates(tx, break_it(table), calibration_end="2024-03-31", prediction_end="2024-05-26")
    assert message in str(err.value)


def test_estimator_with_constant_covariates_matches_the_time_invariant_pareto_nbd():
    # a log and a 28-day grid with one covariate that never changes: the extended model's fit
    # and predictions through the long-table path are those of clv.ParetoNBD with that covariate
    import clvmodels as clv

    rng = np.random.default_rng(11)
    n = 400
    g = (rng.random(n) < 0.5).astype(float)
    lam = rng.gamma(1.0, 1.0 / (20.0 * np.exp(-0.6 * g)))  # per day
    life = rng.exponential(1.0 / rng.gamma(1.5, 1.0 / 100.0, n))
    first = rng.integers(0, 60, n)
    rows = []
    for i in range(n):
        rows.append((i, first[i]))
        k = rng.poisson(lam[i] * min(life[i], 330))
        rows += [(i, first[i] + d) for d in rng.integers(1, max(int(min(life[i], 330)), 2), k)]
    tx = pd.DataFrame(rows, columns=["customer_id", "day"])
    tx["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(tx["day"], "D")
    grid = pd.date_range("2024-01-01", periods=12, freq="28D")
    table = pd.DataFrame([(i, w, g[i]) for i in range(n) for w in grid], columns=["customer_id", "period_start", "g"])
    d = clv.dynamic_covariates(tx, table, calibration_end="2024-08-11", prediction_end="2024-10-06")
    assert d.n_periods == 8
    m = clv.DynamicParetoNBD(purchase_covariates=["g"], dropout_covariates=["g"]).fit(d)
    s = clv.rfm_summary(tx, "customer_id", "date", unit="W", calibration_end="2024-08-11")
    s = clv.join_covariates(s, pd.DataFrame({"customer_id": np.arange(n), "g": g}), customer="customer_id")
    ref = clv.ParetoNBD(purchase_covariates=["g"], dropout_covariates=["g"]).fit(s)
    assert m.loglik_ == pytest.approx(ref.loglik_, rel=1e-8)
    for k, v in ref.params_.items():
        assert m.params_[k] == pytest.approx(v, rel=1e-3), k
    fixed = clv.DynamicParetoNBD(purchase_covariates=["g"], dropout_covariates=["g"])
    fixed.params_ = dict(ref.params_)  # the same parameters: predictions must agree to rounding
    np.testing.assert_allclose(fixed.probability_alive(d).loc[s.index], np.asarray(ref.probability_alive(s), dtype=float), rtol=1e-10)
    np.testing.assert_allclose(fixed.expected_purchases(d, t=6.5).loc[s.index],
                               np.asarray(ref.expected_purchases(s, t=6.5), dtype=float), rtol=1e-10)
    with pytest.raises(ValueError, match="t must lie in"):
        fixed.expected_purchases(d, t=100.0)


def test_cet_with_changing_future_covariates_equals_a_numerical_integral():
    # E[Y] = P(alive) (r+x)/(alpha+A(T)) * int_T^{T+t} w(u) ((beta+B(T)) / (beta+B(u)))^s du
    r, alpha, s, beta = PARAMS.values()
    length, after = np.array([[1.0, 1.0, 0.5]]), np.array([[0.0, 0.3, 0.5]])
    log_w, log_v = np.array([[0.2, -0.1, 0.4]]), np.array([[0.0, 0.5, -0.2]])
    f_len = np.array([1.0, 1.0, 1.0, 0.25])
    f_lw, f_lv = np.array([0.9, -0.4, 0.0, 1.5]), np.array([-0.7, 0.3, 1.1, 0.0])
    x = np.array([2.0])
    m = dict(frequency=x, length=length, after=after, log_w=log_w, log_v=log_v)
    got = dyn.expected_purchases_periods(NP, r, alpha, s, beta, **m, future_length=f_len[None],
                                         future_log_w=f_lw[None], future_log_v=f_lv[None])
    A_T, B_T = float(np.sum(length * np.exp(log_w))), float(np.sum(length * np.exp(log_v)))
    edges = np.concatenate([[0.0], np.cumsum(f_len)])

    def integrand(u):
        k = min(np.searchsorted(edges, u, side="right") - 1, len(f_len) - 1)
        B = B_T + float(np.sum(np.clip(u - edges[:-1], 0, f_len) * np.exp(f_lv)))
        return np.exp(f_lw[k]) * ((beta + B_T) / (beta + B)) ** s

    total = sum(integrate.quad(integrand, lo, hi, epsabs=0, epsrel=1e-13)[0] for lo, hi in zip(edges[:-1], edges[1:]))
    p_alive = dyn.probability_alive_periods(NP, r, alpha, s, beta, **m)
    assert float(got[0]) == pytest.approx(float(p_alive[0]) * (r + 2.0) / (alpha + A_T) * total, rel=1e-10)
    # s = 1 is the log limit of the (s-1) ratio, continuous in s
    at_one = dyn.expected_purchases_periods(NP, r, alpha, 1.0, beta, **m, future_length=f_len[None],
                                            future_log_w=f_lw[None], future_log_v=f_lv[None])
    near = dyn.expected_purchases_periods(NP, r, alpha, 1.0 + 1e-7, beta, **m, future_length=f_len[None],
                                          future_log_w=f_lw[None], future_log_v=f_lv[None])
    assert float(at_one[0]) == pytest.approx(float(near[0]), rel=1e-6)


def test_estimator_refuses_unfitted_use_a_summary_and_unknown_columns():
    import clvmodels as clv
    from clvmodels.errors import NotFittedError

    tx, table = _log_and_table()
    d = clv.dynamic_covariates(tx, table, calibration_end="2024-03-31", prediction_end="2024-05-26")
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        clv.DynamicParetoNBD(purchase_covariates=["contact"]).probability_alive(d)
    with pytest.raises(TypeError, match=r"clvmodels.dynamic_covariates\(\.\.\.\); got DataFrame"):
        clv.DynamicParetoNBD(purchase_covariates=["contact"]).fit(d.summary())
    with pytest.raises(ClvDataError, match="no column 'email'; they hold 'contact', 'price'"):
        clv.DynamicParetoNBD(purchase_covariates=["email"]).fit(d)
