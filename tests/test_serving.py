"""TF Serving's formats: REST JSON requests and responses (rules and texts of json_tensor.cc and the REST API
documentation), warmup records (TFRecord of PredictionLog) and model metadata; round trips on corpus models and
on tests/data/serving/half_plus_three (made with TensorFlow 2.21 by scripts/make_serving_fixture.py)."""
from __future__ import annotations

import base64
import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import smlens
from smlens import dtypes, serving
from smlens.cli import main as cli_main
from smlens.errors import FormatError, InputError, NotFoundError
from smlens.model import TensorSpec
from smlens.proto import example_pb2, serving_pb2
from smlens.serving import jsonio
from smlens.serving.warmup import WARMUP_PATH, write_record

pytestmark = pytest.mark.pyodide   # the same core runs in the page

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "data" / "corpus"
HPT = HERE / "data" / "serving" / "half_plus_three"
HPT_REF = json.loads((HERE / "data" / "serving" / "reference.json").read_text())


def fake_graph(inputs: dict, method: str = "tensorflow/serving/predict", name: str = "serving_default"):
    """A MetaGraph stand-in with one signature of these {key: dtype name} inputs (parsing needs no graph)."""
    specs = {k: TensorSpec(k, f"{k}:0", dtypes.from_name(d), None) for k, d in sorted(inputs.items())}
    sig = SimpleNamespace(key=name, method_name=method, inputs=specs, outputs={})
    return SimpleNamespace(signatures={name: sig})


def parse(body, inputs, **kw):
    return serving.parse_request(json.dumps(body) if not isinstance(body, str) else body, fake_graph(inputs, **kw))


# ------------------------------------------------------------------------------------------ number formatting

@pytest.mark.parametrize("value,bits,text", [
    (0.2, 32, "0.2"), (1.0, 32, "1.0"), (9000000.0, 32, "9e+06"), (3e-05, 32, "3e-05"), (-0.0, 32, "-0.0"),
    (1 / 3, 32, "0.333333343"), (1 / 3, 64, "0.33333333333333331"), (0.1, 64, "0.1"), (123456789.0, 64, "123456789.0"),
    (float("nan"), 32, "NaN"), (float("inf"), 64, "Infinity"), (float("-inf"), 32, "-Infinity"),
])
def test_decimal_formatting_follows_tf_serving(value, bits, text):
    if bits == 32:
        value = float(np.float32(value))
    assert jsonio.decimal(value, bits) == text


def test_decimal_round_trips_every_float32_exactly():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(2000).astype(np.float32) * 10.0 ** rng.integers(-30, 30, 2000),
                        np.float32([1e-45, 3.4028235e38, 16777217.0])]).astype(np.float32)
    back = np.array([float(jsonio.decimal(float(v), 32)) for v in x], np.float32)
    assert np.array_equal(back.view(np.uint32), x.view(np.uint32))


def test_nan_and_infinity_tokens_in_requests():
    req = parse('{"instances": [1.0, -3.14, NaN, Infinity, -Infinity]}', {"x": "float32"})
    x = req.feeds["x"]
    assert x.dtype == np.float32 and math.isnan(x[2]) and x[3] == np.inf and x[4] == -np.inf


# ------------------------------------------------------------------------------------------ predict requests

def test_row_format_single_input_documented_examples():
    assert parse({"instances": ["foo", "bar", "baz"]}, {"t": "string"}).feeds["t"].tolist() == [b"foo", b"bar", b"baz"]
    req = parse({"instances": [[[1, 2]], [[3, 4]]]}, {"x": "int32"})
    assert req.format == "row" and req.feeds["x"].shape == (2, 1, 2) and req.feeds["x"].dtype == np.int32
    assert parse({"instances": [1.0, 2.0, 5.0]}, {"x": "float32"}).feeds["x"].tolist() == [1.0, 2.0, 5.0]


DOC_ROWS = {"instances": [{"tag": "foo", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]},
                          {"tag": "bar", "signal": [3, 4, 1, 2, 5], "sensor": [[4, 5], [6, 8]]}]}
DOC_COLUMNS = {"inputs": {"tag": ["foo", "bar"], "signal": [[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]],
                          "sensor": [[[1, 2], [3, 4]], [[4, 5], [6, 8]]]}}
DOC_INPUTS = {"tag": "string", "signal": "int64", "sensor": "float32"}


