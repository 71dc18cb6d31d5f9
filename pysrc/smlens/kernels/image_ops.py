"""Image kernels: resizing, crop-and-resize, projective transforms, non-max suppression, colour
adjustments.

Coordinates, weights and interpolation follow TensorFlow's CPU kernels step by step in float32
(the same operations in the same order), so results match TF's to the last bit in most cases.
Everything is vectorized over pixels; the only Python loops are over filter taps, folding rounds
and (for non-max suppression, which is sequential by nature) over candidate boxes.
"""
from __future__ import annotations

import heapq
import math

import numpy as np

from .. import dtypes, limits
from ..errors import ExecutionError
from .registry import REQUIRED, op

F32 = np.float32
_MAX_BYTES = 1 << 32  # refuse outputs beyond 4 GiB (hostile or broken size tensors)


def _check_output(shape, itemsize: int, op_name: str) -> None:
    limits.check_alloc(math.prod(shape) * max(itemsize, 4),  # float32 intermediates at least
                       f"{op_name}: output of shape {tuple(shape)}")


def _images4(images, op_name: str) -> np.ndarray:
    x = np.asarray(images)
    if x.ndim != 4:
        raise ExecutionError(f"{op_name}: images must be 4-D [batch, height, width, channels], got shape {x.shape}")
    if x.dtype.kind not in "uif":
        raise ExecutionError(f"{op_name}: unsupported image dtype {x.dtype}")
    return x


def _size2(size, op_name: str) -> tuple[int, int]:
    s = np.asarray(size)
    if s.shape != (2,) or s.dtype.kind not in "iu":
        raise ExecutionError(f"{op_name}: size must be a 1-D int32 tensor of 2 elements, got {s.dtype} {s.shape}")
    h, w = int(s[0]), int(s[1])
    if h <= 0 or w <= 0:
        raise ExecutionError(f"{op_name}: output dimensions must be positive, got {h}x{w}")
    return h, w


def _round_half_away(v: np.ndarray) -> np.ndarray:
    """C's roundf: halves away from zero (np.round rounds halves to even)."""
    t = np.trunc(v)
    return t + np.where(np.abs(v - t) >= 0.5, np.sign(v), 0).astype(v.dtype)


def _resize_scale(in_size: int, out_size: int, align_corners: bool) -> np.float32:
    if align_corners and out_size > 1:
        return F32(in_size - 1) / F32(out_size - 1)
    return F32(in_size) / F32(out_size)


def _source_coords(out_size: int, scale: np.float32, half_pixel: bool, nn: bool = False) -> np.ndarray:
    i = np.arange(out_size, dtype=F32)
    if half_pixel:
        # The nearest-neighbour kernel's half-pixel scaler omits the final -0.5.
        return (i + F32(0.5)) * scale if nn else (i + F32(0.5)) * scale - F32(0.5)
    return i * scale


def _check_resize_flags(align_corners: bool, half_pixel_centers: bool, op_name: str) -> None:
    if align_corners and half_pixel_centers:
        raise ExecutionError(f"{op_name}: if half_pixel_centers is True, align_corners must be False")


def _linear_weights(out_size: int, in_size: int, scale, half_pixel: bool):
    src = _source_coords(out_size, scale, half_pixel)
    fl = np.floor(src)
    lower = np.maximum(fl.astype(np.int64), 0)
    upper = np.minimum(np.ceil(src).astype(np.int64), in_size - 1)
    return lower, upper, src - fl


@op("ResizeBilinear", inputs=["images", "size"],
    attrs={"align_corners": False, "half_pixel_centers": False, "T": REQUIRED})
def resize_bilinear(images, size, *, align_corners, half_pixel_centers, T):
    x = _images4(images, "ResizeBilinear")
    oh, ow = _size2(size, "ResizeBilinear")
    _check_output((x.shape[0], oh, ow, x.shape[3]), 4, "ResizeBilinear")
    _check_resize_flags(align_corners, half_pixel_centers, "ResizeBilinear")
    B, H, W, C = x.shape
    if x.size == 0 and (H == 0 or W == 0):
        raise ExecutionError("ResizeBilinear: input image must have positive height and width")
    y0, y1, yl = _linear_weights(oh, H, _resize_scale(H, oh, align_corners), half_pixel_centers)
    x0, x1, xl = _linear_weights(ow, W, _resize_scale(W, ow, align_corners), half_pixel_centers)
    img = x.astype(F32, copy=False)
    top_rows, bottom_rows = img[:, y0], img[:, y1]
    xl = xl[None, None, :, None]
    tl, tr = top_rows[:, :, x0], top_rows[:, :, x1]
    top = tl + (tr - tl) * xl
    bl, br = bottom_rows[:, :, x0], bottom_rows[:, :, x1]
    bottom = bl + (br - bl) * xl
    return top + (bottom - top) * yl[None, :, None, None]


@op("ResizeNearestNeighbor", inputs=["images", "size"],
    attrs={"align_corners": False, "half_pixel_centers": False, "T": REQUIRED})
def resize_nearest_neighbor(images, size, *, align_corners, half_pixel_centers, T):
    x = _images4(images, "ResizeNearestNeighbor")
    oh, ow = _size2(size, "ResizeNearestNeighbor")
    _check_output((x.shape[0], oh, ow, x.shape[3]), x.itemsize, "ResizeNearestNeighbor")
    _check_resize_flags(align_corners, half_pixel_centers, "ResizeNearestNeighbor")
    B, H, W, C = x.shape
    if x.size == 0 and (H == 0 or W == 0):
        raise ExecutionError("ResizeNearestNeighbor: input image must have positive height and width")

    def index(out_size, in_size):
        src = _source_coords(out_size, _resize_scale(in_size, out_size, align_corners), half_pixel_centers, nn=True)
        idx = (_round_half_away(src) if align_corners else np.floor(src)).astype(np.int64)
        idx = np.minimum(idx, in_size - 1)
        return np.maximum(idx, 0) if half_pixel_centers else idx

    return x[:, index(oh, H)][:, :, index(ow, W)]


