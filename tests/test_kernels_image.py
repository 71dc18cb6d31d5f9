"""Image kernels (image_ops; codec_ops: PNG/BMP/JPEG decoding): hand-computed cases and literal outputs
verified against TensorFlow 2.21 (most of these kernels reproduce TF's results bit for bit)."""
from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import pytest

from smlens import dtypes
from smlens.errors import SmlensError
from smlens.kernels import image_codecs

from helpers.kernels import f32, run_typed as run  # image/nn kernels get T from the first input
from helpers.floats import assert_ulp_close


MODES = [(False, False), (True, False), (False, True)]  # (align_corners, half_pixel_centers)

# ---------------------------------------------------------------- resizing

BILINEAR_2x2_TO_3x5 = {
    (False, False): [[1.0, 1.399999976158142, 1.7999999523162842, 2.0, 2.0],
                     [2.3333334922790527, 2.7333333492279053, 3.133333206176758, 3.3333334922790527,
                      3.3333334922790527], [3.0, 3.4000000953674316, 3.799999952316284, 4.0, 4.0]],
    (True, False): [[1.0, 1.25, 1.5, 1.75, 2.0], [2.0, 2.25, 2.5, 2.75, 3.0], [3.0, 3.25, 3.5, 3.75, 4.0]],
    (False, True): [[1.0, 1.100000023841858, 1.5, 1.899999976158142, 2.0],
                    [2.0, 2.0999999046325684, 2.5, 2.9000000953674316, 3.0],
                    [3.0, 3.0999999046325684, 3.5, 3.9000000953674316, 4.0]],
}


@pytest.mark.parametrize("mode", MODES)
def test_resize_bilinear_tf_literals(mode):
    x = f32([[1, 2], [3, 4]]).reshape(1, 2, 2, 1)
    out = run("ResizeBilinear", x, np.array([3, 5], np.int32), align_corners=mode[0], half_pixel_centers=mode[1])
    assert out.dtype == np.float32 and out.shape == (1, 3, 5, 1)
    assert_ulp_close(out[0, :, :, 0], f32(BILINEAR_2x2_TO_3x5[mode]), max_ulp=2)
    # integer images are interpolated in float32 and give float32
    out_i = run("ResizeBilinear", x.astype(np.uint8), np.array([3, 5], np.int32), align_corners=mode[0],
                half_pixel_centers=mode[1])
    assert out_i.dtype == np.float32
    np.testing.assert_array_equal(out_i, out)   # the same float32 arithmetic, on the same machine


NEAREST_3x4_TO_5x3 = {
    (False, False): [[0, 1, 2], [0, 1, 2], [4, 5, 6], [4, 5, 6], [8, 9, 10]],
    (True, False): [[0, 2, 3], [4, 6, 7], [4, 6, 7], [8, 10, 11], [8, 10, 11]],
    (False, True): [[0, 2, 3], [0, 2, 3], [4, 6, 7], [8, 10, 11], [8, 10, 11]],
}


@pytest.mark.parametrize("mode", MODES)
def test_resize_nearest_tf_literals(mode):
    x = np.arange(12, dtype=np.int32).reshape(1, 3, 4, 1)
    out = run("ResizeNearestNeighbor", x, np.array([5, 3], np.int32), align_corners=mode[0],
              half_pixel_centers=mode[1])
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out[0, :, :, 0], NEAREST_3x4_TO_5x3[mode])


def test_resize_upscale_by_two_hand():
    x = f32([[0, 4], [8, 12]]).reshape(1, 2, 2, 1)
    out = run("ResizeBilinear", x, np.array([4, 4], np.int32), half_pixel_centers=True)
    # half-pixel centres: output x 0..3 samples input x -0.25, 0.25, 0.75, 1.25 (clamped at the borders)
    np.testing.assert_allclose(out[0, 0, :, 0], [0, 1, 3, 4])
    np.testing.assert_allclose(out[0, :, 0, 0], [0, 2, 6, 8])
    nn = run("ResizeNearestNeighbor", x, np.array([4, 4], np.int32))
    np.testing.assert_array_equal(nn[0, :, :, 0], [[0, 0, 4, 4], [0, 0, 4, 4], [8, 8, 12, 12], [8, 8, 12, 12]])


