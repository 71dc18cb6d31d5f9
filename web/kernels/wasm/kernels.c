/* smlens WebAssembly SIMD128 kernels (float32), one freestanding wasm32 module.
 *
 * The module imports its memory (in the page: Pyodide's own WebAssembly.Memory), so every pointer
 * argument is an address of a numpy buffer and kernels work in place. Rules that make this safe:
 *   - no data segments (they would be written into Pyodide's memory at instantiation): no static data;
 *   - no shadow stack (its link-time address lies inside Pyodide's heap): no arrays or address-taken
 *     locals, only values that live in wasm locals; tests/test_wasm_module.py checks the module;
 *   - no allocation: scratch space is passed in by the caller.
 * Layouts are channels-last (NHWC); the Python side (pysrc/smlens/backends/wasm.py) transposes NCHW.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name))) __attribute__((used))
#define INLINE static inline __attribute__((always_inline))

/* Epilogue applied to every conv/matmul/depthwise output: y*scale + shift (bias and folded batch
 * norm), residual add before or after the activation, activation. The caller writes this block. */
typedef struct {
  int32_t flags;
  int32_t act;        /* ACT_NONE, ACT_CLAMP (lo, hi), ACT_LEAKY (alpha) */
  float lo, hi, alpha;
  const float *scale; /* per output channel, padded to a multiple of 8 */
  const float *shift; /* per output channel, padded to a multiple of 8 */
  const float *res;   /* residual, same layout as the output */
} Epi;

enum { HAS_SCALE = 1, HAS_SHIFT = 2, HAS_RES = 4, RES_AFTER_ACT = 8 };
enum { ACT_NONE = 0, ACT_CLAMP = 1, ACT_LEAKY = 2 };

#define NR 8 /* packed panel width (two f32x4) */
#define MR 4 /* rows per micro-tile */

INLINE v128_t load_n(const float *p, int n) {
  if (n >= 4) return wasm_v128_load(p);
  float a = p[0], b = n > 1 ? p[1] : 0.0f, c = n > 2 ? p[2] : 0.0f;
  return wasm_f32x4_make(a, b, c, 0.0f);
}

