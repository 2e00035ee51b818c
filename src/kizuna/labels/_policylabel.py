"""STANAG 4774 labels as coalitions write them, read and judged against their SPIF.

This is the reader for labels under any loaded policy (a partner's, NATO's), beside the
Kizuna-dialect reader in ``_stanag``: all three root forms, the policy named by
``PolicyIdentifier``'s ``URI`` (or ``URL``, as some tools spell it) and checked against the
SPIF, a ``Category`` naming a SPIF tag *set* and its ``Type`` the tag's access type. A label
that cannot be fully read is a ParseError naming the element; one that reads but breaks its
policy has its problems listed by ``validate``. Nothing here decides access (see ``_acdf``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from kizuna._xml import parse_xml
from kizuna.errors import ParseError
from kizuna.labels._model import CategoryType
from kizuna.labels._spif import Applied, CategoryRef, Marking, Policy, Qualifier, RequiredCategory
from kizuna.labels._table import shipped_policy

__all__ = [
    "ROOTS",
    "PolicyLabel",
    "PolicySet",
    "display_marking",
    "read_4774",
    "read_4774_full",
    "shipped_policies",
    "translate",
    "validate",
    "write_4774",
]

NS = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"
ROOTS = frozenset(
    ("ConfidentialityLabel", "originatorConfidentialityLabel", "alternativeConfidentialityLabel")
)
_INFO_CHILDREN = frozenset(("PolicyIdentifier", "Classification", "PrivacyMark", "Category"))
_MAX_LABEL_BYTES = 16 * 1024

CategoryKey = tuple[str, CategoryType, str]  # (tag set name, access type, value name)


@dataclass(frozen=True, slots=True)
class PolicyLabel:
    """A label under one SPIF: its classification and its categories, by name."""

    policy_id: str
    classification: str
    categories: frozenset[CategoryKey] = frozenset()


class PolicySet:
    """The SPIFs a reader knows, by id and by name (names compared exactly)."""

    __slots__ = ("_by_id", "_by_name", "_by_ref")

    def __init__(self, policies: Iterable[Policy]) -> None:
        self._by_id: dict[str, Policy] = {}
        self._by_name: dict[str, Policy] = {}
        for p in policies:
            if p.id in self._by_id or p.name in self._by_name:
                raise ValueError(f"policy {p.name} ({p.id}) is given twice")
            self._by_id[p.id] = p
            self._by_name[p.name] = p
        # a PolicyIdentifier URI as tools write it, to its policy without parsing it
        self._by_ref = {f"urn:oid:{oid}": p for oid, p in self._by_id.items()} | self._by_id

    def by_id(self, oid: str) -> Policy | None:
        """The policy with this id, or None."""
        return self._by_id.get(oid)

    def by_ref(self, ref: str) -> Policy | None:
        """The policy a URI names exactly as ``urn:oid:<id>`` or ``<id>``, or None."""
        return self._by_ref.get(ref)

    def by_name(self, name: str) -> Policy | None:
        """The policy with this name, or None."""
        return self._by_name.get(name)

    @property
    def ids(self) -> Mapping[str, Policy]:
        """Every policy by id."""
        return self._by_id


@cache
def shipped_policies() -> PolicySet:
    """The SPIFs shipped in the package: USA, JPN and the NATO-style policy."""
    return PolicySet(shipped_policy(n) for n in ("usa.xml", "jpn.xml", "nato.xml"))


def _local(elem: ET.Element) -> str:
    tag = elem.tag
    if not tag.startswith("{" + NS + "}"):
        raise ParseError(f"<{tag.rpartition('}')[2]}> is not in the STANAG 4774 namespace")
    return tag[len(NS) + 2 :]


def _text(elem: ET.Element, what: str) -> str:
    if len(elem):
        raise ParseError(f"<{what}> holds elements, not text")
    text = (elem.text or "").strip(" \t\r\n")  # XML whitespace only, as the quick reader
    if not text:
        raise ParseError(f"<{what}> is empty")
    return text


def _oid(value: str) -> str:
    oid = value.strip()
    if oid.lower().startswith("urn:oid:"):
        oid = oid[8:]
    parts = oid.split(".")
    if len(parts) < 2 or not all(p.isdigit() and p.isascii() for p in parts):
        raise ParseError(f"<PolicyIdentifier> URI {value!r} is not an OID")
    return oid


def _policy_of(name: str, uri: str | None, url: str | None, policies: PolicySet) -> Policy:
    if uri is not None and url is not None and uri != url:
        raise ParseError("<PolicyIdentifier> has a URI and a URL that disagree")
    ref = uri if uri is not None else url
    if ref is None:
        policy = policies.by_name(name)
        if policy is None:
            raise ParseError(f"<PolicyIdentifier> names unknown policy {name!r}")
        return policy
    policy = policies.by_ref(ref)
    if policy is not None:
        oid = policy.id
    else:
        oid = _oid(ref)
        policy = policies.by_id(oid)
    if policy is None:
        raise ParseError(f"<PolicyIdentifier> names unknown policy id {oid}")
    if policy.name != name:
        raise ParseError(f"<PolicyIdentifier> says {name!r} but {oid} is {policy.name!r}")
    return policy


_TYPES = {t.value: t for t in CategoryType}
_RawCategory = tuple[str | None, str | None, list[str]]  # TagName, Type, values as written


def _assemble(policy: Policy, cls: str, raw: list[_RawCategory]) -> PolicyLabel:
    """The label from its parts as read, by either reader: every name checked on the SPIF."""
    if policy.classification(cls) is None:
        raise ParseError(f"<Classification> {cls!r} is not a {policy.name} classification")
    categories: set[CategoryKey] = set()
    seen: set[tuple[str, CategoryType]] = set()
    index = policy.values_index
    for set_name, kind, values in raw:
        if not set_name:
            raise ParseError("<Category> has no TagName")
        access = _TYPES.get(kind or "")
        if access is None:
            raise ParseError(f"<Category TagName={set_name!r}> has unknown Type {kind!r}")
        if not policy.has_tag(set_name, access):
            if policy.tag_set(set_name) is None:
                lacks = f"names tag set {set_name!r}, which {policy.name} lacks"
                raise ParseError(f"<Category> {lacks}")
            raise ParseError(
                f"<Category TagName={set_name!r}> has no {access.value} tag in the SPIF"
            )
        if not values:
            raise ParseError(f"<Category TagName={set_name!r}> has no GenericValue")
        if (set_name, access) in seen:
            raise ParseError(f"<Category TagName={set_name!r} Type={access.value}> appears twice")
        seen.add((set_name, access))
        for value in values:
            if not value:
                raise ParseError("<GenericValue> is empty")
            key = (set_name, access, value)
            if key not in index:
                raise ParseError(
                    f"<Category TagName={set_name!r}> value {value!r} is not in the SPIF"
                )
            if key in categories:
                raise ParseError(f"<Category TagName={set_name!r}> value {value!r} appears twice")
            categories.add(key)
    return PolicyLabel(policy.id, cls, frozenset(categories))


def label_from_element(root: ET.Element, policies: PolicySet) -> PolicyLabel:
    """A label from its parsed XML; ParseError names the element that is wrong."""
    if _local(root) not in ROOTS:
        raise ParseError(f"<{_local(root)}> is not a STANAG 4774 label root")
    infos = [c for c in root if _local(c) == "ConfidentialityInformation"]
    if len(infos) != 1:
        raise ParseError(f"a label needs one <ConfidentialityInformation>, found {len(infos)}")
    info = infos[0]
    found: dict[str, list[ET.Element]] = {}
    for child in info:
        name = _local(child)
        if name not in _INFO_CHILDREN:
            raise ParseError(f"<ConfidentialityInformation> holds unknown <{name}>")
        found.setdefault(name, []).append(child)
    for required in ("PolicyIdentifier", "Classification"):
        if len(found.get(required, ())) != 1:
            n = len(found.get(required, ()))
            raise ParseError(f"a label needs one <{required}>, found {n}")
    pid = found["PolicyIdentifier"][0]
    policy = _policy_of(_text(pid, "PolicyIdentifier"), pid.get("URI"), pid.get("URL"), policies)
    cls = _text(found["Classification"][0], "Classification")
    raw: list[_RawCategory] = []
    for elem in found.get("Category", ()):
        values = []
        for v in elem:
            if _local(v) != "GenericValue":
                raise ParseError(f"<Category TagName={elem.get('TagName')!r}> holds <{_local(v)}>")
            values.append(_text(v, "GenericValue"))
        raw.append((elem.get("TagName"), elem.get("Type"), values))
    return _assemble(policy, cls, raw)


# The quick reader: a label in the plain shape every tool writes (no declaration, no comments,
# no entities, double-quoted attributes in the usual order, only XML whitespace between tags)
# is read by one regular expression; anything else, and every refusal of that shape's parts,
# goes through the hardened XML reader. A test holds the two readers to the same answers.
_WS = "[ \t\r\n]*"
_TXT = "[^<>&\\]\x00-\x08\x0b\x0c\x0e-\x1f\r\ud800-\udfff\ufffe\uffff]*"
_ATT = '[^"<>&\x00-\x1f\ud800-\udfff\ufffe\uffff]*'
_QUICK = re.compile(
    f"<(ConfidentialityLabel|originatorConfidentialityLabel|alternativeConfidentialityLabel)"
    f' xmlns="{re.escape(NS)}">{_WS}<ConfidentialityInformation>{_WS}'
    f'<PolicyIdentifier(?: (URI|URL)="({_ATT})")?>({_TXT})</PolicyIdentifier>{_WS}'
    f"<Classification>({_TXT})</Classification>{_WS}"
    f'((?:<Category TagName="{_ATT}" Type="{_ATT}">{_WS}'
    f"(?:<GenericValue>{_TXT}</GenericValue>{_WS})+</Category>{_WS})*)"
    f"</ConfidentialityInformation>{_WS}</\\1>{_WS}"
)
_QUICK_CATEGORY = re.compile(
    f'<Category TagName="({_ATT})" Type="({_ATT})">{_WS}((?:<GenericValue>{_TXT}</GenericValue>{_WS})+)</Category>'  # noqa: E501
)
_QUICK_VALUE = re.compile(f"<GenericValue>({_TXT})</GenericValue>")


def _quick(data: bytes | str, policies: PolicySet) -> PolicyLabel | None:
    if len(data) > _MAX_LABEL_BYTES // 4:
        return None
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    m = _QUICK.fullmatch(data)
    if m is None:
        return None
    _, attr, ref, name, cls, body = m.groups()
    uri, url = (ref, None) if attr == "URI" else (None, ref) if attr == "URL" else (None, None)
    name, cls = name.strip(" \t\n"), cls.strip(" \t\n")
    if not name or not cls:
        return None  # the full reader names the empty element
    policy = _policy_of(name, uri, url, policies)
    raw: list[_RawCategory] = [
        (tag, kind, [v.strip(" \t\n") for v in _QUICK_VALUE.findall(values)])
        for tag, kind, values in _QUICK_CATEGORY.findall(body)
    ]
    return _assemble(policy, cls, raw)


def read_4774_full(data: bytes | str, policies: PolicySet) -> PolicyLabel:
    """read_4774 through the hardened XML reader only (the reference for the quick reader)."""
    root = parse_xml(data, max_bytes=_MAX_LABEL_BYTES, max_depth=6, max_elements=512)
    return label_from_element(root, policies)


def read_4774(data: bytes | str, policies: PolicySet) -> PolicyLabel:
    """Parse a 4774 label (the plain shape quickly, anything else with the hardened reader);
    ParseError names what is wrong."""
    quick = _quick(data, policies)
    return quick if quick is not None else read_4774_full(data, policies)


# -- validity -----------------------------------------------------------------------------


def _ref_values(policy: Policy, ref: CategoryRef) -> set[CategoryKey]:
    tag_set = policy.tag_set(ref.tag_set)
    tag = tag_set.tag(ref.access) if tag_set is not None else None
    if tag is None:  # the loader has refused SPIFs with dangling references
        return set()
    return {
        (ref.tag_set, ref.access, v.name)
        for v in tag.values
        if ref.lacv is None or v.lacv == ref.lacv
    }


def _required_ok(policy: Policy, rc: RequiredCategory, held: frozenset[CategoryKey]) -> bool:
    groups = [_ref_values(policy, g) for g in rc.groups]
    hits = sum(1 for g in groups if g & held)
    if rc.operation == "all":
        return hits == len(groups)
    if rc.operation == "onlyOne":
        return hits == 1
    return hits >= 1


def validate(label: PolicyLabel, policy: Policy) -> tuple[str, ...]:
    """Every way the label breaks its policy (empty: valid), each naming the element."""
    if label.policy_id != policy.id:
        return (f"label is under policy {label.policy_id}, not {policy.id}",)
    cls = policy.classification(label.classification)
    if cls is None:
        return (f"<Classification> {label.classification!r} is not in {policy.name}",)
    # the usual label: every value exists and none has a rule of its own
    if not cls.required and _quick_ok(label, policy, cls.name):
        return ()
    problems: list[str] = []
    for rc in cls.required:
        if not _required_ok(policy, rc, label.categories):
            problems.append(f"<Classification> {cls.name} needs categories ({rc.operation})")
    counts: dict[tuple[str, CategoryType], int] = {}
    for key in sorted(label.categories):
        set_name, access, name = key
        value = policy.value(key)
        where = f"<Category TagName={set_name!r}> value {name!r}"
        if value is None:
            problems.append(f"{where} is not in the SPIF")
            continue
        counts[(set_name, access)] = counts.get((set_name, access), 0) + 1
        if policy.single(set_name, access) and counts[(set_name, access)] == 2:
            problems.append(f"<Category TagName={set_name!r}> allows a single value")
        if cls.name in value.excluded_classes:
            problems.append(f"{where} is excluded at {cls.name}")
        for ref in value.excluded:
            clash = _ref_values(policy, ref) & label.categories - {key}
            if clash:
                problems.append(f"{where} excludes {sorted(c[2] for c in clash)}")
        for rc in value.required:
            if not _required_ok(policy, rc, label.categories):
                problems.append(f"{where} needs categories ({rc.operation})")
    return tuple(problems)


def _quick_ok(label: PolicyLabel, policy: Policy, cls: str) -> bool:
    """The usual label: each value exists, is allowed at this class and has no other rule."""
    value, plain = policy.values_index.get, policy.plain
    for key in label.categories:
        v = value(key)
        if v is None or not plain(key) or cls in v.excluded_classes:
            return False
    return _singles_ok(label, policy)


def _singles_ok(label: PolicyLabel, policy: Policy) -> bool:
    seen: set[tuple[str, CategoryType]] = set()
    for set_name, access, _ in label.categories:
        if policy.single(set_name, access):
            if (set_name, access) in seen:
                return False
            seen.add((set_name, access))
    return True


# -- writing and showing ------------------------------------------------------------------


def _ordered(label: PolicyLabel, policy: Policy) -> list[tuple[str, CategoryType, list[str]]]:
    """The label's categories in SPIF order: tag sets, their tags, then values."""
    out = []
    for tag_set in policy.tag_sets:
        for tag in tag_set.tags:
            names = [
                v.name for v in tag.values if (tag_set.name, tag.access, v.name) in label.categories
            ]
            if names:
                out.append((tag_set.name, tag.access, names))
    return out


