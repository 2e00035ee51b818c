"""RFC 6962 Merkle tree hashing, with inclusion and consistency proofs (RFC 9162 verification).

Leaves are hashed with a 0x00 prefix and interior nodes with 0x01, so a leaf can never pose as
a node. The tree grows by appends only; a frontier of perfect subtrees gives the root of the
whole log after each append in O(log n), and perfect-subtree hashes are cached because they
never change once complete.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from hashlib import sha256

__all__ = [
    "MerkleTree",
    "batch_paths",
    "leaf_hash",
    "node_hash",
    "path_length",
    "path_nodes",
    "root_from_path",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only RFC 6962 tree over leaf hashes."""

    def __init__(self) -> None:
        self._leaves: list[bytes] = []
        self._frontier: list[tuple[int, bytes]] = []  # (size, hash) of perfect subtrees
        self._cache: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        return len(self._leaves)

    @property
    def leaves(self) -> Sequence[bytes]:
        return self._leaves

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash; return its index."""
        index = len(self._leaves)
        self._leaves.append(leaf)
        size, h = 1, leaf
        frontier = self._frontier
        while frontier and frontier[-1][0] == size:
            _, left = frontier.pop()
            h = node_hash(left, h)
            size *= 2
        frontier.append((size, h))
        return index

    def root(self, size: int | None = None) -> bytes:
        """The tree head over the first ``size`` leaves (default: all)."""
        n = len(self._leaves) if size is None else size
        if not 0 <= n <= len(self._leaves):
            raise ValueError(f"size {n} is outside the tree (0..{len(self._leaves)})")
        if n == 0:
            return EMPTY_ROOT
        if n == len(self._leaves):
            h = self._frontier[-1][1]
            for _, left in reversed(self._frontier[:-1]):
                h = node_hash(left, h)
            return h
        return self._mth(0, n)

    def _mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 1:
            return self._leaves[lo]
        perfect = n & (n - 1) == 0
        if perfect:
            hit = self._cache.get((lo, hi))
            if hit is not None:
                return hit
        k = _split(n)
        h = node_hash(self._mth(lo, lo + k), self._mth(lo + k, hi))
        if perfect:
            self._cache[(lo, hi)] = h
        return h

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path for leaf ``index`` in the tree of ``size`` leaves."""
        n = len(self._leaves) if size is None else size
        if not 0 <= index < n <= len(self._leaves):
            raise ValueError(f"no leaf {index} in a tree of {n}")
        return self._path(index, 0, n)

    def _path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*self._path(m, lo, lo + k), self._mth(lo + k, hi)]
        return [*self._path(m - k, lo + k, hi), self._mth(lo, lo + k)]

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        """Proof that the tree of ``old`` leaves is a prefix of the tree of ``new`` leaves."""
        n = len(self._leaves) if new is None else new
        if not 0 < old <= n <= len(self._leaves):
            raise ValueError(f"no consistency proof from {old} to {n}")
        return self._subproof(old, 0, n, True)

    def _subproof(self, m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if whole else [self._mth(lo, hi)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, lo, lo + k, whole), self._mth(lo + k, hi)]
        return [*self._subproof(m - k, lo + k, hi, False), self._mth(lo, lo + k)]


def batch_paths(leaves: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root of a tree of ``leaves`` (leaf hashes) and every leaf's audit path, in one
    bottom-up pass: pair neighbours level by level, carrying an unpaired last node up as
    it is, which builds exactly the RFC 6962 tree."""
    if not leaves:
        return EMPTY_ROOT, []
    paths: list[list[bytes]] = [[] for _ in leaves]
    members: list[list[int]] = [[i] for i in range(len(leaves))]  # leaves under each node
    level = list(leaves)
    while len(level) > 1:
        up, up_members = [], []
        for j in range(0, len(level) - 1, 2):
            left, right = level[j], level[j + 1]
            for i in members[j]:
                paths[i].append(right)
            for i in members[j + 1]:
                paths[i].append(left)
            up.append(node_hash(left, right))
            up_members.append(members[j] + members[j + 1])
        if len(level) % 2:
            up.append(level[-1])
            up_members.append(members[-1])
        level, members = up, up_members
    return level[0], paths


Place = tuple[int, int]  # (index at its level, last index at that level): one subtree


@lru_cache(maxsize=8192)  # a receiver asks it for every envelope of every batch
def path_length(index: int, size: int) -> int | None:
    """How many hashes the audit path of leaf ``index`` in a tree of ``size`` holds; None
    when there is no such leaf."""
    if not 0 <= index < size:
        return None
    fn, sn, n = index, size - 1, 0
    while sn:
        if fn & 1 or fn == sn:
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        n += 1
        fn >>= 1
        sn >>= 1
    return n


def path_nodes(
    index: int,
    size: int,
    leaf: bytes,
    proof: Sequence[bytes],
    known: Mapping[Place, bytes] | None = None,
) -> list[tuple[Place, bytes]] | None:
    """The subtree hashes an audit path computes from a leaf, by place, ending with the root
    at (0, 0) (RFC 9162 section 2.1.3.2); None when the path cannot belong to leaf ``index``
    of a tree of ``size``. With ``known``, the walk stops at the first place it holds: the
    last node is then that place as this path computes it."""
    if path_length(index, size) != len(proof):
        return None
    fn, sn, r = index, size - 1, leaf
    out = [((fn, sn), r)]
    for p in proof:
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
        out.append(((fn, sn), r))
        if known is not None and (fn, sn) in known:
            break
    return out


def root_from_path(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root an audit path leads to from a leaf (RFC 9162 section 2.1.3.2), or None when
    the path cannot belong to leaf ``index`` of a tree of ``size``."""
    nodes = path_nodes(index, size, leaf, proof)
    return None if nodes is None else nodes[-1][1]


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2."""
    return root_from_path(index, size, leaf, proof) == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2."""
    if not 0 < old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
