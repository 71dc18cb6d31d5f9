"""Command line: `smlens show|run|inspect|ops` — drop-ins for saved_model_cli and inspect_checkpoint — and
`smlens publish` (a static site for a model)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from . import errors
from .errors import SmlensError


def _load(path: str):
    from .model import open as open_model
    return open_model(path)


def _saved_model(path: str):
    m = _load(path)
    if m.saved_model is None:
        raise errors.NotFoundError(f"not a SavedModel (found a {m.kind.replace('_', ' ')})", path)
    return m


def cmd_show(a: argparse.Namespace) -> str:
    m = _saved_model(a.dir)
    if getattr(a, "serving_metadata", False):
        from .serving import metadata_text
        return metadata_text(m, a.model_name, tags=a.tag_set or "serve")
    from .views import show
    sm = m.saved_model
    if a.json:
        doc = show.describe(sm)
        doc["path"] = a.dir
        return json.dumps(doc, indent=2) + "\n"
    if a.all:
        return show.show_all(sm)
    if a.list_ops:
        return show.list_ops(sm, a.tag_set, a.signature_def)
    if a.tag_set is None:  # like saved_model_cli, --signature_def alone still lists the tag-sets
        return show.show_tagsets(sm)
    if a.signature_def is None:
        return show.show_signature_keys(sm, a.tag_set)
    return show.show_signature(sm, a.tag_set, a.signature_def)


def _printoptions(items: list[str] | None) -> dict:
    import numpy as np
    opts: dict = {}
    current = np.get_printoptions()
    for kv in items or []:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            raise errors.InputError(f"'{kv}' is not in the form k=v.")
        if k not in current or k == "formatter":
            raise errors.InputError(f"'{k}' is not a valid printoption.")
        typ = type(current[k])
        if current[k] is None:
            raise errors.InputError(f"Setting '{k}' from the command line is not supported.")
        try:
            opts[k] = v.lower() in ("1", "true", "t", "yes", "y") if typ is bool else typ(v)
        except ValueError as e:
            raise errors.InputError(f"--printoptions {kv}: {e}") from None
    return opts


def cmd_inspect(a: argparse.Namespace) -> str:
    from .views import inspect
    m = _load(a.file_name)
    if m.checkpoint is None:
        raise errors.NotFoundError("no checkpoint found (expected a prefix, a .index file, or a directory "
                                   "with a `checkpoint` file)", a.file_name)
    b = m.checkpoint
    if a.json:
        return json.dumps(inspect.inspect_json(b, a.tensor_name, a.all_tensors), indent=2) + "\n"
    return inspect.inspect_text(b, a.tensor_name, a.all_tensors, a.all_tensor_names, a.count_exclude_pattern,
                                _printoptions(a.printoptions))


def cmd_run(a: argparse.Namespace) -> str:
    from . import inputs as run_inputs
    from .views.vocab import output_json, values_json
    m = _saved_model(a.dir)
    if getattr(a, "request", None) or getattr(a, "warmup", False):
        return _run_serving(a, m)
    mg = m.meta_graph(a.tag_set)
    sig = mg.signatures.get(a.signature_def)
    if sig is None:
        raise errors.NotFoundError(f"no signature {a.signature_def!r} in MetaGraph {mg.tag_string!r} "
                                   f"(available: {', '.join(mg.signatures)})", a.dir)
    feeds = run_inputs.parse_inputs(a.inputs or "", a.input_exprs or "", a.input_examples or "")
    sig.plan()  # compile (and report unsupported ops) before timing
    t0 = time.perf_counter()
    results = sig(**feeds)
    elapsed = time.perf_counter() - t0
    saved = run_inputs.save_outputs(results, a.outdir, a.overwrite) if a.outdir else None
    if a.json:
        outputs = {k: None if v is None else {**output_json(k, v, sig.outputs.get(k)), "values": values_json(v)}
                   for k, v in results.items()}
        doc = {"signature": sig.key, "seconds": elapsed, "outputs": outputs, "saved": saved}
        if getattr(a, "profile", False):
            doc["profile"] = _profile(sig, feeds, a)
        return json.dumps(doc, indent=2) + "\n"
    text = run_inputs.format_run_output(results, sig, saved=saved)
    if getattr(a, "profile", False):
        from .runtime.profile import format_report
        text += "\n" + format_report(_profile(sig, feeds, a), top=a.profile_top) + "\n"
    return text


def _profile(sig, feeds: dict, a: argparse.Namespace) -> dict:
    """`run --profile`: per-step times (op, backend, shapes), slowest first, and the pass summary."""
    from .runtime.profile import profile_plan
    return profile_plan(sig.plan(), feeds, runs=max(1, a.profile_runs))


def _read_request_file(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    if not os.path.isfile(path):
        raise errors.NotFoundError("no such file", path)
    with open(path, "rb") as f:
        return f.read()


def _run_serving(a: argparse.Namespace, m) -> str:
    """run --request FILE.json (a TF Serving REST body) or --warmup (the SavedModel's warmup records)."""
    from . import serving
    from .inputs import format_run_output
    if a.inputs or a.input_exprs or a.input_examples:
        raise errors.InputError("--request and --warmup replace --inputs/--input_exprs/--input_examples")
    if a.warmup:
        return _run_warmup(a, m)
    body = _read_request_file(a.request)
    mg = m.meta_graph(a.tag_set or "serve")
    try:
        req = serving.parse_request(body, mg, a.method)
    except errors.SmlensError as e:
        raise type(e)(str(e), a.request) from None
    req.signature.plan()
    response, outputs = serving.run_request(req)
    if a.json:
        return serving.dumps(response) + "\n"
    return format_run_output(outputs, req.signature)


def _run_warmup(a: argparse.Namespace, m) -> str:
    from . import serving
    records = serving.read_warmup(m)
    if not records:
        raise errors.NotFoundError(f"no warmup requests ({serving.WARMUP_PATH})", a.dir)
    results = []
    for rec in records:
        results.append((rec, serving.replay(rec, m)))
    if a.json:
        items = [dict(serving.warmup.describe(rec), response=resp) for rec, resp in results]
        return serving.dumps(items) + "\n"
    return "".join(f"Warmup record {rec.index}: {rec.kind} {rec.signature_name}\n{serving.dumps(resp)}\n"
                   for rec, resp in results)


def cmd_ops(a: argparse.Namespace) -> str:
    from .kernels import KERNELS
    rows = sorted(KERNELS.values(), key=lambda s: (s.category, s.op_type))
    if a.json:
        return json.dumps([{"op": s.op_type, "category": s.category, "module": s.fn.__module__,
                            "function": s.fn.__name__, "inputs": list(s.inputs), "attrs": sorted(s.attrs)}
                           for s in rows], indent=2) + "\n"
    lines = [f"{s.op_type:40s} {s.category:10s} {s.fn.__module__}.{s.fn.__name__}" for s in rows]
    return "\n".join(lines) + f"\n{len(rows)} kernels\n"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smlens", description="Inspect and run TensorFlow SavedModels and "
                                "checkpoints without TensorFlow.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("show", help="like `saved_model_cli show`")
    s.add_argument("--dir", required=True, help="SavedModel directory (or TF-Serving model directory)")
    s.add_argument("--all", action="store_true", help="everything: tag-sets, signatures, concrete functions")
    s.add_argument("--tag_set", help="comma-separated tag-set of a MetaGraph")
    s.add_argument("--signature_def", help="signature key (needs --tag_set)")
    s.add_argument("--list_ops", action="store_true", help="list the ops of the MetaGraph(s)")
    s.add_argument("--json", action="store_true", help="machine-readable description")
    s.add_argument("--serving_metadata", action="store_true",
                   help="what TF Serving's GET /v1/models/NAME/metadata returns (the 'serve' MetaGraph's signatures)")
    s.add_argument("--model_name", help="model name for --serving_metadata (default: the folder's name)")
    _add_limit_options(s)
    s.set_defaults(func=cmd_show)

    r = sub.add_parser("run", help="like `saved_model_cli run`")
    r.add_argument("--dir", required=True, help="SavedModel directory (or TF-Serving model directory)")
    r.add_argument("--tag_set", default=None,
                   help="comma-separated tag-set of the MetaGraph to run (default: the only one, else 'serve')")
    r.add_argument("--signature_def", default="serving_default",
                   help="key of the signature to run (default: serving_default)")
    r.add_argument("--inputs", help="inputs from files, ';'-separated: 'key=file.npy;key2=file.npz[name]' "
                   "(.npy; .npz with [array name], else the array named like the key, else its only array)")
    r.add_argument("--input_exprs", help="inputs as Python literals or NumPy calls, ';'-separated: "
                   "'key=[[1.0, 2.0]];key2=np.ones((2, 3))' (evaluated safely, never with eval)")
    r.add_argument("--input_examples", help="'key=[{\"feature\": [1.0]}]' (serialized tf.Example)")
    r.add_argument("--outdir", help="write each output to <outdir>/<key>.npy (a key that is not a safe file "
                   "name is sanitised and gets a hash suffix: see smlens.filenames)")
    r.add_argument("--overwrite", action="store_true", help="replace output files that already exist in --outdir")
    r.add_argument("--json", action="store_true",
                   help="print the outputs as JSON (per output: key, dtype, shape, values), the page's vocabulary")
    r.add_argument("--request", metavar="FILE.json",
                   help="a TF Serving REST request body ('-' = stdin): instances/inputs (predict) or examples "
                        "(classify/regress); with --json the response is printed as TF Serving returns it")
    r.add_argument("--method", choices=["predict", "classify", "regress"],
                   help="the REST verb of --request (default: classify/regress for 'examples' bodies, per the "
                        "signature's method_name, else predict)")
    r.add_argument("--warmup", action="store_true",
                   help="replay every record of assets.extra/tf_serving_warmup_requests and print each response")
    r.add_argument("--profile", action="store_true",
                   help="also time every step (op, backend, shapes; slowest first) and list the compiler passes")
    r.add_argument("--profile_runs", type=int, default=5, help="runs timed by --profile (median)")
    r.add_argument("--profile_top", type=int, default=30, help="steps listed by --profile (text output)")
    r.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="stop the run after S seconds (compiling included); Ctrl-C also stops it cleanly")
    _add_limit_options(r)
    r.set_defaults(func=cmd_run)

    i = sub.add_parser("inspect", help="like `python -m tensorflow.python.tools.inspect_checkpoint`")
    i.add_argument("--file_name", required=True, help="checkpoint prefix, .index file, or directory")
    i.add_argument("--tensor_name", default="", help="print this tensor's value")
    i.add_argument("--all_tensors", nargs="?", const=True, default=False, type=_bool,
                   help="print every tensor's value (True/False)")
    i.add_argument("--all_tensor_names", nargs="?", const=True, default=False, type=_bool,
                   help="list every tensor's name (True/False)")
    i.add_argument("--count_exclude_pattern", default="",
                   help="regular expression: tensors whose names match are left out of the parameter count")
    i.add_argument("--printoptions", nargs="*", help="numpy print options as k=v")
    i.add_argument("--json", action="store_true",
                   help="machine-readable: the checkpoint (prefix, format, num_shards, ...) and its tensors")
    _add_limit_options(i)
    i.set_defaults(func=cmd_inspect)

    o = sub.add_parser("ops", help="list the op types smlens can execute, with their kernel modules")
    o.add_argument("--json", action="store_true", help="machine-readable list (op, category, module, ...)")
    o.set_defaults(func=cmd_ops)

    from .publish import add_parser as add_publish_parser
    add_publish_parser(sub)
    return p


