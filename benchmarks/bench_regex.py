"""Regex kernels: smlens' linear-time RE2 engine (kernels/re2.py) vs Python's backtracking `re` on typical
TF text-cleaning patterns (2000 strings of ~64 chars). Prints times and ratios; no assertions."""
import sys, time, re
sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "..", "pysrc"))
from smlens.kernels import re2, string_ops
texts = [f"The quick  brown fox #{i} jumps over   the lazy dog, isn't it? ".encode() for i in range(2000)]
for pat, rw in [(r"\s+", " "), (r"[^a-z0-9 ]", ""), (r"^\s+|\s+$", ""), (r"(\w+)@(\w+)", r"\2"), (r"(?i)the", "A")]:
    rx = re2.compile(pat)
    t=time.perf_counter()
    out=[string_ops.replace(rx, rw, s, True) for s in texts]
    t1=time.perf_counter()-t
    prx=re.compile(pat)
    t=time.perf_counter()
    ref=[prx.sub(rw.replace("\\2", r"\2"), s.decode()).encode() for s in texts]
    t2=time.perf_counter()-t
    print(f"{pat:15s} re2.py {t1*1000:7.1f} ms  python re {t2*1000:6.1f} ms  ratio {t1/t2:5.0f}x  same={out==ref}")
rx = re2.compile(r"[a-z]+ [a-z]+")
t=time.perf_counter(); [rx.fullmatch(s.decode()) for s in texts]; print("fullmatch dfa", (time.perf_counter()-t)*1000, "ms")
