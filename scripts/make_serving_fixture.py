"""Write tests/data/serving/half_plus_three: a TF1 SavedModel in a TF-Serving version folder (half_plus_three/1)
with predict, classify and regress signatures, assets.extra/tf_serving_warmup_requests (written with
TensorFlow's own TFRecordWriter; PredictionLog serialized with smlens' schema, which has TF Serving's field
numbers) and reference.json: TensorFlow's outputs for every warmup record and for the REST examples of TF
Serving's documentation.

    SMLENS_TF_PYTHON=/path/to/tf/python .venv/bin/python scripts/make_serving_fixture.py [OUT_DIR]

Runs with smlens' Python (the PredictionLog schema) and calls TensorFlow's interpreter ($SMLENS_TF_PYTHON or
--tf-python) for the model, the TensorProtos, the reference outputs and the TFRecord writing: TensorFlow's
and smlens' descriptors (both declare package tensorflow) cannot share one process.

y = 0.5 * x + 3, like TF Serving's half_plus_three test model.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "pysrc"))

import numpy as np  # noqa: E402

if "--tf-stage" in sys.argv:
    import tensorflow as tf
    tf1 = tf.compat.v1


def build(export_dir: str) -> dict:
    """Build and save the model; returns a session runner for reference outputs."""
    graph = tf.Graph()
    with graph.as_default():
        a = tf1.get_variable("a", initializer=tf.constant(0.5))
        b = tf1.get_variable("b", initializer=tf.constant(3.0))
        # predict: a float vector
        x = tf1.placeholder(tf.float32, [None], name="x")
        y = tf.identity(a * x + b, name="y")
        # classify / regress: serialized tf.Examples with feature x
        serialized = tf1.placeholder(tf.string, [None], name="tf_example")
        parsed = tf1.io.parse_example(serialized, {"x": tf1.io.FixedLenFeature([1], tf.float32)})
        xe = tf.reshape(parsed["x"], [-1])
        ye = tf.identity(a * xe + b, name="y_examples")
        scores = tf.reshape(ye, [-1, 1], name="scores")
        # echo: several dtypes, a string output whose name ends in _bytes
        ids = tf1.placeholder(tf.int64, [None], name="ids")
        text = tf1.placeholder(tf.string, [None], name="text")
        ids_plus = tf.identity(ids + 1, name="ids_plus")
        text_bang = tf.strings.join([text, "!"], name="text_bang")
        text_bytes = tf.identity(text, name="text_bytes")
        sdu = tf1.saved_model.signature_def_utils
        sigs = {
            "serving_default": sdu.predict_signature_def({"x": x}, {"y": y}),
            "tensorflow/serving/regress": sdu.regression_signature_def(serialized, ye),
            "classify_x_to_y": sdu.classification_signature_def(serialized, None, scores),
            "echo": sdu.predict_signature_def({"ids": ids, "text": text},
                                              {"ids_plus": ids_plus, "text": text_bang, "text_bytes": text_bytes}),
        }
        sess = tf1.Session(graph=graph)
        sess.run(tf1.global_variables_initializer())
        builder = tf1.saved_model.Builder(export_dir)
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map=sigs, strip_default_attrs=True)
        builder.save()

    def run(sig: str, feeds: dict) -> dict:
        s = sigs[sig]
        out = sess.run({k: v.name for k, v in s.outputs.items()},
                       {s.inputs[k].name: v for k, v in feeds.items()})
        return {k: np.asarray(v) for k, v in out.items()}
    return {"run": run}


def example(**features) -> bytes:
    ex = tf.train.Example()
    for k, v in features.items():
        ex.features.feature[k].float_list.value.extend(v)
    return ex.SerializeToString()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def jsonable(v: np.ndarray):
    if v.dtype == object:
        return [b64(x) for x in v.reshape(-1)]
    return v.astype(np.float64 if v.dtype.kind == "f" else v.dtype).tolist()


def tf_stage(out: str, work: str) -> None:
    """In TensorFlow's interpreter: save the model, compute reference outputs, write the record pieces."""
    base = os.path.join(out, "half_plus_three")
    shutil.rmtree(base, ignore_errors=True)
    run = build(os.path.join(base, "1"))["run"]
    tensor = lambda a: b64(tf.make_tensor_proto(a).SerializeToString())  # noqa: E731
    x = np.array([1.0, 2.0, 5.0], np.float32)
    ids, text = np.array([7, -2], np.int64), np.array([b"caf\xc3\xa9", b"\xff\x00raw"], object)
    two = [example(x=[1.0]), example(x=[2.0])]
    merged = [example(x=[9.0]) + example(x=[4.0]), example(x=[9.0])]
    multi = np.array([example(x=[-1.0]), example(x=[0.25])], object)
    echo = run("echo", {"ids": ids, "text": text})
    pieces = {
        "x": tensor(x), "ids": tensor(ids), "text": tensor(text),
        "two": [b64(e) for e in two], "context": b64(example(x=[9.0])), "four": b64(example(x=[4.0])),
        "multi": [b64(e) for e in multi],
        "refs": [
            {"kind": "predict", "outputs": {"y": jsonable(run("serving_default", {"x": x})["y"])}},
            {"kind": "predict", "outputs": {"ids_plus": jsonable(echo["ids_plus"]),
                                            "text_bytes": jsonable(echo["text_bytes"])}},
            {"kind": "regress", "outputs": jsonable(run("tensorflow/serving/regress",
                                                        {"inputs": np.array(two, object)})["outputs"])},
            {"kind": "classify", "outputs": jsonable(run("classify_x_to_y",
                                                         {"inputs": np.array(merged, object)})["scores"])},
            {"kind": "multi_inference", "outputs": [
                jsonable(run("classify_x_to_y", {"inputs": multi})["scores"]),
                jsonable(run("tensorflow/serving/regress", {"inputs": multi})["outputs"])]},
        ],
        "docs": {"predict_instances": jsonable(run("serving_default", {"x": x})["y"]),
                 "regress_examples": jsonable(run("tensorflow/serving/regress",
                                                  {"inputs": np.array(two, object)})["outputs"])},
        "tensorflow": tf.__version__,
    }
    with open(os.path.join(work, "pieces.json"), "w") as f:
        json.dump(pieces, f)