def test_row_and_columnar_documented_examples_give_the_same_tensors():
    rows, cols = parse(DOC_ROWS, DOC_INPUTS), parse(DOC_COLUMNS, DOC_INPUTS)
    assert (rows.format, cols.format) == ("row", "columnar")
    for k in DOC_INPUTS:
        assert rows.feeds[k].dtype == cols.feeds[k].dtype
        assert rows.feeds[k].tolist() == cols.feeds[k].tolist()
    assert rows.feeds["sensor"].shape == (2, 2, 2) and rows.feeds["signal"].dtype == np.int64


def test_b64_strings_and_plain_single_input_columnar():
    raw = b"\x00\xffimage bytes"
    req = parse({"inputs": [{"b64": base64.b64encode(raw).decode()}, "text"]}, {"img": "string"})
    assert req.feeds["img"].tolist() == [raw, b"text"]
    req = parse({"instances": [{"b64": "aW1hZ2UgYnl0ZXM="}]}, {"img": "string"})  # a b64 item is a value
    assert req.feeds["img"].tolist() == [b"image bytes"]
    assert parse({"inputs": {"b64": "YQ"}}, {"img": "string"}).feeds["img"][()] == b"a"   # unpadded


def test_signature_name_and_default():
    g = fake_graph({"x": "float32"}, name="other")
    with pytest.raises(NotFoundError, match='Serving signature name: "serving_default" not found in signature def'):
        serving.parse_request('{"instances": [1.0]}', g)
    assert serving.parse_request('{"signature_name": "other", "instances": [1.0]}', g).signature_name == "other"


@pytest.mark.parametrize("body,inputs,message", [
    ("", {"x": "float32"}, "JSON Parse error: The document is empty"),
    ("{", {"x": "float32"}, "JSON Parse error: .* at offset: 1"),
    ("[1]", {"x": "float32"}, "JSON Value: \\[1\\] Is not object"),
    ({"signature_name": 3, "inputs": 1.0}, {"x": "float32"}, "'signature_name' key must be a string value"),
    ({"instances": [1.0], "inputs": [1.0]}, {"x": "float32"}, "expecting only one of 'inputs' or 'instances'"),
    ({"foo": 1}, {"x": "float32"}, "Missing 'inputs' or 'instances' key"),
    ({"instances": []}, {"x": "float32"}, "No values in 'instances' array"),
    ({"instances": 1.0}, {"x": "float32"}, "Excepting 'instances' to be an list/array"),
    ({"instances": [1.0, 2.0]}, {"x": "float32", "y": "float32"}, "instances is a plain list, but expecting list of objects"),
    ({"inputs": [1.0]}, {"x": "float32", "y": "float32"}, "inputs is a plain value/list, but expecting an object"),
    ({"inputs": {"x": [1.0]}}, {"x": "float32", "y": "float32"}, "Missing named input: y in 'inputs' object."),
    ({"instances": [{"x": 1.0}, [2.0]]}, {"x": "float32"}, "Expecting object but got list at item 1 of input list"),
    ({"instances": [[2.0], {"x": 1.0}]}, {"x": "float32"}, "Expecting value/list but got object at item 1 of input list"),
    ({"instances": [{"x": 1.0, "z": 2.0}]}, {"x": "float32"}, "JSON object: does not have named input: z"),
    ({"instances": [{"x": 1.0}]}, {"x": "float32", "y": "float32"}, "keys must be equal to: x,y"),
    ({"instances": [[1.0, 2.0], [1.0]]}, {"x": "float32"}, "Expecting tensor size: 2 but got: 1"),
    ({"instances": [[[1.0, 2.0]], [[1.0], [2.0]]]}, {"x": "float32"}, "Expecting shape \\[1,2\\] but got: \\[2,1\\]"),
    ({"inputs": [[1.0, 2.0], [3.0]]}, {"x": "float32"}, "Encountered list at unexpected size: 1 at level: 1 expected size: 2"),
    ({"inputs": [[1.0, 2.0], 3.0]}, {"x": "float32"}, "JSON Value: 3.0 found at incorrect level: 2 in the JSON DOM. Expected at level: 2"),
    ({"inputs": [1.0, [2.0]]}, {"x": "float32"}, "Encountered list at unexpected level: 1 expected < 1"),
    ({"inputs": [16777217]}, {"x": "float32"}, "Cannot convert JSON value: 16777217 to float without loss of precision."),
    ({"inputs": [1e300]}, {"x": "float32"}, "to float without loss of precision"),
    ({"inputs": [1.5]}, {"x": "int32"}, "JSON Value: 1.5 Type: Number is not of expected type: int32"),
    ({"inputs": [2 ** 31]}, {"x": "int32"}, "Type: Number is not of expected type: int32"),
    ({"inputs": [300]}, {"x": "uint8"}, "300 is out of range for uint8"),
    ({"inputs": [-1]}, {"x": "uint64"}, "is not of expected type: uint64"),
    ({"inputs": ["1"]}, {"x": "float32"}, 'JSON Value: "1" Type: String is not of expected type: float'),
    ({"inputs": [1]}, {"x": "bool"}, "Type: Number is not of expected type: bool"),
    ({"inputs": [True]}, {"x": "int64"}, "Type: True is not of expected type: int64"),
    ({"inputs": [1]}, {"x": "string"}, "Type: Number is not of expected type: string"),
    ({"inputs": [{"x": 1}]}, {"x": "float32"}, "Type: Object is not of expected type: float"),
    ({"inputs": [{"b64": "!!"}]}, {"x": "string"}, "Unable to base64 decode"),
    ({"inputs": [{"b64": "YQ==", "y": 1}]}, {"x": "string"}, "not formatted correctly for base64 data"),
    ({"inputs": [1.0]}, {"x": "float16"}, "Conversion of JSON Value: 1.0 to type: half"),
])
def test_request_errors_are_tf_servings(body, inputs, message):
    with pytest.raises(InputError, match=message):
        parse(body, inputs)


