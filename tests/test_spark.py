"""The Spark engine (Spark local[2]) agrees with the pandas path: summaries, fits and scores.

Summaries are compared with the pandas engine exactly (counts, times, ids, attrs) and the
spend means to 1e-13 relative (both engines add a customer's spend by the same rule, in an
order of their own); fits on the collected distinct rows give the pandas estimates; scores
computed on the executors equal :func:`clvmodels.value.score_table` on the pandas summary.

Needs pyspark (the ``[spark]`` extra) and a Java 17 runtime; ``.ci/run`` installs both, so
under CI a missing one fails here instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import clvmodels as clv
from clvmodels.errors import ClvDataError, DataWarning
from clvmodels.value import score_table

from engine_check import assert_same_summary
from reference_values import CDNOW

if os.environ.get("CI"):
    import pyspark  # noqa: F401  (CI installs the [spark] extra: a missing one is a failure)

    assert shutil.which("java"), "no Java runtime: .ci/run installs openjdk-17-jre-headless"
else:
    pytest.importorskip("pyspark")
    if not shutil.which("java"):
        pytest.skip("no Java runtime for Spark (apt-get install openjdk-17-jre-headless)", allow_module_level=True)

import clvmodels.spark as cs  # noqa: E402

@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # executors run this interpreter (PySpark refuses a worker of another minor version)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[2]").appName("clvmodels-tests")
               .config("spark.sql.shuffle.partitions", "3")
               .config("spark.default.parallelism", "2")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.memory", "1g")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _both(spark, tx: pd.DataFrame, *args, **kwargs):
    """(pandas summary, Spark summary as pandas) with the same warnings."""
    with warnings.catch_warnings(record=True) as ref_w:
        warnings.simplefilter("always")
        ref = clv.rfm_summary(tx, *args, engine="pandas", **kwargs)
    with warnings.catch_warnings(record=True) as got_w:
        warnings.simplefilter("always")
        got = cs.to_pandas(cs.rfm_summary(spark.createDataFrame(tx), *args, **kwargs))
    ours = [(w.category, str(w.message)) for w in got_w if w.category.__module__.startswith("clvmodels")]
    assert ours == [(w.category, str(w.message)) for w in ref_w]
    assert_same_summary(ref, got, "Spark")
    return ref, got


# --------------------------------------------------------------------------- summaries
@pytest.mark.parametrize("unit,window", [
    ("W", {"calibration_end": "1997-09-30", "observation_end": "1998-06-30"}),
    ("D", {}),
    ("M", {"calibration_end": "1997-06-30"}),
])
def test_cdnow_summary_equals_pandas(spark, cdnow_transactions, unit, window):
    ref, got = _both(spark, cdnow_transactions, "customer_id", "date", "amount", unit=unit, **window)
    assert len(got) == len(ref) > 1000


def test_cdnow_published_counts_through_spark(spark, cdnow_transactions):
    _, got = _both(spark, cdnow_transactions, "customer_id", "date", "amount", unit="W",
                   calibration_end=CDNOW["calibration_end"], observation_end=CDNOW["observation_end"])
    assert len(got) == 2357
    assert got["frequency"].sum() == CDNOW["sum_frequency"]


def test_apparel_log_with_text_dates_and_a_holdout(spark, shared_data):
    tx = pd.read_csv(shared_data / "apparel_transactions.csv")
    assert tx["date"].dtype == object or pd.api.types.is_string_dtype(tx["date"])  # parsed by our rules
    _, got = _both(spark, tx, "customer_id", "date", "amount", unit="W",
                   calibration_end="2007-12-31", observation_end="2010-12-20")
    assert len(got) == 600


def test_same_day_purchases_are_one_purchase(spark):
    tx = pd.DataFrame({"c": [5, 5, 5, 5, 6], "d": ["2024-03-01 08:00", "2024-03-01 23:59", "2024-03-01 00:00",
                                                 "2024-03-09 12:00", "2024-03-02 10:00"],
                       "v": [1.25, 2.5, 0.0, 4.0, 3.0]})
    _, got = _both(spark, tx, "c", "d", "v", unit="D")
    assert got.loc[5].tolist() == [1.0, 8.0, 8.0, 4.0]


def test_customers_first_seen_after_calibration_end_are_left_out_with_the_same_warning(spark):
    tx = pd.DataFrame({"c": ["x", "y", "y", "z", "w"],
                       "d": ["2024-01-01", "2024-01-02", "2024-02-01", "2024-02-03", "2024-03-05"],
                       "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    _, got = _both(spark, tx, "c", "d", "v", calibration_end="2024-01-31", observation_end="2024-02-29")
    assert got.index.tolist() == ["x", "y"] and got.attrs["n_excluded"] == 2 and got.index.dtype == "str"


def test_offsets_in_text_dates_keep_the_stated_local_day(spark):
    tx = pd.DataFrame({"c": [1, 1, 2], "d": ["2024-01-01 23:30+05:00", "2024-01-02 00:30+05:00",
                                             "2024-01-01 10:00+05:00"], "v": [1.0, 2.0, 3.0]})
    _, got = _both(spark, tx, "c", "d", "v")
    assert got.loc[1, "frequency"] == 1.0


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles"])
def test_timestamps_count_days_on_the_session_calendar(spark, zone):
    local = pd.to_datetime(["2024-03-30 23:30", "2024-03-31 00:30", "2024-03-31 23:59", "2024-04-02 00:01",
                            "2024-03-30 12:00"])
    tx = pd.DataFrame({"c": ["a", "a", "a", "a", "b"], "d": local.tz_localize(zone), "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    old = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", zone)
    try:
        _, got = _both(spark, tx, "c", "d", "v", unit="D", calibration_end="2024-04-01", observation_end="2024-04-02")
    finally:
        spark.conf.set("spark.sql.session.timeZone", old)
    assert got.loc["a", ["frequency", "recency", "T", "frequency_holdout"]].tolist() == [1.0, 1.0, 2.0, 1.0]


def test_the_summary_carries_its_window_and_more_partitions_change_nothing(spark, cdnow_transactions):
    sdf = spark.createDataFrame(cdnow_transactions)
    kw = dict(unit="W", calibration_end="1997-09-30")
    one = cs.rfm_summary(sdf, "customer_id", "date", "amount", partitions=1, **kw)
    seven = cs.rfm_summary(sdf, "customer_id", "date", "amount", partitions=7, **kw)
    assert cs.summary_attrs(seven)["calibration_end"] == "1997-09-30" and seven.columns[0] == "customer_id"
    assert_same_summary(cs.to_pandas(one), cs.to_pandas(seven), "partitions")
    assert cs.summary_attrs(seven.filter("frequency > 0"))["unit"] == "W"  # survives a filter


# --------------------------------------------------------------------------- summary options
@pytest.mark.parametrize("unit,options", [
    ("W", {"periods": "calendar"}),
    ("M", {"periods": "calendar", "regularity": True}),
    ("D", {"include_first_transaction": True, "regularity": True}),
    ("W", {"periods": "calendar", "include_first_transaction": True, "regularity": True}),
])
def test_cdnow_summary_options_equal_pandas(spark, cdnow_transactions, unit, options):
    ref, got = _both(spark, cdnow_transactions, "customer_id", "date", "amount", unit=unit,
                     calibration_end="1997-09-30", observation_end="1998-06-30", **options)
    assert len(got) == 2357
    assert ("litt" in got.columns) == options.get("regularity", False)
    assert got.attrs.get("periods", "continuous") == options.get("periods", "continuous")
    if options.get("include_first_transaction"):  # every customer's first purchase day is counted
        assert (got["frequency"] >= 1).all()


def _adversarial_log(zone: str) -> pd.DataFrame:
    # same-day purchases around midnight and a daylight-saving change, a calendar week and month cut
    # by the calibration end (Wednesday 2024-04-10), a customer first seen after it, zoned timestamps
    local = pd.to_datetime(["2024-03-30 23:30", "2024-03-31 00:30", "2024-03-31 23:59", "2024-04-02 00:01",
                            "2024-04-08 10:00", "2024-04-11 09:00", "2024-04-15 00:00",
                            "2024-03-30 12:00", "2024-03-30 13:00",
                            "2024-04-20 08:00", "2024-04-21 08:00",
                            "2024-03-04 00:00", "2024-04-10 23:59"])
    return pd.DataFrame({"c": ["a"] * 7 + ["b"] * 2 + ["late"] * 2 + ["d"] * 2, "d": local.tz_localize(zone),
                         "v": [1.0, 2.0, 3.0, 4.0, 5.5, 6.0, 7.0, 8.0, 0.0, 9.0, 1.0, 2.25, 3.0]})


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles"])
@pytest.mark.parametrize("unit,options", [
    ("D", {"regularity": True}),
    ("W", {"periods": "calendar", "regularity": True}),
    ("M", {"periods": "calendar", "include_first_transaction": True, "regularity": True}),
    ("W", {"include_first_transaction": True}),
])
def test_adversarial_logs_with_summary_options_equal_pandas(spark, zone, unit, options):
    old = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", zone)
    try:
        ref, got = _both(spark, _adversarial_log(zone), "c", "d", "v", unit=unit, calibration_end="2024-04-10",
                         observation_end="2024-04-30", **options)
    finally:
        spark.conf.set("spark.sql.session.timeZone", old)
    assert got.index.tolist() == ["a", "b", "d"] and got.attrs["n_excluded"] == 1
    if unit == "D" and not options.get("include_first_transaction"):
        # local purchase days of 'a': 03-30, 03-31, 04-02, 04-08 (gaps 1, 2, 6 days); 'b': one day
        assert got.loc["a", ["frequency", "recency", "T"]].tolist() == [3.0, 9.0, 11.0]
        assert got.loc["a", "litt"] == pytest.approx(np.log(2.0) + np.log(6.0), rel=1e-15)
        assert got.loc["b", "litt"] == 0.0


def test_summary_options_are_checked_as_in_pandas(spark):
    sdf = spark.createDataFrame(pd.DataFrame({"c": ["a"], "d": ["2024-01-01"]}))
    with pytest.raises(ValueError, match="'periods' parameter of rfm_summary must be 'continuous' or 'calendar'"):
        cs.rfm_summary(sdf, "c", "d", periods="weekly")
    with pytest.raises(TypeError, match="'regularity' parameter must be True or False"):
        cs.rfm_summary(sdf, "c", "d", regularity="yes")
    with pytest.raises(TypeError, match="'include_first_transaction' parameter must be True or False"):
        cs.rfm_summary(sdf, "c", "d", include_first_transaction=1)


# --------------------------------------------------------------------------- bad input
def test_bad_logs_are_refused_with_the_pandas_engine_s_errors(spark):
    good = pd.DataFrame({"c": ["a", "b", "b"], "d": ["2024-01-01", "2024-01-02", "2024-01-09"], "v": [1.0, 2.0, 3.0]})
    sdf = spark.createDataFrame(good)
    with pytest.raises(ClvDataError, match=r"has no column 'amount'.*Pass the right names"):
        cs.rfm_summary(sdf, "c", "d", "amount")
    with pytest.raises(ClvDataError, match="empty"):
        cs.rfm_summary(sdf.limit(0), "c", "d", "v")
    no_id = spark.createDataFrame([(None, "2024-01-01", 1.0), ("a", "2024-01-02", 2.0)], "c string, d string, v double")
    with pytest.raises(ClvDataError, match=r"Column 'c' has 1 missing customer id .*2024-01-01"):
        cs.rfm_summary(no_id, "c", "d", "v")
    bad_day = spark.createDataFrame([("a", "2024-01-01", 1.0), ("b", "not a date", 2.0)], "c string, d string, v double")
    with pytest.raises(ClvDataError, match=r"Column 'd' has 1 missing or unparsable date at 1 row of customers 'b'"):
        cs.rfm_summary(bad_day, "c", "d", "v")
    refund = spark.createDataFrame([("a", "2024-01-01", 1.0), ("b", "2024-01-02", -2.0)], "c string, d string, v double")
    with pytest.raises(ClvDataError, match=r"Column 'v' must hold finite, non-negative.*customers 'b'.*-2\.0"):
        cs.rfm_summary(refund, "c", "d", "v")
    text_amount = spark.createDataFrame([("a", "2024-01-01", "1,5")], "c string, d string, v string")
    with pytest.raises(ClvDataError, match="decimal commas"):
        cs.rfm_summary(text_amount, "c", "d", "v")
    with pytest.raises(ClvDataError, match="calibration_end 2023-12-01 is before the first purchase"):
        cs.rfm_summary(sdf, "c", "d", "v", calibration_end="2023-12-01")
    with pytest.raises(TypeError, match="Spark DataFrame"):
        cs.rfm_summary(good, "c", "d", "v")
    with pytest.raises(ClvDataError, match="not carry a summary's window"):
        cs.fit(clv.BetaGeo(), spark.createDataFrame(pd.DataFrame({"frequency": [1.0], "recency": [1.0], "T": [2.0]})))


# --------------------------------------------------------------------------- fits and scores
@pytest.fixture(scope="module")
def cdnow_spark(spark, cdnow_transactions):
    kw = dict(unit="W", calibration_end=CDNOW["calibration_end"], observation_end=CDNOW["observation_end"])
    summary = cs.rfm_summary(spark.createDataFrame(cdnow_transactions), "customer_id", "date", "amount", **kw)
    return summary.cache(), clv.rfm_summary(cdnow_transactions, "customer_id", "date", "amount", **kw)


def test_fits_on_the_distinct_rows_equal_the_pandas_fits(cdnow_spark):
    summary, ref = cdnow_spark
    bg = cs.fit(clv.BetaGeo(), summary)
    bg_ref = clv.BetaGeo().fit(ref)
    assert bg.fit_.converged and bg.n_customers_ == len(ref)
    for k, v in bg_ref.params_.items():
        assert bg.params_[k] == pytest.approx(v, rel=1e-9)
    assert bg.loglik_ == pytest.approx(bg_ref.loglik_, rel=1e-12)
    assert bg.fit_.info["n_unique_rows"] == bg_ref.fit_.info["n_unique_rows"]  # the same compression
    with pytest.warns(DataWarning, match="1411 customers left out of the Gamma-Gamma fit"):
        gg = cs.fit(clv.GammaGamma(), summary, drop_unfittable=True)
    gg_ref = clv.GammaGamma().fit(ref[ref.frequency > 0])
    for k, v in gg_ref.params_.items():
        assert gg.params_[k] == pytest.approx(v, rel=1e-8)


def test_scores_computed_on_the_executors_equal_score_table(cdnow_spark):
    summary, ref = cdnow_spark
    bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    kw = dict(horizon=12, unit="M", discount_rate=0.01)
    got = cs.score(summary, bg, gg, batch_rows=500, **kw).toPandas().set_index("customer_id")
    want = score_table(bg, gg, ref, **kw)
    assert sorted(got.index) == sorted(want.index)
    pd.testing.assert_frame_equal(got.loc[want.index], want, check_exact=True, check_names=False,
                                  check_index_type=False)


def test_posterior_scores_carry_the_same_intervals(cdnow_spark):
    summary, ref = cdnow_spark
    bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    bg.fit(ref)
    post = clv.BetaGeo.from_fit(bg.fit_.sample_asymptotic(draws=60, random_seed=1))
    got = cs.score(summary, post, None, horizon=6, unit="M").toPandas().set_index("customer_id")
    want = score_table(post, None, ref, horizon=6, unit="M")
    assert any(c.startswith("p_alive_") for c in got.columns)  # the posterior's interval columns
    pd.testing.assert_frame_equal(got.loc[want.index], want, check_exact=True, check_names=False,
                                  check_index_type=False)


def test_a_model_travels_as_plain_json_and_comes_back_the_same():
    bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    post = clv.BetaGeo.from_fit(_posterior_of(bg))
    payload = cs.model_payload(post)
    assert isinstance(payload, str) and payload.lstrip().startswith("{")
    back = cs.model_from_payload(payload)
    for k in bg.params_.index:
        np.testing.assert_array_equal(back.fit_.draws()[k], post.fit_.draws()[k])
    assert back.fit_.unit == "W"
    assert cs.model_from_payload(cs.model_payload(bg)).params_.equals(bg.params_)


def _posterior_of(model):
    import xarray as xr

    rng = np.random.default_rng(0)
    ds = xr.Dataset({k: (("chain", "draw"), v * np.exp(rng.normal(0, 0.05, (2, 5)))) for k, v in model.params_.items()})
    return clv.Posterior(model.spec, xr.DataTree.from_dict({"posterior": ds}), unit="W")
