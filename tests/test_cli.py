"""The `conformance` command end to end (a subprocess, the real helm and kubesec): exit codes, one-line
errors, what it says up front, and the reports it writes."""

from __future__ import annotations

import importlib
import itertools
import json
import pkgutil
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

import conformance.rules
from conformance import REPO_ROOT
from conformance.cases import RENDER_FAMILIES
from conformance.chart import load_chart
from conformance.render.helm_cli import render
from conformance.rules import all_rules
from conformance.rules.base import every_rule_id

CHARTS = REPO_ROOT / "fixtures" / "charts"
COMPLIANT = CHARTS / "compliant"
FAILING = CHARTS / "bad-hygiene"
ERROR_PREFIX = "conformance: error:"


@dataclass(frozen=True)
class Run:
    """One finished `conformance` invocation."""

    code: int
    out: str
    err: str

    def error_lines(self) -> list[str]:
        """The `conformance: error:` lines on stderr."""
        return [ln for ln in self.err.splitlines() if ln.startswith(ERROR_PREFIX)]


def cli(*args: str | Path, env: dict[str, str], cwd: Path | None = None) -> Run:
    """Run the CLI with the current interpreter and capture everything."""
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def assert_usage_error(run: Run, *fragments: str) -> None:
    """Exit 2, exactly one error line that names what was wrong, and no traceback."""
    assert run.code == 2, run.out + run.err
    assert "Traceback" not in run.err + run.out
    lines = run.error_lines()
    assert len(lines) == 1, run.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# Usage and environment errors: exit 2, one line.

