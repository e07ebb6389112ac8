"""Shared fixtures and the model registry that drives the generic contract tests.

Adding a model to the contract tests means appending one :class:`ModelCase` to ``MODELS``
(see the BG/NBD and Gamma-Gamma entries below). Every test in ``tests/test_contract.py`` and
``tests/test_backends.py`` is parametrised over ``MODELS``; a model that cannot take part in a
check declares it in ``exceptions`` (check name -> reason) instead of an ``isinstance``
branch in the test. Check names: see ``CHECKS``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels.estimators import SpendModel, TransactionModel

from reference_values import (
    BGBB_FHS2010,
    BGNBD_FHL2005,
    CDNOW,
    GAMMA_GAMMA_FH2013,
    MBGNBD_BTYDPLUS,
    PARETO_NBD_FHL2005,
    BDW_HIGH_END_MLE,
    SBG_FH2007_HIGH_END,
    SBG_FH2007_HIGH_END_SURVIVAL,
    Published,
)

#: The generic checks a ModelCase may declare an exception from.
CHECKS = (
    "finite_loglik",  # loglik finite at the reference params on the reference data
    "gradient",  # loglik_and_grad vs central finite differences of the NumPy loglik
    "recovery",  # fit on spec.simulate(...) data recovers the true params within a few SE
    "weights",  # collapsed identical rows with weights give the fit of the expanded rows
    "covariance",  # cov_ symmetric and equal to the delta-method finite-difference Hessian inverse
    "from_params",  # from_params predicts without fitting
    "json_roundtrip",  # save/load round-trips exactly; other files raise ModelFileError
    "not_fitted",  # unfitted model raises NotFittedError with sklearn's wording
    "indexed_outputs",  # per-customer predictions are Series indexed by customer id
    "inputs_unchanged",  # fit and predictions leave the caller's DataFrame untouched
    "pytensor_backend",  # loglik through PyTensor == NumPy loglik (rtol 1e-10)
    "pytensor_predictions",  # per-customer predictions through PyTensor == NumPy (rtol 1e-10)
)


# --------------------------------------------------------------------------- reference data
@functools.lru_cache(maxsize=None)
def _cdnow_transactions() -> pd.DataFrame:
    return clv.datasets.load_cdnow()


@functools.lru_cache(maxsize=None)
def _cdnow_summary() -> pd.DataFrame:
    return clv.rfm_summary(
        _cdnow_transactions(), "customer_id", "date", "amount", unit=CDNOW["unit"],
        calibration_end=CDNOW["calibration_end"], observation_end=CDNOW["observation_end"],
    )


def cdnow_summary_copy() -> pd.DataFrame:
    """CDNOW sample summary in weeks (calibration 1997-09-30, holdout to 1998-06-30); a fresh copy."""
    return _cdnow_summary().copy(deep=True)


def donation_histories() -> pd.DataFrame:
    """The donations table of Fader, Hardie & Shang (2010): one row per (x, t_x) history, with
    its number of donors in ``count`` (11,104 in all); a fresh copy, indexed by history."""
    d = clv.datasets.load_donations()
    d.index = pd.Index([f"h{i}" for i in range(len(d))], name="history")
    return d


def cdnow_repeat_buyers() -> pd.DataFrame:
    """The 946 CDNOW customers with x > 0: the Gamma-Gamma fitting sample (Fader & Hardie 2013)."""
    s = _cdnow_summary()
    return s[s["frequency"] > 0].copy(deep=True)


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    """The raw CDNOW sample transaction log (do not modify: it is shared by the session)."""
    return _cdnow_transactions()


@pytest.fixture(scope="session")
def cdnow_summary() -> pd.DataFrame:
    """CDNOW sample RFM summary in weeks, calibration_end 1997-09-30, observation_end 1998-06-30
    (shared by the session: copy before changing it)."""
    return _cdnow_summary()


def shared_data_dir() -> Path:
    """The team's data folder: ``$CLVMODELS_SHARED_DIR``, else ``<repo>/../shared/data``.

    CI checks the repository out with ``shared/`` beside it, so there a missing folder is a
    failure; elsewhere tests that need it are skipped with the reason.
    """
    root = os.environ.get("CLVMODELS_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared"
    path = Path(root) / "data"
    if not path.is_dir():
        message = (f"shared data folder {path} not found; put the team's shared/ beside the repository "
                   f"or set CLVMODELS_SHARED_DIR to it")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the team's shared data files (``apparel_transactions.csv``, ...); see :func:`shared_data_dir`."""
    return shared_data_dir()


