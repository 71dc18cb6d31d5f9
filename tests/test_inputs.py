"""`smlens run` inputs and outputs: --inputs files, --input_exprs / --input_examples expressions (parsed,
never evaluated), the saved_model_cli output text and saving outputs."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from smlens import inputs
from smlens.errors import InputError, NotFoundError
from smlens.proto import example_pb2

pytestmark = pytest.mark.pyodide


# ----------------------------------------------------------------------------------- --inputs

def test_inputs_from_npy_and_npz(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(3, dtype=np.int32))
    np.savez(tmp_path / "b.npz", x=np.ones((2, 2), np.float32), y=np.zeros(1))
    np.savez(tmp_path / "one.npz", only=np.array([7]))
    feeds = inputs.parse_inputs(f"a={tmp_path}/a.npy;b={tmp_path}/b.npz[x];c={tmp_path}/one.npz", "", "")
    assert feeds["a"].tolist() == [0, 1, 2] and feeds["a"].dtype == np.int32
    assert feeds["b"].shape == (2, 2) and feeds["c"].tolist() == [7]
    with pytest.warns(UserWarning, match="Name key"):
        assert inputs.parse_inputs(f"a={tmp_path}/a.npy[ignored]", "", "")["a"].tolist() == [0, 1, 2]


def test_inputs_errors(tmp_path):
    np.savez(tmp_path / "b.npz", x=np.ones(2), y=np.zeros(1))
    with pytest.raises(InputError, match="more than one ndarrays"):
        inputs.parse_inputs(f"b={tmp_path}/b.npz", "", "")
    with pytest.raises(InputError, match='does not contain variable with name "z"'):
        inputs.parse_inputs(f"b={tmp_path}/b.npz[z]", "", "")
    with pytest.raises(InputError, match="format is incorrect"):
        inputs.parse_inputs("no_equals_sign", "", "")
    with pytest.raises(NotFoundError):
        inputs.parse_inputs(f"a={tmp_path}/missing.npy", "", "")


def test_pickle_files_are_refused(tmp_path):
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"x": [1, 2]}, f)
    with pytest.raises(InputError, match="pickle"):
        inputs.parse_inputs(f"x={tmp_path}/evil.pkl", "", "")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="pickle"):
        inputs.parse_inputs(f"x={tmp_path}/obj.npy", "", "")


# ----------------------------------------------------------------------------------- --input_exprs

def test_literal_expressions():
    feeds = inputs.parse_inputs("", "x=[[1.0, 2.0]];n=3;s=['ab', b'c'];neg=-2.5;t=(1, 2);z=1+2j;e=[]", "")
    assert feeds["x"].tolist() == [[1.0, 2.0]] and feeds["x"].dtype == np.float64
    assert feeds["n"].tolist() == 3
    assert feeds["s"].dtype == object and feeds["s"].tolist() == [b"ab", b"c"]
    assert feeds["neg"].tolist() == -2.5 and feeds["t"].tolist() == [1, 2] and feeds["z"].tolist() == 1 + 2j
    assert feeds["e"].shape == (0,)


def test_numpy_constructors():
    f = inputs.parse_inputs("", "a=np.ones((2, 3));b=np.zeros([4], dtype='int32');c=np.full((2,), 7.5);"
                            "d=np.arange(5);e=np.linspace(0, 1, 5);g=np.eye(3, dtype=np.float32);"
                            "h=numpy.arange(1, 7, 2);i=np.array([[1, 2]], dtype='int64')", "")
    assert f["a"].shape == (2, 3) and f["a"].dtype == np.float64 and f["a"].sum() == 6
    assert f["b"].dtype == np.int32 and f["b"].tolist() == [0, 0, 0, 0]
    assert f["c"].tolist() == [7.5, 7.5] and f["d"].tolist() == [0, 1, 2, 3, 4]
    assert f["e"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert f["g"].dtype == np.float32 and np.array_equal(f["g"], np.eye(3))
    assert f["h"].tolist() == [1, 3, 5] and f["i"].dtype == np.int64


def test_numpy_random_constructors():
    f = inputs.parse_inputs("", "a=np.random.rand(2, 3);b=np.random.randn(4);c=np.random.random((2, 2));"
                            "d=np.random.uniform(-1, 1, (3,));e=np.random.normal(0, 2, size=(5,));"
                            "g=np.random.randint(0, 10, size=(6,))", "")
    assert f["a"].shape == (2, 3) and (0 <= f["a"]).all() and (f["a"] < 1).all()
    assert f["b"].shape == (4,) and f["c"].shape == (2, 2)
    assert (np.abs(f["d"]) <= 1).all() and f["e"].shape == (5,)
    assert f["g"].dtype == np.int64 and ((0 <= f["g"]) & (f["g"] < 10)).all()


@pytest.mark.parametrize("expr", [
    "__import__('os').system('true')",
    "open('/etc/passwd').read()",
    "np.load('x.npy')",
    "np.ones.__class__",
    "np.ones((2,)).sum()",
    "np.lib.npyio",
    "np.random.seed(1)",
    "x",
    "[1] * 10",
    "2 ** 10",
    "(lambda: 1)()",
    "[i for i in range(3)]",
    "{**{}}",
    "f'{1}'",
    "np.ones((100000, 100000))",
    "np.zeros(10 ** 9)",
    "np.zeros(1000000000)",
    "np.ones((1 << 40,))",
    "np.arange(0, 1e12)",
    "np.linspace(0, 1, 10 ** 10)",
    "np.random.rand(100000, 100000)",
    "np.eye(10 ** 6)",
    "np.ones((-1, 2))",
    "np.ones(np.ones)",
    "np.ones((2,), dtype='object')",
    "123456789012345678901234567890",
    "1 / 0",
    "[" * 200 + "]" * 200,
])
def test_hostile_expressions_are_refused(expr):
    with pytest.raises(InputError):
        inputs.parse_inputs("", f"x={expr}", "")


def test_expression_flag_format():
    with pytest.raises(InputError, match="format is incorrect"):
        inputs.parse_inputs("", "just_an_expression", "")
    with pytest.raises(InputError, match="not a valid python expression"):
        inputs.parse_inputs("", "x=[1, 2", "")
    with pytest.raises(InputError, match="not rectangular"):
        inputs.parse_inputs("", "x=[[1, 2], [3]]", "")


def test_later_flags_win(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(3))
    with pytest.warns(UserWarning, match="more than once"):
        feeds = inputs.parse_inputs(f"a={tmp_path}/a.npy", "a=[9]", "")
    assert feeds["a"].tolist() == [9]


# ----------------------------------------------------------------------------------- --input_examples

def test_input_examples_become_serialized_examples():
    feeds = inputs.parse_inputs("", "", 'ex=[{"age": [3], "w": [0.5, 1.5], "tag": ["a", "b"]}, {"age": [4]}]')
    assert feeds["ex"].dtype == object and feeds["ex"].shape == (2,)
    e = example_pb2.Example()
    e.ParseFromString(feeds["ex"][0])
    f = e.features.feature
    assert list(f["age"].int64_list.value) == [3]
    assert list(f["w"].float_list.value) == [0.5, 1.5]
    assert list(f["tag"].bytes_list.value) == [b"a", b"b"]
    with pytest.raises(InputError, match="list of dictionaries"):
        inputs.parse_inputs("", "", 'ex={"age": [3]}')
    with pytest.raises(InputError):
        inputs.parse_inputs("", "", "ex=[np.ones(3)]")


# ----------------------------------------------------------------------------------- outputs

def test_format_run_output_like_saved_model_cli():
    results = {"b": np.array([[1.5, 2.0], [3.0, 4.0]], np.float32), "a": np.array(35.15971, np.float32),
               "s": np.array([b"x", b"yz"], dtype=object), "n": np.array(3, np.int64)}
    text = inputs.format_run_output(results, None)
    assert text == ("Result for output key a:\n35.15971\n"
                    "Result for output key b:\n[[1.5 2. ]\n [3.  4. ]]\n"
                    "Result for output key n:\n3\n"
                    "Result for output key s:\n[b'x' b'yz']\n")
    text = inputs.format_run_output({"a": np.array(1.0)}, None, saved={"a": "out/a.npy"})
    assert text == "Result for output key a:\n1.0\nOutput a is saved to out/a.npy\n"


def test_save_outputs(tmp_path):
    results = {"x": np.arange(4, dtype=np.int16), "s": np.array([b"ab", b"c\x00"], dtype=object)}
    out = str(tmp_path / "out")
    paths = inputs.save_outputs(results, out, overwrite=False)
    assert paths == {"s": os.path.join(out, "s.npy"), "x": os.path.join(out, "x.npy")}
    x = np.load(paths["x"], allow_pickle=False)
    assert x.dtype == np.int16 and x.tolist() == [0, 1, 2, 3]
    assert np.load(paths["s"], allow_pickle=True).tolist() == [b"ab", b"c\x00"]  # lossless, as TF saves it
    with pytest.raises(InputError, match='already exists. Add "--overwrite"'):
        inputs.save_outputs(results, out, overwrite=False)
    inputs.save_outputs({"x": np.zeros(1)}, out, overwrite=True)
    assert np.load(paths["x"]).tolist() == [0.0]


def test_semicolons_inside_string_literals_do_not_split():
    feeds = inputs.parse_inputs("", "a=[b'x;y', b'it\\'s;'];b=[1, 2]", "")
    assert feeds["a"].tolist() == [b"x;y", b"it's;"]
    assert feeds["b"].tolist() == [1, 2]


def test_string_inputs_keep_trailing_nul_bytes():
    assert inputs.parse_inputs("", "s=[b'a\\x00\\x00', 'b']", "")["s"].tolist() == [b"a\x00\x00", b"b"]


def test_every_cli_option_has_help_text():
    """`smlens <command> --help` explains every option (a newcomer reads it before anything else)."""
    import argparse

    from smlens.cli import build_parser
    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [f"{name} {'/'.join(a.option_strings)}" for name, sub in subs.choices.items() for a in sub._actions
               if a.option_strings and not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert not missing, f"options without help text: {missing}"