def test_deep_nesting_is_refused_not_a_crash():
    with pytest.raises(InputError, match="nested"):
        parse('{"inputs": ' + "[" * 100000 + "]" * 100000 + "}", {"x": "float32"})
    with pytest.raises(InputError, match="nested deeper"):
        parse('{"inputs": ' + "[" * 100 + "1.0" + "]" * 100 + "}", {"x": "float32"})


# ------------------------------------------------------------------------------------------ classify / regress bodies

def features(serialized: bytes) -> dict:
    ex = example_pb2.Example.FromString(serialized)
    out = {}
    for k, f in ex.features.feature.items():
        kind = f.WhichOneof("kind")
        out[k] = (kind, list(getattr(f, kind).value)) if kind else (None, [])
    return out


def test_documented_classify_body_with_b64_image():
    body = {"signature_name": "classify_objects", "examples": [
        {"image": {"b64": "aW1hZ2UgYnl0ZXM="}, "caption": "seaside"},
        {"image": {"b64": "YXdlc29tZSBpbWFnZSBieXRlcw=="}, "caption": "mountains"}]}
    req = parse(body, {"inputs": "string"}, method="tensorflow/serving/classify", name="classify_objects")
    assert (req.method, req.format, req.num_examples) == ("classify", "examples", 2)
    ex = [features(s) for s in req.feeds["inputs"]]
    assert ex[0] == {"image": ("bytes_list", [b"image bytes"]), "caption": ("bytes_list", [b"seaside"])}
    assert ex[1]["image"] == ("bytes_list", [b"awesome image bytes"])


def test_feature_kinds_context_and_merging():
    body = {"context": {"q": "pizza", "w": 1.5}, "examples": [
        {"n": 3, "f": [1.0, 2.5, NaN_], "b": [True, False], "w": 2.0, "e": []}]}
    text = json.dumps(body).replace('"NaN_"', "NaN")
    req = parse(text, {"inputs": "string"}, method="tensorflow/serving/regress")
    f = features(req.feeds["inputs"][0])
    assert f["q"] == ("bytes_list", [b"pizza"]) and f["n"] == ("int64_list", [3])
    assert f["b"] == ("int64_list", [1, 0]) and f["e"] == (None, [])
    assert f["f"][0] == "float_list" and f["f"][1][:2] == [1.0, 2.5] and math.isnan(f["f"][1][2])
    assert f["w"] == ("float_list", [2.0])   # the example's own value wins over the context's


NaN_ = "NaN_"


@pytest.mark.parametrize("examples,message", [
    ([{"x": [1, 2.5]}], "Unexpected element type in feature: x expecting type: int64"),
    ([{"x": ["a", 1]}], "Unexpected element type in feature: x expecting type: bytes"),
    ([{"x": None}], "Feature: x has element with unexpected JSON type: Null"),
    ([{"x": [[1]]}], "Feature: x has element with unexpected JSON type: Array"),
    ([{"x": {"y": 1}}], "Feature: x has element with unexpected JSON type: Object"),
    ([{"x": 2 ** 63}], "Feature: x has uint64 element. Only int64 is supported."),
    ([{"x": 1e300}], "to float without loss of precision"),
    (["x"], "Example must be JSON object but got JSON String"),
    ([], "'examples' value is an empty array"),
    ({"x": 1}, "Expecting 'examples' value to be an list/array"),
])
def test_example_errors(examples, message):
    with pytest.raises(InputError, match=message):
        parse({"examples": examples}, {"inputs": "string"}, method="tensorflow/serving/classify")