def test_resize_bicubic_tf_literals():
    # float32 powers come from NumPy's per-CPU SIMD path (AVX-512 vs AVX2 differ by an ULP): inputs and
    # outputs are compared in ULPs, never for equality
    x = (np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)) ** 1.5
    expected = {
        (False, False): [0.0, 0.48237940669059753, 1.554734706878662, 2.8284270763397217, 4.553023338317871,
                         5.459233283996582],
        (True, False): [0.0, 0.41416069865226746, 1.361280918121338, 2.30289888381958, 3.9455366134643555,
                        5.196152687072754],
        (False, True): [0.6704808473587036, 1.2151858806610107, 2.2721900939941406, 3.6221365928649902,
                        5.449869632720947, 6.684895038604736],
    }
    last_row = {(False, False): 52.90635299682617, (True, False): 58.094749450683594,
                (False, True): 56.19757080078125}
    for mode, first_row in expected.items():
        out = run("ResizeBicubic", x, np.array([3, 6], np.int32), align_corners=mode[0], half_pixel_centers=mode[1])
        assert_ulp_close(out[0, 0, :, 0], f32(first_row), max_ulp=4)
        assert_ulp_close(out[0, 2, 5, 0], np.float32(last_row[mode]), max_ulp=4)


def test_resize_errors():
    x = np.zeros((1, 2, 2, 1), np.float32)
    with pytest.raises(SmlensError):
        run("ResizeBilinear", x, np.array([2, 2], np.int32), align_corners=True, half_pixel_centers=True)
    with pytest.raises(SmlensError):
        run("ResizeBilinear", x, np.array([0, 2], np.int32))
    with pytest.raises(SmlensError):
        run("ResizeNearestNeighbor", x, np.array([2, 2, 2], np.int32))
    with pytest.raises(SmlensError):
        run("ResizeBilinear", np.zeros((2, 2, 1), np.float32), np.array([2, 2], np.int32))
    assert run("ResizeBilinear", np.zeros((0, 2, 2, 1), np.float32), np.array([3, 3], np.int32)).shape == (0, 3, 3, 1)
    with pytest.raises(SmlensError, match="GiB"):
        run("ResizeBilinear", x, np.array([2**30, 2**30], np.int32))


# ---------------------------------------------------------------- crop and resize

BOXES = f32([[0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], [-0.5, 0.5, 0.5, 1.5], [0.5, 0.5, 0.5, 0.5]])


def test_crop_and_resize_tf_literals():
    image = np.arange(20, dtype=np.float32).reshape(1, 4, 5, 1)
    ind = np.zeros(4, np.int32)
    out = run("CropAndResize", image, BOXES, ind, np.array([3, 2], np.int32), extrapolation_value=-1.0)
    assert_ulp_close(out[..., 0], f32([
        [[0.0, 4.0], [7.5, 11.5], [15.0, 19.0]],
        [[2.299999952316284, 5.100000381469727], [6.800000190734863, 9.600000381469727],
         [11.299999237060547, 14.100000381469727]],
        [[-1.0, -1.0], [2.0, -1.0], [9.5, -1.0]],
        [[9.5, 9.5], [9.5, 9.5], [9.5, 9.5]]]), max_ulp=2)
    out = run("CropAndResize", image, BOXES, ind, np.array([3, 2], np.int32), method="nearest",
              extrapolation_value=-1.0)
    np.testing.assert_array_equal(out[..., 0], f32([
        [[0, 4], [10, 14], [15, 19]], [[1, 4], [6, 9], [11, 14]], [[-1, -1], [2, -1], [12, -1]],
        [[12, 12], [12, 12], [12, 12]]]))


def test_crop_and_resize_full_box_is_align_corners_resize():
    image = np.arange(2 * 4 * 5 * 2, dtype=np.uint8).reshape(2, 4, 5, 2)
    out = run("CropAndResize", image, f32([[0, 0, 1, 1]]), np.array([1], np.int32), np.array([7, 3], np.int32))
    ref = run("ResizeBilinear", image[1:], np.array([7, 3], np.int32), align_corners=True)
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-5)
    assert out.dtype == np.float32


def test_crop_and_resize_empty_and_errors():
    image = np.zeros((2, 3, 3, 1), np.float32)
    crop = np.array([2, 2], np.int32)
    assert run("CropAndResize", image, np.zeros((0, 4), np.float32), np.zeros(0, np.int32), crop).shape == (0, 2, 2, 1)
    with pytest.raises(SmlensError, match="box_ind"):
        run("CropAndResize", image, f32([[0, 0, 1, 1]]), np.array([2], np.int32), crop)
    with pytest.raises(SmlensError):
        run("CropAndResize", image, f32([[0, 0, 1]]), np.array([0], np.int32), crop)


# ---------------------------------------------------------------- projective transform

