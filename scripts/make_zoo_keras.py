"""Development-only generator of tests/data/zoo_keras: small Keras 3 models exported by TensorFlow 2.21,
with TensorFlow's outputs and `saved_model_cli show --all` text, in the corpus layout.

    "$SMLENS_TF_PYTHON" scripts/make_zoo_keras.py [name ...]     # all models, or only those named
    (SMLENS_TF_PYTHON: a Python with TensorFlow 2.21; its saved_model_cli is used too)
    (ZOO_KERAS_OUT=DIR writes elsewhere, e.g. to try models before adding them)

Per model, tests/data/zoo_keras/<name>/:
  model/           the SavedModel (Keras `model.export()`, or `tf.saved_model.save` where noted)
  reference.npz    inputs and TF's outputs per run: <signature>/inputs/<key>, <signature>/outputs/<key>
                   (first batch), <signature>@1/... (second batch); strings live in reference.json
  reference.json   runs[] with every tensor's TF dtype, shape, storage and, for outputs, tolerance
  show_all.txt     stdout of `saved_model_cli show --dir model --all`, run in the model's folder
Weights are random with fixed seeds (nothing is downloaded). Needs TensorFlow (never imported by tests).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("ZOO_KERAS_OUT", ROOT / "tests" / "data" / "zoo_keras"))
SAVED_MODEL_CLI = Path(sys.executable).parent / "saved_model_cli"
BATCHES = (2, 1)

TIGHT = {"rtol": 1e-5, "atol": 1e-6}   # short float32 chains
LOOSE = {"rtol": 1e-4, "atol": 1e-5}   # conv / RNN / attention / normalization
HALF = {"rtol": 1e-2, "atol": 2e-3}    # float16 compute
BF16 = {"rtol": 2e-2, "atol": 2e-2}    # bfloat16 compute (8 bits of mantissa)
EXACT = {"rtol": 0.0, "atol": 0.0}

MODELS: dict = {}


def model(name: str, tol: dict = LOOSE, saver: str = "export"):
    """Register a builder: it returns (keras model or (tf.Module, signatures), inputs(rng, batch)).
    saver: "export" (model.export), "tf" (tf.saved_model.save with those signatures), "tf_plain"
    (tf.saved_model.save(model) with no signatures: TF traces the model's call)."""
    def register(fn):
        MODELS[name] = (fn, tol, saver)
        return fn
    return register


def normal(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def randomize_batchnorm(m, rng):
    for layer in m.layers if hasattr(m, "layers") else []:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.moving_mean.shape
            layer.moving_mean.assign(normal(rng, *n, scale=0.3))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype(np.float32))
            if layer.gamma is not None:
                layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype(np.float32))
            if layer.beta is not None:
                layer.beta.assign(normal(rng, *n, scale=0.2))


def randomize_norm_weights(m, rng):
    """gamma/beta of Layer/Group normalization away from 1/0, so that wrong axes show."""
    for layer in m.layers:
        if isinstance(layer, (layers.LayerNormalization, layers.GroupNormalization)):
            for w in layer.weights:
                base = 1.0 if "gamma" in w.path or "scale" in w.path else 0.0
                w.assign(base + normal(rng, *w.shape, scale=0.3))


# ------------------------------------------------------------------ recurrent

@model("rnn_lstm_gru")
def rnn_lstm_gru():
    x = keras.Input((None, 5), name="seq")
    h = layers.LSTM(8, return_sequences=True, name="lstm")(x)
    h = layers.GRU(6, return_sequences=True, reset_after=True, name="gru")(h)
    g = layers.GRU(4, reset_after=False, name="gru_v1")(h)
    s = layers.SimpleRNN(5, activation="relu", name="simple_rnn")(h)
    out = layers.Concatenate(name="concat")([g, s])
    m = keras.Model(x, layers.Dense(3, name="head")(out), name="m")
    return m, lambda rng, b: {"seq": normal(rng, b, 7 if b == BATCHES[0] else 4, 5)}


@model("rnn_bidirectional")
def rnn_bidirectional():
    x = keras.Input((6, 4), name="seq")
    h = layers.Masking(mask_value=0.0, name="masking")(x)
    h = layers.Bidirectional(layers.LSTM(5, return_sequences=True), name="bilstm")(h)
    seq = layers.TimeDistributed(layers.Dense(2), name="per_step")(h)
    m = keras.Model(x, {"mean": layers.GlobalAveragePooling1D(name="masked_mean")(h), "per_step": seq}, name="m")

    def inputs(rng, b):
        v = normal(rng, b, 6, 4)
        v[0, 4:] = 0.0          # trailing padding
        v[-1, 1] = 0.0          # a masked step in the middle
        return {"seq": v}
    return m, inputs


@model("rnn_unrolled_convlstm")
def rnn_unrolled_convlstm():
    frames = keras.Input((3, 5, 5, 2), name="frames")
    seq = keras.Input((4, 3), name="seq")
    c = layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True, name="convlstm")(frames)
    u = layers.LSTM(4, unroll=True, name="lstm_unrolled")(seq)
    m = keras.Model({"frames": frames, "seq": seq}, {"conv": layers.Flatten(name="flat")(c), "unrolled": u},
                    name="m")
    return m, lambda rng, b: {"frames": normal(rng, b, 3, 5, 5, 2), "seq": normal(rng, b, 4, 3)}


