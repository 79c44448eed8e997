"""The pytest plugin, driven with pytester in subprocesses: tier markers, option precedence, and reports that
are written whatever happens (failures, interrupts, pytest-xdist workers)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SUITE_TEST = '''
import pytest
from conformance.plugin import record_findings
from conformance.report import Finding


def finding(name):
    return Finding(rule="probes", check="livenessProbe", severity="error", kind="Deployment", name=name,
                   namespace="", container="web", template="t.yaml", path="spec", message="no probe",
                   tier="{tier}", scenario="defaults")


@pytest.mark.parametrize("name", {names!r})
def test_rule(name, request, conformance_settings):
    record_findings(request, [finding(name)], rule="probes", chart=str(conformance_settings.chart),
                    object="Deployment/" + name)
    {body}
'''


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CONFORMANCE_* variable of the outer run leaks into the runs under test."""
    for key in list(os.environ):
        if key.startswith("CONFORMANCE_"):
            monkeypatch.delenv(key)


def suite(pytester: pytest.Pytester, tier: str, name: str, source: str) -> Path:
    """Write a test module into suites/<tier>/."""
    path = pytester.path / "suites" / tier / f"{name}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


def recording_suite(pytester: pytest.Pytester, tier: str, names: list[str], body: str = "pass") -> Path:
    """A suite whose tests each record one finding for `Deployment/<name>`, then run `body`."""
    return suite(pytester, tier, f"test_{tier}_findings",
                 SUITE_TEST.format(tier=tier, names=names, body=body))


def read_findings(reports: Path) -> list[dict[str, str]]:
    """The findings of findings.json."""
    data = json.loads((reports / "findings.json").read_text())
    return list(data["findings"])


def junit_cases(path: Path) -> dict[str, dict[str, str]]:
    """testcase name -> its properties plus `outcome`."""
    out = {}
    for tc in ET.parse(path).getroot().iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in tc.iter("property")}
        props["outcome"] = "failed" if tc.find("failure") is not None else (
            "error" if tc.find("error") is not None else "passed")
        out[tc.get("name", "")] = props
    return out


# Tier markers.

def test_tier_marker_comes_from_the_suites_folder(pytester: pytest.Pytester) -> None:
    """A test in suites/<tier>/ carries exactly that tier's marker; tests elsewhere carry none."""
    suite(pytester, "render", "test_r", "def test_in_render():\n    pass\n")
    suite(pytester, "lint", "test_l", "def test_in_lint():\n    pass\n")
    pytester.makepyfile(test_outside="def test_outside():\n    pass\n")
    render = pytester.runpytest_subprocess("--strict-markers", "-m", "render", "-p", "no:cacheprovider")
    render.assert_outcomes(passed=1, deselected=2)
    render.stdout.no_fnmatch_line("*test_in_lint*")
    lint = pytester.runpytest_subprocess("--strict-markers", "-m", "lint", "-v", "-p", "no:cacheprovider")
    lint.assert_outcomes(passed=1, deselected=2)
    lint.stdout.fnmatch_lines(["*suites/lint/test_l.py::test_in_lint PASSED*"])
    untiered = pytester.runpytest_subprocess("-m", "not (lint or render or fuzz or cluster or e2e)", "-v",
                                             "-p", "no:cacheprovider")
    untiered.assert_outcomes(passed=1, deselected=2)
    untiered.stdout.fnmatch_lines(["*test_outside.py::test_outside PASSED*"])


def test_two_tier_markers_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """A suite test that also claims another tier stops the run with a usage error naming the test."""
    suite(pytester, "lint", "test_two", "import pytest\n\n@pytest.mark.render\ndef test_both():\n    pass\n")
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert ("suites/lint/test_two.py::test_both: marked ['lint', 'render']; a suite test has exactly one tier"
            in result.stderr.str())


def test_strict_markers_rejects_an_unknown_marker(pytester: pytest.Pytester) -> None:
    """Markers are a closed set: a typo of a tier marker fails collection."""
    suite(pytester, "lint", "test_typo", "import pytest\n\n@pytest.mark.rendr\ndef test_typo():\n    pass\n")
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*'rendr' not found in `markers` configuration option*"])
    result.assert_outcomes(errors=1)


