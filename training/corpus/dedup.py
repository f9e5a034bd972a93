"""Near-duplicate detection: MinHash over 5-token shingles + LSH banding, implemented here.

Tokens are identifiers, numbers and single non-space symbols. Each token is hashed once with
zlib.crc32 (deterministic, content-only, cached), a shingle hash combines 5 token hashes with a
64-bit polynomial and a splitmix64 finaliser, and the 128 "permutations" are multiply-shift
universal hashes (a*h + b mod 2^64, upper 32 bits) evaluated with numpy in one vectorised pass per
file. Candidates are the documents sharing any of 16 bands of 8 rows; a candidate pair is a
duplicate when the signatures agree on >= threshold of their 128 slots (the MinHash estimate of
the Jaccard similarity). At J = 0.85 the banding finds a pair with probability 1-(1-0.85^8)^16
= 99.4%; at J = 0.5 only 6% of pairs become candidates, and those are then rejected by the check.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

TOKEN_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*|\d+|\S")
SHINGLE = 5
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class MinHasher:
    def __init__(self, num_perm: int = 128, seed: int = 20261122):
        rng = np.random.default_rng(seed)
        self.num_perm = num_perm
        self.a = (rng.integers(1, 2**63 - 1, num_perm, dtype=np.uint64) << np.uint64(1)) | np.uint64(1)
        self.b = rng.integers(0, 2**63 - 1, num_perm, dtype=np.uint64)
        self._tok_cache: dict[str, int] = {}

    def _token_hashes(self, text: str) -> np.ndarray:
        cache = self._tok_cache
        out = []
        for t in TOKEN_RE.findall(text):
            h = cache.get(t)
            if h is None:
                h = zlib.crc32(t.encode("utf-8")) | (len(t) << 32)
                if len(cache) < 5_000_000:
                    cache[t] = h
            out.append(h)
        return np.asarray(out, dtype=np.uint64)

    def shingles(self, text: str) -> np.ndarray:
        t = self._token_hashes(text)
        if t.size == 0:
            return np.zeros(1, dtype=np.uint64)
        if t.size < SHINGLE:
            t = np.concatenate([t, np.zeros(SHINGLE - t.size, dtype=np.uint64)])
        n = t.size - SHINGLE + 1
        h = np.zeros(n, dtype=np.uint64)
        p = np.uint64(0x100000001B3)
        with np.errstate(over="ignore"):
            for k in range(SHINGLE):
                h = h * p + t[k:k + n]
            h = _splitmix(h)
        return np.unique(h)

    def signature(self, text: str) -> np.ndarray:
        sh = self.shingles(text)
        sig = np.full(self.num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for i in range(0, sh.size, 8192):
                chunk = sh[i:i + 8192][:, None]
                v = (chunk * self.a[None, :] + self.b[None, :]) >> np.uint64(32)
                np.minimum(sig, v.min(axis=0), out=sig)
        return sig.astype(np.uint32)


class UnionFind:
    def __init__(self, n: int):
        self.p = list(range(n))

    def find(self, x: int) -> int:
        p = self.p
        while p[x] != x:
            p[x] = p[p[x]]
            x = p[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller index (= higher keep priority) becomes the root
            if ra < rb:
                self.p[rb] = ra
            else:
                self.p[ra] = rb


def near_duplicate_clusters(sigs: np.ndarray, bands: int, rows: int, threshold: float) -> tuple[UnionFind, int]:
    """sigs: (n_docs, num_perm) uint32, rows ordered by keep priority. Returns the union-find and
    the number of verified candidate comparisons."""
    n = sigs.shape[0]
    uf = UnionFind(n)
    checks = 0
    for band in range(bands):
        block = np.ascontiguousarray(sigs[:, band * rows:(band + 1) * rows])
        # each bucket keeps up to 8 representatives of distinct clusters; a new document is
        # compared with them and joins the first one it matches (or becomes a representative)
        buckets: dict[bytes, list[int]] = {}
        for i in range(n):
            k = block[i].tobytes()
            reps = buckets.get(k)
            if reps is None:
                buckets[k] = [i]
                continue
            ri = uf.find(i)
            matched = False
            for r in reps:
                if uf.find(r) == ri:
                    matched = True
                    break
                checks += 1
                if np.count_nonzero(sigs[r] == sigs[i]) >= threshold * sigs.shape[1]:
                    uf.union(r, i)
                    matched = True
                    break
            if not matched and len(reps) < 8:
                reps.append(i)
    return uf, checks