@model("rnn_embedding_mask")
def rnn_embedding_mask():
    tok = keras.Input((9,), dtype="int32", name="tokens")
    e = layers.Embedding(20, 6, mask_zero=True, name="embed")(tok)
    seq, h, c = layers.LSTM(4, return_sequences=True, return_state=True, name="lstm")(e)
    pooled = layers.GlobalAveragePooling1D(name="masked_mean")(seq)
    m = keras.Model(tok, {"pooled": pooled, "h": h, "c": c}, name="m")

    def inputs(rng, b):
        t = rng.integers(1, 20, (b, 9)).astype(np.int32)
        t[0, 6:] = 0
        t[-1, 2:] = 0
        return {"tokens": t}
    return m, inputs


# ------------------------------------------------------------------ convolutions

@model("conv1d_stack")
def conv1d_stack():
    x = keras.Input((20, 3), name="signal")
    h = layers.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu", name="causal")(x)
    h = layers.Conv1D(6, 3, strides=2, padding="same", name="strided")(h)
    h = layers.SeparableConv1D(8, 3, depth_multiplier=2, padding="same", activation="tanh", name="sep")(h)
    a = layers.AveragePooling1D(2, name="avg")(h)
    a2 = layers.AveragePooling1D(3, strides=2, padding="same", name="avg_same")(h)
    mx = layers.MaxPooling1D(2, padding="same", name="max")(h)
    pooled = layers.Concatenate(name="pools")([layers.GlobalMaxPooling1D(name="gmax")(a),
                                               layers.GlobalAveragePooling1D(name="gavg")(mx),
                                               layers.GlobalMaxPooling1D(name="gmax2")(a2)])
    padded = layers.ZeroPadding1D((1, 2), name="zpad")(h)
    cropped = layers.Cropping1D((2, 1), name="crop")(padded)
    up = layers.UpSampling1D(2, name="up")(cropped)
    m = keras.Model(x, {"pooled": layers.Dense(4, name="head")(pooled), "up": up}, name="m")
    return m, lambda rng, b: {"signal": normal(rng, b, 20, 3)}


@model("conv2d_resample")
def conv2d_resample():
    x = keras.Input((6, 7, 3), name="image")
    t = layers.Conv2DTranspose(4, 3, strides=2, padding="same", name="tconv_same")(x)
    t2 = layers.Conv2DTranspose(3, (2, 3), strides=(1, 2), padding="valid", name="tconv_valid")(t)
    t3 = layers.Conv2DTranspose(2, 3, strides=2, padding="valid", output_padding=1, name="tconv_outpad")(x)
    near = layers.UpSampling2D((2, 3), interpolation="nearest", name="up_nearest")(x)
    bil = layers.UpSampling2D(2, interpolation="bilinear", name="up_bilinear")(x)
    crop = layers.Cropping2D(((1, 2), (0, 3)), name="crop")(bil)
    pad = layers.ZeroPadding2D(((1, 0), (2, 1)), name="zpad")(crop)
    c = layers.Conv2D(4, 3, dilation_rate=(2, 1), padding="valid", name="dilated")(pad)
    g = layers.Concatenate(name="pools")([layers.GlobalMaxPooling2D(name="gmax")(t2),
                                          layers.GlobalAveragePooling2D(name="gavg")(c),
                                          layers.GlobalMaxPooling2D(name="gmax3")(t3),
                                          layers.GlobalAveragePooling2D(name="gavg_near")(near)])
    m = keras.Model(x, {"pooled": g, "padded": pad}, name="m")
    return m, lambda rng, b: {"image": normal(rng, b, 6, 7, 3)}


@model("conv3d_volume")
def conv3d_volume():
    x = keras.Input((5, 6, 4, 2), name="volume")
    h = layers.Conv3D(3, 3, padding="same", strides=(1, 2, 1), activation="elu", name="conv3d")(x)
    h = layers.ZeroPadding3D(((1, 0), (0, 1), (1, 1)), name="zpad3")(h)
    mp = layers.MaxPooling3D(2, name="maxpool3")(h)
    ap = layers.AveragePooling3D(2, strides=1, padding="same", name="avgpool3")(h)
    up = layers.UpSampling3D((1, 2, 1), name="up3")(mp)
    cr = layers.Cropping3D(((0, 1), (1, 1), (0, 0)), name="crop3")(up)
    tr = layers.Conv3DTranspose(2, 2, strides=2, name="tconv3d")(mp)
    out = layers.Concatenate(name="pools")([layers.GlobalAveragePooling3D(name="gavg3")(ap),
                                            layers.GlobalMaxPooling3D(name="gmax3")(cr),
                                            layers.GlobalAveragePooling3D(name="gavg_t")(tr)])
    m = keras.Model(x, layers.Dense(3, name="head")(out), name="m")
    return m, lambda rng, b: {"volume": normal(rng, b, 5, 6, 4, 2)}


