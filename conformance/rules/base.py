"""The rule registry: every render-tier rule is one small pure function with a stable ID."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
Obj = dict[str, Any]

#: Families group rules for reports, profiles and `--rules` selection.
FAMILIES = ("lint", "pss", "labels", "schema", "hygiene", "networking", "availability", "api", "render", "fuzz",
            "cluster", "e2e", "upgrade")


@dataclass(frozen=True)
class Context:
    """What a rule may know besides the object: the target Kubernetes version and the other objects."""

    kube_version: str = "1.35"
    objects: tuple[Obj, ...] = ()
    #: Facts computed outside the rules by real tools (kubesec scores, helm lint output), keyed by name.
    extras: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Violation:
    """One thing wrong with one object, found by a rule."""

    message: str
    path: str = ""
    check: str = ""
    container: str = ""
    remediation: str = ""
    #: Details kept in findings.json beside the short remediation (e.g. kubesec's whole advice).
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


CheckFn = Callable[[Obj, Context], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    """A registered rule: stable ID, family, default severity, one-line doc and the pure check."""

    id: str
    family: str
    severity: Severity
    doc: str
    fn: CheckFn = field(compare=False, repr=False)
    kinds: frozenset[str] = frozenset()

    def applies_to(self, obj: Obj) -> bool:
        """True when the rule looks at objects of this kind (an empty `kinds` means every kind)."""
        return not self.kinds or str(obj.get("kind", "")) in self.kinds

    def check(self, obj: Obj, ctx: Context | None = None) -> list[Violation]:
        """Run the rule on one object."""
        if not self.applies_to(obj):
            return []
        return list(self.fn(obj, ctx or Context()))


_REGISTRY: dict[str, Rule] = {}


def rule(
    rule_id: str, family: str, severity: Severity = "error", kinds: Iterable[str] = ()
) -> Callable[[CheckFn], CheckFn]:
    """Register a check function as a rule; its docstring's first line is the rule's doc."""

    def register(fn: CheckFn) -> CheckFn:
        if rule_id in _REGISTRY:
            raise ValueError(f"duplicate rule id {rule_id!r}")
        if family not in FAMILIES:
            raise ValueError(f"rule {rule_id!r}: unknown family {family!r}")
        doc = (fn.__doc__ or "").strip().splitlines()
        if not doc:
            raise ValueError(f"rule {rule_id!r} has no docstring")
        _REGISTRY[rule_id] = Rule(rule_id, family, severity, doc[0], fn, frozenset(kinds))
        return fn

    return register


def all_rules() -> list[Rule]:
    """Every registered object rule, sorted by ID (importing conformance.rules registers them all)."""
    return sorted(_REGISTRY.values(), key=lambda r: r.id)


@dataclass(frozen=True)
class ReportedRule:
    """A rule a tier reports from a flow rather than from one object (a render, a fuzz property, a release)."""

    id: str
    family: str
    severity: Severity
    doc: str
    tier: str


_REPORTED: dict[str, ReportedRule] = {}


def reported_rule(rule_id: str, family: str, tier: str, doc: str, severity: Severity = "error") -> str:
    """Register a rule a flow reports (so `conformance rules`, waivers and profiles know it); returns its ID."""
    if rule_id in _REGISTRY or rule_id in _REPORTED:
        raise ValueError(f"duplicate rule id {rule_id!r}")
    if family not in FAMILIES:
        raise ValueError(f"rule {rule_id!r}: unknown family {family!r}")
    _REPORTED[rule_id] = ReportedRule(rule_id, family, severity, doc, tier)
    return rule_id


def reported_rules() -> list[ReportedRule]:
    """Every flow-reported rule, sorted by ID."""
    return sorted(_REPORTED.values(), key=lambda r: r.id)


def every_rule_id() -> list[str]:
    """The ID of every rule the harness can report: object rules and flow rules."""
    return sorted([*_REGISTRY, *_REPORTED])


def get_rule(rule_id: str) -> Rule:
    """The rule with this ID."""
    return _REGISTRY[rule_id]


# Pod templates: where each workload kind keeps its pod spec.
WORKLOAD_KINDS = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"}
)


def pod_spec(obj: Obj) -> tuple[Obj, str] | None:
    """The pod spec of a workload and its path in the object, or None for non-workloads."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec, "spec"
    if kind == "CronJob":
        tpl = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        return tpl.get("spec") or {}, "spec.jobTemplate.spec.template.spec"
    if kind in WORKLOAD_KINDS:
        return (spec.get("template") or {}).get("spec") or {}, "spec.template.spec"
    return None


def pod_metadata(obj: Obj) -> Obj:
    """The pod template's metadata of a workload (the object's own metadata for a bare Pod)."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return obj.get("metadata") or {}
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("metadata") or {}


CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


def pod_containers(obj: Obj) -> Iterator[tuple[Obj, str, str]]:
    """Every container of a workload's pod template as (container, path, field); nothing for non-workloads."""
    found = pod_spec(obj)
    if found is not None:
        yield from containers(*found)


def containers(spec: Obj, base: str) -> Iterator[tuple[Obj, str, str]]:
    """Every container of a pod spec (init, regular, ephemeral) as (container, path, field)."""
    for fld in CONTAINER_FIELDS:
        for i, c in enumerate(spec.get(fld) or []):
            yield c, f"{base}.{fld}[{i}]", fld
