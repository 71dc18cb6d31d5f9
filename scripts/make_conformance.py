"""Write tests/data/conformance/ (issue 11 conformance data) with TensorFlow 2.21. A development tool, not
run by CI; tests never import TensorFlow.

    $SMLENS_TF_PYTHON scripts/make_conformance.py [part ...]     (parts: show_na, models, v1_order)

- show_na/<case>.all.txt: `saved_model_cli show --all` of the corpus model module_basic mutated by
  tests/helpers/na_cases.py (function libraries TF cannot import: "N/A" lines).
- models/<case>/: small models + TF's outputs in the zoo layout of scripts/make_zoo_tf.py (audio,
  quantization, map_fn over strings, optional inputs, FTZ numerics, ...).
- v1_order/: V1 checkpoints and `inspect_checkpoint` texts (TF prints V1 tensors in hash-map order).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "conformance"
sys.path.insert(0, str(ROOT / "tests" / "helpers"))
sys.path.insert(0, str(ROOT / "scripts"))
CLI = Path(sys.executable).parent / "saved_model_cli"


def show_na() -> None:
    import na_cases
    from tensorflow.core.protobuf import saved_model_pb2
    src = ROOT / "tests" / "data" / "corpus" / "module_basic" / "model"
    dest = OUT / "show_na"
    dest.mkdir(parents=True, exist_ok=True)
    for name, mutate in na_cases.CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            model = Path(tmp) / "model"
            shutil.copytree(src, model)
            sm = saved_model_pb2.SavedModel()
            sm.ParseFromString((model / "saved_model.pb").read_bytes())
            mutate(sm)
            (model / "saved_model.pb").write_bytes(sm.SerializeToString())
            out = subprocess.run([str(CLI), "show", "--dir", str(model), "--all"], capture_output=True, text=True,
                                 env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            if out.returncode:
                raise SystemExit(f"{name}: saved_model_cli failed:\n{out.stderr[-2000:]}")
            (dest / f"{name}.all.txt").write_text(out.stdout)
            print(f"show_na/{name}: {out.stdout.strip().splitlines()[-1][:100]}")


# ---------------------------------------------------------------- models (zoo layout)

def models(names: list[str] | None = None) -> None:
    import make_zoo_tf as zoo
    zoo.OUT = OUT / "models"
    builders = _model_cases(zoo)
    for name in names or list(builders):
        zoo.write_case(name, builders[name])
        ref = zoo.OUT / name / "reference.json"     # write_case names the zoo in the description
        ref.write_text(ref.read_text(encoding="utf-8").replace(f'"zoo_tf/{name}:', f'"conformance/models/{name}:'),
                       encoding="utf-8")


def _model_cases(zoo) -> dict:
    import numpy as np
    import tensorflow as tf
    from make_zoo_tf import Run, s, spec

    cases = {}

    def case(description, features):
        def deco(fn):
            def build(path):
                runs = fn(path)
                return {"recorder": zoo.record_tf2(path, runs), "description": description, "features": features}
            cases[fn.__name__] = build
            return fn
        return deco

    rng = np.random.default_rng(11)

    @case("the speech-commands audio front end and WAV codecs", [
        "DecodeWav (all channels / desired_channels / desired_samples: pad and truncate)", "EncodeWav",
        "AudioSpectrogram (magnitude and magnitude_squared, stride < window)", "Mfcc (default and custom params)"])
    def audio(path):
        class Audio(tf.Module):
            @tf.function(input_signature=[spec([], tf.string)])
            def decode(self, wav):
                a, rate = tf.audio.decode_wav(wav)
                mono, _ = tf.audio.decode_wav(wav, desired_channels=1, desired_samples=300)
                short, _ = tf.audio.decode_wav(wav, desired_channels=2, desired_samples=50)
                return {"audio": a, "rate": rate, "mono": mono, "short": short,
                        "reencoded": tf.audio.encode_wav(a, rate)}

            @tf.function(input_signature=[spec([None, None]), spec([], tf.int32)])
            def encode(self, audio, rate):
                return {"wav": tf.audio.encode_wav(audio, rate)}

            @tf.function(input_signature=[spec([None, None]), spec([], tf.int32)])
            def features(self, audio, rate):
                spec_sq = tf.raw_ops.AudioSpectrogram(input=audio, window_size=64, stride=24, magnitude_squared=True)
                spec_mag = tf.raw_ops.AudioSpectrogram(input=audio, window_size=50, stride=50,
                                                       magnitude_squared=False)
                mfcc = tf.raw_ops.Mfcc(spectrogram=spec_sq, sample_rate=rate)
                mfcc2 = tf.raw_ops.Mfcc(spectrogram=spec_sq, sample_rate=rate, upper_frequency_limit=3000.0,
                                        lower_frequency_limit=100.0, filterbank_channel_count=20,
                                        dct_coefficient_count=8)
                return {"spec_sq": spec_sq, "spec_mag": spec_mag, "mfcc": mfcc, "mfcc2": mfcc2}

        m = Audio()
        tf.saved_model.save(m, str(path), signatures={"decode": m.decode, "encode": m.encode,
                                                      "features": m.features})
        t = np.arange(400) / 8000.0
        stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 1250 * t + 0.5)], axis=1)
        stereo = (stereo + rng.normal(0, 0.05, stereo.shape)).clip(-1, 1).astype(np.float32)
        wav = tf.audio.encode_wav(stereo, 8000).numpy()
        loud = np.array([[1.5, -1.2], [0.99999, -1.0], [0.5, 1e-6], [-0.00002, 0.25]], np.float32)
        mono = (0.6 * np.sin(2 * np.pi * 700 * np.arange(1000) / 16000.0)).astype(np.float32)[:, None]
        return [Run("decode", {"wav": np.array(wav, dtype=object)}),
                Run("encode", {"audio": loud, "rate": np.int32(22050)}),
                Run("features", {"audio": stereo, "rate": np.int32(8000)}, tol={"*": {"rtol": 2e-4, "atol": 2e-4}}),
                Run("features", {"audio": mono, "rate": np.int32(16000)}, tol={"*": {"rtol": 2e-4, "atol": 2e-4}})]

    @case("quantization ops: QuantizeV2/Dequantize in every mode, QuantizeAndDequantize V2/V3/V4, FakeQuant*", [
        "QuantizeV2 MIN_COMBINED / MIN_FIRST / SCALED, HALF_AWAY_FROM_ZERO / HALF_TO_EVEN, narrow_range, axis",
        "qint8 / quint8 / qint16 / quint16 / qint32 outputs (bitcast to ints in the signature)",
        "Dequantize every mode, per-axis, dtype=bfloat16",
        "QuantizeAndDequantizeV2 (range_given, signed_input, round_mode, narrow_range, axis), V3, V4",
        "FakeQuantWithMinMaxArgs / Vars / VarsPerChannel (num_bits, narrow_range)"])
    def quantize(path):
        Q = tf.quantization

        class Quant(tf.Module):
            @tf.function(input_signature=[spec([None, 3]), spec([]), spec([])])
            def quantize(self, x, lo, hi):
                out = {}
                for mode in ("MIN_COMBINED", "MIN_FIRST", "SCALED"):
                    for rmode in ("HALF_AWAY_FROM_ZERO", "HALF_TO_EVEN"):
                        if mode != "SCALED" and rmode == "HALF_TO_EVEN":
                            continue
                        for T, bits in ((tf.qint8, tf.int8), (tf.quint8, tf.uint8), (tf.qint16, tf.int16),
                                        (tf.quint16, tf.uint16), (tf.qint32, tf.int32)):
                            if mode == "SCALED" and T in (tf.quint8, tf.quint16):
                                continue
                            for narrow in ((False, True) if mode == "SCALED" else (False,)):
                                q, qmin, qmax = Q.quantize(x, lo, hi, T, mode=mode, round_mode=rmode,
                                                           narrow_range=narrow)
                                k = f"{mode}_{rmode[:4]}_{T.name}{'_n' if narrow else ''}"
                                out[k] = tf.bitcast(q, bits)
                                out[k + "_min"] = qmin
                                out[k + "_max"] = qmax
                                out[k + "_deq"] = Q.dequantize(q, qmin, qmax, mode=mode, narrow_range=narrow)
                return out

            @tf.function(input_signature=[spec([None, 3]), spec([3]), spec([3])])
            def per_channel(self, x, lo, hi):
                q, qmin, qmax = Q.quantize(x, lo, hi, tf.qint8, mode="SCALED", axis=1)
                q2, _, _ = Q.quantize(x, lo, hi, tf.quint8, mode="MIN_COMBINED", axis=1)
                return {"q": tf.bitcast(q, tf.int8), "min": qmin, "max": qmax,
                        "deq": Q.dequantize(q, qmin, qmax, mode="SCALED", axis=1),
                        "deq_bf16": tf.cast(Q.dequantize(q2, lo, hi, mode="MIN_COMBINED", axis=1,
                                                         dtype=tf.bfloat16), tf.float32),
                        "q2": tf.bitcast(q2, tf.uint8),
                        "deq2": Q.dequantize(q2, lo, hi, mode="MIN_COMBINED", axis=1)}

            @tf.function(input_signature=[spec([None, 3]), spec([]), spec([]), spec([3]), spec([3])])
            def qdq(self, x, lo, hi, clo, chi):
                out = {}
                for signed in (True, False):
                    for rng_given in (True, False):
                        for rmode in ("HALF_TO_EVEN", "HALF_UP"):
                            for narrow in (False, True):
                                k = f"v2_{'s' if signed else 'u'}{'r' if rng_given else ''}_{rmode}{'_n' if narrow else ''}"
                                out[k] = tf.raw_ops.QuantizeAndDequantizeV2(
                                    input=x, input_min=lo, input_max=hi, signed_input=signed, num_bits=5,
                                    range_given=rng_given, round_mode=rmode, narrow_range=narrow)
                out["v3_axis"] = tf.raw_ops.QuantizeAndDequantizeV3(input=x, input_min=clo, input_max=chi,
                                                                    num_bits=tf.constant(4), axis=1)
                out["v2_axis_auto"] = tf.raw_ops.QuantizeAndDequantizeV2(input=x, input_min=clo, input_max=chi,
                                                                         range_given=False, axis=1, num_bits=3)
                out["v3"] = tf.raw_ops.QuantizeAndDequantizeV3(input=x, input_min=lo, input_max=hi,
                                                               num_bits=tf.constant(6), range_given=False)
                out["v3_given"] = tf.raw_ops.QuantizeAndDequantizeV3(input=x, input_min=lo, input_max=hi,
                                                                     num_bits=tf.constant(3), signed_input=False,
                                                                     narrow_range=True)
                out["v4"] = tf.raw_ops.QuantizeAndDequantizeV4(input=x, input_min=lo, input_max=hi, num_bits=7,
                                                               range_given=True, round_mode="HALF_UP")
                out["fq_args"] = tf.quantization.fake_quant_with_min_max_args(x, -1.5, 2.0, num_bits=6)
                out["fq_args_n"] = tf.quantization.fake_quant_with_min_max_args(x, 0.3, 1.7, num_bits=8,
                                                                                narrow_range=True)
                out["fq_args_default"] = tf.quantization.fake_quant_with_min_max_args(x)
                out["fq_vars"] = tf.quantization.fake_quant_with_min_max_vars(x, lo, hi, num_bits=4)
                out["fq_vars_n"] = tf.quantization.fake_quant_with_min_max_vars(x, lo, hi, narrow_range=True)
                out["fq_pc"] = tf.quantization.fake_quant_with_min_max_vars_per_channel(x, clo, chi, num_bits=5)
                out["fq_pc_n"] = tf.quantization.fake_quant_with_min_max_vars_per_channel(x, clo, chi,
                                                                                          narrow_range=True)
                return out

        m = Quant()
        tf.saved_model.save(m, str(path), signatures={"quantize": m.quantize, "per_channel": m.per_channel,
                                                      "qdq": m.qdq})
        x = np.concatenate([rng.uniform(-3, 3, (6, 3)), [[0.0, 2.5, -2.5], [1e-3, -1e-3, 0.5], [7.0, -7.0, 0.0]],
                            np.array([[-1.0, 0.25, 1.5]]) * 1.0], 0).astype(np.float32)
        halfway = (np.arange(-8, 9, dtype=np.float32) / 4.0 + 1.0 / 8.0).reshape(-1, 1).repeat(3, 1)
        f32 = np.float32
        return [Run("quantize", {"x": x, "lo": f32(-2.0), "hi": f32(3.0)}),
                Run("quantize", {"x": x, "lo": f32(0.5), "hi": f32(0.5)}),
                Run("quantize", {"x": halfway, "lo": f32(-1.0), "hi": f32(1.0)}),
                Run("per_channel", {"x": x, "lo": np.array([-1.0, -3.0, 0.0], f32), "hi": np.array([1.0, 2.0, 4.0], f32)}),
                Run("qdq", {"x": x, "lo": f32(-2.0), "hi": f32(3.0), "clo": np.array([-1.0, -3.0, -0.5], f32),
                            "chi": np.array([1.0, 2.0, 4.0], f32)}),
                Run("qdq", {"x": halfway, "lo": f32(-1.0), "hi": f32(1.0), "clo": np.array([-1.0, -2.0, 0.0], f32),
                            "chi": np.array([1.0, 2.0, 1.0], f32)})]

    @case("tf.map_fn over a batch of encoded images (the TF Serving image signature) and ReadFile of an asset", [
        "map_fn over a string vector with DecodeImage/DecodeJpeg/DecodePng in the body (TensorList of strings)",
        "tf.io.read_file of a tf.saved_model.Asset at run time", "map_fn over a 2-D string tensor (rows)"])
    def map_strings(path):
        tmp = Path(tempfile.mkdtemp())
        (tmp / "notes.txt").write_bytes(b"line one\nzwei \xc3\xa9\n")

        class Images(tf.Module):
            def __init__(self):
                self.notes = tf.saved_model.Asset(str(tmp / "notes.txt"))

            @tf.function(input_signature=[spec([None], tf.string)])
            def serve(self, images):
                def decode(b):
                    img = tf.io.decode_image(b, channels=3, expand_animations=False)
                    return tf.image.resize(tf.cast(img, tf.float32), [4, 4])
                batch = tf.map_fn(decode, images, fn_output_signature=tf.float32)
                sizes = tf.map_fn(lambda b: tf.shape(tf.io.decode_png(b))[:2], images, fn_output_signature=tf.int32)
                return {"batch": batch, "sizes": sizes}

            @tf.function(input_signature=[spec([None, 2], tf.string)])
            def rows(self, words):
                return {"joined": tf.map_fn(lambda r: tf.strings.reduce_join(r, separator="+"), words,
                                            fn_output_signature=tf.string),
                        "firsts": tf.map_fn(lambda r: r[0], words)}

            @tf.function(input_signature=[])
            def notes_file(self):
                text = tf.io.read_file(self.notes.asset_path)
                return {"text": text, "lines": tf.strings.split(text, "\n")}

        m = Images()
        tf.saved_model.save(m, str(path), signatures={"serve": m.serve, "rows": m.rows, "notes": m.notes_file})
        shutil.rmtree(tmp)
        pics = [tf.io.encode_png(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).numpy() for h, w in ((5, 7), (4, 4))]
        gray = tf.io.encode_png(rng.integers(0, 255, (6, 3, 1), dtype=np.uint8)).numpy()
        return [Run("serve", {"images": s(*pics, gray)}, tol={"*": {"rtol": 1e-5, "atol": 1e-4}}),
                Run("rows", {"words": np.array([[b"a", b"b"], ["é".encode(), b""]], dtype=object)}),
                Run("notes", {})]

    @case("TF CPU numerics: denormals flushed to zero (FTZ/DAZ) in computing kernels, kept by copies", [
        "log(sigmoid(-88.5)) = -inf", "float32/float64/bfloat16 subnormal results and inputs flushed",
        "float16 subnormals kept", "Identity/ConcatV2/GatherV2/Select/Neg keep subnormal bits",
        "comparisons see flushed inputs", "reductions and MatMul on subnormal inputs"])
    def ftz(path):
        # max(-0.0, 0.0) is -0.0 in TF (Eigen's max keeps x on ties) and depends on NumPy's SIMD loop in smlens:
        # the sign of those zeros is not compared; an atol below the smallest subnormal still tells a subnormal
        # from a zero
        signless = {"rtol": 0.0, "atol": 1e-45}
        exact = {"*": {"rtol": 0.0, "atol": 0.0}, "relu": signless, "max": signless}

        class Ftz(tf.Module):
            @tf.function(input_signature=[spec([4]), spec([2]), spec([2], tf.float16), spec([2], tf.float64),
                                          spec([])])
            def numerics(self, x, big, h, d, zero):
                sub = x[:2]
                return {"logsig": tf.math.log(tf.sigmoid(zero - 88.5)),
                        "sigmoid": tf.sigmoid(tf.stack([zero - 88.5, zero - 100.0])),
                        "exp": tf.exp(tf.stack([zero - 88.0, zero - 100.0])),
                        "mul_tiny": big * (zero + 1e-30), "div": big / (zero + 1e30),
                        "square": tf.square(zero + 1e-20), "sqrt": tf.sqrt(tf.abs(x)), "relu": tf.nn.relu(x),
                        "add": x + zero, "mul": x * (zero + 2.0), "sub_tanh": tf.tanh(sub),
                        "equal0": tf.equal(x, zero), "less": tf.less(x, zero + 1e-41),
                        "sum": tf.reduce_sum(sub), "max": tf.reduce_max(sub),
                        "matmul": tf.matmul(tf.reshape(x, [1, 4]), tf.ones([4, 1])),
                        "to64": tf.cast(x, tf.float64) * tf.cast(zero + 0.5, tf.float64),
                        "f64": d * tf.cast(zero + 1e-20, tf.float64),
                        "identity": tf.identity(x), "concat": tf.concat([sub, x], 0), "gather": tf.gather(x, [1, 0]),
                        "select": tf.where(x > zero + 0.5, zero + 7.0, x), "neg": -x,
                        "bf16_mul": tf.cast(tf.cast(big * (zero + 1e-28), tf.bfloat16) * tf.cast(zero + 0.5,
                                                                                              tf.bfloat16), tf.float32),
                        "bf16_cast": tf.cast(tf.cast(sub, tf.bfloat16), tf.float32),
                        "f16_mul": h * tf.cast(zero + 0.01, tf.float16)}

        m = Ftz()
        tf.saved_model.save(m, str(path), signatures={"numerics": m.numerics})
        f32 = np.float32
        return [Run("numerics", {"x": np.array([1e-40, -1e-40, 4.0, 0.0], f32), "big": np.array([1e-10, 3.0], f32),
                                 "h": np.array([1e-4, 3e-5], np.float16), "d": np.array([1e-300, 2.0]),
                                 "zero": f32(0.0)}, tol=exact)]

    @case("int8 weights dequantized at run time (the quantized-weight export pattern)", [
        "int8 Const -> Bitcast(qint8) -> Dequantize (SCALED, per-axis and MIN_COMBINED) -> MatMul / Conv2D",
        "QuantizeV2 of activations -> Dequantize round trip inside the graph"])
    def quantized_weights(path):
        w8 = rng.integers(-128, 128, (3, 4), dtype=np.int8)
        k8 = rng.integers(-128, 128, (2, 2, 3, 2), dtype=np.int8)

        class QuantizedWeights(tf.Module):
            @tf.function(input_signature=[spec([None, 3]), spec([None, 5, 5, 3])])
            def serve(self, x, img):
                w = tf.quantization.dequantize(tf.bitcast(tf.constant(w8), tf.qint8), -0.5, 0.5, mode="SCALED")
                wc = tf.quantization.dequantize(tf.bitcast(tf.constant(w8), tf.qint8), [-0.1, -0.2, -0.3, -0.4],
                                                [0.1, 0.2, 0.3, 0.4], mode="SCALED", axis=1)
                wm = tf.quantization.dequantize(tf.bitcast(tf.constant(w8 + np.int8(0)), tf.qint8), -2.0, 1.0,
                                                mode="MIN_COMBINED")
                k = tf.quantization.dequantize(tf.bitcast(tf.constant(k8), tf.qint8), -0.25, 0.25, mode="SCALED")
                q, lo, hi = tf.quantization.quantize(tf.nn.relu(x), 0.0, 6.0, tf.quint8)
                act = tf.quantization.dequantize(q, lo, hi)
                return {"dense": tf.matmul(x, w), "per_channel": tf.matmul(x, wc), "min_combined": tf.matmul(x, wm),
                        "conv": tf.nn.conv2d(img, k, 1, "SAME"), "act_roundtrip": act}

        m = QuantizedWeights()
        tf.saved_model.save(m, str(path), signatures={"serve": m.serve})
        return [Run("serve", {"x": rng.normal(0, 2, (4, 3)).astype(np.float32),
                              "img": rng.normal(0, 1, (2, 5, 5, 3)).astype(np.float32)})]

    return cases


# ---------------------------------------------------------------- V1 checkpoints: names in TF's hash order

def v1_order() -> None:
    import tensorflow as tf
    v1 = tf.compat.v1
    dest = OUT / "v1_order"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    cases = {"few": 5, "rehash_29": 20, "rehash_127": 70, "many": 300}
    for name, count in cases.items():
        g = tf.Graph()
        with g.as_default():
            for i in range(count):
                scope = ["dense", "conv2d", "batch_norm", "embedding/weights", "lstm_cell"][i % 5]
                v1.get_variable(f"{scope}_{i}/{'kernel' if i % 3 else 'bias'}", shape=[1 + i % 3],
                                initializer=v1.constant_initializer(float(i)))
            if name == "many":
                v1.get_variable("partitioned", shape=[40, 2], initializer=v1.zeros_initializer(),
                                partitioner=v1.fixed_size_partitioner(3))
            saver = v1.train.Saver(write_version=v1.train.SaverDef.V1, sharded=(name == "many"))
            with v1.Session(graph=g) as sess:
                sess.run(v1.global_variables_initializer())
                (dest / name).mkdir(parents=True, exist_ok=True)
                prefix = saver.save(sess, str(dest / name / "model.ckpt"), write_meta_graph=False)
        target = prefix if (dest / name / "model.ckpt").exists() else str(dest / name / "model.ckpt-?????-of-?????")
        out = subprocess.run([sys.executable, "-m", "tensorflow.python.tools.inspect_checkpoint",
                              "--file_name", target], capture_output=True, text=True, check=True,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        (dest / name / "inspect.txt").write_text(out.stdout)
        for leftover in (dest / name).glob("checkpoint"):
            leftover.unlink()
        print(f"v1_order/{name}: {len(out.stdout.splitlines())} lines, files "
              f"{sorted(p.name for p in (dest / name).iterdir())}")


PARTS = {"show_na": show_na, "models": models, "v1_order": v1_order}


def main(argv: list[str]) -> int:
    if argv[:1] == ["models"] and len(argv) > 1:
        models(argv[1:])
        return 0
    for part in argv or list(PARTS):
        PARTS[part]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
