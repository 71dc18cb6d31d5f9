"""Development-only generator of tests/data/show/ (needs TensorFlow 2.21's saved_model_cli).

    python tests/test_show.py write-hand OUT                  # hand-built messages -> OUT/hand_*/
    "$SMLENS_TF_PYTHON" tests/data/show/make_models.py OUT    # SMLENS_TF_PYTHON: a Python with TensorFlow 2.21

The second step saves two SavedModels with TensorFlow (structs, tf1_special), runs
`saved_model_cli show` for every view in VIEWS and `--all` on each hand_*/ model, and writes
into this folder: <model>.pb, <model>.<view>.txt (stdout), <model>.<view>.err (last line of the
traceback, for views where saved_model_cli fails), hand_<name>.all.txt. TensorFlow prints some
things in hash order (a Python set of ops, dict keys from protobuf maps); the stored texts have
them sorted, which is the order smlens prints. Tests never import TensorFlow.
"""
import collections
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import tensorflow as tf
from tensorflow.python.framework import tensor as tensor_lib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(), "show_models")
DEST = os.path.dirname(os.path.abspath(__file__))
Point = collections.namedtuple("Point", ["x", "y"])


@tf.custom_gradient
def clipped_identity(x):
    def grad(dy):
        return tf.clip_by_value(dy, -1.0, 1.0)
    return tf.identity(x), grad


class Structs(tf.Module):
    def __init__(self):
        super().__init__()
        self.v = tf.Variable(2.0)

    @tf.function(input_signature=[
        (tf.TensorSpec([None], tf.float32, name="a"), tf.TensorSpec([2], tf.int32)),
        {"k1": tf.TensorSpec([], tf.string, name="k1"), "k0": tf.TensorSpec([3], tf.float64)},
        Point(tf.TensorSpec([None, 2], tf.float32, name="px"), tf.TensorSpec([], tf.int64, name="py")),
        [tf.TensorSpec(None, tf.bool, name="flags")],
    ])
    def nested(self, pair, mapping, point, flags):
        return pair[0] * self.v

    @tf.function(input_signature=[
        tf.SparseTensorSpec([None, 4], tf.float32),
        tf.RaggedTensorSpec([None, None], tf.int32, ragged_rank=1),
        tf.RaggedTensorSpec([2, None, None, 3], tf.float32, ragged_rank=2, row_splits_dtype=tf.int32),
        tf.IndexedSlicesSpec([10, 3], tf.float32, tf.int64, tf.int32, [None]),
    ])
    def composite(self, sp, rt, rt2, isl):
        return tf.sparse.reduce_sum(sp) + tf.cast(tf.reduce_sum(rt.flat_values), tf.float32)

    @tf.function
    def pyvals(self, x, scale, flag, nothing, mode, count):
        return x * scale

    @tf.function
    def kw(self, x, *, scale, tag="default"):
        return x * scale

    @tf.function
    def many(self, x):
        return tf.reduce_sum(x) * self.v + tf.cast(tf.size(x), tf.float32)

    @tf.function
    def typed(self, x, dt, shp):
        return tf.cast(x, dt)

    @tf.function
    def with_var(self, x, var):
        return x + var

    @tf.function
    def deep(self, x, cfg):
        return x

    @tf.function
    def bounded(self, x):
        return x * 2.0

    @tf.function
    def defaults(self, x, y=2.0, *, z=None):
        return x * y

    @tf.function
    def var_args(self, x, *rest, **named):
        return x + tf.add_n(list(rest) + list(named.values()))

    @tf.function
    def custom_grad(self, x):
        return clipped_identity(x) * self.v

    @tf.function
    def no_args(self):
        return self.v * 3.0


