/* Native float32 kernels of the `native` backend (smlens/backends/native.py), loaded with ctypes.

   Built by `python build.py native` with the pinned Zig toolchain into a shared library that has no
   dependencies (no libc). The Python side checks every shape, stride and buffer size before a call; these
   functions trust their arguments. Tensors are NHWC, contiguous.

   The epilogue follows TensorFlow's fused ops in order (BiasAdd, residual Add, Relu or Relu6) and TF's
   CPU numerics: a subnormal result is flushed to a zero of its sign (FTZ). Inputs are flushed by the
   caller (DAZ). NaN propagates through Relu/Relu6 as in the reference kernels. */
#include <stdint.h>

typedef int64_t i64;

/* The compiler turns copy and fill loops into memcpy/memset calls; there is no libc, so the library defines
   them itself (hidden: not exported; no_builtin: their own loops are not turned into calls to themselves). */
__attribute__((visibility("hidden"), no_builtin)) void *memcpy(void *dst, const void *src, unsigned long n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (unsigned long i = 0; i < n; i++) d[i] = s[i];
    return dst;
}

__attribute__((visibility("hidden"), no_builtin)) void *memset(void *dst, int value, unsigned long n) {
    unsigned char *d = dst;
    for (unsigned long i = 0; i < n; i++) d[i] = (unsigned char)value;
    return dst;
}

#define SMALLEST_NORMAL 1.17549435e-38f
#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_RELU6 2

/* 8 floats (AVX on the x86-64-v3 build, two SSE registers on the baseline one); unaligned via memcpy */
typedef float v8 __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

static inline v8 load8(const float *p) { v8 v; __builtin_memcpy(&v, p, sizeof v); return v; }
static inline void store8(float *p, v8 v) { __builtin_memcpy(p, &v, sizeof v); }
static inline v8 splat8(float f) { return (v8){f, f, f, f, f, f, f, f}; }
static inline v8 select8(v8i mask, v8 a, v8 b) { return (v8)(((v8i)a & mask) | ((v8i)b & ~mask)); }

static inline float magnitude(float v) { return v < 0.0f ? -v : v; }

static inline float finish(float v, int act) {
    if (act == ACT_RELU6)
        v = v > 6.0f ? 6.0f : v;
    if (act != ACT_NONE)
        return v < SMALLEST_NORMAL ? 0.0f : v; /* max(v, 0) with the flush; NaN compares false: kept */
    return magnitude(v) < SMALLEST_NORMAL ? v * 0.0f : v;
}

/* finish() on 8 lanes */
static inline v8 finish8(v8 v, int act) {
    if (act == ACT_RELU6)
        v = select8(v > splat8(6.0f), splat8(6.0f), v);
    if (act != ACT_NONE)
        return select8(v < splat8(SMALLEST_NORMAL), splat8(0.0f), v);
    v8 mag = (v8)((v8i)v & (v8i){0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff,
                                  0x7fffffff, 0x7fffffff});
    return select8(mag < splat8(SMALLEST_NORMAL), v * splat8(0.0f), v);
}

static inline v8 epilogue8(v8 acc, const float *bias, const float *res, i64 c, int act) {
    if (bias) acc += load8(bias + c);
    if (res) acc += load8(res + c);
    return finish8(acc, act);
}

static inline float epilogue_one(float acc, const float *bias, const float *res, i64 c, int act) {
    if (bias) acc += bias[c];
    if (res) acc += res[c];
    return finish(acc, act);
}

/* y[p, c] = act(y[p, c] + bias[c] + res[p, c]) for p < pixels, c < channels (bias, res may be null). */
void smlens_epilogue(float *y, i64 pixels, i64 channels, const float *bias, const float *res, int act) {
    for (i64 p = 0; p < pixels; p++) {
        float *row = y + p * channels;
        const float *r = res ? res + p * channels : 0;
        i64 c = 0;
        for (; c + 8 <= channels; c += 8) store8(row + c, epilogue8(load8(row + c), bias, r, c, act));
        for (; c < channels; c++) row[c] = epilogue_one(row[c], bias, r, c, act);
    }
}

struct conv_shape {
    i64 n, h, w, c;      /* input */
    i64 kh, kw;          /* window (depthwise filter: kh, kw, c, 1) */
    i64 sh, sw, pt, pl;  /* strides, padding before */
    i64 oh, ow;          /* output (n, oh, ow, c) */
};

static inline i64 max64(i64 a, i64 b) { return a > b ? a : b; }
static inline i64 min64(i64 a, i64 b) { return a < b ? a : b; }

/* Taps are summed in row-major order from zero, as the reference kernel sums them; taps that fall in the
   padding are skipped (they add zeros). */

/* One output pixel, all channels: xo points at the input pixel under the window's first tap (i0, j0) and
   w at that tap's weights; the window is [i0, i1) x [j0, j1) of the filter. `rows` and `cols` are compile-time
   constants where the caller passes them (the unrolled 3x3 and 5x5 interiors); the loops are then unrolled. */
