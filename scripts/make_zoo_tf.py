"""Write the TensorFlow zoo (tests/data/zoo_tf/): small models that use TF features outside the corpus, with
TensorFlow's own outputs. A development tool, not run by CI (tests/test_zoo_tf.py reads what it wrote).

    "$SMLENS_TF_PYTHON" scripts/make_zoo_tf.py [case ...]     # SMLENS_TF_PYTHON: a Python with TensorFlow 2.21

Each case folder follows the corpus layout (../shared/corpus/INDEX.md): model/ (a SavedModel, a frozen
GraphDef `graph.pb`, or a `.meta` + checkpoint), reference.npz + reference.json (inputs and TF's outputs
per run, runs in the order they were made on ONE loaded model, so stateful signatures see the state left
by the runs before them), and show_all.txt (`saved_model_cli show --dir model --all`, SavedModels only).

reference.json differs from the corpus in two ways: an output or input that is a composite tensor
(RaggedTensor, SparseTensor) has `"components": [info, ...]` (TF's flat component order, as the
SignatureDef's composite_tensor encoding lists them) instead of one tensor; and runs of graphs without
signatures (frozen .pb, .meta) have `"signature": null`, with inputs and outputs keyed by tensor name.
A run whose `error` is true failed in TensorFlow (a tf.debugging assertion): smlens must raise too.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "zoo_tf"
CLI = Path(sys.executable).parent / "saved_model_cli"
F32_TOL = {"rtol": 1e-5, "atol": 1e-6}
EXACT = {"rtol": 0.0, "atol": 0.0}
CASES: dict = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def s(*items) -> np.ndarray:
    """A string tensor value (object array of bytes)."""
    a = np.empty(len(items), dtype=object)
    a[:] = [x.encode("utf-8") if isinstance(x, str) else x for x in items]
    return a


class Run:
    """One call: a signature of a tag-set, or (signature=None) tensor names of a graph."""

    def __init__(self, signature: str | None, inputs: dict, tags=("serve",), tol: dict | None = None,
                 fetches: list[str] | None = None, error: bool = False):
        self.signature = signature
        self.inputs = inputs
        self.tags = list(tags)
        self.tol = tol or {}
        self.fetches = fetches
        self.error = error


# ---------------------------------------------------------------- recording

class Recorder:
    def __init__(self, default_tags):
        self.runs: list[dict] = []
        self.arrays: dict[str, np.ndarray] = {}
        self.strings: dict[str, dict] = {}
        self.default_tags = list(default_tags)
        self.seen: dict[str, int] = {}

    def run_key(self, run: Run) -> str:
        base = run.signature if run.signature is not None else "graph"
        if run.tags != self.default_tags and run.signature is not None:
            base = ",".join(run.tags) + ":" + base
        n = self.seen.get(base, 0)
        self.seen[base] = n + 1
        return base if n == 0 else f"{base}@{n}"

    def tensor(self, key: str, value, tf_dtype: str, tol: dict | None) -> dict:
        value = np.asarray(value)
        info = {"key": key, "dtype": tf_dtype, "shape": list(value.shape)}
        if tf_dtype == "string":
            flat = [bytes(x) for x in value.reshape(-1)]
            entry = {"dtype": "string", "shape": list(value.shape),
                     "b64": [base64.b64encode(x).decode("ascii") for x in flat]}
            try:
                entry["utf8"] = [x.decode("utf-8") for x in flat]
            except UnicodeDecodeError:
                pass
            self.strings[key] = entry
            info["storage"] = "json"
        else:
            if tf_dtype == "bfloat16":
                value = value.astype(np.float32)
                info["stored_as"] = "float32 (lossless widening of bfloat16)"
            self.arrays[key] = value
            info["storage"] = "npz"
        if tol is not None:
            info["tolerance"] = tol
        return info

    def value(self, key: str, v, tol_for) -> dict:
        if isinstance(v, (tf.RaggedTensor, tf.SparseTensor)):
            comps = tf.nest.flatten(v, expand_composites=True)
            return {"encoding": "composite_tensor", "type": type(v).__name__,
                    "components": [self.value(f"{key}/{i}", c, tol_for) for i, c in enumerate(comps)]}
        if isinstance(v, tf.Tensor) or hasattr(v, "dtype") and hasattr(v, "numpy"):
            dt = v.dtype.name
            arr = v.numpy()
        else:  # numpy from a Session
            arr = np.asarray(v)
            dt = tf_dtype_name(arr)
        return self.tensor(key, arr, dt, tol_for(dt))

    def add(self, run: Run, inputs: dict, outputs: dict | None, input_dtypes: dict):
        key = self.run_key(run)
        rec = {"key": key, "signature": run.signature, "tags": run.tags, "inputs": {}, "outputs": {}}
        for name, v in inputs.items():
            rec["inputs"][name] = self.tensor(f"{key}/inputs/{name}", v, input_dtypes[name], None)
        if outputs is None:
            rec["error"] = True
        else:
            for name, v in sorted(outputs.items()):
                def tol_for(dt, name=name):
                    if dt in ("float16", "bfloat16", "float32", "float64", "complex64", "complex128"):
                        return run.tol.get(name, run.tol.get("*", F32_TOL))
                    return EXACT
                rec["outputs"][name] = self.value(f"{key}/outputs/{name}", v, tol_for)
        self.runs.append(rec)


def tf_dtype_name(arr: np.ndarray) -> str:
    if arr.dtype == object or arr.dtype.kind in "SU":
        return "string"
    return tf.as_dtype(arr.dtype).name


def to_tf(v, dtype):
    if dtype == tf.string:
        return tf.constant(np.asarray(v, dtype=object).tolist() if np.asarray(v).ndim else v, dtype=tf.string)
    return tf.constant(v, dtype=dtype)


def record_tf2(path: Path, runs: list[Run]) -> Recorder:
    rec = Recorder(["serve"])
    loaded: dict = {}
    for run in runs:
        tags = tuple(run.tags)
        if tags not in loaded:
            loaded[tags] = tf.saved_model.load(str(path), tags=list(tags))
        fn = loaded[tags].signatures[run.signature]
        specs = fn.structured_input_signature[1]
        dts = {k: specs[k].dtype for k in run.inputs}
        args = {k: to_tf(v, dts[k]) for k, v in run.inputs.items()}
        try:
            outs = fn(**args)
        except (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError) as e:
            if not run.error:
                raise
            print(f"    {run.signature}: TF raised {type(e).__name__} (expected)")
            outs = None
        else:
            assert not run.error, f"{run.signature}: expected an error"
        rec.add(run, {k: np.asarray(a.numpy()) for k, a in args.items()},
                None if outs is None else dict(outs), {k: d.name for k, d in dts.items()})
    return rec


def record_tf1(path: Path, runs: list[Run]) -> Recorder:
    rec = Recorder(["serve"])
    sessions: dict = {}
    for run in runs:
        tags = tuple(run.tags)
        if tags not in sessions:
            g = tf.Graph()
            sess = tf.compat.v1.Session(graph=g)
            with g.as_default():
                mg = tf.compat.v1.saved_model.loader.load(sess, list(tags), str(path))
            sessions[tags] = (sess, mg)
        sess, mg = sessions[tags]
        sig = mg.signature_def[run.signature]
        feeds = {sig.inputs[k].name: v for k, v in run.inputs.items()}
        names = sorted(sig.outputs)
        vals = sess.run([sig.outputs[k].name for k in names], feeds)
        dts = {k: tf.as_dtype(sig.inputs[k].dtype).name for k in run.inputs}
        rec.add(run, run.inputs, dict(zip(names, vals)), dts)
    return rec


def record_graph(sess, runs: list[Run]) -> Recorder:
    rec = Recorder(["serve"])
    g = sess.graph
    for run in runs:
        vals = sess.run(run.fetches, run.inputs)
        dts = {k: g.get_tensor_by_name(k).dtype.name for k in run.inputs}
        rec.add(run, run.inputs, dict(zip(run.fetches, vals)), dts)
    return rec


def write_case(name: str, build) -> None:
    dest = OUT / name
    tmp = Path(tempfile.mkdtemp(prefix=f"zoo_{name}_"))
    try:
        info = build(tmp / "model")
        rec: Recorder = info["recorder"]
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        shutil.copytree(tmp / "model", dest / "model")
        ref = {"description": f"zoo_tf/{name}: {info['description']}. Inputs and outputs computed by "
                              f"TensorFlow {tf.__version__} (CPU, TF_ENABLE_ONEDNN_OPTS=0); runs in order on one "
                              "loaded model.",
               "features": info.get("features", []),
               "default_tags": rec.default_tags, "runs": rec.runs, "strings": rec.strings}
        (dest / "reference.json").write_text(json.dumps(ref, indent=1, ensure_ascii=False) + "\n")
        np.savez(dest / "reference.npz", **rec.arrays)
        if (dest / "model" / "saved_model.pb").exists():
            show = subprocess.run([str(CLI), "show", "--dir", "model", "--all"], cwd=dest, capture_output=True,
                                  text=True, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            (dest / "show_all.txt").write_text(show.stdout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    print(f"{name}: {len(rec.runs)} runs, {size / 1024:.1f} KiB")


def tf2_case(description: str, features: list[str]):
    """Decorator for builders `fn(path) -> list[Run]` that save a TF2 SavedModel at path."""
    def deco(fn):
        def build(path: Path) -> dict:
            runs = fn(path)
            return {"recorder": record_tf2(path, runs), "description": description, "features": features}
        build.__name__ = fn.__name__
        return case(build)
    return deco


def spec(shape, dtype=tf.float32, name=None):
    return tf.TensorSpec(shape, dtype, name=name)


# ---------------------------------------------------------------- TF2: control flow

@tf2_case("tf.Module with loops and branches", [
    "tf.while_loop with TensorArray (TensorListReserve/SetItem/Stack) and a data-dependent trip count",
    "tf.map_fn (float and string->int fn_output_signature)", "tf.scan", "tf.foldl / tf.foldr",
    "nested tf.cond (If inside If)", "tf.switch_case (Case) with 3 branches + default",
    "tf.cond inside a tf.while_loop body", "break-like tf.while_loop with two loop vars and maximum_iterations",
    "TensorArray unstack/gather/scatter/split/concat/read, a string TensorArray written in a loop", "tf.case",
    "tf.__internal__.execute_fn_for_device (DeviceIndex + Case, as Keras 2 RNN layers use it)"])
def loops(path):
    class Loops(tf.Module):
        def __init__(self):
            self.w = tf.Variable([[0.5, -1.0], [2.0, 0.25]], name="w")

        @tf.function(input_signature=[spec([None]), spec([], tf.int32)])
        def arrays(self, x, n):
            ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
            i = tf.constant(0)
            acc = tf.constant(0.0)

            def body(i, acc, ta):
                acc = acc + tf.reduce_sum(x) * tf.cast(i + 1, tf.float32)
                return i + 1, acc, ta.write(i, acc)
            _, acc, ta = tf.while_loop(lambda i, a, t: i < n, body, [i, acc, ta])
            squares = tf.map_fn(lambda v: v * v + 1.0, x)
            running = tf.scan(lambda a, v: a * 0.5 + v, x, initializer=tf.constant(1.0))
            left = tf.foldl(lambda a, v: a * 2.0 - v, x, initializer=tf.constant(0.0))
            right = tf.foldr(lambda a, v: a * 2.0 - v, x, initializer=tf.constant(0.0))
            return {"stacked": ta.stack(), "acc": acc, "squares": squares, "running": running,
                    "foldl": left, "foldr": right, "size": ta.size()}

        @tf.function(input_signature=[spec([None], tf.string)])
        def map_strings(self, words):
            lengths = tf.map_fn(lambda w: tf.strings.length(w) * 2, words, fn_output_signature=tf.int32)
            pairs = tf.map_fn(lambda w: (tf.strings.upper(w), tf.strings.length(w)), words,
                              fn_output_signature=(tf.string, tf.int32))
            return {"lengths": lengths, "upper": pairs[0], "len": pairs[1]}

        @tf.function(input_signature=[spec([None, 2]), spec([], tf.int32), spec([], tf.bool)])
        def branches(self, x, k, flag):
            def outer_true():
                return tf.cond(tf.reduce_sum(x) > 0.0, lambda: tf.matmul(x, self.w), lambda: x - 1.0)
            def outer_false():
                return tf.cond(k > 1, lambda: x * tf.cast(k, tf.float32), lambda: tf.nn.relu(x))
            nested = tf.cond(flag, outer_true, outer_false)
            switched = tf.switch_case(k, [lambda: x + 10.0, lambda: tf.matmul(x, self.w),
                                          lambda: tf.math.tanh(x)], default=lambda: -x)

            def body(i, y):
                y = tf.cond(i % 2 == 0, lambda: y * 2.0, lambda: y - 1.0)
                return i + 1, y
            _, looped = tf.while_loop(lambda i, y: tf.logical_and(i < 10, tf.reduce_max(y) < 100.0), body,
                                      [tf.constant(0), x], maximum_iterations=k + 3)
            return {"nested": nested, "switched": switched, "looped": looped}

        @tf.function(input_signature=[spec([None, 3]), spec([None], tf.string)])
        def tensor_arrays(self, x, words):
            ta = tf.TensorArray(tf.float32, size=tf.shape(x)[0], element_shape=[3]).unstack(x)
            scattered = tf.TensorArray(tf.float32, size=4).scatter([3, 1], x[:2] * 2.0)
            split = tf.TensorArray(tf.float32, size=2, infer_shape=False).split(tf.reshape(x, [-1]),
                                                                              [2, tf.size(x) - 2])
            texts = tf.TensorArray(tf.string, size=0, dynamic_size=True)

            def body(i, texts):
                return i + 1, texts.write(i, tf.strings.join([words[i], "!"]))
            _, texts = tf.while_loop(lambda i, t: i < tf.size(words), body, [0, texts])

            def rows(i, acc):
                return i + 1, acc + ta.read(i)
            _, acc = tf.while_loop(lambda i, a: i < tf.shape(x)[0], rows, [0, tf.zeros([3])])
            total = tf.reduce_sum(x)
            case = tf.case([(total > 100.0, lambda: x * 0.0), (total > 0.0, lambda: x + 1.0)], default=lambda: x - 1.0)
            on_device = tf.__internal__.execute_fn_for_device({"CPU": lambda: acc * 2.0, "GPU": lambda: acc * 3.0},
                                                              lambda: acc * 4.0)
            return {"gathered": ta.gather([2, 0]), "scattered": scattered.stack(), "split_concat": split.concat(),
                    "split1": split.read(1), "texts": texts.stack(), "acc": acc, "case": case,
                    "on_device": on_device}

    m = Loops()
    tf.saved_model.save(m, str(path), signatures={"arrays": m.arrays, "map_strings": m.map_strings,
                                                  "branches": m.branches, "tensor_arrays": m.tensor_arrays})
    x2 = np.array([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]], np.float32)
    return [Run("arrays", {"x": np.array([1.0, -0.5, 2.0, 0.25], np.float32), "n": np.int32(5)}),
            Run("arrays", {"x": np.array([3.0], np.float32), "n": np.int32(0)}),
            Run("map_strings", {"words": s("a", "bcd", "", "héllo")}),
            Run("branches", {"x": x2, "k": np.int32(1), "flag": np.bool_(True)}),
            Run("branches", {"x": -x2, "k": np.int32(2), "flag": np.bool_(True)}),
            Run("branches", {"x": x2, "k": np.int32(0), "flag": np.bool_(False)}),
            Run("branches", {"x": x2, "k": np.int32(7), "flag": np.bool_(False)}),
            Run("tensor_arrays", {"x": np.arange(12, dtype=np.float32).reshape(4, 3) - 3.0, "words": s("a", "bé", "")})]


# ---------------------------------------------------------------- TF2: strings, tables, sparse, ragged

@tf2_case("tf.strings ops on a string vector", [
    "tf.strings.split -> RaggedTensor output (composite_tensor encoding)", "ragged to_tensor / row_lengths",
    "tf.strings.ngrams", "tf.strings.regex_full_match", "tf.strings.to_number (float32/int64)",
    "tf.strings.unicode_decode -> ragged codepoints", "tf.strings.unicode_encode", "tf.strings.format",
    "tf.strings.substr (BYTE and UTF8_CHAR)", "tf.strings.join / reduce_join(axis, separator)",
    "tf.strings.strip/lower/length(UTF8_CHAR)", "tf.strings.regex_replace (global, not global)",
    "tf.strings.as_string (precision, width, fill)", "tf.strings.to_hash_bucket_strong",
    "tf.strings.bytes_split", "tf.strings.unicode_transcode", "tf.strings.unsorted_segment_join",
    "tf.strings.split(sep, maxsplit), regex_replace with group references, unicode_split, lower(utf-8)",
    "tf.io.decode_csv / encode_base64 / decode_base64 / decode_raw / serialize_tensor / parse_tensor",
    "tf.sets.intersection/union/difference (dense-dense, sparse-dense) and tf.sets.size"])
def strings(path):
    class Strings(tf.Module):
        @tf.function(input_signature=[spec([None], tf.string)])
        def text(self, s):
            tokens = tf.strings.split(s)
            chars = tf.strings.unicode_decode(s, "UTF-8")
            return {"tokens": tokens,
                    "dense": tokens.to_tensor(default_value="<pad>"),
                    "counts": tokens.row_lengths(),
                    "bigrams": tf.strings.ngrams(tokens, 2, separator="_").to_tensor(),
                    "is_word": tf.strings.regex_full_match(s, r"[a-z ]+"),
                    "codepoints": chars,
                    "reencoded": tf.strings.unicode_encode(chars, "UTF-8"),
                    "sub_bytes": tf.strings.substr(s, 0, 4),
                    "sub_chars": tf.strings.substr(s, 0, 4, unit="UTF8_CHAR"),
                    "char_len": tf.strings.length(s, unit="UTF8_CHAR"),
                    "upper_stripped": tf.strings.upper(tf.strings.strip(s)),
                    "lower": tf.strings.lower(s),
                    "replaced_all": tf.strings.regex_replace(s, "[aeiou]", "#"),
                    "replaced_first": tf.strings.regex_replace(s, "[aeiou]", "#", replace_global=False),
                    "joined": tf.strings.join([s, tf.strings.as_string(tf.strings.length(s))], separator="/"),
                    "strong_hash": tf.strings.to_hash_bucket_strong(s, 1000, key=[7, 11]),
                    "bytes": tf.strings.bytes_split(s),
                    "latin1": tf.strings.unicode_transcode(s, "UTF-8", "UTF-16-BE"),
                    "seg_join": tf.strings.unsorted_segment_join(s, tf.range(tf.size(s)) % 2, 2, separator="+")}

        @tf.function(input_signature=[spec([None], tf.string), spec([None])])
        def numbers(self, nums, x):
            as_f = tf.strings.to_number(nums, tf.float32)
            as_i = tf.strings.to_number(tf.strings.regex_replace(nums, r"\..*", ""), tf.int64)
            grid = tf.reshape(tf.strings.as_string(x, precision=2), [-1, 1])
            return {"as_float": as_f, "as_int": as_i,
                    "formatted": tf.strings.format("x={} n={}", (x, tf.size(nums))),
                    "padded": tf.strings.as_string(x, width=8, fill="0", precision=1),
                    "sci": tf.strings.as_string(x, scientific=True),
                    "rows": tf.strings.reduce_join(tf.concat([grid, grid], 1), axis=1, separator=","),
                    "all": tf.strings.reduce_join(tf.strings.as_string(x, shortest=True), separator=";")}

        @tf.function(input_signature=[spec([None], tf.string)])
        def io_sets(self, s):
            csv = tf.io.decode_csv(tf.strings.join([s, ","]), [[0.0], ["?"], [7]], field_delim=",")
            tokens = tf.strings.split(s, ",")
            return {"split_sep": tf.strings.split(s, sep=",", maxsplit=1).to_tensor(),
                    "groups": tf.strings.regex_replace(s, r"(\w+),(\w*)", r"\2-\1"),
                    "uni_split": tf.strings.unicode_split(s, "UTF-8").to_tensor(),
                    "csv_f": csv[0], "csv_s": csv[1], "csv_i": csv[2],
                    "b64": tf.io.encode_base64(s, pad=True), "unb64": tf.io.decode_base64(tf.io.encode_base64(s)),
                    "raw": tf.io.decode_raw(tf.strings.substr(s, 0, 3), tf.uint8),
                    "parsed": tf.io.parse_tensor(tf.io.serialize_tensor(s), tf.string),
                    "fmt": tf.strings.format("{} and {}", (s, tf.strings.length(s)), summarize=2),
                    "lower_utf8": tf.strings.lower(s, encoding="utf-8"),
                    "set_size": tf.sets.size(tf.sets.intersection([[1, 2, 3]], [[2, 3, 4]])),
                    "set_union": tf.sparse.to_dense(tf.sets.union(tokens.to_sparse(), [["x", "red"], ["a", "b"], ["", ""],
                                                                                        ["x", "y"]]), default_value="-"),
                    "set_diff": tf.sets.difference([[5, 1, 5, 3], [2, 2, 2, 2]], [[1, 9, 9, 9], [3, 3, 3, 3]])}

    m = Strings()
    tf.saved_model.save(m, str(path), signatures={"text": m.text, "numbers": m.numbers, "io_sets": m.io_sets})
    return [Run("text", {"s": s("hello world", "  tf strings  ", "été à paris", "", "a b c d", "x")}),
            Run("numbers", {"nums": s("1.5", "-2", "3.25e2", "0.0"),
                            "x": np.array([3.14159, -0.5, 1e-3, 12345.678], np.float32)}),
            Run("io_sets", {"s": s("1.5,red", "2,ÉTÉ", "-3,", "4e1,x y")})]


VOCAB = ["[UNK]", "the", "cat", "sat", "on", "mat", "été"]


@tf2_case("tf.lookup tables from tensors and from a vocabulary asset", [
    "StaticHashTable + KeyValueTensorInitializer (string->int64, int64->string)",
    "StaticVocabularyTable from a vocab file asset with 3 OOV buckets",
    "TextFileInitializer (WHOLE_LINE/LINE_NUMBER), index_to_string from the asset",
    "table.size(), lookup of 2-D keys", "assets/ + asset_file_def + __saved_model_init_op table init"])
def lookup(path):
    tmp = Path(tempfile.mkdtemp())
    vocab = tmp / "vocab.txt"
    vocab.write_text("\n".join(VOCAB[1:]) + "\n", encoding="utf-8")

    class Lookup(tf.Module):
        def __init__(self):
            self.words = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(tf.constant(["a", "b", "c"]), tf.constant([10, 20, 30], tf.int64)),
                default_value=-1)
            self.names = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(tf.constant([1, 2, 5], tf.int64), tf.constant(["one", "two", "five"])),
                default_value="?")
            self.vocab = tf.lookup.StaticVocabularyTable(
                tf.lookup.TextFileInitializer(str(vocab), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                              tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER), num_oov_buckets=3)
            self.inverse = tf.lookup.StaticHashTable(
                tf.lookup.TextFileInitializer(str(vocab), tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
                                              tf.string, tf.lookup.TextFileIndex.WHOLE_LINE), default_value="[UNK]")

        @tf.function(input_signature=[spec([None, None], tf.string)])
        def encode(self, words):
            return {"ids": self.vocab.lookup(words), "letters": self.words.lookup(words),
                    "size": self.vocab.size(), "letters_size": self.words.size()}

        @tf.function(input_signature=[spec([None], tf.int64)])
        def decode(self, ids):
            return {"words": self.inverse.lookup(ids), "names": self.names.lookup(ids)}

    m = Lookup()
    tf.saved_model.save(m, str(path), signatures={"encode": m.encode, "decode": m.decode})
    shutil.rmtree(tmp)
    words = np.array([[b"the", b"cat", b"a"], [b"dog", "été".encode(), b""]], dtype=object)
    return [Run("encode", {"words": words}),
            Run("decode", {"ids": np.array([0, 1, 2, 5, 7, -3], np.int64)})]


@tf2_case("tf.sparse ops and SparseTensor inputs/outputs", [
    "tf.sparse.from_dense -> SparseTensor output (composite_tensor: indices, values, dense_shape)",
    "SparseTensorSpec input (flattened into 3 signature inputs)", "tf.sparse.reduce_sum (axis, keepdims)",
    "tf.sparse.sparse_dense_matmul (adjoint_a)", "tf.sparse.to_dense", "tf.sparse.add (sparse+sparse)",
    "tf.sparse.reorder / reshape / slice / transpose", "tf.sparse.softmax", "tf.sparse.reduce_max",
    "tf.sparse.concat", "tf.sparse.retain", "tf.sparse.fill_empty_rows", "tf.sparse.maximum"])
def sparse(path):
    class Sparse(tf.Module):
        @tf.function(input_signature=[spec([None, 4])])
        def dense_in(self, x):
            sp = tf.sparse.from_dense(x)
            w = tf.reshape(tf.range(8, dtype=tf.float32), [4, 2])
            summed = tf.sparse.add(sp, tf.sparse.from_dense(tf.ones_like(x)))
            filled, empty = tf.sparse.fill_empty_rows(sp, -1.0)
            return {"sparse": sp, "row_sums": tf.sparse.reduce_sum(sp, axis=1),
                    "keep_sums": tf.sparse.reduce_sum(sp, axis=0, keepdims=True),
                    "matmul": tf.sparse.sparse_dense_matmul(sp, w),
                    "matmul_adj": tf.sparse.sparse_dense_matmul(sp, tf.ones([tf.shape(x)[0], 3]), adjoint_a=True),
                    "added": tf.sparse.to_dense(summed),
                    "softmax": tf.sparse.to_dense(tf.sparse.softmax(sp)),
                    "max": tf.sparse.reduce_max(sp, axis=1),
                    "transposed": tf.sparse.transpose(sp),
                    "filled": tf.sparse.to_dense(filled, default_value=0.0), "empty_rows": empty,
                    "maximum": tf.sparse.to_dense(tf.sparse.maximum(sp, tf.sparse.from_dense(x * 0.5)))}

        @tf.function(input_signature=[tf.SparseTensorSpec([None, 5], tf.float32)])
        def sparse_in(self, sp):
            sp = tf.sparse.reorder(sp)
            r = tf.sparse.reshape(sp, [-1, 10])
            sl = tf.sparse.slice(sp, [0, 1], [2, 3])
            cat = tf.sparse.concat(1, [sp, sp])
            kept = tf.sparse.retain(sp, sp.values > 0)
            return {"dense": tf.sparse.to_dense(sp), "reshaped": tf.sparse.to_dense(r), "sliced": sl,
                    "concat": tf.sparse.to_dense(cat), "retained": kept,
                    "total": tf.sparse.reduce_sum(sp), "nnz": tf.size(sp.values)}

    m = Sparse()
    tf.saved_model.save(m, str(path), signatures={"dense_in": m.dense_in, "sparse_in": m.sparse_in})
    x = np.array([[0, 1.5, 0, -2], [0, 0, 0, 0], [3, 0, 0.5, 0]], np.float32)
    return [Run("dense_in", {"x": x}),
            Run("sparse_in", {"sp": np.array([[2, 1], [0, 3], [0, 0], [3, 4]], np.int64),
                              "sp_1": np.array([1.0, -2.0, 0.5, 4.0], np.float32),
                              "sp_2": np.array([4, 5], np.int64)})]


@tf2_case("RaggedTensor inputs and outputs in signatures", [
    "RaggedTensorSpec inputs (ragged_rank 1 int64 splits, ragged_rank 2, int32 splits) flattened into signature inputs",
    "RaggedTensor outputs (composite_tensor encoding, DT_INVALID)", "ragged reduce_sum/max",
    "ragged gather", "tf.ragged.range", "ragged map_flat_values",
    "RaggedTensor.from_row_lengths / from_value_rowids", "ragged to_tensor(shape=...)", "nested_row_lengths"])
def ragged(path):
    class Ragged(tf.Module):
        @tf.function(input_signature=[tf.RaggedTensorSpec([None, None], tf.float32, 1, tf.int64)])
        def rank1(self, r):
            return {"sum": tf.reduce_sum(r, axis=1), "doubled": r * 2.0,
                    "gathered": tf.gather(r, [2, 0]),
                    "squared": tf.ragged.map_flat_values(tf.square, r),
                    "padded": r.to_tensor(default_value=-1.0, shape=[None, 4]),
                    "lengths": r.row_lengths()}

        @tf.function(input_signature=[tf.RaggedTensorSpec([None, None, None], tf.int32, 2, tf.int32)])
        def rank2(self, r):
            return {"inner_sum": tf.reduce_sum(r, axis=2), "total": tf.reduce_sum(r),
                    "plus": r + 100, "lengths": r.nested_row_lengths()[1]}

        @tf.function(input_signature=[spec([None], tf.int64), spec([None], tf.int64)])
        def build(self, values, lengths):
            a = tf.RaggedTensor.from_row_lengths(values, lengths)
            b = tf.RaggedTensor.from_value_rowids(values, tf.repeat(tf.range(tf.size(lengths), dtype=tf.int64), lengths),
                                                validate=False)
            return {"from_lengths": a, "from_rowids_dense": b.to_tensor(),
                    "ranges": tf.ragged.range(lengths), "row_max": tf.reduce_max(a, axis=1)}

    m = Ragged()
    tf.saved_model.save(m, str(path), signatures={"rank1": m.rank1, "rank2": m.rank2, "build": m.build})
    return [Run("rank1", {"r": np.array([1.0, -2.0, 3.0, 0.5, 4.0, -1.0], np.float32),
                          "r_1": np.array([0, 3, 3, 5, 6], np.int64)}),
            Run("rank2", {"r": np.arange(9, dtype=np.int32), "r_1": np.array([0, 2, 5, 6], np.int32),
                          "r_2": np.array([0, 2, 3, 3, 5, 6, 9], np.int32)}),
            Run("build", {"values": np.array([5, 1, 7, 2, 9, 3], np.int64),
                          "lengths": np.array([2, 0, 3, 1], np.int64)})]


# ---------------------------------------------------------------- TF2: image, signal, linalg

def bmp_bytes(px: np.ndarray) -> bytes:
    """An uncompressed bottom-up BMP of a [h, w, 3] (24-bit) or [h, w, 4] (32-bit) uint8 image."""
    h, w, c = px.shape
    row = (w * c + 3) // 4 * 4
    data = b"".join(np.concatenate([px[y, :, 2::-1], px[y, :, 3:]], -1).tobytes() + bytes(row - w * c)
                    for y in range(h - 1, -1, -1))
    header = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8 * c, 0, len(data), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + len(data), 0, 0, 54) + header + data


@tf2_case("tf.image ops", [
    "tf.image.resize bilinear/nearest/bicubic/area/lanczos3/mitchellcubic (+antialias)",
    "tf.compat.v1.image.resize_bilinear/nearest_neighbor/bicubic align_corners and half_pixel_centers",
    "tf.image.crop_and_resize (bilinear, nearest, extrapolation)", "tf.image.non_max_suppression_padded",
    "tf.image.non_max_suppression_with_scores (soft-NMS, v5)", "tf.image.non_max_suppression_overlaps",
    "tf.image.combined_non_max_suppression", "flip_left_right/up_down, rot90 (k=1, 3)",
    "adjust_brightness/contrast/saturation/hue/gamma, rgb_to_hsv/hsv_to_rgb/rgb_to_grayscale/yuv",
    "convert_image_dtype (float->uint8 saturate, uint8->float)", "extract_patches", "sobel_edges",
    "pad_to_bounding_box / crop_to_bounding_box / central_crop", "image_gradients", "per_image_standardization",
    "tf.io.decode_png (channels 0/1/4, uint16), decode_image (float32; PNG, BMP, JPEG), decode_bmp (24/32-bit)",
    "tf.io.decode_jpeg (baseline 4:2:0, progressive 4:4:4 and grayscale; channels 0/1/3, INTEGER_ACCURATE, "
    "fancy_upscaling=False), decode_and_crop_jpeg, extract_jpeg_shape"])
def image(path):
    class Image(tf.Module):
        @tf.function(input_signature=[spec([None, 5, 6, 3])])
        def resize(self, img):
            out = {}
            for m in ("bilinear", "nearest", "bicubic", "area", "lanczos3", "mitchellcubic"):
                out[m] = tf.image.resize(img, [7, 4], method=m)
            out["bilinear_aa"] = tf.image.resize(img, [3, 2], method="bilinear", antialias=True)
            out["bicubic_aa"] = tf.image.resize(img, [2, 4], method="bicubic", antialias=True)
            out["area_down"] = tf.image.resize(img, [2, 3], method="area")
            out["bl_align"] = tf.compat.v1.image.resize_bilinear(img, [9, 11], align_corners=True)
            out["bl_legacy"] = tf.compat.v1.image.resize_bilinear(img, [9, 11])
            out["nn_align"] = tf.compat.v1.image.resize_nearest_neighbor(img, [9, 4], align_corners=True)
            out["nn_legacy"] = tf.compat.v1.image.resize_nearest_neighbor(img, [9, 4])
            out["bc_align"] = tf.compat.v1.image.resize_bicubic(img, [8, 9], align_corners=True)
            out["bc_legacy"] = tf.compat.v1.image.resize_bicubic(img, [8, 9])
            out["pad_resize"] = tf.image.resize_with_pad(img, 8, 8)
            boxes = tf.constant([[0.0, 0.0, 1.0, 1.0], [0.2, 0.1, 0.7, 0.9], [-0.5, 0.5, 1.5, 1.2],
                                 [0.8, 0.8, 0.2, 0.3]])
            ind = tf.zeros([4], tf.int32)
            out["crop_bilinear"] = tf.image.crop_and_resize(img, boxes, ind, [3, 4])
            out["crop_nearest"] = tf.image.crop_and_resize(img, boxes, ind, [3, 4], method="nearest",
                                                           extrapolation_value=-1.0)
            out["crop_1x1"] = tf.image.crop_and_resize(img, boxes, ind, [1, 1])
            return out

        @tf.function(input_signature=[spec([None, 4, 4, 3])])
        def color(self, img):
            u8 = tf.image.convert_image_dtype(img, tf.uint8, saturate=True)
            return {"flip_lr": tf.image.flip_left_right(img), "flip_ud": tf.image.flip_up_down(img),
                    "rot1": tf.image.rot90(img, 1), "rot3": tf.image.rot90(img, 3),
                    "bright": tf.image.adjust_brightness(img, 0.1), "contrast": tf.image.adjust_contrast(img, 1.7),
                    "saturation": tf.image.adjust_saturation(img, 0.4), "hue": tf.image.adjust_hue(img, 0.3),
                    "hue_neg": tf.image.adjust_hue(img, -0.45), "gamma": tf.image.adjust_gamma(img, 2.2, 0.9),
                    "hsv": tf.image.rgb_to_hsv(img), "rgb": tf.image.hsv_to_rgb(tf.image.rgb_to_hsv(img)),
                    "gray": tf.image.rgb_to_grayscale(img), "yuv": tf.image.rgb_to_yuv(img),
                    "yiq": tf.image.rgb_to_yiq(img),
                    "u8": u8, "from_u8": tf.image.convert_image_dtype(u8, tf.float32),
                    "u8_contrast": tf.image.adjust_contrast(u8, 0.5),
                    "patches": tf.image.extract_patches(img, [1, 2, 2, 1], [1, 2, 1, 1], [1, 1, 1, 1], "VALID"),
                    "patches_same": tf.image.extract_patches(img, [1, 3, 3, 1], [1, 2, 2, 1], [1, 1, 2, 1], "SAME"),
                    "sobel": tf.image.sobel_edges(img),
                    "grad_y": tf.image.image_gradients(img)[0],
                    "padded": tf.image.pad_to_bounding_box(img, 1, 2, 6, 7),
                    "cropped": tf.image.crop_to_bounding_box(img, 1, 0, 2, 3),
                    "central": tf.image.central_crop(img, 0.5), "std": tf.image.per_image_standardization(img)}

        @tf.function(input_signature=[spec([None, 4]), spec([None])])
        def nms(self, boxes, scores):
            padded, valid = tf.image.non_max_suppression_padded(boxes, scores, 5, iou_threshold=0.4,
                                                                score_threshold=0.1, pad_to_max_output_size=True)
            sel, sel_scores = tf.image.non_max_suppression_with_scores(boxes, scores, 6, iou_threshold=0.5,
                                                                        score_threshold=0.05, soft_nms_sigma=0.5)
            hard = tf.image.non_max_suppression(boxes, scores, 3, iou_threshold=0.3)
            ious = tf.linalg.matmul(boxes, boxes, transpose_b=True)
            ov = tf.image.non_max_suppression_overlaps(ious, scores, 4, overlap_threshold=1.0)
            b4 = tf.reshape(boxes, [1, -1, 1, 4])
            sc = tf.reshape(tf.stack([scores, 1.0 - scores], 1), [1, -1, 2])
            comb = tf.image.combined_non_max_suppression(b4, sc, 3, 5, iou_threshold=0.5, score_threshold=0.2)
            return {"padded": padded, "valid": valid, "soft": sel, "soft_scores": sel_scores, "hard": hard,
                    "overlaps": ov, "comb_boxes": comb.nmsed_boxes, "comb_scores": comb.nmsed_scores,
                    "comb_classes": comb.nmsed_classes, "comb_valid": comb.valid_detections}

        @tf.function(input_signature=[spec([], tf.string), spec([], tf.string), spec([], tf.string)])
        def decode(self, png, bmp, jpeg):
            rgba = tf.io.decode_png(png, channels=4)
            return {"png": tf.io.decode_png(png), "png_gray": tf.io.decode_png(png, channels=1),
                    "png16": tf.io.decode_png(png, dtype=tf.uint16), "rgba": rgba,
                    "image_float": tf.io.decode_image(png, dtype=tf.float32),
                    "resized": tf.image.resize(tf.io.decode_image(png, channels=3, expand_animations=False)[None],
                                               [3, 4])[0],
                    "bmp": tf.io.decode_bmp(bmp), "bmp_image": tf.io.decode_image(bmp, channels=3),
                    "jpeg_shape": tf.io.extract_jpeg_shape(jpeg), "jpeg": tf.io.decode_jpeg(jpeg),
                    "jpeg_rgb": tf.io.decode_jpeg(jpeg, channels=3), "jpeg_gray": tf.io.decode_jpeg(jpeg, channels=1),
                    "jpeg_accurate": tf.io.decode_jpeg(jpeg, dct_method="INTEGER_ACCURATE"),
                    "jpeg_box": tf.io.decode_jpeg(jpeg, fancy_upscaling=False),
                    "jpeg_crop": tf.io.decode_and_crop_jpeg(jpeg, [3, 5, 9, 7], channels=3),
                    "jpeg_float": tf.io.decode_image(jpeg, dtype=tf.float32)}

    m = Image()
    tf.saved_model.save(m, str(path), signatures={"resize": m.resize, "color": m.color, "nms": m.nms,
                                                  "decode": m.decode})
    rng = np.random.default_rng(1)
    boxes = np.array([[0, 0, 1, 1], [0, 0.1, 1, 1.1], [0, -0.1, 1, 0.9], [0, 10, 1, 11], [0, 10.1, 1, 11.1],
                      [0, 100, 1, 101], [1, 1, 0, 0], [0.5, 0.5, 0.6, 0.6]], np.float32)
    scores = np.array([0.9, 0.75, 0.6, 0.95, 0.5, 0.3, 0.8, 0.05], np.float32)
    pixels = rng.integers(0, 256, (6, 7, 4), dtype=np.uint8)
    yy, xx = np.mgrid[0:17, 0:13]
    photo = np.clip(np.stack([128 + 90 * np.sin(xx / 4.0 + k) * np.cos(yy / 3.0 - k) for k in range(3)], -1)
                    + rng.normal(0, 12, (17, 13, 3)), 0, 255).astype(np.uint8)
    tol = {"*": {"rtol": 1e-5, "atol": 2e-6}}
    return [Run("resize", {"img": rng.uniform(0, 1, (1, 5, 6, 3)).astype(np.float32)}, tol=tol),
            Run("color", {"img": rng.uniform(0, 1, (1, 4, 4, 3)).astype(np.float32)}, tol=tol),
            Run("nms", {"boxes": boxes, "scores": scores}),
            Run("decode", {"png": tf.io.encode_png(pixels[:, :, :3]).numpy(), "bmp": bmp_bytes(pixels[:5, :4, :3]),
                           "jpeg": tf.io.encode_jpeg(photo, quality=90).numpy()}),
            Run("decode", {"png": tf.io.encode_png(pixels).numpy(), "bmp": bmp_bytes(pixels[:3]),
                           "jpeg": tf.io.encode_jpeg(photo, quality=60, progressive=True,
                                                     chroma_downsampling=False).numpy()}),
            Run("decode", {"png": tf.io.encode_png(pixels[:, :, :1]).numpy(), "bmp": bmp_bytes(pixels[:3, :2]),
                           "jpeg": tf.io.encode_jpeg(photo[:12, :12, :1], quality=75, progressive=True).numpy()})]


@tf2_case("tf.signal ops", [
    "tf.signal.fft/ifft (complex64), fft2d, rfft/irfft (even and odd length), rfft2d", "tf.signal.stft (hann window)",
    "tf.signal.frame (pad_end)", "tf.signal.dct types 2/3, idct",
    "tf.signal.linear_to_mel_weight_matrix + mfccs_from_log_mel_spectrograms", "fftshift"])
def signal(path):
    class Signal(tf.Module):
        @tf.function(input_signature=[spec([None, 16])])
        def spectra(self, x):
            c = tf.complex(x, tf.reverse(x, [1]))
            rf = tf.signal.rfft(x)
            return {"fft": tf.signal.fft(c), "ifft": tf.signal.ifft(c), "fft2d": tf.signal.fft2d(c),
                    "rfft": rf, "irfft": tf.signal.irfft(rf), "irfft_odd": tf.signal.irfft(rf, [15]),
                    "rfft_len": tf.signal.rfft(x, [10]), "rfft2d": tf.signal.rfft2d(x),
                    "abs": tf.abs(rf), "angle": tf.math.angle(rf), "shift": tf.signal.fftshift(x, axes=1),
                    "frames": tf.signal.frame(x, 5, 3, pad_end=True, pad_value=-1.0),
                    "dct2": tf.signal.dct(x, type=2, norm="ortho"), "dct3": tf.signal.dct(x, type=3),
                    "idct": tf.signal.idct(tf.signal.dct(x, type=2), type=2)}

        @tf.function(input_signature=[spec([None, 64])])
        def stft(self, audio):
            st = tf.signal.stft(audio, frame_length=16, frame_step=8, fft_length=16)
            mag = tf.abs(st)
            mel = tf.signal.linear_to_mel_weight_matrix(8, 9, 8000.0, 100.0, 3800.0)
            log_mel = tf.math.log(tf.tensordot(mag, mel, 1) + 1e-6)
            return {"stft": st, "mag": mag, "log_mel": log_mel,
                    "mfcc": tf.signal.mfccs_from_log_mel_spectrograms(log_mel)}

    m = Signal()
    tf.saved_model.save(m, str(path), signatures={"spectra": m.spectra, "stft": m.stft})
    rng = np.random.default_rng(2)
    t = np.arange(64, dtype=np.float32)
    audio = np.stack([np.sin(t * 0.3), np.cos(t * 1.1) + 0.1 * t / 64]).astype(np.float32)
    return [Run("spectra", {"x": rng.normal(size=(2, 16)).astype(np.float32)}, tol={"*": {"rtol": 1e-4, "atol": 1e-5}}),
            Run("stft", {"audio": audio}, tol={"*": {"rtol": 1e-4, "atol": 1e-5}})]


@tf2_case("tf.linalg ops", [
    "tf.linalg.matmul transpose_a/b, adjoint_a/b (complex64), batch broadcast (BatchMatMulV2)",
    "inv, det, slogdet, logdet, solve (adjoint), triangular_solve (lower/upper), cholesky, cholesky_solve",
    "qr, eigvalsh, svd (singular values), lu", "einsum: matmul, batch, trace, diag, "
    "transpose, ellipsis, outer, dot, reduce", "norm (fro, 1, inf, euclidean), trace, diag_part, set_diag, band_part",
    "tensordot, cross, pinv, lstsq, expm, sqrtm, tridiagonal_solve (compact)", "complex64 inv/det"])
def linalg(path):
    class Linalg(tf.Module):
        @tf.function(input_signature=[spec([2, 3, 3]), spec([3, 4]), spec([2, 3, 3], tf.complex64)])
        def dense(self, a, b, c):
            spd = tf.matmul(a, a, transpose_b=True) + 3.0 * tf.eye(3)
            lower = tf.linalg.band_part(a, -1, 0) + 2.0 * tf.eye(3)
            chol = tf.linalg.cholesky(spd)
            q, r = tf.linalg.qr(a)
            lu, perm = tf.linalg.lu(a)
            sign, logabs = tf.linalg.slogdet(a)
            rhs = tf.tile(b[None], [2, 1, 1])
            return {"mm_ta": tf.matmul(a, a, transpose_a=True), "mm_tb": tf.matmul(a, b, transpose_a=True),
                    "mm_adj": tf.matmul(c, c, adjoint_a=True), "mm_adjb": tf.matmul(c, c, adjoint_b=True),
                    "bcast": tf.matmul(a, b), "inv": tf.linalg.inv(spd), "det": tf.linalg.det(a),
                    "sign": sign, "logabs": logabs, "logdet": tf.linalg.logdet(spd),
                    "solve": tf.linalg.solve(spd, rhs), "solve_adj": tf.linalg.solve(a, rhs, adjoint=True),
                    "tri_lower": tf.linalg.triangular_solve(lower, rhs, lower=True),
                    "tri_upper_adj": tf.linalg.triangular_solve(tf.linalg.adjoint(lower), rhs, lower=False, adjoint=True),
                    "chol": chol, "chol_solve": tf.linalg.cholesky_solve(chol, rhs),
                    "q": q, "r": r, "eigvals": tf.linalg.eigvalsh(spd),
                    "svals": tf.linalg.svd(a, compute_uv=False), "lu": lu, "perm": perm,
                    "pinv": tf.linalg.pinv(a), "lstsq": tf.linalg.lstsq(spd, rhs, fast=False),
                    "expm": tf.linalg.expm(a * 0.3), "sqrtm": tf.linalg.sqrtm(spd),
                    "c_inv": tf.linalg.inv(c + 3.0 * tf.eye(3, dtype=tf.complex64)), "c_det": tf.linalg.det(c)}

        @tf.function(input_signature=[spec([2, 3, 3]), spec([3, 4])])
        def einsum_norms(self, a, b):
            v = b[:, 0]
            return {"ij_jk": tf.einsum("ij,jk->ik", a[0], b), "bij_jk": tf.einsum("bij,jk->bik", a, b),
                    "bij_bkj": tf.einsum("bij,bkj->bik", a, a), "trace": tf.einsum("bii->b", a),
                    "diag": tf.einsum("bii->bi", a), "transpose": tf.einsum("bij->jbi", a),
                    "ellipsis": tf.einsum("...ij,jk->...ik", a, b), "outer": tf.einsum("i,j->ij", v, v),
                    "dot": tf.einsum("i,i->", v, v), "reduce": tf.einsum("bij->j", a),
                    "bilinear": tf.einsum("bi,ij,bj->b", a[:, 0], a[0], a[:, 1]),
                    "fro": tf.norm(a, axis=[-2, -1]), "one": tf.norm(a, ord=1, axis=[-2, -1]),
                    "inf": tf.norm(a, ord=np.inf, axis=[-2, -1]), "euclid": tf.norm(b),
                    "two": tf.norm(b, ord=2, axis=0), "trace_op": tf.linalg.trace(a),
                    "diag_part": tf.linalg.diag_part(a), "set_diag": tf.linalg.set_diag(a, tf.ones([2, 3])),
                    "band": tf.linalg.band_part(a, 0, 1), "tensordot": tf.tensordot(a, b, [[2], [0]]),
                    "tensordot2": tf.tensordot(a, a, [[1, 2], [2, 1]]),
                    "cross": tf.linalg.cross(a[:, 0], a[:, 1]), "l2n": tf.math.l2_normalize(b, axis=0),
                    "tridiag": tf.linalg.tridiagonal_solve(tf.stack([a[0, 0], a[0, 1] + 4.0, a[0, 2]]), b)}

    m = Linalg()
    tf.saved_model.save(m, str(path), signatures={"dense": m.dense, "einsum_norms": m.einsum_norms})
    rng = np.random.default_rng(3)
    a = rng.normal(size=(2, 3, 3)).astype(np.float32)
    b = rng.normal(size=(3, 4)).astype(np.float32)
    c = (rng.normal(size=(2, 3, 3)) + 1j * rng.normal(size=(2, 3, 3))).astype(np.complex64)
    return [Run("dense", {"a": a, "b": b, "c": c}, tol={"*": {"rtol": 1e-4, "atol": 1e-5}}),
            Run("einsum_norms", {"a": a, "b": b}, tol={"*": {"rtol": 1e-5, "atol": 1e-5}})]


# ---------------------------------------------------------------- TF2: numerics, indexing, random

@tf2_case("gather/scatter, segment, sort/unique/top_k, cumulative and counting ops", [
    "tf.gather (axis, batch_dims), tf.gather_nd (batch_dims), tf.scatter_nd (duplicate indices add)",
    "tensor_scatter_nd_update/add/sub/min/max", "segment_sum/mean/max/min/prod, unsorted_segment_* (num_segments)",
    "sparse_segment_sum/mean/sqrt_n", "unique, unique_with_counts", "sort (ascending/descending), argsort (stable)",
    "top_k (ties, sorted)", "cumsum/cumprod exclusive/reverse, cumulative_logsumexp", "one_hot (axis, on/off values)",
    "tf.where (1 and 3 args, broadcasting)", "searchsorted left/right", "histogram_fixed_width",
    "math.bincount (weights, minlength, axis=-1, binary_output)", "boolean_mask", "reverse_sequence",
    "roll", "pad REFLECT/SYMMETRIC/CONSTANT", "math.reduce_* with keepdims, argmax/argmin", "tf.math.in_top_k"])
def indexing(path):
    class Indexing(tf.Module):
        @tf.function(input_signature=[spec([4, 5]), spec([None], tf.int32)])
        def gather_scatter(self, x, idx):
            pairs = tf.stack([idx % 4, idx % 5], 1)
            upd = tf.cast(idx, tf.float32) * 10.0
            out = {"gather0": tf.gather(x, idx % 4), "gather1": tf.gather(x, idx % 5, axis=1),
                   "gather_bd": tf.gather(x, tf.reshape(idx[:8] % 5, [4, 2]), batch_dims=1, axis=1),
                   "gather_nd": tf.gather_nd(x, pairs), "gather_nd_rows": tf.gather_nd(x, tf.reshape(idx % 4, [-1, 1])),
                   "gather_nd_bd": tf.gather_nd(x, tf.reshape(idx[:4] % 5, [4, 1]), batch_dims=1),
                   "scatter_nd": tf.scatter_nd(pairs, upd, [4, 5]),
                   "ts_update": tf.tensor_scatter_nd_update(x, pairs[:3], upd[:3]),
                   "ts_add": tf.tensor_scatter_nd_add(x, pairs, upd),
                   "ts_sub": tf.tensor_scatter_nd_sub(x, pairs, upd),
                   "ts_min": tf.tensor_scatter_nd_min(x, pairs, -upd),
                   "ts_max": tf.tensor_scatter_nd_max(x, pairs, upd),
                   "boolean_mask": tf.boolean_mask(x, x[:, 0] > 0), "bm_axis1": tf.boolean_mask(x, [True, False, True, False, True], axis=1),
                   "rev_seq": tf.reverse_sequence(x, [1, 5, 3, 0], seq_axis=1, batch_axis=0),
                   "roll": tf.roll(x, [1, -2], [0, 1]),
                   "reflect": tf.pad(x, [[1, 2], [2, 1]], "REFLECT"), "symmetric": tf.pad(x, [[2, 1], [1, 3]], "SYMMETRIC"),
                   "const_pad": tf.pad(x, [[0, 1], [1, 0]], constant_values=-7.0),
                   "argmax": tf.argmax(x, 1), "argmin": tf.argmin(x, 0, output_type=tf.int32),
                   "prod_keep": tf.reduce_prod(x, 1, keepdims=True), "any": tf.reduce_any(x > 1.0, 0),
                   "in_top_k": tf.math.in_top_k(tf.constant([1, 0, 4, 2]), x, 2)}
            return out

        @tf.function(input_signature=[spec([None]), spec([None], tf.int32)])
        def segments(self, data, ids):
            sorted_ids = tf.sort(ids)
            return {"seg_sum": tf.math.segment_sum(data, sorted_ids), "seg_mean": tf.math.segment_mean(data, sorted_ids),
                    "seg_max": tf.math.segment_max(data, sorted_ids), "seg_min": tf.math.segment_min(data, sorted_ids),
                    "seg_prod": tf.math.segment_prod(data, sorted_ids),
                    "uns_sum": tf.math.unsorted_segment_sum(data, ids, 6), "uns_max": tf.math.unsorted_segment_max(data, ids, 6),
                    "uns_min": tf.math.unsorted_segment_min(data, ids, 6), "uns_mean": tf.math.unsorted_segment_mean(data, ids, 6),
                    "uns_prod": tf.math.unsorted_segment_prod(data, ids, 6),
                    "uns_sqrt_n": tf.math.unsorted_segment_sqrt_n(data, ids, 6),
                    "sp_sum": tf.sparse.segment_sum(tf.reshape(data, [-1, 1]), tf.range(tf.size(ids)) // 2, sorted_ids),
                    "sp_mean": tf.sparse.segment_mean(data, tf.range(tf.size(ids)) // 2, sorted_ids),
                    "sp_sqrt_n": tf.sparse.segment_sqrt_n(data, tf.range(tf.size(ids)) // 2, sorted_ids, num_segments=7)}

        @tf.function(input_signature=[spec([None]), spec([None], tf.int32)])
        def ordering(self, x, ids):
            u, ui = tf.unique(ids)
            uc, uci, counts = tf.unique_with_counts(ids, out_idx=tf.int64)
            vals, top_idx = tf.math.top_k(x, 3)
            m2 = tf.reshape(x[:6], [2, 3])
            return {"unique": u, "unique_idx": ui, "uc": uc, "uc_idx": uci, "counts": counts,
                    "sort_asc": tf.sort(x), "sort_desc": tf.sort(x, direction="DESCENDING"),
                    "argsort": tf.argsort(x, stable=True), "argsort_desc": tf.argsort(ids, direction="DESCENDING", stable=True),
                    "top_vals": vals, "top_idx": top_idx, "top_int": tf.math.top_k(ids, 4).indices,
                    "cumsum": tf.cumsum(x), "cumsum_ex": tf.cumsum(x, exclusive=True),
                    "cumsum_rev": tf.cumsum(x, reverse=True), "cumsum_both": tf.cumsum(m2, axis=1, exclusive=True, reverse=True),
                    "cumprod": tf.math.cumprod(x), "cumprod_ex_rev": tf.math.cumprod(m2, axis=0, exclusive=True, reverse=True),
                    "cumlse": tf.math.cumulative_logsumexp(x), "icumsum": tf.cumsum(ids),
                    "one_hot": tf.one_hot(ids, 5), "one_hot_axis0": tf.one_hot(ids, 4, on_value=2.5, off_value=-1.0, axis=0),
                    "one_hot_i": tf.one_hot(ids, 3, dtype=tf.int64),
                    "where1": tf.where(x > 0.0), "where3": tf.where(x > 0.0, x, -x * 10.0),
                    "where_bcast": tf.where(m2 > 0.0, m2, tf.constant([[0.0], [1.0]])),
                    "ss_left": tf.searchsorted(tf.sort(x), [-1.0, 0.0, 0.5, 2.0]),
                    "ss_right": tf.searchsorted(tf.sort(x), [-1.0, 0.0, 0.5, 2.0], side="right", out_type=tf.int64),
                    "hist": tf.histogram_fixed_width(x, [-2.0, 2.0], nbins=5),
                    "bincount": tf.math.bincount(ids), "bincount_w": tf.math.bincount(ids, weights=x, minlength=8),
                    "bincount_bin": tf.math.bincount(ids, binary_output=True, maxlength=3),
                    "bincount_2d": tf.math.bincount(tf.reshape(ids[:6], [2, 3]), axis=-1)}

    m = Indexing()
    tf.saved_model.save(m, str(path), signatures={"gather_scatter": m.gather_scatter, "segments": m.segments,
                                                  "ordering": m.ordering})
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4, 5)).astype(np.float32)
    idx = np.array([3, 1, 7, 1, 0, 2, 9, 1], np.int32)
    data = np.array([1.0, -2.0, 3.5, 0.5, 4.0, -1.0, 2.0, 0.25], np.float32)
    ids = np.array([0, 2, 2, 5, 1, 0, 2, 4], np.int32)
    xs = np.array([0.5, -1.0, 2.0, 0.5, -1.5, 1.75, 0.0, 0.5], np.float32)
    return [Run("gather_scatter", {"x": x, "idx": idx}), Run("segments", {"data": data, "ids": ids}),
            Run("ordering", {"x": xs, "ids": ids})]


@tf2_case("tf.math special functions and norms", [
    "erf, erfc, erfinv, ndtri, lgamma, digamma, polygamma, igamma, igammac, betainc, zeta",
    "bessel_i0/i0e/i1/i1e/j0/j1/y0/y1/k0/k0e/k1/k1e", "special.dawsn/expint/fresnel_cos/fresnel_sin/spence",
    "xlogy, xlog1py, xdivy, log1p, expm1, softplus, log_sigmoid, reciprocal_no_nan, divide_no_nan",
    "tf.clip_by_global_norm, clip_by_norm, clip_by_value", "reduce_logsumexp, reduce_euclidean_norm",
    "tf.quantization.quantize_and_dequantize_v2 (given / computed range), fake_quant_with_min_max_args",
    "float64 variants", "nextafter, floormod/floordiv/truncatemod on negatives, sign, rint, round (banker's)"])
def special(path):
    class Special(tf.Module):
        @tf.function(input_signature=[spec([None]), spec([None], tf.float64)])
        def functions(self, x, d):
            p = tf.sigmoid(x)
            ax = tf.abs(x) + 0.1
            out = {"erf": tf.math.erf(x), "erfc": tf.math.erfc(x), "erfinv": tf.math.erfinv(p * 2.0 - 1.0),
                   "ndtri": tf.math.ndtri(p), "lgamma": tf.math.lgamma(x), "digamma": tf.math.digamma(x),
                   "polygamma1": tf.math.polygamma(tf.ones_like(ax), ax), "polygamma2": tf.math.polygamma(2.0 * tf.ones_like(ax), ax),
                   "igamma": tf.math.igamma(ax, ax * 1.5), "igammac": tf.math.igammac(ax, ax * 0.5),
                   "betainc": tf.math.betainc(ax, ax + 1.0, p), "zeta": tf.math.zeta(ax + 1.5, ax),
                   "xlogy": tf.math.xlogy(x, ax), "xlog1py": tf.math.xlog1py(x, ax), "xdivy": tf.math.xdivy(x, ax),
                   "log1p": tf.math.log1p(ax), "expm1": tf.math.expm1(x), "softplus": tf.math.softplus(x * 10.0),
                   "log_sigmoid": tf.math.log_sigmoid(x * 10.0), "recip_nonan": tf.math.reciprocal_no_nan(tf.round(x)),
                   "div_nonan": tf.math.divide_no_nan(x, tf.round(x)), "lse": tf.reduce_logsumexp(x * 30.0),
                   "euclid": tf.math.reduce_euclidean_norm(x), "nextafter": tf.math.nextafter(x, tf.zeros_like(x)),
                   "floormod": tf.math.floormod(x * 3.0, 1.3), "floordiv": tf.math.floordiv(x * 3.0, 1.3),
                   "truncmod": tf.truncatemod(x * 3.0, 1.3), "round": tf.round(x * 4.0), "rint": tf.math.rint(x * 4.0),
                   "sign": tf.sign(x)}
            for name in ("bessel_i0", "bessel_i0e", "bessel_i1", "bessel_i1e", "bessel_j0", "bessel_j1",
                         "bessel_y0", "bessel_y1", "bessel_k0", "bessel_k0e", "bessel_k1", "bessel_k1e",
                         "dawsn", "expint", "fresnel_cos", "fresnel_sin", "spence"):
                fn = getattr(tf.math.special, name)
                arg = ax * 3.0 if name[-2:] in ("y0", "y1", "k0", "k1", "0e", "1e") or name in ("expint", "spence") else x * 3.0
                out[name] = fn(arg)
            out["d_lgamma"] = tf.math.lgamma(d)
            out["d_digamma"] = tf.math.digamma(d)
            out["d_erf"] = tf.math.erf(d)
            out["d_igamma"] = tf.math.igamma(tf.abs(d) + 0.5, tf.abs(d) * 2.0)
            out["d_j1"] = tf.math.special.bessel_j1(d * 5.0)
            out["d_ndtri"] = tf.math.ndtri(tf.sigmoid(d))
            return out

        @tf.function(input_signature=[spec([3, 4]), spec([5])])
        def clipping(self, a, b):
            (ca, cb), gnorm = tf.clip_by_global_norm([a, b], 2.0)
            return {"ca": ca, "cb": cb, "gnorm": gnorm, "by_norm": tf.clip_by_norm(a, 1.5, axes=[1]),
                    "by_value": tf.clip_by_value(b, -0.5, 0.7), "global_norm": tf.linalg.global_norm([a, b]),
                    "l2_loss": tf.nn.l2_loss(a),
                    "qdq": tf.quantization.quantize_and_dequantize_v2(a, -1.0, 1.0, range_given=True),
                    "qdq_auto": tf.quantization.quantize_and_dequantize_v2(b, 0.0, 0.0, num_bits=4, narrow_range=True),
                    "fake_quant": tf.quantization.fake_quant_with_min_max_args(a, -1.0, 1.5, num_bits=6)}

    m = Special()
    tf.saved_model.save(m, str(path), signatures={"functions": m.functions, "clipping": m.clipping})
    x = np.array([-2.5, -1.2, -0.3, 0.0, 0.4, 1.0, 1.7, 3.2, 6.5], np.float32)
    d = np.array([-3.5, -0.75, 0.1, 0.5, 1.0, 2.5, 7.25, 30.0], np.float64)
    rng = np.random.default_rng(5)
    return [Run("functions", {"x": x, "d": d}, tol={"*": {"rtol": 2e-5, "atol": 1e-6}}),
            Run("clipping", {"a": rng.normal(size=(3, 4)).astype(np.float32), "b": rng.normal(size=5).astype(np.float32)})]


@tf2_case("dtype casts and integer arithmetic across dtypes", [
    "Cast between int8/16/32/64, uint8/16/32/64, float16, bfloat16, float32/64, complex64/128, bool",
    "integer wrap-around on narrowing casts", "float->int truncation toward zero", "float16/bfloat16 rounding",
    "complex->real (real part), bool casts", "tf.bitcast", "tf.dtypes.saturate_cast", "int8/uint8/uint32 arithmetic wrap",
    "floordiv/floormod/truncatediv on negative ints", "bitwise ops and shifts", "float16 / bfloat16 arithmetic",
    "tf.math.round/ceil/floor of float16", "complex abs/conj/real/imag/angle"])
def casts(path):
    ints = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
    floats = ["float16", "bfloat16", "float32", "float64"]

    class Casts(tf.Module):
        @tf.function(input_signature=[spec([None], tf.int64), spec([None], tf.float64)])
        def cast_all(self, i, f):
            out = {}
            for dt in ints + floats + ["complex64", "complex128", "bool"]:
                out[f"i_{dt}"] = tf.cast(i, dt)
                out[f"f_{dt}"] = tf.cast(f if dt not in ints else tf.clip_by_value(f, 0.0 if dt[0] == "u" else -100.0, 100.0), dt)
            for src in ints + floats:
                out[f"{src}_to_f32"] = tf.cast(tf.cast(i if src in ints else f, src), tf.float32)
            for src in ("uint16", "int64", "float16", "float64"):
                out[f"{src}_to_i8"] = tf.cast(tf.cast(i if src in ints else tf.clip_by_value(f, -100.0, 100.0), src), tf.int8)
            c = tf.complex(f, -f * 0.5)
            out["c_to_f32"] = tf.cast(c, tf.float32)
            out["c_to_i32"] = tf.cast(tf.cast(c, tf.complex64), tf.int32)
            out["bool_to_f16"] = tf.cast(tf.cast(i, tf.bool), tf.float16)
            out["sat_u8"] = tf.dtypes.saturate_cast(f * 100.0, tf.uint8)
            out["sat_i16"] = tf.dtypes.saturate_cast(i * 1000, tf.int16)
            out["bitcast_f32_i32"] = tf.bitcast(tf.cast(f, tf.float32), tf.int32)
            out["bitcast_i64_u8"] = tf.bitcast(i, tf.uint8)
            out["bitcast_u8x2_u16"] = tf.bitcast(tf.reshape(tf.cast(i[:4], tf.uint8), [2, 2]), tf.uint16)
            return out

        @tf.function(input_signature=[spec([None], tf.int32), spec([None], tf.int32)])
        def int_math(self, a, b):
            out = {"floordiv": tf.math.floordiv(a, b), "floormod": tf.math.floormod(a, b),
                   "truncdiv": tf.truncatediv(a, b), "truncmod": tf.truncatemod(a, b), "realdiv": a / b,
                   "i8_add": tf.cast(a, tf.int8) + tf.cast(b, tf.int8), "i8_mul": tf.cast(a, tf.int8) * tf.cast(b, tf.int8),
                   "u8_sub": tf.cast(a, tf.uint8) - tf.cast(b, tf.uint8), "u32_mul": tf.cast(a, tf.uint32) * tf.cast(b, tf.uint32) * 100000,
                   "i32_over": a * 1000000, "and": tf.bitwise.bitwise_and(a, b), "or": tf.bitwise.bitwise_or(a, b),
                   "xor": tf.bitwise.bitwise_xor(a, b), "invert": tf.bitwise.invert(a),
                   "invert_u8": tf.bitwise.invert(tf.cast(a, tf.uint8)),
                   "shl": tf.bitwise.left_shift(a, tf.abs(b) % 8), "shr": tf.bitwise.right_shift(a, tf.abs(b) % 8),
                   "shr_u16": tf.bitwise.right_shift(tf.cast(a, tf.uint16), tf.cast(tf.abs(b) % 8, tf.uint16)),
                   "popcount": tf.raw_ops.PopulationCount(x=a), "abs": tf.abs(a), "neg_u8": -tf.cast(a, tf.int8),
                   "pow": tf.pow(a, tf.abs(b) % 4), "maximum_u64": tf.maximum(tf.cast(a, tf.uint64), tf.cast(b, tf.uint64)),
                   "i64_div": tf.math.floordiv(tf.cast(a, tf.int64), tf.cast(b, tf.int64)),
                   "sq_diff": tf.math.squared_difference(a, b)}
            return out

        @tf.function(input_signature=[spec([None], tf.float16), spec([None], tf.bfloat16), spec([None], tf.complex64)])
        def half_complex(self, h, bf, c):
            return {"h_mul": h * h + tf.constant(0.1, tf.float16), "h_exp": tf.exp(h), "h_round": tf.round(h * 3),
                    "h_floor": tf.floor(h * 3), "h_ceil": tf.math.ceil(h * 3), "h_sum": tf.reduce_sum(h),
                    "h_mean": tf.reduce_mean(h), "h_sigmoid": tf.sigmoid(h), "h_div": h / tf.constant(3.0, tf.float16),
                    "bf_mul": bf * bf + tf.constant(0.1, tf.bfloat16), "bf_sum": tf.reduce_sum(bf), "bf_exp": tf.exp(bf),
                    "bf_div": bf / tf.constant(3.0, tf.bfloat16), "bf_tanh": tf.tanh(bf),
                    "c_abs": tf.abs(c), "c_conj": tf.math.conj(c), "c_real": tf.math.real(c), "c_imag": tf.math.imag(c),
                    "c_angle": tf.math.angle(c), "c_mul": c * c, "c_div": c / (c + 1.0), "c_exp": tf.exp(c),
                    "c_sqrt": tf.sqrt(c), "c_log": tf.math.log(c), "c_sum": tf.reduce_sum(c), "c_prod": tf.reduce_prod(c)}

    m = Casts()
    tf.saved_model.save(m, str(path), signatures={"cast_all": m.cast_all, "int_math": m.int_math,
                                                  "half_complex": m.half_complex})
    i = np.array([0, 1, -1, 127, 128, 255, 256, -129, 40000, -70000, 2**31 + 5, -(2**40) - 3, 2**62], np.int64)
    f = np.array([0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 99.99, -99.99, 3.3e4, 7e4, 1e-8, 1.00390625, 65519.0], np.float64)
    a = np.array([7, -7, 7, -7, 100, -128, 2**31 - 1, 255, 0, 13], np.int32)
    b = np.array([2, 2, -2, -2, 3, 3, 2, 9, 5, -4], np.int32)
    h = np.array([0.1, -1.5, 2.5, 3.7, 65.0, -0.001, 7.75], np.float16)
    bf = np.array([0.1, -1.5, 2.5, 3.7, 65.0, -0.001, 7.75], np.float32)
    c = np.array([1 + 2j, -0.5 + 0.25j, 3 - 4j, -2 - 0.1j], np.complex64)
    return [Run("cast_all", {"i": i, "f": f}, tol={"*": EXACT}),
            Run("int_math", {"a": a, "b": b}),
            Run("half_complex", {"h": h, "bf": bf, "c": c}, tol={"*": {"rtol": 1e-3, "atol": 1e-3},
                                                              **{k: {"rtol": 1e-5, "atol": 1e-6} for k in
                                                                 ("c_abs", "c_conj", "c_real", "c_imag", "c_angle", "c_mul",
                                                                  "c_div", "c_exp", "c_sqrt", "c_log", "c_sum", "c_prod")}})]


@tf2_case("stateless and seeded random ops", [
    "tf.random.stateless_uniform (float32/float64/int32 with minval/maxval, int64 full range)",
    "stateless_normal (float32, float16), stateless_truncated_normal, stateless_categorical",
    "stateless_parameterized_truncated_normal", "tf.random.experimental.stateless_split/fold_in",
    "tf.random.Generator.from_seed (RngReadAndSkip on the state variable + StatelessRandom*V2; advances between calls)",
    "op-seeded stateful ops tf.random.uniform/normal(seed=) (advance between calls)",
    "tf.image.stateless_random_flip_left_right / stateless_random_brightness"])
def random(path):
    class Random(tf.Module):
        def __init__(self):
            self.gen = tf.random.Generator.from_seed(1234)

        @tf.function(input_signature=[spec([2], tf.int32)])
        def stateless(self, seed):
            out = {"uniform": tf.random.stateless_uniform([3, 4], seed),
                   "uniform64": tf.random.stateless_uniform([5], seed, dtype=tf.float64, minval=-2.0, maxval=3.0),
                   "uniform_int": tf.random.stateless_uniform([6], seed, minval=-5, maxval=17, dtype=tf.int32),
                   "uniform_i64": tf.random.stateless_uniform([4], seed, minval=None, maxval=None, dtype=tf.int64),
                   "normal": tf.random.stateless_normal([2, 5], seed, mean=1.0, stddev=2.0),
                   "normal16": tf.random.stateless_normal([4], seed, dtype=tf.float16),
                   "truncated": tf.random.stateless_truncated_normal([7], seed),
                   "categorical": tf.random.stateless_categorical(tf.math.log([[0.1, 0.6, 0.3], [0.8, 0.1, 0.1]]), 6, seed),
                   "ptn": tf.random.stateless_parameterized_truncated_normal([5], seed, 0.5, 1.5, -1.0, 2.0),
                   "split": tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3),
                   "fold_in": tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 42),
                   "flip": tf.image.stateless_random_flip_left_right(tf.reshape(tf.range(12.0), [1, 2, 3, 2]), seed),
                   "brightness": tf.image.stateless_random_brightness(tf.ones([2, 2]), 0.5, seed)}
            return out

        @tf.function(input_signature=[])
        def stateful(self):
            return {"gen_uniform": self.gen.uniform([4]), "gen_normal": self.gen.normal([3]),
                    "gen_int": self.gen.uniform([3], 0, 100, dtype=tf.int32),
                    "op_uniform": tf.random.uniform([3], seed=7), "op_normal": tf.random.normal([2], seed=8),
                    "op_int": tf.random.uniform([3], 0, 50, dtype=tf.int64, seed=9)}

    tf.random.set_seed(99)
    m = Random()
    tf.saved_model.save(m, str(path), signatures={"stateless": m.stateless, "stateful": m.stateful})
    return [Run("stateless", {"seed": np.array([12, 34], np.int32)}, tol={"*": {"rtol": 1e-5, "atol": 1e-6},
                                                                          "normal16": {"rtol": 1e-3, "atol": 1e-3}}),
            Run("stateless", {"seed": np.array([-5, 2**31 - 1], np.int32)}, tol={"*": {"rtol": 1e-5, "atol": 1e-6},
                                                                                 "normal16": {"rtol": 1e-3, "atol": 1e-3}}),
            Run("stateful", {}), Run("stateful", {})]


# ---------------------------------------------------------------- TF2: state and assertions

@tf2_case("signatures that mutate variables of many dtypes", [
    "AssignAddVariableOp / AssignSubVariableOp / AssignVariableOp on int8..uint64, float16, bfloat16, float32/64, "
    "complex64, bool, string variables", "ResourceScatterAdd/Update/Sub/Mul/Div/Min/Max (var.scatter_*)",
    "ResourceScatterNdUpdate/Add (var.scatter_nd_*)", "ResourceStridedSliceAssign (var[1:3].assign)",
    "a counter read after its update in the same call (control dependencies)",
    "state persists across calls and across signatures (second call sees the first call's updates)",
    "tf.Variable.assign with read_value inside tf.cond / tf.while_loop"])
def stateful(path):
    dts = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "bfloat16",
           "float32", "float64", "complex64"]

    class State(tf.Module):
        def __init__(self):
            self.vars = {dt: tf.Variable(tf.cast([1, 2, 3], dt), name=f"v_{dt}") for dt in dts}
            self.flag = tf.Variable([True, False], name="flag")
            self.text = tf.Variable(["a", "b"], name="text")
            self.count = tf.Variable(0, dtype=tf.int64, name="count")
            self.table = tf.Variable(tf.zeros([4, 3]), name="table")
            self.acc = tf.Variable(1.0, name="acc")

        @tf.function(input_signature=[spec([], tf.int32), spec([3])])
        def step(self, k, x):
            out = {}
            self.count.assign_add(1)
            for dt, v in self.vars.items():
                if dt.startswith("u"):
                    v.assign_add(tf.cast(tf.fill([3], k), dt))
                else:
                    delta = tf.cast(tf.fill([3], k), dt) * tf.cast(2, dt)
                    v.assign_sub(delta + tf.cast(0.1, dt) if dt[0] in "fbc" else delta)
                out[dt] = v.read_value()
            self.flag.assign(tf.logical_not(self.flag))
            self.text.assign(tf.strings.join([self.text, tf.strings.as_string(self.count)]))
            self.table.scatter_add(tf.IndexedSlices(tf.ones([2, 3]) * x[0], tf.constant([1, 3])))
            self.table.scatter_nd_update([[0, 0], [2, 1]], x[:2])
            self.table.scatter_nd_add([[3, 2]], x[2:])
            self.table[1:3, 0].assign(tf.fill([2], x[1]))
            tf.cond(x[0] > 0.0, lambda: self.acc.assign(self.acc * 2.0), lambda: self.acc.assign_add(-1.0))

            def body(i):
                with tf.control_dependencies([self.acc.assign_add(0.5)]):
                    return i + 1
            tf.while_loop(lambda i: i < k, body, [tf.constant(0)])
            out.update(flag=self.flag.read_value(), text=self.text.read_value(), count=self.count.read_value(),
                       table=self.table.read_value(), acc=self.acc.read_value())
            return out

        @tf.function(input_signature=[spec([], tf.float32)])
        def scatter_ops(self, s):
            self.table.scatter_mul(tf.IndexedSlices(tf.fill([1, 3], s), [2]))
            self.table.scatter_div(tf.IndexedSlices(tf.fill([1, 3], s + 1.0), [3]))
            self.table.scatter_max(tf.IndexedSlices(tf.fill([1, 3], s), [0]))
            self.table.scatter_min(tf.IndexedSlices(tf.fill([1, 3], -s), [1]))
            self.table.scatter_sub(tf.IndexedSlices(tf.ones([1, 3]), [0]))
            self.table.scatter_update(tf.IndexedSlices(tf.fill([1, 3], s * 3.0), [2]))
            return {"table": tf.identity(self.table), "count": tf.identity(self.count)}

        @tf.function(input_signature=[])
        def read(self):
            return {"count": tf.identity(self.count), "acc": tf.identity(self.acc),
                    "f16": tf.identity(self.vars["float16"]), "text": tf.identity(self.text)}

    m = State()
    tf.saved_model.save(m, str(path), signatures={"step": m.step, "scatter_ops": m.scatter_ops, "read": m.read})
    return [Run("read", {}),
            Run("step", {"k": np.int32(1), "x": np.array([0.5, -1.0, 2.0], np.float32)}),
            Run("step", {"k": np.int32(3), "x": np.array([-0.5, 4.0, 1.0], np.float32)}),
            Run("scatter_ops", {"s": np.float32(2.5)}),
            Run("read", {}),
            Run("step", {"k": np.int32(0), "x": np.array([1.5, 0.0, -3.0], np.float32)}),
            Run("scatter_ops", {"s": np.float32(-2.0)}),
            Run("read", {})]


@tf2_case("tf.print and tf.debugging assertions inside graphs", [
    "tf.print (PrintV2 + StringFormat) as a side effect", "tf.debugging.assert_equal/less/positive/non_negative "
    "(Assert inside AssertGuard If)", "tf.debugging.check_numerics", "tf.ensure_shape", "tf.Assert with data",
    "tf.debugging.assert_shapes", "a run whose assertion fails (TF raises InvalidArgumentError)",
    "tf.debugging.assert_all_finite", "tf.debugging.Assert in a tf.cond branch"])
def debug(path):
    class Debug(tf.Module):
        @tf.function(input_signature=[spec([None]), spec([], tf.int32)])
        def checked(self, x, n):
            tf.print("x:", x, "n:", n, output_stream=sys.stderr)
            deps = [tf.debugging.assert_non_negative(n, message="n must be >= 0"),
                    tf.debugging.assert_less(n, 10), tf.debugging.assert_equal(tf.rank(x), 1)]
            tf.debugging.assert_shapes([(x, ("N",))])
            with tf.control_dependencies(deps):
                y = tf.debugging.check_numerics(x * 2.0, "x*2 must be finite")
                y = tf.ensure_shape(y, [None])
            z = tf.cond(n > 5, lambda: tf.identity(y), lambda: y + 1.0)
            tf.debugging.Assert(tf.reduce_all(tf.math.is_finite(z)), [z, n], summarize=4)
            return {"y": y, "z": tf.debugging.assert_all_finite(z, "z finite"), "n2": n * 2}

        @tf.function(input_signature=[spec([None])])
        def positive(self, x):
            with tf.control_dependencies([tf.debugging.assert_positive(x, message="x must be positive")]):
                return {"log": tf.math.log(x)}

    m = Debug()
    tf.saved_model.save(m, str(path), signatures={"checked": m.checked, "positive": m.positive})
    return [Run("checked", {"x": np.array([1.0, -2.0, 0.5], np.float32), "n": np.int32(3)}),
            Run("checked", {"x": np.array([4.0], np.float32), "n": np.int32(7)}),
            Run("checked", {"x": np.array([4.0], np.float32), "n": np.int32(12)}, error=True),
            Run("checked", {"x": np.array([np.inf], np.float32), "n": np.int32(2)}, error=True),
            Run("positive", {"x": np.array([1.0, 2.0, 0.5], np.float32)}),
            Run("positive", {"x": np.array([1.0, -2.0], np.float32)}, error=True)]


# ---------------------------------------------------------------- TF1 graph mode

def v1_graph(fn):
    """Run fn() in a fresh graph with v1 control flow (Switch/Merge/Enter/Exit) and v1 TensorArrays."""
    tf.compat.v1.disable_control_flow_v2()
    try:
        with tf.Graph().as_default() as g:
            return fn(g)
    finally:
        tf.compat.v1.enable_control_flow_v2()


def v1_net(x, n):
    """A dense net on ref variables + nested v1 control flow; returns named tensors."""
    v1 = tf.compat.v1
    init = v1.constant_initializer
    w1 = v1.get_variable("dense1/kernel", [3, 4], initializer=init(np.linspace(-1, 1, 12).reshape(3, 4)),
                         use_resource=False)
    b1 = v1.get_variable("dense1/bias", [4], initializer=init([0.1, -0.2, 0.3, 0.0]), use_resource=False)
    w2 = v1.get_variable("dense2/kernel", [4, 2], initializer=init(np.linspace(0.5, -0.5, 8).reshape(4, 2)),
                         use_resource=False)
    scale = v1.get_variable("scale", [], initializer=init(1.5), use_resource=True)
    h = tf.nn.relu(tf.matmul(x, w1) + b1, name="hidden")
    logits = tf.identity(tf.matmul(h, w2) * scale, name="logits")
    probs = tf.nn.softmax(logits, name="probs")

    def outer_cond(i, acc, ta):
        return i < n

    def outer_body(i, acc, ta):
        def inner_body(j, a):
            a = v1.cond(tf.equal(j % 2, 0), lambda: a + tf.reduce_sum(h) * tf.cast(j, tf.float32),
                        lambda: v1.cond(a > 5.0, lambda: a * 0.5, lambda: a - 1.0))
            return j + 1, a
        _, acc = v1.while_loop(lambda j, a: j < i, inner_body, [tf.constant(0), acc])
        return i + 1, acc, ta.write(i, acc * scale)
    ta = tf.TensorArray(tf.float32, size=n, element_shape=[])
    _, looped, ta = v1.while_loop(outer_cond, outer_body, [tf.constant(0), tf.constant(0.0), ta])
    looped = tf.identity(looped, name="looped")
    history = tf.identity(ta.stack(), name="history")
    branch = v1.cond(n > 2, lambda: v1.cond(tf.reduce_max(probs) > 0.9, lambda: logits * 2.0, lambda: logits),
                     lambda: tf.zeros_like(logits))
    branch = tf.identity(branch, name="branch")
    counter = v1.get_variable("counter", [], tf.int64, initializer=v1.zeros_initializer(), use_resource=False)
    bump = tf.identity(v1.assign_add(counter, tf.cast(n, tf.int64)), name="bump")
    return {"logits": logits, "probs": probs, "looped": looped, "history": history, "branch": branch,
            "bump": bump, "counter": counter, "hidden": h}


@case
def tf1_builder(path):
    """TF1 SavedModelBuilder: several signatures and tag-sets, ref variables, v1 control flow, asset tables."""
    v1 = tf.compat.v1
    tmp = Path(tempfile.mkdtemp())
    vocab = tmp / "words.txt"
    vocab.write_text("red\ngreen\nblue\n", encoding="utf-8")

    def build(g):
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        n = v1.placeholder(tf.int32, [], name="n")
        words = v1.placeholder(tf.string, [None], name="words")
        t = v1_net(x, n)
        asset = tf.constant(str(vocab), name="vocab_path")
        v1.add_to_collection(v1.GraphKeys.ASSET_FILEPATHS, asset)
        table = tf.lookup.StaticVocabularyTable(
            tf.lookup.TextFileInitializer(asset, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                          tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER), num_oov_buckets=2)
        ids = table.lookup(words)
        info = v1.saved_model.utils.build_tensor_info
        sig = v1.saved_model.signature_def_utils.build_signature_def
        predict = sig({"x": info(x), "n": info(n)},
                      {k: info(t[k]) for k in ("logits", "probs", "looped", "history", "branch")},
                      v1.saved_model.signature_constants.PREDICT_METHOD_NAME)
        lookup = sig({"words": info(words)}, {"ids": info(ids)}, v1.saved_model.signature_constants.PREDICT_METHOD_NAME)
        bump = sig({"n": info(n)}, {"counter": info(t["bump"])}, v1.saved_model.signature_constants.PREDICT_METHOD_NAME)
        hidden = sig({"x": info(x)}, {"hidden": info(t["hidden"])}, "custom/method")
        with v1.Session(graph=g) as sess:
            sess.run([v1.global_variables_initializer(), v1.tables_initializer()])
            b = v1.saved_model.Builder(str(path))
            b.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={
                "serving_default": predict, "lookup": lookup, "bump": bump},
                assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
                main_op=v1.tables_initializer(), strip_default_attrs=True)
            b.add_meta_graph(["serve", "extra"], signature_def_map={"hidden": hidden, "bump": bump},
                             assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS))
            b.save()
    v1_graph(build)
    shutil.rmtree(tmp)
    x = np.array([[1.0, -0.5, 2.0], [0.0, 3.0, -1.0]], np.float32)
    runs = [Run("serving_default", {"x": x, "n": np.int32(4)}),
            Run("serving_default", {"x": -x, "n": np.int32(1)}),
            Run("lookup", {"words": s("blue", "red", "purple", "")}),
            Run("bump", {"n": np.int32(3)}), Run("bump", {"n": np.int32(5)}),
            Run("hidden", {"x": x}, tags=("serve", "extra")),
            Run("bump", {"n": np.int32(2)}, tags=("serve", "extra"))]
    return {"recorder": record_tf1(path, runs), "description": "TF1 SavedModelBuilder, graph mode",
            "features": ["tf.compat.v1.saved_model.Builder with tag-sets ['serve'] and ['serve','extra']",
                         "strip_default_attrs on one meta graph", "placeholders, ref variables (VariableV2) in a "
                         "dense net, one resource variable", "v1 while_loop nested in a v1 while_loop, v1 cond "
                         "nested in v1 cond inside the inner loop body (frames)", "v1 TensorArrayV3 write/stack in "
                         "a while loop", "StaticVocabularyTable from an asset (ASSET_FILEPATHS) initialized by "
                         "main_op=tables_initializer", "a signature that mutates a ref variable (AssignAdd): each "
                         "call sees the previous calls' updates, per tag-set", "custom method_name"]}


@case
def tf1_frozen(path):
    """A frozen GraphDef (variables -> constants) run by tensor names."""
    v1 = tf.compat.v1

    def build(g):
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        n = v1.placeholder_with_default(tf.constant(3), [], name="n")
        v1_net(x, n)
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            names = ["logits", "probs", "looped", "history", "branch"]
            frozen = v1.graph_util.convert_variables_to_constants(sess, g.as_graph_def(), names)
        path.mkdir(parents=True)
        (path / "graph.pb").write_bytes(frozen.SerializeToString())
        g2 = tf.Graph()
        with g2.as_default():
            tf.graph_util.import_graph_def(frozen, name="")
        sess = v1.Session(graph=g2)
        x = np.array([[1.0, -0.5, 2.0], [0.0, 3.0, -1.0], [0.5, 0.5, 0.5]], np.float32)
        runs = [Run(None, {"x:0": x, "n:0": np.int32(4)}, fetches=["logits:0", "probs:0", "looped:0", "history:0", "branch:0"]),
                Run(None, {"x:0": x[:1]}, fetches=["looped:0", "branch:0", "hidden:0"]),
                Run(None, {"x:0": -x, "n:0": np.int32(0)}, fetches=["history:0", "branch:0"])]
        return record_graph(sess, runs)
    rec = v1_graph(build)
    return {"recorder": rec, "description": "frozen GraphDef (convert_variables_to_constants) of a v1 graph",
            "features": ["graph.pb: GraphDef without signatures, run by tensor names (MetaGraph.run)",
                         "placeholder_with_default left unfed", "v1 nested while/cond, TensorArrayV3",
                         "fetching an intermediate tensor"]}


@case
def tf1_meta(path):
    """A tf.compat.v1.train.Saver checkpoint + .meta graph, run by tensor names."""
    v1 = tf.compat.v1

    def build(g):
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        n = v1.placeholder(tf.int32, [], name="n")
        v1_net(x, n)
        saver = v1.train.Saver()
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            sess.run(v1.assign(v1.get_default_graph().get_tensor_by_name("counter:0"), 7))
            path.mkdir(parents=True)
            saver.save(sess, str(path / "model.ckpt"))
        for f in path.glob("checkpoint"):
            f.unlink()
        g2 = tf.Graph()
        sess = v1.Session(graph=g2)
        with g2.as_default():
            restorer = v1.train.import_meta_graph(str(path / "model.ckpt.meta"))
            restorer.restore(sess, str(path / "model.ckpt"))
        x = np.array([[1.0, -0.5, 2.0], [0.0, 3.0, -1.0]], np.float32)
        runs = [Run(None, {"x:0": x, "n:0": np.int32(3)}, fetches=["logits:0", "probs:0", "looped:0", "history:0", "branch:0"]),
                Run(None, {"n:0": np.int32(2)}, fetches=["bump:0"]),
                Run(None, {"n:0": np.int32(4)}, fetches=["bump:0"]),
                Run(None, {"x:0": x}, fetches=["hidden:0", "counter:0", "dense1/bias:0"])]
        return record_graph(sess, runs)
    rec = v1_graph(build)
    return {"recorder": rec, "description": "tf.compat.v1.train.Saver .meta + checkpoint",
            "features": ["model.ckpt.meta MetaGraphDef + model.ckpt.index/.data (no `checkpoint` file)",
                         "ref variables restored from the checkpoint by name", "AssignAdd on a ref variable "
                         "fetched twice: the second run sees the first's update", "fetching a variable's value"]}


@case
def tf1_state(path):
    """TF1 session semantics: ref variables read through v1 cond, assigned inside a v1 while loop, a seeded
    random op continuing its stream from run to run."""
    v1 = tf.compat.v1

    def build(g):
        x = v1.placeholder(tf.float32, [None], name="x")
        k = v1.placeholder(tf.int32, [], name="k")
        acc = v1.get_variable("acc", [], initializer=v1.constant_initializer(1.0), use_resource=False)
        steps = v1.get_variable("steps", [], tf.int32, initializer=v1.zeros_initializer(), use_resource=False)
        y = v1.cond(k > 1, lambda: acc * x, lambda: acc + x)          # RefSwitch on the ref variable

        def body(i, total):
            with tf.control_dependencies([v1.assign_add(steps, 1)]):
                return i + 1, total + tf.reduce_sum(x)
        _, total = v1.while_loop(lambda i, t: i < k, body, [tf.constant(0), tf.constant(0.0)])
        with tf.control_dependencies([total]):
            steps_after = tf.identity(steps)
        cased = v1.case([(k < 0, lambda: x * 0.0), (k > 2, lambda: x * 2.0)], default=lambda: x - 1.0,
                        exclusive=True)
        ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        _, ta = v1.while_loop(lambda i, ta: i < k, lambda i, ta: (i + 1, ta.write(i, tf.cast(i, tf.float32) * 2.0)),
                              [0, ta])
        info = v1.saved_model.utils.build_tensor_info
        sig = v1.saved_model.signature_def_utils.build_signature_def(
            {"x": info(x), "k": info(k)},
            {"y": info(y), "total": info(total), "steps": info(steps_after), "rand": info(v1.random_uniform([3], seed=5)),
             "cased": info(cased), "ta": info(ta.stack()), "printed": info(v1.Print(x, [x, k], message="x, k: "))},
            v1.saved_model.signature_constants.PREDICT_METHOD_NAME)
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            b = v1.saved_model.Builder(str(path))
            b.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": sig})
            b.save()
    v1_graph(build)
    runs = [Run("serving_default", {"x": np.array([1.0, 2.0], np.float32), "k": np.int32(3)}),
            Run("serving_default", {"x": np.array([0.5], np.float32), "k": np.int32(1)}),
            Run("serving_default", {"x": np.array([0.5, 4.0, 1.0], np.float32), "k": np.int32(2)})]
    return {"recorder": record_tf1(path, runs), "description": "TF1 SavedModel with session state",
            "features": ["ref variable read in both branches of a v1 cond (RefSwitch)",
                         "AssignAdd on a ref variable inside a v1 while_loop body (control dependencies); the count "
                         "persists across runs", "tf.compat.v1.random_uniform(seed=5) (graph seed default): the "
                         "stateful kernel continues its Philox stream run after run", "v1 case (exclusive)",
                         "dynamic-size TensorArrayV3 in a v1 loop", "tf.compat.v1.Print passing its input through"]}


def main(argv: list[str]) -> None:
    names = argv or list(CASES)
    for name in names:
        write_case(name, CASES[name])
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"zoo_tf total: {total / 1024:.1f} KiB")


if __name__ == "__main__":
    main(sys.argv[1:])
