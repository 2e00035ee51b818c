"""The alliance gateway: a guard in the cross-domain sense between national nodes, with a
tamper-evident audit log, the originators' sanitisation rules, a hold queue for humans and a
reciprocity ledger."""

from kizuna.gateway._admin import AdminServer, Operator, admin_request, local_operator
from kizuna.gateway._audit import AuditEntry, AuditLog, AuditRow, AuditSink, Checkpoint
from kizuna.gateway._config import (
    GatewayFile,
    GatewayFileError,
    Limits,
    Partner,
    build_gateway,
    load_gateway_file,
)
from kizuna.gateway._cot import CotItemCodec, category_of
from kizuna.gateway._db import GatewayDb, HeldItem, Received, TierState
from kizuna.gateway._envelope import Envelope, Meta, open_envelope, seal, seal_batch
from kizuna.gateway._gateway import Gateway, GatewayConfig
from kizuna.gateway._guard import Filter, Guard, GuardReason, Outcome, Verdict, Work
from kizuna.gateway._item import DEFAULT, PUBLISHER, Item, ItemCodec, JsonItemCodec
from kizuna.gateway._keys import KeyRing, Signer, generate_keys
from kizuna.gateway._ledger import Ledger, Tally
from kizuna.gateway._merkle import (
    MerkleTree,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from kizuna.gateway._pipelines import inbound_guard, outbound_guard
from kizuna.gateway._rules import Action, Rule, RuleSet, coarsen, load_rules, parse_rules
from kizuna.gateway._serve import GatewayServer, admin_socket, serve_forever, verdict_json
from kizuna.gateway._verify import VerifyReport, countersign, verify_log

__all__ = [
    "DEFAULT",
    "PUBLISHER",
    "Action",
    "AdminServer",
    "AuditEntry",
    "AuditLog",
    "AuditRow",
    "AuditSink",
    "Checkpoint",
    "CotItemCodec",
    "Envelope",
    "Filter",
    "Gateway",
    "GatewayConfig",
    "GatewayDb",
    "GatewayFile",
    "GatewayFileError",
    "GatewayServer",
    "Guard",
    "GuardReason",
    "HeldItem",
    "Item",
    "ItemCodec",
    "JsonItemCodec",
    "KeyRing",
    "Ledger",
    "Limits",
    "MerkleTree",
    "Meta",
    "Operator",
    "Outcome",
    "Partner",
    "Received",
    "Rule",
    "RuleSet",
    "Signer",
    "Tally",
    "TierState",
    "Verdict",
    "VerifyReport",
    "Work",
    "admin_request",
    "admin_socket",
    "build_gateway",
    "category_of",
    "coarsen",
    "countersign",
    "generate_keys",
    "inbound_guard",
    "leaf_hash",
    "load_gateway_file",
    "load_rules",
    "local_operator",
    "node_hash",
    "open_envelope",
    "outbound_guard",
    "parse_rules",
    "seal",
    "seal_batch",
    "serve_forever",
    "verdict_json",
    "verify_consistency",
    "verify_inclusion",
    "verify_log",
]
