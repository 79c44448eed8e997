"""Profiles, as chart certification programmes have them: each sets the severity of rule families (or of single
rules, which override their family). `floe` keeps every rule's registered severity, the strictest; `community`
holds a chart to correctness (PSS baseline, Kubernetes schema, render, lint and fuzz) and only warns on
documentation, labels, limits, probes and kubesec; `restricted` is community with PSS restricted as an error."""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from conformance.errors import UsageError
from conformance.rules.base import ReportedRule, Rule, Severity

#: Selector (a family, or a rule ID that overrides its family) -> severity, per profile. Unnamed: registered.
COMMUNITY: dict[str, Severity] = {
    "labels": "warning",
    "hygiene": "warning",
    "networking": "warning",
    "availability": "warning",
    "values-documented": "warning",
    "yamllint": "warning",
    "pss-restricted": "warning",
}
PROFILES: dict[str, dict[str, Severity]] = {
    "floe": {},
    "community": COMMUNITY,
    "restricted": COMMUNITY | {"pss-restricted": "error"},
}
R = TypeVar("R", Rule, ReportedRule)


def severity(rule: Rule | ReportedRule, profile: str) -> Severity:
    """A rule's severity under a profile: its own entry, else its family's, else the registered severity."""
    table = PROFILES.get(profile)
    if table is None:
        raise UsageError(f"--profile {profile}: unknown profile; use one of {', '.join(PROFILES)}")
    return table.get(rule.id) or table.get(rule.family) or rule.severity


def apply(rules: list[R], profile: str) -> list[R]:
    """The rules with their severities set by the profile."""
    return [replace(r, severity=severity(r, profile)) for r in rules]