PROJ_TRANSFORM = f32([[1.1, 0.2, -1.3, -0.1, 0.9, 0.6, 0.01, -0.02]])
PROJ_EXPECTED = {
    ("CONSTANT", "NEAREST"): [[-5, 0, 1, 2, 3], [-5, 5, 6, 7, 8], [-5, 10, 11, 12, 14], [-5, 15, 17, 18, 19]],
    ("REFLECT", "NEAREST"): [[5, 0, 1, 2, 3], [10, 5, 6, 7, 8], [15, 10, 11, 12, 14], [15, 15, 17, 18, 19]],
    ("WRAP", "NEAREST"): [[9, 4, 1, 2, 3], [14, 5, 6, 7, 8], [19, 10, 11, 12, 14], [4, 0, 2, 3, 19]],
    ("NEAREST", "NEAREST"): [[5, 0, 1, 2, 3], [10, 5, 6, 7, 8], [15, 10, 11, 12, 14], [15, 15, 17, 18, 19]],
    ("CONSTANT", "BILINEAR"): [
        [-5.0, 0.9950007796287537, 2.843137264251709, 3.3980586528778076, 3.942307949066162],
        [-5.0, 7.070707321166992, 7.600000381469727, 8.11881160736084, 8.627450942993164],
        [-3.90625, 12.06185531616211, 12.551018714904785, 13.030303001403809, 13.5],
        [-2.501129388809204, 7.8975114822387695, 11.621091842651367, 15.576045989990234, 18.571426391601562]],
    ("REFLECT", "BILINEAR"): [
        [3.3000001907348633, 2.475247621536255, 2.843137264251709, 3.3980586528778076, 3.942307949066162],
        [7.775509834289551, 7.070707321166992, 7.600000381469727, 8.11881160736084, 8.627450942993164],
        [12.500001907348633, 12.06185531616211, 12.551018714904785, 13.030303001403809, 13.5],
        [15.0, 15.421052932739258, 16.5625, 17.68041229248047, 18.571426391601562]],
    ("WRAP", "BILINEAR"): [
        [6.700000286102295, 6.475247859954834, 2.843137264251709, 3.3980586528778076, 3.942307949066162],
        [11.53061294555664, 7.070707321166992, 7.600000381469727, 8.11881160736084, 8.627450942993164],
        [16.500001907348633, 12.06185531616211, 12.551018714904785, 13.030303001403809, 13.5],
        [4.0, 0.4210527241230011, 1.562500238418579, 2.680412530899048, 18.571426391601562]],
}


@pytest.mark.parametrize("key", sorted(PROJ_EXPECTED))
def test_projective_transform_v3_tf_literals(key):
    fill_mode, interpolation = key
    image = np.arange(20, dtype=np.float32).reshape(1, 4, 5, 1)
    out = run("ImageProjectiveTransformV3", image, PROJ_TRANSFORM, np.array([4, 5], np.int32), f32(-5),
              interpolation=interpolation, fill_mode=fill_mode, dtype=dtypes.float32)
    np.testing.assert_allclose(out[0, :, :, 0], PROJ_EXPECTED[key], rtol=2e-7, atol=1e-6)


def test_projective_transform_identity_translation_and_dtypes():
    image = np.arange(2 * 3 * 4 * 2, dtype=np.uint8).reshape(2, 3, 4, 2)
    ident = f32([[1, 0, 0, 0, 1, 0, 0, 0]])
    out = run("ImageProjectiveTransformV2", image, ident, np.array([3, 4], np.int32), interpolation="BILINEAR",
              dtype=dtypes.uint8)
    np.testing.assert_array_equal(out, image)
    shift = f32([[1, 0, 1, 0, 1, 0, 0, 0], [1, 0, 0, 0, 1, -1, 0, 0]])  # per-image transforms
    out = run("ImageProjectiveTransformV3", image, shift, np.array([3, 4], np.int32), f32(7),
              interpolation="NEAREST", dtype=dtypes.uint8)
    np.testing.assert_array_equal(out[0, :, :3], image[0, :, 1:])
    np.testing.assert_array_equal(out[0, :, 3], 7)
    np.testing.assert_array_equal(out[1, 1:], image[1, :2])
    np.testing.assert_array_equal(out[1, 0], 7)
    with pytest.raises(SmlensError):
        run("ImageProjectiveTransformV2", image, f32([[1, 0, 0]]), np.array([3, 4], np.int32),
            interpolation="NEAREST", dtype=dtypes.uint8)


# ---------------------------------------------------------------- non-max suppression

NMS_BOXES = f32([[0, 0, 1, 1], [0, 0.1, 1, 1.1], [0, -0.1, 1, 0.9], [0, 10, 1, 11], [0, 10.1, 1, 11.1],
                 [0, 100, 1, 101]])
NMS_SCORES = f32([0.9, 0.75, 0.6, 0.95, 0.5, 0.3])


def test_nms_classic_example():
    # the example of tf.image.non_max_suppression's documentation
    sel = run("NonMaxSuppressionV3", NMS_BOXES, NMS_SCORES, np.array(3, np.int32), f32(0.5), f32(0.0))
    assert sel.dtype == np.int32
    np.testing.assert_array_equal(sel, [3, 0, 5])
    np.testing.assert_array_equal(run("NonMaxSuppression", NMS_BOXES, NMS_SCORES, np.array(10, np.int32)),
                                  [3, 0, 5])
    np.testing.assert_array_equal(run("NonMaxSuppressionV2", NMS_BOXES, NMS_SCORES, np.array(10, np.int32),
                                      f32(1.0)), [3, 0, 1, 2, 4, 5])
    np.testing.assert_array_equal(run("NonMaxSuppressionV3", NMS_BOXES, NMS_SCORES, np.array(10, np.int32),
                                      f32(0.5), f32(0.4)), [3, 0])