def _bool(v: str) -> bool:
    return v.lower() == "true"


# ---- resource limits for hostile models: --max-memory, run --timeout (see smlens.limits)

def _size(text: str) -> int:
    from .limits import parse_size
    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _add_limit_options(p: argparse.ArgumentParser) -> None:
    from .limits import DEFAULT_MAX_MEMORY, human
    p.add_argument("--max-memory", type=_size, default=None, metavar="SIZE",
                   help=f"largest single tensor or buffer a file, attr or shape may make smlens allocate, e.g. "
                        f"512M, 4G (default {human(DEFAULT_MAX_MEMORY)})")


def _run_limited(args: argparse.Namespace) -> str:
    from . import limits
    with limits.memory_budget(getattr(args, "max_memory", None)), limits.deadline(getattr(args, "timeout", None)):
        return args.func(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .limits import RunTimeout
    if getattr(args, "timeout", None) is not None and not args.timeout > 0:
        print("error: --timeout must be a positive number of seconds", file=sys.stderr)
        return 2
    try:
        text = _run_limited(args)
    except SmlensError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except RunTimeout as e:
        print(f"error: {e}", file=sys.stderr)
        return 124
    except KeyboardInterrupt:
        print("error: interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    except (RecursionError, MemoryError) as e:
        print(f"error: input too deeply nested or too large ({type(e).__name__})", file=sys.stderr)
        return 1
    except Exception as e:  # a bug in smlens, not the user's fault: one line, traceback on request
        if os.environ.get("SMLENS_DEBUG"):
            raise
        print(f"error: internal error ({type(e).__name__}: {e}); set SMLENS_DEBUG=1 for a traceback",
              file=sys.stderr)
        return 2
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    return 0
