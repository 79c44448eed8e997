"""Every rule of the harness; importing this package registers them all."""

from conformance.rules import (
    api,
    crds,
    hygiene,
    immutable,
    k8s_schema,
    labels,
    lint,
    pss,
    references,
    reported,
    versioning,
)
from conformance.rules.base import Context, Rule, Violation, all_rules, get_rule

__all__ = ["Context", "Rule", "Violation", "all_rules", "api", "crds", "get_rule", "hygiene", "immutable",
           "k8s_schema", "labels", "lint", "pss", "references", "reported", "versioning"]
