"""One finding per root cause, and the console summary people read (per tier, per rule family, where the reports
are). Works on findings.json entries and JUnit files, so the CLI and any merged report can share it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.rules.base import all_rules, reported_rules

#: What makes two findings the same root cause: the rule, its check, the object and the path into it.
ROOT_CAUSE = ("tier", "rule", "check", "kind", "name", "namespace", "container", "path")
FIRST_FEW = 3


def root_cause(f: dict[str, Any]) -> tuple[str, ...]:
    """The key of a finding's root cause (the scenario is not part of it)."""
    return tuple(str(f.get(k, "") or "") for k in ROOT_CAUSE)


def dedupe(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per root cause, in first-seen order, listing every scenario it was found in (`scenarios`)."""
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for f in findings:
        key = root_cause(f)
        if key not in groups:
            groups[key] = {**f, "scenarios": []}
        scenarios = groups[key]["scenarios"]
        for sc in f.get("scenarios") or [f.get("scenario", "")]:
            if sc not in scenarios:
                scenarios.append(sc)
    return list(groups.values())


def family_of(rule_id: str) -> str:
    """The family of a rule ID (fuzz-conformant findings count under the rule they wrap)."""
    families = {r.id: r.family for r in all_rules()} | {r.id: r.family for r in reported_rules()}
    return families.get(rule_id, "other")


@dataclass
class TierCounts:
    """Test outcomes of one tier, read from its JUnit file."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0


def tier_counts(reports: Path) -> dict[str, TierCounts]:
    """Per tier: passed, failed, skipped and time, from the `testsuite` element's own counts in
    junit-<tier>.xml (read up to that element only: the file can hold thousands of cases)."""
    out: dict[str, TierCounts] = {}
    for path in sorted(reports.glob("junit-*.xml")):
        tier = path.stem.removeprefix("junit-")
        events = ET.iterparse(path, events=("start",))  # noqa: S314 - the JUnit file this run just wrote
        try:
            suite = next((el for _, el in events if el.tag == "testsuite"), None)
        except ET.ParseError:
            continue
        if suite is None:
            continue
        total, failed, errors, skipped = (int(suite.get(k) or 0) for k in ("tests", "failures", "errors", "skipped"))
        out[tier] = TierCounts(total - failed - errors - skipped, failed + errors, skipped,
                               float(suite.get("time") or 0))
    return out


def field_of(f: dict[str, Any]) -> str:
    """The finding's field path when its message does not name the field (a schema error quotes only the bad
    value: `2 is not of type 'string'`), so the line says where to look; '' otherwise."""
    path = str(f.get("path") or "")
    last = re.sub(r"\[\d+\]$", "", re.split(r"[.:]", path)[-1])
    return f" at {path}" if last and last not in str(f.get("message", "")) else ""


def _line(f: dict[str, Any]) -> str:
    obj = f"{f.get('kind')}/{f.get('name')}" + (f" container {f['container']}" if f.get("container") else "") + \
        field_of(f)
    scenarios = f.get("scenarios") or [f.get("scenario", "")]
    where = scenarios[0] + (f" +{len(scenarios) - 1} more" if len(scenarios) > 1 else "")
    fix = f"\n        fix: {f['remediation']}" if f.get("remediation") else ""
    return f"    {f['rule']}/{f['check']} {obj} [{where}]: {f['message']}{fix}"


def console(findings: list[dict[str, Any]], reports: Path) -> str:
    """The summary: per tier, per rule family (counts and the first few findings with their fix), the reports."""
    lines = []
    for tier, c in tier_counts(reports).items():
        skipped = f", {c.skipped} skipped" if c.skipped else ""
        lines.append(f"conformance: tier {tier}: {c.passed} passed, {c.failed} failed{skipped} ({c.seconds:.1f}s)")
    groups = dedupe(findings)
    by_family: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in groups:
        if not f.get("waived"):
            by_family[family_of(str(f.get("rule", "")))].append(f)
    for family in sorted(by_family):
        items = sorted(by_family[family], key=lambda f: (f.get("severity") != "error", f.get("rule", "")))
        errors = sum(1 for f in items if f.get("severity") == "error")
        lines.append(f"  {family}: {errors} errors, {len(items) - errors} warnings")
        lines += [_line(f) for f in items[:FIRST_FEW]]
        if len(items) > FIRST_FEW:
            lines.append(f"    ... and {len(items) - FIRST_FEW} more")
    waived = sum(1 for f in groups if f.get("waived"))
    errors = sum(1 for f in groups if f.get("severity") == "error" and not f.get("waived"))
    warnings = sum(1 for f in groups if f.get("severity") == "warning" and not f.get("waived"))
    lines.append(f"conformance: {errors} errors, {warnings} warnings, {waived} waived (one per root cause, "
                 f"{len(findings)} across scenarios); reports in {reports}/ (report.html, junit.xml, "
                 "findings.json)")
    return "\n".join(lines)