def structs():
    m = Structs()
    m.pyvals(tf.constant([1.0]), 1.5, True, None, "it's", 3)
    m.pyvals(tf.constant([1.0, 2.0]), 2.5, False, None, 'say "hi"', -1)
    m.kw(tf.constant(1.0), scale=2.0)
    m.kw(tf.constant(1.0), scale=3.0, tag="t")
    for shape in ([1], [2], [3], [1, 2], [2, 2], [1, 2, 3], [4], [5], [6], [7], [8], [9], [10]):
        m.many(tf.zeros(shape))
    m.typed(tf.constant([1, 2]), tf.float16, tf.TensorShape([2, None]))
    m.typed(tf.constant([1, 2]), tf.int64, tf.TensorShape(None))
    m.with_var(tf.constant(1.0), m.v)
    m.deep(tf.constant(1.0), {"b": (1, 2.0, [None, "s"]), "a": Point(True, {"z": 0})})
    m.deep(tf.constant(1.0), ())
    m.deep(tf.constant(1.0), [])
    m.deep(tf.constant(1.0), {})
    m.bounded.get_concrete_function(tensor_lib.BoundedTensorSpec([2], tf.float32, 0.0, 1.0, name="bx"))
    m.no_args()
    for shape in ([2], [3], [2, 3]):
        m.custom_grad(tf.zeros(shape))
    m.defaults(tf.constant(1.0))
    m.defaults(tf.constant(1.0), 3.0, z="zz")
    m.var_args(tf.constant(1.0), tf.constant(2.0), tf.constant(3.0), k=tf.constant(4.0))
    m.bare = m.many.get_concrete_function(tf.TensorSpec([None, 5], tf.float32, name="bare_x"))
    m.alias = m.pyvals
    path = os.path.join(OUT, "structs")
    tf.saved_model.save(m, path, signatures={
        "nested_sig": m.nested.get_concrete_function(),
        "composite_sig": m.composite.get_concrete_function(),
    })


def tf1_special():
    path = os.path.join(OUT, "tf1_special")
    g = tf.Graph()
    with g.as_default():
        tf1 = tf.compat.v1
        sp = tf1.sparse_placeholder(tf.float32, shape=[None, 5], name="sp")
        dense = tf1.placeholder(tf.int64, shape=None, name="dense")
        scal = tf1.placeholder(tf.string, shape=[], name="scal")
        rt = tf.RaggedTensor.from_row_lengths(tf.sparse.to_dense(sp)[:, 0], tf.constant([1, 1], tf.int64))
        total = tf.sparse.reduce_sum(sp, name="total")
        out_sp = tf.sparse.reorder(sp)
        v = tf1.get_variable("w", shape=[2], initializer=tf1.zeros_initializer())
        info = tf1.saved_model.build_tensor_info
        sig_main = tf1.saved_model.signature_def_utils.build_signature_def(
            inputs={"sp": info(sp), "dense": info(dense)},
            outputs={"total": info(total), "ragged": info(rt), "sp_out": info(out_sp)},
            method_name="tensorflow/serving/predict")
        sig_nomethod = tf1.saved_model.signature_def_utils.build_signature_def(
            inputs={"scal": info(scal)}, outputs={"len": info(tf.strings.length(scal))}, method_name="")
        sig_empty = tf1.saved_model.signature_def_utils.build_signature_def(
            inputs={}, outputs={"w": info(v)}, method_name="custom/method")
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            b = tf1.saved_model.Builder(path)
            b.add_meta_graph_and_variables(sess, ["serve", "gpu"], signature_def_map={
                "main": sig_main, "no_method": sig_nomethod, "empty_inputs": sig_empty})
            b.add_meta_graph(["it's", "alpha"], signature_def_map={"main": sig_main})
            b.add_meta_graph([], signature_def_map={})
            b.save()


