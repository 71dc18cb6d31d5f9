"""Fuzzing harness: seed models from tests/data, structure-aware mutants, each opened and exercised in a
forked child process under a CPU-time, wall-time and address-space limit; outcomes are counted.

Outcomes: ok (opened and everything read), clean (one SmlensError), other (any other exception: a bug),
hang (past the time limit), memory (MemoryError or killed for memory), crash (child died on a signal),
wrong (a read returned values that differ from the seed although the stored bytes failed their checksum);
skipped: the mutator itself failed (a harness bug, reported, not a verdict on smlens).
Mutant i of seed s is fully determined by (s, i), so any failure is reproducible with `scripts/fuzz.py
--seed s --only i --save DIR`.
"""
from __future__ import annotations

import math
import os
import random
import resource
import select
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

import numpy as np  # noqa: E402

from fuzz import mutators  # noqa: E402

DATA = os.path.join(TESTS, "data")
OUTCOMES = ("ok", "clean", "other", "hang", "memory", "crash", "wrong", "skipped")
BAD = ("other", "hang", "memory", "crash", "wrong")


@dataclass
class Seed:
    name: str
    files: dict[str, bytes]
    open_path: str              # what smlens.open gets, relative to the files
    index: str | None = None    # the checkpoint index to mutate structurally
    proto: str | None = None    # saved_model.pb / .pbtxt
    values: dict[str, np.ndarray] = field(default_factory=dict)


def _read_dir(root: str, sub: str = "") -> dict[str, bytes]:
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            with open(full, "rb") as f:
                out[(sub + "/" if sub else "") + rel] = f.read()
    return out


def load_seeds() -> list[Seed]:
    corpus = os.path.join(DATA, "corpus")
    seeds = [
        Seed("saver_sharded", _read_dir(os.path.join(corpus, "saver_sharded", "ckpt")), "model.ckpt-7",
             index="model.ckpt-7.index"),
        Seed("object_ckpt", {k: v for k, v in _read_dir(os.path.join(corpus, "object_ckpt", "ckpt")).items()
                             if k.startswith("saved-2") or k == "checkpoint"}, "",
             index="saved-2.index"),
        Seed("module_basic", _read_dir(os.path.join(corpus, "module_basic", "model")), "",
             index="variables/variables.index", proto="saved_model.pb"),
        Seed("simple_save", _read_dir(os.path.join(corpus, "simple_save", "model")), "",
             index="variables/variables.index", proto="saved_model.pb"),
        Seed("tf1_while_cond", _read_dir(os.path.join(corpus, "tf1_while_cond", "model")), "",
             index="variables/variables.index", proto="saved_model.pb"),
        Seed("v1_plain", {"plain.ckpt": open(os.path.join(DATA, "v1ckpt", "plain.ckpt"), "rb").read()},
             "plain.ckpt"),
    ]
    seeds.append(_text_seed(seeds[2]))
    for s in seeds:
        s.values = _values(s)
    for s in seeds:  # warm up: lazily imported modules (compiler, kernels) load once, not in every child
        exercise(dict(s.files), s, True)
    import gc
    gc.collect()
    gc.freeze()  # forked children then do not touch (and copy) the parent's objects when collecting
    return seeds


def _text_seed(binary: Seed) -> Seed:
    from google.protobuf import text_format

    from smlens.proto import saved_model_pb2
    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString(binary.files["saved_model.pb"])
    files = {k: v for k, v in binary.files.items() if k != "saved_model.pb"}
    files["saved_model.pbtxt"] = text_format.MessageToString(sm).encode()
    return Seed("module_basic_text", files, "", index=binary.index, proto="saved_model.pbtxt")


def _values(seed: Seed) -> dict[str, np.ndarray]:
    import smlens
    from smlens.sources import MemorySource
    m = smlens.open(MemorySource(dict(seed.files), name=seed.name), seed.open_path)
    return {k: m.checkpoint.read(k) for k in m.variables} if m.checkpoint is not None else {}


# ---------------------------------------------------------------- mutants

def make_mutant(seed: Seed, rng: random.Random) -> tuple[dict[str, bytes], str, bool]:
    """(files, description, checksums-protected: a successful read must return the seed's values)."""
    files = dict(seed.files)
    choices = ["bytes"]
    if seed.index:
        choices += ["index", "index", "data", "object_graph"]
    if seed.proto:
        choices += ["proto", "proto", "proto"] + (["pbtxt"] if seed.proto.endswith(".pbtxt") else [])
    kind = rng.choice(choices)
    protected = False
    if kind == "bytes":
        path = rng.choice(sorted(files))
        files[path] = mutators.mutate_bytes(files[path], rng)
        what = f"bytes of {path}"
        protected = ".data-" in path or path.endswith(".index")
    elif kind == "index":
        what = "index " + mutators.mutate_index(files, seed.index, rng)
    elif kind == "data":
        what, fixed = mutators.mutate_tensor_data(files, seed.index, rng)
        protected = not fixed
    elif kind == "object_graph":
        what = "object graph " + mutators.mutate_object_graph(files, seed.index, rng)
    elif kind == "proto":
        what = "proto " + mutators.mutate_saved_model(files, seed.proto, rng)
    else:
        what = "pbtxt " + mutators.mutate_pbtxt(files, seed.proto, rng)
    return files, f"{seed.name}: {what}", protected