INLINE void store_n(float *p, v128_t v, int n) {
  if (n >= 4) {
    wasm_v128_store(p, v);
    return;
  }
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (n > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (n > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

INLINE v128_t activate(const Epi *e, v128_t v) {
  if (e->act == ACT_CLAMP) {
    v = wasm_f32x4_max(v, wasm_f32x4_splat(e->lo));
    v = wasm_f32x4_min(v, wasm_f32x4_splat(e->hi));
  } else if (e->act == ACT_LEAKY) {
    v128_t neg = wasm_f32x4_mul(v, wasm_f32x4_splat(e->alpha));
    v = wasm_v128_bitselect(v, neg, wasm_f32x4_gt(v, wasm_f32x4_splat(0.0f)));
  }
  return v;
}

/* v holds output channels col..col+n-1 (n <= 4) of one row; res points at that row's column col. */
INLINE v128_t epilogue(const Epi *e, v128_t v, int col, const float *res, int n) {
  int f = e->flags;
  if (f & HAS_SCALE) v = wasm_f32x4_mul(v, wasm_v128_load(e->scale + col));
  if (f & HAS_SHIFT) v = wasm_f32x4_add(v, wasm_v128_load(e->shift + col));
  if ((f & (HAS_RES | RES_AFTER_ACT)) == HAS_RES) v = wasm_f32x4_add(v, load_n(res, n));
  v = activate(e, v);
  if ((f & (HAS_RES | RES_AFTER_ACT)) == (HAS_RES | RES_AFTER_ACT)) v = wasm_f32x4_add(v, load_n(res, n));
  return v;
}

INLINE void finish_row(const Epi *e, v128_t lo, v128_t hi, float *c, const float *res, int col, int nr) {
  lo = epilogue(e, lo, col, res, nr);
  store_n(c, lo, nr);
  if (nr > 4) {
    hi = epilogue(e, hi, col + 4, res + 4, nr - 4);
    store_n(c + 4, hi, nr - 4);
  }
}

/* ------------------------------------------------------------------------------------ GEMM */

/* Pack B (K x N, element (k, n) at B[k*sk + n*sn]) into panels of NR columns: out[p][k][j] holds
 * B(k, p*NR + j), zero beyond N. out has ceil(N/NR)*NR*K floats. */
EXPORT(pack_b)
void pack_b(const float *B, int K, int N, int sk, int sn, float *out) {
  for (int p = 0; p < N; p += NR) {
    int nr = N - p < NR ? N - p : NR;
    for (int k = 0; k < K; k++) {
      const float *src = B + (long)k * sk + (long)p * sn;
      if (nr == NR && sn == 1) {
        wasm_v128_store(out, wasm_v128_load(src));
        wasm_v128_store(out + 4, wasm_v128_load(src + 4));
      } else {
        for (int j = 0; j < NR; j++) out[j] = j < nr ? src[(long)j * sn] : 0.0f;
      }
      out += NR;
    }
  }
}

/* One MR x NR tile: rows a0..a3 (duplicates of the last valid row when mr < MR). */
INLINE void tile(int K, const float *a0, const float *a1, const float *a2, const float *a3,
                 const float *b, float *c, int ldc, const float *res, int col, int mr, int nr,
                 const Epi *e) {
  v128_t c00 = wasm_f32x4_splat(0.0f), c01 = c00, c10 = c00, c11 = c00;
  v128_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int k = 0; k < K; k++) {
    v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    b += NR;
    v128_t x = wasm_v128_load32_splat(a0 + k);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x, b0));
    c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a1 + k);
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x, b0));
    c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a2 + k);
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x, b0));
    c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a3 + k);
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x, b0));
    c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x, b1));
  }
  finish_row(e, c00, c01, c, res, col, nr);
  if (mr > 1) finish_row(e, c10, c11, c + ldc, res + ldc, col, nr);
  if (mr > 2) finish_row(e, c20, c21, c + 2 * ldc, res + 2 * ldc, col, nr);
  if (mr > 3) finish_row(e, c30, c31, c + 3 * ldc, res + 3 * ldc, col, nr);
}

/* C (M x N, row stride ldc) = epilogue(A (M x K, row stride lda) @ B), B packed by pack_b.
 * res (may be null) has C's layout. */
static void gemm_core(int M, int N, int K, const float *A, int lda, const float *Bp, float *C, int ldc,
                      const float *res, const Epi *e) {
  /* Columns per block: their packed panels of B (K x nb floats) stay in L1 while every row of A passes
   * over them (for MobileNet's small-K layers that is all of B, and C is written row by row); rows per
   * block: the block of A stays in L2 while the block's panels pass over it. */
  int nb = K > 0 ? (24576 / (K * 4)) & ~(NR - 1) : N;
  if (nb < NR) nb = NR;
  int mb = K > 0 ? (32768 / K) & ~(MR - 1) : M;
  if (mb < MR) mb = MR;
  for (int n0 = 0; n0 < N; n0 += nb) {
    int n1 = n0 + nb < N ? n0 + nb : N;
    for (int m0 = 0; m0 < M; m0 += mb) {
      int m1 = m0 + mb < M ? m0 + mb : M;
      for (int m = m0; m < m1; m += MR) {
        int mr = m1 - m < MR ? m1 - m : MR;
        const float *a0 = A + (long)m * lda;
        const float *a1 = mr > 1 ? a0 + lda : a0;
        const float *a2 = mr > 2 ? a1 + lda : a1;
        const float *a3 = mr > 3 ? a2 + lda : a2;
        for (int p = n0; p < n1; p += NR) {
          int nr = N - p < NR ? N - p : NR;
          const float *r = res ? res + (long)m * ldc + p : res;
          tile(K, a0, a1, a2, a3, Bp + (long)p * K, C + (long)m * ldc + p, ldc, r, p, mr, nr, e);
        }
      }
    }
  }
}

EXPORT(gemm)
void gemm(int M, int N, int K, const float *A, int lda, const float *Bp, float *C, int ldc, const Epi *e) {
  gemm_core(M, N, K, A, lda, Bp, C, ldc, (e->flags & HAS_RES) ? e->res : 0, e);
}

