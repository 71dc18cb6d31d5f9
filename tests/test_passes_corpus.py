"""Parity with every optional pass switched off, one at a time (and all at once): every corpus case and
every Keras zoo model must still reproduce TensorFlow's outputs. (The whole suite can also be run with a
pass off: `SMLENS_DISABLE_PASSES=fold_bn pytest tests`.)"""
from __future__ import annotations

import numpy as np
import pytest

import smlens
import test_corpus_run as corpus
import test_zoo_keras as zoo
from smlens.runtime.options import CompileOptions
from smlens.runtime.passes import OPTIONAL
from smlens.runtime.plan import compile_signature
from smlens.runtime.state import get_runtime

# CPython only (the Pyodide tier runs the plain parity tests): 7 settings x every run
SETTINGS = OPTIONAL + ["all"]


def _options(disabled: str) -> CompileOptions:
    return CompileOptions(frozenset(OPTIONAL if disabled == "all" else [disabled]), from_env=False)


def _opened(root, disabled: str):
    model = smlens.open(str(root / "model"))
    for mg in model.meta_graphs:
        get_runtime(mg).options = _options(disabled)  # functions compiled for this model (not inlined) too
    return model


def _corpus_params() -> list:
    out = []
    for case in sorted({p.values[0] for p in corpus._runs()}):
        marks = [pytest.mark.skipif(corpus.case_dir(case) is None, reason=f"{case}: no variable data here")]
        out += [pytest.param(case, d, id=f"{case}:-{d}", marks=marks) for d in SETTINGS]
    return out


@pytest.mark.parametrize("case,disabled", _corpus_params())
def test_corpus_parity_with_pass_off(case: str, disabled: str):
    """Every reference run of the case, in order, on one model opened with the pass off."""
    runs = corpus.reference(case)[0]
    model = _opened(corpus.case_dir(case), disabled)
    for run_key, run in runs.items():
        sig = model.meta_graph(tuple(run["tags"])).signatures[run["signature"]]
        plan = compile_signature(sig, _options(disabled))
        out = plan.run({k: corpus.tensor(case, v["key"], v) for k, v in run["inputs"].items()})
        for name, info in run["outputs"].items():
            corpus.compare(f"{run_key}/{name}", out[name], corpus.tensor(case, info["key"], info), info)


@pytest.mark.parametrize("name,disabled", [pytest.param(n, d, id=f"{n}:-{d}") for n in zoo.MODELS for d in SETTINGS])
def test_zoo_parity_with_pass_off(name: str, disabled: str):
    runs = zoo.reference(name)[0]
    model = _opened(zoo.ZOO / name, disabled)
    plans: dict = {}
    for run_key, run in runs.items():
        key = (tuple(run["tags"]), run["signature"])
        if key not in plans:  # one plan per signature, as Signature.plan() keeps (random state carries on)
            plans[key] = compile_signature(model.meta_graph(key[0]).signatures[key[1]], _options(disabled))
        out = plans[key].run({k: zoo.tensor(name, v) for k, v in run["inputs"].items()})
        for k, info in run["outputs"].items():
            with np.errstate(invalid="ignore"):
                corpus.compare(f"{name}:{run_key}/{k}", out[k], zoo.tensor(name, info), info)