def test_tier_markers_are_registered(pytester: pytest.Pytester) -> None:
    """`pytest --markers` lists every tier, each explained."""
    result = pytester.runpytest_subprocess("--markers", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([f"@pytest.mark.{t}: conformance tier '{t}'*"
                                 for t in ("lint", "render", "fuzz", "cluster", "e2e")], consecutive=False)


# Options: CLI over environment over conformance.toml over the default.

KUBE_PROBE = '''
import os

def test_kube_version(conformance_settings):
    assert conformance_settings.kube_version == os.environ["EXPECTED_KUBE"]
'''


@pytest.mark.parametrize(("toml", "env", "cli", "expected"), [
    (None, None, None, "1.35"),
    ("1.33", None, None, "1.33"),
    ("1.33", "1.32", None, "1.32"),
    ("1.33", "1.32", "1.31", "1.31"),
    (None, None, "1.30.4", "1.30.4"),
], ids=["default", "toml", "env-over-toml", "cli-over-env", "cli-with-patch"])
def test_option_precedence(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, toml: str | None,
                           env: str | None, cli: str | None, expected: str) -> None:
    """kube_version resolves from the highest-priority source that sets it."""
    suite(pytester, "lint", "test_kube", KUBE_PROBE)
    if toml:
        (pytester.path / "conformance.toml").write_text(f'kube_version = "{toml}"\n')
    if env:
        monkeypatch.setenv("CONFORMANCE_KUBE_VERSION", env)
    monkeypatch.setenv("EXPECTED_KUBE", expected)
    args = ["--chart", "chart", "--reports", "reports", "-p", "no:cacheprovider"]
    if cli:
        args += ["--kube-version", cli]
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)