def test_examples_need_a_classify_or_regress_signature():
    with pytest.raises(InputError, match="method_name 'tensorflow/serving/predict'"):
        parse({"examples": [{"x": 1.0}]}, {"inputs": "string"})
    g = fake_graph({"inputs": "string"})
    with pytest.raises(InputError, match="Expected classification signature method_name to be "
                                         "tensorflow/serving/classify. Was: tensorflow/serving/predict"):
        serving.parse_request('{"examples": [{"x": 1.0}]}', g, "classify")


# ------------------------------------------------------------------------------------------ responses

def fake_sig(outputs: dict):
    return SimpleNamespace(key="s", outputs={k: TensorSpec(k, f"{k}:0", dtypes.from_name(d), None)
                                             for k, d in outputs.items()})


def test_predict_response_shapes():
    sig = fake_sig({"a": "float32", "b": "int64"})
    outs = {"a": np.float32([[0.5, 1.0], [2.0, np.nan]]), "b": np.int64([7, 8])}
    assert serving.dumps(serving.response.predict_response({"a": outs["a"]}, sig, "row")) == \
        '{\n    "predictions": [[0.5, 1.0], [2.0, NaN]]\n}'
    rows = json.loads(serving.dumps(serving.response.predict_response(outs, sig, "row")))
    assert rows["predictions"][0] == {"a": [0.5, 1.0], "b": 7} and math.isnan(rows["predictions"][1]["a"][1])
    cols = json.loads(serving.dumps(serving.response.predict_response(outs, sig, "columnar")))
    assert cols["outputs"]["b"] == [7, 8]
    assert json.loads(serving.dumps(serving.response.predict_response({"b": outs["b"]}, sig, "columnar"))) == \
        {"outputs": [7, 8]}


def test_string_outputs_bytes_suffix_and_non_utf8():
    sig = fake_sig({"t": "string", "t_bytes": "string"})
    a = np.array([b"caf\xc3\xa9", b"\xff"], object)
    body = serving.response.predict_response({"t": a, "t_bytes": a}, sig, "columnar")["outputs"]
    assert body["t"] == ["café", {"b64": "/w=="}]
    assert body["t_bytes"] == [{"b64": "Y2Fmw6k="}, {"b64": "/w=="}]


def test_response_errors():
    sig = fake_sig({"a": "float32", "b": "float32", "h": "float16"})
    with pytest.raises(InputError, match="Tensor name: a has no shape information"):
        serving.response.predict_response({"a": np.float32(1.0)}, sig, "row")
    with pytest.raises(InputError, match="Tensor name: b has inconsistent batch size: 3 expecting: 2"):
        serving.response.predict_response({"a": np.zeros(2, np.float32), "b": np.zeros(3, np.float32)}, sig, "row")
    with pytest.raises(InputError, match="Failed to write JSON value for tensor type: half"):
        serving.response.predict_response({"h": np.zeros(2, np.float16)}, sig, "columnar")
    assert serving.response.predict_response({"a": np.float32(1.0)}, sig, "columnar") == {"outputs": "1.0"}


# ------------------------------------------------------------------------------------------ corpus round trips

def reference(case: str):
    return np.load(CORPUS / case / "reference.npz"), json.loads((CORPUS / case / "reference.json").read_text())


def ref_strings(refjson: dict, key: str) -> list[bytes]:
    return [base64.b64decode(s) for s in refjson["strings"][key]["b64"]]


def examples_json(serialized: list[bytes]) -> list[dict]:
    from smlens.serving.warmup import _example_json
    return json.loads(serving.dumps([_example_json(example_pb2.Example.FromString(s)) for s in serialized]))


def test_builder_multi_predict_row_and_columnar():
    m = smlens.open(CORPUS / "builder_multi" / "model")
    z, _ = reference("builder_multi")
    x = z["serving_default/inputs/x"].tolist()
    for body in ({"instances": x}, {"signature_name": "predict", "inputs": {"x": x}}):
        req = serving.parse_request(serving.dumps(body), m.meta_graph("serve"))
        resp = json.loads(serving.dumps(serving.run_request(req)[0]))
        if "predictions" in resp:
            got = {k: np.array([row[k] for row in resp["predictions"]]) for k in ("probabilities", "y")}
        else:
            got = {k: np.array(v) for k, v in resp["outputs"].items()}
        for k in ("probabilities", "y"):
            np.testing.assert_allclose(got[k], z[f"serving_default/outputs/{k}"], rtol=1e-5, atol=1e-6)


