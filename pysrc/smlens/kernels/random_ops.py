"""Random kernels on TensorFlow's Philox-4x32-10 counter-based generator.

Stateless ops (StatelessRandom*, *V2 with key/counter) reproduce TensorFlow's CPU streams: the seed
scrambling, the group layout of FillPhiloxRandom, and the bits -> number conversions. Stateful ops
with a nonzero seed/seed2 attr keep TF's generator state in their OpContext: the first call starts
where TF starts and each call skips what TF reserves, so later calls (runs, loop iterations) match too;
with both seeds 0 the Philox key comes from `ctx.rng` (the executor reseeds it every run).
tf.random.Generator ops (RngReadAndSkip, Stateful*) advance the state variable as TF does. Gamma and
Poisson samplers draw from `ctx.rng` (NumPy's algorithms, not TF's streams).
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..errors import ExecutionError, UnsupportedError
from ..runtime.resources import Variable, resource_of
from .registry import REQUIRED, op

_M32 = 0xFFFFFFFF
_MUL_A, _MUL_B = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_WEYL_A, _WEYL_B = 0x9E3779B9, 0xBB67AE85
_MAX_OUTPUT = 1 << 31

# ---------------------------------------------------------------- the generator


class Philox:
    """A Philox-4x32-10 stream: key (2 x uint32) and a 128-bit counter (Python int)."""

    def __init__(self, key: tuple[int, int], counter: int):
        self.key = (key[0] & _M32, key[1] & _M32)
        self.counter = counter % (1 << 128)

    @classmethod
    def from_seeds(cls, seed_lo: int, seed_hi: int) -> "Philox":
        """TF's PhiloxRandom(seed_lo, seed_hi): key = seed_lo, counter words 2..3 = seed_hi."""
        seed_lo &= (1 << 64) - 1
        seed_hi &= (1 << 64) - 1
        return cls((seed_lo, seed_lo >> 32), seed_hi << 64)

    def blocks(self, n: int, offset: int = 0) -> np.ndarray:
        """Outputs for counters counter+offset .. counter+offset+n-1, as uint32 [n, 4]."""
        return philox_blocks(self.key, self.counter + offset, np.arange(n, dtype=np.uint64))

    def blocks_at(self, offsets: np.ndarray) -> np.ndarray:
        return philox_blocks(self.key, self.counter, offsets.astype(np.uint64))


def philox_blocks(key: tuple[int, int], counter: int, offsets: np.ndarray) -> np.ndarray:
    """Philox-4x32-10 of (counter + offsets) under `key`; uint32 [len(offsets), 4]."""
    counter %= 1 << 128
    lo = np.uint64(counter & ((1 << 64) - 1)) + offsets
    carry = (lo < offsets).astype(np.uint64)
    hi = np.uint64((counter >> 64) & ((1 << 64) - 1)) + carry
    mask = np.uint64(_M32)
    c0, c1 = lo & mask, lo >> np.uint64(32)
    c2, c3 = hi & mask, hi >> np.uint64(32)
    k0, k1 = key
    for r in range(10):
        p0 = _MUL_A * c0
        p1 = _MUL_B * c2
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0), p1 & mask,
                          (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1), p0 & mask)
        k0 = (k0 + _WEYL_A) & _M32
        k1 = (k1 + _WEYL_B) & _M32
    return np.stack([c0, c1, c2, c3], axis=-1).astype(np.uint32)


def _scramble_seed(seed) -> Philox:
    """TF's GenerateKey for stateless ops: the seed pair goes through one Philox round."""
    s = np.asarray(seed)
    if s.shape != (2,):
        raise ExecutionError(f"seed must have shape [2], not {list(s.shape)}")
    s0, s1 = (int(v) & ((1 << 64) - 1) for v in s.astype(np.int64).tolist())
    counter = (s0 & _M32) | ((s0 >> 32) << 32) | ((s1 & _M32) << 64) | ((s1 >> 32) << 96)
    mix = philox_blocks((0x3EC8F720, 0x02461E29), counter, np.zeros(1, np.uint64))[0].tolist()
    return Philox((mix[0], mix[1]), (mix[2] << 64) | (mix[3] << 96))


def _key_counter(key, counter, alg) -> Philox:
    a = int(np.asarray(alg).reshape(()))
    if a == 2:
        raise UnsupportedError("the ThreeFry random algorithm is not supported (Philox only)")
    if a not in (1, 3):
        raise ExecutionError(f"Unsupported algorithm id: {a}")
    k = np.asarray(key).astype(np.uint64).reshape(-1)
    c = np.asarray(counter).astype(np.uint64).reshape(-1)
    if k.size < 1 or c.size < 2:
        raise ExecutionError(f"Philox needs a key of size 1 and a counter of size 2, got {k.size} and {c.size}")
    key64 = int(k[0])
    return Philox((key64 & _M32, key64 >> 32), int(c[0]) | (int(c[1]) << 64))


