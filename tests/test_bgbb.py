"""BG/BB: Fader, Hardie & Shang (2010) donation estimates from the aggregated table; lifetimes at fixed params."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels.models import bgbb
from reference_values import BGBB_FHS2010, printed_rtol, value

PUB = BGBB_FHS2010.values()


def test_bgbb_params_match_FHS2010_from_aggregated_table():
    d = clv.datasets.load_donations()
    m = clv.BetaGeoBetaBinom().fit(d, weights=d["count"])
    for name, printed in BGBB_FHS2010.params.items():
        assert m.params_[name] == pytest.approx(value(printed), rel=printed_rtol(printed)), name
    assert m.loglik_ == pytest.approx(value(BGBB_FHS2010.loglik), rel=printed_rtol(BGBB_FHS2010.loglik))
    assert m.converged_ and m.n_customers_ == 11104


def test_bgbb_per_customer_rows_give_the_aggregated_fit():
    d = clv.datasets.load_donations()
    rows = d.loc[d.index.repeat(d["count"])].drop(columns="count").reset_index(drop=True)
    m = clv.BetaGeoBetaBinom().fit(rows)
    assert m.loglik_ == pytest.approx(value(BGBB_FHS2010.loglik), rel=printed_rtol(BGBB_FHS2010.loglik))


def test_bgbb_matches_lifetimes_at_fixed_params():
    lifetimes = pytest.importorskip("lifetimes")
    lf = lifetimes.BetaGeoBetaBinomFitter()
    lf.params_ = pd.Series(PUB)
    d = clv.datasets.load_donations()
    x, tx, n = (d[c].to_numpy(float) for c in ("frequency", "recency", "n_periods"))
    ours = clv.BetaGeoBetaBinom.from_params(PUB)
    np.testing.assert_allclose(ours.probability_alive(d), lf.conditional_probability_alive(1, x, tx, n), rtol=1e-6)
    np.testing.assert_allclose(ours.expected_purchases(d, t=5),
                               lf.conditional_expected_number_of_purchases_up_to_time(5, x, tx, n), rtol=1e-6)
    for k in (1, 6, 11):  # E[X(n)] is the mean of the pmf P(X(n)=x)
        pmf = ours.probability_of_purchases(np.arange(k + 1), t=k).to_numpy()
        assert ours.expected_purchases_new_customer(float(k)) == pytest.approx((np.arange(k + 1) * pmf).sum(), rel=1e-10)


def test_bgbb_loglik_sums_to_one_over_all_histories():
    # the likelihood is a pmf over the (x, t_x) histories of n opportunities
    n = 6
    hist = [(0, 0)] + [(x, t) for t in range(1, n + 1) for x in range(1, t + 1)]
    x = np.array([h[0] for h in hist], float)
    tx = np.array([h[1] for h in hist], float)
    from math import comb

    # number of opportunity sequences with x transactions, the last at t_x
    mult = np.array([1 if h == (0, 0) else comb(h[1] - 1, h[0] - 1) for h in hist], float)
    from clvmodels import backend

    ll = bgbb.loglik(backend.numpy, *PUB.values(), frequency=x, recency=tx, n_periods=np.full_like(x, n))
    assert (mult * np.exp(ll)).sum() == pytest.approx(1.0, rel=1e-12)


def test_bgbb_dert_matches_discounted_sum_of_expectations():
    # DERT = sum_k E[transaction at opportunity n+k | history] / (1+d)^k
    m = clv.BetaGeoBetaBinom.from_params(PUB)
    d = clv.datasets.load_donations()
    K = 3000
    cum = np.stack([m.expected_purchases(d, t=k).to_numpy() for k in range(K + 1)])
    per = np.diff(cum, axis=0)
    disc = (per / 1.1 ** np.arange(1, K + 1)[:, None]).sum(axis=0)
    np.testing.assert_allclose(m.discounted_expected_transactions(d, 0.1), disc, rtol=1e-8)
