"""The Merkle tree is RFC 6962's: known vectors, agreement with pymerkle, proofs that verify
and proofs that do not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from kizuna.gateway import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from kizuna.gateway._merkle import batch_paths, path_length, path_nodes, root_from_path

# The test leaves and roots used by the Certificate Transparency implementations.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _tree(data: list[bytes]) -> MerkleTree:
    t = MerkleTree()
    for d in data:
        t.append(leaf_hash(d))
    return t


def test_roots_match_the_certificate_transparency_vectors() -> None:
    t = MerkleTree()
    assert t.root().hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for leaf, want in zip(CT_LEAVES, CT_ROOTS, strict=True):
        t.append(leaf_hash(leaf))
        assert t.root().hex() == want
    for size, want in enumerate(CT_ROOTS, start=1):
        assert t.root(size).hex() == want  # historical heads from the cache path too


@given(st.lists(st.binary(max_size=8), min_size=1, max_size=70))
@settings(deadline=None)  # a shared CI machine must not make it flaky
def test_roots_agree_with_pymerkle(data: list[bytes]) -> None:
    peer = InmemoryTree(algorithm="sha256")
    for d in data:
        peer.append_entry(d)
    ours = _tree(data)
    assert ours.root() == peer.get_root()
    for size in {1, len(data) // 2 or 1, len(data)}:
        assert ours.root(size) == peer.get_root(size)


@given(st.integers(1, 80), st.data())
@settings(deadline=None)  # a shared CI machine must not make it flaky
def test_inclusion_proofs_verify_and_reject_the_wrong_leaf(n: int, data: st.DataObject) -> None:
    t = _tree([i.to_bytes(4, "big") for i in range(n)])
    size = data.draw(st.integers(1, n))
    i = data.draw(st.integers(0, size - 1))
    proof = t.inclusion_proof(i, size)
    root = t.root(size)
    assert verify_inclusion(i, size, t.leaves[i], proof, root)
    assert not verify_inclusion(i, size, leaf_hash(b"forged"), proof, root)
    if size > 1:
        assert not verify_inclusion((i + 1) % size, size, t.leaves[i], proof, root)


@given(st.integers(1, 80), st.data())
@settings(deadline=None)  # a shared CI machine must not make it flaky
def test_consistency_proofs_verify_and_catch_a_rewrite(n: int, data: st.DataObject) -> None:
    t = _tree([i.to_bytes(4, "big") for i in range(n)])
    new = data.draw(st.integers(1, n))
    old = data.draw(st.integers(1, new))
    proof = t.consistency_proof(old, new)
    assert verify_consistency(old, new, t.root(old), t.root(new), proof)
    rewritten = _tree([b"x", *(i.to_bytes(4, "big") for i in range(1, n))])
    if old < new:
        assert not verify_consistency(old, new, rewritten.root(old), t.root(new), proof)


def test_bad_proof_requests_are_refused() -> None:
    t = _tree([b"a", b"b", b"c"])
    with pytest.raises(ValueError, match="no leaf"):
        t.inclusion_proof(3)
    with pytest.raises(ValueError, match="no consistency"):
        t.consistency_proof(0, 3)
    with pytest.raises(ValueError, match="outside"):
        t.root(4)
    assert not verify_consistency(2, 1, t.root(2), t.root(1), [])
    assert not verify_inclusion(0, 0, t.leaves[0], [], t.root())


@given(st.integers(min_value=0, max_value=70))
@settings(max_examples=71, deadline=None)
def test_batch_paths_are_the_trees_root_and_audit_paths(n: int) -> None:
    leaves = [leaf_hash(str(i).encode()) for i in range(n)]
    tree = MerkleTree()
    for leaf in leaves:
        tree.append(leaf)
    root, paths = batch_paths(leaves)
    assert root == tree.root()
    assert paths == [tree.inclusion_proof(i) for i in range(n)]


def test_a_path_has_the_length_its_place_in_the_tree_needs() -> None:
    for size in range(1, 70):
        leaves = [leaf_hash(b"%d" % i) for i in range(size)]
        root, paths = batch_paths(leaves)
        for i, path in enumerate(paths):
            assert path_length(i, size) == len(path)
            nodes = path_nodes(i, size, leaves[i], path)
            assert nodes is not None and nodes[-1] == ((0, 0), root)
            assert root_from_path(i, size, leaves[i], path) == root
        assert path_length(size, size) is None and path_length(-1, size) is None