def test_nms_v4_padding_and_ties():
    sel, valid = run("NonMaxSuppressionV4", NMS_BOXES, NMS_SCORES, np.array(5, np.int32), f32(0.5), f32(0.0),
                     pad_to_max_output_size=True)
    np.testing.assert_array_equal(sel, [3, 0, 5, 0, 0])
    assert valid.shape == () and valid == 3 and valid.dtype == np.int32
    far = f32([[0, 0, 1, 1], [5, 5, 6, 6], [10, 10, 11, 11]])
    sel = run("NonMaxSuppressionV3", far, f32([0.5, 0.7, 0.5]), np.array(3, np.int32), f32(0.5), f32(0.0))
    np.testing.assert_array_equal(sel, [1, 0, 2])  # equal scores: lower index first
    sel = run("NonMaxSuppressionV3", far, f32([0.5, 0.7, 0.5]), np.array(0, np.int32), f32(0.5), f32(0.0))
    assert sel.shape == (0,)
    with pytest.raises(SmlensError, match="iou_threshold"):
        run("NonMaxSuppressionV3", far, f32([0.5, 0.7, 0.5]), np.array(3, np.int32), f32(1.5), f32(0.0))
    with pytest.raises(SmlensError):
        run("NonMaxSuppressionV3", far, f32([0.5, 0.7]), np.array(3, np.int32), f32(0.5), f32(0.0))


def test_nms_v5_soft_tf_literal():
    sel, scores, valid = run("NonMaxSuppressionV5", NMS_BOXES, NMS_SCORES, np.array(6, np.int32), f32(0.5),
                             f32(0.0), f32(0.5))
    np.testing.assert_array_equal(sel, [3, 0, 1, 5, 4, 2])
    assert_ulp_close(scores, f32([0.949999988079071, 0.8999999761581421, 0.38400354981422424,   # exp(): ULPs
                                  0.30000001192092896, 0.25600260496139526, 0.19697244465351105]), max_ulp=4)
    assert valid == 6
    sel, scores, valid = run("NonMaxSuppressionV5", NMS_BOXES, NMS_SCORES, np.array(4, np.int32), f32(0.5),
                             f32(0.0), f32(0.0), pad_to_max_output_size=True)
    np.testing.assert_array_equal(sel, [3, 0, 5, 0])
    np.testing.assert_array_equal(scores, f32([0.95, 0.9, 0.3, 0]))
    assert valid == 3


def test_nms_with_overlaps():
    overlaps = f32([[1, 0.8, 0.1], [0.8, 1, 0.2], [0.1, 0.2, 1]])
    sel = run("NonMaxSuppressionWithOverlaps", overlaps, f32([0.9, 0.95, 0.5]), np.array(3, np.int32), f32(0.5),
              f32(0.0))
    np.testing.assert_array_equal(sel, [1, 2])


# ---------------------------------------------------------------- colour

RGB = f32([[0.2, 0.4, 0.6], [1, 0, 0], [0.5, 0.5, 0.5], [0.9, 0.1, 0.4], [0.3, 0.8, 0.35]]).reshape(1, 5, 1, 3)


def test_rgb_hsv_round_trip_and_literals():
    hsv = run("RGBToHSV", RGB)
    assert_ulp_close(hsv[0, :, 0], f32([
        [0.5833333730697632, 0.6666666865348816, 0.6000000238418579], [0.0, 1.0, 1.0], [0.0, 0.0, 0.5],
        [0.9375, 0.8888888359069824, 0.8999999761581421], [0.3499999940395355, 0.625, 0.800000011920929]]), max_ulp=2)
    np.testing.assert_allclose(run("HSVToRGB", hsv), RGB, atol=1e-6)
    np.testing.assert_allclose(run("HSVToRGB", f32([[1 / 3, 1, 1], [2 / 3, 0.5, 0.8]])),
                               [[0, 1, 0], [0.4, 0.4, 0.8]], atol=1e-6)
    assert run("RGBToHSV", RGB.astype(np.float64)).dtype == np.float64
    with pytest.raises(SmlensError):
        run("RGBToHSV", np.zeros((2, 4), np.float32))