/* ------------------------------------------------------------------------------- Conv2D */

/* Rows [r0, r1) of the im2col matrix of x (N, H, W, C): row = (n, oh, ow), columns (kh, kw, c). */
static void im2col(const float *x, int H, int W, int C, int KH, int KW, int sh, int sw, int dh, int dw,
                   int pt, int pl, int OH, int OW, int r0, int r1, float *out) {
  for (int r = r0; r < r1; r++) {
    int ow = r % OW, t = r / OW, oh = t % OH, n = t / OH;
    for (int kh = 0; kh < KH; kh++) {
      int ih = oh * sh - pt + kh * dh;
      for (int kw = 0; kw < KW; kw++) {
        int iw = ow * sw - pl + kw * dw;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
          for (int c = 0; c < C; c++) out[c] = 0.0f;
        } else {
          const float *src = x + (((long)n * H + ih) * W + iw) * C;
          int c = 0;
          for (; c + 4 <= C; c += 4) wasm_v128_store(out + c, wasm_v128_load(src + c));
          for (; c < C; c++) out[c] = src[c];
        }
        out += C;
      }
    }
  }
}

/* out (N, OH, OW, O) = epilogue(conv(x (N, H, W, C), filter packed from (KH*KW*C) x O)).
 * scratch holds scratch_rows rows of KH*KW*C floats; the im2col matrix is built block by block. */
EXPORT(conv2d)
void conv2d(const float *x, int N, int H, int W, int C, const float *Bp, int O, int KH, int KW, int sh, int sw,
            int dh, int dw, int pt, int pl, int OH, int OW, float *out, float *scratch, int scratch_rows,
            const Epi *e) {
  int K = KH * KW * C, rows = N * OH * OW;
  const float *res = (e->flags & HAS_RES) ? e->res : 0;
  for (int r0 = 0; r0 < rows; r0 += scratch_rows) {
    int r1 = r0 + scratch_rows < rows ? r0 + scratch_rows : rows;
    im2col(x, H, W, C, KH, KW, sh, sw, dh, dw, pt, pl, OH, OW, r0, r1, scratch);
    gemm_core(r1 - r0, O, K, scratch, K, Bp, out + (long)r0 * O, O, res ? res + (long)r0 * O : res, e);
  }
}

/* ------------------------------------------------------------------ DepthwiseConv2dNative */

/* out (N, OH, OW, C) = epilogue(depthwise(x (N, H, W, C), w (KH, KW, C))), channel multiplier 1. */
EXPORT(depthwise2d)
void depthwise2d(const float *x, int N, int H, int W, int C, const float *w, int KH, int KW, int sh, int sw,
                 int dh, int dw, int pt, int pl, int OH, int OW, float *out, const Epi *e) {
  const float *res = (e->flags & HAS_RES) ? e->res : 0;
  for (int n = 0; n < N; n++) {
    for (int oh = 0; oh < OH; oh++) {
      int ih0 = oh * sh - pt;
      int kh0 = 0, kh1 = KH;
      while (kh0 < KH && ih0 + kh0 * dh < 0) kh0++;
      while (kh1 > kh0 && ih0 + (kh1 - 1) * dh >= H) kh1--;
      for (int ow = 0; ow < OW; ow++) {
        int iw0 = ow * sw - pl;
        int kw0 = 0, kw1 = KW;
        while (kw0 < KW && iw0 + kw0 * dw < 0) kw0++;
        while (kw1 > kw0 && iw0 + (kw1 - 1) * dw >= W) kw1--;
        long o = (((long)n * OH + oh) * OW + ow) * C;
        const float *xb = x + ((long)n * H * W) * C;
        int c = 0;
        for (; c + 8 <= C; c += 8) {
          v128_t acc0 = wasm_f32x4_splat(0.0f), acc1 = acc0;
          for (int kh = kh0; kh < kh1; kh++) {
            const float *xr = xb + ((long)(ih0 + kh * dh) * W) * C + c;
            const float *wr = w + (long)kh * KW * C + c;
            for (int kw = kw0; kw < kw1; kw++) {
              const float *xp = xr + (long)(iw0 + kw * dw) * C;
              const float *wp = wr + (long)kw * C;
              acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(xp), wasm_v128_load(wp)));
              acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(wasm_v128_load(xp + 4), wasm_v128_load(wp + 4)));
            }
          }
          finish_row(e, acc0, acc1, out + o + c, res ? res + o + c : res, c, 8);
        }
        for (; c < C; c += 4) {
          int nc = C - c < 4 ? C - c : 4;
          v128_t acc = wasm_f32x4_splat(0.0f);
          for (int kh = kh0; kh < kh1; kh++) {
            const float *xr = xb + ((long)(ih0 + kh * dh) * W) * C + c;
            const float *wr = w + (long)kh * KW * C + c;
            for (int kw = kw0; kw < kw1; kw++)
              acc = wasm_f32x4_add(acc, wasm_f32x4_mul(load_n(xr + (long)(iw0 + kw * dw) * C, nc),
                                                       load_n(wr + (long)kw * C, nc)));
          }
          acc = epilogue(e, acc, c, res ? res + o + c : res, nc);
          store_n(out + o + c, acc, nc);
        }
      }
    }
  }
}

