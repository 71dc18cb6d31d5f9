"""Resource limits for hostile models: one allocation budget and a time budget for runs.

The allocation budget bounds every buffer whose size comes from a file, an attr or a shape (Fill,
BroadcastTo, Tile, Range, Const decoding, image decoders, string repeat/join...): kernels call
`check_alloc` with the size they are about to allocate, before allocating. The CLI sets it from
`--max-memory`, the page from its settings, Python callers with `set_max_memory`.

The time budget (`deadline`) stops a run after a number of seconds: the main thread of CPython gets a
timer signal, so even a kernel stuck in a Python loop is interrupted; loops also call `check_deadline`
once per iteration so runs in other threads (and Pyodide) stop too.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from typing import Iterator

from .errors import ExecutionError

DEFAULT_MAX_MEMORY = 2 << 30   # 2 GiB: well inside Pyodide's 4 GiB address space
_max_memory = DEFAULT_MAX_MEMORY
_deadline: float | None = None
_deadline_seconds: float = 0.0


class ResourceLimitError(ExecutionError):
    """An operation would need more memory than the allocation budget allows."""


class RunTimeout(BaseException):
    """The run went past its time budget. A BaseException like KeyboardInterrupt, so that kernels' and the
    compiler's `except Exception` fallbacks cannot swallow it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"run stopped: it took longer than the {seconds:g} s time limit (--timeout)")


def max_memory() -> int:
    return _max_memory


def set_max_memory(nbytes: int) -> None:
    """The largest single buffer a kernel or decoder may create (bytes, > 0)."""
    global _max_memory
    if int(nbytes) <= 0:
        raise ValueError("max memory must be a positive number of bytes")
    _max_memory = int(nbytes)


@contextlib.contextmanager
def memory_budget(nbytes: int | None) -> Iterator[None]:
    """Temporarily use another allocation budget (None: keep the current one)."""
    old = _max_memory
    if nbytes is not None:
        set_max_memory(nbytes)
    try:
        yield
    finally:
        set_max_memory(old)


def parse_size(text: str) -> int:
    """'2G', '512M', '1.5GiB', '1000000' -> bytes."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    mult = units.get(t[-1:], 1)
    num = t[:-1] if t[-1:] in units else t
    try:
        value = float(num)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (examples: 2G, 512M, 1000000)") from None
    if not value > 0 or value * mult > 1 << 62:
        raise ValueError(f"not a usable size: {text!r}")
    return int(value * mult)


def human(nbytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(nbytes) < 1024 or unit == "PiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return str(nbytes)


def check_alloc(nbytes: float, what: str = "result") -> None:
    """ResourceLimitError if `nbytes` exceeds the allocation budget; call before allocating."""
    if nbytes > _max_memory:
        raise ResourceLimitError(f"{what} would need {human(nbytes)}, more than the memory budget of "
                                 f"{human(_max_memory)} (raise it with --max-memory)")


# ---------------------------------------------------------------- time budget

def check_deadline() -> None:
    """RunTimeout if the current deadline has passed (cheap: one global read when none is set)."""
    if _deadline is not None and time.monotonic() > _deadline:
        raise RunTimeout(_deadline_seconds)


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Stop the enclosed work with RunTimeout after `seconds` (None or 0: no limit)."""
    global _deadline, _deadline_seconds
    if not seconds:
        yield
        return
    old = (_deadline, _deadline_seconds)
    mine = _deadline = time.monotonic() + seconds
    _deadline_seconds = seconds
    use_timer = _timer_available()
    if use_timer:
        def on_alarm(_signum, _frame):
            # The alarm can arrive after a loop's check_deadline already raised, while this context unwinds:
            # once the deadline is reset below it must not raise again (and skip the rest of the reset).
            if _deadline == mine:
                raise RunTimeout(seconds)
        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        _deadline, _deadline_seconds = old
        if use_timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)


def _timer_available() -> bool:
    return (sys.platform != "emscripten" and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
            and os.environ.get("SMLENS_NO_TIMER_SIGNAL") is None
            and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None))