# (model, output file, saved_model_cli show arguments); a failing command also writes <file>.err
# with the last line of its traceback.
VIEWS = [
    ("structs", "all", ["--all"]),
    ("structs", "tagsets", []),
    ("structs", "keys_serve", ["--tag_set", "serve"]),
    ("structs", "sig_nested", ["--tag_set", "serve", "--signature_def", "nested_sig"]),
    ("structs", "sig_composite", ["--tag_set", "serve", "--signature_def", "composite_sig"]),
    ("structs", "list_ops_serve", ["--tag_set", "serve", "--list_ops"]),
    ("structs", "list_ops_notag", ["--list_ops"]),
    ("structs", "err_tag", ["--tag_set", "nope"]),
    ("structs", "err_sig", ["--tag_set", "serve", "--signature_def", "nope"]),
    ("tf1_special", "all", ["--all"]),
    ("tf1_special", "tagsets", []),
    ("tf1_special", "keys_gpu_serve", ["--tag_set", "gpu,serve"]),
    ("tf1_special", "keys_empty", ["--tag_set", ""]),
    ("tf1_special", "keys_spaced", ["--tag_set", "serve, gpu"]),
    ("tf1_special", "sig_spaced_main", ["--tag_set", "serve, gpu", "--signature_def", "main"]),
    ("tf1_special", "sig_quote_main", ["--tag_set", "alpha,it's", "--signature_def", "main"]),
    ("tf1_special", "sig_no_method", ["--tag_set", "serve,gpu", "--signature_def", "no_method"]),
    ("tf1_special", "sig_empty_inputs", ["--tag_set", "serve,gpu", "--signature_def", "empty_inputs"]),
    ("tf1_special", "list_ops_sig", ["--tag_set", "gpu,serve", "--list_ops", "--signature_def", "no_method"]),
    ("tf1_special", "err_sig_empty_tag", ["--tag_set", "", "--signature_def", "main"]),
    ("tf1_special", "err_tag_partial", ["--tag_set", "serve", "--signature_def", "main"]),
]


def cli(path, args):
    cli_path = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    r = subprocess.run([cli_path, "show", "--dir", path] + args, capture_output=True, text=True)
    err = r.stderr.strip().splitlines()[-1] + "\n" if r.returncode else None
    return r.stdout, err


def _split_items(text):
    """Top-level ', '-separated items of a Python repr (brackets and quotes respected)."""
    items, depth, cur, quote = [], 0, "", None
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            cur += c
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
            cur += c
        elif c in "([{":
            depth += 1
            cur += c
        elif c in ")]}":
            depth -= 1
            cur += c
        elif c == "," and depth == 0 and text[i + 1:i + 2] == " ":
            items.append(cur)
            cur = ""
            i += 1
        else:
            cur += c
        i += 1
    return items + ([cur] if cur else [])


def canonical(text):
    """Sort what TensorFlow prints in hash order: the ops set, dict values, named arguments."""
    lines = []
    for line in text.split("\n"):
        m = re.match(r"^(The MetaGraph with tag set .* contains the following ops: \{)(.*)\}$", line)
        if m:
            line = m.group(1) + ", ".join(sorted(m.group(2).split(", "))) + "}"
        m = re.match(r"^(\s+Value: \{)(.*), \x08\x08\}$", line)
        if m:
            line = m.group(1) + ", ".join(sorted(_split_items(m.group(2)))) + ", \b\b}"
        lines.append(line)
    out, i = [], 0
    while i < len(lines):
        if re.match(r"^\s+Named Argument #1$", lines[i]):
            j, names = i, []
            while j + 1 < len(lines) and re.match(r"^\s+Named Argument #\d+$", lines[j]):
                names.append(lines[j + 1])
                j += 2
            for k, name in enumerate(sorted(names), 1):
                out += [re.sub(r"#\d+$", f"#{k}", lines[i]), name]
            i = j
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def store(name, stdout, err):
    if err:
        with open(os.path.join(DEST, name + ".err"), "w") as f:
            f.write(err)
    if stdout or not err:
        with open(os.path.join(DEST, name + ".txt"), "w") as f:
            f.write(canonical(stdout))


if __name__ == "__main__":
    for model in ("structs", "tf1_special"):
        shutil.rmtree(os.path.join(OUT, model), ignore_errors=True)
    structs()
    tf1_special()
    for model in ("structs", "tf1_special"):
        shutil.copy(os.path.join(OUT, model, "saved_model.pb"), os.path.join(DEST, model + ".pb"))
    for model, name, args in VIEWS:
        store(f"{model}.{name}", *cli(os.path.join(OUT, model), args))
    for path in sorted(glob.glob(os.path.join(OUT, "hand_*"))):
        store(os.path.basename(path) + ".all", *cli(path, ["--all"]))