def test_adjust_hue_saturation_contrast_tf_literals():
    assert_ulp_close(run("AdjustHue", RGB, f32(0.3))[0, :, 0], f32([
        [0.6000000238418579, 0.20000000298023224, 0.47999995946884155], [0.19999980926513672, 1.0, 0.0],
        [0.5, 0.5, 0.5], [0.5599998235702515, 0.8999999761581421, 0.10000000149011612],
        [0.30000001192092896, 0.34999996423721313, 0.800000011920929]]), max_ulp=4, atol=1e-7)
    assert_ulp_close(run("AdjustSaturation", RGB, f32(0.4))[0, :, 0], f32([
        [0.4399999976158142, 0.5199999809265137, 0.6000000238418579], [1.0, 0.6000000238418579, 0.6000000238418579],
        [0.5, 0.5, 0.5], [0.8999999761581421, 0.5800000429153442, 0.7000000476837158],
        [0.6000000238418579, 0.800000011920929, 0.6200000047683716]]), max_ulp=4)
    assert_ulp_close(run("AdjustContrastv2", RGB, f32(1.8))[0, :, 0], f32([   # a mean: a reduction
        [-0.1040000319480896, 0.4320000112056732, 0.784000039100647],
        [1.3359999656677246, -0.2879999577999115, -0.29600000381469727],
        [0.4359999895095825, 0.6119999885559082, 0.6039999723434448],
        [1.1559998989105225, -0.10799998044967651, 0.42399999499320984],
        [0.07599997520446777, 1.152000069618225, 0.33399999141693115]]), max_ulp=8)


def test_adjust_hue_full_turn_and_contrast_identity():
    np.testing.assert_allclose(run("AdjustHue", RGB, f32(1.0)), RGB, atol=1e-6)
    np.testing.assert_allclose(run("AdjustHue", RGB, f32(-2.0)), RGB, atol=1e-6)
    assert np.isfinite(run("AdjustHue", RGB, f32(1e30))).all()  # TF would loop forever; we must not hang
    np.testing.assert_allclose(run("AdjustContrastv2", RGB, f32(1.0)), RGB, atol=1e-6)
    mean = RGB.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(run("AdjustContrastv2", RGB, f32(0.0)), np.broadcast_to(mean, RGB.shape), atol=1e-6)
    np.testing.assert_allclose(run("AdjustSaturation", RGB, f32(0.0))[0, 1, 0], [1, 1, 1])  # grey = value


# ---------------------------------------------------------------- ResizeArea, ScaleAndTranslate, patches, combined NMS

RAMP = (np.arange(20, dtype=np.float32) ** 1.5).reshape(1, 4, 5, 1)


def test_resize_area_tf_literals():
    out = run("ResizeArea", RAMP, np.array([3, 2], np.int32))
    assert out.dtype == np.float32 and out.shape == (1, 3, 2, 1)
    np.testing.assert_allclose(out[0, :, :, 0], [[4.2380051612854, 10.271864891052246],
                                                 [24.80553436279297, 35.78550720214844],
                                                 [56.03136444091797, 70.27389526367188]], rtol=2e-7)
    as_int = run("ResizeArea", RAMP.astype(np.uint8), np.array([5, 7], np.int32), align_corners=True)
    assert as_int.dtype == np.float32   # integer images are averaged in float
    # the same float arithmetic on the same machine: bit-identical
    np.testing.assert_array_equal(as_int, run("ResizeArea", RAMP.astype(np.uint8).astype(np.float32),
                                              np.array([5, 7], np.int32), align_corners=True))
    up = run("ResizeArea", RAMP, np.array([5, 7], np.int32), align_corners=True)
    np.testing.assert_allclose(up[0, :, 1, 0], [0.5000000596046448, 8.792427062988281, 19.976703643798828,
                                                34.052825927734375, 61.0473747253418], rtol=2e-7)


def test_scale_and_translate_kernels_tf_literals():
    size = np.array([3, 4], np.int32)
    lanczos = run("ScaleAndTranslate", RAMP, size, f32([0.75, 0.8]), f32([0, 0]))   # tf.image.resize lanczos3
    np.testing.assert_allclose(lanczos[0, :, :, 0], [
        [1.275214672088623, 3.309340476989746, 6.485157012939453, 10.163647651672363],
        [20.99823760986328, 26.298702239990234, 32.27888488769531, 38.31692123413086],
        [54.26799774169922, 61.35165023803711, 69.13993072509766, 76.81781768798828]], rtol=1e-6)
    # antialiased bilinear downscale: the triangle kernel stretched by 1/scale
    tri = run("ScaleAndTranslate", RAMP, np.array([2, 3], np.int32), f32([0.5, 0.6]), f32([0, 0]),
              kernel_type="triangle")
    np.testing.assert_allclose(tri[0, :, :, 0], [[10.436250686645508, 15.173168182373047, 20.82778549194336],
                                                 [42.24017333984375, 50.547874450683594, 59.3360595703125]],
                               rtol=1e-6)
    # translation moves samples past the right border: no weights there, 0
    keys = run("ScaleAndTranslate", RAMP, np.array([4, 6], np.int32), f32([1.0, 1.2]), f32([0.5, -1.0]),
               kernel_type="keyscubic", antialias=False)
    np.testing.assert_allclose(keys[0, 0, :, 0], [-0.972338080406189, 0.12325768172740936, 1.699244737625122,
                                                  3.7422637939453125, 5.7212605476379395, 0.0], rtol=3e-6)
    with pytest.raises(SmlensError, match="unknown kernel type"):
        run("ScaleAndTranslate", RAMP, size, f32([1, 1]), f32([0, 0]), kernel_type="sinc")


