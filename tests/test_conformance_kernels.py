"""Kernel behaviour TensorFlow documents, beyond the conformance models: string elements of TensorLists
and TensorArrays stay tensors, TF1 AssignAdd/AssignSub validate the update's shape, WAV and quantization
kernels reject bad input with TF's messages, ReadFile reads only the model's assets, and a corrupt node
attr or a non-model file gets one clear error."""
from __future__ import annotations

import struct

import numpy as np
import pytest

import smlens
from helpers.kernels import f32, i32, raises, run
from smlens import dtypes
from smlens.errors import FormatError, NotFoundError
from smlens.runtime.resources import Variable
from test_runtime import F32, model, node, open_model, placeholder, sig

pytestmark = pytest.mark.pyodide


def _strings(*items) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = list(items)
    return out


# ------------------------------------------------------------------ lists of strings

def test_tensor_list_string_elements_are_0d_arrays():
    h = run("TensorListFromTensor", _strings(b"a", b"bc"), i32(-1), element_dtype=dtypes.string)
    item = run("TensorListGetItem", h, i32(1), i32(-1), element_dtype=dtypes.string)
    assert isinstance(item, np.ndarray) and item.shape == () and item.dtype == object and item[()] == b"bc"
    # a string kernel accepts it as its scalar input
    assert run("StringLength", item, unit="BYTE") == 2
    h = run("TensorListPushBack", h, b"xyz")
    stacked = run("TensorListStack", h, i32(-1), element_dtype=dtypes.string)
    assert stacked.dtype == object and stacked.tolist() == [b"a", b"bc", b"xyz"]


def test_tensor_array_scatter_of_strings_reads_tensors():
    h, flow = run("TensorArrayV3", i32(2), dtype=dtypes.string)
    run("TensorArrayScatterV3", h, i32([0, 1]), _strings(b"p", b"q"), flow)
    item = run("TensorArrayReadV3", h, i32(1), flow, dtype=dtypes.string)
    assert isinstance(item, np.ndarray) and item.shape == () and item[()] == b"q"


# ------------------------------------------------------------------ state-changing kernels

def _ref(value) -> Variable:
    v = Variable("v", dtypes.float32, np.shape(value), None, None)
    v.assign(np.asarray(value))
    return v


