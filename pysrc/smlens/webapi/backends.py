"""Which backends a page run uses: one plan per (signature, backend choice), and what ran where."""
from __future__ import annotations

import collections

from ..backends import registry
from ..errors import InputError


def available() -> list[str]:
    """Registered backends, in the registry's order of preference first (NumPy always among them)."""
    names = registry.available()
    pref = [n for n in registry.preference() if n in names]
    return pref + [n for n in names if n not in pref]


def plan_for(sig, backend: str | None):
    """The signature's plan for `backend` ("numpy", "wasm", …; None or "auto": the registry's preference)."""
    if backend in (None, "", "auto"):
        return sig.plan()
    if registry.get(backend) is None:
        raise InputError(f"backend {backend!r} is not available here (available: {', '.join(available())})")
    plans = sig.__dict__.setdefault("_smlens_backend_plans", {})
    if backend not in plans:
        from ..runtime.options import options
        from ..runtime.plan import compile_signature
        plans[backend] = compile_signature(sig, options(backends=[backend]))
    return plans[backend]


def step_backends(plan) -> dict[str, int]:
    """Number of the plan's kernel steps per backend that runs them."""
    program = getattr(plan.program, "program", plan.program)
    infos = getattr(program, "infos", None)
    if infos is None:
        infos = [d.info for d in getattr(program, "nodes", [])]
    return dict(collections.Counter(getattr(i, "backend", "numpy") or "numpy" for i in infos))


def profile(plan, inputs: dict, top: int = 200) -> dict:
    """The per-step profile (runtime/profile.py), the slowest `top` steps."""
    from ..runtime.profile import profile_plan
    report = profile_plan(plan, inputs, runs=1)
    report["steps"] = report["steps"][:top]
    return report
