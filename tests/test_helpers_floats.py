"""The ULP comparison the float tests use (tests/helpers/floats.py) must itself be right: it is what
separates a 1-ULP SIMD difference from a wrong kernel. Runs in Pyodide too (tier 2 imports the helper)."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.floats import assert_ulp_close, ulp_distance

pytestmark = pytest.mark.pyodide


def test_ulp_distance_counts_representable_steps():
    one = np.float32(1.0)
    assert ulp_distance(np.nextafter(one, np.float32(2)), one) == 1
    assert ulp_distance(np.float32(-0.0), np.float32(0.0)) == 0
    tiny = np.float32(1.401298464324817e-45)           # smallest subnormal: one step either side of zero
    assert ulp_distance(tiny, -tiny) == 2
    assert ulp_distance(np.float64(1.0), np.float64(1.0) + np.finfo(np.float64).eps * 3) == 3
    assert ulp_distance(np.float32(np.nan), np.nan) == 0
    assert ulp_distance(np.float32(np.inf), np.float32(np.inf)) == 0


def test_assert_ulp_close_accepts_within_and_rejects_beyond():
    x = np.float32([0.5, 2.0, -3.0])
    off1 = np.nextafter(x, np.float32(np.inf))
    assert_ulp_close(off1, x, max_ulp=1)
    with pytest.raises(AssertionError, match="differ by more than 0 ULP"):
        assert_ulp_close(off1, x, max_ulp=0)
    with pytest.raises(AssertionError, match="shape"):
        assert_ulp_close(x[:2], x)
    with pytest.raises(AssertionError, match="dtype"):
        assert_ulp_close(x, x, dtype=np.float64)
    with pytest.raises(AssertionError):
        assert_ulp_close(np.float32([np.nan]), np.float32([1.0]), max_ulp=10 ** 9)
    # near zero, ULPs are tiny: atol covers results that should be 0 but round differently
    assert_ulp_close(np.float32([1e-9]), np.float32([0.0]), max_ulp=1, atol=1e-8)
    with pytest.raises(AssertionError):
        assert_ulp_close(np.float32([1e-9]), np.float32([0.0]), max_ulp=1)


def test_expected_is_rounded_to_the_actual_dtype():
    assert_ulp_close(np.float32(0.1), 0.1, max_ulp=0)   # the float64 literal rounds to the same float32
