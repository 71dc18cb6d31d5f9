"""The package's layers form a DAG: sources -> formats -> model -> runtime -> kernels/backends, with views,
cli, webapi (and the package root) on top. A module may import its own layer and the layers before it;
this walks every import statement (function-level ones too) and fails on an upward import.

The shared base modules (errors, dtypes, tensors, proto, limits: the run budget and deadline, and optable:
TF's op registry as data) are below everything. `backends/base.py` is the
contract between the runtime and the backends (it imports nothing of smlens), so it sits in the runtime
layer; the op registry the kernels fill lives in `runtime/opregistry.py`."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "pysrc" / "smlens"

LAYERS = ["base", "sources", "formats", "model", "runtime", "kernels", "top"]
LAYER_OF = {  # module prefix (dotted, after "smlens.") -> layer; the longest matching prefix wins
    "errors": "base", "dtypes": "base", "tensors": "base", "proto": "base", "optable": "base", "limits": "base",
    "sources": "sources", "formats": "formats", "model": "model",
    "runtime": "runtime", "backends.base": "runtime",
    "kernels": "kernels", "backends": "kernels",
}


def layer(module: str) -> str:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in LAYER_OF:
            return LAYER_OF[key]
    return "top"  # views, cli, webapi, inputs, serving, publish, the package root


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported smlens module relative to the package) of every import in a file."""
    mod = module_name(path)
    package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level > 1 else package
                if not node.module:  # `from . import x`: x is a module (or a name of the package)
                    out += [(node.lineno, ".".join(base + [a.name])) for a in node.names]
                    continue
                out.append((node.lineno, ".".join(base + [node.module])))
            elif node.module and node.module.startswith("smlens"):
                out.append((node.lineno, node.module.removeprefix("smlens").lstrip(".")))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name.removeprefix("smlens").lstrip("."))
                    for a in node.names if a.name.startswith("smlens")]
    return [(ln, m) for ln, m in out if m]


def _violations() -> list[str]:
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        src = module_name(path)
        if src.startswith("proto"):
            continue
        here = LAYERS.index(layer(src))
        for line, target in imports(path):
            if LAYERS.index(layer(target)) > here:
                bad.append(f"{path.relative_to(PKG)}:{line}: {src or 'smlens'} ({layer(src)}) imports "
                           f"{target} ({layer(target)})")
    return bad


def test_no_upward_imports():
    bad = _violations()
    assert not bad, "upward imports:\n" + "\n".join(bad)


@pytest.mark.parametrize("module,expected", [("runtime.plan", "runtime"), ("backends.base", "runtime"),
                                             ("backends.numpy_backend", "kernels"), ("cli", "top"),
                                             ("formats.bundle", "formats")])
def test_layer_map(module, expected):
    assert layer(module) == expected


def test_walker_sees_relative_and_function_level_imports(tmp_path):
    assert {m for _, m in imports(PKG / "kernels" / "nn_ops.py")} >= {"kernels.registry", "dtypes", "errors"}
    assert "model" in {m for _, m in imports(PKG / "runtime" / "plan.py")}        # inside compile_names
    assert "kernels.parsing_ops" in {m for _, m in imports(PKG / "inputs.py")}     # inside a function
