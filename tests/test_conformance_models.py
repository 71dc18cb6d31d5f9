"""Conformance models (tests/data/conformance/models, made by scripts/make_conformance.py with TF 2.21):
the WAV codecs and the speech-commands front end (AudioSpectrogram, Mfcc), QuantizeV2/Dequantize in every
mode, QuantizeAndDequantize*, FakeQuant*, tf.map_fn over string tensors (the TF Serving "batch of encoded
images" signature), ReadFile of an asset. Every run reproduces TensorFlow's outputs; `show --all` prints
saved_model_cli's text."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import smlens
from smlens.cli import main
from test_show import sorted_ops_lines
from test_zoo_tf import Reference

pytestmark = pytest.mark.pyodide

ROOT = Path(__file__).resolve().parent / "data" / "conformance" / "models"
CASES = sorted(p.parent.name for p in ROOT.glob("*/reference.json"))


class ConformanceReference(Reference):
    def __init__(self, case: str):  # noqa: D107 - same layout as the zoo, another folder
        root = ROOT / case
        ref = json.loads((root / "reference.json").read_text(encoding="utf-8"))
        self.runs = ref["runs"]
        self.strings = ref.get("strings", {})
        with np.load(root / "reference.npz", allow_pickle=False) as npz:
            self.arrays = {k: npz[k] for k in npz.files}


@pytest.mark.parametrize("case", CASES)
def test_runs_match_tensorflow(case: str):
    ref = ConformanceReference(case)
    model = smlens.open(str(ROOT / case / "model"))
    for run in ref.runs:
        where = f"{case}:{run['key']}"
        sig = model.meta_graph(tuple(run["tags"])).signatures[run["signature"]]
        out = sig(**{name: ref.tensor(info) for name, info in run["inputs"].items()})
        assert set(out) == set(run["outputs"]), f"{where}: outputs {sorted(out)}, TF has {sorted(run['outputs'])}"
        for name, info in run["outputs"].items():
            ref.check(f"{where}/{name}", out[name], info)


@pytest.mark.parametrize("case", CASES)
def test_show_all_matches_saved_model_cli(case: str, capsys):
    assert main(["show", "--dir", str(ROOT / case / "model"), "--all"]) == 0, capsys.readouterr().err
    want = (ROOT / case / "show_all.txt").read_text(encoding="utf-8")
    assert sorted_ops_lines(capsys.readouterr().out) == sorted_ops_lines(want)


def test_cases_present():
    assert {"audio", "quantize", "map_strings"} <= set(CASES)