def _stateful(ctx, seed: int, seed2: int, reserve: int) -> Philox:
    """The generator for one call of a stateful op. With a seed, TF's GuardedPhiloxRandom: the op starts at
    PhiloxRandom(seed, seed2) and every call hands out the current position, then skips `reserve` 128-bit
    samples, so a second call (a second run, a second loop iteration) continues the stream."""
    if seed or seed2:
        if ctx is None:
            return Philox.from_seeds(seed, seed2)
        gen = ctx.state.get("philox")
        if gen is None:
            gen = ctx.state["philox"] = Philox.from_seeds(seed, seed2)
        out = Philox(gen.key, gen.counter)
        gen.counter = (gen.counter + reserve) % (1 << 128)
        return out
    rng = ctx.rng if ctx is not None and ctx.rng is not None else np.random.default_rng()
    a, b = (int(x) for x in rng.integers(0, 1 << 63, size=2, dtype=np.int64))
    return Philox.from_seeds(a, b)


def _shape(shape) -> tuple[int, ...]:
    s = np.asarray(shape)
    if s.ndim > 1:
        raise ExecutionError(f"shape must be a vector, got shape {list(s.shape)}")
    dims = tuple(int(d) for d in s.reshape(-1).tolist())
    if any(d < 0 for d in dims):
        raise ExecutionError(f"shape must not have negative dimensions: {list(dims)}")
    if math.prod(dims) > _MAX_OUTPUT:
        raise ExecutionError(f"random tensor of shape {list(dims)} is too large")
    from .. import limits
    limits.check_alloc(math.prod(dims) * 8, f"random tensor of shape {list(dims)}")
    return dims


# ---------------------------------------------------------------- bits -> numbers

def _u32_to_float(x: np.ndarray) -> np.ndarray:
    return ((x & np.uint32(0x7FFFFF)) | np.uint32(0x3F800000)).view(np.float32) - np.float32(1.0)


