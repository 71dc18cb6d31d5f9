"""The iteration order of a libstdc++ `std::unordered_map<std::string, T>` after a sequence of insertions.

TensorFlow's V1 checkpoint reader (TensorSliceReader) keeps its tensors in such a map, and
`inspect_checkpoint` without flags prints them in its iteration order, which is deterministic: keys hash
with `std::hash<std::string>` (libstdc++'s `_Hash_bytes`, a MurmurHash2 variant, seed 0xc70f6907), a key
goes into bucket `hash % bucket_count`, the map grows by the prime rehash policy (11 buckets' worth on the
first insert, then doubling to the next prime of its table) and iteration walks one singly linked list in
which a new key goes first in its bucket's run, or at the very front when its bucket was empty.
"""
from __future__ import annotations

import bisect

_MASK = (1 << 64) - 1
_MUL = (0xC6A4A793 << 32) + 0x5BD1E995
_SEED = 0xC70F6907

# libstdc++'s bucket counts: the __fast_bkt table for small requests, then primes near each doubling (the
# entries of its __prime_list that a doubling map reaches; a request between two of them takes the next).
_FAST_BKT = (2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13)
_PRIMES = (13, 29, 59, 127, 257, 541, 1109, 2357, 5087, 10273, 20753, 42043, 85229, 172933, 351061, 712697,
           1447153, 2938679, 5967347, 12117689, 24607243, 49969847, 101473717)


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def std_hash(data: bytes) -> int:
    """std::hash<std::string> of libstdc++ on a 64-bit target."""
    n = len(data)
    aligned = n & ~7
    h = (_SEED ^ (n * _MUL)) & _MASK
    for i in range(0, aligned, 8):
        k = int.from_bytes(data[i:i + 8], "little")
        k = (_shift_mix((k * _MUL) & _MASK) * _MUL) & _MASK
        h = ((h ^ k) * _MUL) & _MASK
    if n & 7:
        h = ((h ^ int.from_bytes(data[aligned:], "little")) * _MUL) & _MASK
    h = (_shift_mix(h) * _MUL) & _MASK
    return _shift_mix(h)


def _next_bucket_count(n: int) -> tuple[int, int]:
    """(bucket count, next resize threshold) for a request of n buckets (max load factor 1)."""
    if n < len(_FAST_BKT):
        b = _FAST_BKT[n]
        return b, b
    i = bisect.bisect_left(_PRIMES, n)
    if i == len(_PRIMES):
        raise ValueError(f"unordered_map with {n} buckets is beyond the modelled sizes")
    return _PRIMES[i], _PRIMES[i]


def unordered_map_order(keys: list[str | bytes]) -> list:
    """The keys (duplicates ignored after the first) in the iteration order of a libstdc++ unordered_map they
    were inserted into, in this order."""
    head: int | None = None               # index of the first node; nodes are indexes into `items`
    nxt: list[int | None] = []
    items: list = []
    hashes: list[int] = []
    buckets: dict[int, int] = {}          # bucket -> node before its first node (-1: the list head)
    n_buckets, next_resize = 1, 0
    seen: set = set()

    def set_next(before: int, node: int | None) -> None:
        nonlocal head
        if before == -1:
            head = node
        else:
            nxt[before] = node

    def next_of(before: int) -> int | None:
        return head if before == -1 else nxt[before]

    for key in keys:
        raw = key.encode("utf-8", "surrogateescape") if isinstance(key, str) else key
        if raw in seen:
            continue
        seen.add(raw)
        count = len(items)
        if count + 1 > next_resize:       # _Prime_rehash_policy::_M_need_rehash
            min_bkts = float(max(count + 1, 0 if next_resize else 11))
            if min_bkts >= n_buckets:
                n_buckets, next_resize = _next_bucket_count(max(int(min_bkts) + 1, n_buckets * 2))
                buckets, p, head = {}, head, None
                begin_bucket = 0
                while p is not None:      # _M_rehash_aux: relink every node into the new buckets
                    following = nxt[p]
                    b = hashes[p] % n_buckets
                    if b not in buckets:
                        nxt[p] = head
                        head = p
                        buckets[b] = -1
                        if nxt[p] is not None:
                            buckets[begin_bucket] = p
                        begin_bucket = b
                    else:
                        before = buckets[b]
                        nxt[p] = next_of(before)
                        set_next(before, p)
                    p = following
            else:
                next_resize = n_buckets
        node = len(items)
        items.append(key)
        hashes.append(std_hash(raw))
        nxt.append(None)
        b = hashes[node] % n_buckets
        if b in buckets:                  # _M_insert_bucket_begin
            before = buckets[b]
            nxt[node] = next_of(before)
            set_next(before, node)
        else:
            nxt[node] = head
            head = node
            if nxt[node] is not None:
                buckets[hashes[nxt[node]] % n_buckets] = node
            buckets[b] = -1
    out, p = [], head
    while p is not None:
        out.append(items[p])
        p = nxt[p]
    return out
