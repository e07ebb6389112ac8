"""Every number a user gives is checked: finite, in range, of the right type (issue 10, section 2).

A property test over the public API: each numeric argument of each public function is fed
NaN, infinities, out-of-range values, strings, booleans, None and wrongly shaped arrays, and
must raise a ValueError or TypeError whose message names the argument, never return NaN and
never let a NumPy/pandas/PyMC message through. Organised by rule: one table of arguments with
the values each must refuse.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels import evaluation, segments, value

BG = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
PNBD = clv.ParetoNBD.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669, unit="W")
GG = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
SBG = clv.ShiftedBetaGeo.from_params(alpha=0.704, beta=1.182)
S = pd.DataFrame({"frequency": [2.0, 0.0], "recency": [30.43, 0.0], "T": [38.86, 20.0], "monetary_value": [20.0, 0.0]},
                 index=pd.Index(["a", "b"], name="customer_id"))
S.attrs.update(unit="W", calibration_end="1997-09-30")
HOLDOUT = S.assign(frequency_holdout=[1, 0], duration_holdout=[39.0, 39.0])

NOT_A_NUMBER = [float("nan"), float("inf"), float("-inf"), "3", None, True, [1.0, 2.0], {"t": 1}]
NOT_NUMBERS = [[float("nan")], [float("inf")], ["a", "b"], [[1.0, 2.0]], [], "12", None, [True, False]]

# (label, call taking the value, argument name, refused values besides NOT_A_NUMBER / NOT_NUMBERS)
SCALARS = [
    ("expected_purchases t", lambda v: BG.expected_purchases(S, t=v), "t", [-5, -1e-9]),
    ("pnbd expected_purchases t", lambda v: PNBD.expected_purchases(S, t=v), "t", [-5]),
    ("probability_of_purchases t", lambda v: BG.probability_of_purchases(1, t=v), "t", [-5]),
    ("conditional pmf t", lambda v: BG.conditional_probability_of_purchases(S, 1, t=v), "t", [-5]),
    ("dert discount_rate", lambda v: BG.discounted_expected_transactions(S, discount_rate=v), "discount_rate", [-0.1, 0]),
    ("hdi_prob of a prediction", lambda v: BG.probability_alive(S, hdi_prob=v), "hdi_prob", [0, 1, 1.5, -0.2]),
    ("hdi_prob of spend", lambda v: GG.expected_spend(S, hdi_prob=v), "hdi_prob", [0, 1]),
    ("lifetime_value margin", lambda v: value.lifetime_value(BG, GG, S, margin=v), "margin", [-2, 1.5]),
    ("lifetime_value discount_rate", lambda v: value.lifetime_value(BG, GG, S, discount_rate=v), "discount_rate", [-1, -3]),
    ("lifetime_value horizon", lambda v: value.lifetime_value(BG, GG, S, horizon=v), "horizon", [0, -3, 1.5]),
    ("lifetime_value hdi_prob", lambda v: value.lifetime_value(BG, GG, S, hdi_prob=v), "hdi_prob", [0, 2]),
    ("customer_equity margin", lambda v: value.customer_equity(BG, GG, S, margin=v), "margin", [-2]),
    ("customer_equity discount_rate", lambda v: value.customer_equity(BG, GG, S, discount_rate=v), "discount_rate", [-1]),
    ("clv_table margin", lambda v: value.clv_table(BG, GG, S, margin=v), "margin", [-2, 3]),
    ("clv_table service_cost", lambda v: value.clv_table(BG, GG, S, service_cost=v), "service_cost", [-1]),
    ("clv_table discount_rate", lambda v: value.clv_table(BG, GG, S, discount_rate=v), "discount_rate", [-1]),
    ("score_table hdi_prob", lambda v: value.score_table(BG, GG, S, hdi_prob=v), "hdi_prob", [0]),
    ("cohort equity margin", lambda v: value.customer_equity_by_cohort(BG, GG, S, margin=v, cohort=pd.Series(["x", "y"], index=S.index)),
     "margin", [-1]),
    ("continuous_rate discount_rate", lambda v: value.continuous_rate(v, "Y", "W"), "discount_rate", [-1]),
    ("contractual_value discount_rate", lambda v: value.contractual_value(SBG, margin=1.0, discount_rate=v), "discount_rate", [0, -1]),
    ("contractual_value margin", lambda v: value.contractual_value(SBG, margin=v, discount_rate=0.1), "margin", []),
    ("sbg DERL discount_rate", lambda v: SBG.discounted_expected_residual_lifetime(v), "discount_rate", [0, -0.5]),
    ("sample_asymptotic draws", lambda v: clv.BetaGeo().fit(S.iloc[:0]) if False else _fitted_bg().sample_asymptotic(v), "draws",
     [0, 1, 2.5]),
    ("fit maxiter", lambda v: clv.GammaGamma().fit(S[S.frequency > 0], maxiter=v), "maxiter", [0, -1, 2.5]),
    ("churn_risk threshold", lambda v: segments.churn_risk(pd.Series([0.5]), pd.Series([1.0]), threshold=v), "threshold", [-0.1, 2]),
    ("retention_clv horizon", lambda v: value.retention_clv(1.0, 0.8, 0.1, horizon=v), "horizon", [-1, 1.5]),
    ("tracking period", lambda v: evaluation.tracking(BG, S, _log(), period=v, calibration_end="1997-09-30"), "period", [0, -1]),
    ("conditional_expectations hdi_prob", lambda v: evaluation.conditional_expectations(BG, HOLDOUT, hdi_prob=v), "hdi_prob", [0]),
    ("calibration_histogram max_count", lambda v: evaluation.calibration_histogram(BG, S, max_count=v), "max_count", [0, 2.5]),
    ("report margin", lambda v: clv.report(BG, GG, S, Path(tempfile.mkdtemp()) / "r.html", margin=v), "margin", [-1]),
]
ARRAYS = [
    ("expected_purchases_new_customer t", lambda v: BG.expected_purchases_new_customer(v), "t", [[-5.0], [1.0, -1.0]]),
    ("probability_of_purchases n", lambda v: BG.probability_of_purchases(v, t=10), "n", [[-1], [0.5]]),
    ("conditional pmf n", lambda v: BG.conditional_probability_of_purchases(S, v, t=10), "n", [[-1], [1.5]]),
    ("sbg survival t", lambda v: SBG.survival(v), "t", [[-1.0]]),
    ("sbg retention_rate t", lambda v: SBG.retention_rate(v), "t", [[0.0]]),
    ("sbg DERL renewals", lambda v: SBG.discounted_expected_residual_lifetime(0.1, renewals=v), "renewals", [[-1], [0.5]]),
    ("contractual_value renewals", lambda v: value.contractual_value(SBG, margin=1.0, discount_rate=0.1, renewals=v),
     "renewals", [[-1]]),
    ("retention_clv margin", lambda v: value.retention_clv(v, 0.8, 0.1), "margin", []),
    ("retention_clv acquisition_cost", lambda v: value.retention_clv(1.0, 0.8, 0.1, v), "acquisition_cost", []),
]


def _fitted_bg():
    return clv.BetaGeo().fit(clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
                                             calibration_end="1997-09-30"))


_FITTED = {}


def _log() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["a", "a", "b"], "date": pd.to_datetime(["1997-01-01", "1997-05-01", "1997-05-12"])})


#: Values of the common lists that are valid for an argument (its default, or a per-customer array).
VALID = {"clv_table service_cost": (None, [1.0, 2.0]), "retention_clv horizon": (None,),
         "retention_clv margin": ([[1.0, 2.0]],), "retention_clv acquisition_cost": ([[1.0, 2.0]],)}


def _cases(table, bad_common):
    for label, call, name, extra in table:
        for bad in list(bad_common) + list(extra):
            if any(bad is v or bad == v for v in VALID.get(label, ())):
                continue
            yield pytest.param(call, name, bad, id=f"{label}={bad!r}")


def _check(call, name, bad):
    with pytest.raises((ValueError, TypeError)) as info:
        out = call(bad)
        pytest.fail(f"no error; returned {out!r}")  # pragma: no cover - reached only when the rule is broken
    message = str(info.value)
    assert f"'{name}'" in message, message
    for foreign in ("could not convert", "ufunc", "unsupported operand", "has no len()",
                    "not supported between", "truth value of an array"):
        assert foreign not in message, message


@pytest.mark.parametrize("call, name, bad", list(_cases(SCALARS, NOT_A_NUMBER)))
def test_scalar_options_refuse_non_numbers_and_out_of_range_values(call, name, bad):
    if name == "draws" and "bg" not in _FITTED:
        _FITTED["bg"] = _fitted_bg()
    _check(call, name, bad)


@pytest.mark.parametrize("call, name, bad", list(_cases(ARRAYS, NOT_NUMBERS)))
def test_array_options_refuse_non_numbers_and_out_of_range_values(call, name, bad):
    _check(call, name, bad)


@pytest.mark.parametrize("call, name, ok", [
    (lambda v: BG.expected_purchases(S, t=v), "t", 0.0),
    (lambda v: BG.expected_purchases_new_customer(v), "t", [0.0, 39.0]),
    (lambda v: value.lifetime_value(BG, GG, S, margin=v), "margin", 0.0),
    (lambda v: value.lifetime_value(BG, GG, S, discount_rate=v), "discount_rate", 0.0),
    (lambda v: BG.probability_alive(S, hdi_prob=v), "hdi_prob", 0.5),
    (lambda v: BG.probability_of_purchases(v, t=0.0), "n", [0, 1]),
])
def test_boundary_values_that_are_valid_are_accepted_with_finite_results(call, name, ok):
    """The checks refuse what is wrong, not the edges of what is right (t = 0, margin 0, rate 0)."""
    out = call(ok)
    assert np.all(np.isfinite(np.asarray(out, dtype=float))), out