def test_extract_image_patches_valid_and_same_with_rates():
    y = np.arange(2 * 4 * 4 * 2, dtype=np.int32).reshape(2, 4, 4, 2)
    valid = run("ExtractImagePatches", y, ksizes=[1, 2, 2, 1], strides=[1, 2, 1, 1], rates=[1, 1, 1, 1],
                padding="VALID")
    assert valid.shape == (2, 2, 3, 8) and valid.dtype == np.int32
    assert valid[1, 1, 2].tolist() == [52, 53, 54, 55, 60, 61, 62, 63]
    same = run("ExtractImagePatches", y, ksizes=[1, 3, 2, 1], strides=[1, 2, 3, 1], rates=[1, 2, 1, 1],
               padding="SAME")
    assert same.shape == (2, 2, 2, 12)
    assert same[0, 0, 0].tolist() == [0, 0, 0, 0, 8, 9, 10, 11, 24, 25, 26, 27]   # zero padding above
    assert same[0, 1, 1].tolist() == [14, 15, 0, 0, 30, 31, 0, 0, 0, 0, 0, 0]


def test_combined_non_max_suppression_tf_literals():
    boxes = f32([[[[0, 0, 1, 1]], [[0, 0.1, 1, 1.1]], [[0, -0.1, 1, 0.9]], [[0, 10, 1, 11]], [[0, 10.1, 1, 11.1]],
                  [[0, 100, 1, 101]]]])
    scores = f32([[[0.9, 0.1], [0.75, 0.8], [0.6, 0.3], [0.95, 0.2], [0.5, 0.9], [0.3, 0.05]]])
    args = (np.int32(2), np.int32(5), f32(0.5), f32(0.25))
    b, s, c, n = run("CombinedNonMaxSuppression", boxes, scores, *args)
    assert b.shape == (1, 5, 4) and n.tolist() == [4] and n.dtype == np.int32 and c.dtype == np.float32
    np.testing.assert_array_equal(b[0], f32([[0, 1, 1, 1], [0, 0, 1, 1], [0, 1, 1, 1], [0, 0.1, 1, 1], [0, 0, 0, 0]]))
    np.testing.assert_array_equal(s[0], f32([0.95, 0.9, 0.9, 0.8, 0]))
    assert c[0].tolist() == [0, 0, 1, 1, 0]
    b, s, c, n = run("CombinedNonMaxSuppression", boxes, scores, np.int32(2), np.int32(10), f32(0.5), f32(0.25),
                     pad_per_class=True, clip_boxes=False)
    assert b.shape == (1, 4, 4)   # padded to min(max_total_size, per_class * classes)
    np.testing.assert_array_equal(b[0, 0], f32([0, 10, 1, 11]))


# ---------------------------------------------------------------- PNG / BMP decoding (codec_ops), TF 2.21 literals

def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def make_png(width, height, depth, ctype, rows, plte=None, trns=None, filters=None, bpp=1):
    """A PNG of the given raw scanlines, each row filtered with filters[r] (0 None .. 4 Paeth)."""
    raw, prev = b"", bytes(len(rows[0]))
    for r, line in enumerate(rows):
        f = filters[r] if filters else 0
        out = bytearray()
        for i, x in enumerate(line):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) >> 1, _paeth(a, b, c)][f]
            out.append((x - pred) & 0xFF)
        raw += bytes([f]) + bytes(out)
        prev = line
    data = image_codecs.PNG_MAGIC + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, 0))
    if plte:
        data += _chunk(b"PLTE", plte)
    if trns is not None:
        data += _chunk(b"tRNS", trns)
    return data + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def _bytes(data: bytes) -> np.ndarray:
    a = np.empty((), dtype=object)
    a[()] = data
    return a


def decode_png(data, channels=0, dtype=dtypes.uint8):
    return run("DecodePng", _bytes(data), channels=channels, dtype=dtype)


def test_png_filters_round_trip():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    data = make_png(4, 5, 8, 2, [img[r].tobytes() for r in range(5)], filters=[0, 1, 2, 3, 4], bpp=3)
    out = decode_png(data)
    assert out.dtype == np.uint8 and out.shape == (5, 4, 3)
    np.testing.assert_array_equal(out, img)


