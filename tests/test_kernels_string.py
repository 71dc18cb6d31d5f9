"""String kernels against values checked with TensorFlow 2.21 (hashes, regex, formatting, splits)."""
from __future__ import annotations

import numpy as np
import pytest

from smlens import dtypes
from smlens.errors import ExecutionError, UnsupportedError
from smlens.kernels import KERNELS
from smlens.kernels.hashing import fingerprint64, siphash24, tf_hash64
from smlens.kernels.registry import bind_attrs

pytestmark = pytest.mark.pyodide


def run(op_type: str, *inputs, **attrs):
    spec = KERNELS[op_type]
    return spec.fn(*inputs, **bind_attrs(spec, attrs))


def S(*values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = [v.encode() if isinstance(v, str) else v for v in values]
    return out


def scalar(v) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = v.encode() if isinstance(v, str) else v
    return out


def strings(a) -> list:
    return np.asarray(a).tolist()


def gen(n: int) -> bytes:
    return bytes((i * 7 + 3) % 256 for i in range(n))


# (length of gen(n) or a literal string, Fingerprint64, StringToHashBucket(2^63-1),
#  StringToHashBucketStrong(2^63-1, key=[1, 2]), StringToHashBucketFast(1000)) -- all from TensorFlow.
HASHES = [
    (0, 0x9ae16a3b2f90404f, 105434511174508092, 443797209252341628, 263),
    (1, 0xbec09cc447469d8b, 7001769250909271135, 6527630072864849453, 51),
    (2, 0x16f8263645a8ecf5, 5403634426442856619, 1245906453457199892, 365),
    (3, 0x40b4412e33eefd64, 5276484929406308779, 9177327969436154572, 492),
    (4, 0xf3c7ee05197a7b92, 5799242685562273649, 4908830289420219309, 586),
    (7, 0x4fef0b39c12aa9a4, 1142397842043859391, 9025943913063140068, 764),
    (8, 0x0c97ecbc1e9d2626, 384654127350334882, 5595368785662838408, 470),
    (9, 0xe51cf38098a5bfff, 8965977459318072057, 4764484375068093160, 591),
    (15, 0x2ca35f0a039b4f1b, 4784052358771091955, 4245327714981430527, 771),
    (16, 0x7eda0ed8c837a168, 5129953047346710616, 6903068344719091762, 744),
    (17, 0xc9518fe63ebf6127, 7037566801403733717, 1875806742410322241, 959),
    (31, 0xbd5ca6ee28fc43cb, 2139119004151307922, 5529697296763569617, 587),
    (32, 0xa53f806f23a314e8, 1458650421252541103, 4448023962271419899, 232),
    (33, 0xc24f9d7ce864f0e9, 2574933530128875931, 3019115255887851444, 329),
    (63, 0x9643c13fc68d469c, 5271103884795240918, 8414641240120026833, 188),
    (64, 0x0566266cb579eca2, 3945209722589307479, 8279897737059750575, 578),
    (65, 0x77e0867714e6b0e4, 8278743160437407290, 6592589115820011266, 420),
    (100, 0x9e17c36fe4a61b08, 4171434909501331629, 1331416109607316826, 296),
    (127, 0xcaa19a12c8273b7e, 2442093141837005767, 1800729738075444986, 854),
    (128, 0x666823960b3ac271, 8132594031198021779, 2761584798031890898, 497),
    (129, 0x98206b8579bca083, 1361456403630484005, 3040654346653228196, 659),
    (200, 0x6d7105b27cbe2fd7, 2651614156366774965, 5010393049373802371, 591),
    (b"hello", 0xb48be5a931380ce8, 5943547241907780938, 2957200328589801622, 296),
    ("héllo wörld".encode(), 0x7ced6d0a96714893, 5299289459348089619, 5179466181642715560, 627),
    (b"\x00", 0xbe6056edf5e94b54, 1950187560451231046, 4575515398581416406, 796),
    (b"a\x00b", 0x6184a52fe47ca4f8, 9021471590436262201, 2296863193520864598, 280),
]


@pytest.mark.parametrize("item,fp,legacy,strong,fast", HASHES)
def test_hashes_match_tensorflow(item, fp, legacy, strong, fast):
    s = gen(item) if isinstance(item, int) else item
    assert fingerprint64(s) == fp
    assert tf_hash64(s) % (2 ** 63 - 1) == legacy
    assert siphash24(1, 2, s) % (2 ** 63 - 1) == strong
    assert fingerprint64(s) % 1000 == fast


def test_hash_bucket_kernels():
    words = S(*[gen(n) for n in (0, 17, 65)])
    out = run("StringToHashBucketFast", words, num_buckets=1000)
    assert out.dtype == np.int64 and out.tolist() == [263, 959, 420]
    assert run("StringToHashBucket", words, num_buckets=2 ** 63 - 1).tolist() == [
        105434511174508092, 7037566801403733717, 8278743160437407290]
    assert run("StringToHashBucketStrong", words, num_buckets=2 ** 63 - 1, key=[1, 2]).tolist() == [
        443797209252341628, 1875806742410322241, 6592589115820011266]
    assert run("StringToHashBucketFast", scalar("a"), num_buckets=10).shape == ()
    with pytest.raises(ExecutionError):
        run("StringToHashBucketFast", words, num_buckets=0)


def test_fingerprint_op():
    method = scalar("farmhash64")
    # 2-D strings: the fingerprint of the row's concatenated per-string fingerprints
    out = run("Fingerprint", np.array([["a", "b"], ["c", "d"]], dtype=object), method)
    assert out.dtype == np.uint8 and out.tolist() == [[122, 64, 59, 169, 136, 60, 55, 83],
                                                      [52, 252, 224, 38, 64, 226, 155, 60]]
    # numeric rows: the fingerprint of the row's little-endian bytes
    assert run("Fingerprint", np.array([[1, 2], [3, 4]], np.int32), method).tolist() == [
        [76, 18, 253, 133, 168, 204, 240, 10], [254, 162, 60, 240, 103, 244, 53, 255]]
    assert run("Fingerprint", np.array([1.5, 2.5], np.float32), method).tolist() == [
        [64, 181, 56, 72, 223, 224, 189, 72], [215, 206, 200, 229, 128, 42, 67, 207]]
    assert run("Fingerprint", np.array([True, False]), method).tolist() == [
        [62, 88, 126, 177, 19, 76, 162, 71], [84, 75, 233, 245, 237, 86, 96, 190]]
    assert run("Fingerprint", np.zeros((0, 3), np.float32), method).shape == (0, 8)
    with pytest.raises(ExecutionError, match="at least one dimension"):
        run("Fingerprint", np.float32(1), method)
    with pytest.raises(ExecutionError, match="Unsupported fingerprint method: md5"):
        run("Fingerprint", np.zeros(2, np.float32), scalar("md5"))


TEXT = S("hello world", "aaa", "", "ab\n", "héllo", b"a\xffb", "éa b", "1٣ 42")


@pytest.mark.parametrize("pattern,rewrite,expected", [
    ("o|a", "0", ["hell0 w0rld", "000", "", "0b\n", "héll0", b"0\xffb", "é0 b", "1٣ 42"]),
    ("b*", "-", ["-h-e-l-l-o- -w-o-r-l-d-", "-a-a-a-", "-", "-a-\n-", "-h-é-l-l-o-", b"-a-\xff-", "-é-a- -",
                 "-1-٣- -4-2-"]),
    ("$", "X", ["hello worldX", "aaaX", "X", "ab\nX", "hélloX", b"a\xffbX", "éa bX", "1٣ 42X"]),
    (r"\b", "|", ["|hello| |world|", "|aaa|", "", "|ab|\n", "|h|é|llo|", b"|a|\xff|b|", "é|a| |b|", "|1|٣ |42|"]),
    (".", "x", ["xxxxxxxxxxx", "xxx", "", "xx\n", "xxxxx", b"x\xffx", "xxxx", "xxxxx"]),
    (r"\d+", "N", ["hello world", "aaa", "", "ab\n", "héllo", b"a\xffb", "éa b", "N٣ N"]),
    (r"\w+", "W", ["W W", "W", "", "W\n", "WéW", b"W\xffW", "éW W", "W٣ W"]),
    (r"[[:alpha:]]+", "A", ["A A", "A", "", "A\n", "AéA", b"A\xffA", "éA A", "1٣ 42"]),
    (r"(?i)H", "J", ["Jello world", "aaa", "", "ab\n", "Jéllo", b"a\xffb", "éa b", "1٣ 42"]),
    (r"(l+)", r"<\1>", ["he<ll>o wor<l>d", "aaa", "", "ab\n", "hé<ll>o", b"a\xffb", "éa b", "1٣ 42"]),
    (r"(l)", r"\2", ["hello world", "aaa", "", "ab\n", "héllo", b"a\xffb", "éa b", "1٣ 42"]),
])
def test_regex_replace_matches_re2(pattern, rewrite, expected):
    want = [e.encode() if isinstance(e, str) else e for e in expected]
    assert strings(run("StaticRegexReplace", TEXT, pattern=pattern, rewrite=rewrite)) == want
    assert strings(run("RegexReplace", TEXT, scalar(pattern), scalar(rewrite))) == want


def test_regex_replace_details():
    assert strings(run("StaticRegexReplace", S("hello world"), pattern="o", rewrite="0",
                       replace_global=False)) == [b"hell0 world"]
    assert strings(run("StaticRegexReplace", S("john smith"), pattern=r"(\w+) (\w+)",
                       rewrite=r"\2 \1")) == [b"smith john"]
    assert strings(run("StaticRegexReplace", S("abc"), pattern="b", rewrite=r"[\0]")) == [b"a[b]c"]
    assert strings(run("StaticRegexReplace", S("abc"), pattern="x*", rewrite="-")) == [b"-a-b-c-"]
    assert strings(run("StaticRegexReplace", S("a\nb"), pattern="(?m)^", rewrite=">")) == [b">a\n>b"]
    assert strings(run("StaticRegexReplace", S("x.y+z"), pattern=r"\Qx.y\E", rewrite="Q")) == [b"Q+z"]
    for bad in ["(", "a(?=b)", r"(a)\1", "[a", "a**", "(?<n>a)"]:
        with pytest.raises(ExecutionError, match="Invalid pattern"):
            run("StaticRegexReplace", S("abc"), pattern=bad, rewrite="x")
    assert strings(run("StaticRegexReplace", S("ab1é"), pattern=r"\pL", rewrite="x")) == [b"xx1x"]
    with pytest.raises(UnsupportedError):
        run("StaticRegexReplace", S("abc"), pattern=r"\p{Greek}", rewrite="x")


def test_regex_full_match():
    out = run("StaticRegexFullMatch", S("abc", "abcd", ""), pattern="a.c")
    assert out.dtype == np.bool_ and out.tolist() == [True, False, False]
    assert run("RegexFullMatch", S("ab", "abc"), scalar("a|ab")).tolist() == [True, False]
    assert run("StaticRegexFullMatch", np.array([["x1"], ["y"]], dtype=object), pattern=r"\w\d").tolist() == [
        [True], [False]]


def test_string_join_and_reduce_join():
    out = run("StringJoin", [S("a", "b"), scalar("x"), S("c", "d")], separator="-")
    assert strings(out) == [b"a-x-c", b"b-x-d"]
    assert run("StringJoin", [scalar("a"), scalar("b")]).shape == ()
    with pytest.raises(ExecutionError, match="Input shapes do not match"):
        run("StringJoin", [S("a", "b"), np.array([["c"], ["d"]], dtype=object)])
    x = np.array([[["a", "b"], ["c", "d"]], [["e", "f"], ["g", "h"]]], dtype=object)
    x = np.vectorize(str.encode, otypes=[object])(x)

    def rj(axes, keep=False):
        return strings(run("ReduceJoin", x, np.array(axes, np.int32), keep_dims=keep, separator="."))
    assert rj([2, 0]) == [b"a.b.e.f", b"c.d.g.h"]
    assert rj([0, 2]) == [b"a.e.b.f", b"c.g.d.h"]
    assert rj([0, 1, 2]) == b"a.e.c.g.b.f.d.h"
    assert rj([-1, -3], keep=True) == [[[b"a.b.e.f"], [b"c.d.g.h"]]]
    assert rj([]) == strings(x)
    with pytest.raises(ExecutionError, match="Duplicate reduction dimension 1"):
        rj([1, 1])
    with pytest.raises(ExecutionError, match="Invalid reduction dimension 3"):
        rj([3])
    empty = run("ReduceJoin", np.zeros((0, 3), dtype=object), np.array([0], np.int32))
    assert strings(empty) == [b"", b"", b""]


def test_case_length_strip():
    assert strings(run("StringUpper", S("héllo abc"))) == ["HéLLO ABC".encode()]
    assert strings(run("StringUpper", S("héllo ß"), encoding="utf-8")) == ["HÉLLO SS".encode()]
    assert strings(run("StringLower", S("HÉLLO"), encoding="utf-8")) == ["héllo".encode()]
    assert strings(run("StringUpper", S(b"a\xffb"), encoding="utf-8")) == [b"A\xef\xbf\xbdB"]
    lengths = run("StringLength", S("héllo", "", "\x00a"))
    assert lengths.dtype == np.int32 and lengths.tolist() == [6, 0, 2]
    assert run("StringLength", S("héllo", b"\xff\xfe", b"\xc3", "日本"), unit="UTF8_CHAR").tolist() == [5, 2, 1, 2]
    assert strings(run("StringStrip", S(" \t a b \n\v\f\r", "", "\xa0x"))) == [b"a b", b"", "\xa0x".encode()]


@pytest.mark.parametrize("pos,length,expected", [
    (1, 3, [b"ell", b"orl"]), (-3, 2, [b"ll", b"rl"]), (2, 100, [b"llo", b"rld"]), (5, 1, [b"", b""]),
    (1, -1, [b"ello", b"orld"]),
])
def test_substr_bytes(pos, length, expected):
    assert strings(run("Substr", S("hello", "world"), np.int32(pos), np.int32(length))) == expected


def test_substr_details():
    utf8 = run("Substr", S("héllo日本"), np.int32(1), np.int32(3), unit="UTF8_CHAR")
    assert strings(utf8) == ["éll".encode()]
    assert strings(run("Substr", S("héllo日本"), np.int32(-2), np.int32(1), unit="UTF8_CHAR")) == ["日".encode()]
    assert strings(run("Substr", S("héllo"), np.int32(1), np.int32(-1), unit="UTF8_CHAR")) == [b""]
    grid = np.array([[b"hello", b"world"], [b"abc", b"defgh"]], dtype=object)
    out = run("Substr", grid, np.array([1, 2], np.int32), np.array([2, 1], np.int32))
    assert strings(out) == [[b"el", b"r"], [b"bc", b"f"]]
    with pytest.raises(ExecutionError, match="pos 6 out of range for string b'hello' at index 0"):
        run("Substr", S("hello"), np.int32(6), np.int32(1))
    with pytest.raises(ExecutionError, match="pos -6 out of range"):
        run("Substr", S("hello"), np.int32(-6), np.int32(1))
    with pytest.raises(ExecutionError, match="same shape"):
        run("Substr", S("hello"), np.array([[1], [2]], np.int32), np.array([2], np.int32))


FLOATS = np.array([3.14159265, -0.0, 1e20, 1e-7, np.nan, np.inf, -np.inf, 0.1], np.float32)


@pytest.mark.parametrize("attrs,expected", [
    ({}, ["3.141593", "-0.000000", "100000002004087734272.000000", "0.000000", "nan", "inf", "-inf", "0.100000"]),
    ({"shortest": True}, ["3.14159", "-0", "1e+20", "1e-07", "nan", "inf", "-inf", "0.1"]),
    ({"scientific": True, "precision": 2}, ["3.14e+00", "-0.00e+00", "1.00e+20", "1.00e-07", "nan", "inf", "-inf",
                                            "1.00e-01"]),
    ({"width": 12, "fill": "0"}, ["00003.141593", "-0000.000000", "100000002004087734272.000000", "00000.000000",
                                  "         nan", "         inf", "        -inf", "00000.100000"]),
    ({"width": 10, "fill": "-"}, ["3.141593  ", "-0.000000 ", "100000002004087734272.000000", "0.000000  ",
                                  "nan       ", "inf       ", "-inf      ", "0.100000  "]),
])
def test_as_string_floats(attrs, expected):
    out = run("AsString", FLOATS, **attrs)
    assert strings(out) == [e.encode() for e in expected]


def test_as_string_other_types():
    assert strings(run("AsString", np.array([1, -2], np.int32), width=5, fill="0")) == [b"00001", b"-0002"]
    assert strings(run("AsString", np.array([255], np.uint8), fill="+")) == [b"255"]
    assert strings(run("AsString", np.array([2 ** 64 - 1], np.uint64))) == [b"18446744073709551615"]
    assert strings(run("AsString", np.array([True, False]), width=7)) == [b"true", b"false"]
    assert strings(run("AsString", np.array([1 + 2j], np.complex128), precision=1)) == [b"(1.0,2.0)"]
    assert strings(run("AsString", np.array([3.14159, 0.1], np.float16))) == [b"3.140625", b"0.099976"]
    assert strings(run("AsString", S("ab"), width=4)) == [b"  ab"]
    with pytest.raises(ExecutionError, match="precision not supported for datatype int32"):
        run("AsString", np.array([1], np.int32), precision=2)
    with pytest.raises(ExecutionError, match="Cannot select both scientific and shortest"):
        run("AsString", FLOATS, scientific=True, shortest=True)
    with pytest.raises(ExecutionError, match='Fill argument not supported: "x"'):
        run("AsString", FLOATS, fill="x")


def test_string_to_number():
    f = run("StringToNumber", S("1.5", " 2 ", "1e3", "inf", "-nan", "0x10", "+3", ".5", "5.", "-INF", "0x1.8",
                                "1e-40", "1e400"))
    assert f.dtype == np.float32
    assert f[:6].tolist()[:4] == [1.5, 2.0, 1000.0, np.inf] and np.isnan(f[4]) and f[5] == 16.0
    assert f[6:11].tolist() == [3.0, 0.5, 5.0, -np.inf, 1.5]
    assert f[11] == np.float32(1e-40) and f[12] == np.inf
    ints = run("StringToNumber", S("12", " -3 ", "+4", "007", "-2147483648"), out_type=dtypes.int32)
    assert ints.dtype == np.int32 and ints.tolist() == [12, -3, 4, 7, -2147483648]
    big = run("StringToNumber", S("9223372036854775807"), out_type=dtypes.int64)
    assert big.tolist() == [9223372036854775807]
    for bad, t in [("1.5", dtypes.int32), ("2147483648", dtypes.int32), ("", dtypes.float32), ("1_0", dtypes.float32),
                   ("1e", dtypes.float64), ("0x10", dtypes.int64), ("١", dtypes.int32)]:
        with pytest.raises(ExecutionError, match="could not correctly convert string"):
            run("StringToNumber", S(bad), out_type=t)


def test_string_split():
    idx, vals, shape = run("StringSplit", S("a b  c", "", "d"), scalar(" "))
    assert idx.tolist() == [[0, 0], [0, 1], [0, 2], [2, 0]] and strings(vals) == [b"a", b"b", b"c", b"d"]
    assert shape.tolist() == [3, 3]
    idx, vals, shape = run("StringSplit", S("a b  c", "", "d"), scalar(" "), skip_empty=False)
    assert strings(vals) == [b"a", b"b", b"", b"c", b"d"] and shape.tolist() == [3, 4]
    _, vals, _ = run("StringSplit", S("a,b;c"), scalar(",;"))
    assert strings(vals) == [b"a", b"b", b"c"]
    _, vals, _ = run("StringSplit", S("é"), scalar(""))
    assert strings(vals) == [b"\xc3", b"\xa9"]
    idx, vals, shape = run("StringSplit", np.zeros(0, dtype=object), scalar(" "))
    assert idx.shape == (0, 2) and vals.shape == (0,) and shape.tolist() == [0, 0]


def test_string_split_v2():
    _, vals, shape = run("StringSplitV2", S("a b  c", "", " d "), scalar(" "))
    assert strings(vals) == [b"a", b"b", b"", b"c", b"", b"", b"d", b""] and shape.tolist() == [3, 4]
    _, vals, _ = run("StringSplitV2", S("a b \t c", "", " d \n", "a\xa0b\x1cc"), scalar(""))
    assert strings(vals) == [b"a", b"b", b"c", b"d", "a\xa0b\x1cc".encode()]
    _, vals, _ = run("StringSplitV2", S("a,b,c,d"), scalar(","), maxsplit=2)
    assert strings(vals) == [b"a", b"b", b"c,d"]
    # whitespace split: the text after maxsplit tokens (leading blanks removed) is the last token
    _, vals, _ = run("StringSplitV2", S("\t x \n y  ", " d "), scalar(""), maxsplit=1)
    assert strings(vals) == [b"x", b"y  ", b"d", b""]
    _, vals, _ = run("StringSplitV2", S(" d "), scalar(""), maxsplit=0)
    assert strings(vals) == [b" d "]
    with pytest.raises(ExecutionError, match="must be a vector"):
        run("StringSplitV2", scalar("a b"), scalar(" "))


def test_string_ngrams():
    tokens = S("a", "b", "c", "d", "e")
    grams, splits = run("StringNGrams", tokens, np.array([0, 3, 5], np.int64), separator=" ", ngram_widths=[1, 2, 3],
                        left_pad="L", right_pad="R", pad_width=-1, preserve_short_sequences=False)
    assert strings(grams) == [b"a", b"b", b"c", b"L a", b"a b", b"b c", b"c R", b"L L a", b"L a b", b"a b c",
                              b"b c R", b"c R R", b"d", b"e", b"L d", b"d e", b"e R", b"L L d", b"L d e", b"d e R",
                              b"e R R"]
    assert splits.dtype == np.int64 and splits.tolist() == [0, 12, 21]
    grams, splits = run("StringNGrams", tokens, np.array([0, 4, 5, 5], np.int32), separator="|", ngram_widths=[3],
                        left_pad="", right_pad="", pad_width=0, preserve_short_sequences=True)
    assert strings(grams) == [b"a|b|c", b"b|c|d", b"e"] and splits.tolist() == [0, 2, 3, 3]
    grams, _ = run("StringNGrams", S("a", "b", "c"), np.array([0, 1, 3], np.int64), separator="|", ngram_widths=[4],
                   left_pad="L", right_pad="R", pad_width=1, preserve_short_sequences=True)
    assert strings(grams) == [b"L|a|R", b"L|b|c|R"]
    with pytest.raises(ExecutionError, match="Last split value must be data size. Expected 5, got 4"):
        run("StringNGrams", tokens, np.array([0, 1, 4], np.int32), separator=" ", ngram_widths=[2], left_pad="",
            right_pad="", pad_width=0, preserve_short_sequences=False)


def test_base64():
    data = S("", "a", "ab", "abc", "\xff\xfe?")
    assert strings(run("EncodeBase64", data)) == [b"", b"YQ", b"YWI", b"YWJj", b"w7_Dvj8"]
    assert strings(run("EncodeBase64", data, pad=True)) == [b"", b"YQ==", b"YWI=", b"YWJj", b"w7_Dvj8="]
    assert strings(run("DecodeBase64", S("YQ", "YQ==", "YWI=", "YWJj", "", "_-8", "YR"))) == [
        b"a", b"a", b"ab", b"abc", b"", b"\xff\xef", b"a"]
    for bad, why in [("+/8=", "Invalid character"), ("Y", "1 modulo 4"), ("YQ=", "Invalid character"),
                     ("YWJj=", "1 modulo 4"), ("YQ==YQ==", "Invalid character"), ("YW Jj", "Invalid character")]:
        with pytest.raises(ExecutionError, match=why):
            run("DecodeBase64", S(bad))


def test_string_format():
    def fmt(*inputs, template="{}", **attrs):
        out = run("StringFormat", list(inputs), template=template, placeholder="{}", **attrs)
        assert out.shape == ()
        return out[()]
    assert fmt(np.array([1.5, 2.0, 0.1, 1e20, 1 / 3], np.float32), np.array(3, np.int32),
               template="x={} y={}") == b"x=[1.5 2 0.1 1e+20 0.333333343] y=3"
    assert fmt(np.array([[1, 2], [3, 4]], np.int64)) == b"[[1 2]\n [3 4]]"
    assert fmt(np.arange(10)) == b"[0 1 2 ... 7 8 9]"
    assert fmt(np.arange(24).reshape(2, 3, 4), summarize=1) == (
        b"[[[0 ... 3]\n  ...\n  [8 ... 11]]\n\n [[12 ... 15]\n  ...\n  [20 ... 23]]]")
    assert fmt(S(b"a", b'b\n"q"\\', b"\xff\x00'")) == b'["a" "b\\n\\"q\\"\\\\" "\xff\\000\\\'"]'
    assert fmt(np.array(1 / 3)) == b"0.33333333333333331"
    assert fmt(np.array(1 / 3, np.float16)) == b"0.333251953"
    assert fmt(np.arange(10), summarize=0) == b"[ ...]"
    assert fmt(np.array([1e-5, 123456789.0, np.nan, -np.inf, -0.0, 1e-45], np.float32),
               template="[{}]") == b"[[1e-05 123456792 nan -inf -0 0]]"
    assert fmt(np.array([1 + 2j], np.complex64)) == b"[?]"
    with pytest.raises(ExecutionError, match="num placeholders in template and num inputs must match: 1 vs. 2"):
        fmt(np.array(1), np.array(2))


# ---------------------------------------------------------------- unicode (ICU semantics) and segment joins

def decode(*values, **attrs):
    splits, chars = run("UnicodeDecode", S(*values), input_encoding=attrs.pop("encoding", "UTF-8"), **attrs)
    return [chars[a:b].tolist() for a, b in zip(splits[:-1], splits[1:])]


def test_unicode_decode_replaces_maximal_ill_formed_subparts():
    R = 65533
    assert decode(b"ab\xffc", b"\xe2\x82x", b"\xf0\x9f\x98", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80") == [
        [97, 98, R, 99], [R, 120], [R], [R, R], [R, R, R], [R, R, R, R]]
    assert decode(b"ab\xffc", errors="ignore") == [[97, 98, 99]]
    assert decode(b"h\xff", errors="replace", replacement_char=63) == [[104, 63]]
    assert decode(b"\x00\t\n\x1f \x7f", replace_control_characters=True) == [[R, R, R, R, 32, 127]]
    with pytest.raises(ExecutionError, match="Invalid formatting on input string"):
        decode(b"a\xff", errors="strict")
    assert decode(b"\x00h\xd8\x3d\xde\x00\xd8\x00", encoding="UTF-16-BE") == [[104, 128512, R]]
    assert decode(b"\x00\x00\x00h\x00\x11\x00\x00", encoding="UTF-32-BE") == [[104, R]]
    assert decode(b"\xff\xfeh\x00", encoding="UTF-16") == [[104]]      # BOM picks little-endian
    assert decode(b"h\xe9", encoding="ISO-8859-1") == [[104, 233]]
    with pytest.raises(UnsupportedError, match="Shift_JIS"):
        decode(b"x", encoding="Shift_JIS")


def test_unicode_decode_with_offsets_and_int32_splits():
    splits, chars, starts = run("UnicodeDecodeWithOffsets", S("hé", "", b"\xffz"), input_encoding="UTF-8",
                                Tsplits=dtypes.int32)
    assert splits.dtype == np.int32 and splits.tolist() == [0, 2, 2, 4]
    assert chars.dtype == np.int32 and chars.tolist() == [104, 233, 65533, 122]
    assert starts.dtype == np.int64 and starts.tolist() == [0, 1, 0, 1]


def test_unicode_encode_and_transcode():
    cps = np.array([104, -1, 0xD800, 0x110000, 0x1F600, 0], np.int32)
    out = run("UnicodeEncode", cps, np.array([0, 6], np.int64), output_encoding="UTF-8")
    assert strings(out) == [b"h" + b"\xef\xbf\xbd" * 3 + b"\xf0\x9f\x98\x80\x00"]
    out = run("UnicodeEncode", np.array([104, 0x1F600], np.int32), np.array([0, 1, 2], np.int64),
              output_encoding="UTF-16-BE")
    assert strings(out) == [b"\x00h", b"\xd8=\xde\x00"]
    assert strings(run("UnicodeEncode", np.array([104, -5], np.int32), np.array([0, 2], np.int64),
                       output_encoding="UTF-8", errors="ignore")) == [b"h"]
    with pytest.raises(ExecutionError, match="out of range for Unicode, or is a surrogate"):
        run("UnicodeEncode", np.array([-5], np.int32), np.array([0, 1], np.int64), output_encoding="UTF-8",
            errors="strict")
    out = run("UnicodeTranscode", S("hé", b"\xff").reshape(2, 1), input_encoding="UTF-8",
              output_encoding="UTF-32-BE", replacement_char=63)
    assert out.shape == (2, 1) and strings(out.reshape(-1)) == [b"\x00\x00\x00h\x00\x00\x00\xe9", b"\x00\x00\x00?"]
    out = run("UnicodeTranscode", S(b"\x00h\x00\x01"), input_encoding="UTF-16-BE", output_encoding="UTF-8",
              replace_control_characters=True)
    assert strings(out) == [b"h\xef\xbf\xbd"]


def test_unsorted_segment_join():
    data = S("a", "b", "c", "d", "e", "f").reshape(3, 2)
    out = run("UnsortedSegmentJoin", data, np.array([1, 0, 1], np.int32), np.int32(3), separator="|")
    assert out.shape == (3, 2) and strings(out.reshape(-1)) == [b"c", b"d", b"a|e", b"b|f", b"", b""]
    with pytest.raises(ExecutionError, match=r"segment_ids must be in \[0, 2\)"):
        run("UnsortedSegmentJoin", data, np.array([1, 0, 2], np.int32), np.int32(2))
