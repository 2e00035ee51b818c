"""The bilateral coordination cell: the joint targeting cycle over comparable C2 architectures.

Pure core: time comes in as numbers (seconds of a run), randomness as a numpy Generator, and
munitions through a ``StockSource``. Drive a ``CoordinationCell`` with ``nominate`` and
``step``/``next_due`` from a SimPy process or a plain loop.
"""

from kizuna.coord._alloc import (
    AllocationProblem,
    Allocator,
    Assignment,
    FixedStock,
    StockSource,
    assign_greedy,
    assign_hungarian,
    assign_milp,
    assign_optimal,
    objective,
)
from kizuna.coord._arch import Approval, Architecture, Edge, Node, Router, ShooterSpec
from kizuna.coord._cell import CoordinationCell, TaskOrder
from kizuna.coord._cycle import ALLOWED, TargetCycle
from kizuna.coord._dist import (
    Constant,
    Distribution,
    LogNormal,
    Uniform,
    parse_distribution,
    parse_duration,
)
from kizuna.coord._gates import (
    CollateralGate,
    Gate,
    GateDecision,
    LegalReviewGate,
    NoStrikeEntry,
    NoStrikeGate,
)
from kizuna.coord._intake import default_gates
from kizuna.coord._load import (
    ArchitectureError,
    load_architecture,
    parse_architecture,
    shipped_architectures,
)
from kizuna.coord._metrics import CriticalPath, Percentiles, RunMetrics, run_metrics
from kizuna.coord._model import (
    EdgeKind,
    Event,
    IllegalTransitionError,
    NodeKind,
    Nomination,
    Stage,
    Target,
    TargetType,
)
from kizuna.coord._priority import PriorityModel
from kizuna.coord._scenario import TargetArea, synthetic_nominations
from kizuna.coord._validate import SOVEREIGN_COMMAND

__all__ = [
    "ALLOWED",
    "SOVEREIGN_COMMAND",
    "AllocationProblem",
    "Allocator",
    "Approval",
    "Architecture",
    "ArchitectureError",
    "Assignment",
    "CollateralGate",
    "Constant",
    "CoordinationCell",
    "CriticalPath",
    "Distribution",
    "Edge",
    "EdgeKind",
    "Event",
    "FixedStock",
    "Gate",
    "GateDecision",
    "IllegalTransitionError",
    "LegalReviewGate",
    "LogNormal",
    "NoStrikeEntry",
    "NoStrikeGate",
    "Node",
    "NodeKind",
    "Nomination",
    "Percentiles",
    "PriorityModel",
    "Router",
    "RunMetrics",
    "ShooterSpec",
    "Stage",
    "StockSource",
    "Target",
    "TargetArea",
    "TargetCycle",
    "TargetType",
    "TaskOrder",
    "Uniform",
    "assign_greedy",
    "assign_hungarian",
    "assign_milp",
    "assign_optimal",
    "default_gates",
    "load_architecture",
    "objective",
    "parse_architecture",
    "parse_distribution",
    "parse_duration",
    "run_metrics",
    "shipped_architectures",
    "synthetic_nominations",
]
