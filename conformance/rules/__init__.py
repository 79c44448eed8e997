"""Every rule of the harness; importing this package registers them all."""

from conformance.rules import hygiene, k8s_schema, labels, lint, pss, reported
from conformance.rules.base import Context, Rule, Violation, all_rules, get_rule

__all__ = ["Context", "Rule", "Violation", "all_rules", "get_rule", "hygiene", "k8s_schema", "labels", "lint", "pss", "reported"]
