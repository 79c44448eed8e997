"""The fixture charts through `conformance check --tier lint,render`: the compliant chart passes, and each
known-bad chart (a copy of it with one family broken) fails with findings of that family and no other."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance import REPO_ROOT
from conformance.rules import get_rule

CHARTS = REPO_ROOT / "fixtures" / "charts"


@dataclass(frozen=True)
class Expected:
    """What a known-bad chart must produce: its family, the rules that fire, and (optionally) exact checks."""

    family: str
    rules: frozenset[str]
    #: rule -> the exact set of checks it reports across the chart's objects.
    checks: dict[str, set[str]] = field(default_factory=dict)
    #: Rules of other families allowed to fire as a direct consequence of the breakage (and why).
    allowed: frozenset[str] = frozenset()


BAD = {
    "bad-pss": Expected(
        "pss", frozenset({"pss-baseline", "pss-restricted"}),
        {"pss-baseline": {"privileged", "hostPathVolumes"},
         "pss-restricted": {"allowPrivilegeEscalation", "runAsNonRoot", "restrictedVolumes"}},
        # kubesec scores the same securityContext: a privileged container is a critical finding there too.
        allowed=frozenset({"kubesec-score"}),
    ),
    "bad-labels": Expected(
        "labels", frozenset({"labels-recommended", "labels-component", "labels-selector-stable"}),
        {"labels-recommended": {"required"}, "labels-component": {"recommended"},
         "labels-selector-stable": {"volatile"}},
    ),
    "bad-schema": Expected(
        "schema", frozenset({"k8s-schema", "k8s-schema-known"}),
        {"k8s-schema": {"additionalProperties", "type"}, "k8s-schema-known": {"unknown-kind"}},
    ),
    "bad-hygiene": Expected(
        "hygiene", frozenset({"resources", "probes", "image-pinned", "rbac-no-wildcard"}),
        {"resources": {"limits.cpu", "limits.memory"}, "probes": {"livenessProbe", "readinessProbe"},
         "image-pinned": {"latest"}, "rbac-no-wildcard": {"resources", "verbs"}},
    ),
    "bad-lint": Expected(
        "lint", frozenset({"values-schema", "values-documented", "chart-metadata", "helm-lint"}),
        {"values-schema": {"missing"}, "values-documented": {"comment"}, "chart-metadata": {"version"},
         "helm-lint": {"helm"}},
    ),
}


@dataclass(frozen=True)
class Result:
    """A finished check: exit code, output and the parsed findings.json."""

    code: int
    out: str
    findings: list[dict[str, Any]]


def check(chart: str, reports: Path, env: dict[str, str], tiers: str = "lint,render") -> Result:
    """`conformance check CHART --tier lint,render` in a subprocess, reports in `reports`."""
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "check", str(CHARTS / chart), "--tier", tiers,
         "--reports", str(reports)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    path = reports / "findings.json"
    assert path.is_file(), proc.stdout + proc.stderr
    return Result(proc.returncode, proc.stdout + proc.stderr, json.loads(path.read_text())["findings"])


def family(rule_id: str) -> str:
    """The family of a finding's rule (`renders` = the chart did not render at all)."""
    return "render-failure" if rule_id == "renders" else get_rule(rule_id).family


def test_compliant_chart_is_conformant(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """Exit 0, no findings at all (not even warnings), every values scenario rendered and checked."""
    result = check("compliant", tmp_path, tool_env)
    assert result.code == 0, result.out
    assert result.findings == [], result.out
    assert "2 values scenarios" in result.out


def test_common_chart_patterns_raise_no_false_findings(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """fixtures/charts/patterns: a library chart vendored under charts/ whose named template keeps a Secret stable
    with `lookup`, `---# comment` separators, per-pod Services on the StatefulSet controller's pod-name label,
    readme-generator `## @param` and helm-docs `# --` docs, free-form maps: lint, render and fuzz pass, no findings."""
    result = check("patterns", tmp_path, tool_env, tiers="lint,render,fuzz")
    assert result.code == 0, result.out
    assert result.findings == [], result.out
    assert "tiers run: lint, render, fuzz" in result.out


@pytest.mark.parametrize("chart", sorted(BAD))
def test_bad_chart_fails_in_its_family_only(chart: str, tmp_path: Path, tool_env: dict[str, str]) -> None:
    """Exit 1; the intended rules fire with the intended checks; nothing fires in another family."""
    want = BAD[chart]
    result = check(chart, tmp_path, tool_env)
    assert result.code == 1, result.out
    fired = {f["rule"] for f in result.findings}
    assert want.rules <= fired, f"missing: {sorted(want.rules - fired)}\n{result.out}"
    strays = sorted({(f["rule"], f["check"]) for f in result.findings
                     if family(f["rule"]) != want.family and f["rule"] not in want.allowed})
    assert strays == [], f"findings outside the {want.family} family: {strays}"
    for rule_id, checks in want.checks.items():
        assert {f["check"] for f in result.findings if f["rule"] == rule_id} == checks, rule_id
    assert any(f["severity"] == "error" and not f["waived"] for f in result.findings)


def test_bad_charts_are_copies_of_the_compliant_chart() -> None:
    """Each known-bad chart has the compliant chart's files (one family broken, nothing else taken away)."""
    reference = {p.relative_to(CHARTS / "compliant") for p in (CHARTS / "compliant").rglob("*") if p.is_file()}
    for chart in BAD:
        files = {p.relative_to(CHARTS / chart) for p in (CHARTS / chart).rglob("*") if p.is_file()}
        removed = reference - files
        assert removed <= ({Path("values.schema.json")} if chart == "bad-lint" else set()), (chart, removed)