# Keys cubic convolution tables (1025 samples of the kernel on [0, 1] and [1, 2]); TF evaluates the
# polynomials in double precision and stores float32.
_CUBIC_TABLE_SIZE = 1024


def _cubic_table(a: float) -> np.ndarray:
    x = np.arange(_CUBIC_TABLE_SIZE + 1, dtype=np.float64) / _CUBIC_TABLE_SIZE
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    x1 = x + 1
    far = ((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a
    return np.stack([near, far], axis=1).reshape(-1).astype(F32)


_CUBIC_TABLES: dict = {}


def _cubic_weights(out_size: int, in_size: int, scale, half_pixel: bool):
    """Per output position: 4 source indices and 4 weights (TF's table lookup, renormalized at the
    borders in half-pixel mode)."""
    a = -0.5 if half_pixel else -0.75
    table = _CUBIC_TABLES.get(a)
    if table is None:
        table = _CUBIC_TABLES[a] = _cubic_table(a)
    src = _source_coords(out_size, scale, half_pixel)
    loc = np.floor(src).astype(np.int64)
    delta = src - loc.astype(F32)
    offset = np.rint(delta * F32(_CUBIC_TABLE_SIZE)).astype(np.int64)
    w = np.stack([table[offset * 2 + 1], table[offset * 2], table[(_CUBIC_TABLE_SIZE - offset) * 2],
                  table[(_CUBIC_TABLE_SIZE - offset) * 2 + 1]], axis=1)
    raw = loc[:, None] + np.arange(-1, 3)[None, :]
    idx = np.clip(raw, 0, in_size - 1)
    if half_pixel:
        w = np.where(idx == raw, w, F32(0))
        total = ((w[:, 0] + w[:, 1]) + w[:, 2]) + w[:, 3]
        ok = np.abs(total) >= F32(1000) * np.finfo(F32).tiny
        inv = F32(1) / np.where(ok, total, F32(1))
        w = np.where(ok[:, None], w * inv[:, None], w)
    return idx, w.astype(F32)


@op("ResizeBicubic", inputs=["images", "size"],
    attrs={"align_corners": False, "half_pixel_centers": False, "T": REQUIRED})
def resize_bicubic(images, size, *, align_corners, half_pixel_centers, T):
    x = _images4(images, "ResizeBicubic")
    oh, ow = _size2(size, "ResizeBicubic")
    _check_output((x.shape[0], oh, x.shape[2] + ow, x.shape[3]), 4, "ResizeBicubic")
    _check_resize_flags(align_corners, half_pixel_centers, "ResizeBicubic")
    B, H, W, C = x.shape
    if x.size == 0 and (H == 0 or W == 0):
        raise ExecutionError("ResizeBicubic: input image must have positive height and width")
    yi, yw = _cubic_weights(oh, H, _resize_scale(H, oh, align_corners), half_pixel_centers)
    xi, xw = _cubic_weights(ow, W, _resize_scale(W, ow, align_corners), half_pixel_centers)
    img = x.astype(F32, copy=False)
    # First along y (4 rows per output row), then along x, summing the 4 terms left to right.
    rows = None
    for k in range(4):
        term = img[:, yi[:, k]] * yw[None, :, k, None, None]
        rows = term if rows is None else rows + term
    out = None
    for k in range(4):
        term = rows[:, :, xi[:, k]] * xw[None, None, :, k, None]
        out = term if out is None else out + term
    return out


# --------------------------------------------------------------------------- CropAndResize

@op("CropAndResize", inputs=["image", "boxes", "box_ind", "crop_size"],
    attrs={"method": "bilinear", "extrapolation_value": 0.0, "T": REQUIRED})
def crop_and_resize(image, boxes, box_ind, crop_size, *, method, extrapolation_value, T):
    x = _images4(image, "CropAndResize")
    boxes = np.asarray(boxes, F32)
    box_ind = np.asarray(box_ind)
    ch, cw = _size2(crop_size, "CropAndResize")
    B, H, W, C = x.shape
    _check_output((boxes.shape[0], ch, cw, C), 4, "CropAndResize")
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ExecutionError(f"CropAndResize: boxes must be 2-D [num_boxes, 4], got shape {boxes.shape}")
    if box_ind.shape != (boxes.shape[0],):
        raise ExecutionError(f"CropAndResize: box_ind must be 1-D of length {boxes.shape[0]}, got {box_ind.shape}")
    if method not in ("bilinear", "nearest"):
        raise ExecutionError(f"CropAndResize: method must be 'bilinear' or 'nearest', got {method!r}")
    N = boxes.shape[0]
    if N and (H <= 0 or W <= 0):
        raise ExecutionError("CropAndResize: image dimensions must be positive")
    if np.any((box_ind < 0) | (box_ind >= B)):
        raise ExecutionError(f"CropAndResize: box_ind has values outside [0, {B})")
    if N == 0:
        return np.zeros((0, ch, cw, C), F32)
    y1, x1, y2, x2 = (boxes[:, i] for i in range(4))

    def coords(lo, hi, in_size, out_size):
        if out_size > 1:
            scale = (hi - lo) * F32(in_size - 1) / F32(out_size - 1)
            return lo[:, None] * F32(in_size - 1) + np.arange(out_size, dtype=F32)[None, :] * scale[:, None]
        center = (0.5 * (lo + hi).astype(np.float64) * (in_size - 1)).astype(F32)
        return center[:, None]

    in_y = coords(y1, y2, H, ch)  # [N, ch]
    in_x = coords(x1, x2, W, cw)  # [N, cw]
    valid_y = (in_y >= 0) & (in_y <= F32(H - 1))
    valid_x = (in_x >= 0) & (in_x <= F32(W - 1))
    img = x.astype(F32, copy=False)
    b = box_ind.astype(np.int64)[:, None, None]
    if method == "bilinear":
        ty = np.floor(np.where(valid_y, in_y, 0))
        tx = np.floor(np.where(valid_x, in_x, 0))
        by = np.ceil(np.where(valid_y, in_y, 0)).astype(np.int64)
        bx = np.ceil(np.where(valid_x, in_x, 0)).astype(np.int64)
        y_lerp = (np.where(valid_y, in_y, 0) - ty)[:, :, None, None]
        x_lerp = (np.where(valid_x, in_x, 0) - tx)[:, None, :, None]
        ty, tx = ty.astype(np.int64), tx.astype(np.int64)
        tl = img[b, ty[:, :, None], tx[:, None, :]]
        tr = img[b, ty[:, :, None], bx[:, None, :]]
        bl = img[b, by[:, :, None], tx[:, None, :]]
        br = img[b, by[:, :, None], bx[:, None, :]]
        top = tl + (tr - tl) * x_lerp
        bottom = bl + (br - bl) * x_lerp
        out = top + (bottom - top) * y_lerp
    else:
        ny = _round_half_away(np.where(valid_y, in_y, 0)).astype(np.int64)
        nx = _round_half_away(np.where(valid_x, in_x, 0)).astype(np.int64)
        out = img[b, ny[:, :, None], nx[:, None, :]]
    ok = (valid_y[:, :, None] & valid_x[:, None, :])[..., None]
    return np.where(ok, out, F32(extrapolation_value)).astype(F32)


# --------------------------------------------------------------------------- projective transform

def _map_reflect(c: np.ndarray, n: int) -> np.ndarray:
    if n <= 1:
        return np.zeros_like(c)
    sz2 = 2 * n
    with np.errstate(invalid="ignore"):
        neg = c < 0
        cn = (sz2 * np.trunc(-c / F32(sz2)).astype(np.int64)).astype(F32) + c
        cn = np.where(cn < -n, cn + F32(sz2), -cn - F32(1))
        pos = c > n - 1
        cp = c - (sz2 * np.trunc(c / F32(sz2)).astype(np.int64)).astype(F32)
        cp = np.where(cp >= n, F32(sz2) - cp - F32(1), cp)
    c = np.where(neg, cn, np.where(pos, cp, c))
    return np.clip(c, F32(0), F32(n - 1))


def _map_wrap(c: np.ndarray, n: int) -> np.ndarray:
    if n <= 1:
        return np.zeros_like(c)
    sz = n - 1
    with np.errstate(invalid="ignore"):
        cn = c + (n * (np.trunc(-c / F32(sz)).astype(np.int64) + 1)).astype(F32)
        cp = c - (n * np.trunc(c / F32(sz)).astype(np.int64)).astype(F32)
    c = np.where(c < 0, cn, np.where(c > n - 1, cp, c))
    return np.clip(c, F32(0), F32(n - 1))


_FILL_MODES = {
    "REFLECT": _map_reflect,
    "WRAP": _map_wrap,
    "CONSTANT": lambda c, n: c,
    "NEAREST": lambda c, n: np.clip(c, F32(0), F32(n - 1)),
}


def _projective_transform(images, transforms, output_shape, interpolation, fill_mode, fill_value, op_name):
    x = _images4(images, op_name)
    t = np.asarray(transforms, F32)
    oh, ow = _size2(output_shape, op_name)
    B, H, W, C = x.shape
    _check_output((B, oh, ow, C), 4, op_name)
    if t.ndim != 2 or t.shape[1] != 8 or t.shape[0] not in (1, B):
        raise ExecutionError(f"{op_name}: transforms must be [1, 8] or [batch, 8], got shape {t.shape}")
    if interpolation not in ("NEAREST", "BILINEAR"):
        raise ExecutionError(f"{op_name}: interpolation must be NEAREST or BILINEAR, got {interpolation!r}")
    if fill_mode not in _FILL_MODES:
        raise ExecutionError(f"{op_name}: unknown fill_mode {fill_mode!r}")
    fill = np.asarray(fill_value, F32).astype(x.dtype)
    out = np.empty((B, oh, ow, C), x.dtype)
    if out.size == 0:
        return out
    xs = np.arange(ow, dtype=F32)[None, :]
    ys = np.arange(oh, dtype=F32)[:, None]
    mapper = _FILL_MODES[fill_mode]
    for b in range(B):
        a = t[0 if t.shape[0] == 1 else b]
        with np.errstate(divide="ignore", invalid="ignore"):
            proj = a[6] * xs + a[7] * ys + F32(1)
            in_x = (a[0] * xs + a[1] * ys + a[2]) / proj
            in_y = (a[3] * xs + a[4] * ys + a[5]) / proj
        cx = mapper(in_x, W)
        cy = mapper(in_y, H)
        # Coordinates outside the image are not filled here: each pixel read is bounds-checked and
        # reads outside the image give the fill value (so bilinear blends it in at the borders).
        valid = (proj != 0) & np.isfinite(cx) & np.isfinite(cy)
        cx = np.where(valid, cx, F32(0))
        cy = np.where(valid, cy, F32(0))
        img = x[b]
        lim = F32(max(H, W) + 2)

        def index(v):  # float pixel coordinate -> int index, far-away values kept out of range
            return np.clip(v, F32(-2), lim).astype(np.int64)

        def read(yf, xf):
            yi, xi = index(yf), index(xf)
            ok = (yi >= 0) & (yi < H) & (xi >= 0) & (xi < W)
            v = img[np.clip(yi, 0, H - 1), np.clip(xi, 0, W - 1)]
            return np.where(ok[..., None], v, fill)

        if interpolation == "NEAREST":
            val = read(_round_half_away(cy), _round_half_away(cx))
        else:
            yf, xf = np.floor(cy), np.floor(cx)
            yc, xc = yf + F32(1), xf + F32(1)
            wx0, wx1 = (xc - cx)[..., None], (cx - xf)[..., None]
            v_floor = wx0 * read(yf, xf).astype(F32) + wx1 * read(yf, xc).astype(F32)
            v_ceil = wx0 * read(yc, xf).astype(F32) + wx1 * read(yc, xc).astype(F32)
            val = ((yc - cy)[..., None] * v_floor + (cy - yf)[..., None] * v_ceil)
            with np.errstate(invalid="ignore", over="ignore"):
                val = val.astype(x.dtype)
        out[b] = np.where(valid[..., None], val, fill)
    return out


@op("ImageProjectiveTransformV2", inputs=["images", "transforms", "output_shape"],
    attrs={"interpolation": REQUIRED, "fill_mode": "CONSTANT", "dtype": REQUIRED})
def image_projective_transform_v2(images, transforms, output_shape, *, interpolation, fill_mode, dtype):
    return _projective_transform(images, transforms, output_shape, interpolation, fill_mode, 0.0,
                                 "ImageProjectiveTransformV2")


@op("ImageProjectiveTransformV3", inputs=["images", "transforms", "output_shape", "fill_value"],
    attrs={"interpolation": REQUIRED, "fill_mode": "CONSTANT", "dtype": REQUIRED})
def image_projective_transform_v3(images, transforms, output_shape, fill_value, *, interpolation, fill_mode,
                                  dtype):
    fv = np.asarray(fill_value)
    if fv.size != 1:
        raise ExecutionError("ImageProjectiveTransformV3: fill_value must be a scalar")
    return _projective_transform(images, transforms, output_shape, interpolation, fill_mode, fv.reshape(()),
                                 "ImageProjectiveTransformV3")


# --------------------------------------------------------------------------- non-max suppression

def _iou_one_to_many(boxes: np.ndarray, i: int, others: np.ndarray) -> np.ndarray:
    """IoU (float32, TF's formula and operation order) of box i with each box in `others`."""
    bi = boxes[i]
    bj = boxes[others]
    ymin_i, ymax_i = min(bi[0], bi[2]), max(bi[0], bi[2])
    xmin_i, xmax_i = min(bi[1], bi[3]), max(bi[1], bi[3])
    ymin_j, ymax_j = np.minimum(bj[:, 0], bj[:, 2]), np.maximum(bj[:, 0], bj[:, 2])
    xmin_j, xmax_j = np.minimum(bj[:, 1], bj[:, 3]), np.maximum(bj[:, 1], bj[:, 3])
    area_i = (ymax_i - ymin_i) * (xmax_i - xmin_i)
    area_j = (ymax_j - ymin_j) * (xmax_j - xmin_j)
    ih = np.maximum(np.minimum(ymax_i, ymax_j) - np.maximum(ymin_i, ymin_j), F32(0))
    iw = np.maximum(np.minimum(xmax_i, xmax_j) - np.maximum(xmin_i, xmin_j), F32(0))
    inter = ih * iw
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / (area_i + area_j - inter)
    return np.where((area_i <= 0) | (area_j <= 0), F32(0), iou).astype(F32)


def _nms(num_boxes, scores, max_output_size, iou_threshold, score_threshold, soft_nms_sigma, similarity):
    """TF's greedy (soft-)NMS: candidates from a max-heap on (score, lowest index first); each is
    compared with the boxes selected since it was last examined, newest first."""
    scores = np.asarray(scores)
    if scores.shape != (num_boxes,):
        raise ExecutionError(f"scores must be 1-D of length {num_boxes}, got shape {scores.shape}")
    out_size = int(np.asarray(max_output_size).reshape(()))
    if out_size < 0:
        raise ExecutionError("max_output_size must be non-negative")
    T = scores.dtype.type
    thr = T(iou_threshold)
    sthr = T(score_threshold)
    soft = soft_nms_sigma > 0
    scale = T(-0.5) / T(soft_nms_sigma) if soft else T(0)
    heap = [(-float(s), i, 0, s) for i, s in enumerate(scores) if s > sthr]
    heapq.heapify(heap)
    selected: list[int] = []
    selected_scores: list = []
    while len(selected) < out_size and heap:
        _, idx, begin, score = heapq.heappop(heap)
        original = score
        hard = False
        if begin < len(selected):
            sims = similarity(idx, np.asarray(selected[begin:][::-1], np.int64)).astype(T)
            for sim in sims:
                # exp in double, rounded once: the correctly rounded expf TF's kernel calls
                weight = T(math.exp(float(scale * sim * sim)))
                score = T(score * (weight if soft or sim <= thr else T(0)))
                if not soft and sim > thr:
                    hard = True
                    break
                if score <= sthr:
                    break
        begin = len(selected)
        if hard:
            continue
        if score == original:
            selected.append(idx)
            selected_scores.append(score)
        elif score > sthr:
            heapq.heappush(heap, (-float(score), idx, begin, score))
    return selected, np.asarray(selected_scores, scores.dtype).reshape(-1), out_size


def _boxes_similarity(boxes, op_name):
    b = np.asarray(boxes)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ExecutionError(f"{op_name}: boxes must be 2-D [num_boxes, 4], got shape {b.shape}")
    b32 = b.astype(F32)
    return b.shape[0], lambda i, others: _iou_one_to_many(b32, i, others)


def _iou_threshold(v, op_name):
    t = float(np.asarray(v).reshape(()))
    if not 0.0 <= t <= 1.0:
        raise ExecutionError(f"{op_name}: iou_threshold must be in [0, 1], got {t}")
    return t


def _lowest_of(scores) -> float:
    return float(np.finfo(np.asarray(scores).dtype).min)


@op("NonMaxSuppression", inputs=["boxes", "scores", "max_output_size"], attrs={"iou_threshold": 0.5})
def non_max_suppression(boxes, scores, max_output_size, *, iou_threshold):
    n, sim = _boxes_similarity(boxes, "NonMaxSuppression")
    thr = _iou_threshold(iou_threshold, "NonMaxSuppression")
    sel, _, _ = _nms(n, scores, max_output_size, thr, _lowest_of(scores), 0.0, sim)
    return np.asarray(sel, np.int32)


@op("NonMaxSuppressionV2", inputs=["boxes", "scores", "max_output_size", "iou_threshold"])
def non_max_suppression_v2(boxes, scores, max_output_size, iou_threshold):
    n, sim = _boxes_similarity(boxes, "NonMaxSuppressionV2")
    thr = _iou_threshold(iou_threshold, "NonMaxSuppressionV2")
    sel, _, _ = _nms(n, scores, max_output_size, thr, _lowest_of(scores), 0.0, sim)
    return np.asarray(sel, np.int32)


@op("NonMaxSuppressionV3", inputs=["boxes", "scores", "max_output_size", "iou_threshold", "score_threshold"])
def non_max_suppression_v3(boxes, scores, max_output_size, iou_threshold, score_threshold):
    n, sim = _boxes_similarity(boxes, "NonMaxSuppressionV3")
    thr = _iou_threshold(iou_threshold, "NonMaxSuppressionV3")
    sel, _, _ = _nms(n, scores, max_output_size, thr, float(np.asarray(score_threshold).reshape(())), 0.0, sim)
    return np.asarray(sel, np.int32)


@op("NonMaxSuppressionV4", inputs=["boxes", "scores", "max_output_size", "iou_threshold", "score_threshold"],
    attrs={"pad_to_max_output_size": False})
def non_max_suppression_v4(boxes, scores, max_output_size, iou_threshold, score_threshold, *,
                           pad_to_max_output_size):
    n, sim = _boxes_similarity(boxes, "NonMaxSuppressionV4")
    thr = _iou_threshold(iou_threshold, "NonMaxSuppressionV4")
    sel, _, size = _nms(n, scores, max_output_size, thr, float(np.asarray(score_threshold).reshape(())), 0.0, sim)
    valid = len(sel)
    if pad_to_max_output_size:
        sel = sel + [0] * (size - valid)
    return np.asarray(sel, np.int32), np.asarray(valid, np.int32)


@op("NonMaxSuppressionV5",
    inputs=["boxes", "scores", "max_output_size", "iou_threshold", "score_threshold", "soft_nms_sigma"],
    attrs={"pad_to_max_output_size": False})
def non_max_suppression_v5(boxes, scores, max_output_size, iou_threshold, score_threshold, soft_nms_sigma, *,
                           pad_to_max_output_size):
    n, sim = _boxes_similarity(boxes, "NonMaxSuppressionV5")
    thr = _iou_threshold(iou_threshold, "NonMaxSuppressionV5")
    sigma = float(np.asarray(soft_nms_sigma).reshape(()))
    if sigma < 0:
        raise ExecutionError("NonMaxSuppressionV5: soft_nms_sigma must be >= 0")
    sel, sc, size = _nms(n, scores, max_output_size, thr, float(np.asarray(score_threshold).reshape(())),
                         sigma, sim)
    valid = len(sel)
    if pad_to_max_output_size:
        sel = sel + [0] * (size - valid)
        sc = np.concatenate([sc, np.zeros(size - valid, sc.dtype)])
    return np.asarray(sel, np.int32), sc, np.asarray(valid, np.int32)


@op("NonMaxSuppressionWithOverlaps",
    inputs=["overlaps", "scores", "max_output_size", "overlap_threshold", "score_threshold"])
def non_max_suppression_with_overlaps(overlaps, scores, max_output_size, overlap_threshold, score_threshold):
    ov = np.asarray(overlaps, F32)
    if ov.ndim != 2 or ov.shape[0] != ov.shape[1]:
        raise ExecutionError(f"NonMaxSuppressionWithOverlaps: overlaps must be square 2-D, got {ov.shape}")
    sel, _, _ = _nms(ov.shape[0], np.asarray(scores, F32), max_output_size,
                     float(np.asarray(overlap_threshold).reshape(())),
                     float(np.asarray(score_threshold).reshape(())), 0.0, lambda i, others: ov[i, others])
    return np.asarray(sel, np.int32)


# --------------------------------------------------------------------------- colour

def _rgb(images, op_name: str) -> np.ndarray:
    x = np.asarray(images)
    if x.ndim < 1 or x.shape[-1] != 3:
        raise ExecutionError(f"{op_name}: the last dimension must hold 3 channels, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise ExecutionError(f"{op_name}: images must be floating point, got {x.dtype}")
    return x


def _finish(y, dtype, T):
    y = y.astype(dtype, copy=False)
    if isinstance(T, dtypes.DType) and dtypes.base(T).name == "bfloat16":
        y = dtypes.round_to_bfloat16(y)
    return y


@op("RGBToHSV", inputs=["images"], attrs={"T": dtypes.float32})
def rgb_to_hsv(images, *, T):
    x = _rgb(images, "RGBToHSV")
    w = x  # float16 is computed in float16, rounding after every operation like Eigen's half
    one = w.dtype.type
    r, g, b = w[..., 0], w[..., 1], w[..., 2]
    v = np.max(w, axis=-1)
    rng = v - np.min(w, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(v > 0, rng / v, one(0))
        norm = (one(1) / rng) * (one(1) / one(6))
        h = np.where(r == v, norm * (g - b),
                     np.where(g == v, norm * (b - r) + one(2) / one(6), norm * (r - g) + one(4) / one(6)))
    h = np.where(rng > 0, h, one(0))
    h = np.where(h < 0, h + one(1), h)
    return _finish(np.stack([h, s, v], axis=-1), x.dtype, T)


@op("HSVToRGB", inputs=["images"], attrs={"T": dtypes.float32})
def hsv_to_rgb(images, *, T):
    x = _rgb(images, "HSVToRGB")
    w = x
    one = w.dtype.type
    h, s, v = w[..., 0], w[..., 1], w[..., 2]
    dh = h * one(6)
    dr = np.clip(np.abs(dh - one(3)) - one(1), one(0), one(1))
    dg = np.clip(-np.abs(dh - one(2)) + one(2), one(0), one(1))
    db = np.clip(-np.abs(dh - one(4)) + one(2), one(0), one(1))
    one_s = -s + one(1)
    out = np.stack([(one_s + s * dr) * v, (one_s + s * dg) * v, (one_s + s * db) * v], axis=-1)
    return _finish(out, x.dtype, T)


def _hv_range(r, g, b):
    """TF's AdjustHue decomposition: hue in [0, 6), and the min/max of the RGB components."""
    rg = r < g
    b_lt_r, b_gt_g = b < r, b > g
    b_lt_g, b_gt_r = b < g, b > r
    cat = np.where(rg, np.where(b_lt_r, 1, np.where(b_gt_g, 3, 2)),
                   np.where(b_lt_g, 0, np.where(b_gt_r, 4, 5)))
    vmax = np.where(rg, np.where(b_lt_r, g, np.where(b_gt_g, b, g)), np.where(b_lt_g, r, np.where(b_gt_r, b, r)))
    vmid = np.where(rg, np.where(b_lt_r, r, np.where(b_gt_g, g, b)), np.where(b_lt_g, g, np.where(b_gt_r, r, b)))
    vmin = np.where(rg, np.where(b_lt_r, b, r), np.where(b_lt_g, b, g))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (vmid - vmin) / (vmax - vmin)
    h = cat.astype(F32) + np.where(cat % 2 == 0, ratio, F32(1) - ratio)
    return np.where(vmax == vmin, F32(0), h), vmin, vmax


def _hv_range_to_rgb(h, vmin, vmax):
    cat = h.astype(np.int64)  # truncation, as static_cast<int>
    ratio = h - cat.astype(F32)
    ratio = np.where(cat % 2 == 0, ratio, F32(1) - ratio)
    vmid = vmin + ratio * (vmax - vmin)
    table = [(vmax, vmid, vmin), (vmid, vmax, vmin), (vmin, vmax, vmid), (vmin, vmid, vmax), (vmid, vmin, vmax)]
    r, g, b = vmax, vmin, vmid  # category 5 and anything else
    for k, (rr, gg, bb) in enumerate(table):
        sel = cat == k
        r, g, b = np.where(sel, rr, r), np.where(sel, gg, g), np.where(sel, bb, b)
    return r, g, b


def _wrap_hue(h: np.ndarray, period: float) -> np.ndarray:
    """Bring h into [0, period) by repeated +-period like TF's loops; far-out values via floor division
    (TF would loop for very long, or forever on infinities)."""
    p = F32(period)
    for _ in range(8):
        h = np.where(h < 0, h + p, h)
        h = np.where(h >= p, h - p, h)
    with np.errstate(invalid="ignore"):
        bad = (h < 0) | (h >= p)
        if bad.any():
            h = np.where(bad, h - p * np.floor(h / p), h)
            h = np.where(np.isfinite(h) & (h >= 0) & (h < p), h, np.where(np.isnan(h), h, F32(0)))
    return h


def _rgb_images(images, op_name: str) -> np.ndarray:
    """`_rgb`, for the Adjust* ops that also want at least one [height, width, 3] image."""
    x = _rgb(images, op_name)
    if x.ndim < 3:
        raise ExecutionError(f"{op_name}: input must be at least 3-D, got shape {x.shape}")
    return x


def _scalar_factor(value, op_name: str, name: str) -> np.ndarray:
    """A one-element adjustment factor as a float32 scalar."""
    f = np.asarray(value, F32)
    if f.size != 1:
        raise ExecutionError(f"{op_name}: {name} must be a scalar")
    return f.reshape(())


@op("AdjustHue", inputs=["images", "delta"], attrs={"T": dtypes.float32})
def adjust_hue(images, delta, *, T):
    x = _rgb_images(images, "AdjustHue")
    d = _scalar_factor(delta, "AdjustHue", "delta")
    w = x.astype(F32)
    h, vmin, vmax = _hv_range(w[..., 0], w[..., 1], w[..., 2])
    h = _wrap_hue(h + d * F32(6), 6.0)
    r, g, b = _hv_range_to_rgb(h, vmin, vmax)
    return _finish(np.stack([r, g, b], axis=-1), x.dtype, T)


@op("AdjustSaturation", inputs=["images", "scale"], attrs={"T": dtypes.float32})
def adjust_saturation(images, scale, *, T):
    x = _rgb_images(images, "AdjustSaturation")
    sc = _scalar_factor(scale, "AdjustSaturation", "scale")
    w = x.astype(F32)
    r, g, b = w[..., 0], w[..., 1], w[..., 2]
    v = np.maximum(r, np.maximum(g, b))
    rng = v - np.minimum(r, np.minimum(g, b))
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(v > 0, rng / v, F32(0))
        norm = F32(1) / (F32(6) * rng)
        # 2.0/6.0 and 4.0/6.0 are double constants in TF's code: the sum is formed in double.
        h = np.where(r == v, norm * (g - b),
                     np.where(g == v, ((norm * (b - r)).astype(np.float64) + 2.0 / 6.0).astype(F32),
                              ((norm * (r - g)).astype(np.float64) + 4.0 / 6.0).astype(F32)))
    h = np.where(rng <= 0, F32(0), h)
    h = np.where(h < 0, h + F32(1), h)
    s = np.minimum(F32(1), np.maximum(F32(0), s * sc))
    # HSV -> RGB (Wikipedia's algorithm, as TF's kernel implements it)
    c = s * v
    m = v - c
    dh = h * F32(6)
    cat = dh.astype(np.int64)
    fmodu = dh
    for _ in range(4):
        fmodu = np.where(fmodu <= 0, fmodu + F32(2), fmodu)
    for _ in range(4):
        fmodu = np.where(fmodu >= 2, fmodu - F32(2), fmodu)
    xx = c * (F32(1) - np.abs(fmodu - F32(1)))
    zero = np.zeros_like(c)
    table = [(c, xx, zero), (xx, c, zero), (zero, c, xx), (zero, xx, c), (xx, zero, c), (c, zero, xx)]
    rr, gg, bb = zero, zero, zero
    for k, (a0, a1, a2) in enumerate(table):
        sel = cat == k
        rr, gg, bb = np.where(sel, a0, rr), np.where(sel, a1, gg), np.where(sel, a2, bb)
    return _finish(np.stack([rr + m, gg + m, bb + m], axis=-1), x.dtype, T)


@op("AdjustContrastv2", inputs=["images", "contrast_factor"], attrs={"T": dtypes.float32})
def adjust_contrastv2(images, contrast_factor, *, T):
    x = np.asarray(images)
    if x.ndim < 3:
        raise ExecutionError(f"AdjustContrastv2: input must be at least 3-D, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise ExecutionError(f"AdjustContrastv2: images must be floating point, got {x.dtype}")
    f = _scalar_factor(contrast_factor, "AdjustContrastv2", "contrast_factor")
    if x.size == 0:
        return x.copy()
    H, W, C = x.shape[-3:]
    w = x.astype(F32).reshape(-1, H * W, C)
    # TF sums each image plane by folding it in halves (pairwise), then scales by 1/(H*W).
    acc, n = w, H * W
    while True:
        right = n // 2
        left = n - right
        acc = np.concatenate([acc[:, left:left + right] + acc[:, :right], acc[:, right:left]], axis=1)
        n = left
        if n <= 1:
            break
    mean = acc[:, :1] * (F32(1) / F32(H * W))
    out = mean + f * (w - mean)
    return out.reshape(x.shape).astype(x.dtype)


# --------------------------------------------------------------------------- ResizeArea

def _area_weights(out_size: int, in_size: int, scale: np.float32) -> np.ndarray:
    """[out_size, in_size] float32 weights: the fraction of each source cell under each output cell (TF's
    float32 cell bounds, indices past the border clamped onto it)."""
    w = np.zeros((out_size, in_size), F32)
    for o in range(out_size):
        lo = F32(o) * scale
        hi = F32(o + 1) * scale
        for i in range(int(math.floor(lo)), int(math.ceil(hi))):
            if i < lo:
                part = scale if i + 1 > hi else F32(i + 1) - lo
            else:
                part = hi - F32(i) if i + 1 > hi else F32(1)
            w[o, min(max(i, 0), in_size - 1)] += part
    return w


@op("ResizeArea", inputs=["images", "size"], attrs={"align_corners": False, "T": REQUIRED})
def resize_area(images, size, *, align_corners, T):
    x = _images4(images, "ResizeArea")
    oh, ow = _size2(size, "ResizeArea")
    B, H, W, C = x.shape
    if H == 0 or W == 0:
        raise ExecutionError("ResizeArea: input image must have positive height and width")
    _check_output((B, oh, ow, C), 4, "ResizeArea")
    hs, ws = _resize_scale(H, oh, align_corners), _resize_scale(W, ow, align_corners)
    wy, wx = _area_weights(oh, H, hs), _area_weights(ow, W, ws)
    img = x.astype(np.float64)
    out = np.einsum("yh,bhwc,xw->byxc", wy.astype(np.float64), img, wx.astype(np.float64), optimize=True)
    return (out * float(F32(1) / (hs * ws))).astype(F32)


# --------------------------------------------------------------------------- ScaleAndTranslate

def _lanczos(radius: float):
    def k(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            v = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius) / (np.pi * np.pi * x * x)
        return np.where(x > radius, 0.0, np.where(x <= 1e-3, 1.0, v))
    return k, radius


_SAMPLING_KERNELS = {
    "lanczos1": _lanczos(1.0), "lanczos3": _lanczos(3.0), "lanczos5": _lanczos(5.0),
    "gaussian": (lambda x: np.where(x >= 1.5, 0.0, np.exp(-x * x / (2 * 0.5 * 0.5))), 1.5),
    "box": (lambda x: np.where(x < 0.5, 1.0, np.where(x == 0.5, 0.5, 0.0)), 1.0),
    "triangle": (lambda x: np.where(x < 1.0, 1.0 - x, 0.0), 1.0),
    "keyscubic": (lambda x: np.where(x >= 2.0, 0.0, np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0,
                                                             (1.5 * x - 2.5) * x * x + 1.0)), 2.0),
    "mitchellcubic": (lambda x: np.where(x >= 2.0, 0.0, np.where(
        x >= 1.0, ((-7.0 / 18.0 * x + 2.0) * x - 10.0 / 3.0) * x + 16.0 / 9.0,
        ((7.0 / 6.0 * x - 2.0) * x) * x + 8.0 / 9.0)), 2.0),
}


def _span_weights(out_size: int, in_size: int, scale: float, translate: float, kernel, radius: float,
                  antialias: bool) -> np.ndarray:
    """[out_size, in_size] weights of TF's ComputeSpans: the kernel centred on each output sample's source
    position (stretched by 1/scale when antialiasing a downscale), normalized to sum 1; no weights for
    samples outside the source."""
    inv_scale = F32(1) / F32(scale)
    inv_translate = -inv_scale * F32(translate)
    kscale = max(float(inv_scale), 1.0) if antialias else 1.0
    w = np.zeros((out_size, in_size), F32)
    for o in range(out_size):
        sample = float(F32(F32(o) + F32(0.5)) * inv_scale + inv_translate)
        if sample < 0 or sample > in_size:
            continue
        start = min(max(math.ceil(sample - radius * kscale - 0.5), 0), in_size - 1)
        end = min(max(math.floor(sample + radius * kscale - 0.5), 0), in_size - 1) + 1
        pos = np.arange(start, end, dtype=np.float64) + 0.5 - sample
        taps = kernel(np.abs(pos / kscale)).astype(F32)
        total = float(taps.astype(np.float64).sum())
        if abs(total) >= 1000.0 * float(np.finfo(F32).tiny):
            w[o, start:end] = taps * (F32(1) / F32(total))
    return w


@op("ScaleAndTranslate", inputs=["images", "size", "scale", "translation"],
    attrs={"kernel_type": "lanczos3", "antialias": True, "T": REQUIRED})
def scale_and_translate(images, size, scale, translation, *, kernel_type, antialias, T):
    x = _images4(images, "ScaleAndTranslate")
    oh, ow = _size2(size, "ScaleAndTranslate")
    s, t = np.asarray(scale, F32).reshape(-1), np.asarray(translation, F32).reshape(-1)
    if s.shape != (2,) or t.shape != (2,):
        raise ExecutionError("ScaleAndTranslate: scale and translation must be 1-D of 2 elements")
    if not (s > 0).all():
        raise ExecutionError("ScaleAndTranslate: scale must be positive")
    if kernel_type not in _SAMPLING_KERNELS:
        raise ExecutionError(f"ScaleAndTranslate: unknown kernel type {kernel_type!r}")
    B, H, W, C = x.shape
    if H == 0 or W == 0:
        raise ExecutionError("ScaleAndTranslate: input image must have positive height and width")
    _check_output((B, oh, ow, C), 4, "ScaleAndTranslate")
    kernel, radius = _SAMPLING_KERNELS[kernel_type]
    wy = _span_weights(oh, H, float(s[0]), float(t[0]), kernel, radius, antialias)
    wx = _span_weights(ow, W, float(s[1]), float(t[1]), kernel, radius, antialias)
    rows = np.einsum("yh,bhwc->bywc", wy, x.astype(F32), optimize=True).astype(F32)   # rows first, as TF
    return np.einsum("xw,bywc->byxc", wx, rows, optimize=True).astype(F32)


# --------------------------------------------------------------------------- ExtractImagePatches

@op("ExtractImagePatches", inputs=["images"],
    attrs={"ksizes": REQUIRED, "strides": REQUIRED, "rates": REQUIRED, "padding": REQUIRED})
def extract_image_patches(images, *, ksizes, strides, rates, padding):
    x = np.asarray(images)
    if x.ndim != 4:
        raise ExecutionError(f"ExtractImagePatches: input must be 4-D, got shape {x.shape}")
    for name, v in (("ksizes", ksizes), ("strides", strides), ("rates", rates)):
        if len(v) != 4 or v[0] != 1 or v[3] != 1:
            raise ExecutionError(f"ExtractImagePatches: {name} must be [1, r, c, 1], got {list(v)}")
        if min(v) < 1:
            raise ExecutionError(f"ExtractImagePatches: {name} must be positive, got {list(v)}")
    if padding not in ("SAME", "VALID"):
        raise ExecutionError(f"ExtractImagePatches: padding must be SAME or VALID, got {padding!r}")
    B, H, W, C = x.shape
    dims = []
    for size, k, s, r in ((H, ksizes[1], strides[1], rates[1]), (W, ksizes[2], strides[2], rates[2])):
        eff = k + (k - 1) * (r - 1)
        if padding == "VALID":
            out = max(0, -(-(size - eff + 1) // s))
            before = 0
        else:
            out = -(-size // s)
            before = max(0, (out - 1) * s + eff - size) // 2
        dims.append((out, before, k, s, r))
    (oh, ph, kh, sh, rh), (ow, pw, kw, sw, rw) = dims
    _check_output((B, oh, ow, kh * kw * C), x.itemsize, "ExtractImagePatches")
    rows = np.arange(oh)[:, None] * sh + np.arange(kh)[None, :] * rh          # [oh, kh], in padded rows
    cols = np.arange(ow)[:, None] * sw + np.arange(kw)[None, :] * rw          # [ow, kw]
    after_h = max(0, int(rows.max(initial=0)) + 1 - ph - H)
    after_w = max(0, int(cols.max(initial=0)) + 1 - pw - W)
    padded = np.pad(x, ((0, 0), (ph, after_h), (pw, after_w), (0, 0)))          # SAME pads with zeros
    patches = padded[:, rows[:, None, :, None], cols[None, :, None, :]]         # [B, oh, ow, kh, kw, C]
    return patches.reshape(B, oh, ow, kh * kw * C)


# --------------------------------------------------------------------------- CombinedNonMaxSuppression

@op("CombinedNonMaxSuppression",
    inputs=["boxes", "scores", "max_output_size_per_class", "max_total_size", "iou_threshold", "score_threshold"],
    attrs={"pad_per_class": False, "clip_boxes": True})
def combined_non_max_suppression(boxes, scores, max_output_size_per_class, max_total_size, iou_threshold,
                                 score_threshold, *, pad_per_class, clip_boxes):
    b = np.asarray(boxes, F32)
    sc = np.asarray(scores, F32)
    if b.ndim != 4 or b.shape[3] != 4:
        raise ExecutionError(f"CombinedNonMaxSuppression: boxes must be 4-D [batch, boxes, q, 4], got {b.shape}")
    if sc.ndim != 3 or sc.shape[:2] != b.shape[:2]:
        raise ExecutionError(f"CombinedNonMaxSuppression: scores must be [batch, boxes, classes] matching the "
                             f"boxes, got {sc.shape}")
    batches, num_boxes, q, _ = b.shape
    classes = sc.shape[2]
    if q != 1 and q != classes:
        raise ExecutionError("CombinedNonMaxSuppression: third dimension of boxes must be 1 or num_classes")
    per_class = int(np.asarray(max_output_size_per_class).reshape(()))
    total = int(np.asarray(max_total_size).reshape(()))
    if per_class <= 0 or total <= 0:
        raise ExecutionError("CombinedNonMaxSuppression: max_output_size_per_class and max_total_size must be > 0")
    iou = _iou_threshold(iou_threshold, "CombinedNonMaxSuppression")
    sthr = F32(np.asarray(score_threshold).reshape(()))
    size_per_class = min(per_class, num_boxes)
    per_batch = min(total, per_class * classes) if pad_per_class else total
    _check_output((batches, per_batch, 4), 4, "CombinedNonMaxSuppression")
    out_boxes = np.zeros((batches, per_batch, 4), F32)
    out_scores = np.zeros((batches, per_batch), F32)
    out_classes = np.zeros((batches, per_batch), F32)
    valid = np.zeros(batches, np.int32)
    for bi in range(batches):
        found = []   # (score, class, box coordinates) of every box kept by its class's greedy NMS
        for c in range(classes):
            cb = b[bi, :, 0 if q == 1 else c]
            s = sc[bi, :, c]
            heap = [(-float(s[i]), i) for i in range(num_boxes) if s[i] > sthr]
            heapq.heapify(heap)
            kept: list[int] = []
            while len(kept) < size_per_class and heap:
                _, i = heapq.heappop(heap)
                if kept and (_iou_one_to_many(cb, i, np.asarray(kept[::-1], np.int64)) > F32(iou)).any():
                    continue
                kept.append(i)
                found.append((s[i], c, cb[i]))
        found.sort(key=lambda r: -float(r[0]))
        n = min(len(found), total) if not pad_per_class else min(per_batch, len(found))
        valid[bi] = n
        for j, (score, c, box) in enumerate(found[:n]):
            out_boxes[bi, j] = np.clip(box, F32(0), F32(1)) if clip_boxes else box
            out_scores[bi, j] = score
            out_classes[bi, j] = c
    return out_boxes, out_scores, out_classes, valid