# --------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class ModelCase:
    """One model as the contract tests see it.

    Attributes
    ----------
    model : type
        The model class (a :class:`~clvmodels.estimators.CLVModel`).
    published : Published
        Published estimates (``tests/reference_values.py``); the contract tests use the
        high-precision ones where given.
    reference_data : callable
        ``() -> DataFrame`` giving a fresh copy of the data set the published estimates come
        from, in the form ``model.fit`` takes.
    weights_col : str, optional
        Column of ``reference_data()`` holding counts of identical customers (aggregated
        tables such as the donations data); passed to ``fit(weights=...)``.
    simulate_design : mapping
        Extra keyword arguments of ``spec.simulate(rng, n, **params, **design)`` (e.g.
        observation lengths ``T``); arrays must have length ``n_simulate``.
    n_simulate : int
        Customers simulated for the recovery check (keep the test fast).
    recovery_z : float
        Allowed distance between estimate and truth, in standard errors.
    customer_predictions : mapping, optional
        Per-customer prediction method -> keyword arguments; default from the model's base
        class (transaction or spend model).
    exceptions : mapping
        Check name (one of ``CHECKS``) -> reason the model is exempt.
    """

    model: type
    published: Published
    reference_data: Callable[[], pd.DataFrame]
    weights_col: str | None = None
    simulate_design: Mapping[str, Any] = field(default_factory=dict)
    n_simulate: int = 3000
    recovery_z: float = 4.0
    customer_predictions: Mapping[str, Mapping[str, Any]] | None = None
    exceptions: Mapping[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.model.spec.name

    @property
    def spec(self):
        return self.model.spec

    @property
    def params(self) -> dict[str, float]:
        """Reference parameters (high-precision optimum where published)."""
        return self.published.values(precise=True)

    def data(self) -> tuple[pd.DataFrame, np.ndarray | None]:
        """Reference data and its weights (None when every row is one customer)."""
        frame = self.reference_data()
        weights = None if self.weights_col is None else frame[self.weights_col].to_numpy(dtype=float)
        return frame, weights

    def arrays(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The reference data as the float arrays the spec's functions take, and weights."""
        frame, weights = self.data()
        arrays = {k: frame[k].to_numpy(dtype=float) for k in self.spec.data_names}
        return arrays, np.ones(len(frame)) if weights is None else weights

    def predictions(self) -> dict[str, dict[str, Any]]:
        if self.customer_predictions is not None:
            return {k: dict(v) for k, v in self.customer_predictions.items()}
        if issubclass(self.model, TransactionModel):
            return {"expected_purchases": {"t": 10.0}, "probability_alive": {}}
        if issubclass(self.model, SpendModel):
            return {"expected_spend": {}}
        return {}


@functools.lru_cache(maxsize=None)
def _ggompertz_identified() -> pd.DataFrame:
    from clvmodels.models import ggompertz_nbd

    rng = np.random.default_rng(5)
    d = ggompertz_nbd.simulate(rng, 4000, 0.8, 2.0, 0.05, 0.7, 0.4, T=np.round(rng.uniform(52.0, 104.0, 4000)))
    # whole days, as summaries have them (customers then share rows, which the weights check needs)
    d["recency"] = np.where(d["frequency"] > 0, np.minimum(np.maximum(np.round(d["recency"] * 7), 1) / 7, d["T"]), 0.0)
    return pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T")},
                        index=pd.Index([f"c{i}" for i in range(4000)], name="customer_id"))


def ggompertz_identified() -> pd.DataFrame:
    """4,000 GGompertz/NBD customers simulated at r 0.8, alpha 2, b 0.05, s 0.7, beta 0.4 (a fresh copy)."""
    return _ggompertz_identified().copy(deep=True)


#: The (M)BG/CNBD-2 customers of the contract checks: BTYDplus's test parameters
#: (tests/testthat/test-mbg-cnbd-k.R: r 0.85, alpha 1.45, a 0.79, b 2.42) at k = 2.
CNBD_TRUTH = {"r": "0.85", "alpha": "1.45", "a": "0.79", "b": "2.42"}


@functools.lru_cache(maxsize=None)
def _cnbd_simulated(dropout_at_zero: bool) -> pd.DataFrame:
    from clvmodels.models import cnbdk

    rng = np.random.default_rng(11)
    truth = {k: float(v) for k, v in CNBD_TRUTH.items()}
    # whole weeks of observation, so that customers without repeat purchases share rows (the weights check)
    d = cnbdk.simulate(rng, 4000, **truth, T=np.round(rng.uniform(36.0, 96.0, 4000)), k=2,
                       dropout_at_zero=dropout_at_zero)
    return pd.DataFrame({k: d[k] for k in ("frequency", "recency", "T", "litt")},
                        index=pd.Index([f"c{i}" for i in range(4000)], name="customer_id"))


def bgcnbd_simulated() -> pd.DataFrame:
    """4,000 BG/CNBD-2 customers simulated at :data:`CNBD_TRUTH` (a fresh copy)."""
    return _cnbd_simulated(False).copy(deep=True)


def mbgcnbd_simulated() -> pd.DataFrame:
    """4,000 MBG/CNBD-2 customers simulated at :data:`CNBD_TRUTH` (a fresh copy)."""
    return _cnbd_simulated(True).copy(deep=True)


def sbg_high_end_renewals() -> pd.DataFrame:
    """Fader & Hardie (2007) "High End" cohort of 1,000 as (period, churned, count) renewal rows."""
    from clvmodels.data.contractual import renewals_from_survival

    return renewals_from_survival([float(v) for v in SBG_FH2007_HIGH_END_SURVIVAL], n_customers=1000)


MODELS: list[ModelCase] = [
    ModelCase(
        model=clv.BetaGeo,
        published=BGNBD_FHL2005,
        reference_data=cdnow_summary_copy,
        # CDNOW-like: first purchases spread over 12 weeks, calibration 39 weeks after the start
        simulate_design={"T": np.linspace(27.0, 39.0, 3000)},
        n_simulate=3000,
    ),
    ModelCase(
        model=clv.GammaGamma,
        published=GAMMA_GAMMA_FH2013,
        reference_data=cdnow_repeat_buyers,
        simulate_design={},  # frequency drawn 1..5 by the simulator
        n_simulate=3000,
    ),
    # s/beta (Pareto/NBD) and b (MBG/NBD) need longer observation than CDNOW's 27-39 weeks to
    # be estimated to better than half their value from 5,000 simulated customers
    ModelCase(
        model=clv.get_model("pareto_nbd"),
        published=PARETO_NBD_FHL2005,
        reference_data=cdnow_summary_copy,
        simulate_design={"T": np.linspace(52.0, 104.0, 5000)},
        n_simulate=5000,
    ),
    ModelCase(
        model=clv.get_model("mbgnbd"),
        published=MBGNBD_BTYDPLUS,
        reference_data=cdnow_summary_copy,
        simulate_design={"T": np.linspace(52.0, 104.0, 5000)},
        n_simulate=5000,
    ),
    ModelCase(
        model=clv.get_model("bgbb"),
        published=BGBB_FHS2010,
        reference_data=donation_histories,
        weights_col="count",
        simulate_design={"n_periods": 6},
        n_simulate=5000,
    ),
    ModelCase(
        model=clv.get_model("sbg"),
        published=SBG_FH2007_HIGH_END,
        reference_data=sbg_high_end_renewals,
        weights_col="count",
        simulate_design={"horizon": 12},
        n_simulate=5000,
    ),
    ModelCase(
        model=clv.get_model("bdw"),
        published=BDW_HIGH_END_MLE,
        reference_data=sbg_high_end_renewals,
        weights_col="count",
        simulate_design={"horizon": 12},
        n_simulate=5000,
    ),
    ModelCase(
        model=clv.get_model("ggompertz_nbd"),
        # On CDNOW (GGOMNBD_BG2012, reproduced in tests/test_ggompertz_nbd.py) the fit has no interior
        # optimum (b -> 0), so the contract checks use customers simulated where b is identified,
        # with the simulation's truth as their reference values
        published=Published(model="ggompertz_nbd", data="4,000 simulated customers (ggompertz_identified)",
                            params={"r": "0.8", "alpha": "2", "b": "0.05", "s": "0.7", "beta": "0.4"}, loglik=None,
                            source="simulation", where="the generative process's parameters"),
        reference_data=ggompertz_identified,
        simulate_design={"T": np.linspace(52.0, 104.0, 5000)},
        n_simulate=5000,
    ),
    # no published CNBD-k estimates exist for CDNOW (BTYDplus's cdnow demo finds k = 1 there, the
    # MBG/NBD; tests/test_cnbdk_fit.py), so the checks use k = 2 customers simulated at BTYDplus's
    # test parameters, with that truth as the reference values
    *(ModelCase(
        model=model,
        published=Published(model=model.spec.name, data=f"4,000 simulated customers ({data.__name__})",
                            params=CNBD_TRUTH, loglik=None, source="simulation",
                            where="BTYDplus's tests/testthat/test-mbg-cnbd-k.R parameters, at k = 2"),
        reference_data=data,
        simulate_design={"T": np.linspace(36.0, 96.0, 5000)},
        n_simulate=5000,
    ) for model, data in ((clv.BetaGeoCNBD, bgcnbd_simulated), (clv.ModifiedBetaGeoCNBD, mbgcnbd_simulated))),
]


def cases(check: str) -> list:
    """``MODELS`` as pytest params for one check, with declared exceptions skipped."""
    if check not in CHECKS:
        raise ValueError(f"Unknown contract check {check!r}; add it to CHECKS in tests/conftest.py.")
    out = []
    for case in MODELS:
        reason = case.exceptions.get(check)
        marks = [pytest.mark.skip(reason=f"{case.id} exempt from {check}: {reason}")] if reason else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


def frame_hash(frame: pd.DataFrame) -> tuple:
    """Fingerprint of a DataFrame's values, index, column names, dtypes and attrs (to test it is unchanged)."""
    return (
        tuple(pd.util.hash_pandas_object(frame, index=True).to_numpy().tolist()),
        tuple(map(str, frame.columns)),
        tuple(map(str, frame.dtypes)),
        str(frame.index.dtype),
        repr(sorted(frame.attrs.items())),
    )