# ------------------------------------------------------------------ normalization

@model("normalizations")
def normalizations():
    x = keras.Input((6, 8), name="x")
    a = layers.LayerNormalization(name="ln_last")(x)
    b = layers.LayerNormalization(axis=(1, 2), epsilon=1e-3, name="ln_two_axes")(x)
    c = layers.RMSNormalization(name="rms_norm")(x)
    d = layers.GroupNormalization(groups=4, name="group_norm")(x)
    e = layers.GroupNormalization(groups=-1, center=False, name="instance_norm")(x)
    f = layers.BatchNormalization(axis=1, name="bn_axis1")(x)
    g = layers.BatchNormalization(name="bn_last", scale=False)(x)
    u = layers.UnitNormalization(axis=-1, name="unit_norm")(x)
    out = layers.Concatenate(axis=-1, name="concat")([a, b, c, d, e, f, g, u])
    m = keras.Model(x, out, name="m")
    return m, lambda rng, b: {"x": normal(rng, b, 6, 8, scale=2.0) + 0.5}


# ------------------------------------------------------------------ attention / transformer

class PositionEmbedding(layers.Layer):
    def __init__(self, length: int, dim: int, **kw):
        super().__init__(**kw)
        self.length, self.dim = length, dim

    def build(self, input_shape):
        self.pos = self.add_weight(shape=(self.length, self.dim), initializer="random_normal", name="pos")

    def call(self, x):
        return x + self.pos[None, :, :]

    def compute_mask(self, inputs, mask=None):
        return mask