def test_builder_multi_classify_and_regress_from_rest_examples():
    m = smlens.open(CORPUS / "builder_multi" / "model")
    z, r = reference("builder_multi")
    body = {"signature_name": "classify", "examples": examples_json(ref_strings(r, "classify/inputs/inputs"))}
    resp = json.loads(serving.dumps(serving.run_request(serving.parse_request(json.dumps(body), m.meta_graph()))[0]))
    labels = ref_strings(r, "classify/outputs/classes")
    got = resp["results"]
    assert [[c[0] for c in row] for row in got] == [[s.decode() for s in labels[i * 3:i * 3 + 3]] for i in range(2)]
    np.testing.assert_allclose([[c[1] for c in row] for row in got], z["classify/outputs/scores"], rtol=1e-5, atol=1e-6)
    body = {"signature_name": "regress", "examples": examples_json(ref_strings(r, "regress/inputs/inputs"))}
    resp = json.loads(serving.dumps(serving.run_request(serving.parse_request(json.dumps(body), m.meta_graph()))[0]))
    np.testing.assert_allclose(resp["results"], z["regress/outputs/outputs"][:, 0], rtol=1e-5, atol=1e-6)


def test_parse_example_regress_with_sparse_features():
    m = smlens.open(CORPUS / "parse_example" / "model")
    z, r = reference("parse_example")
    body = {"signature_name": "regress", "examples": examples_json(ref_strings(r, "regress/inputs/inputs"))}
    req = serving.parse_request(json.dumps(body), m.meta_graph())
    assert req.method == "regress"
    resp = json.loads(serving.dumps(serving.run_request(req)[0]))
    np.testing.assert_allclose(resp["results"], z["regress/outputs/outputs"][:, 0], rtol=1e-5, atol=1e-6)


def test_tf2_keras_row_format():
    m = smlens.open(CORPUS / "keras_mlp" / "model")
    z, _ = reference("keras_mlp")
    body = {"instances": z["serving_default/inputs/features"].tolist()}
    resp = json.loads(serving.dumps(serving.run_request(serving.parse_request(json.dumps(body), m.meta_graph()))[0]))
    np.testing.assert_allclose(resp["predictions"], z["serving_default/outputs/output_0"], rtol=1e-4, atol=1e-5)


def test_tf2_mixed_dtypes_columnar_with_scalars_and_strings():
    m = smlens.open(CORPUS / "module_output_names" / "model")
    z, r = reference("module_output_names")
    s = [b.decode("utf-8") for b in ref_strings(r, "serving_default/inputs/s")]
    body = {"inputs": {"a": z["serving_default/inputs/a"].tolist(), "flag": bool(z["serving_default/inputs/flag"]),
                       "n": int(z["serving_default/inputs/n"]), "s": s}}
    req = serving.parse_request(json.dumps(body), m.meta_graph())
    out = json.loads(serving.dumps(serving.run_request(req)[0]))["outputs"]
    np.testing.assert_allclose(out["branch_out"], z["serving_default/outputs/branch_out"], rtol=1e-5, atol=1e-6)
    assert out["var_loop_sum"] == int(z["serving_default/outputs/var_loop_sum"])
    assert out["lengths"] == z["serving_default/outputs/lengths"].tolist()
    assert out["upper"] == [b.decode("utf-8") for b in ref_strings(r, "serving_default/outputs/upper")]
    assert out["joined"] == ref_strings(r, "serving_default/outputs/joined")[0].decode("utf-8")
    with pytest.raises(InputError, match="Tensor name: .* has no shape information"):
        serving.response.response_for(serving.ServingRequest("predict", "row", req.signature_name, req.signature,
                                                             req.feeds), serving.run_request(req)[1])


# ------------------------------------------------------------------------------------------ TF Serving's docs, unchanged

def test_documented_half_plus_three_calls():
    m = smlens.open(HPT)
    req = serving.parse_request('{"instances": [1.0,2.0,5.0]}', m.meta_graph())
    assert serving.dumps(serving.run_request(req)[0]) == '{\n    "predictions": [3.5, 4.0, 5.5]\n}'
    assert HPT_REF["docs"]["predict_instances"] == [3.5, 4.0, 5.5]
    body = '{"signature_name": "tensorflow/serving/regress", "examples": [{"x": 1.0}, {"x": 2.0}]}'
    resp = serving.run_request(serving.parse_request(body, m.meta_graph()))[0]
    assert json.loads(serving.dumps(resp)) == {"results": HPT_REF["docs"]["regress_examples"]}