def test_png_transformations_tf_literals():
    rgb16 = make_png(2, 1, 16, 2, [struct.pack(">6H", 0, 0x1234, 0xFFFF, 0x80FF, 0x7F80, 0x0101)])
    assert decode_png(rgb16).reshape(-1).tolist() == [0, 18, 255, 128, 127, 1]          # high byte
    assert decode_png(rgb16, 1, dtypes.uint16).reshape(-1).tolist() == [10209, 29061]  # rounded at 16 bits
    assert decode_png(rgb16, 1).reshape(-1).tolist() == [39, 113]                       # then stripped
    rgb = make_png(4, 1, 8, 2, [bytes([1, 2, 3, 200, 100, 50, 17, 240, 33, 128, 128, 127])])
    assert decode_png(rgb, 1).reshape(-1).tolist() == [1, 124, 149, 127]                # truncated at 8 bits
    assert decode_png(rgb, 0, dtypes.uint16).reshape(-1)[:3].tolist() == [257, 514, 771]
    pal = make_png(3, 1, 2, 3, [bytes([0b00011011])], plte=bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]),
                   trns=bytes([128, 0]))
    assert decode_png(pal).reshape(-1).tolist() == [255, 0, 0, 128, 0, 255, 0, 0, 0, 0, 255, 255]   # RGBA
    assert decode_png(pal, 3).shape == (1, 3, 3) and decode_png(pal, 1).reshape(-1).tolist() == [76, 149, 29]
    g2 = make_png(4, 1, 2, 0, [bytes([0b00011011])])
    assert decode_png(g2).reshape(-1).tolist() == [0, 85, 170, 255]
    assert decode_png(g2, 4)[0, 0].tolist() == [0, 0, 0, 3]          # libpng's filler at the 2-bit depth
    gtrns = make_png(2, 1, 8, 0, [bytes([7, 9])], trns=struct.pack(">H", 7))
    assert decode_png(gtrns).shape == (1, 2, 1)                       # tRNS ignored unless 4 channels
    assert decode_png(gtrns, 4).reshape(-1).tolist() == [7, 7, 7, 0, 9, 9, 9, 255]
    ga = make_png(2, 1, 8, 4, [bytes([10, 200, 250, 0])])
    assert decode_png(ga, 3).reshape(-1).tolist() == [10, 10, 10, 250, 250, 250]
    # DecodeImage to float decodes at 16 bits and scales by 1/65535
    f = run("DecodeImage", _bytes(rgb), dtype=dtypes.float32)
    assert f.dtype == np.float32 and f[0, 1].tolist() == [0.7843137383460999, 0.3921568691730499, 0.19607843458652496]


def test_bmp_and_jpeg_shape_and_unsupported_formats():
    px = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    row = 12   # 3 pixels * 3 bytes, padded to 4
    data = b"".join(px[y, :, ::-1].tobytes() + bytes(row - 9) for y in (1, 0))   # bottom-up BGR
    bmp = b"BM" + struct.pack("<IHHI", 54 + len(data), 0, 0, 54) + struct.pack(
        "<IiiHHIIiiII", 40, 3, 2, 1, 24, 0, len(data), 0, 0, 0, 0) + data
    np.testing.assert_array_equal(run("DecodeBmp", _bytes(bmp)), px)
    assert run("DecodeImage", _bytes(bmp), channels=4)[1, 2].tolist() == [15, 16, 17, 255]
    with pytest.raises(SmlensError, match="must be 0, 3 or 4 for BMP"):
        run("DecodeBmp", _bytes(bmp), channels=1)
    jpeg = b"\xff\xd8\xff\xe0" + struct.pack(">H", 4) + b"JF" + b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 480, 640, 3)
    assert run("ExtractJpegShape", _bytes(jpeg)).tolist() == [480, 640, 3]
    with pytest.raises(SmlensError, match="Invalid JPEG data"):      # a header, then nothing
        run("DecodeImage", _bytes(jpeg))
    with pytest.raises(SmlensError, match="decoding GIF images is not supported"):
        run("DecodeImage", _bytes(b"GIF89a" + bytes(20)))
    with pytest.raises(SmlensError, match="Unknown image file format"):
        decode_png(b"not an image")
    with pytest.raises(SmlensError, match="bad CRC"):
        decode_png(make_png(1, 1, 8, 0, [b"\x05"])[:-5] + b"\x00\x00\x00\x00\x00")