def test_assign_add_sub_require_the_variables_shape():
    v = _ref(f32([1.0, 2.0]))
    run("AssignAdd", v, f32([0.5, 0.5]))
    np.testing.assert_array_equal(v.read(), [1.5, 2.5])
    for op_type in ("AssignAdd", "AssignSub"):
        with raises("Parameters and update must be the same size"):
            run(op_type, v, f32(1.0))                     # no broadcasting
        with raises("Parameters and update must be the same size"):
            run(op_type, v, f32([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(v.read(), [1.5, 2.5])   # unchanged by the rejected updates


# ------------------------------------------------------------------ audio

def _wav(samples: np.ndarray, rate: int = 8000, channels: int = 1, bits: int = 16, fmt: int = 1) -> bytes:
    data = samples.astype("<i2").tobytes()
    block = channels * bits // 8
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, fmt, channels, rate,
                       rate * block, block, bits, b"data", len(data)) + data


def _scalar(b: bytes) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = b
    return out


def test_wav_roundtrip_and_channel_expansion():
    pcm = np.array([0, 16384, -32768, 32767], np.int16)
    audio, rate = run("DecodeWav", _scalar(_wav(pcm)))
    assert rate == 8000 and audio.shape == (4, 1)
    np.testing.assert_array_equal(audio[:, 0], pcm / 32768.0)
    two, _ = run("DecodeWav", _scalar(_wav(pcm)), desired_channels=2, desired_samples=6)
    np.testing.assert_array_equal(two[:4, 1], two[:4, 0])          # mono repeated
    np.testing.assert_array_equal(two[4:], 0)                      # padded with silence
    wav = run("EncodeWav", audio, i32(8000))[()]
    assert wav == _wav(pcm)


@pytest.mark.parametrize("data, match", [
    (b"RIFX" + b"\0" * 40, "Header mismatch: Expected RIFF"),
    (_wav(np.zeros(2, np.int16), bits=8), "Can only read 16-bit WAV files"),
    (_wav(np.zeros(2, np.int16), fmt=3), r"Expected 1 \(PCM\)"),
    (_wav(np.zeros(4, np.int16))[:-3], "Data too short"),
    (_wav(np.zeros(2, np.int16))[:36], "No data chunk found"),
])
def test_decode_wav_rejects_bad_files(data, match):
    with raises(match):
        run("DecodeWav", _scalar(data))


def test_spectrogram_and_mfcc_validate_their_inputs():
    with raises("2-dimensional"):
        run("AudioSpectrogram", f32([1.0, 2.0]), window_size=4, stride=2)
    assert run("AudioSpectrogram", np.zeros((3, 1), np.float32), window_size=4, stride=2).shape == (1, 0, 3)
    with raises("Mfcc initialization failed"):
        run("Mfcc", np.ones((1, 2, 9), np.float32), i32(8000), lower_frequency_limit=500.0,
            upper_frequency_limit=100.0)


# ------------------------------------------------------------------ quantization

def test_quantize_v2_rejects_bad_ranges_and_modes():
    x = f32([0.0, 1.0])
    with raises("input_max_range must be larger than input_min_range"):
        run("QuantizeV2", x, f32(1.0), f32(0.0), T=dtypes.from_name("qint8"))
    with raises("only supported for mode 'SCALED'"):
        run("QuantizeV2", x, f32(0.0), f32(1.0), T=dtypes.from_name("qint8"), round_mode="HALF_TO_EVEN")
    with raises("MIN_FIRST mode is not implemented"):
        run("QuantizeV2", np.ones((2, 2), np.float32), f32([0, 0]), f32([1, 1]), T=dtypes.from_name("quint8"),
            mode="MIN_FIRST", axis=1)
    q, lo, hi = run("QuantizeV2", x, f32(0.0), f32(1.0), T=dtypes.from_name("quint8"))
    assert q.dtype == np.uint8 and q.tolist() == [0, 255] and lo == 0.0 and hi == 1.0


def test_dequantize_checks_range_sizes_and_bfloat16_mode():
    q = np.array([[1, 2], [3, 4]], np.int8)
    with raises("as many elements as input"):
        run("Dequantize", q, f32([0.0]), f32([1.0, 2.0]), T=dtypes.from_name("qint8"), axis=1)
    with raises("Mode string must be 'MIN_COMBINED'"):
        run("Dequantize", q, f32(0.0), f32(1.0), T=dtypes.from_name("qint8"), mode="SCALED",
            dtype=dtypes.bfloat16)


# ------------------------------------------------------------------ ReadFile and error paths

def _read_file_model():
    nodes = [placeholder("path", dtypes.string, ()), node("contents", "ReadFile", "path")]
    files = model(nodes, {"s": sig({"path": ("path:0", dtypes.string, ())},
                                   {"contents": ("contents:0", dtypes.string, ())})})
    files["assets/labels.txt"] = b"cat\ndog\n"
    return files


def test_read_file_reads_assets_only(tmp_path):
    s = open_model(_read_file_model()).meta_graph().signatures["s"]
    assert s(path=b"some/dir/assets/labels.txt")["contents"][()] == b"cat\ndog\n"
    with pytest.raises(smlens.errors.ExecutionError, match="not one of the model's assets"):
        s(path=b"/etc/passwd")


def test_corrupt_attr_names_node_and_attr():
    bad = node("y", "Cast", "x", SrcT=F32, DstT="float32")          # DstT must be a type, not a string
    files = model([placeholder("x", F32, ()), bad], {"s": sig({"x": ("x:0", F32, ())}, {"y": ("y:0", F32, ())})})
    with pytest.raises(FormatError, match=r"node 'y' \(Cast\): attr 'DstT': expected a type, got string"):
        open_model(files).meta_graph().signatures["s"](x=f32(1.0))


def test_existing_non_model_file_says_not_a_model_file(tmp_path):
    f = tmp_path / "model.tflite"
    f.write_bytes(b"TFL3" + b"\0" * 60)
    with pytest.raises(NotFoundError, match="not a model file"):
        smlens.open(str(f))
    with pytest.raises(NotFoundError, match="no such file or directory"):
        smlens.open(str(tmp_path / "missing.tflite"))