# ------------------------------------------------------------------------------------------ warmup

def test_warmup_written_by_tensorflow_replays_like_tensorflow():
    m = smlens.open(HPT)
    records = serving.read_warmup(m)
    assert [r.kind for r in records] == ["predict", "predict", "regress", "classify", "multi_inference"]
    refs = HPT_REF["warmup"]
    out = [json.loads(serving.dumps(serving.replay(r, m))) for r in records]
    assert out[0] == {"outputs": refs[0]["outputs"]["y"]}
    assert out[1]["outputs"]["ids_plus"] == refs[1]["outputs"]["ids_plus"]
    assert out[1]["outputs"]["text_bytes"] == [{"b64": s} for s in refs[1]["outputs"]["text_bytes"]]
    assert set(out[1]["outputs"]) == {"ids_plus", "text_bytes"}          # output_filter honoured
    assert out[2] == {"results": refs[2]["outputs"]}
    assert out[3] == {"results": [[["", v[0]]] for v in refs[3]["outputs"]]}
    assert out[4]["results"][0]["results"] == [[["", v[0]]] for v in refs[4]["outputs"][0]]
    assert out[4]["results"][1]["results"] == refs[4]["outputs"][1]


def test_warmup_bodies_are_rest_requests_that_run():
    m = smlens.open(HPT)
    for rec in serving.read_warmup(m):
        d = serving.warmup.describe(rec)
        if rec.kind == "multi_inference":
            assert d["body"] is None
            continue
        req = serving.parse_request(d["body"], m.meta_graph())
        resp = json.loads(serving.dumps(serving.run_request(req)[0]))
        expect = json.loads(serving.dumps(serving.replay(rec, m)))
        if rec.kind == "predict":
            for k, v in expect["outputs"].items() if isinstance(expect["outputs"], dict) else [("", expect["outputs"])]:
                assert (resp["outputs"][k] if k else resp["outputs"]) == v
        else:
            assert resp == expect


def copy_model(tmp_path: Path, records: list[bytes] | bytes) -> Path:
    dst = tmp_path / "m"
    shutil.copytree(HPT / "1", dst)
    data = records if isinstance(records, bytes) else b"".join(write_record(r) for r in records)
    (dst / WARMUP_PATH).write_bytes(data)
    return dst


def predict_log(x: list[float], sig: str = "") -> bytes:
    from smlens.tensors import from_numpy
    log = serving_pb2.PredictionLog()
    log.predict_log.request.model_spec.signature_name = sig
    log.predict_log.request.inputs["x"].CopyFrom(from_numpy(np.float32(x)))
    return log.SerializeToString()


def test_warmup_records_written_with_our_schema(tmp_path):
    log = serving_pb2.PredictionLog()
    log.regress_log.request.model_spec.signature_name = "tensorflow/serving/regress"
    ex = log.regress_log.request.input.example_list.examples.add()
    ex.features.feature["x"].float_list.value.append(10.0)
    m = smlens.open(copy_model(tmp_path, [predict_log([0.0, -2.0]), log.SerializeToString()]))
    recs = serving.read_warmup(m)
    assert serving.replay(recs[0], m) == {"outputs": ["3.0", "2.0"]}
    assert serving.replay(recs[1], m) == {"results": ["8.0"]}
    assert serving.warmup.describe(recs[1])["body"] == serving.dumps(
        {"signature_name": "tensorflow/serving/regress", "examples": [{"x": [jsonio.Raw("10.0")]}]})


def test_corrupt_warmup_record_is_named(tmp_path):
    good = write_record(predict_log([1.0]))
    bad = bytearray(write_record(predict_log([2.0])))
    bad[20] ^= 0x01
    m = smlens.open(copy_model(tmp_path, good + bytes(bad)))
    with pytest.raises(FormatError, match=f"tf_serving_warmup_requests: record 1 at offset {len(good)}: "
                                          "corrupt data \\(CRC32C mismatch\\)"):
        serving.read_warmup(m)
    head = bytearray(good)
    head[3] ^= 0x10
    with pytest.raises(FormatError, match="record 0 at offset 0: corrupt length"):
        serving.read_warmup(smlens.open(copy_model(tmp_path / "b", bytes(head))))
    with pytest.raises(FormatError, match="record 1 at offset .*: truncated"):
        serving.read_warmup(smlens.open(copy_model(tmp_path / "c", good + good[:-3])))
    with pytest.raises(FormatError, match="record 1 .*truncated header"):
        serving.read_warmup(smlens.open(copy_model(tmp_path / "d", good + good[:5])))
    with pytest.raises(FormatError, match="record 0: not a PredictionLog"):
        serving.read_warmup(smlens.open(copy_model(tmp_path / "e", [b"\xff\xff\xff"])))
    with pytest.raises(FormatError, match="exceeds the maximum \\(1000\\)"):
        serving.read_warmup(smlens.open(copy_model(tmp_path / "f", good * 1001)))