@model("transformer_tiny")
def transformer_tiny():
    seq, vocab, dim, heads = 16, 40, 32, 4
    tok = keras.Input((seq,), dtype="int32", name="tokens")
    h = layers.Embedding(vocab, dim, mask_zero=True, name="embed")(tok)
    h = PositionEmbedding(seq, dim, name="pos_embed")(h)
    att = layers.MultiHeadAttention(heads, dim // heads, name="mha")(h, h)
    h = layers.LayerNormalization(epsilon=1e-6, name="ln1")(layers.Add(name="res1")([h, att]))
    ff = layers.Dense(48, activation="gelu", name="ff1")(h)
    ff = layers.Dense(dim, name="ff2")(ff)
    h = layers.LayerNormalization(epsilon=1e-6, name="ln2")(layers.Add(name="res2")([h, ff]))
    pooled = layers.GlobalAveragePooling1D(name="pool")(h)
    logits = layers.Dense(5, name="logits")(pooled)
    m = keras.Model(tok, logits, name="m")

    def inputs(rng, b):
        t = rng.integers(1, vocab, (b, seq)).astype(np.int32)
        t[0, 12:] = 0           # padding: mask_zero feeds MHA's attention mask
        return {"tokens": t}
    return m, inputs


@model("attention_merge")
def attention_merge():
    q = keras.Input((5, 8), name="query")
    v = keras.Input((6, 8), name="value")
    z = keras.Input((8,), name="extra")
    att = layers.Attention(use_scale=True, name="dot_attention")([q, v])
    att_c = layers.Attention(score_mode="concat", use_scale=True, name="concat_attention")([q, v, v])
    causal = layers.Attention(name="causal_attention")([q, q], use_causal_mask=True)
    dot = layers.Dot(axes=(2, 2), normalize=True, name="cosine")([q, v])
    dot_vec = layers.Dot(axes=1, name="dot_vec")([layers.GlobalAveragePooling1D()(q), z])
    zq = layers.RepeatVector(5, name="repeat")(z)
    merged = layers.Concatenate(axis=-1, name="concat")([
        layers.Multiply(name="mul")([att, zq]),
        layers.Subtract(name="sub")([att_c, causal]),
        layers.Average(name="avg")([att, causal]),
        layers.Maximum(name="max")([att, att_c]),
        layers.Minimum(name="min")([att, zq])])
    grid = keras.Input((4, 5, 6), name="grid")
    ed = layers.EinsumDense("abcd,de->abce", output_shape=(None, None, 3), bias_axes="e", name="ed_last")(grid)
    ed2 = layers.EinsumDense("abcd,cde->abe", output_shape=(4, 2), bias_axes="e", name="ed_contract2")(grid)
    mha2 = layers.MultiHeadAttention(2, 3, value_dim=2, output_shape=4, attention_axes=(1, 2), dropout=0.1,
                                     name="mha_2d")(grid, grid)
    flat = layers.Reshape((20, 6), name="flatten_grid")(grid)
    m = keras.Model({"query": q, "value": v, "extra": z, "grid": grid},
                    {"merged": merged, "scores": dot, "dot_vec": dot_vec, "ed_last": ed, "ed_contract2": ed2,
                     "mha_2d": layers.GlobalAveragePooling2D(name="gap")(mha2),
                     "gram": ops.einsum("bij,bkj->bik", flat, flat)}, name="m")
    return m, lambda rng, b: {"query": normal(rng, b, 5, 8), "value": normal(rng, b, 6, 8),
                              "extra": normal(rng, b, 8), "grid": normal(rng, b, 4, 5, 6)}


# ------------------------------------------------------------------ activations / blocks

@model("activations", tol=TIGHT)
def activations():
    x = keras.Input((12,), name="x")
    acts = {
        "swish": layers.Activation("swish"), "silu": layers.Activation("silu"),
        "hard_sigmoid": layers.Activation("hard_sigmoid"), "hard_swish": layers.Activation("hard_swish"),
        "gelu_exact": layers.Activation("gelu"),
        "gelu_tanh": layers.Lambda(lambda t: keras.activations.gelu(t, approximate=True)),
        "elu": layers.Activation("elu"), "selu": layers.Activation("selu"),
        "softplus": layers.Activation("softplus"), "softsign": layers.Activation("softsign"),
        "leaky_relu": layers.LeakyReLU(negative_slope=0.2), "prelu": layers.PReLU(),
        "relu_thresh": layers.ReLU(max_value=3.0, negative_slope=0.1, threshold=0.5),
        "relu_cap": layers.ReLU(max_value=6.0), "relu_slope": layers.ReLU(negative_slope=0.05),
        "elu_layer": layers.ELU(alpha=0.7), "mish": layers.Activation("mish"),
        "log_softmax": layers.Activation("log_softmax"), "softmax": layers.Softmax(),
        "sigmoid": layers.Activation("sigmoid"), "tanh": layers.Activation("tanh"),
        "relu6": layers.Activation("relu6"), "exponential": layers.Activation("exponential"),
        "log_sigmoid": layers.Activation("log_sigmoid"), "hard_tanh": layers.Activation("hard_tanh"),
        "celu": layers.Activation("celu"), "squareplus": layers.Activation("squareplus"),
        "soft_shrink": layers.Activation("soft_shrink"), "hard_shrink": layers.Activation("hard_shrink"),
        "tanh_shrink": layers.Activation("tanh_shrink"), "sparse_plus": layers.Activation("sparse_plus"),
        "sparsemax": layers.Activation("sparsemax"), "glu": layers.Activation("glu"),
        "threshold": layers.Lambda(lambda t: keras.activations.threshold(t, 0.3, -1.0)),
    }
    h = layers.Dense(12, name="pre")(x)
    outs = {k: layer(h) for k, layer in acts.items()}
    g = keras.Input((4, 6), name="grid")
    fl = layers.Flatten(name="flatten")(g)
    topv, topi = ops.top_k(fl, k=3)
    outs.update({
        "reshaped": layers.Reshape((3, -1), name="reshape")(layers.Permute((2, 1), name="permute")(g)),
        "cumsum": ops.cumsum(fl, axis=1), "cumprod": ops.cumprod(ops.clip(fl, -1.5, 1.5), axis=-1),
        "argmax": ops.argmax(g, axis=-1), "top_values": topv, "top_indices": topi, "sorted": ops.sort(g, axis=1),
        "logsumexp": ops.logsumexp(g, axis=1), "where": ops.where(g > 0.2, g * 2.0, ops.abs(g) - 1.0),
        "norm": ops.norm(g, axis=-1), "sq": ops.sqrt(ops.square(g) + 1.0) * ops.sign(g), "erf": ops.erf(g)})
    m = keras.Model({"x": x, "grid": g}, outs, name="m")
    prelu = next(layer for layer in m.layers if isinstance(layer, layers.PReLU))
    prelu.alpha.assign(np.linspace(-0.5, 0.5, 12, dtype=np.float32))

    def inputs(rng, b):
        v = normal(rng, b, 12, scale=2.0)
        v[0] = [-120.0, -30.0, -9.0, -1.0, -0.5, -0.0, 0.0, 0.3, 0.5, 3.0, 25.0, 100.0]
        return {"x": v, "grid": normal(rng, b, 4, 6)}
    m.get_layer("pre").kernel.assign(np.eye(12, dtype=np.float32))   # extremes reach the activations
    m.get_layer("pre").bias.assign(np.zeros(12, np.float32))
    return m, inputs


@model("se_resnet_block")
def se_resnet_block():
    x = keras.Input((10, 10, 4), name="image")
    h = layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv1")(x)
    h = layers.BatchNormalization(name="bn1")(h)
    h = layers.Activation("relu", name="relu1")(h)
    h = layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv2")(h)
    h = layers.BatchNormalization(name="bn2")(h)
    se = layers.GlobalAveragePooling2D(keepdims=True, name="squeeze")(h)
    se = layers.Conv2D(2, 1, activation="relu", name="se_reduce")(se)
    se = layers.Conv2D(8, 1, activation="hard_sigmoid", name="se_expand")(se)
    h = layers.Multiply(name="excite")([h, se])
    sc = layers.Conv2D(8, 1, strides=1, name="shortcut")(x)
    h = layers.Activation("swish", name="out_act")(layers.Add(name="residual")([h, sc]))
    h = layers.Flatten(name="flatten")(layers.MaxPooling2D(2, name="pool")(h))
    m = keras.Model(x, layers.Dense(4, activation="softmax", name="probs")(h), name="m")
    return m, lambda rng, b: {"image": normal(rng, b, 10, 10, 4)}


# ------------------------------------------------------------------ preprocessing

@model("preprocess_image")
def preprocess_image():
    x = keras.Input((14, 16, 3), name="image")
    r = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(x)
    bil = layers.Resizing(12, 14, interpolation="bilinear", name="resize_bilinear")(r)
    near = layers.Resizing(10, 10, interpolation="nearest", crop_to_aspect_ratio=True, name="resize_nearest")(r)
    cub = layers.Resizing(9, 13, interpolation="bicubic", name="resize_bicubic")(r)
    area = layers.Resizing(8, 8, interpolation="area", name="resize_area")(r)
    lanc = layers.Resizing(11, 7, interpolation="lanczos3", name="resize_lanczos3")(r)
    cc = layers.CenterCrop(8, 8, name="center_crop")(bil)
    norm = layers.Normalization(axis=-1, name="normalize")
    norm.adapt(np.random.default_rng(7).uniform(-1, 1, (16, 8, 8, 3)).astype(np.float32) * [1.0, 2.0, 0.5])
    nrm = norm(cc)
    conv = layers.Conv2D(2, 3, name="conv")(nrm)
    # augmentation / regularization layers left in a served model run in inference mode: identities, except
    # RandomCrop (center crop)
    aug = layers.RandomFlip(name="flip")(r)
    aug = layers.RandomContrast(0.3, name="contrast")(aug)
    aug = layers.RandomCrop(8, 9, name="random_crop")(aug)
    aug = layers.GaussianDropout(0.3, name="gaussian_dropout")(layers.Dropout(0.5, name="dropout")(aug))
    aug = layers.Identity(name="identity")(layers.ActivityRegularization(l1=0.01, name="act_reg")(aug))
    m = keras.Model(x, {"features": layers.GlobalAveragePooling2D(name="gap")(conv), "nearest": near,
                        "bicubic": cub, "area": area, "lanczos3": lanc, "augmented": aug}, name="m")
    return m, lambda rng, b: {"image": rng.integers(0, 256, (b, 14, 16, 3)).astype(np.float32)}


VOCAB_WORDS = ["the", "cat", "dog", "sat", "on", "mat", "a", "bird", "flew", "over", "house", "red", "blue"]
VOCAB_TAGS = ["news", "sports", "tech", "science", "art"]
SENTENCES = ["The cat sat on the mat.", "A red bird flew over the blue house!", "dog, DOG; Dog?",
             "", "unknown words here cat", "  the   the  cat  ", "sports news: tech & art"]


@model("preprocess_strings", tol=TIGHT)
def preprocess_strings(workdir: Path):
    vocab_file = workdir / "vocab_words.txt"
    vocab_file.write_text("\n".join(VOCAB_WORDS) + "\n")
    tags_file = workdir / "vocab_tags.txt"
    tags_file.write_text("\n".join(VOCAB_TAGS) + "\n")
    text = keras.Input((), dtype="string", name="text")
    tag = keras.Input((1,), dtype="string", name="tag")
    code = keras.Input((1,), dtype="int64", name="code")
    tv = layers.TextVectorization(output_sequence_length=8, vocabulary=str(vocab_file), name="tv_file")
    tv_hot = layers.TextVectorization(output_mode="multi_hot", ngrams=2, name="tv_multi_hot")
    tv_hot.adapt(SENTENCES[:3])
    tv_idf = layers.TextVectorization(output_mode="tf_idf", split="character", max_tokens=12,
                                      standardize="lower", name="tv_tfidf")
    tv_idf.adapt(SENTENCES)
    sl = layers.StringLookup(vocabulary=str(tags_file), name="tag_lookup")
    sl_hot = layers.StringLookup(vocabulary=VOCAB_TAGS, num_oov_indices=2, output_mode="one_hot",
                                 name="tag_one_hot")
    sl_inv = layers.StringLookup(vocabulary=VOCAB_TAGS, invert=True, name="tag_invert")
    il = layers.IntegerLookup(vocabulary=np.array([3, 7, 11, 42], np.int64), name="int_lookup")
    il_count = layers.IntegerLookup(vocabulary=np.array([3, 7, 11, 42], np.int64), output_mode="count",
                                    name="int_count")
    h_fast = layers.Hashing(num_bins=16, name="hash_fast")
    h_salt = layers.Hashing(num_bins=10, salt=[123, 456], name="hash_salted")
    h_int = layers.Hashing(num_bins=7, name="hash_int")
    ce = layers.CategoryEncoding(num_tokens=8, output_mode="multi_hot", name="category")
    disc = layers.Discretization(bin_boundaries=[0.0, 5.0, 20.0], name="discretize")
    cross = layers.HashedCrossing(num_bins=9, name="crossing")
    ids = sl(tag)
    outputs = {
        "tokens": tv(text), "multi_hot": tv_hot(text), "tf_idf": tv_idf(text),
        "tag_id": ids, "tag_one_hot": sl_hot(tag), "tag_back": sl_inv(ids),
        "code_id": il(code), "code_count": il_count(code),
        "hash_fast": h_fast(tag), "hash_salted": h_salt(tag), "hash_int": h_int(code),
        "category": ce(ops.clip(code, 0, 7)), "bucket": disc(ops.cast(code, "float32")),
        "crossed": cross((tag, code)),
    }
    m = keras.Model({"text": text, "tag": tag, "code": code}, outputs, name="m")

    def inputs(rng, b):
        sents = [SENTENCES[i] for i in rng.permutation(len(SENTENCES))[:b]]
        tags = [[VOCAB_TAGS[i] if i < len(VOCAB_TAGS) else "unseen"] for i in rng.integers(0, 7, b)]
        return {"text": np.array([s.encode() for s in sents], dtype=object),
                "tag": np.array([[t[0].encode()] for t in tags], dtype=object),
                "code": np.array([[c] for c in rng.choice([3, 7, 0, 42, 100, -5, 11], b)], np.int64)}
    return m, inputs


# ------------------------------------------------------------------ multi-input / dtype policies

@model("multi_io", saver="tf_plain")
def multi_io():
    """Saved with a bare `tf.saved_model.save(model, path)`: TF makes serving_default from the traced call,
    naming the inputs inputs, inputs_1, ... (the dict's keys in sorted order)."""
    img = keras.Input((8, 8, 1), name="pixels")
    meta = keras.Input((3,), name="meta")
    ids = keras.Input((4,), dtype="int64", name="ids")
    a = layers.Conv2D(3, 3, activation="relu", name="conv")(img)
    a = layers.GlobalAveragePooling2D(name="gap")(a)
    e = layers.Embedding(10, 3, name="embed")(ids)
    e = layers.GlobalAveragePooling1D(name="embed_mean")(e)
    h = layers.Concatenate(name="concat")([a, meta, e])
    h = layers.Dense(6, activation="selu", name="body")(h)
    m = keras.Model({"pixels": img, "meta": meta, "ids": ids},
                    {"score": layers.Dense(1, activation="sigmoid", name="score")(h),
                     "class_probs": layers.Dense(3, activation="softmax", name="class_probs")(h),
                     "embedding": h}, name="m")
    return m, lambda rng, b: {"pixels": normal(rng, b, 8, 8, 1), "meta": normal(rng, b, 3),
                              "ids": rng.integers(0, 10, (b, 4)).astype(np.int64)}


@model("mixed_float16", tol={"*": HALF, "logits_bf16": BF16, "probs_bf16": BF16})
def mixed_float16():
    """Global mixed_float16 policy, plus layers with their own policies: a float64 branch (grouped Conv1D,
    LayerNormalization, Dense) and a mixed_bfloat16 branch (grouped Conv2D, BatchNormalization, Dense)."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        f64, bf16 = keras.DTypePolicy("float64"), keras.DTypePolicy("mixed_bfloat16")
        x = keras.Input((6, 6, 2), name="image")
        h = layers.Conv2D(4, 3, activation="relu", name="conv")(x)
        h = layers.BatchNormalization(name="bn")(h)
        h = layers.LayerNormalization(name="ln")(h)
        h = layers.Flatten(name="flatten")(h)
        h = layers.Dense(8, activation="gelu", name="dense")(h)
        half = layers.Dense(3, name="half_logits")(h)
        full = layers.Activation("softmax", dtype="float32", name="probs")(half)
        seq = keras.Input((7, 4), name="seq", dtype="float32")
        d = layers.Conv1D(4, 3, groups=2, padding="same", dtype=f64, name="grouped_conv1d")(seq)
        d = layers.LayerNormalization(dtype=f64, name="ln64")(d)
        d = layers.GlobalMaxPooling1D(dtype=f64, name="gmax64")(d)
        wide = layers.Dense(2, activation="softplus", dtype=f64, name="dense64")(d)
        g = layers.Conv2D(4, 3, groups=2, activation="relu", dtype=bf16, name="grouped_conv")(
            layers.Concatenate(dtype=bf16, name="image4")([x, x]))
        g = layers.BatchNormalization(dtype=bf16, name="bn16")(g)
        b16 = layers.Dense(3, dtype=bf16, name="logits_bf16")(layers.GlobalAveragePooling2D(dtype=bf16, name="gap16")(g))
        m = keras.Model({"image": x, "seq": seq}, {"half_logits": half, "probs": full, "float64": wide,
                                                   "logits_bf16": b16,
                                                   "probs_bf16": layers.Softmax(dtype="float32", name="p16")(b16)},
                        name="m")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return m, lambda rng, b: {"image": normal(rng, b, 6, 6, 2), "seq": normal(rng, b, 7, 4)}


class CTCDecode(layers.Layer):
    """keras.ops.ctc_decode (blank class 0) over all time steps: (decoded [paths, batch, steps], scores)."""

    def __init__(self, paths: int = 1, **kw):
        super().__init__(**kw)
        self.paths = paths
        self.options = {"strategy": "beam_search", "beam_width": 4, "top_paths": paths} if paths > 1 else {}

    def call(self, logits):
        lengths = ops.full((ops.shape(logits)[0],), ops.shape(logits)[1], dtype="int32")
        return ops.ctc_decode(logits, lengths, **self.options)

    def compute_output_spec(self, logits):
        return (keras.KerasTensor((self.paths, *logits.shape[:2]), dtype="int32"),
                keras.KerasTensor((logits.shape[0], self.paths), dtype="float32"))


@model("ocr_ctc")
def ocr_ctc():
    """A captcha-OCR style head: conv features per image column -> per-step class scores -> greedy CTC
    decoding (CTCGreedyDecoder) and beam search (CTCBeamSearchDecoder, beam 4, 2 paths), SparseToDense with
    -1 padding."""
    img = keras.Input((8, 12, 1), name="image")
    h = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(img)
    h = layers.Permute((2, 1, 3), name="width_first")(h)
    h = layers.Reshape((12, 32), name="columns")(h)
    logits = layers.Dense(5, name="classes")(h)
    decoded, scores = CTCDecode(name="ctc")(logits)
    beams, beam_scores = CTCDecode(2, name="ctc_beam")(logits)
    m = keras.Model(img, {"decoded": decoded, "scores": scores, "beams": beams, "beam_scores": beam_scores,
                          "logits": logits}, name="m")
    return m, lambda rng, b: {"image": normal(rng, b, 8, 12, 1, scale=2.0)}


@model("rnn_cudnn_export")
def rnn_cudnn_export():
    """LSTM/GRU as exported on a machine with a GPU: Keras traces its cuDNN path (CudnnRNNV3, sequence
    lengths from the mask, ReverseSequence for go_backwards). TF's CPU build has no CudnnRNNV3 kernel, so
    the reference outputs come from the same Keras model run eagerly on its generic (CPU) path."""
    tok = keras.Input((7,), dtype="int32", name="tokens")
    feats = keras.Input((5, 3), name="feats")
    e = layers.Embedding(30, 4, mask_zero=True, name="embed")(tok)
    # cuDNN writes zeros at padded steps; zero_output_for_mask makes the CPU path (the reference) agree
    seq = layers.LSTM(5, return_sequences=True, zero_output_for_mask=True, name="lstm_masked")(e)
    back = layers.GRU(3, go_backwards=True, name="gru_backwards")(seq)
    plain, h, c = layers.LSTM(4, return_state=True, name="lstm_plain")(feats)
    m = keras.Model({"tokens": tok, "feats": feats},
                    {"back": back, "seq": seq, "plain": plain, "h": h, "c": c},
                    name="m")
    m.zoo_trace_gpu = True
    m.get_layer("embed").embeddings.assign(normal(np.random.default_rng(5), 30, 4))

    def inputs(rng, b):
        t = rng.integers(1, 30, (b, 7)).astype(np.int32)
        t[0, 4:] = 0            # right padding only: cuDNN's sequence lengths
        t[-1, 6:] = 0
        return {"tokens": t, "feats": normal(rng, b, 5, 3)}
    return m, inputs


# ------------------------------------------------------------------ tf.saved_model.save

@model("tfsave_keras_cnn", saver="tf")
def tfsave_keras_cnn():
    x = keras.Input((12, 12, 3), name="image")
    h = layers.SeparableConv2D(6, 3, strides=2, padding="same", activation="relu", name="sep")(x)
    h = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="valid", name="dw")(h)
    h = layers.SpatialDropout2D(0.3, name="spatial_dropout")(h)
    h = layers.GaussianNoise(0.5, name="noise")(h)
    h = layers.AlphaDropout(0.2, name="alpha_dropout")(h)
    h = layers.GlobalAveragePooling2D(name="gap")(h)
    net = keras.Model(x, layers.Dense(3, name="logits")(h), name="m")

    @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.uint8, name="image_u8")])
    def classify(image_u8):
        img = tf.image.convert_image_dtype(image_u8, tf.float32)
        img = tf.image.resize(img, [12, 12], method="bilinear", antialias=True)
        logits = net(img, training=False)
        top = tf.math.top_k(logits, k=2)
        return {"logits": logits, "top_classes": top.indices, "top_scores": tf.nn.softmax(top.values)}

    @tf.function(input_signature=[tf.TensorSpec([None, 12, 12, 3], tf.float32, name="image"),
                                  tf.TensorSpec([], tf.float32, name="temperature")])
    def tempered(image, temperature):
        return {"probs": tf.nn.softmax(net(image) / temperature, axis=-1)}

    def inputs(rng, b):
        return {"image_u8": rng.integers(0, 256, (b, 16, 16, 3)).astype(np.uint8),
                "image": rng.uniform(0, 1, (b, 12, 12, 3)).astype(np.float32), "temperature": np.float32(0.5 + b)}
    return (net, {"serving_default": classify, "tempered": tempered}), inputs


# ------------------------------------------------------------------ driver

def store(arrays: dict, strings: dict, key: str, value: tf.Tensor, tol: dict | None) -> dict:
    v = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
    dtype = value.dtype.name if hasattr(value, "dtype") and hasattr(value.dtype, "name") else v.dtype.name
    info = {"key": key, "dtype": dtype, "shape": list(v.shape)}
    if dtype == "string":
        flat = [bytes(x) for x in np.asarray(v, dtype=object).reshape(-1)]
        s = {"dtype": "string", "shape": list(v.shape), "b64": [base64.b64encode(x).decode() for x in flat]}
        try:
            s["utf8"] = [x.decode("utf-8") for x in flat]
        except UnicodeDecodeError:
            pass
        strings[key] = s
        info["storage"] = "json"
    else:
        arrays[key] = v.astype(np.float32) if dtype == "bfloat16" else v   # as the corpus: widened
        info["storage"] = "npz"
    if tol is not None:
        info["tolerance"] = tol if dtype.startswith(("float", "bfloat", "complex")) else EXACT
    return info


def build_one(name: str) -> None:
    fn, tol, saver = MODELS[name]
    case = OUT / name
    if case.exists():
        shutil.rmtree(case)
    case.mkdir(parents=True)
    keras.utils.set_random_seed(sum(map(ord, name)))
    rng = np.random.default_rng(sum(map(ord, name)) + 1)
    work = case / "_build"
    work.mkdir()
    built, make_inputs = fn(work) if fn.__code__.co_argcount else fn()
    model_dir = case / "model"
    if saver == "export":
        randomize_batchnorm(built, rng)
        randomize_norm_weights(built, rng)
        if getattr(built, "zoo_trace_gpu", False):
            # as TensorFlow's CUDA build traces it: cuDNN path, GRU gates swapped to cuDNN's order
            tf_rnn = sys.modules["keras.src.backend.tensorflow.rnn"]
            saved = tf_rnn._is_gpu_available, tf.sysconfig.get_build_info
            tf_rnn._is_gpu_available = lambda: True
            tf.sysconfig.get_build_info = lambda: {**saved[1](), "is_cuda_build": True}
            try:
                built.export(str(model_dir), verbose=False)
            finally:
                tf_rnn._is_gpu_available, tf.sysconfig.get_build_info = saved
        else:
            built.export(str(model_dir), verbose=False)
    elif saver == "tf_plain":
        randomize_batchnorm(built, rng)
        tf.saved_model.save(built, str(model_dir))
        keras_inputs = make_inputs

        def make_inputs(rng, b):  # TF's own names for the traced call's (sorted) dict inputs
            feed = keras_inputs(rng, b)
            return {("inputs" if i == 0 else f"inputs_{i}"): feed[k] for i, k in enumerate(sorted(feed))}
    else:
        obj, signatures = built
        if isinstance(obj, keras.Model):
            randomize_batchnorm(obj, rng)
        tf.saved_model.save(obj, str(model_dir), signatures=signatures)
    shutil.rmtree(work)

    loaded = tf.saved_model.load(str(model_dir))
    runs, arrays, strings = [], {}, {}
    for sig_key in sorted(loaded.signatures):
        fn_sig = loaded.signatures[sig_key]
        spec = fn_sig.structured_input_signature[1]
        # serving_default with both batches (another batch size, or sequence length); others with the small one
        for bi, batch in (enumerate(BATCHES) if sig_key == "serving_default" else [(0, BATCHES[1])]):
            feed_all = make_inputs(np.random.default_rng(1000 + 17 * bi + len(name)), batch)
            feed = {k: tf.constant(feed_all[k], dtype=spec[k].dtype) for k in spec}
            if getattr(built, "zoo_trace_gpu", False):   # no CPU kernel for the exported graph
                eager = built(dict(feed))
                out = eager if isinstance(eager, dict) else {"output_0": eager}
            else:
                out = fn_sig(**feed)
            key = sig_key if bi == 0 else f"{sig_key}@{bi}"
            run = {"key": key, "signature": sig_key, "tags": ["serve"], "batch_index": bi,
                   "inputs": {k: store(arrays, strings, f"{key}/inputs/{k}", v, None) for k, v in feed.items()},
                   "outputs": {k: store(arrays, strings, f"{key}/outputs/{k}", v,
                                       tol if "rtol" in tol else tol.get(k, tol["*"])) for k, v in out.items()}}
            runs.append(run)
    ref = {"description": "Inputs and outputs computed by TensorFlow " + tf.__version__ + " / Keras "
           + keras.__version__ + " (CPU, TF_ENABLE_ONEDNN_OPTS=0) by scripts/make_zoo_keras.py; layout as in "
           "the conformance corpus (strings base64 + utf8 here, numbers in reference.npz).",
           "default_tags": ["serve"], "runs": runs, "strings": strings}
    (case / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    np.savez_compressed(case / "reference.npz", **arrays)
    show = subprocess.run([str(SAVED_MODEL_CLI), "show", "--dir", "model", "--all"], cwd=case,
                          capture_output=True, text=True, check=True)
    (case / "show_all.txt").write_text(show.stdout)
    size = sum(p.stat().st_size for p in case.rglob("*") if p.is_file())
    print(f"{name}: {len(runs)} runs, {size / 1024:.1f} KiB")


def main(argv: list[str]) -> None:
    names = argv or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise SystemExit(f"unknown model(s): {', '.join(unknown)}")
    for name in names:
        build_one(name)
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"total {total / 1024:.1f} KiB in {OUT}")


if __name__ == "__main__":
    main(sys.argv[1:])