static inline void dw_pixel(const struct conv_shape *s, const float *xo, const float *w, float *o, const float *bias,
                            const float *res, int act, const i64 rows, const i64 cols) {
    i64 C = s->c, xrow = s->w * C, wrow = s->kw * C, c = 0;
    for (; c + 8 <= C; c += 8) {
        v8 acc = splat8(0.0f);
        for (i64 i = 0; i < rows; i++)
            for (i64 j = 0; j < cols; j++)
                acc += load8(xo + i * xrow + j * C + c) * load8(w + i * wrow + j * C + c);
        store8(o + c, epilogue8(acc, bias, res, c, act));
    }
    for (; c < C; c++) {
        float acc = 0.0f;
        for (i64 i = 0; i < rows; i++)
            for (i64 j = 0; j < cols; j++)
                acc += xo[i * xrow + j * C + c] * w[i * wrow + j * C + c];
        o[c] = epilogue_one(acc, bias, res, c, act);
    }
}

/* Depthwise convolution (channel multiplier 1) with zero padding and the fused epilogue. */
void smlens_depthwise(const struct conv_shape *shape, const float *x, const float *w, float *out, const float *bias,
                      const float *res, int act) {
    const struct conv_shape local = *shape; /* a copy the compiler knows no store can change */
    const struct conv_shape *s = &local;
    i64 C = s->c;
    for (i64 n = 0; n < s->n; n++)
        for (i64 oh = 0; oh < s->oh; oh++) {
            i64 ih0 = oh * s->sh - s->pt;
            i64 i0 = max64(0, -ih0), i1 = min64(s->kh, s->h - ih0);
            for (i64 ow = 0; ow < s->ow; ow++) {
                i64 iw0 = ow * s->sw - s->pl;
                i64 j0 = max64(0, -iw0), j1 = min64(s->kw, s->w - iw0);
                i64 at = ((n * s->oh + oh) * s->ow + ow) * C;
                float *o = out + at;
                const float *r = res ? res + at : 0;
                if (i1 <= i0 || j1 <= j0) { /* the window lies in the padding */
                    dw_pixel(s, x, w, o, bias, r, act, 0, 0);
                    continue;
                }
                const float *xo = x + ((n * s->h + ih0 + i0) * s->w + iw0 + j0) * C;
                const float *wo = w + (i0 * s->kw + j0) * C;
                i64 rows = i1 - i0, cols = j1 - j0;
                if (rows == 3 && cols == 3)
                    dw_pixel(s, xo, wo, o, bias, r, act, 3, 3);
                else if (rows == 5 && cols == 5)
                    dw_pixel(s, xo, wo, o, bias, r, act, 5, 5);
                else
                    dw_pixel(s, xo, wo, o, bias, r, act, rows, cols);
            }
        }
}

/* Rows [r0, r1) of the patch matrix of a convolution (the same geometry struct; kh, kw the filter's spatial
   size): for output pixel p = (n, oh, ow) numbered over (n, oh) rows of ow pixels, patches[p - r0 * ow, :] =
   the (kh, kw, c) window of the zero-padded input, in that order. Copies are plain loops (no_builtin: not
   turned into memcpy calls), each window row at once where it lies inside the input. */
__attribute__((no_builtin)) void smlens_im2col(const struct conv_shape *shape, const float *x, float *patches, i64 r0,
                                               i64 r1) {
    const struct conv_shape local = *shape;
    const struct conv_shape *s = &local;
    i64 C = s->c, K = s->kh * s->kw * C, run = s->kw * C;
    for (i64 r = r0; r < r1; r++) {
        i64 n = r / s->oh, oh = r % s->oh, ih0 = oh * s->sh - s->pt;
        for (i64 ow = 0; ow < s->ow; ow++) {
            float *dst = patches + ((r - r0) * s->ow + ow) * K;
            i64 iw0 = ow * s->sw - s->pl;
            for (i64 i = 0; i < s->kh; i++, dst += run) {
                i64 ih = ih0 + i;
                if (ih < 0 || ih >= s->h) {
                    for (i64 k = 0; k < run; k++) dst[k] = 0.0f;
                } else if (iw0 >= 0 && iw0 + s->kw <= s->w) {
                    const float *src = x + ((n * s->h + ih) * s->w + iw0) * C;
                    for (i64 k = 0; k < run; k++) dst[k] = src[k];
                } else {
                    for (i64 j = 0; j < s->kw; j++) {
                        i64 iw = iw0 + j;
                        if (iw < 0 || iw >= s->w) {
                            for (i64 c = 0; c < C; c++) dst[j * C + c] = 0.0f;
                        } else {
                            const float *src = x + ((n * s->h + ih) * s->w + iw) * C;
                            for (i64 c = 0; c < C; c++) dst[j * C + c] = src[c];
                        }
                    }
                }
            }
        }
    }
}
