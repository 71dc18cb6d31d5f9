"""Profiling a plan run: time per step (op, backend, input and output shapes), sorted by time, and the
pass summary (steps before and after each pass).

    report = profile_plan(plan, inputs, runs=5)   # plan: SignaturePlan (Signature.plan())
    print(format_report(report))                  # or report (a dict) as JSON
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np


def _shape(v) -> Any:
    s = getattr(v, "shape", None)
    return list(s) if s is not None else None


def _time_static(prog, feeds: list, rows: dict) -> None:
    vals = prog.template[:]
    for slot, v in zip(prog.feed_slots, feeds):
        vals[slot] = v
    clock = time.perf_counter
    for fn, ins, outs, frees, k in prog.steps:
        args = [vals[i] for i in ins]
        t0 = clock()
        r = fn(*args)
        dt = clock() - t0
        if outs.__class__ is int:
            vals[outs] = r[0] if r.__class__ in (tuple, list) else r
            out_shape = _shape(vals[outs])
        else:
            r = r if r.__class__ in (tuple, list) else (r,)
            for port, slot in outs:
                vals[slot] = r[port]
            out_shape = [_shape(vals[s]) for _, s in outs]
        for f in frees:
            vals[f] = None
        row = rows.setdefault(k, {"seconds": [], "in": [_shape(a) for a in args], "out": out_shape})
        row["seconds"].append(dt)


def _time_dataflow(prog, feeds: list, rows: dict) -> None:
    saved = [d.fn for d in prog.nodes]

    def timed(fn, k):
        def call(*args):
            t0 = time.perf_counter()
            try:
                return fn(*args)
            finally:
                row = rows.setdefault(k, {"seconds": [], "in": [_shape(a) for a in args], "out": None})
                row["seconds"].append(time.perf_counter() - t0)
        return call
    try:
        for k, d in enumerate(prog.nodes):
            d.fn = timed(d.fn, k)
        prog.run(feeds)
    finally:
        for d, fn in zip(prog.nodes, saved):
            d.fn = fn


def profile_program(prog, feeds: list, runs: int = 1) -> list:
    """Rows {name, op, backend, where, in, out, ms (median per run), calls}, slowest first."""
    inner = getattr(prog, "program", prog)  # a GuardedProgram's current program
    static = hasattr(inner, "steps")
    rows: dict = {}
    for _ in range(max(1, runs)):
        (_time_static if static else _time_dataflow)(inner, feeds, rows)
    infos = inner.infos if static else [d.info for d in inner.nodes]
    out = []
    for k, row in rows.items():
        info = infos[k]
        per_run = np.array(row["seconds"]).reshape(max(1, runs), -1).sum(axis=1) if \
            len(row["seconds"]) % max(1, runs) == 0 else np.array([sum(row["seconds"]) / max(1, runs)])
        out.append({"name": info.name, "op": info.op, "backend": getattr(info, "backend", "numpy"),
                    "where": info.where, "in": row["in"], "out": row["out"],
                    "ms": float(np.median(per_run)) * 1e3, "calls": len(row["seconds"]) // max(1, runs)})
    out.sort(key=lambda r: -r["ms"])
    return out


def profile_plan(plan, inputs: dict, runs: int = 1) -> dict:
    """Profile a SignaturePlan on `inputs`: {"steps": rows, "passes": summary, "total_ms": median run}."""
    feeds = plan.feed_values(inputs)
    rt = plan.runtime
    rt.ensure_initialized()
    rt.begin_run()
    plan.program.run(feeds)  # warm-up (and the guard check of folded variables)
    totals = []
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        plan.program.run(feeds)
        totals.append(time.perf_counter() - t0)
    steps = profile_program(plan.program, feeds, runs)
    summary = getattr(getattr(plan.program, "program", plan.program), "summary", [])
    return {"steps": steps, "passes": [{"pass": p, "before": b, "after": a} for p, b, a in summary],
            "total_ms": float(np.median(totals)) * 1e3, "runs": max(1, runs)}


def format_report(report: dict, top: int = 30) -> str:
    lines = [f"median run: {report['total_ms']:.2f} ms over {report['runs']} run(s); "
             f"{len(report['steps'])} steps"]
    lines.append(f"{'ms':>9}  {'op':<28} {'backend':<8} {'inputs -> output':<48} name")
    for r in report["steps"][:top]:
        shapes = f"{' '.join(_fmt(s) for s in r['in'])} -> {_fmt(r['out'])}"
        lines.append(f"{r['ms']:9.3f}  {r['op']:<28} {r['backend']:<8} {shapes:<48} {r['name']}")
    if report["passes"]:
        lines.append("passes (steps before -> after):")
        lines += [f"  {p['pass']:<16} {p['before']:>5} -> {p['after']}" for p in report["passes"]]
    return "\n".join(lines)


def _fmt(shape) -> str:
    if shape is None:
        return "?"
    if shape and isinstance(shape[0], list):
        return ",".join(_fmt(s) for s in shape)
    return "x".join(str(d) for d in shape) if shape else "scalar"