/* ----------------------------------------------------------------------- MaxPool / AvgPool */

/* kind 0: max over the window's valid taps; kind 1: mean over the valid taps (padding excluded). */
EXPORT(pool2d)
void pool2d(int kind, const float *x, int N, int H, int W, int C, int KH, int KW, int sh, int sw, int pt, int pl,
            int OH, int OW, float *out) {
  for (int n = 0; n < N; n++)
    for (int oh = 0; oh < OH; oh++) {
      int ih0 = oh * sh - pt;
      int h0 = ih0 < 0 ? 0 : ih0, h1 = ih0 + KH > H ? H : ih0 + KH;
      for (int ow = 0; ow < OW; ow++) {
        int iw0 = ow * sw - pl;
        int w0 = iw0 < 0 ? 0 : iw0, w1 = iw0 + KW > W ? W : iw0 + KW;
        int count = (h1 - h0) * (w1 - w0);
        float *o = out + (((long)n * OH + oh) * OW + ow) * C;
        v128_t inv = wasm_f32x4_splat(count > 0 ? 1.0f / (float)count : 0.0f);
        for (int c = 0; c < C; c += 4) {
          int nc = C - c < 4 ? C - c : 4;
          v128_t acc = wasm_f32x4_splat(kind == 0 ? -__builtin_inff() : 0.0f);
          for (int ih = h0; ih < h1; ih++)
            for (int iw = w0; iw < w1; iw++) {
              v128_t v = load_n(x + (((long)n * H + ih) * W + iw) * C + c, nc);
              acc = kind == 0 ? wasm_f32x4_max(acc, v) : wasm_f32x4_add(acc, v);
            }
          if (kind == 1) acc = wasm_f32x4_mul(acc, inv);
          store_n(o + c, acc, nc);
        }
      }
    }
}

/* ------------------------------------------------------------------ elementwise, reductions */

/* out (R, C) = mean of x (R, S, C) over S. */
EXPORT(mean_middle)
void mean_middle(const float *x, int R, int S, int C, float *out) {
  v128_t inv = wasm_f32x4_splat(S > 0 ? 1.0f / (float)S : __builtin_nanf(""));
  for (int r = 0; r < R; r++) {
    const float *xr = x + (long)r * S * C;
    for (int c = 0; c < C; c += 4) {
      int nc = C - c < 4 ? C - c : 4;
      v128_t acc = wasm_f32x4_splat(0.0f);
      for (int s = 0; s < S; s++) acc = wasm_f32x4_add(acc, load_n(xr + (long)s * C + c, nc));
      store_n(out + (long)r * C + c, wasm_f32x4_mul(acc, inv), nc);
    }
  }
}

enum { OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_DIV = 3, OP_MAX = 4, OP_MIN = 5, OP_RSUB = 6, OP_RDIV = 7 };

