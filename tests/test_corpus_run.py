"""Every signature of every corpus case, run through the Python API and compared with TensorFlow's outputs
(reference.npz / reference.json: per-output dtype, shape and tolerance; strings exact).

mobilenet_v2 and big_sharded_vars carry no variable data in tests/data: they run from the shared corpus
(../shared/corpus/cases beside the checkout, as CI has it) when that exists, and are skipped otherwise."""
from __future__ import annotations

import base64
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import smlens

from helpers.paths import shared_corpus_cases, shared_skip_reason

pytestmark = pytest.mark.pyodide

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "data" / "corpus"
SHARED = shared_corpus_cases() or HERE / "no-shared-corpus"
NEEDS_SHARED = {"mobilenet_v2", "big_sharded_vars"}


def case_dir(case: str) -> Path | None:
    if case in NEEDS_SHARED:
        return SHARED / case if (SHARED / case / "reference.npz").exists() else None
    return CORPUS / case


def _runs() -> list:
    params = []
    for ref_path in sorted(CORPUS.glob("*/reference.json")):
        case = ref_path.parent.name
        if not (ref_path.parent / "model").is_dir():
            continue  # checkpoint-only cases have no signatures to run
        for run in json.loads(ref_path.read_text())["runs"]:
            marks = [pytest.mark.skipif(case_dir(case) is None,
                                        reason=shared_skip_reason(f"{case}: variable data only in the shared corpus"))]
            params.append(pytest.param(case, run["key"], id=f"{case}:{run['key']}", marks=marks))
    return params


@lru_cache(maxsize=None)
def reference(case: str) -> tuple[dict, dict, dict]:
    root = case_dir(case)
    ref = json.loads((root / "reference.json").read_text())
    npz_path = root / "reference.npz"
    arrays = {}
    if npz_path.exists():
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    return {r["key"]: r for r in ref["runs"]}, arrays, ref.get("strings", {})


@lru_cache(maxsize=None)
def opened(case: str):
    return smlens.open(str(case_dir(case) / "model"))


def tensor(case: str, key: str, info: dict) -> np.ndarray:
    _, arrays, strings = reference(case)
    if info["storage"] == "json":
        s = strings[key]
        out = np.empty(len(s["b64"]), dtype=object)
        out[:] = [base64.b64decode(x) for x in s["b64"]]
        return out.reshape(s["shape"])
    return arrays[key]


def run_argv(tmp_path: Path, case: str, run: dict) -> list[str]:
    """`smlens run` arguments for one reference run: model, tag set and signature, the inputs in an npz file
    under tmp_path (--inputs) and strings as literals (--input_exprs)."""
    arrays, exprs = {}, []
    for name, info in run["inputs"].items():
        value = tensor(case, info["key"], info)
        if value.dtype == object:
            exprs.append(f"{name}={value.tolist()!r}")
        else:
            arrays[name] = value
    argv = ["run", "--dir", str(case_dir(case) / "model"), "--tag_set", ",".join(run["tags"]),
            "--signature_def", run["signature"]]
    if arrays:
        np.savez(tmp_path / "inputs.npz", **arrays)
        argv += ["--inputs", ";".join(f"{k}={tmp_path / 'inputs.npz'}[{k}]" for k in arrays)]
    if exprs:
        argv += ["--input_exprs", ";".join(exprs)]
    return argv


def compare(name: str, got: np.ndarray, want: np.ndarray, info: dict) -> None:
    assert isinstance(got, np.ndarray), f"{name}: got {type(got).__name__}, not an ndarray"
    assert got.shape == tuple(info["shape"]), f"{name}: shape {got.shape}, TF gives {info['shape']}"
    tf_dtype = info["dtype"]
    if tf_dtype == "string":
        assert got.dtype == object, f"{name}: dtype {got.dtype} for a string output"
        assert got.reshape(-1).tolist() == want.reshape(-1).tolist(), f"{name}: strings differ"
        return
    expect_np = np.float32 if tf_dtype == "bfloat16" else np.dtype(tf_dtype)
    assert got.dtype == expect_np, f"{name}: dtype {got.dtype}, TF gives {tf_dtype}"
    tol = info.get("tolerance", {"rtol": 0.0, "atol": 0.0})
    if got.dtype.kind in "biu" or (tol["rtol"] == 0 and tol["atol"] == 0):
        if got.dtype.kind in "fc":  # exact, NaN matches NaN, and the sign of zero counts
            ok = ((got == want) & (np.signbit(got.real) == np.signbit(want.real))) | (np.isnan(got) & np.isnan(want))
        else:
            ok = got == want
        bad = ~np.asarray(ok)
        assert not bad.any(), f"{name}: {int(bad.sum())} values differ, e.g. {got[bad][:3]} vs {want[bad][:3]}"
        return
    err = np.abs(got.astype(np.complex128 if got.dtype.kind == "c" else np.float64) - want)
    limit = tol["atol"] + tol["rtol"] * np.abs(want)
    bad = ~((err <= limit) | (np.isnan(got) & np.isnan(want)) | (got == want))
    assert not bad.any(), (f"{name}: {int(bad.sum())}/{got.size} values out of tolerance {tol}, worst error "
                           f"{float(np.nanmax(np.where(bad, err, 0)))}")


@pytest.mark.parametrize("case,run_key", _runs())
def test_signature_matches_tensorflow(case: str, run_key: str):
    runs, _, _ = reference(case)
    run = runs[run_key]
    mg = opened(case).meta_graph(tuple(run["tags"]))
    sig = mg.signatures[run["signature"]]
    inputs = {k: tensor(case, v["key"], v) for k, v in run["inputs"].items()}
    out = sig(**inputs)
    assert set(out) == set(run["outputs"]), f"outputs {sorted(out)}, TF has {sorted(run['outputs'])}"
    for name, info in run["outputs"].items():
        compare(f"{run_key}/{name}", out[name], tensor(case, info["key"], info), info)


def _uncovered() -> list:
    """Signatures no reference run exercises (e.g. keras_cnn's `serve`), with the reference inputs of a run
    of the same MetaGraph whose signature has the same inputs."""
    params = []
    for ref_path in sorted(CORPUS.glob("*/reference.json")):
        case = ref_path.parent.name
        if not (ref_path.parent / "model").is_dir():
            continue
        runs = json.loads(ref_path.read_text())["runs"]
        covered = {(tuple(r["tags"]), r["signature"]) for r in runs}
        root = case_dir(case)
        if root is None:
            continue
        for mg in smlens.open(str(root / "model")).meta_graphs:
            for key, s in mg.signatures.items():
                if key == "__saved_model_init_op" or (tuple(mg.tags), key) in covered:
                    continue
                donor = next((r["key"] for r in runs if tuple(r["tags"]) == tuple(mg.tags)
                              and set(r["inputs"]) == set(s.inputs)), None)
                params.append(pytest.param(case, mg.tag_string, key, donor, id=f"{case}:{mg.tag_string}:{key}"))
    return params


@pytest.mark.parametrize("case,tags,key,donor", _uncovered())
def test_signature_without_reference_runs(case: str, tags: str, key: str, donor: str | None):
    sig = opened(case).meta_graph(tags).signatures[key]
    if donor is None:
        pytest.skip("no reference inputs for this signature")
    run = reference(case)[0][donor]
    out = sig(**{k: tensor(case, v["key"], v) for k, v in run["inputs"].items()})
    assert set(out) == set(sig.outputs)
    for name, spec in sig.outputs.items():
        assert isinstance(out[name], np.ndarray)
        if spec.dtype is not None and spec.dtype.name != "bfloat16":
            assert out[name].dtype == spec.dtype.np, name
