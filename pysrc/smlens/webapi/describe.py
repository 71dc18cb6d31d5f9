"""Opening a model and describing it: summary, MetaGraphs and signatures, op counts, fingerprint,
saved_model_cli's show --all text, and graph JSON."""
from __future__ import annotations

from collections import Counter

import smlens

from ..errors import NotFoundError, SmlensError
from ..model import opened_candidate
from ..views.vocab import checkpoint_json, signature_json
from .files import FileSource, common_root, find_candidates, flat_savedmodel_layout
from .forms import IMAGE_PRESETS, example_features, example_text, image_geometry, labels_asset
from .session import SESSION, checkpoint_entries, meta_graph_for, require_model


def open_model(args, buffers, reader, progress) -> dict:
    entries = args.get("files") or []
    if not entries:
        raise NotFoundError("no files were given")
    # Paths already start with the dropped folder's name: the source itself needs none (error messages
    # name files by these paths).
    src = FileSource(entries, reader)
    src.rename(flat_savedmodel_layout(src.list()))
    return open_source(src, args, progress)


def open_source(src, args: dict, progress) -> dict:
    """Open what a source holds (args "path": which candidate; none: the top folder, else the first)."""
    paths = src.list()
    candidates = find_candidates(src)
    progress("Reading the model…", 0.2)
    target = args.get("path")
    model = None
    if target is None:
        root = common_root(paths)
        try:
            model = smlens.open(src, root)
            target = root
        except SmlensError:
            # the folder itself is no model: open the first thing in it that is (never the same one again)
            if not candidates or candidates[0]["path"].strip("/") == root.strip("/"):
                raise
            target = candidates[0]["path"]
    if model is None:
        model = smlens.open(src, target)
    SESSION.model, SESSION.source, SESSION.candidates = model, src, candidates
    # the dropdown shows the candidate that was opened, also when a folder was (its `checkpoint` file names one)
    target = opened_candidate(model, target, candidates) or target
    SESSION.opened_path, SESSION.last_outputs = target, {}
    SESSION.display_name = str(args.get("name") or "")
    progress("Listing variables…", 0.7)
    return _summary(model)


def _summary(model) -> dict:
    ckpt = model.checkpoint
    return {
        "kind": model.kind,
        "name": model.name or SESSION.display_name or SESSION.opened_path or "model",
        "path": SESSION.opened_path,
        "candidates": SESSION.candidates,
        "tag_sets": [list(t) for t in model.tag_sets],
        "meta_graphs": [{"tags": list(mg.tags), "signatures": sorted(mg.signatures),
                         "functions": len(mg.functions), "nodes": len(mg.graph_def.node),
                         "signature_functions": signature_functions(mg)}
                        for mg in model.meta_graphs],
        "variables": len(ckpt.entries) if ckpt is not None else 0,
        "has_checkpoint": ckpt is not None,
    }


CALL_OPS = ("StatefulPartitionedCall", "PartitionedCall")


def signature_functions(mg) -> dict[str, str]:
    """signature key -> the library function its outputs come from (TF2: the top-level graph only routes
    the inputs and the captured variables into one (Stateful)PartitionedCall): where the Graph view opens."""
    nodes = {n.name: n for n in mg.graph_def.node}
    out = {}
    for key, sig in mg.signatures.items():
        for spec in sig.outputs.values():
            node = nodes.get(spec.name.split(":")[0].lstrip("^"))
            while node is not None and node.op == "Identity" and node.input:
                node = nodes.get(node.input[0].split(":")[0].lstrip("^"))
            if node is not None and node.op in CALL_OPS and node.attr["f"].func.name in mg.functions:
                out[key] = _through_wrappers(mg, node.attr["f"].func.name)
                break
    return out


