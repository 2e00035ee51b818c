"""Security policies from Open XML-SPIF 2.1 files, as one frozen model.

The loader is strict: a SPIF is read with the hardened XML reader (no DTD, no entities,
bounded), and every reference inside it (excluded classes, required and excluded categories,
equivalent policies) must resolve. A SPIF that breaks any rule is refused with one line per
problem, each naming the file, the line and the element, so an operator can fix it; nothing
is guessed, because a wrong policy is a wrong release.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from kizuna._xml import parse_xml_lines
from kizuna.errors import ParseError, PolicyError
from kizuna.labels._model import CategoryType

__all__ = [
    "KIZUNA_SPIF_NS",
    "MAX_SPIF_BYTES",
    "SPIF_NS",
    "Applied",
    "CategoryRef",
    "Classification",
    "EquivalentCategory",
    "EquivalentClass",
    "Marking",
    "Policy",
    "Qualifier",
    "RequiredCategory",
    "SpifError",
    "Tag",
    "TagSet",
    "TagType",
    "TagValue",
    "load_spif",
    "parse_spif",
]

SPIF_NS = "http://www.xmlspif.org/spif"
KIZUNA_SPIF_NS = "urn:kizuna:spif:1"  # our extension: nation groups such as FVEY
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# The NATO SPIF, the largest we know of, is 87 kB; four times that leaves room for a partner's.
MAX_SPIF_BYTES = 512 * 1024
_MAX_ELEMENTS = 50_000


class SpifError(PolicyError):
    """A SPIF was refused; ``problems`` holds one line per problem found."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class TagType(StrEnum):
    """A securityCategoryTag's ``tagType`` (``tagType7`` is informative in X.841)."""

    PERMISSIVE = "permissive"
    RESTRICTIVE = "restrictive"
    ENUMERATED = "enumerated"
    INFORMATIVE = "informative"


class Applied(StrEnum):
    """When an equivalence applies: sending out (encrypt), reading in (decrypt), or both."""

    ENCRYPT = "encrypt"
    DECRYPT = "decrypt"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class Marking:
    """One markingData: a phrase (None: the name is shown) and its codes, for a language."""

    lang: str | None
    phrase: str | None
    codes: frozenset[str]


@dataclass(frozen=True, slots=True)
class Qualifier:
    """A markingQualifier's qualifier: ``prefix``, ``suffix`` or ``separator`` text."""

    code: str
    text: str
    lang: str | None


@dataclass(frozen=True, slots=True)
class CategoryRef:
    """A categoryGroup or excludedCategory: one value of a tag, or all of them (lacv None)."""

    tag_set: str
    access: CategoryType
    lacv: str | None


@dataclass(frozen=True, slots=True)
class RequiredCategory:
    """``operation`` is ``onlyOne``, ``oneOrMore`` or ``all`` over ``groups``."""

    operation: str
    groups: tuple[CategoryRef, ...]


@dataclass(frozen=True, slots=True)
class EquivalentClass:
    policy: str  # the equivalent policy's name, as in equivalentPolicies
    lacv: int
    applied: Applied


@dataclass(frozen=True, slots=True)
class EquivalentCategory:
    policy: str
    tag_set_id: str
    access: CategoryType
    lacv: str
    applied: Applied


@dataclass(frozen=True, slots=True)
class Classification:
    name: str
    lacv: int
    hierarchy: int
    markings: tuple[Marking, ...] = ()
    required: tuple[RequiredCategory, ...] = ()
    equivalents: tuple[EquivalentClass, ...] = ()
    obsolete: bool = False


@dataclass(frozen=True, slots=True)
class TagValue:
    """A tagCategory: one value a label may carry under its tag."""

    name: str
    lacv: str
    markings: tuple[Marking, ...] = ()
    excluded_classes: frozenset[str] = frozenset()
    excluded: tuple[CategoryRef, ...] = ()
    required: tuple[RequiredCategory, ...] = ()
    equivalents: tuple[EquivalentCategory, ...] = ()
    obsolete: bool = False


@dataclass(frozen=True, slots=True)
class Tag:
    """A securityCategoryTag; ``access`` is what it means for a decision."""

    name: str
    tag_type: TagType
    access: CategoryType
    values: tuple[TagValue, ...]
    qualifiers: tuple[Qualifier, ...] = ()
    single: bool = False

    def value(self, name: str) -> TagValue | None:
        """The value called ``name``, or None."""
        return next((v for v in self.values if v.name == name), None)