def write_4774(label: PolicyLabel, policies: PolicySet) -> str:
    """The canonical form: ConfidentialityLabel, URI and name, categories in SPIF order."""
    policy = policies.by_id(label.policy_id)
    if policy is None:
        raise ParseError(f"no SPIF for policy {label.policy_id}")
    q = f"{{{NS}}}"
    root = ET.Element(q + "ConfidentialityLabel")
    info = ET.SubElement(root, q + "ConfidentialityInformation")
    pid = ET.SubElement(info, q + "PolicyIdentifier", {"URI": f"urn:oid:{policy.id}"})
    pid.text = policy.name
    ET.SubElement(info, q + "Classification").text = label.classification
    for set_name, access, names in _ordered(label, policy):
        cat = ET.SubElement(info, q + "Category", {"TagName": set_name, "Type": access.value})
        for name in names:
            ET.SubElement(cat, q + "GenericValue").text = name
    ET.register_namespace("", NS)
    return ET.tostring(root, encoding="unicode")


def _pick(markings: tuple[Marking, ...], lang: str | None) -> Marking | None:
    """The marking for ``lang``: exact, then its primary language, then the default."""
    if lang:
        for want in (lang, lang.split("-")[0]):
            hit = next((m for m in markings if m.lang == want), None)
            if hit is not None:
                return hit
    return next((m for m in markings if m.lang is None), None)


