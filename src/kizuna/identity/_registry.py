"""The registry of principals, read from a TOML or YAML file."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import yaml

from kizuna.errors import ConfigError
from kizuna.identity._model import Principal, PrincipalKind, VettingRecord
from kizuna.labels import Clearance, ClearanceStatus, date_field

__all__ = ["Registry", "load_registry", "registry_from_mapping"]


class Registry:
    """Principals by id and by certificate name; a certificate name maps to one principal."""

    def __init__(self, principals: Iterable[Principal]) -> None:
        self._by_id: dict[str, Principal] = {}
        self._by_cert: dict[str, Principal] = {}
        for p in principals:
            if p.id in self._by_id:
                raise ConfigError(f"principal {p.id!r} appears twice", field="principal.id")
            self._by_id[p.id] = p
            for name in p.cert_names or {p.id}:
                if name in self._by_cert:
                    raise ConfigError(
                        f"certificate name {name!r} belongs to two principals",
                        field=f"principal.{p.id}.cert_names",
                    )
                self._by_cert[name] = p

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def principals(self) -> tuple[Principal, ...]:
        return tuple(self._by_id.values())

    def get(self, principal_id: str) -> Principal | None:
        return self._by_id.get(principal_id)

    def by_cert_name(self, name: str) -> Principal | None:
        return self._by_cert.get(name)


_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _TextDates(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe YAML reader, leaving dates as the text they were written as: YAML would read
    ``2027-3-31`` as a date, and every date is judged by ``labels.parse_date`` alone."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, Any]]]] = {
        first: [(tag, rx) for tag, rx in rules if tag != _TIMESTAMP]
        for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _str(entry: Mapping[str, object], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError("is required and must be text", field=f"{where}.{key}")
    return value


def _clearance(entry: Mapping[str, object], where: str) -> Clearance | None:
    code = entry.get("clearance")
    if code is None:
        return None
    if not isinstance(code, str) or ":" not in code:
        raise ConfigError(f"{code!r} is not POLICY:LEVEL", field=f"{where}.clearance")
    policy, _, level = code.partition(":")
    try:
        status = ClearanceStatus(str(entry.get("status", "active")))
    except ValueError as exc:
        raise ConfigError(str(exc), field=f"{where}.status") from exc
    return Clearance(policy, level, status, date_field(entry.get("expires"), f"{where}.expires"))


def _vetting(raw: object, where: str) -> tuple[VettingRecord, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("must be a list", field=f"{where}.vetting")
    out = []
    for i, rec in enumerate(raw):
        at = f"{where}.vetting[{i}]"
        if not isinstance(rec, Mapping):
            raise ConfigError("must be a table", field=at)
        expires = rec.get("expires")
        out.append(
            VettingRecord(
                _str(rec, "kind", at),
                date_field(rec.get("completed"), f"{at}.completed"),
                _str(rec, "authority", at),
                None if expires is None else date_field(expires, f"{at}.expires"),
            )
        )
    return tuple(out)


def _principal(entry: object, i: int) -> Principal:
    if not isinstance(entry, Mapping):
        raise ConfigError("must be a table", field=f"principal[{i}]")
    pid = _str(entry, "id", f"principal[{i}]")
    where = f"principal.{pid}"
    try:
        kind = PrincipalKind(str(entry.get("kind", "person")))
    except ValueError as exc:
        raise ConfigError(str(exc), field=f"{where}.kind") from exc
    names = entry.get("cert_names", [pid])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ConfigError("must be a list of names", field=f"{where}.cert_names")
    cats = entry.get("categories", {})
    if not isinstance(cats, Mapping):
        raise ConfigError("must be a table of lists", field=f"{where}.categories")
    return Principal(
        id=pid,
        nation=_str(entry, "nation", where),
        kind=kind,
        clearance=_clearance(entry, where),
        vetting=_vetting(entry.get("vetting"), where),
        cert_names=frozenset(names),
        categories=frozenset((str(t), str(v)) for t, vs in cats.items() for v in vs),
    )


def registry_from_mapping(data: Mapping[str, object]) -> Registry:
    entries = data.get("principal", [])
    if not isinstance(entries, list):
        raise ConfigError("must be a list of tables", field="principal")
    return Registry(_principal(e, i) for i, e in enumerate(entries))


def load_registry(path: Path) -> Registry:
    """Read a registry from ``.toml`` or ``.yaml``/``.yml``."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            data: object = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            data = yaml.load(text, Loader=_TextDates)  # noqa: S506 - a safe loader
        else:
            raise ConfigError(f"{path}: a registry is .toml or .yaml", field="registry")
    except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read registry {path}: {exc}", field="registry") from exc
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: top level must be a table", field="registry")
    return registry_from_mapping(data)