@dataclass(frozen=True, slots=True)
class TagSet:
    name: str
    id: str
    tags: tuple[Tag, ...]

    def tag(self, access: CategoryType) -> Tag | None:
        """The set's tag of this access type (a 4774 Category names a set and a type)."""
        return next((t for t in self.tags if t.access is access), None)


@dataclass(frozen=True, slots=True)
class Policy:
    """One security policy as its SPIF states it."""

    name: str
    id: str
    classifications: tuple[Classification, ...]  # ascending hierarchy
    tag_sets: tuple[TagSet, ...]
    equivalent_policies: MappingProxyType[str, str]  # name -> policy id
    qualifiers: tuple[Qualifier, ...] = ()
    groups: MappingProxyType[str, frozenset[str]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    source: str = ""
    unclassified_home: bool = False  # kz:unclassifiedHome: UNCLASSIFIED//NOFORN stays here
    # kz:bannerMarking: a classification's phrase is the whole first block of the marking (no
    # policy name before it) and the policy's separator joins the blocks, as CAPCO writes them
    banner_marking: bool = False
    # Lookups worked out once (a label is judged per item): by name, and by
    # (tag set, access type, value name); ``_plain`` holds the values with no rule about other
    # categories (excluded classes are checked on their own).
    _classes: dict[str, Classification] = field(init=False, repr=False, compare=False)
    _values: dict[tuple[str, CategoryType, str], TagValue] = field(
        init=False, repr=False, compare=False
    )
    _plain: frozenset[tuple[str, CategoryType, str]] = field(init=False, repr=False, compare=False)
    _single: frozenset[tuple[str, CategoryType]] = field(init=False, repr=False, compare=False)
    _tags: frozenset[tuple[str, CategoryType]] = field(init=False, repr=False, compare=False)
    _values_view: Mapping[tuple[str, CategoryType, str], TagValue] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        values = {
            (s.name, t.access, v.name): v for s in self.tag_sets for t in s.tags for v in t.values
        }
        plain = frozenset(k for k, v in values.items() if not (v.excluded or v.required))
        single = frozenset((s.name, t.access) for s in self.tag_sets for t in s.tags if t.single)
        object.__setattr__(self, "_classes", {c.name: c for c in self.classifications})
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_values_view", MappingProxyType(values))
        object.__setattr__(self, "_plain", plain)
        object.__setattr__(self, "_single", single)
        object.__setattr__(
            self, "_tags", frozenset((s.name, t.access) for s in self.tag_sets for t in s.tags)
        )

    def has_tag(self, tag_set: str, access: CategoryType) -> bool:
        """True when the tag set exists and has a tag of that access type."""
        return (tag_set, access) in self._tags

    @property
    def values_index(self) -> Mapping[tuple[str, CategoryType, str], TagValue]:
        """Every value by (tag set, access type, value name), read-only."""
        return self._values_view

    def value(self, key: tuple[str, CategoryType, str]) -> TagValue | None:
        """The value a (tag set, access type, value name) key names, or None."""
        return self._values.get(key)

    def plain(self, key: tuple[str, CategoryType, str]) -> bool:
        """True when the value exists and names no excluded or required category."""
        return key in self._plain

    def single(self, tag_set: str, access: CategoryType) -> bool:
        """True when that tag allows one value only."""
        return (tag_set, access) in self._single

    def default_marking(self, name: str) -> str:
        """A classification's marking in no particular language: its phrase, else its name."""
        cls = self.classification(name)
        if cls is None:
            return name
        return next((m.phrase for m in cls.markings if m.lang is None and m.phrase), name)

    def classification(self, name: str) -> Classification | None:
        """The classification called ``name``, or None."""
        return self._classes.get(name)

    def by_lacv(self, lacv: int) -> Classification | None:
        """The classification whose lacv is ``lacv``, or None."""
        return next((c for c in self.classifications if c.lacv == lacv), None)

    def tag_set(self, name: str) -> TagSet | None:
        """The tag set called ``name``, or None."""
        return next((s for s in self.tag_sets if s.name == name), None)

    def tag_set_by_id(self, oid: str) -> TagSet | None:
        """The tag set whose id is ``oid``, or None."""
        return next((s for s in self.tag_sets if s.id == oid), None)


# -- reading ------------------------------------------------------------------------------


def _local(tag: str) -> tuple[str, str]:
    ns, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return ns, name


class _Reader:
    """Turns a parsed SPIF into a Policy, collecting every problem rather than the first."""

    def __init__(self, source: str, lines: Mapping[int, int]) -> None:
        self.source = source
        self.lines = lines
        self.problems: list[str] = []

    def problem(self, elem: ET.Element, message: str) -> None:
        line = self.lines.get(id(elem), 0)
        self.problems.append(f"{self.source}:{line}: <{_local(elem.tag)[1]}>: {message}")

    def kids(self, elem: ET.Element, name: str) -> list[ET.Element]:
        return [k for k in elem if _local(k.tag) in ((SPIF_NS, name), ("", name))]

    def one(self, elem: ET.Element, name: str) -> ET.Element | None:
        found = self.kids(elem, name)
        if len(found) != 1:
            self.problem(elem, f"needs exactly one <{name}>, found {len(found)}")
            return None
        return found[0]

    def attr(self, elem: ET.Element, name: str) -> str:
        value = elem.get(name)
        if value is None or not value.strip():
            self.problem(elem, f"needs a {name!r} attribute")
            return ""
        return value.strip()

    def integer(self, elem: ET.Element, name: str) -> int:
        text = self.attr(elem, name)
        try:
            return int(text, 10)
        except ValueError:
            if text:
                self.problem(elem, f"{name}={text!r} is not an integer")
            return -1

    def flag(self, elem: ET.Element, name: str) -> bool:
        value = elem.get(name, "false")
        if value not in ("true", "false", "1", "0"):
            self.problem(elem, f"{name}={value!r} is not a boolean")
        return value in ("true", "1")

    def applied(self, elem: ET.Element) -> Applied:
        value = elem.get("applied", "both")
        try:
            return Applied(value)
        except ValueError:
            self.problem(elem, f"applied={value!r} is not encrypt, decrypt or both")
            return Applied.BOTH

    def markings(self, elem: ET.Element) -> tuple[Marking, ...]:
        out = []
        for md in self.kids(elem, "markingData"):
            codes = frozenset((c.text or "").strip() for c in self.kids(md, "code"))
            out.append(Marking(md.get(_XML_LANG), md.get("phrase"), codes))
        return tuple(out)

    def qualifiers(self, elem: ET.Element) -> tuple[Qualifier, ...]:
        out = []
        for mq in self.kids(elem, "markingQualifier"):
            for q in self.kids(mq, "qualifier"):
                code = self.attr(q, "qualifierCode")
                if code and code not in ("prefix", "suffix", "separator"):
                    self.problem(q, f"qualifierCode={code!r} is not prefix, suffix or separator")
                out.append(Qualifier(code, q.get("markingQualifier", ""), q.get(_XML_LANG)))
        return tuple(out)

    def access(self, elem: ET.Element) -> CategoryType:
        kind = elem.get("tagType", "")
        if kind == "enumerated":
            enum = elem.get("enumType", "")
            if enum not in ("permissive", "restrictive"):
                self.problem(elem, f"enumType={enum!r} must be permissive or restrictive")
                return CategoryType.INFORMATIVE
            return CategoryType(enum.upper())
        if kind in ("permissive", "restrictive"):
            return CategoryType(kind.upper())
        if kind in ("tagType7", "informative"):
            return CategoryType.INFORMATIVE
        self.problem(elem, f"tagType={kind!r} is not a known tag type")
        return CategoryType.INFORMATIVE

    def ref(self, elem: ET.Element) -> CategoryRef:
        lacv = elem.get("lacv")
        if lacv is None and not self.flag(elem, "all"):
            self.problem(elem, "names neither a lacv nor all='true'")
        return CategoryRef(self.attr(elem, "tagSetRef"), self.access(elem), lacv)

    def required(self, elem: ET.Element) -> tuple[RequiredCategory, ...]:
        out = []
        for rc in self.kids(elem, "requiredCategory"):
            op = self.attr(rc, "operation")
            if op and op not in ("onlyOne", "oneOrMore", "all"):
                self.problem(rc, f"operation={op!r} is not onlyOne, oneOrMore or all")
            groups = tuple(self.ref(g) for g in self.kids(rc, "categoryGroup"))
            if not groups:
                self.problem(rc, "has no categoryGroup")
            out.append(RequiredCategory(op, groups))
        return tuple(out)

    def classification(self, elem: ET.Element) -> Classification:
        equivalents = tuple(
            EquivalentClass(self.attr(e, "policyRef"), self.integer(e, "lacv"), self.applied(e))
            for e in self.kids(elem, "equivalentClassification")
        )
        return Classification(
            name=self.attr(elem, "name"),
            lacv=self.integer(elem, "lacv"),
            hierarchy=self.integer(elem, "hierarchy"),
            markings=self.markings(elem),
            required=self.required(elem),
            equivalents=equivalents,
            obsolete=self.flag(elem, "obsolete"),
        )

    def value(self, elem: ET.Element) -> TagValue:
        name = self.attr(elem, "name")
        classes: set[str] = set()
        for ex in self.kids(elem, "excludedClass"):
            cls = (ex.text or "").strip()
            if cls in classes:
                self.problem(ex, f"duplicate excluded classification {cls!r} in category {name!r}")
            classes.add(cls)
        equivalents = tuple(
            EquivalentCategory(
                self.attr(e, "policyRef"),
                self.attr(e, "tagSetId"),
                self.access(e),
                self.attr(e, "lacv"),
                self.applied(e),
            )
            for e in self.kids(elem, "equivalentSecCategoryTag")
        )
        return TagValue(
            name=name,
            lacv=self.attr(elem, "lacv"),
            markings=self.markings(elem),
            excluded_classes=frozenset(classes),
            excluded=tuple(self.ref(e) for e in self.kids(elem, "excludedCategory")),
            required=self.required(elem),
            equivalents=equivalents,
            obsolete=self.flag(elem, "obsolete"),
        )

    def tag(self, elem: ET.Element) -> Tag:
        kind = elem.get("tagType", "")
        known = {t.value for t in TagType}
        tag_type = TagType(kind) if kind in known else TagType.INFORMATIVE
        values = tuple(self.value(v) for v in self.kids(elem, "tagCategory"))
        seen_names: set[str] = set()
        seen_lacv: set[str] = set()
        for v, ve in zip(values, self.kids(elem, "tagCategory"), strict=True):
            if v.name in seen_names:
                self.problem(ve, f"value {v.name!r} appears twice in tag {elem.get('name')!r}")
            if v.lacv in seen_lacv:
                self.problem(ve, f"lacv {v.lacv!r} appears twice in tag {elem.get('name')!r}")
            seen_names.add(v.name)
            seen_lacv.add(v.lacv)
        return Tag(
            name=self.attr(elem, "name"),
            tag_type=tag_type,
            access=self.access(elem),
            values=values,
            qualifiers=self.qualifiers(elem),
            single=self.flag(elem, "singleSelection"),
        )

    def tag_set(self, elem: ET.Element) -> TagSet:
        name = self.attr(elem, "name")
        tags = tuple(self.tag(t) for t in self.kids(elem, "securityCategoryTag"))
        kinds = [t.access for t in tags]
        if len(set(kinds)) != len(kinds):
            self.problem(elem, f"tag set {name!r} has two tags of the same access type")
        return TagSet(name, self.attr(elem, "id"), tags)

    def groups(self, root: ET.Element) -> dict[str, frozenset[str]]:
        out: dict[str, frozenset[str]] = {}
        for ext in self.kids(root, "extensions"):
            for g in ext.iter(f"{{{KIZUNA_SPIF_NS}}}group"):
                name = self.attr(g, "name")
                members = frozenset(self.attr(g, "members").split())
                if name in out:
                    self.problem(g, f"group {name!r} is defined twice")
                out[name] = members
        return out

    def extension(self, root: ET.Element, name: str) -> bool:
        return any(
            True
            for ext in self.kids(root, "extensions")
            for _ in ext.iter(f"{{{KIZUNA_SPIF_NS}}}{name}")
        )

    def policy(self, root: ET.Element) -> Policy:
        if _local(root.tag) not in ((SPIF_NS, "SPIF"), ("", "SPIF")):
            self.problem(root, "the root element is not an XML-SPIF <SPIF>")
            raise SpifError(self.problems)
        pid = self.one(root, "securityPolicyId")
        name = self.attr(pid, "name") if pid is not None else ""
        oid = self.attr(pid, "id") if pid is not None else ""
        equivalent: dict[str, str] = {}
        for eps in self.kids(root, "equivalentPolicies"):
            for ep in self.kids(eps, "equivalentPolicy"):
                equivalent[self.attr(ep, "name")] = self.attr(ep, "id")
        classes_elem = self.one(root, "securityClassifications")
        class_elems = self.kids(classes_elem, "securityClassification") if classes_elem else []
        classes = [self.classification(c) for c in class_elems]
        if classes_elem is not None and not classes:
            self.problem(classes_elem, "names no classification")
        sets_elems = self.kids(root, "securityCategoryTagSets")
        set_elems = [s for ss in sets_elems for s in self.kids(ss, "securityCategoryTagSet")]
        tag_sets = [self.tag_set(s) for s in set_elems]
        policy = Policy(
            name=name,
            id=oid,
            classifications=tuple(sorted(classes, key=lambda c: c.hierarchy)),
            tag_sets=tuple(tag_sets),
            equivalent_policies=MappingProxyType(equivalent),
            qualifiers=self.qualifiers(root),
            groups=MappingProxyType(self.groups(root)),
            source=self.source,
            unclassified_home=self.extension(root, "unclassifiedHome"),
            banner_marking=self.extension(root, "bannerMarking"),
        )
        self.check(policy, class_elems, set_elems)
        return policy

    def check(
        self, policy: Policy, class_elems: list[ET.Element], set_elems: list[ET.Element]
    ) -> None:
        """Every name is unique and every reference resolves; one problem per break."""
        names: set[str] = set()
        lacvs: set[int] = set()
        ordered = sorted(class_elems, key=lambda e: _int_or(e.get("hierarchy")))
        for c, ce in zip(policy.classifications, ordered, strict=True):
            if c.name in names:
                self.problem(ce, f"classification {c.name!r} is defined twice")
            if c.lacv in lacvs:
                self.problem(ce, f"lacv {c.lacv} is used by two classifications")
            names.add(c.name)
            lacvs.add(c.lacv)
            for eq in c.equivalents:
                if eq.policy not in policy.equivalent_policies:
                    self.problem(ce, f"equivalentClassification names unknown policy {eq.policy!r}")
            self.check_required(policy, c.required, ce)
        set_names = [s.name for s in policy.tag_sets]
        for s, se in zip(policy.tag_sets, set_elems, strict=True):
            if set_names.count(s.name) > 1:
                self.problem(se, f"tag set {s.name!r} is defined twice")
            for t in s.tags:
                for v in t.values:
                    for cls in sorted(v.excluded_classes - names):
                        self.problem(se, f"value {v.name!r} excludes unknown class {cls!r}")
                    for ref in v.excluded:
                        self.check_ref(policy, ref, se)
                    self.check_required(policy, v.required, se)
                    for eqc in v.equivalents:
                        if eqc.policy not in policy.equivalent_policies:
                            self.problem(
                                se, f"value {v.name!r} names unknown policy {eqc.policy!r}"
                            )

    def check_required(
        self, policy: Policy, required: tuple[RequiredCategory, ...], elem: ET.Element
    ) -> None:
        for rc in required:
            for ref in rc.groups:
                self.check_ref(policy, ref, elem)

    def check_ref(self, policy: Policy, ref: CategoryRef, elem: ET.Element) -> None:
        ts = policy.tag_set(ref.tag_set)
        if ts is None:
            self.problem(elem, f"refers to unknown tag set {ref.tag_set!r}")
            return
        tag = ts.tag(ref.access)
        if tag is None:
            self.problem(elem, f"tag set {ref.tag_set!r} has no {ref.access.value.lower()} tag")
        elif ref.lacv is not None and all(v.lacv != ref.lacv for v in tag.values):
            self.problem(elem, f"tag set {ref.tag_set!r} has no value with lacv {ref.lacv!r}")


def _int_or(text: str | None) -> int:
    try:
        return int(text or "", 10)
    except ValueError:
        return -1


def parse_spif(data: bytes | str, source: str = "<spif>") -> Policy:
    """Read one SPIF document; raise SpifError listing every problem (file:line: <elem>: why)."""
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else data
    except UnicodeEncodeError:
        raise SpifError([f"{source}: text is not valid Unicode"]) from None
    if len(raw) > MAX_SPIF_BYTES:
        raise SpifError([f"{source}: larger than the {MAX_SPIF_BYTES}-byte bound for a SPIF"])
    try:
        root, lines = parse_xml_lines(
            raw, max_bytes=MAX_SPIF_BYTES, max_depth=24, max_elements=_MAX_ELEMENTS
        )
    except ParseError as exc:
        text = str(exc)
        where = text[5:] if text.startswith("line ") else f" {text}"
        raise SpifError([f"{source}:{where}"]) from exc
    reader = _Reader(source, lines)
    policy = reader.policy(root)
    if reader.problems:
        raise SpifError(reader.problems)
    return policy


def load_spif(path: Path) -> Policy:
    """Read a SPIF file (see parse_spif); an unreadable file is one SpifError line."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_SPIF_BYTES + 1)
    except OSError as exc:
        raise SpifError([f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    return parse_spif(data, str(path))