def exercise(files: dict[str, bytes], seed: Seed, protected: bool) -> str:
    """Open and use the mutant the way the CLI and the page do. Returns 'ok' or 'wrong'."""
    import smlens
    from smlens.sources import MemorySource
    from smlens.views import inspect, show
    m = smlens.open(MemorySource(files, name=seed.name), seed.open_path)
    if m.saved_model is not None:
        show.show_all(m.saved_model)
        show.describe(m.saved_model)
    if m.checkpoint is not None:
        inspect.debug_string(m.checkpoint)
        if hasattr(m.checkpoint, "entries"):
            inspect.inspect_json(m.checkpoint, "", False)
        for name in m.variables:
            value = m.checkpoint.read(name)
            if protected and name in seed.values and not _same(value, seed.values[name]):
                return "wrong"
    if m.saved_model is not None:
        for mg in m.meta_graphs:
            for sig in mg.signatures.values():
                sig.plan()
                feeds = _feeds(sig)
                if feeds is not None:
                    sig(**feeds)
    return "ok"


def _feeds(sig) -> dict | None:
    feeds = {}
    for k, spec in sig.inputs.items():
        shape = spec.shape
        dt = spec.dtype
        if shape is None or dt is None or any(d is None or d < 0 for d in shape) or math.prod(shape) > 4096:
            return None
        if dt.name == "string":
            feeds[k] = np.full(shape, b"a", dtype=object)
        elif dt.np is None:
            return None
        else:
            feeds[k] = np.ones(shape, dtype=dt.np)
    return feeds


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype == object:
        return all(x == y for x, y in zip(a.reshape(-1), b.reshape(-1)))
    return a.tobytes() == b.tobytes()


# ---------------------------------------------------------------- child processes

@dataclass
class Limits:
    seconds: float = 10.0   # CPU seconds (RLIMIT_CPU: a hang is caught even on a starved machine)
    memory: int = 1 << 30   # address space the child may add on top of the parent's
    wall: float | None = None   # wall-clock seconds before the child is killed (default 3 x seconds)

    @property
    def wall_seconds(self) -> float:
        return self.wall if self.wall is not None else 3 * self.seconds


@dataclass
class Result:
    index: int
    seed: str
    what: str
    outcome: str
    detail: str = ""


def _vm_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _child(files, seed: Seed, protected: bool, limits: Limits, wfd: int) -> None:
    os.setpgid(0, 0) if hasattr(os, "setpgid") else None
    base = _vm_bytes()
    if base:
        resource.setrlimit(resource.RLIMIT_AS, (base + limits.memory, base + limits.memory))
    cpu = int(limits.seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    sys.setrecursionlimit(10000)
    from smlens import limits as smlens_limits
    from smlens.errors import SmlensError, UnsupportedError
    # the allocation budget sits well inside the child's address space: going past it is a clean error,
    # running out of memory anyway ("memory") means an allocation the budget does not cover
    smlens_limits.set_max_memory(min(smlens_limits.max_memory(), limits.memory // 4))
    code, detail = "ok", ""
    try:
        code = exercise(files, seed, protected)
    except SmlensError as e:
        code, detail = "clean", str(e)[:300]
        # one line, except the unsupported-ops report, which lists one missing kernel per line by design
        if "\n" in str(e).strip() and not isinstance(e, UnsupportedError):
            code, detail = "other", "multi-line error: " + str(e)[:300]
    except MemoryError:
        code, detail = "memory", "MemoryError"
    except BaseException as e:  # noqa: BLE001 - every non-clean outcome is counted
        tb = traceback.extract_tb(e.__traceback__)[-3:]
        code = "other"
        detail = f"{type(e).__name__}: {str(e)[:200]} @ " + " <- ".join(
            f"{os.path.basename(f.filename)}:{f.lineno}" for f in reversed(tb))
    try:
        os.write(wfd, f"{code}\t{detail}".replace("\n", " ").encode()[:4000])
    finally:
        os._exit(0)


def run_one(index: int, seed: Seed, files, what: str, protected: bool, limits: Limits) -> Result:
    rfd, wfd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        try:
            _child(files, seed, protected, limits, wfd)
        finally:
            os._exit(3)
    os.close(wfd)
    deadline = time.monotonic() + limits.wall_seconds
    chunks = []
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([rfd], [], [], left)
        if ready:
            chunk = os.read(rfd, 4096)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(rfd)
    if timed_out:
        _kill(pid)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode(errors="replace")
    if timed_out:
        return Result(index, seed.name, what, "hang", f"no result after {limits.wall_seconds} s")
    if text:
        outcome, _, detail = text.partition("\t")
        return Result(index, seed.name, what, outcome, detail)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        kind = "hang" if sig == signal.SIGXCPU else "memory" if sig == signal.SIGKILL else "crash"
        return Result(index, seed.name, what, kind, f"killed by signal {sig}")
    return Result(index, seed.name, what, "crash", f"exit status {status} without a result")


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def mutant(seeds: list[Seed], run_seed: int, index: int):
    rng = random.Random(f"{run_seed}:{index}")
    seed = seeds[index % len(seeds)]
    files, what, protected = make_mutant(seed, rng)
    return seed, files, what, protected


def run(seeds: list[Seed], run_seed: int, indices, limits: Limits, on_result=None) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for i in indices:
        try:
            seed, files, what, protected = mutant(seeds, run_seed, i)
        except Exception as e:  # noqa: BLE001 - a mutator bug must not stop the run; it is reported
            r = Result(i, "?", "mutator failed", "skipped", f"mutator: {type(e).__name__}: {e}")
        else:
            r = run_one(i, seed, files, what, protected, limits)
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
        if on_result:
            on_result(r)
    return counts
