"""The release rules encoded a second time, independently, in Cedar; decisions must agree.

The test side parses banners and viewers with its own regular expressions and hands Cedar
only raw facts (the codes as written, the clearance as written, the day numbers); releasability,
tetragraph expansion, satisfiability, clearance status, expiry, equivalence and precedence of
reasons are all Cedar policy below. Each forbid policy is named after the reason it stands for,
so Cedar's list of determining policies must equal Kizuna's list of reasons.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
WS = " \t\n\r\x0b\x0c"
CLASSES = {
    "UNCLASSIFIED": ("", 0),
    "CONFIDENTIAL": ("USA", 1),
    "SECRET": ("USA", 2),
    "TOP SECRET": ("USA", 3),
    "JPN HI": ("JPN", 1),
    "JPN GOKUHI": ("JPN", 2),
    "JPN KIMITSU": ("JPN", 3),
}
CODES = ["USA", "JPN", "AUS", "CAN", "GBR", "NZL", "KOR", "PHL", "FVEY"]
CODE = "(?:" + "|".join(CODES) + ")"
REL_RE = re.compile(rf"REL TO ({CODE}(?:, {CODE})*)")
CLEAR_RE = re.compile(r"(USA|JPN):(NONE|CONFIDENTIAL|SECRET|TOP SECRET|HI|GOKUHI|KIMITSU)")
CLEAR_RANK = {
    "NONE": 0,
    "CONFIDENTIAL": 1,
    "SECRET": 2,
    "TOP SECRET": 3,
    "HI": 1,
    "GOKUHI": 2,
    "KIMITSU": 3,
}
CLEAR_POLICY = {
    "CONFIDENTIAL": "USA",
    "SECRET": "USA",
    "TOP SECRET": "USA",
    "HI": "JPN",
    "GOKUHI": "JPN",
    "KIMITSU": "JPN",
}

SCHEMA = """
entity Label = {
  state: String, classified: Bool, policy: String, home: String, rank: Long,
  has_rel: Bool, rel: Set<String>, noforn: Bool,
};
entity Viewer = {
  readable: Bool, nation: String, clearance_ok: Bool, cl_policy: String, cl_rank: Long,
  status: String, expires: Long,
};
action view appliesTo { principal: Viewer, resource: Label, context: { today: Long } };
"""

POLICIES = """
@id("PERMIT") permit (principal, action, resource);

@id("DENY_MISSING_LABEL") forbid (principal, action, resource)
  when { resource.state == "missing" };

@id("DENY_MALFORMED_LABEL") forbid (principal, action, resource)
  when { resource.state == "malformed" };

@id("DENY_UNSATISFIABLE_LABEL") forbid (principal, action, resource)
  when { resource.state == "ok" && resource.has_rel && (resource.noforn || (resource.classified
    && !(resource.rel.contains(resource.policy) || (resource.rel.contains("FVEY")
         && ["USA", "AUS", "CAN", "GBR", "NZL"].contains(resource.policy))))) };

@id("DENY_MALFORMED_REQUEST") forbid (principal, action, resource)
  when { resource.state == "ok" && !(resource.has_rel && (resource.noforn || (resource.classified
    && !(resource.rel.contains(resource.policy) || (resource.rel.contains("FVEY")
         && ["USA", "AUS", "CAN", "GBR", "NZL"].contains(resource.policy))))))
    && (!principal.readable
        || !["USA", "JPN", "AUS", "CAN", "GBR", "NZL", "KOR", "PHL"].contains(principal.nation)
        || (resource.classified && !principal.clearance_ok)) };
"""

# The remaining reasons apply only to a well-formed, satisfiable label and a viewer whose
# nation is known; the clearance ones only to classified labels with a readable clearance.
_GUARD = """resource.state == "ok" && principal.readable
    && ["USA", "JPN", "AUS", "CAN", "GBR", "NZL", "KOR", "PHL"].contains(principal.nation)
    && !(resource.has_rel && (resource.noforn || (resource.classified
      && !(resource.rel.contains(resource.policy) || (resource.rel.contains("FVEY")
           && ["USA", "AUS", "CAN", "GBR", "NZL"].contains(resource.policy))))))"""
_CLEARED = _GUARD + " && resource.classified && principal.clearance_ok"

POLICIES += f"""
@id("DENY_NOT_RELEASABLE") forbid (principal, action, resource)
  when {{ {_GUARD} && (
    (resource.has_rel && !(resource.rel.contains(principal.nation) || (resource.rel.contains("FVEY")
        && ["USA", "AUS", "CAN", "GBR", "NZL"].contains(principal.nation))))
    || (!resource.has_rel && (resource.noforn || resource.classified)
        && principal.nation != resource.home)) }};