def _qualifier(qs: tuple[Qualifier, ...], code: str, lang: str | None) -> str:
    mine = tuple(q for q in qs if q.code == code)
    chosen = _pick(tuple(Marking(q.lang, q.text, frozenset()) for q in mine), lang)
    if chosen is None:
        chosen = next((Marking(q.lang, q.text, frozenset()) for q in mine), None)
    return chosen.phrase or "" if chosen is not None else ""


def display_marking(label: PolicyLabel, policy: Policy, lang: str | None = None) -> str:
    """The marking a person is shown, from the SPIF's markingData in language ``lang``.

    Our reading of the marking codes: ``replacePolicy`` puts the phrase where the policy name
    goes, ``noNameDisplay`` shows the phrase (or nothing) instead of the value's name,
    ``noMarkingDisplay`` shows nothing, ``suppressClassName`` drops the classification.
    """
    cls = policy.classification(label.classification)
    if cls is None:
        raise ParseError(f"{label.classification!r} is not a {policy.name} classification")
    prefix = policy.name
    cls_mark = _pick(cls.markings, lang)
    cls_text = cls_mark.phrase if cls_mark is not None and cls_mark.phrase else cls.name
    # a classification's own replacement (COSMIC for TOP SECRET) outranks a category's
    fixed = cls_mark is not None and "replacePolicy" in cls_mark.codes
    if fixed:
        prefix, cls_text = cls_text, cls.name
    show_class = True
    groups: list[str] = []
    for set_name, access, names in _ordered(label, policy):
        tag_set = policy.tag_set(set_name)
        tag = tag_set.tag(access) if tag_set is not None else None
        assert tag is not None
        shown: list[str] = []
        for name in names:
            value = tag.value(name)
            assert value is not None
            m = _pick(value.markings, lang)
            codes = m.codes if m is not None else frozenset()
            phrase = m.phrase if m is not None else None
            if "suppressClassName" in codes:
                show_class = False
            if "replacePolicy" in codes and phrase:
                prefix = prefix if fixed else phrase
                continue
            if "noMarkingDisplay" in codes:
                continue
            if "noNameDisplay" in codes:
                if phrase:
                    shown.append(phrase)
                continue
            shown.append(phrase or name)
        if shown:
            sep = _qualifier(tag.qualifiers, "separator", lang) or " "
            groups.append(
                _qualifier(tag.qualifiers, "prefix", lang)
                + sep.join(shown)
                + _qualifier(tag.qualifiers, "suffix", lang)
            )
    if policy.banner_marking:
        parts = ([cls_text] if show_class else []) + groups
        return (_qualifier(policy.qualifiers, "separator", lang) or " ").join(parts)
    parts = [prefix] + ([cls_text] if show_class else []) + groups
    body = " ".join(p for p in parts if p)
    return (
        _qualifier(policy.qualifiers, "prefix", lang)
        + body
        + _qualifier(policy.qualifiers, "suffix", lang)
    )