def _u64_to_double(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    bits = ((x0.astype(np.uint64) & np.uint64(0xFFFFF)) << np.uint64(32)) | x1.astype(np.uint64)
    return (bits | np.uint64(1023 << 52)).view(np.float64) - 1.0


def _u16_to_half(x: np.ndarray) -> np.ndarray:
    bits = ((x & np.uint32(0x3FF)) | np.uint32(15 << 10)).astype(np.uint16)
    return bits.view(np.float16) - np.float16(1.0)


def _u16_to_bfloat16(x: np.ndarray) -> np.ndarray:
    bits = (((x & np.uint32(0x7F)) | np.uint32(127 << 7)) << np.uint32(16)).astype(np.uint32)
    return dtypes.round_to_bfloat16(bits.view(np.float32) - np.float32(1.0))


def _box_muller_float(x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u1 = np.maximum(_u32_to_float(x0), np.float32(1e-7))
    v1 = (2.0 * math.pi * _u32_to_float(x1).astype(np.float64)).astype(np.float32)
    # float32 libm results, taken as correctly rounded double computations
    u2 = np.sqrt(np.float32(-2.0) * np.log(u1.astype(np.float64)).astype(np.float32))
    v = v1.astype(np.float64)
    return (np.sin(v).astype(np.float32) * u2, np.cos(v).astype(np.float32) * u2)


def _box_muller_double(x0, x1, x2, x3) -> tuple[np.ndarray, np.ndarray]:
    u1 = np.maximum(_u64_to_double(x0, x1), 1e-7)
    v1 = 2.0 * math.pi * _u64_to_double(x2, x3)
    u2 = np.sqrt(-2.0 * np.log(u1))
    return np.sin(v1) * u2, np.cos(v1) * u2


def _group_size(kind: str, dt: np.dtype) -> int:
    return 2 if (dt == np.float64 or (kind in ("int", "fullint") and dt.itemsize == 8)) else 4


def _fixed(gen: Philox, shape: tuple[int, ...], kind: str, dtype: dtypes.DType, lo=None, hi=None) -> np.ndarray:
    """FillPhiloxRandom for distributions that use one Philox block per output group."""
    dt = dtype.np
    n = math.prod(shape)
    per = _group_size(kind, dt)
    groups = -(-n // per)
    b = gen.blocks(groups)
    if kind == "uniform":
        if dtype.name == "float16":
            vals = _u16_to_half(b)
        elif dtype.name == "bfloat16":
            vals = _u16_to_bfloat16(b)
        elif dt == np.float64:
            vals = np.stack([_u64_to_double(b[:, 0], b[:, 1]), _u64_to_double(b[:, 2], b[:, 3])], axis=1)
        elif dt == np.float32:
            vals = _u32_to_float(b)
        else:
            raise ExecutionError(f"unsupported dtype {dtype.name} for a uniform float distribution")
    elif kind == "normal":
        if dt == np.float64:
            vals = np.stack(_box_muller_double(b[:, 0], b[:, 1], b[:, 2], b[:, 3]), axis=1)
        elif dt.kind == "f":
            d0, d1 = _box_muller_float(b[:, 0], b[:, 1])
            d2, d3 = _box_muller_float(b[:, 2], b[:, 3])
            vals = np.stack([d0, d1, d2, d3], axis=1)
        else:
            raise ExecutionError(f"unsupported dtype {dtype.name} for a normal distribution")
    elif kind == "int":
        vals = _uniform_int(b, dt, int(lo), int(hi))
    elif kind == "fullint":
        if dt.itemsize == 8:
            bits = b[:, 0::2].astype(np.uint64) | (b[:, 1::2].astype(np.uint64) << np.uint64(32))
            vals = bits.view(np.int64) if dt.kind == "i" else bits
        else:
            vals = b.view(np.int32) if dt.kind == "i" else b
    else:
        raise AssertionError(kind)
    return _finish(vals.reshape(-1)[:n], dtype, shape)


def _finish(vals: np.ndarray, dtype: dtypes.DType, shape) -> np.ndarray:
    if dtype.name == "bfloat16":
        return dtypes.round_to_bfloat16(vals.astype(np.float32)).reshape(shape)
    return vals.astype(dtype.np).reshape(shape)


def _uniform_int(b: np.ndarray, dt: np.dtype, lo: int, hi: int) -> np.ndarray:
    if lo >= hi:
        raise ExecutionError(f"Need minval < maxval: {lo} >= {hi}")
    span = hi - lo
    if dt.itemsize == 8:
        bits = b[:, 0::2].astype(np.uint64) | (b[:, 1::2].astype(np.uint64) << np.uint64(32))
        off = bits % np.uint64(span)
        return (np.int64(lo) + off.astype(np.int64)) if dt.kind == "i" else (np.uint64(lo) + off)
    off = (b % np.uint32(span)).astype(np.int64)
    return (lo + off).astype(dt)


def _truncated(gen: Philox, shape: tuple[int, ...], dtype: dtypes.DType) -> np.ndarray:
    """TruncatedNormal: each group of outputs draws from its own stretch of 256 samples per output,
    redrawing Box-Muller pairs until enough fall within two standard deviations."""
    dt = dtype.np
    n = math.prod(shape)
    double = dt == np.float64
    per = 2 if double else 4
    groups = -(-n // per)
    skip = per * 256 // 4
    out = np.empty((groups, per), dtype=np.float64 if double else np.float32)
    if groups == 0:
        return _finish(out.reshape(-1), dtype, shape)
    first = 3   # blocks tried at once; a group short of outputs continues one block at a time
    offsets = (np.arange(groups, dtype=np.uint64)[:, None] * np.uint64(skip)
               + np.arange(first, dtype=np.uint64)[None, :]).reshape(-1)
    b = gen.blocks_at(offsets).reshape(groups, first, 4)
    cand = _truncation_candidates(b.reshape(-1, 4), double).reshape(groups, -1)
    ok = np.abs(cand) < 2.0
    complete = ok.sum(axis=1) >= per
    for g in range(groups):
        if complete[g]:
            out[g] = cand[g][ok[g]][:per]
            continue
        got = list(cand[g][ok[g]])
        j = first
        while len(got) < per:
            extra = _truncation_candidates(gen.blocks(1, g * skip + j), double)
            got.extend(v for v in extra.tolist() if abs(v) < 2.0)
            j += 1
        out[g] = got[:per]
    return _finish(out.reshape(-1)[:n], dtype, shape)


def _truncation_candidates(b: np.ndarray, double: bool) -> np.ndarray:
    """Candidates in the order TF tests them, per block: float -> 4, double -> 2."""
    if double:
        return np.stack(_box_muller_double(b[:, 0], b[:, 1], b[:, 2], b[:, 3]), axis=1).reshape(-1)
    d0, d1 = _box_muller_float(b[:, 0], b[:, 1])
    d2, d3 = _box_muller_float(b[:, 2], b[:, 3])
    return np.stack([d0, d1, d2, d3], axis=1).reshape(-1)


def _multinomial(gen: Philox, logits, num_samples, out_dtype: dtypes.DType) -> np.ndarray:
    lg = np.asarray(logits)
    if lg.ndim != 2:
        raise ExecutionError(f"logits should be a matrix, got shape {list(lg.shape)}")
    s = int(np.asarray(num_samples).reshape(()))
    if s < 0:
        raise ExecutionError(f"num_samples should be nonnegative, got {s}")
    rows, classes = lg.shape
    if classes == 0 and s > 0 and rows > 0:
        raise ExecutionError("num_classes should be positive, got 0")
    if rows * s > _MAX_OUTPUT:
        raise ExecutionError("Multinomial: too many samples requested")
    x = lg.astype(np.float64)
    finite = np.isfinite(x)
    peak = np.where(finite, x, -np.inf).max(axis=1, initial=-np.inf) if classes else np.zeros(rows)
    if lg.dtype == np.float32 or lg.dtype == np.float16:
        peak = np.where(np.isfinite(peak), peak, float(np.finfo(lg.dtype).min))
    weights = np.where(finite, np.exp(x - peak[:, None]), 0.0)
    cdf = np.cumsum(weights, axis=1)
    # Two uint32 per sample (a SimplePhilox double), drawn row after row from one stream.
    words = 2 * rows * s
    bits = gen.blocks(-(-words // 4)).reshape(-1)[:words].reshape(rows, s, 2) if words else \
        np.zeros((rows, s, 2), np.uint32)
    u = _u64_to_double(bits[..., 0], bits[..., 1])
    out = np.empty((rows, s), dtype=np.int64)
    for r in range(rows):
        out[r] = np.searchsorted(cdf[r], u[r] * cdf[r, -1], side="right") if classes else 0
    return out.astype(out_dtype.np)


# ---------------------------------------------------------------- stateful ops

_SEEDS = {"seed": 0, "seed2": 0}


@op("RandomUniform", inputs=["shape"], attrs={"dtype": REQUIRED, **_SEEDS}, ctx=True, stateful=True)
def random_uniform(ctx, shape, *, dtype, seed, seed2):
    dims = _shape(shape)
    return _fixed(_stateful(ctx, seed, seed2, math.prod(dims) * 256), dims, "uniform", dtype)


@op("RandomStandardNormal", inputs=["shape"], attrs={"dtype": REQUIRED, **_SEEDS}, ctx=True, stateful=True)
def random_standard_normal(ctx, shape, *, dtype, seed, seed2):
    dims = _shape(shape)
    return _fixed(_stateful(ctx, seed, seed2, math.prod(dims) * 256), dims, "normal", dtype)


@op("TruncatedNormal", inputs=["shape"], attrs={"dtype": REQUIRED, **_SEEDS}, ctx=True, stateful=True)
def truncated_normal(ctx, shape, *, dtype, seed, seed2):
    dims = _shape(shape)
    return _truncated(_stateful(ctx, seed, seed2, math.prod(dims) * 256), dims, dtype)


@op("RandomUniformInt", inputs=["shape", "minval", "maxval"], attrs=_SEEDS, ctx=True, stateful=True)
def random_uniform_int(ctx, shape, minval, maxval, *, seed, seed2):
    lo, hi = np.asarray(minval), np.asarray(maxval)
    if lo.shape != () or hi.shape != ():
        raise ExecutionError("minval and maxval must be scalars")
    dt = dtypes.from_numpy(lo.dtype)
    dims = _shape(shape)
    if math.prod(dims) == 0:
        return np.zeros(dims, dtype=dt.np)
    return _fixed(_stateful(ctx, seed, seed2, math.prod(dims) * 256), dims, "int", dt, lo[()], hi[()])


@op("Multinomial", inputs=["logits", "num_samples"], attrs={**_SEEDS, "output_dtype": dtypes.int64},
    ctx=True, stateful=True)
def multinomial(ctx, logits, num_samples, *, seed, seed2, output_dtype):
    lg, s = np.asarray(logits), np.asarray(num_samples)
    rows = lg.shape[0] if lg.ndim == 2 else 0
    n = int(s) if s.shape == () else 0
    # TF reserves 256 samples per element of a rows x 2*ceil4(num_samples) grid on CPU (two words per
    # double), nothing for an empty output
    reserve = rows * 2 * (-(-n // 4) * 4) * 256 if rows and n > 0 else 0
    return _multinomial(_stateful(ctx, seed, seed2, reserve), logits, num_samples, output_dtype)


@op("RandomShuffle", inputs=["value"], attrs=_SEEDS, ctx=True, stateful=True)
def random_shuffle(ctx, value, *, seed, seed2):
    a = np.asarray(value)
    if a.ndim == 0 or a.shape[0] <= 1:
        return a.copy()
    n = a.shape[0]
    gen = _stateful(ctx, seed, seed2, -(-(n - 1) // 4))
    if n >= 1 << 32:
        raise ExecutionError("RandomShuffle: too many rows")
    # TF's forward Fisher-Yates: position i swaps with i + sample % (n - i), one 32-bit sample each.
    words = gen.blocks(-(-(n - 1) // 4)).reshape(-1).tolist()
    perm = list(range(n))
    for i in range(n - 1):
        j = i + words[i] % (n - i)
        perm[i], perm[j] = perm[j], perm[i]
    return a[perm]


def _rng(ctx, seed: int, seed2: int) -> np.random.Generator:
    """The op's own stream when it has a seed, else the run's generator (or a fresh one)."""
    if seed or seed2:
        return np.random.default_rng([seed, seed2])
    return ctx.rng if ctx is not None and ctx.rng is not None else np.random.default_rng()


@op("RandomGamma", inputs=["shape", "alpha"], attrs=_SEEDS, ctx=True, stateful=True)
def random_gamma(ctx, shape, alpha, *, seed, seed2):
    a = np.asarray(alpha)
    dims = _shape(shape)
    if math.prod(dims) * max(a.size, 1) > _MAX_OUTPUT:
        raise ExecutionError("RandomGamma: output too large")
    rng = _rng(ctx, seed, seed2)
    return rng.standard_gamma(a.astype(np.float64), size=dims + a.shape).astype(a.dtype)


def _poisson(ctx, shape, rate, seed, seed2, out: np.dtype) -> np.ndarray:
    r = np.asarray(rate)
    dims = _shape(shape)
    if math.prod(dims) * max(r.size, 1) > _MAX_OUTPUT:
        raise ExecutionError("RandomPoisson: output too large")
    rng = _rng(ctx, seed, seed2)
    lam = r.astype(np.float64)
    bad = ~(lam >= 0) | ~np.isfinite(lam)
    samples = rng.poisson(np.where(bad, 0.0, lam), size=dims + r.shape).astype(np.float64)
    samples = np.where(np.broadcast_to(bad, samples.shape), np.nan, samples)
    if out.kind in "iu":
        samples = np.where(np.isnan(samples), 0, samples)
    return samples.astype(out)


@op("RandomPoisson", inputs=["shape", "rate"], attrs={**_SEEDS, "dtype": REQUIRED}, ctx=True, stateful=True)
def random_poisson(ctx, shape, rate, *, seed, seed2, dtype):
    return _poisson(ctx, shape, rate, seed, seed2, dtype.np)


@op("RandomPoissonV2", inputs=["shape", "rate"], attrs={**_SEEDS, "dtype": dtypes.int64}, ctx=True, stateful=True)
def random_poisson_v2(ctx, shape, rate, *, seed, seed2, dtype):
    return _poisson(ctx, shape, rate, seed, seed2, dtype.np)


# ---------------------------------------------------------------- stateless ops

@op("StatelessRandomUniform", inputs=["shape", "seed"], attrs={"dtype": dtypes.float32})
def stateless_random_uniform(shape, seed, *, dtype):
    return _fixed(_scramble_seed(seed), _shape(shape), "uniform", dtype)


@op("StatelessRandomNormal", inputs=["shape", "seed"], attrs={"dtype": dtypes.float32})
def stateless_random_normal(shape, seed, *, dtype):
    return _fixed(_scramble_seed(seed), _shape(shape), "normal", dtype)


@op("StatelessTruncatedNormal", inputs=["shape", "seed"], attrs={"dtype": dtypes.float32})
def stateless_truncated_normal(shape, seed, *, dtype):
    return _truncated(_scramble_seed(seed), _shape(shape), dtype)


def _int_bounds(minval, maxval) -> tuple[dtypes.DType, int, int]:
    lo, hi = np.asarray(minval), np.asarray(maxval)
    if lo.shape != () or hi.shape != ():
        raise ExecutionError(f"minval and maxval must be scalars, got shapes {list(lo.shape)} and {list(hi.shape)}")
    return dtypes.from_numpy(lo.dtype), int(lo[()]), int(hi[()])


def _stateless_int(gen: Philox, shape, minval, maxval, dtype: dtypes.DType | None) -> np.ndarray:
    dt, lo, hi = _int_bounds(minval, maxval)
    dims = _shape(shape)
    dt = dtype or dt
    if math.prod(dims) == 0:
        return np.zeros(dims, dtype=dt.np)
    return _fixed(gen, dims, "int", dt, lo, hi)


@op("StatelessRandomUniformInt", inputs=["shape", "seed", "minval", "maxval"], attrs={"dtype": None})
def stateless_random_uniform_int(shape, seed, minval, maxval, *, dtype):
    return _stateless_int(_scramble_seed(seed), shape, minval, maxval, dtype)


@op("StatelessRandomUniformFullInt", inputs=["shape", "seed"], attrs={"dtype": dtypes.uint64})
def stateless_random_uniform_full_int(shape, seed, *, dtype):
    return _fixed(_scramble_seed(seed), _shape(shape), "fullint", dtype)


@op("StatelessMultinomial", inputs=["logits", "num_samples", "seed"], attrs={"output_dtype": dtypes.int64})
def stateless_multinomial(logits, num_samples, seed, *, output_dtype):
    return _multinomial(_scramble_seed(seed), logits, num_samples, output_dtype)


@op("StatelessRandomUniformV2", inputs=["shape", "key", "counter", "alg"], attrs={"dtype": dtypes.float32})
def stateless_random_uniform_v2(shape, key, counter, alg, *, dtype):
    return _fixed(_key_counter(key, counter, alg), _shape(shape), "uniform", dtype)


@op("StatelessRandomNormalV2", inputs=["shape", "key", "counter", "alg"], attrs={"dtype": dtypes.float32})
def stateless_random_normal_v2(shape, key, counter, alg, *, dtype):
    return _fixed(_key_counter(key, counter, alg), _shape(shape), "normal", dtype)


@op("StatelessTruncatedNormalV2", inputs=["shape", "key", "counter", "alg"], attrs={"dtype": dtypes.float32})
def stateless_truncated_normal_v2(shape, key, counter, alg, *, dtype):
    return _truncated(_key_counter(key, counter, alg), _shape(shape), dtype)


@op("StatelessRandomUniformIntV2", inputs=["shape", "key", "counter", "alg", "minval", "maxval"])
def stateless_random_uniform_int_v2(shape, key, counter, alg, minval, maxval):
    return _stateless_int(_key_counter(key, counter, alg), shape, minval, maxval, None)


@op("StatelessRandomUniformFullIntV2", inputs=["shape", "key", "counter", "alg"], attrs={"dtype": dtypes.uint64})
def stateless_random_uniform_full_int_v2(shape, key, counter, alg, *, dtype):
    return _fixed(_key_counter(key, counter, alg), _shape(shape), "fullint", dtype)


def _key_counter_of(seed) -> tuple[np.ndarray, np.ndarray]:
    gen = _scramble_seed(seed)
    key = np.array([gen.key[0] | (gen.key[1] << 32)], dtype=np.uint64)
    counter = np.array([gen.counter & ((1 << 64) - 1), gen.counter >> 64], dtype=np.uint64)
    return key, counter


@op("StatelessRandomGetKeyCounter", inputs=["seed"])
def stateless_random_get_key_counter(seed):
    return _key_counter_of(seed)


@op("StatelessRandomGetAlg", inputs=[])
def stateless_random_get_alg():
    return np.array(1, dtype=np.int32)   # Philox, what TF picks on CPU


@op("StatelessRandomGetKeyCounterAlg", inputs=["seed"])
def stateless_random_get_key_counter_alg(seed):
    key, counter = _key_counter_of(seed)
    return key, counter, np.array(1, dtype=np.int32)


# ---------------------------------------------------------------- tf.random.Generator (state in a variable)

def _algorithm(alg) -> None:
    a = int(np.asarray(alg).reshape(()))
    if a == 2:
        raise UnsupportedError("the ThreeFry random algorithm is not supported (Philox only)")
    if a not in (1, 3):   # 3 = auto-select, which is Philox on CPU
        raise ExecutionError(f"Unsupported algorithm id: {a}")


def _rng_state(resource, alg, what: str) -> tuple[Variable, np.ndarray]:
    """The generator's state variable and its value: int64 [counter_lo, counter_hi, key] for Philox."""
    _algorithm(alg)
    var = resource_of(resource, Variable, what)
    state = np.asarray(var.read())
    if state.dtype != np.int64 or state.ndim != 1 or state.size < 3:
        raise ExecutionError(f"{what}: the RNG state must be an int64 vector of size >= 3, got "
                             f"{state.dtype} {list(state.shape)}")
    return var, state


def _philox_of_state(state: np.ndarray) -> Philox:
    c_lo, c_hi, key = (int(v) for v in state[:3].view(np.uint64).tolist())
    return Philox((key & _M32, key >> 32), c_lo | (c_hi << 64))


def _advance(var: Variable, state: np.ndarray, delta: int) -> None:
    """Skip `delta` outputs: TF moves the 128-bit counter by delta * 256 (the multiplication in uint64)."""
    c_lo, c_hi = (int(v) for v in state[:2].view(np.uint64).tolist())
    counter = ((c_lo | (c_hi << 64)) + ((delta * 256) & ((1 << 64) - 1))) % (1 << 128)
    new = state.copy()
    new[:2] = np.array([counter & ((1 << 64) - 1), counter >> 64], dtype=np.uint64).view(np.int64)
    var.assign(new)


@op("RngReadAndSkip", inputs=["resource", "alg", "delta"], stateful=True)
def rng_read_and_skip(resource, alg, delta):
    var, state = _rng_state(resource, alg, "RngReadAndSkip")
    _advance(var, state, int(np.asarray(delta).astype(np.uint64).reshape(())))
    return state[:3].copy()


@op("RngSkip", inputs=["resource", "algorithm", "delta"], stateful=True)
def rng_skip(resource, algorithm, delta):
    var, state = _rng_state(resource, algorithm, "RngSkip")
    _advance(var, state, int(np.asarray(delta).astype(np.int64).reshape(())) & ((1 << 64) - 1))
    return ()


def _stateful_fill(what: str, resource, algorithm, shape, fill) -> np.ndarray:
    """The Stateful* ops: outputs from the variable's current state, then the state skips them."""
    var, state = _rng_state(resource, algorithm, what)
    dims = _shape(shape)
    out = fill(_philox_of_state(state), dims)
    _advance(var, state, math.prod(dims))
    return out


@op("StatefulUniform", inputs=["resource", "algorithm", "shape"], attrs={"dtype": dtypes.float32}, stateful=True)
def stateful_uniform(resource, algorithm, shape, *, dtype):
    return _stateful_fill("StatefulUniform", resource, algorithm, shape,
                          lambda g, d: _fixed(g, d, "uniform", dtype))


@op("StatefulStandardNormalV2", inputs=["resource", "algorithm", "shape"], attrs={"dtype": dtypes.float32},
    stateful=True)
def stateful_standard_normal_v2(resource, algorithm, shape, *, dtype):
    return _stateful_fill("StatefulStandardNormalV2", resource, algorithm, shape,
                          lambda g, d: _fixed(g, d, "normal", dtype))


@op("StatefulTruncatedNormal", inputs=["resource", "algorithm", "shape"], attrs={"dtype": dtypes.float32},
    stateful=True)
def stateful_truncated_normal(resource, algorithm, shape, *, dtype):
    return _stateful_fill("StatefulTruncatedNormal", resource, algorithm, shape,
                          lambda g, d: _truncated(g, d, dtype))


@op("StatefulUniformInt", inputs=["resource", "algorithm", "shape", "minval", "maxval"],
    attrs={"dtype": dtypes.int64}, stateful=True)
def stateful_uniform_int(resource, algorithm, shape, minval, maxval, *, dtype):
    # TF 2.21's CPU kernel draws int32 outputs like int64 ones (two 32-bit words each), then narrows them
    lo, hi = (np.asarray(v).astype(np.int64) for v in (minval, maxval))
    return _stateful_fill("StatefulUniformInt", resource, algorithm, shape,
                          lambda g, d: _stateless_int(g, np.array(d, np.int64), lo, hi, dtypes.int64)
                          ).astype(np.asarray(minval).dtype)


@op("StatefulUniformFullInt", inputs=["resource", "algorithm", "shape"], attrs={"dtype": dtypes.uint64},
    stateful=True)
def stateful_uniform_full_int(resource, algorithm, shape, *, dtype):
    return _stateful_fill("StatefulUniformFullInt", resource, algorithm, shape,
                          lambda g, d: _fixed(g, d, "fullint", dtype))


# ---------------------------------------------------------------- parameterized truncated normal

class _Stream:
    """Philox blocks handed out one after another (a generator the kernel advances as it samples)."""

    def __init__(self, gen: Philox):
        self.gen = gen
        self.pos = 0
        self._buf = np.empty((0, 4), np.uint32)
        self._at = 0

    def block(self) -> np.ndarray:
        if self._at == len(self._buf):
            self._buf = self.gen.blocks(256, self.pos)
            self.pos += 256
            self._at = 0
        self._at += 1
        return self._buf[self._at - 1]

    def uniform(self, double: bool) -> list:
        b = self.block()
        if double:
            return _u64_to_double(b[0::2], b[1::2]).tolist()
        return _u32_to_float(b).tolist()

    def normal(self, double: bool) -> list:
        b = self.block()
        if double:
            return list(_box_muller_double(b[0:1], b[1:2], b[2:3], b[3:4]))
        d0, d1 = _box_muller_float(b[0:1], b[1:2])
        d2, d3 = _box_muller_float(b[2:3], b[3:4])
        return [float(d0[0]), float(d1[0]), float(d2[0]), float(d3[0])]


_PTN_MAX_ITERATIONS = 1000
_PTN_MAX_OUTPUT = 1 << 20   # the samplers are sequential Python loops


def _ptn_batch(stream: _Stream, count: int, mean, stddev, minval, maxval, double: bool) -> list:
    """`count` samples of one parameter set, TF's TruncatedNormalFunctor step by step (in the dtype T: T is
    float32 or float64, float16 computes in float32 here)."""
    T = np.float64 if double else np.float32
    mean, stddev, minval, maxval = T(mean), T(stddev), T(minval), T(maxval)
    if not (stddev > 0 and minval < maxval and (np.isfinite(minval) or np.isfinite(maxval))):
        raise ExecutionError("Invalid parameters")
    if (np.isinf(minval) and minval < 0) or maxval < mean:
        minval, maxval = maxval, minval
        stddev = -stddev
    with np.errstate(all="ignore"):
        norm_min = T((minval - mean) / stddev)
        norm_max = T((maxval - mean) / stddev)
        sqrt_factor = T(np.sqrt(norm_min * norm_min + T(4)))
        cutoff = T(T(2) * T(np.exp(T(0.5) + norm_min * (norm_min - sqrt_factor) / T(4))) / (norm_min + sqrt_factor))
        diff = T(norm_max - norm_min)
    out: list = []
    misses = 0
    if (norm_min < -1.3 and norm_max >= 0) or (norm_max > 1.3 and norm_min <= 0):
        while len(out) < count:
            for r in stream.normal(double):
                r = T(r)
                if norm_min <= r <= norm_max:
                    out.append(T(r * stddev + mean))
                    if len(out) >= count:
                        break
                    misses = 0
                else:
                    misses += 1
                    if misses > _PTN_MAX_ITERATIONS:
                        raise ExecutionError("TruncatedNormal randn rejection sampler failed to accept a sample.")
    elif diff < cutoff:
        plus = T(0) if norm_min < 0 else T(norm_min * norm_min)
        while len(out) < count:
            zs = [T(T(r) * diff + norm_min) for r in stream.uniform(double)]
            us = stream.uniform(double)
            for z, u in zip(zs, us):
                accept = T(u) <= T(np.exp(T((plus - z * z) / T(2))))
                if accept or misses + 1 >= _PTN_MAX_ITERATIONS:
                    if not accept:
                        raise ExecutionError("TruncatedNormal uniform rejection sampler failed to accept a sample.")
                    out.append(T(z * stddev + mean))
                    if len(out) >= count:
                        break
                    misses = 0
                else:
                    misses += 1
    else:
        alpha = T((norm_min + T(np.sqrt(norm_min * norm_min + T(4)))) / T(2))
        while len(out) < count:
            rand = stream.uniform(double)
            for i in range(0, len(rand), 2):
                z = T(-T(np.log(T(rand[i]))) / alpha + norm_min)
                x = T(alpha - z) if norm_min < alpha else T(norm_min - alpha)
                g = T(np.exp(T(-x * x / T(2))))
                accept = T(rand[i + 1]) <= g and z < norm_max
                if accept or misses + 1 >= _PTN_MAX_ITERATIONS:
                    if not accept:
                        raise ExecutionError("TruncatedNormal exponential distribution rejection sampler failed "
                                             "to accept a sample.")
                    out.append(T(z * stddev + mean))
                    if len(out) >= count:
                        break
                    misses = 0
                else:
                    misses += 1
    return out


@op("StatelessParameterizedTruncatedNormal", inputs=["shape", "seed", "means", "stddevs", "minvals", "maxvals"],
    attrs={"dtype": REQUIRED})
def stateless_parameterized_truncated_normal(shape, seed, means, stddevs, minvals, maxvals, *, dtype):
    """TF's TruncatedNormalFunctorV2 on one CPU shard (TF splits large outputs across threads, each
    skipping ahead in the stream: outputs of more than a few thousand elements may differ)."""
    dims = _shape(shape)
    params = [np.asarray(p) for p in (means, stddevs, minvals, maxvals)]
    try:
        bshape = np.broadcast_shapes(*(p.shape for p in params))
    except ValueError:
        raise ExecutionError("means, stddevs, minvals, maxvals must have compatible batch dimensions") from None
    if len(bshape) > len(dims) or tuple(dims[len(dims) - len(bshape):]) != bshape:
        raise ExecutionError("Shape passed in must end with broadcasted shape.")
    n = math.prod(dims)
    if n > _PTN_MAX_OUTPUT:
        raise ExecutionError(f"StatelessParameterizedTruncatedNormal: {n} samples is too many")
    batches = math.prod(bshape)
    per_batch = n // batches if batches else 0
    flat = [np.broadcast_to(p, bshape).reshape(-1) for p in params]
    stream = _Stream(_scramble_seed(seed))
    double = dtype.np == np.float64
    out = np.zeros((per_batch, batches), np.float64 if double else np.float32)
    for b in range(batches if per_batch else 0):
        out[:, b] = _ptn_batch(stream, per_batch, *(f[b] for f in flat), double)
    return out.reshape(dims).astype(dtype.np)


@op("ParameterizedTruncatedNormal", inputs=["shape", "means", "stdevs", "minvals", "maxvals"],
    attrs={**_SEEDS, "dtype": REQUIRED}, ctx=True, stateful=True)
def parameterized_truncated_normal(ctx, shape, means, stdevs, minvals, maxvals, *, seed, seed2, dtype):
    """TF's TruncatedNormalFunctor (V1) on one CPU shard: batches along the first dimension (or of 100 samples
    when all parameters are scalars), parameters per batch; the op's generator then skips what TF reserves."""
    dims = _shape(shape)
    if not dims:
        raise ExecutionError("Shape tensor must not be empty")
    params = [np.asarray(p).reshape(-1) if np.ndim(p) <= 1 else None for p in (means, stdevs, minvals, maxvals)]
    if any(p is None for p in params):
        raise ExecutionError("ParameterizedTruncatedNormal: parameters must be scalars or vectors")
    n = math.prod(dims)
    if n > _PTN_MAX_OUTPUT:
        raise ExecutionError(f"ParameterizedTruncatedNormal: {n} samples is too many")
    batches, per_batch = dims[0], n // dims[0] if dims[0] else 0
    if all(p.size == 1 for p in params) and np.ndim(minvals) == 0 and np.ndim(maxvals) == 0:
        batches, per_batch = -(-n // 100), 100
    elif any(p.size not in (1, batches) for p in params):
        raise ExecutionError("ParameterizedTruncatedNormal: parameters must have length 1 or shape[0]")
    reserve = batches * 2 * _PTN_MAX_ITERATIONS * (per_batch + 3) // 4
    stream = _Stream(_stateful(ctx, seed, seed2, reserve))
    double = dtype.np == np.float64
    out: list = []
    for b in range(batches):
        count = min((b + 1) * per_batch, n) - b * per_batch
        if count > 0:
            out.extend(_ptn_batch(stream, count, *(p[0 if p.size == 1 else b] for p in params), double))
    return np.array(out, dtype=np.float64 if double else np.float32).reshape(dims).astype(dtype.np)
