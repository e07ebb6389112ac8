"""Issue 10 section 7: loading refuses bad files with one error type, naming the file and the field."""

from __future__ import annotations

import json

import numpy as np
import pytest

import clvmodels as clv
from clvmodels.errors import ModelFileError

GOOD = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W").to_dict()


def _write(tmp_path, payload, name="m.json"):
    path = tmp_path / name
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return path


BAD_PAYLOADS = [
    ("no params", {k: v for k, v in GOOD.items() if k != "params"}, "field 'params'"),
    ("params a list", {**GOOD, "params": [1, 2, 3, 4]}, "field 'params'"),
    ("a parameter missing", {**GOOD, "params": {"r": 0.2, "alpha": 4.0, "a": 0.8}}, "field 'params' must hold exactly"),
    ("an unknown parameter", {**GOOD, "params": {**GOOD["params"], "s": 1.0}}, "field 'params' must hold exactly"),
    ("a string parameter", {**GOOD, "params": {**GOOD["params"], "r": "0.2"}}, "field 'params.r'"),
    ("a NaN parameter", {**GOOD, "params": {**GOOD["params"], "alpha": None}}, "field 'params.alpha'"),
    ("a parameter off its support", {**GOOD, "params": {**GOOD["params"], "a": -1.0}}, "field 'params.a' must be > 0"),
    ("a boolean parameter", {**GOOD, "params": {**GOOD["params"], "b": True}}, "field 'params.b'"),
    ("string se", {**GOOD, "se": "small"}, "field 'se'"),
    ("se of a string", {**GOOD, "se": {"r": "x"}}, "field 'se'"),
    ("unknown unit", {**GOOD, "unit": "fortnight"}, "field 'unit'"),
    ("numeric unit", {**GOOD, "unit": 7}, "field 'unit'"),
    ("ragged cov", {**GOOD, "cov": [[1.0, 0.0], [0.0]]}, "field 'cov'"),
    ("string loglik", {**GOOD, "loglik": "high"}, "field 'loglik'"),
    ("string converged", {**GOOD, "converged": "yes"}, "field 'converged'"),
    ("negative n_customers", {**GOOD, "n_customers": -5}, "field 'n_customers'"),
    ("numeric fingerprint", {**GOOD, "data_fingerprint": 12}, "field 'data_fingerprint'"),
    ("unknown model", {**GOOD, "model": "no_such_model"}, "unknown model 'no_such_model'"),
    ("model not a string", {**GOOD, "model": ["bgnbd"]}, "unknown model"),
    ("other format", {**GOOD, "format": "pickle"}, "Not a clvmodels point-estimate file"),
    ("other version", {**GOOD, "format_version": 2}, "format version 2"),
    ("a list", [1, 2], "holds a list, not an object"),
    ("a number", 3, "holds a int, not an object"),
]


@pytest.mark.parametrize("label, payload, field", BAD_PAYLOADS, ids=[b[0] for b in BAD_PAYLOADS])
def test_a_bad_payload_raises_model_file_error_naming_file_and_field(tmp_path, label, payload, field):
    path = _write(tmp_path, payload)
    with pytest.raises(ModelFileError, match=field) as info:
        clv.load_model(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text", ["{not json", "[" * 100_000 + "]" * 100_000, "\x80\x81binary", ""],
                         ids=["truncated", "deeply nested", "binary", "empty"])
def test_unreadable_json_raises_model_file_error(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(ModelFileError, match="is not a clvmodels JSON model file"):
        clv.load_model(path)


def test_missing_file_and_folder_raise_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        clv.load_model(tmp_path / "nope.json")
    with pytest.raises(ModelFileError, match="it is a folder"):
        clv.load_model(tmp_path)


def test_saved_json_is_strict_and_round_trips_nan_standard_errors(tmp_path):
    s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
                        calibration_end="1997-09-30")
    gg = clv.GammaGamma().fit(s[s.frequency > 0])
    fit = gg.fit_
    import dataclasses

    with_nan = clv.GammaGamma.from_fit(dataclasses.replace(fit, se={**fit.se, "p": float("nan")}))
    path = with_nan.save(tmp_path / "gg.json")
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON literal {c}"))
    loaded = clv.load_model(path)
    assert np.isnan(loaded.se_["p"]) and loaded.params_.equals(gg.params_) and loaded.unit_ == gg.unit_