def test_warmup_replay_errors_name_the_record(tmp_path):
    m = smlens.open(copy_model(tmp_path, [predict_log([1.0], sig="nope")]))
    with pytest.raises(NotFoundError, match='warmup record 0 \\(predict nope\\): Serving signature name: "nope"'):
        serving.replay(serving.read_warmup(m)[0], m)


# ------------------------------------------------------------------------------------------ metadata

def test_metadata_is_tf_servings_get_model_metadata():
    m = smlens.open(HPT)
    text = serving.metadata_text(m)
    assert text.startswith('{\n"model_spec":{\n "name": "half_plus_three",\n "version": "1",\n')
    doc = json.loads(text)
    sigs = doc["metadata"]["signature_def"]["signature_def"]
    assert set(sigs) == set(m.meta_graph("serve").proto.signature_def)
    x = sigs["serving_default"]["inputs"]["x"]
    assert x == {"name": "x:0", "dtype": "DT_FLOAT", "tensor_shape": {"dim": [{"size": "-1", "name": ""}],
                                                                      "unknown_rank": False}}
    assert sigs["classify_x_to_y"]["method_name"] == "tensorflow/serving/classify"
    assert doc["model_spec"]["signature_name"] == ""


def test_metadata_name_and_version():
    assert serving.name_and_version("models/resnet/17") == ("resnet", 17)
    assert serving.name_and_version("exports/my_model") == ("my_model", 1)
    m = smlens.open(CORPUS / "builder_multi" / "model")
    doc = json.loads(serving.metadata_text(m, "bm", 3))
    assert doc["model_spec"]["name"] == "bm" and doc["model_spec"]["version"] == "3"
    assert "lookup" in doc["metadata"]["signature_def"]["signature_def"]          # the 'serve' MetaGraph's map
    assert "train" not in doc["metadata"]["signature_def"]["signature_def"]


# ------------------------------------------------------------------------------------------ CLI