# -- equivalence --------------------------------------------------------------------------


def _names_for(policy: Policy, oid: str) -> set[str]:
    return {name for name, pid in policy.equivalent_policies.items() if pid == oid}


def translate(label: PolicyLabel, into: Policy, policies: PolicySet) -> PolicyLabel | None:
    """The label as its equivalent under ``into``; None when the SPIFs give no equivalent.

    An equivalence is read from the label's SPIF (``encrypt`` or ``both``, going out) or from
    the target's (``decrypt`` or ``both``, coming in). A restrictive or permissive category
    with no equivalent makes the whole label untranslatable (fail closed); an informative one
    is dropped, since it never decides access.
    """
    source = policies.by_id(label.policy_id)
    if source is None:
        return None
    if source.id == into.id:
        return label
    out_names, in_names = _names_for(source, into.id), _names_for(into, source.id)
    going, coming = (Applied.ENCRYPT, Applied.BOTH), (Applied.DECRYPT, Applied.BOTH)
    cls = source.classification(label.classification)
    if cls is None:
        return None
    target = next(
        (
            into.by_lacv(eq.lacv)
            for eq in cls.equivalents
            if eq.policy in out_names and eq.applied in going and into.by_lacv(eq.lacv)
        ),
        None,
    ) or next(
        (
            c
            for c in into.classifications
            for eq in c.equivalents
            if eq.policy in in_names and eq.applied in coming and eq.lacv == cls.lacv
        ),
        None,
    )
    if target is None:
        return None
    categories: set[CategoryKey] = set()
    for key in label.categories:
        mapped = _category_into(source, into, key, out_names=out_names, in_names=in_names)
        if mapped is None:
            if key[1] is CategoryType.INFORMATIVE:
                continue
            return None
        categories.add(mapped)
    return PolicyLabel(into.id, target.name, frozenset(categories))