def test_missing_chart_directory(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """A path that does not exist."""
    run = cli("check", tmp_path / "nope", "--reports", tmp_path / "r", env=tool_env)
    assert_usage_error(run, str(tmp_path / "nope"), "no such chart directory")


def test_directory_without_chart_yaml(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """A directory that is not a chart."""
    run = cli("check", tmp_path, "--reports", tmp_path / "r", env=tool_env)
    assert_usage_error(run, str(tmp_path), "no Chart.yaml")


def test_invalid_yaml_values_file_names_file_and_line(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """A values file that is not YAML: the message names the file and the line."""
    bad = tmp_path / "broken-values.yaml"
    bad.write_text("replicaCount: 2\nservice:\n  port: [80\n  type: ClusterIP\n")
    run = cli("check", COMPLIANT, "--values", bad, "--tier", "lint", "--reports", tmp_path / "r",
                      env=tool_env)
    assert_usage_error(run, str(bad), "line 4")


def test_values_file_that_is_not_a_mapping(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """A values file whose top level is a list."""
    bad = tmp_path / "list-values.yaml"
    bad.write_text("- a\n- b\n")
    run = cli("check", COMPLIANT, "--values", bad, "--tier", "lint", "--reports", tmp_path / "r",
                      env=tool_env)
    assert_usage_error(run, str(bad), "not a mapping")


def test_unreadable_values_file(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """A values file that cannot be read as text (not UTF-8) is a usage error, not a traceback."""
    bad = tmp_path / "binary-values.yaml"
    bad.write_bytes(b"\xff\xfe\x00r\x00e\x00p\x00")
    run = cli("check", COMPLIANT, "--values", bad, "--tier", "lint", "--reports", tmp_path / "r",
                      env=tool_env)
    assert_usage_error(run, str(bad))


def test_missing_values_file(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """A --values path that does not exist."""
    run = cli("check", COMPLIANT, "--values", tmp_path / "absent.yaml", "--reports", tmp_path / "r",
                      env=tool_env)
    assert_usage_error(run, "absent.yaml", "does not exist")


def test_unknown_tier(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """A tier name that does not exist names the tiers that do."""
    run = cli("check", COMPLIANT, "--tier", "lint,rendr", "--reports", tmp_path / "r", env=tool_env)
    assert_usage_error(run, "rendr", "lint,render,fuzz")


def test_unavailable_cluster_tier(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """The cluster tier with a provider whose tool is not there: one line naming the tool, before pytest."""
    env = {**tool_env, "CONFORMANCE_KIND": str(tmp_path / "no-kind")}
    run = cli("check", COMPLIANT, "--tier", "cluster", "--provider", "kind", "--reports", tmp_path / "r",
                      env=env)
    assert_usage_error(run, "CONFORMANCE_KIND")
    assert not (tmp_path / "r" / "findings.json").exists()


def test_helm_override_pointing_nowhere(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """CONFORMANCE_HELM that is not an executable."""
    env = {**tool_env, "CONFORMANCE_HELM": str(tmp_path / "bin" / "helm")}
    run = cli("check", COMPLIANT, "--tier", "lint", "--reports", tmp_path / "r", env=env)
    assert_usage_error(run, "CONFORMANCE_HELM", "not an executable")


@pytest.mark.parametrize("version", ["2.0", "1.35.0.1", "latest", "v1.35"])
def test_bad_kube_version(version: str, tmp_path: Path, tool_env: dict[str, str]) -> None:
    """--kube-version must be MAJOR.MINOR[.PATCH]."""
    run = cli("check", COMPLIANT, "--kube-version", version, "--reports", tmp_path / "r", env=tool_env)
    assert_usage_error(run, "--kube-version", repr(version))


def test_bad_option_from_environment_names_the_variable(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """An option's environment twin is validated too, and the message names the variable."""
    env = {**tool_env, "CONFORMANCE_PROVIDER": "minikube"}
    run = cli("check", COMPLIANT, "--tier", "lint", "--reports", tmp_path / "r", env=env)
    assert_usage_error(run, "CONFORMANCE_PROVIDER", "minikube")


# Findings and success.

@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory, tool_env: dict[str, str]) -> tuple[Run, Path]:
    """One lint+render run on a chart with findings (shared by the report tests)."""
    reports = tmp_path_factory.mktemp("failing") / "reports"
    return cli("check", FAILING, "--tier", "lint,render", "--reports", reports, env=tool_env), reports


def test_findings_exit_1_with_a_summary(failing_run: tuple[Run, Path]) -> None:
    """Blocking findings: exit 1, a summary per tier and rule family with the first findings and their fix."""
    run, reports = failing_run
    assert run.code == 1, run.out + run.err
    assert run.error_lines() == [] and "Traceback" not in run.err
    assert "probes/livenessProbe Deployment/" in run.out
    assert "fix: add a livenessProbe" in run.out
    assert re.search(r"^conformance: tier render: \d+ passed, \d+ failed", run.out, re.M)
    assert re.search(r"^  hygiene: \d+ errors", run.out, re.M)
    assert f"reports in {reports}" in run.out
    # One finding per root cause: the same rule x check x object x path lists its scenarios once.
    findings = json.loads((reports / "findings.json").read_text())["findings"]
    keys = [(f["tier"], f["rule"], f["check"], f["kind"], f["name"], f["container"], f["path"]) for f in findings]
    assert len(keys) == len(set(keys)) and any(len(f["scenarios"]) > 1 for f in findings)


def test_up_front_lines_say_what_runs_and_why_not(failing_run: tuple[Run, Path]) -> None:
    """Before any test: the chart, the tiers that run, and each tier left out with its reason."""
    run, _ = failing_run
    head = list(itertools.takewhile(lambda ln: ln.startswith("conformance: "), run.out.splitlines()))
    assert head[0].startswith("conformance: chart bad-hygiene 1.2.0") and "Kubernetes 1.35" in head[0]
    assert head[1] == "conformance: tiers run: lint, render"
    left = {ln.split()[2]: ln for ln in head[2:] if ln.startswith("conformance: tier ")}
    assert set(left) == {"fuzz", "cluster", "e2e"}
    assert all("left out: not asked for (--tier)" in ln for ln in left.values())


def test_tier_left_out_because_the_chart_cannot_support_it(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """Asked-for fuzz on a chart without values.schema.json is left out with the reason, lint still runs."""
    run = cli("check", CHARTS / "bad-lint", "--tier", "lint,fuzz", "--reports", tmp_path, env=tool_env)
    assert run.code == 1, run.out + run.err
    assert "conformance: tiers run: lint" in run.out.splitlines()
    assert "conformance: tier fuzz left out: the chart has no usable values.schema.json" in run.out


def test_conformant_chart_exits_0(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """No blocking findings: exit 0 and an empty error count."""
    run = cli("check", COMPLIANT, "--tier", "lint,render", "--reports", tmp_path, env=tool_env)
    assert run.code == 0, run.out + run.err
    assert "conformance: 0 errors" in run.out
    assert run.err.strip() == ""


# Reports.

def test_reports_are_written_on_a_failing_run(failing_run: tuple[Run, Path]) -> None:
    """findings.json, one JUnit file per tier that ran, the merged junit.xml, report.html and the plan."""
    _, reports = failing_run
    assert sorted(p.name for p in reports.iterdir() if p.is_file()) == [
        "findings.json", "junit-lint.xml", "junit-render.xml", "junit.xml", "plan.json", "report.html"]
    data = json.loads((reports / "findings.json").read_text())
    assert data["chart"] == str(FAILING)
    assert data["summary"]["errors"] == sum(1 for f in data["findings"] if f["severity"] == "error")
    assert {"probes", "resources", "image-pinned", "rbac-no-wildcard"} <= {f["rule"] for f in data["findings"]}


def _testcases(path: Path) -> list[dict[str, str]]:
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    out = []
    for tc in suite.iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in tc.iter("property")}
        out.append({**props, "failed": "1" if tc.find("failure") is not None else ""})
    return out


def test_junit_has_one_testcase_per_rule_and_object(failing_run: tuple[Run, Path]) -> None:
    """Every applicable render rule x every rendered object x scenario is one testcase with rule and chart."""
    _, reports = failing_run
    cases = _testcases(reports / "junit-render.xml")
    assert cases and all(c.get("rule") and c.get("chart") == str(FAILING) for c in cases)
    got = Counter((c["scenario"], c["rule"], c["object"]) for c in cases)
    assert max(got.values()) == 1, "a rule x object appears twice"
    chart = load_chart(FAILING)
    expected = set()
    rules = [r for r in all_rules() if r.family in RENDER_FAMILIES]
    for sc in chart.scenarios:
        for m in render(chart, sc, "1.35.0").manifests:
            expected |= {(sc.name, r.id, m.ref) for r in rules if r.applies_to(m.obj)}
    assert set(got) == expected
    failed = {(c["rule"], c["object"].split("/")[0]) for c in cases if c["failed"]}
    assert ("probes", "Deployment") in failed and ("rbac-no-wildcard", "Role") in failed


def test_junit_lint_has_helm_lint_per_scenario(failing_run: tuple[Run, Path]) -> None:
    """The lint tier: every chart-level rule once, helm-lint once per values scenario."""
    _, reports = failing_run
    cases = _testcases(reports / "junit-lint.xml")
    per_rule = Counter(c["rule"] for c in cases)
    lint_rules = {r.id for r in all_rules() if r.family == "lint"}
    assert set(per_rule) == lint_rules
    assert per_rule["helm-lint"] == len(load_chart(FAILING).scenarios)
    assert all(n == 1 for rid, n in per_rule.items() if rid != "helm-lint")


# Rules listing.

def test_rules_lists_every_rule(tool_env: dict[str, str]) -> None:
    """`conformance rules` prints every rule module's rules (a module the package forgets never runs)."""
    for mod in pkgutil.iter_modules(conformance.rules.__path__):
        importlib.import_module(f"conformance.rules.{mod.name}")
    run = cli("rules", env=tool_env)
    assert run.code == 0, run.err
    listed = {ln.split()[0] for ln in run.out.splitlines() if ln.strip()}
    assert listed == set(every_rule_id())
    assert {"fuzz-renders", "cluster-pod-security", "sc-002-job-launch", "renders"} <= listed
    for r in all_rules():
        line = next(ln for ln in run.out.splitlines() if ln.split()[0] == r.id)
        assert r.family in line.split() and r.doc in line
