"""TF Serving JSON cost around a run: parsing a REST body, writing a response, reading warmup records.

    python benchmarks/bench_serving.py

Sizes follow common serving payloads: one 224x224x3 image as nested floats (row and columnar), a batch of
64 tf.Examples, a 64x1000 float32 score output, and 1000 warmup records (TF Serving's maximum).
"""
from __future__ import annotations

import json
import statistics
import time
from types import SimpleNamespace

import numpy as np

from smlens import dtypes, serving
from smlens.model import TensorSpec
from smlens.proto import serving_pb2
from smlens.serving import jsonio
from smlens.serving.response import predict_response
from smlens.serving.warmup import read_records, write_record
from smlens.sources import MemorySource
from smlens.tensors import from_numpy


def timed(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def graph(inputs: dict, method: str = "tensorflow/serving/predict"):
    specs = {k: TensorSpec(k, f"{k}:0", dtypes.from_name(d), None) for k, d in inputs.items()}
    return SimpleNamespace(signatures={"serving_default": SimpleNamespace(key="serving_default", method_name=method,
                                                                          inputs=specs, outputs={})})


def main() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((224, 224, 3), dtype=np.float32)
    rows = json.dumps({"instances": [image.tolist()]})
    cols = json.dumps({"inputs": {"x": [image.tolist()]}})
    g = graph({"x": "float32"})
    t_json = timed(lambda: json.loads(rows))
    t_row = timed(lambda: serving.parse_request(rows, g))
    t_col = timed(lambda: serving.parse_request(cols, g))
    print(f"224x224x3 float body ({len(rows) / 1e6:.2f} MB): json.loads {t_json * 1e3:.1f} ms, "
          f"row parse {t_row * 1e3:.1f} ms ({t_row / t_json:.1f}x json.loads), columnar {t_col * 1e3:.1f} ms")
    t_depth = timed(lambda: jsonio.text_depth(rows))
    print(f"nesting pre-check: {t_depth * 1e3:.1f} ms ({t_depth / t_json:.2f}x json.loads)")

    examples = json.dumps({"examples": [{"x": rng.random(16).tolist(), "tag": "abc", "n": 3} for _ in range(64)]})
    t_ex = timed(lambda: serving.parse_request(examples, graph({"inputs": "string"}, "tensorflow/serving/classify")))
    print(f"64 tf.Examples (16 floats, a string, an int each): {t_ex * 1e3:.1f} ms")

    scores = rng.random((64, 1000), dtype=np.float32)
    sig = SimpleNamespace(outputs={"scores": TensorSpec("scores", "s:0", dtypes.float32, None)})
    t_out = timed(lambda: jsonio.dumps(predict_response({"scores": scores}, sig, "row")))
    t_ref = timed(lambda: json.dumps(scores.tolist()))
    print(f"64x1000 float32 response: {t_out * 1e3:.1f} ms ({t_out / t_ref:.1f}x plain json.dumps of the list)")

    log = serving_pb2.PredictionLog()
    log.predict_log.request.inputs["x"].CopyFrom(from_numpy(rng.random((1, 64), dtype=np.float32)))
    data = write_record(log.SerializeToString()) * 1000
    src = MemorySource({"w": data})
    t_rec = timed(lambda: read_records(src, "w"))
    print(f"1000 warmup records ({len(data) / 1e3:.0f} kB), CRC-checked: {t_rec * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
