/* Native float32 kernels of the `native` backend (smlens/backends/native.py), loaded with ctypes.

   Built by `python build.py native` with the pinned Zig toolchain into a shared library that has no
   dependencies (no libc). The Python side checks every shape, stride and buffer size before a call; these
   functions trust their arguments. Tensors are NHWC, contiguous.

   The epilogue follows TensorFlow's fused ops in order (BiasAdd, residual Add, Relu or Relu6) and TF's
   CPU numerics: a subnormal result is flushed to a zero of its sign (FTZ). Inputs are flushed by the
   caller (DAZ). NaN propagates through Relu/Relu6 as in the reference kernels. */
#include <stdint.h>

typedef int64_t i64;

#define SMALLEST_NORMAL 1.17549435e-38f
#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_RELU6 2
#define BLOCK 32 /* channels kept in registers across the taps of a depthwise window */

static inline float magnitude(float v) { return v < 0.0f ? -v : v; }

static inline float finish(float v, int act) {
    if (act == ACT_RELU6)
        v = v > 6.0f ? 6.0f : v;
    if (act != ACT_NONE)
        return v < SMALLEST_NORMAL ? 0.0f : v; /* max(v, 0) with the flush; NaN compares false: kept */
    return magnitude(v) < SMALLEST_NORMAL ? v * 0.0f : v;
}

/* y[p, c] = act(y[p, c] + bias[c] + res[p, c]) for p < pixels, c < channels (bias, res may be null). */
void smlens_epilogue(float *y, i64 pixels, i64 channels, const float *bias, const float *res, int act) {
    for (i64 p = 0; p < pixels; p++) {
        float *row = y + p * channels;
        const float *r = res ? res + p * channels : 0;
        if (bias && r)
            for (i64 c = 0; c < channels; c++) row[c] = finish(row[c] + bias[c] + r[c], act);
        else if (bias)
            for (i64 c = 0; c < channels; c++) row[c] = finish(row[c] + bias[c], act);
        else if (r)
            for (i64 c = 0; c < channels; c++) row[c] = finish(row[c] + r[c], act);
        else
            for (i64 c = 0; c < channels; c++) row[c] = finish(row[c], act);
    }
}

struct dw_shape {
    i64 n, h, w, c;      /* input */
    i64 kh, kw;          /* filter (kh, kw, c, 1) */
    i64 sh, sw, pt, pl;  /* strides, padding before */
    i64 oh, ow;          /* output (n, oh, ow, c) */
};

static inline float epilogue_one(float acc, const float *bias, const float *res, i64 c, int act) {
    if (bias) acc += bias[c];
    if (res) acc += res[c];
    return finish(acc, act);
}

/* Channels [c0, c0 + width) of one output pixel over the taps [i0, i1) x [j0, j1) that fall inside the
   input, accumulated in registers (width is a constant where this is inlined); taps are summed in
   row-major order from zero, as the reference kernel sums them. */
static inline void dw_block(const struct dw_shape *s, const float *x, const float *w, float *o, const float *bias,
                            const float *res, int act, i64 ih0, i64 iw0, i64 i0, i64 i1, i64 j0, i64 j1, i64 c0,
                            const int width) {
    i64 C = s->c;
    float acc[BLOCK];
    for (int k = 0; k < width; k++) acc[k] = 0.0f;
    for (i64 i = i0; i < i1; i++)
        for (i64 j = j0; j < j1; j++) {
            const float *xp = x + ((ih0 + i) * s->w + iw0 + j) * C + c0;
            const float *wp = w + (i * s->kw + j) * C + c0;
            for (int k = 0; k < width; k++) acc[k] += xp[k] * wp[k];
        }
    for (int k = 0; k < width; k++) o[c0 + k] = epilogue_one(acc[k], bias, res, c0 + k, act);
}

static void dw_pixel(const struct dw_shape *s, const float *x, const float *w, float *o, const float *bias,
                     const float *res, int act, i64 ih0, i64 iw0, i64 i0, i64 i1, i64 j0, i64 j1) {
    i64 C = s->c, c0 = 0;
    for (; c0 + BLOCK <= C; c0 += BLOCK) dw_block(s, x, w, o, bias, res, act, ih0, iw0, i0, i1, j0, j1, c0, BLOCK);
    for (; c0 + 8 <= C; c0 += 8) dw_block(s, x, w, o, bias, res, act, ih0, iw0, i0, i1, j0, j1, c0, 8);
    for (; c0 < C; c0++) dw_block(s, x, w, o, bias, res, act, ih0, iw0, i0, i1, j0, j1, c0, 1);
}

static inline i64 max64(i64 a, i64 b) { return a > b ? a : b; }
static inline i64 min64(i64 a, i64 b) { return a < b ? a : b; }

/* Depthwise convolution (channel multiplier 1) with zero padding and the fused epilogue. */
void smlens_depthwise(const struct dw_shape *s, const float *x, const float *w, float *out, const float *bias,
                      const float *res, int act) {
    i64 C = s->c;
    for (i64 n = 0; n < s->n; n++) {
        const float *xn = x + n * s->h * s->w * C;
        for (i64 oh = 0; oh < s->oh; oh++) {
            i64 ih0 = oh * s->sh - s->pt;
            i64 i0 = max64(0, -ih0), i1 = min64(s->kh, s->h - ih0);
            for (i64 ow = 0; ow < s->ow; ow++) {
                i64 iw0 = ow * s->sw - s->pl;
                i64 j0 = max64(0, -iw0), j1 = min64(s->kw, s->w - iw0);
                i64 at = ((n * s->oh + oh) * s->ow + ow) * C;
                dw_pixel(s, xn, w, out + at, bias, res ? res + at : 0, act, ih0, iw0, i0, i1, j0, j1);
            }
        }
    }
}