def tf_write_records(path: str, work: str) -> None:
    with open(os.path.join(work, "records.json")) as f:
        records = [base64.b64decode(r) for r in json.load(f)]
    with tf.io.TFRecordWriter(path) as w:
        for r in records:
            w.write(r)


def prediction_logs(p: dict) -> list[bytes]:
    """The warmup records, one per log type, with smlens' schema."""
    from smlens.proto import serving_pb2, types_pb2
    d = base64.b64decode
    logs = []

    log = serving_pb2.PredictionLog()             # predict, serving_default
    log.log_metadata.saved_model_tags.append("serve")
    log.predict_log.request.model_spec.name = "half_plus_three"
    log.predict_log.request.inputs["x"].CopyFrom(types_pb2.TensorProto.FromString(d(p["x"])))
    logs.append(log)

    log = serving_pb2.PredictionLog()             # predict, echo: output filter, non-UTF-8 bytes
    req = log.predict_log.request
    req.model_spec.signature_name = "echo"
    req.inputs["ids"].CopyFrom(types_pb2.TensorProto.FromString(d(p["ids"])))
    req.inputs["text"].CopyFrom(types_pb2.TensorProto.FromString(d(p["text"])))
    req.output_filter.extend(["ids_plus", "text_bytes"])
    logs.append(log)

    log = serving_pb2.PredictionLog()             # regress
    req = log.regress_log.request
    req.model_spec.signature_name = "tensorflow/serving/regress"
    for e in p["two"]:
        req.input.example_list.examples.add().ParseFromString(d(e))
    logs.append(log)

    log = serving_pb2.PredictionLog()             # classify, context + an empty example
    req = log.classify_log.request
    req.model_spec.signature_name = "classify_x_to_y"
    ctx = req.input.example_list_with_context
    ctx.context.ParseFromString(d(p["context"]))
    ctx.examples.add().ParseFromString(d(p["four"]))
    ctx.examples.add()
    logs.append(log)

    log = serving_pb2.PredictionLog()             # multi_inference: classify + regress on one input
    req = log.multi_inference_log.request
    for sig, method in (("classify_x_to_y", "tensorflow/serving/classify"),
                        ("tensorflow/serving/regress", "tensorflow/serving/regress")):
        t = req.tasks.add()
        t.model_spec.signature_name = sig
        t.method_name = method
    for e in p["multi"]:
        req.input.example_list.examples.add().ParseFromString(d(e))
    logs.append(log)
    return [log.SerializeToString() for log in logs]


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--tf-stage" in sys.argv:
        stage, out, work = args
        (tf_stage if stage == "model" else tf_write_records)(out, work)
        return
    tf_python = os.environ.get("SMLENS_TF_PYTHON")
    for a in sys.argv[1:]:
        if a.startswith("--tf-python="):
            tf_python = a.split("=", 1)[1]
    if not tf_python:
        sys.exit("set SMLENS_TF_PYTHON (or --tf-python=PATH) to a Python with TensorFlow")
    out = args[0] if args else os.path.join(ROOT, "tests", "data", "serving")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([tf_python, __file__, "--tf-stage", "model", out, work], check=True, env=env)
        with open(os.path.join(work, "pieces.json")) as f:
            pieces = json.load(f)
        with open(os.path.join(work, "records.json"), "w") as f:
            json.dump([b64(r) for r in prediction_logs(pieces)], f)
        extra = os.path.join(out, "half_plus_three", "1", "assets.extra")
        os.makedirs(extra)
        subprocess.run([tf_python, __file__, "--tf-stage", "records",
                        os.path.join(extra, "tf_serving_warmup_requests"), work], check=True, env=env)
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"tensorflow": pieces["tensorflow"], "warmup": pieces["refs"], "docs": pieces["docs"]}, f,
                  indent=1)
        f.write("\n")
    print("wrote", os.path.join(out, "half_plus_three"))


if __name__ == "__main__":
    main()