def test_chart_from_environment_alone_activates_the_plugin(pytester: pytest.Pytester,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """CONFORMANCE_CHART (and CONFORMANCE_REPORTS) are enough: reports appear where the environment says."""
    recording_suite(pytester, "lint", ["a"])
    monkeypatch.setenv("CONFORMANCE_CHART", "env-chart")
    monkeypatch.setenv("CONFORMANCE_REPORTS", str(pytester.path / "env-reports"))
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    data = json.loads((pytester.path / "env-reports" / "findings.json").read_text())
    assert data["chart"] == "env-chart" and len(data["findings"]) == 1


@pytest.mark.parametrize(("source", "value", "named"), [
    ("cli", "banana", "--kube-version: 'banana' is not a Kubernetes version"),
    ("env", "0", "CONFORMANCE_FUZZ_EXAMPLES: 0 is less than the minimum of 1"),
    ("toml", "minikube", "conformance.toml:provider: 'minikube' is not one of auto, kwok, kind, kubeconfig"),
])
def test_bad_option_value_is_a_usage_error_naming_the_option(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, source: str, value: str, named: str,
) -> None:
    """A bad value stops pytest before collection with a usage error that names where it came from."""
    suite(pytester, "lint", "test_kube", KUBE_PROBE)
    args = ["--chart", "chart", "--reports", "reports", "-p", "no:cacheprovider"]
    if source == "cli":
        args += ["--kube-version", value]
    elif source == "env":
        monkeypatch.setenv("CONFORMANCE_FUZZ_EXAMPLES", value)
    else:
        (pytester.path / "conformance.toml").write_text(f'provider = "{value}"\n')
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{named}*"])
    assert not (pytester.path / "reports").exists()


# Reports.

def test_reports_are_written_when_tests_fail(pytester: pytest.Pytester) -> None:
    """Failing tests: findings.json has every recorded finding, JUnit every case with rule and chart."""
    recording_suite(pytester, "lint", ["a", "b", "c"], body='assert name != "b", "b has no probe"')
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess("--chart", "the-chart", "--reports", str(reports), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    assert sorted(f["name"] for f in read_findings(reports)) == ["a", "b", "c"]
    cases = junit_cases(reports / "junit-lint.xml")
    assert {k: v["outcome"] for k, v in cases.items()} == {
        "test_rule[a]": "passed", "test_rule[b]": "failed", "test_rule[c]": "passed"}
    assert all(v["rule"] == "probes" and v["chart"] == "the-chart" for v in cases.values())
    suite_el = ET.parse(reports / "junit-lint.xml").getroot().find("testsuite")
    assert suite_el is not None and suite_el.get("failures") == "1" and suite_el.get("tests") == "3"


def test_reports_are_written_when_the_session_is_interrupted(pytester: pytest.Pytester) -> None:
    """Ctrl-C mid-run: the findings and results gathered so far are still written, and no later test runs."""
    recording_suite(pytester, "render", ["a", "b", "c"],
                    body='if name == "b":\n        raise KeyboardInterrupt')
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess("--chart", "the-chart", "--reports", str(reports), "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    # The interrupted test never finishes, so only the tests before it report.
    assert [f["name"] for f in read_findings(reports)] == ["a"]
    cases = junit_cases(reports / "junit-render.xml")
    assert cases["test_rule[a]"]["outcome"] == "passed"
    assert "test_rule[c]" not in cases


GROUPED_TEST = '''
from conformance.plugin import SubCase, record_subcase


def test_group(request):
    for i, outcome in enumerate(["passed", "failed", "error"]):
        text = "" if outcome == "passed" else f"case {{i}} {{outcome}}"
        record_subcase(request, SubCase(f"defaults/probes/Deployment/d{{i}}", outcome, 0.01, text, text,
                                        {{"rule": "probes", "object": f"Deployment/d{{i}}"}}), [])
    assert {fail_at_end}, "the group failed"


def test_group_broken(request):
    record_subcase(request, SubCase("defaults/labels/Service/s", "passed", 0.01, "", "", {{"rule": "labels"}}), [])
    raise RuntimeError("the test broke after its cases")
'''


def test_grouped_cases_are_junit_cases_of_their_own(pytester: pytest.Pytester) -> None:
    """A test that checks several cases reports each as its own JUnit case (named by its ID, with its own
    outcome and properties); a test that fails outside its cases still shows as a failed case."""
    suite(pytester, "render", "test_grouped", GROUPED_TEST.format(fail_at_end="False"))
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess("--chart", "the-chart", "--reports", str(reports), "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*conformance: 2 tests checked 4 cases*"])
    cases = junit_cases(reports / "junit-render.xml")
    assert {n: c["outcome"] for n, c in cases.items()} == {
        "test_group[defaults/probes/Deployment/d0]": "passed",
        "test_group[defaults/probes/Deployment/d1]": "failed",
        "test_group[defaults/probes/Deployment/d2]": "error",
        "test_group_broken[defaults/labels/Service/s]": "passed",
        "test_group_broken": "failed",
    }
    assert cases["test_group[defaults/probes/Deployment/d1]"]["object"] == "Deployment/d1"
    assert cases["test_group[defaults/probes/Deployment/d1]"]["tier"] == "render"


def test_results_merge_under_xdist(pytester: pytest.Pytester) -> None:
    """With -n 2, findings and cases recorded on both workers reach the controller's reports."""
    names = [f"w{i}" for i in range(8)]
    recording_suite(pytester, "lint", names, body='assert not name.endswith("3")')
    recording_suite(pytester, "render", ["r1", "r2"])
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess("-n", "2", "--chart", "the-chart", "--reports", str(reports),
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=9, failed=1)
    result.stdout.fnmatch_lines(["*2 workers*"])
    assert sorted(f["name"] for f in read_findings(reports)) == sorted([*names, "r1", "r2"])
    assert len(junit_cases(reports / "junit-lint.xml")) == 8
    assert len(junit_cases(reports / "junit-render.xml")) == 2


def test_findings_of_other_tiers_survive_a_later_run(pytester: pytest.Pytester) -> None:
    """findings.json merges by tier: a render run keeps the lint findings of an earlier run for the same chart."""
    recording_suite(pytester, "lint", ["l1"])
    recording_suite(pytester, "render", ["r1"])
    reports = pytester.path / "reports"
    base = ["--chart", "the-chart", "--reports", str(reports), "-p", "no:cacheprovider"]
    pytester.runpytest_subprocess(*base, "suites/lint").assert_outcomes(passed=1)
    pytester.runpytest_subprocess(*base, "suites/render").assert_outcomes(passed=1)
    assert sorted((f["tier"], f["name"]) for f in read_findings(reports)) == [("lint", "l1"), ("render", "r1")]
