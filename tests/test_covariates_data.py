"""join_covariates: a per-customer covariate table joined to a summary, and the errors it refuses with.

Each refusal is checked for what the message must name (the column, the customers, the fix);
every successful join is checked against the table it came from, and for leaving both
inputs unchanged.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels.errors import ClvDataError, DataWarning


def _summary(ids=(1, 2, 3, 4)) -> pd.DataFrame:
    n = len(ids)
    s = pd.DataFrame({"frequency": np.arange(n, dtype=float), "recency": np.arange(n, dtype=float) * 2.0,
                      "T": np.full(n, 20.0)}, index=pd.Index(list(ids), name="customer_id"))
    s.attrs["unit"] = "W"
    return s


def _table(**columns) -> pd.DataFrame:
    base = {"customer_id": [4, 3, 2, 1], "age": [41.0, 25.0, 30.0, 35.0], "female": [1, 0, 0, 1]}
    return pd.DataFrame({**base, **columns})


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
                          + repr(list(frame.columns)).encode() + repr(frame.attrs).encode()).hexdigest()


def test_join_aligns_by_id_not_by_position_and_leaves_inputs_unchanged():
    s, t = _summary(), _table(channel=["web", "shop", "web", "app"])
    before = (_digest(s), _digest(t))
    out = clv.join_covariates(s, t, customer="customer_id")
    assert (_digest(s), _digest(t)) == before
    assert out is not s and list(out.index) == [1, 2, 3, 4]
    assert out["age"].tolist() == [35.0, 30.0, 25.0, 41.0]  # the table lists the customers in reverse
    assert out["female"].tolist() == [1.0, 0.0, 0.0, 1.0] and out["female"].dtype == float
    assert out[["frequency", "recency", "T"]].equals(s)
    assert out.attrs["unit"] == "W" and out.attrs["covariates"] == ["age", "female", "channel=shop", "channel=web"]


def test_onehot_names_levels_and_drops_the_first_sorted_level_as_reference():
    t = _table(channel=pd.Categorical(["web", "shop", "web", "app"]))
    out = clv.join_covariates(_summary(), t, customer="customer_id", columns=["channel"])
    # levels app < shop < web: "app" (customer 1) is the reference, all zeros
    assert list(out.columns[-2:]) == ["channel=shop", "channel=web"]
    assert out.loc[1, ["channel=shop", "channel=web"]].tolist() == [0.0, 0.0]
    assert out.loc[3, "channel=shop"] == 1.0 and out.loc[4, "channel=web"] == 1.0
    assert out["channel=shop"].sum() + out["channel=web"].sum() == 3


def test_text_column_is_refused_with_categorical_refuse():
    t = _table(channel=["web", "shop", "web", "app"])
    with pytest.raises(ClvDataError, match=r"Covariate column 'channel' is not numeric.*categorical='onehot'"):
        clv.join_covariates(_summary(), t, customer="customer_id", categorical="refuse")
    # numeric columns pass with "refuse"
    out = clv.join_covariates(_summary(), t, customer="customer_id", columns=["age"], categorical="refuse")
    assert list(out.columns) == ["frequency", "recency", "T", "age"]
    with pytest.raises(ValueError, match="categorical must be 'onehot' or 'refuse'"):
        clv.join_covariates(_summary(), t, customer="customer_id", categorical="drop")


def test_bool_columns_become_0_1():
    out = clv.join_covariates(_summary(), _table(vip=[True, False, False, True]), customer="customer_id",
                              columns=["vip"])
    assert out["vip"].tolist() == [1.0, 0.0, 0.0, 1.0] and out["vip"].dtype == float


def test_ids_in_the_index_are_used_without_customer():
    t = _table().set_index("customer_id")
    out = clv.join_covariates(_summary(), t)
    assert out["age"].tolist() == [35.0, 30.0, 25.0, 41.0]


def test_missing_customers_are_refused_naming_them():
    t = _table().iloc[:2]  # customers 4 and 3 only
    with pytest.raises(ClvDataError, match=r"2 of the summary's 4 customers have no row.*1.*2"):
        clv.join_covariates(_summary(), t, customer="customer_id")


@pytest.mark.parametrize("extra", ["warn", "ignore", "raise"])
def test_extra_customers_warn_are_ignored_or_raise(extra):
    t = pd.concat([_table(), pd.DataFrame({"customer_id": [99], "age": [50.0], "female": [0]})], ignore_index=True)
    s = _summary()
    if extra == "raise":
        with pytest.raises(ClvDataError, match=r"1 customers of the covariate table are not in the summary.*99"):
            clv.join_covariates(s, t, customer="customer_id", extra="raise")
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = clv.join_covariates(s, t, customer="customer_id", extra=extra)
    found = [w for w in caught if issubclass(w.category, DataWarning)]
    assert len(found) == (1 if extra == "warn" else 0)
    if found:
        assert "99" in str(found[0].message) and "left out" in str(found[0].message)
    assert list(out.index) == [1, 2, 3, 4]


def test_duplicated_ids_are_refused():
    t = pd.concat([_table(), _table().iloc[[1]]], ignore_index=True)  # customer 3 twice
    with pytest.raises(ClvDataError, match=r"more than one row for some customers.*3"):
        clv.join_covariates(_summary(), t, customer="customer_id")


def test_missing_values_are_refused_naming_column_and_customer():
    t = _table()
    t.loc[t["customer_id"] == 2, "age"] = np.nan
    with pytest.raises(ClvDataError, match=r"Covariate column 'age' has missing values for.*2"):
        clv.join_covariates(_summary(), t, customer="customer_id")
    t = _table(channel=["web", None, "web", "app"])
    with pytest.raises(ClvDataError, match=r"Covariate column 'channel' has missing values.*3"):
        clv.join_covariates(_summary(), t, customer="customer_id")


def test_infinite_values_are_refused():
    t = _table()
    t.loc[0, "age"] = np.inf
    with pytest.raises(ClvDataError, match=r"Covariate column 'age' must be finite.*4"):
        clv.join_covariates(_summary(), t, customer="customer_id")


def test_constant_columns_are_refused():
    with pytest.raises(ClvDataError, match=r"Covariate column 'region' has the same value \(3\) for all 4 customers"):
        clv.join_covariates(_summary(), _table(region=[3, 3, 3, 3]), customer="customer_id")
    # a text column with one level among the summary's customers is constant too
    with pytest.raises(ClvDataError, match=r"Covariate column 'country' has the same value \('NL'\) for all 4"):
        clv.join_covariates(_summary(), _table(country=["NL"] * 4), customer="customer_id")


def test_id_type_mismatch_says_so():
    t = _table()
    t["customer_id"] = t["customer_id"].astype(str)
    with pytest.raises(ClvDataError, match=r"the summary's ids are numbers \(e\.g\. 1\), the table's text \(e\.g\. '4'\)"):
        clv.join_covariates(_summary(), t, customer="customer_id")


def test_other_table_errors_name_the_fix():
    with pytest.raises(ClvDataError, match="no id column 'cid'"):
        clv.join_covariates(_summary(), _table(), customer="cid")
    with pytest.raises(ClvDataError, match="no column 'height'"):
        clv.join_covariates(_summary(), _table(), customer="customer_id", columns=["height"])
    with pytest.raises(ClvDataError, match="already has the column 'T'"):
        clv.join_covariates(_summary(), _table(T=[1.0, 2.0, 3.0, 4.0]), customer="customer_id")
    with pytest.raises(TypeError, match="pandas DataFrame"):
        clv.join_covariates(_summary(), {"customer_id": [1]}, customer="customer_id")
    t = _table()
    t.loc[0, "customer_id"] = None
    with pytest.raises(ClvDataError, match="id column 'customer_id' has missing values"):
        clv.join_covariates(_summary(), t, customer="customer_id")


def test_joined_summary_fits_a_covariate_model_on_the_apparel_data():
    tx = pd.read_csv("/work/shared/data/apparel_transactions.csv")
    cov = pd.read_csv("/work/shared/data/apparel_customers.csv")
    s = clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end="2007-12-31")
    joined = clv.join_covariates(s, cov, customer="customer_id")
    assert joined.attrs["covariates"] == ["gender", "channel"]
    m = clv.BetaGeo(purchase_covariates=["gender", "channel"]).fit(joined)
    assert m.converged_ and all(np.isfinite(v) for v in m.se_.values())
    assert m.loglik_ > clv.BetaGeo().fit(s).loglik_  # the covariate model nests the plain one
