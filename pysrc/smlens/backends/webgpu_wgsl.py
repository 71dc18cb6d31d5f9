"""WGSL compute shaders for the webgpu backend, generated per (op, attrs, static shapes).

Every shape, stride and attribute is baked into the shader text as a constant, so each pipeline is
specialised (the JS runtime caches pipelines by their text). All tensors are float32, row-major,
channels-last (NHWC, filters HWIO / HWCM). One invocation computes several outputs where it can
(4 channels as a vec4; 4x4 tiles in matmul) and reads vec4s from storage where layouts allow — on
the software adapter (SwiftShader) that matters more than shared-memory tiling, which is slow there.

Each generator returns a `Shader`: the WGSL text, the workgroup grid and the number of bindings.
Bindings are always: inputs in order, then the output (read_write) last.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

WG = 64            # invocations per workgroup
MAX_GROUPS = 65535  # per grid dimension (WebGPU's default limit)


@dataclass(frozen=True)
class Shader:
    wgsl: str
    groups: tuple[int, int, int]
    label: str = ""   # the generator's name, for GPU profiles


def _grid(total: int) -> tuple[tuple[int, int, int], int]:
    """Workgroup grid for `total` invocations and the x-stride (invocations per grid row)."""
    groups = max(1, -(-total // WG))
    if groups <= MAX_GROUPS:
        return (groups, 1, 1), groups * WG
    rows = -(-groups // MAX_GROUPS)
    return (MAX_GROUPS, rows, 1), MAX_GROUPS * WG


def _f(x: float) -> str:
    """A WGSL f32 literal."""
    if math.isinf(x):
        return "bitcast<f32>(POS_INF)" if x > 0 else "bitcast<f32>(NEG_INF)"
    r = repr(float(x))
    if "e" in r or "E" in r:
        mant, exp = r.lower().split("e")
        if "." not in mant:
            mant += ".0"
        return f"{mant}e{exp}f"
    return r + "f"


def _bindings(inputs: list[str], out_type: str) -> str:
    lines = [f"@group(0) @binding({i}) var<storage, read> {name}: array<{typ}>;"
             for i, (name, typ) in enumerate(x.split(":") for x in inputs)]
    lines.append(f"@group(0) @binding({len(inputs)}) var<storage, read_write> out: array<{out_type}>;")
    return "\n".join(lines)


def _main(total: int, body: str, helpers: str = "") -> tuple[str, tuple[int, int, int]]:
    groups, xstride = _grid(total)
    if "_INF" in body:  # a private var keeps infinities out of WGSL's constant evaluation (which rejects them)
        helpers += "\nvar<private> NEG_INF: u32 = 0xff800000u;\nvar<private> POS_INF: u32 = 0x7f800000u;\n"
    text = (f"{helpers}\n@compute @workgroup_size({WG})\n"
            "fn main(@builtin(global_invocation_id) gid: vec3<u32>) {\n"
            f"  let idx = gid.x + gid.y * {xstride}u;\n"
            f"  if (idx >= {total}u) {{ return; }}\n{body}\n}}\n")
    return text, groups


# --------------------------------------------------------------------------- activations

_ERF = """
fn erf_approx(x: f32) -> f32 {
  // |x| < 0.5: Maclaurin series (truncation < 2e-8); otherwise Abramowitz & Stegun 7.1.28
  // (absolute error <= 3e-7 where erf >= 0.52, i.e. relative error < 6e-7).
  let a = abs(x);
  if (a < 0.5f) {
    let t = x * x;
    return 1.1283791670955126f * x * (1.0f + t * (-0.3333333333333333f + t * (0.1f + t * (-0.023809523809523808f
           + t * (0.004629629629629629f + t * (-0.0007575757575757576f))))));
  }
  let p = 1.0f + a * (0.0705230784f + a * (0.0422820123f + a * (0.0092705272f + a * (0.0001520143f
          + a * (0.0002765672f + a * 0.0000430638f)))));
  let p2 = p * p;
  let p4 = p2 * p2;
  let p8 = p4 * p4;
  let r = 1.0f - 1.0f / (p8 * p8);
  return select(-r, r, x >= 0.0f);
}
"""

# name -> WGSL expression of `v` (a scalar or vecN), with T the value's type
_UNARY = {
    "Identity": "@",
    "Relu": "max(@, T(0.0f))",
    "Relu6": "clamp(@, T(0.0f), T(6.0f))",
    "Elu": "select(@, exp(@) - T(1.0f), @ < T(0.0f))",
    "Selu": "select(T(1.0507009873554805f) * @, T(1.7580993408473766f) * (exp(@) - T(1.0f)), @ < T(0.0f))",
    "Sigmoid": "T(1.0f) / (T(1.0f) + exp(-@))",
    "Tanh": "tanh(clamp(@, T(-15.0f), T(15.0f)))",
    "Exp": "exp(@)",
    "Log": "log(@)",
    "Sqrt": "sqrt(@)",
    "Rsqrt": "inverseSqrt(@)",
    "Neg": "-@",
    "Abs": "abs(@)",
    "Square": "@ * @",
    "Reciprocal": "T(1.0f) / @",
    "Inv": "T(1.0f) / @",
    "Floor": "floor(@)",
    "Ceil": "ceil(@)",
    "Round": "round(@)",   # WGSL rounds half to even, as TF's Round does
    "Sign": "sign(@)",
    "Softplus": "select(@ + log(T(1.0f) + exp(-@)), log(T(1.0f) + exp(@)), @ < T(0.0f))",
    "Softsign": "@ / (T(1.0f) + abs(@))",
    # no Sin/Cos: WGSL allows them an absolute error of 2^-11, too coarse for TF's float32 results
    "Erf": "ERF(@)",
    "GeluExact": "T(0.5f) * @ * (T(1.0f) + ERF(@ * T(0.70710678118654752f)))",
    "GeluApproximate": ("T(0.5f) * @ * (T(1.0f) + tanh(clamp(T(0.7978845608028654f) * (@ + T(0.044715f) * @ * @ * @),"
                        " T(-15.0f), T(15.0f))))"),
}
UNARY_OPS = frozenset(_UNARY) | {"LeakyRelu"}


def _unary_expr(name: str, v: str, typ: str, alpha: float = 0.2) -> str:
    if name == "LeakyRelu":
        e = f"select(@ * T({_f(alpha)}), @, @ > T(0.0f))"
    else:
        e = _UNARY[name]
    if "ERF" in e:
        erf = "erf_approx" if typ == "f32" else "erf4"
        e = e.replace("ERF", erf)
    return "(" + e.replace("T(", f"{typ}(").replace("@", f"({v})") + ")"


def _uses_erf(names) -> bool:
    return any(n in ("Erf", "GeluExact") for n in names)


def _erf_helpers(names) -> str:
    if not _uses_erf(names):
        return ""
    return _ERF + ("fn erf4(v: vec4<f32>) -> vec4<f32> { return vec4<f32>(erf_approx(v.x), erf_approx(v.y), "
                   "erf_approx(v.z), erf_approx(v.w)); }\n")


# --------------------------------------------------------------------------- fused epilogues

@dataclass(frozen=True)
class Epilogue:
    """The fused_ops of a _Fused* op, with per-channel arguments packed in one `params` buffer.

    steps: ("bias", offset) | ("bn", offset_scale, offset_offset, offset_mean, offset_var) | ("add",) |
           ("act", name). Offsets are element offsets into params (multiples of the channel count)."""
    steps: tuple
    epsilon: float = 1e-4
    alpha: float = 0.2

    @property
    def has_params(self) -> bool:
        return any(s[0] in ("bias", "bn") for s in self.steps)

    @property
    def has_residual(self) -> bool:
        return any(s[0] == "add" for s in self.steps)

    def code(self, typ: str, vec: int, ch: str, out_index: str) -> str:
        """WGSL statements updating `v` (type `typ`); `ch` = index of the first channel; params and the
        residual are read as `typ` too (vec4 reads need channel offsets divisible by 4)."""
        lines = []

        def param(off: int) -> str:
            if vec == 4:
                return f"params[({off}u + {ch}) / 4u]"
            return f"params[{off}u + {ch}]"
        for s in self.steps:
            if s[0] == "bias":
                lines.append(f"v = v + {param(s[1])};")
            elif s[0] == "bn":
                lines.append(f"v = (v - {param(s[3])}) * ({param(s[1])} * inverseSqrt({param(s[4])} + "
                             f"{typ}({_f(self.epsilon)}))) + {param(s[2])};")
            elif s[0] == "add":
                lines.append(f"v = v + res[{out_index}];")
            else:
                lines.append(f"v = {_unary_expr(s[1], 'v', typ, self.alpha)};")
        return "\n    ".join(lines)

    def helpers(self) -> str:
        return _erf_helpers([s[1] for s in self.steps if s[0] == "act"])

    def bindings(self, typ: str) -> list[str]:
        out = []
        if self.has_params:
            out.append(f"params:{typ}")
        if self.has_residual:
            out.append(f"res:{typ}")
        return out


NO_EPILOGUE = Epilogue(())


# --------------------------------------------------------------------------- convolutions

def _window_body(h: int, w: int, kh: int, kw: int, oh: int, ow: int, og: int, strides: tuple[int, int],
                 dilations: tuple[int, int], pads: tuple[int, int], typ: str, vec: int, ep: Epilogue,
                 taps: str) -> str:
    """The main body of the direct convolutions: output element `idx` (channel group g, pixel oy/ox, batch
    row nb) accumulated over the in-bounds window positions (ih, iw), where `taps` adds one input pixel's
    products to `acc`; then the epilogue."""
    sh, sw = strides
    dh, dw = dilations
    pt, pl = pads
    return (f"  let g = idx % {og}u;\n  var t = idx / {og}u;\n"
            f"  let ox = i32(t % {ow}u); t = t / {ow}u;\n"
            f"  let oy = i32(t % {oh}u);\n  let nb = (t / {oh}u) * {h}u;\n"
            f"  var acc = {typ}(0.0f);\n"
            f"  for (var ky = 0; ky < {kh}; ky++) {{\n"
            f"    let ih = oy * {sh} + ky * {dh} - {pt};\n"
            f"    if (ih < 0 || ih >= {h}) {{ continue; }}\n"
            f"    for (var kx = 0; kx < {kw}; kx++) {{\n"
            f"      let iw = ox * {sw} + kx * {dw} - {pl};\n"
            f"      if (iw < 0 || iw >= {w}) {{ continue; }}\n"
            f"{taps}    }}\n  }}\n"
            f"  var v = acc;\n    {ep.code(typ, vec, f'g * {vec}u', 'idx')}\n"
            "  out[idx] = v;")


def conv2d(n: int, h: int, w: int, c: int, kh: int, kw: int, o: int, oh: int, ow: int,
           strides: tuple[int, int], dilations: tuple[int, int], pads: tuple[int, int],
           ep: Epilogue = NO_EPILOGUE) -> Shader:
    """x [n,h,w,c] * filter [kh,kw,c,o] -> [n,oh,ow,o]; pads = (top, left)."""
    vec = 4 if o % 4 == 0 else 1
    typ = "vec4<f32>" if vec == 4 else "f32"
    og = o // vec
    cvec = c % 4 == 0
    xb = "x:vec4<f32>" if cvec else "x:f32"
    if cvec:
        inner = (f"      let xb = u32(((i32(nb) + ih) * {w} + iw) * {c // 4});\n"
                 f"      let wb = u32((ky * {kw} + kx) * {c}) * {og}u + g;\n"
                 f"      for (var c4 = 0u; c4 < {c // 4}u; c4++) {{\n"
                 "        let xv = x[xb + c4];\n"
                 f"        let wi = wb + c4 * {4 * og}u;\n"
                 f"        acc = acc + xv.x * wt[wi] + xv.y * wt[wi + {og}u] + xv.z * wt[wi + {2 * og}u]"
                 f" + xv.w * wt[wi + {3 * og}u];\n"
                 "      }\n")
    else:
        inner = (f"      let xb = u32(((i32(nb) + ih) * {w} + iw) * {c});\n"
                 f"      let wb = u32((ky * {kw} + kx) * {c}) * {og}u + g;\n"
                 f"      for (var ci = 0u; ci < {c}u; ci++) {{\n"
                 f"        acc = acc + x[xb + ci] * wt[wb + ci * {og}u];\n"
                 "      }\n")
    body = _window_body(h, w, kh, kw, oh, ow, og, strides, dilations, pads, typ, vec, ep, inner)
    text, groups = _main(n * oh * ow * og, body, ep.helpers())
    binds = _bindings([xb, f"wt:{typ}"] + ep.bindings(typ), typ)
    return Shader(binds + "\n" + text, groups, "conv2d")


def depthwise2d(n: int, h: int, w: int, c: int, kh: int, kw: int, m: int, oh: int, ow: int,
                strides: tuple[int, int], dilations: tuple[int, int], pads: tuple[int, int],
                ep: Epilogue = NO_EPILOGUE) -> Shader:
    """x [n,h,w,c] (depthwise) filter [kh,kw,c,m] -> [n,oh,ow,c*m]; output channel = ci*m + mi."""
    o = c * m
    vec = 4 if (m == 1 and c % 4 == 0) else 1
    typ = "vec4<f32>" if vec == 4 else "f32"
    og = o // vec
    if vec == 4 and kw * dilations[1] <= 16:
        return _depthwise2d_row(n, h, w, c, kh, kw, oh, ow, strides, dilations, pads, ep)
    if vec == 4:
        load = (f"      acc = acc + x[u32(((i32(nb) + ih) * {w} + iw) * {og}) + g] * "
                f"wt[u32(ky * {kw} + kx) * {og}u + g];\n")
    else:
        load = (f"      acc = acc + x[u32(((i32(nb) + ih) * {w} + iw) * {c}) + g / {m}u] * "
                f"wt[u32(ky * {kw} + kx) * {o}u + g];\n")
    body = _window_body(h, w, kh, kw, oh, ow, og, strides, dilations, pads, typ, vec, ep, load)
    text, groups = _main(n * oh * ow * og, body, ep.helpers())
    binds = _bindings([f"x:{typ}", f"wt:{typ}"] + ep.bindings(typ), typ)
    return Shader(binds + "\n" + text, groups, "depthwise2d")


DW_PIXELS = 4  # output pixels along a row per invocation in the vec4 depthwise kernel


def _depthwise2d_row(n, h, w, c, kh, kw, oh, ow, strides, dilations, pads, ep: Epilogue) -> Shader:
    """Depthwise, channel multiplier 1, c % 4 == 0: each invocation computes DW_PIXELS neighbouring
    output pixels of one row for 4 channels, so overlapping windows load each input vec4 once and each
    filter tap once per kernel row (stride 1, 3x3: 6 + 3 loads per row instead of 24)."""
    P = DW_PIXELS
    og = c // 4
    sh, sw = strides
    dh, dw = dilations
    pt, pl = pads
    owp = -(-ow // P)
    cols = sorted({p * sw + kx * dw for p in range(P) for kx in range(kw)})
    row = []
    for kx in range(kw):
        row.append(f"      let w{kx} = wt[u32(ky * {kw} + {kx}) * {og}u + g];")
    for j in cols:
        row.append(f"      let iw{j} = ox0 * {sw} + {j - pl};")
        row.append(f"      var x{j} = vec4<f32>(0.0f);")
        row.append(f"      if (iw{j} >= 0 && iw{j} < {w}) {{ x{j} = x[u32(rb + iw{j}) * {og}u + g]; }}")
    for p in range(P):
        terms = " + ".join(f"x{p * sw + kx * dw} * w{kx}" for kx in range(kw))
        row.append(f"      acc{p} = acc{p} + {terms};")
    stores = []
    for p in range(P):
        oi = f"base + {p * og}u"
        stores.append(f"  if (ox0 + {p} < {ow}) {{\n    var v = acc{p};\n    {ep.code('vec4<f32>', 4, 'g * 4u', oi)}\n"
                      f"    out[{oi}] = v;\n  }}")
    body = (f"  let g = idx % {og}u;\n  var t = idx / {og}u;\n"
            f"  let ox0 = i32(t % {owp}u) * {P}; t = t / {owp}u;\n"
            f"  let oy = i32(t % {oh}u);\n  let nb = t / {oh}u;\n"
            + "".join(f"  var acc{p} = vec4<f32>(0.0f);\n" for p in range(P))
            + f"  for (var ky = 0; ky < {kh}; ky++) {{\n"
            f"    let ih = oy * {sh} + ky * {dh} - {pt};\n"
            f"    if (ih >= 0 && ih < {h}) {{\n      let rb = (i32(nb) * {h} + ih) * {w};\n"
            + "\n".join(row) + "\n    }\n  }\n"
            f"  let base = ((nb * {oh}u + u32(oy)) * {ow}u + u32(ox0)) * {og}u + g;\n"
            + "\n".join(stores))
    text, groups = _main(n * oh * owp * og, body, ep.helpers())
    binds = _bindings(["x:vec4<f32>", "wt:vec4<f32>"] + ep.bindings("vec4<f32>"), "vec4<f32>")
    return Shader(binds + "\n" + text, groups, "depthwise2d")


# --------------------------------------------------------------------------- matmul

def _batch_offsets(out_batch: tuple, a_batch: tuple, b_batch: tuple, a_mat: int, b_mat: int) -> str:
    """WGSL computing `ao`/`bo` (element offsets of the batch's matrices) from `bi`, the flat batch index
    of the output, with numpy broadcasting of the batch dims."""
    r = len(out_batch)
    a_batch = (1,) * (r - len(a_batch)) + tuple(a_batch)
    b_batch = (1,) * (r - len(b_batch)) + tuple(b_batch)
    lines = ["  var ao = 0u;", "  var bo = 0u;", "  var bt = bi;"]
    sa, sb = a_mat, b_mat
    stride_a, stride_b = [], []
    for d in range(r - 1, -1, -1):
        stride_a.append(sa if a_batch[d] != 1 else 0)
        stride_b.append(sb if b_batch[d] != 1 else 0)
        sa *= a_batch[d]
        sb *= b_batch[d]
    for k, d in enumerate(range(r - 1, -1, -1)):
        lines.append(f"  let d{d} = bt % {out_batch[d]}u; bt = bt / {out_batch[d]}u;")
        if stride_a[k]:
            lines.append(f"  ao = ao + d{d} * {stride_a[k]}u;")
        if stride_b[k]:
            lines.append(f"  bo = bo + d{d} * {stride_b[k]}u;")
    return "\n".join(lines)


def matmul(out_batch: tuple, a_batch: tuple, b_batch: tuple, m: int, k: int, n: int,
           transpose_a: bool, transpose_b: bool, ep: Epilogue = NO_EPILOGUE) -> Shader:
    """[..., m, k] x [..., k, n] -> [out_batch..., m, n] (a is stored [.., k, m] when transpose_a, b is
    [.., n, k] when transpose_b). Each invocation computes a 4x4 tile; vec4 loads and stores along n
    when b is [k, n] with n % 4 == 0. The epilogue's channel is n."""
    nb = math.prod(out_batch) if out_batch else 1
    tm, tn = -(-m // 4), -(-n // 4)
    fast = n % 4 == 0 and not transpose_b
    # a(row, kk) element offset
    a_at = (lambda r, kk: f"ao + ({kk}) * {m}u + ({r})") if transpose_a else (lambda r, kk: f"ao + ({r}) * {k}u + ({kk})")
    rows = "\n".join(f"  let r{i} = min(m0 + {i}u, {m - 1}u);" for i in range(4))
    if fast:
        bload = f"    let bv = b[(bo + kk * {n}u) / 4u + tj];\n"
    elif transpose_b:
        cols = [f"b[bo + min(n0 + {j}u, {n - 1}u) * {k}u + kk]" for j in range(4)]
        bload = f"    let bv = vec4<f32>({', '.join(cols)});\n"
    else:
        cols = [f"b[bo + kk * {n}u + min(n0 + {j}u, {n - 1}u)]" for j in range(4)]
        bload = f"    let bv = vec4<f32>({', '.join(cols)});\n"
    accs = "\n".join(f"  var acc{i} = vec4<f32>(0.0f);" for i in range(4))
    fma = "".join(f"    acc{i} = acc{i} + a[{a_at(f'r{i}', 'kk')}] * bv;\n" for i in range(4))
    if fast:
        store = "".join(
            f"  if (m0 + {i}u < {m}u) {{\n    var v = acc{i};\n    {ep.code('vec4<f32>', 4, 'n0', f'oo + (m0 + {i}u) * {n // 4}u + tj')}\n"
            f"    out[oo + (m0 + {i}u) * {n // 4}u + tj] = v;\n  }}\n" for i in range(4))
        out_type, b_type, oo = "vec4<f32>", "vec4<f32>", f"bi * {m * n // 4}u"
    else:
        store = ""
        for i in range(4):
            for j in range(4):
                comp = "xyzw"[j]
                oi = f"oo + (m0 + {i}u) * {n}u + n0 + {j}u"
                store += (f"  if (m0 + {i}u < {m}u && n0 + {j}u < {n}u) {{\n    var v = acc{i}.{comp};\n"
                          f"    {ep.code('f32', 1, f'n0 + {j}u', oi)}\n    out[{oi}] = v;\n  }}\n")
        out_type, b_type, oo = "f32", "f32", f"bi * {m * n}u"
    avec = fast and not transpose_a and k % 4 == 0
    if avec:
        # a read as vec4 along k too: per 4 k-steps 4 + 4 vec4 loads feed 64 multiply-adds
        loop = (f"  for (var k4 = 0u; k4 < {k // 4}u; k4++) {{\n"
                + "".join(f"    let a{i} = a[(ao + r{i} * {k}u) / 4u + k4];\n" for i in range(4))
                + "".join(f"    let b{j} = b[(bo + (k4 * 4u + {j}u) * {n}u) / 4u + tj];\n" for j in range(4))
                + "".join(f"    acc{i} = acc{i} + a{i}.x * b0 + a{i}.y * b1 + a{i}.z * b2 + a{i}.w * b3;\n"
                          for i in range(4))
                + "  }\n")
        a_type = "vec4<f32>"
    else:
        loop = f"  for (var kk = 0u; kk < {k}u; kk++) {{\n{bload}{fma}  }}\n"
        a_type = "f32"
    body = (f"  let tj = idx % {tn}u;\n  var t = idx / {tn}u;\n  let ti = t % {tm}u;\n  let bi = t / {tm}u;\n"
            f"  let m0 = ti * 4u;\n  let n0 = tj * 4u;\n"
            f"{_batch_offsets(tuple(out_batch), tuple(a_batch), tuple(b_batch), m * k, k * n)}\n"
            f"{rows}\n{accs}\n  let oo = {oo};\n{loop}{store}")
    text, groups = _main(nb * tm * tn, body, ep.helpers())
    binds = _bindings([f"a:{a_type}", f"b:{b_type}"] + ep.bindings(out_type), out_type)
    return Shader(binds + "\n" + text, groups, "matmul")


# --------------------------------------------------------------------------- pooling

def pool2d(kind: str, n: int, h: int, w: int, c: int, kh: int, kw: int, oh: int, ow: int,
           strides: tuple[int, int], pads: tuple[int, int]) -> Shader:
    """MaxPool / AvgPool over NHWC; padding never enters a max, and an average divides by the number
    of window elements inside the input (TF's rule)."""
    vec = 4 if c % 4 == 0 else 1
    typ = "vec4<f32>" if vec == 4 else "f32"
    cg = c // vec
    sh, sw = strides
    pt, pl = pads
    init = f"{typ}(bitcast<f32>(NEG_INF))" if kind == "max" else f"{typ}(0.0f)"
    upd = "acc = max(acc, xv);" if kind == "max" else "acc = acc + xv;"
    fin = "out[idx] = acc;" if kind == "max" else "out[idx] = acc / f32(cnt);"
    body = (f"  let g = idx % {cg}u;\n  var t = idx / {cg}u;\n"
            f"  let ox = i32(t % {ow}u); t = t / {ow}u;\n"
            f"  let oy = i32(t % {oh}u);\n  let nb = i32(t / {oh}u) * {h};\n"
            f"  var acc = {init};\n  var cnt = 0u;\n"
            f"  let y0 = max(oy * {sh} - {pt}, 0);\n  let y1 = min(oy * {sh} - {pt} + {kh}, {h});\n"
            f"  let x0 = max(ox * {sw} - {pl}, 0);\n  let x1 = min(ox * {sw} - {pl} + {kw}, {w});\n"
            "  for (var iy = y0; iy < y1; iy++) {\n    for (var ix = x0; ix < x1; ix++) {\n"
            f"      let xv = x[u32(((nb + iy) * {w} + ix) * {cg}) + g];\n      {upd}\n      cnt = cnt + 1u;\n"
            f"    }}\n  }}\n  {fin}")
    text, groups = _main(n * oh * ow * cg, body)
    return Shader(_bindings([f"x:{typ}"], typ) + "\n" + text, groups, "pool2d")


# --------------------------------------------------------------------------- elementwise

_BINARY = {
    "Add": "a + b", "AddV2": "a + b", "Sub": "a - b", "Mul": "a * b", "RealDiv": "a / b", "Div": "a / b",
    "Maximum": "max(a, b)", "Minimum": "min(a, b)", "SquaredDifference": "(a - b) * (a - b)",
    "Pow": "pow(a, b)", "DivNoNan": "select(a / b, T(0.0f), b == T(0.0f))",
    "BiasAdd": "a + b",
}
BINARY_OPS = frozenset(_BINARY)


def _strides(shape: tuple) -> list[int]:
    out, s = [], 1
    for d in reversed(shape):
        out.append(s)
        s *= d
    return out[::-1]


def _broadcast_index(out_shape: tuple, in_shape: tuple, var: str) -> str:
    """WGSL expression: the flat index into an input of shape in_shape (numpy-broadcast to out_shape)
    for the output's flat index `var`."""
    r = len(out_shape)
    ins = (1,) * (r - len(in_shape)) + tuple(in_shape)
    if tuple(ins) == tuple(out_shape):
        return var
    if math.prod(ins) == 1:
        return "0u"
    ostr, istr = _strides(tuple(out_shape)), _strides(ins)
    terms = []
    for d in range(r):
        if ins[d] == 1 or out_shape[d] == 1:
            continue
        terms.append(f"(({var} / {ostr[d]}u) % {out_shape[d]}u) * {istr[d]}u")
    return " + ".join(terms) if terms else "0u"


def binary(op: str, out_shape: tuple, a_shape: tuple, b_shape: tuple) -> Shader:
    total = math.prod(out_shape)
    r = len(out_shape)
    same = lambda s: (1,) * (r - len(s)) + tuple(s) == tuple(out_shape)  # noqa: E731
    if total % 4 == 0 and same(a_shape) and same(b_shape):
        expr = _BINARY[op].replace("T(", "vec4<f32>(")
        body = f"  let a = x0[idx];\n  let b = x1[idx];\n  out[idx] = {expr};"
        text, groups = _main(total // 4, body)
        return Shader(_bindings(["x0:vec4<f32>", "x1:vec4<f32>"], "vec4<f32>") + "\n" + text, groups, "binary")
    expr = _BINARY[op].replace("T(", "f32(")
    body = (f"  let a = x0[{_broadcast_index(out_shape, a_shape, 'idx')}];\n"
            f"  let b = x1[{_broadcast_index(out_shape, b_shape, 'idx')}];\n  out[idx] = {expr};")
    text, groups = _main(total, body)
    return Shader(_bindings(["x0:f32", "x1:f32"], "f32") + "\n" + text, groups, "binary")


def unary(names: tuple, total: int, alpha: float = 0.2) -> Shader:
    """A chain of unary ops applied in order (one op is a chain of one)."""
    vec = 4 if total % 4 == 0 else 1
    typ = "vec4<f32>" if vec == 4 else "f32"
    lines = "".join(f"  v = {_unary_expr(nm, 'v', typ, alpha)};\n" for nm in names)
    body = f"  var v = x[idx];\n{lines}  out[idx] = v;"
    text, groups = _main(total // vec, body, _erf_helpers(names))
    return Shader(_bindings([f"x:{typ}"], typ) + "\n" + text, groups, "unary")


# --------------------------------------------------------------------------- data movement

def transpose(in_shape: tuple, perm: tuple) -> Shader:
    out_shape = tuple(in_shape[p] for p in perm)
    total = math.prod(out_shape)
    istr = _strides(tuple(in_shape))
    ostr = _strides(out_shape)
    terms = [f"((idx / {ostr[d]}u) % {out_shape[d]}u) * {istr[perm[d]]}u" for d in range(len(perm))
             if out_shape[d] != 1]
    body = f"  out[idx] = x[{' + '.join(terms) if terms else '0u'}];"
    text, groups = _main(total, body)
    return Shader(_bindings(["x:f32"], "f32") + "\n" + text, groups, "transpose")


def copy_into(outer: int, inner_in: int, inner_out: int, offset: int) -> Shader:
    """Concat helper: out[o, offset + i] = x[o, i] for o < outer, i < inner_in (rows of inner_out)."""
    total = outer * inner_in
    body = (f"  let o = idx / {inner_in}u;\n  let i = idx % {inner_in}u;\n"
            f"  out[o * {inner_out}u + {offset}u + i] = x[idx];")
    text, groups = _main(total, body)
    return Shader(_bindings(["x:f32"], "f32") + "\n" + text, groups, "copy_into")


# --------------------------------------------------------------------------- reductions

def reduce(kind: str, in_shape: tuple, axes: tuple) -> Shader:
    """Sum / Mean / Max / Min / Prod over `axes` of in_shape; output = the kept dims in order
    (keep_dims only changes the shape, not the data)."""
    r = len(in_shape)
    axes = tuple(sorted(set(a % r for a in axes))) if r else ()
    kept = [d for d in range(r) if d not in axes]
    istr = _strides(tuple(in_shape))
    total = math.prod(in_shape[d] for d in kept)
    count = math.prod(in_shape[d] for d in axes)
    kept_shape = [in_shape[d] for d in kept]
    kstr = _strides(tuple(kept_shape))
    base = " + ".join(f"((idx / {kstr[i]}u) % {kept_shape[i]}u) * {istr[d]}u" for i, d in enumerate(kept)) or "0u"
    rshape = [in_shape[d] for d in axes]
    rstr = _strides(tuple(rshape))
    contiguous = axes == tuple(range(r - len(axes), r))
    if contiguous:
        off = "j"
    else:
        off = " + ".join(f"((j / {rstr[i]}u) % {rshape[i]}u) * {istr[d]}u" for i, d in enumerate(axes)) or "0u"
    init = {"sum": "0.0f", "mean": "0.0f", "prod": "1.0f",
            "max": "bitcast<f32>(NEG_INF)", "min": "bitcast<f32>(POS_INF)"}[kind]
    step = {"sum": "acc = acc + xv;", "mean": "acc = acc + xv;", "prod": "acc = acc * xv;",
            "max": "acc = max(acc, xv);", "min": "acc = min(acc, xv);"}[kind]
    fin = f"acc / {_f(float(count))}" if kind == "mean" and count else "acc"
    body = (f"  let b = {base};\n  var acc = {init};\n"
            f"  for (var j = 0u; j < {count}u; j++) {{\n    let xv = x[b + {off}];\n    {step}\n  }}\n"
            f"  out[idx] = {fin};")
    text, groups = _main(total, body)
    return Shader(_bindings(["x:f32"], "f32") + "\n" + text, groups, "reduce")


def softmax(rows: int, n: int, log: bool = False) -> Shader:
    """Softmax / LogSoftmax over the last axis (rows of n), max-subtracted."""
    fin = ("    out[b + j] = (x[b + j] - mx) - log(s);" if log else "    out[b + j] = exp(x[b + j] - mx) / s;")
    body = (f"  let b = idx * {n}u;\n  var mx = bitcast<f32>(NEG_INF);\n"
            f"  for (var j = 0u; j < {n}u; j++) {{ mx = max(mx, x[b + j]); }}\n"
            f"  var s = 0.0f;\n  for (var j = 0u; j < {n}u; j++) {{ s = s + exp(x[b + j] - mx); }}\n"
            f"  for (var j = 0u; j < {n}u; j++) {{\n{fin}\n  }}")
    text, groups = _main(rows, body)
    return Shader(_bindings(["x:f32"], "f32") + "\n" + text, groups, "softmax")


def pad(in_shape: tuple, pads: tuple, value: float) -> Shader:
    """Constant padding: pads = ((before, after), ...) per dim, all >= 0."""
    out_shape = tuple(d + a + b for d, (a, b) in zip(in_shape, pads))
    total = math.prod(out_shape)
    ostr, istr = _strides(out_shape), _strides(tuple(in_shape))
    lines = ["  var inside = true;", "  var src = 0u;"]
    for d, (a, _) in enumerate(pads):
        lines.append(f"  let c{d} = i32((idx / {ostr[d]}u) % {out_shape[d]}u) - {a};")
        lines.append(f"  inside = inside && c{d} >= 0 && c{d} < {in_shape[d]};")
        lines.append(f"  src = src + u32(max(c{d}, 0)) * {istr[d]}u;")
    lines.append(f"  if (inside) {{ out[idx] = x[src]; }} else {{ out[idx] = {_f(value)}; }}")
    text, groups = _main(total, "\n".join(lines))
    return Shader(_bindings(["x:f32"], "f32") + "\n" + text, groups, "pad")
