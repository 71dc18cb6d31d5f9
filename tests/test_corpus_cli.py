"""`smlens run` (the saved_model_cli drop-in) reproduces TensorFlow's reference outputs for every corpus run:
inputs passed as --inputs npz files (strings as --input_exprs literals), outputs read back from --outdir."""
from __future__ import annotations

import numpy as np
import pytest

from smlens.cli import main
from test_corpus_run import _runs, compare, reference, run_argv, tensor

pytestmark = pytest.mark.pyodide


@pytest.mark.parametrize("case,run_key", _runs())
def test_smlens_run_matches_tensorflow(tmp_path, capsys, case: str, run_key: str):
    runs, _, _ = reference(case)
    run = runs[run_key]
    argv = run_argv(tmp_path, case, run) + ["--outdir", str(tmp_path / "out")]
    assert main(argv) == 0, capsys.readouterr().err
    stdout = capsys.readouterr().out
    for name, info in run["outputs"].items():
        assert f"Result for output key {name}:" in stdout
        # string outputs are object arrays, pickled by NumPy as saved_model_cli writes them (our own file)
        got = np.load(tmp_path / "out" / f"{name}.npy", allow_pickle=info["dtype"] == "string")
        compare(f"{run_key}/{name}", got, tensor(case, info["key"], info), info)