def test_cli_request_warmup_metadata(tmp_path, capsys):
    req = tmp_path / "r.json"
    req.write_text('{"instances": [1.0, 2.0, 5.0]}')
    assert cli_main(["run", "--dir", str(HPT), "--request", str(req), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"predictions": [3.5, 4.0, 5.5]}
    assert cli_main(["run", "--dir", str(HPT), "--request", str(req)]) == 0
    assert capsys.readouterr().out.startswith("Result for output key y:\n[3.5 4.  5.5]")
    assert cli_main(["run", "--dir", str(HPT), "--warmup", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [i["kind"] for i in items][:3] == ["predict", "predict", "regress"] and items[2]["response"] == \
        {"results": [3.5, 4.0]}
    assert cli_main(["show", "--dir", str(HPT), "--serving_metadata"]) == 0
    assert json.loads(capsys.readouterr().out)["model_spec"]["name"] == "half_plus_three"
    req.write_text('{"instances": [1.0, "a"]}')
    assert cli_main(["run", "--dir", str(HPT), "--request", str(req), "--json"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {req}: Failed to process element: 1 of 'instances' list.") and err.count("\n") == 1
    assert cli_main(["run", "--dir", str(CORPUS / "builder_multi" / "model"), "--warmup"]) == 1
    assert "no warmup requests" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ the page's side (webapi)

def page_call(kind: str, args: dict, files: list[Path] | None = None, root: Path | None = None) -> dict:
    from smlens import webapi
    data = [p.read_bytes() for p in files or []]
    entries = [{"path": p.relative_to(root).as_posix(), "size": len(d)} for p, d in zip(files or [], data)]
    if files:
        args = dict(args, files=entries)
    text, _ = webapi.handle(kind, json.dumps(args), [], lambda i, off, n: data[i][off:off + n])
    return json.loads(text)


def open_in_page(model_dir: Path, root: Path) -> dict:
    return page_call("open", {}, sorted(p for p in model_dir.rglob("*") if p.is_file()), root)


def test_page_runs_bodies_lists_warmup_and_shows_metadata():
    assert open_in_page(HPT, HPT.parent)["kind"] == "saved_model"
    res = page_call("serving_run", {"tags": ["serve"], "body": '{"instances": [1.0,2.0,5.0]}'})
    assert (res["method"], res["format"], res["signature"]) == ("predict", "row", "serving_default")
    assert json.loads(res["response"]) == {"predictions": [3.5, 4.0, 5.5]}
    assert res["curl"] == ("curl -d @- http://localhost:8501/v1/models/half_plus_three:predict <<'EOF'\n"
                           '{"instances":[1.0,2.0,5.0]}\nEOF\n')
    assert res["outputs"][0]["key"] == "y" and res["outputs"][0]["shape"] == [3]
    listing = page_call("serving_warmup", {})
    assert [r["kind"] for r in listing["records"]] == ["predict", "predict", "regress", "classify", "multi_inference"]
    assert listing["records"][4]["body"] is None
    replay = page_call("serving_replay", {"index": 2})
    assert json.loads(replay["response"]) == {"results": [3.5, 4.0]}
    meta = page_call("serving_metadata", {})
    assert json.loads(meta["text"])["model_spec"]["name"] == "half_plus_three" and meta["model_name"] == "half_plus_three"
    err = page_call("serving_run", {"body": '{"instances": []}'})["error"]
    assert err["kind"] == "InputError" and "No values in 'instances' array" in err["message"]


@pytest.mark.parametrize("signature", ["serving_default", "classify_x_to_y", "tensorflow/serving/regress", "echo"])
def test_page_templates_are_bodies_that_parse(signature):
    open_in_page(HPT, HPT.parent)
    body = page_call("serving_template", {"tags": ["serve"], "signature": signature})["body"]
    res = page_call("serving_run", {"tags": ["serve"], "body": body})
    assert res.get("signature") == signature, res


def test_page_reports_a_corrupt_warmup_file_without_failing(tmp_path):
    dst = copy_model(tmp_path, write_record(predict_log([1.0]))[:-1])
    open_in_page(dst, tmp_path)
    listing = page_call("serving_warmup", {})
    assert listing["records"] == [] and "record 0 at offset 0: truncated" in listing["error"]
    assert "error" not in page_call("serving_run", {"body": '{"inputs": [2.0]}'})


def test_warmup_classify_with_empty_input_is_refused(tmp_path):
    log = serving_pb2.PredictionLog()
    log.classify_log.request.model_spec.signature_name = "classify_x_to_y"
    m = smlens.open(copy_model(tmp_path, [log.SerializeToString()]))
    rec = serving.read_warmup(m)[0]
    assert serving.warmup.describe(rec)["summary"] == "classify classify_x_to_y: 0 examples"
    with pytest.raises(InputError, match="warmup record 0 \\(classify classify_x_to_y\\): Input is empty."):
        serving.replay(rec, m)


def test_vectorised_decimals_equal_the_scalar_rule():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.standard_normal(3000) * 10.0 ** rng.integers(-40, 40, 3000),
                        [0.0, -0.0, 1.0, 9e6, 3e-5, np.nan, np.inf, -np.inf, 123456789.0, 0.1]])
    with np.errstate(over="ignore"):
        x32 = x.astype(np.float32)
    for bits, arr in ((32, x32), (64, x)):
        assert jsonio.decimals(arr, bits) == [jsonio.decimal(float(v), bits) for v in arr]


@pytest.mark.parametrize("value,dtype", [
    ([[1, 2.5], [3, -4]], "float32"), ([[1, 2], [3, 4]], "float64"), ([16777215, -16777215], "float32"),
    ([[1, -2]], "int8"), ([0, 255], "uint8"), ([2 ** 63 - 1, -2 ** 63], "int64"), ([2 ** 32 - 1], "uint32"),
    ([True, False], "bool"), ([["a", "é"]], "string"), ([], "float32"), ([[], []], "int32"), (1.5, "float64"),
    ([1e38, -3.4e38], "float32"),
])
def test_fast_conversion_equals_the_element_wise_rules(value, dtype):
    from smlens.serving.request import _fill, dense_shape, tensor_from_json
    dt = dtypes.from_name(dtype)
    got = tensor_from_json(value, dt)
    flat: list = []
    _fill(value, 0, dense_shape(value), dt, flat)
    want = np.array(flat, dtype=dt.np).reshape(dense_shape(value)) if dtype != "string" else \
        np.array(flat, dtype=object).reshape(dense_shape(value))
    assert got.dtype == want.dtype and got.shape == want.shape and got.tolist() == want.tolist()