# A 16x16 JPEG (TF's encoder, quality 70, 4:2:0) as baseline and progressive; TF's decodes summarized by
# (sum, sum of value * flat index mod 1000003, pixel [5, 7], pixel [15, 0]).
JPEG_BASELINE = (
    "/9j/4AAQSkZJRgABAQEBLAEsAAD/2wBDAAoHBwgHBgoICAgLCgoLDhgQDg0NDh0VFhEYIx8lJCIfIiEmKzcvJik0KSEiMEExNDk7Pj4+JS5ESU"
    "M8SDc9Pjv/2wBDAQoLCw4NDhwQEBw7KCIoOzs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozv/wAARCAAQ"
    "ABADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJx"
    "FDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWW"
    "l5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAEC"
    "AwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2"
    "Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU"
    "1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDQ1DWbVbfyIMbsY4rmotKvLy681t2zOal0/Rblrjz587c55ro5dXs7O18ldu/G"
    "KOV0v3tDWPVBzSofu62sH1P/2Q==")
JPEG_PROGRESSIVE = (
    "/9j/4AAQSkZJRgABAQEBLAEsAAD/2wBDAAoHBwgHBgoICAgLCgoLDhgQDg0NDh0VFhEYIx8lJCIfIiEmKzcvJik0KSEiMEExNDk7Pj4+JS5ESU"
    "M8SDc9Pjv/2wBDAQoLCw4NDhwQEBw7KCIoOzs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozv/wgARCAAQ"
    "ABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABQIE/8QAFAEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEAMQAAAB0GWif//EABcQAQEB"
    "AQAAAAAAAAAAAAAAAAIDARL/2gAIAQEAAQUCpY85JtTiutqAf//EABkRAAEFAAAAAAAAAAAAAAAAAAIAAREiMf/aAAgBAwEBPwGXCp4v/8QAGREA"
    "AQUAAAAAAAAAAAAAAAAAAAIREiIx/9oACAECAQE/AWjZGH//xAAWEAEBAQAAAAAAAAAAAAAAAAAAEQH/2gAIAQEABj8CmKuo/8QAFxABAQEBAAAA"
    "AAAAAAAAAAAAEQABQf/aAAgBAQABPyHD1yElq44TG//aAAwDAQACAAMAAAAQU//EABcRAAMBAAAAAAAAAAAAAAAAAAABQVH/2gAIAQMBAT8Q0j0/"
    "/8QAFxEAAwEAAAAAAAAAAAAAAAAAAAFBEf/aAAgBAgEBPxDV9I//xAAXEAADAQAAAAAAAAAAAAAAAAAAESFB/9oACAEBAAE/EIjhQ3EspOnTMCj/"
    "2Q==")
JPEG_TF = {   # attrs -> (shape, sum, weighted sum, pixel [5, 7], pixel [15, 0])
    (): ((16, 16, 3), 97203, 741238, [107, 116, 53], [147, 135, 95]),
    (("channels", 1),): ((16, 16, 1), 32483, 179738, [106], [134]),
    (("dct_method", "INTEGER_ACCURATE"),): ((16, 16, 3), 97825, 964002, [109, 115, 53], [148, 136, 96]),
    (("fancy_upscaling", False),): ((16, 16, 3), 97161, 730148, [110, 115, 49], [147, 135, 95]),
}


def _summary(img: np.ndarray):
    v = img.astype(np.int64)
    return v.shape, int(v.sum()), int((v * np.arange(v.size).reshape(v.shape)).sum() % 1000003)


@pytest.mark.parametrize("data", [JPEG_BASELINE, JPEG_PROGRESSIVE], ids=["baseline", "progressive"])
@pytest.mark.parametrize("attrs", list(JPEG_TF), ids=["ifast", "gray", "islow", "box"])
def test_jpeg_decode_matches_tensorflow(data, attrs):
    out = run("DecodeJpeg", _bytes(base64.b64decode(data)), **dict(attrs))
    shape, total, weighted, p57, p150 = JPEG_TF[attrs]
    assert out.dtype == np.uint8 and _summary(out) == (shape, total, weighted)
    assert out[5, 7].tolist() == p57 and out[15, 0].tolist() == p150


def test_jpeg_crop_and_dispatch():
    data = _bytes(base64.b64decode(JPEG_BASELINE))
    # libjpeg crops from the iMCU column at or left of x: the crop's edges are upsampling edges
    assert _summary(run("DecodeAndCropJpeg", data, np.array([3, 5, 9, 7], np.int32))) == ((9, 7, 3), 21448, 208619)
    as_float = run("DecodeImage", data, dtype=dtypes.float32)
    np.testing.assert_array_equal(as_float, run("DecodeJpeg", data).astype(np.float32) * np.float32(1 / 255))
    # every decode op takes any supported format (one TF kernel behind them)
    assert run("DecodePng", data).shape == (16, 16, 3)
    with pytest.raises(SmlensError, match="Invalid JPEG data"):
        run("DecodeJpeg", _bytes(base64.b64decode(JPEG_BASELINE)[:-40]))
    with pytest.raises(SmlensError, match="ratio 2"):
        run("DecodeJpeg", data, ratio=2)