def _category_into(
    source: Policy,
    into: Policy,
    key: CategoryKey,
    *,
    out_names: set[str],
    in_names: set[str],
) -> CategoryKey | None:
    set_name, access, name = key
    src_set = source.tag_set(set_name)
    src_tag = src_set.tag(access) if src_set is not None else None
    value = src_tag.value(name) if src_tag is not None else None
    if src_set is None or value is None:
        return None
    for eq in value.equivalents:
        if eq.policy in out_names and eq.applied in (Applied.ENCRYPT, Applied.BOTH):
            dst_set = into.tag_set_by_id(eq.tag_set_id)
            dst_tag = dst_set.tag(eq.access) if dst_set is not None else None
            hit = next((v for v in dst_tag.values if v.lacv == eq.lacv), None) if dst_tag else None
            if dst_set is not None and hit is not None:
                return (dst_set.name, eq.access, hit.name)
    for dst_set in into.tag_sets:
        for tag in dst_set.tags:
            for v in tag.values:
                for eq in v.equivalents:
                    if (
                        eq.policy in in_names
                        and eq.applied in (Applied.DECRYPT, Applied.BOTH)
                        and eq.tag_set_id == src_set.id
                        and eq.access is access
                        and eq.lacv == value.lacv
                    ):
                        return (dst_set.name, tag.access, v.name)
    return None
