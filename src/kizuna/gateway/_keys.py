"""Ed25519 signing keys for gateways: one private key per gateway, public keys in a key ring.

Keys live in files the operator creates (``kizuna gateway keygen``); none are shipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kizuna._files import write_private
from kizuna.errors import ConfigError

__all__ = ["KeyRing", "Signer", "generate_keys", "require_public_keys"]

_NAME = re.compile(r"[A-Z]{2,8}")


class Signer:
    """A named Ed25519 private key."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        self.name = name
        self._key = key

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, name: str, path: Path) -> Signer:
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read private key: {exc}", field=str(path)) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError("not an Ed25519 private key", field=str(path))
        return cls(name, key)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    @property
    def public(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def public_raw(self) -> bytes:
        return self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class KeyRing:
    """Public keys by signer name: whom this gateway believes."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey] | None = None) -> None:
        self._keys: dict[str, Ed25519PublicKey] = dict(keys or {})

    @classmethod
    def of(cls, *signers: Signer) -> KeyRing:
        return cls({s.name: s.public for s in signers})

    @classmethod
    def load_dir(cls, directory: Path) -> KeyRing:
        """Every ``NAME.pub`` (PEM) in a directory."""
        keys: dict[str, Ed25519PublicKey] = {}
        for path in sorted(directory.glob("*.pub")):
            try:
                key = serialization.load_pem_public_key(path.read_bytes())
            except ValueError as exc:
                raise ConfigError(f"cannot read public key: {exc}", field=str(path)) from exc
            if not isinstance(key, Ed25519PublicKey):
                raise ConfigError("not an Ed25519 public key", field=str(path))
            keys[path.stem] = key
        return cls(keys)

    def reload(self, directory: Path) -> None:
        """Read ``directory`` again, in place: whoever holds this ring (the guard, the link)
        believes a key the operator has just installed, without a restart. A directory that
        no longer reads leaves the ring as it was."""
        self._keys = dict(KeyRing.load_dir(directory)._keys)

    @property
    def names(self) -> Mapping[str, Ed25519PublicKey]:
        return MappingProxyType(self._keys)

    def verify(self, name: str, signature: bytes, data: bytes) -> bool:
        key = self._keys.get(name)
        if key is None:
            return False
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


def require_public_keys(directory: Path, names: Iterable[str]) -> None:
    """Every partner's ``NAME.pub`` must be there before a gateway starts: without it every
    item would be refused on arrival for a reason no partner can see."""
    for name in sorted(names):
        path = directory / f"{name}.pub"
        if not path.is_file():
            raise ConfigError(
                f"no public key for partner {name}: install its {name}.pub", field=str(path)
            )


def generate_keys(name: str, directory: Path, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write ``NAME.key`` (private, 0600 from its first byte) and ``NAME.pub`` into
    ``directory``. An existing private key is refused (:class:`ConfigError`) unless
    ``overwrite``: replacing a key silently would cut every partner that trusts it."""
    if not _NAME.fullmatch(name):
        raise ConfigError(f"{name!r} is not a nation code (2 to 8 capitals)", field="name")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        where = str(directory)
        raise ConfigError(f"cannot create it: {exc.strerror}", field=where) from exc
    key = Ed25519PrivateKey.generate()
    private = directory / f"{name}.key"
    public = directory / f"{name}.pub"
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(private, pem, overwrite=overwrite)
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        public.write_bytes(pub)
    except OSError as exc:
        raise ConfigError(f"cannot write {public}: {exc.strerror}", field=str(public)) from exc
    return private, public