INLINE v128_t binop(int op, v128_t a, v128_t b) {
  switch (op) {
    case OP_ADD: return wasm_f32x4_add(a, b);
    case OP_SUB: return wasm_f32x4_sub(a, b);
    case OP_MUL: return wasm_f32x4_mul(a, b);
    case OP_DIV: return wasm_f32x4_div(a, b);
    case OP_MAX: return wasm_f32x4_max(a, b);
    case OP_MIN: return wasm_f32x4_min(a, b);
    case OP_RSUB: return wasm_f32x4_sub(b, a);
    default: return wasm_f32x4_div(b, a);
  }
}

/* out[i] = a[i] op b[i % m] for i < n (b repeats with period m: m = n same shape, m = 1 scalar,
 * m = trailing size for a broadcast over leading dims). */
EXPORT(binary)
void binary(int op, const float *a, const float *b, int n, int m, float *out) {
  if (m == 1) {
    v128_t bv = wasm_v128_load32_splat(b);
    int i = 0;
    for (; i + 4 <= n; i += 4) wasm_v128_store(out + i, binop(op, wasm_v128_load(a + i), bv));
    if (i < n) store_n(out + i, binop(op, load_n(a + i, n - i), bv), n - i);
    return;
  }
  for (int base = 0; base < n; base += m) {
    const float *ar = a + base;
    float *o = out + base;
    int j = 0;
    for (; j + 4 <= m; j += 4) wasm_v128_store(o + j, binop(op, wasm_v128_load(ar + j), wasm_v128_load(b + j)));
    if (j < m) store_n(o + j, binop(op, load_n(ar + j, m - j), load_n(b + j, m - j)), m - j);
  }
}

/* out = clamp(x, lo, hi) (Relu: lo = 0, hi = inf; Relu6: lo = 0, hi = 6), NaN propagating. */
EXPORT(clamp)
void clamp(const float *x, int n, float lo, float hi, float *out) {
  v128_t l = wasm_f32x4_splat(lo), h = wasm_f32x4_splat(hi);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(out + i, wasm_f32x4_min(wasm_f32x4_max(wasm_v128_load(x + i), l), h));
  if (i < n) store_n(out + i, wasm_f32x4_min(wasm_f32x4_max(load_n(x + i, n - i), l), h), n - i);
}

INLINE void fill(float *o, int n, float value) {
  v128_t v = wasm_f32x4_splat(value);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(o + i, v);
  for (; i < n; i++) o[i] = value;
}

/* out (N, OH, OW, C) = x (N, H, W, C) placed at (pt, pl), `value` elsewhere (Pad of the spatial dims). */
EXPORT(pad_hw)
void pad_hw(const float *x, int N, int H, int W, int C, int pt, int pl, int OH, int OW, float value, float *out) {
  int row = OW * C, left = pl * C, right = (OW - pl - W) * C, n_in = W * C;
  for (int n = 0; n < N; n++)
    for (int oh = 0; oh < OH; oh++) {
      float *o = out + ((long)n * OH + oh) * row;
      int ih = oh - pt;
      if (ih < 0 || ih >= H) {
        fill(o, row, value);
        continue;
      }
      const float *src = x + ((long)n * H + ih) * n_in;
      fill(o, left, value);
      o += left;
      int i = 0;
      for (; i + 4 <= n_in; i += 4) wasm_v128_store(o + i, wasm_v128_load(src + i));
      for (; i < n_in; i++) o[i] = src[i];
      fill(o + n_in, right, value);
    }
}

/* x (M x N) -> out (N x M). */
EXPORT(transpose2d)
void transpose2d(const float *x, int M, int N, float *out) {
  for (int i0 = 0; i0 < M; i0 += 16)
    for (int j0 = 0; j0 < N; j0 += 16) {
      int i1 = i0 + 16 < M ? i0 + 16 : M, j1 = j0 + 16 < N ? j0 + 16 : N;
      for (int i = i0; i < i1; i++)
        for (int j = j0; j < j1; j++) out[(long)j * M + i] = x[(long)i * N + j];
    }
}