def _through_wrappers(mg, name: str) -> str:
    """A function that only forwards to one other function (TF2's signature wrappers) stands for that one."""
    for _ in range(8):
        body = mg.functions[name].node_def
        calls = [n for n in body if n.op in CALL_OPS]
        if len(calls) != 1 or any(n.op not in CALL_OPS + ("Identity", "NoOp") for n in body):
            break
        callee = calls[0].attr["f"].func.name
        if callee not in mg.functions:
            break
        name = callee
    return name


def _op_counts(mg) -> dict:
    graph = Counter(n.op for n in mg.graph_def.node)
    funcs = Counter(n.op for f in mg.functions.values() for n in f.node_def)
    return {"graph": dict(graph.most_common()), "functions": dict(funcs.most_common())}


def _fingerprint_json(fp) -> dict | None:
    if fp is None:
        return None
    out = {}
    for field, value in fp.ListFields():
        if field.message_type is not None:
            out[field.name] = {f.name: (v if isinstance(v, (int, str)) else str(v)) for f, v in value.ListFields()}
        else:           # 64-bit hashes beyond JavaScript's exact integers travel as strings
            out[field.name] = str(value) if isinstance(value, int) and value > 2 ** 53 else value
    return out


def _show_all(model) -> tuple[str | None, str | None]:
    if model.kind != "saved_model" or model.saved_model is None:
        return None, None
    try:
        from ..views import show
    except ImportError:
        return None, "the saved_model_cli view is not available in this build"
    try:
        return show.show_all(model.saved_model), None
    except SmlensError as e:
        return None, str(e)


def _signatures_json(mg) -> list[dict]:
    """Signature JSON, each input with what the run form prefills and offers."""
    sigs = []
    for sig in mg.signatures.values():
        j = signature_json(sig.key, sig.proto)
        # what the runtime adds to a spec beyond the SignatureDef (TensorSpec.to_json) comes along
        for spec_json, spec in [*zip(j["inputs"], sig.inputs.values()), *zip(j["outputs"], sig.outputs.values())]:
            spec_json.update({k: v for k, v in spec.to_json().items() if k not in spec_json})
        for spec_json, spec in zip(j["inputs"], sig.inputs.values()):
            spec_json["example"] = example_text(spec)
            spec_json["image"] = image_geometry(spec)
            feats = example_features(mg, spec)
            if feats is not None:
                spec_json["example_features"] = feats
        sigs.append(j)
    return sigs


def _checkpoint_json(model) -> dict | None:
    ckpt = model.checkpoint
    if ckpt is None:
        return None
    out = checkpoint_json(ckpt, checkpoint_entries(model))
    if model.checkpoint_state is not None:
        out["state"] = {"model_checkpoint_path": model.checkpoint_state.model_checkpoint_path,
                        "all": list(model.checkpoint_state.all_model_checkpoint_paths)}
    return out


def describe(args, buffers, reader, progress) -> dict:
    model = require_model()
    text, text_error = _show_all(model)
    meta_graphs = []
    for mg in model.meta_graphs:
        producer = mg.graph_def.versions.producer if mg.graph_def.HasField("versions") else None
        info = mg.proto.meta_info_def
        meta_graphs.append({
            "tags": list(mg.tags), "signatures": _signatures_json(mg), "op_counts": _op_counts(mg),
            "nodes": len(mg.graph_def.node), "functions": sorted(mg.functions),
            "producer": producer, "tensorflow_version": info.tensorflow_version or None,
            "tensorflow_git_version": info.tensorflow_git_version or None,
        })
    return {**_summary(model), "show_all": text, "show_all_error": text_error,
            "meta_graphs": meta_graphs, "fingerprint": _fingerprint_json(model.fingerprint),
            "files": [[p, int(s)] for p, s in model.files], "checkpoint": _checkpoint_json(model),
            "image_presets": IMAGE_PRESETS, "labels": labels_asset(model)}


def graph(args, buffers, reader, progress) -> dict:
    from ..views import graph as graph_view
    mg = meta_graph_for(args)
    progress("Building the graph…", 0.3)
    out = graph_view.graph_json(mg, args.get("function") or None)
    out["tags"] = list(mg.tags)
    return out