@id("DENY_CLEARANCE_REVOKED") forbid (principal, action, resource)
  when {{ {_CLEARED} && principal.status == "revoked" }};

@id("DENY_CLEARANCE_SUSPENDED") forbid (principal, action, resource)
  when {{ {_CLEARED} && principal.status == "suspended" }};

@id("DENY_CLEARANCE_EXPIRED") forbid (principal, action, resource)
  when {{ {_CLEARED} && context.today > principal.expires }};

@id("DENY_NO_EQUIVALENCE") forbid (principal, action, resource)
  when {{ {_CLEARED} && principal.cl_policy != principal.nation }};

@id("DENY_INSUFFICIENT_CLEARANCE") forbid (principal, action, resource)
  when {{ {_CLEARED} && principal.cl_policy == principal.nation
          && resource.rank > principal.cl_rank }};
"""


# cedarpy names policies policy0, policy1, ... in order; map them back to their @id.
POLICY_IDS = {f"policy{i}": name for i, name in enumerate(re.findall(r'@id\("(\w+)"\)', POLICIES))}


def label_facts(text: object) -> dict[str, object]:
    facts: dict[str, object] = {
        "state": "ok",
        "classified": False,
        "policy": "",
        "home": "USA",
        "rank": 0,
        "has_rel": False,
        "rel": [],
        "noforn": False,
    }
    if text is None or (isinstance(text, str) and not text.strip(WS)):
        return {**facts, "state": "missing"}
    if not isinstance(text, str):
        return {**facts, "state": "malformed"}
    head, *rest = text.strip(WS).split("//")
    if head not in CLASSES:
        return {**facts, "state": "malformed"}
    policy, rank = CLASSES[head]
    facts.update(classified=bool(policy), policy=policy, home=policy or "USA", rank=rank)
    for block in rest:
        rel = REL_RE.fullmatch(block)
        if block == "NOFORN" and not facts["noforn"]:
            facts["noforn"] = True
        elif rel and not facts["has_rel"]:
            facts.update(has_rel=True, rel=sorted(set(rel.group(1).split(", "))))
        else:
            return {**facts, "state": "malformed"}
    return facts


def viewer_facts(raw: object) -> dict[str, object]:
    facts: dict[str, object] = {
        "readable": False,
        "nation": "",
        "clearance_ok": False,
        "cl_policy": "",
        "cl_rank": 0,
        "status": "",
        "expires": 0,
    }
    if not isinstance(raw, dict) or not isinstance(raw.get("nation"), str):
        return facts
    facts.update(readable=True, nation=raw["nation"])
    cl, status, expires = raw.get("clearance"), raw.get("status"), raw.get("expires")
    m = CLEAR_RE.fullmatch(cl) if isinstance(cl, str) else None
    if not (m and status in ("active", "suspended", "revoked") and isinstance(expires, str)):
        return facts
    policy, level = m.groups()
    if level != "NONE" and CLEAR_POLICY[level] != policy:
        return facts
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", expires):
        return facts  # an RFC 3339 full-date, and no other form
    try:
        day = date.fromisoformat(expires)
    except ValueError:
        return facts
    facts.update(
        clearance_ok=True,
        cl_policy=policy,
        cl_rank=CLEAR_RANK[level],
        status=status,
        expires=day.toordinal(),
    )
    return facts


def cedar_inputs(
    cases: list[tuple[object, object]], at: datetime
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Entities and requests for Cedar, one label and one viewer entity per case."""
    entities: list[dict[str, object]] = []
    requests: list[dict[str, object]] = []
    for i, (label, viewer) in enumerate(cases):
        entities.append(
            {"uid": {"type": "Label", "id": f"l{i}"}, "attrs": label_facts(label), "parents": []}
        )
        entities.append(
            {"uid": {"type": "Viewer", "id": f"v{i}"}, "attrs": viewer_facts(viewer), "parents": []}
        )
        requests.append(
            {
                "principal": f'Viewer::"v{i}"',
                "action": 'Action::"view"',
                "resource": f'Label::"l{i}"',
                "context": {"today": at.date().toordinal()},
            }
        )
    return entities, requests
