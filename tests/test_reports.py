"""The reports people and pipelines read: junit.xml merged with junitparser, report.html read back from a real
headless Chromium (Debian's `chromium`), and the gate's exit codes over real runs of the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from junitparser import JUnitXml, Properties

from conformance.junitmerge import CASE_PROPERTIES
from conformance.merged import write_merged
from conformance.report import Finding, write_findings
from conformance.results import read_reports
from conformance.summary import dedupe
from conformance.tools import helm_version
from tests.test_cli import COMPLIANT, FAILING, Run, cli

pytestmark = pytest.mark.xdist_group("reports")


@pytest.fixture(scope="module")
def passing(tmp_path_factory: pytest.TempPathFactory, tool_env: dict[str, str]) -> tuple[Run, Path]:
    """A passing lint+render run of the compliant fixture."""
    reports = tmp_path_factory.mktemp("passing") / "reports"
    return cli("check", COMPLIANT, "--tier", "lint,render", "--reports", reports, env=tool_env), reports


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory, tool_env: dict[str, str]) -> tuple[Run, Path]:
    """A failing lint+render run (bad-hygiene: missing probes, limits, a wildcard Role, a latest tag)."""
    reports = tmp_path_factory.mktemp("failing") / "reports"
    return cli("check", FAILING, "--tier", "lint,render", "--reports", reports, env=tool_env), reports


#: timings.json as the cluster tiers write it: one row per timing, per provider and Kubernetes version.
TIMINGS = [
    {"id": "cluster-start", "seconds": 3.4, "budget": 120, "provider": "kwok", "kube_version": "1.35",
     "chart": "compliant", "scenario": "", "simulated": False},
    {"id": "sc-001", "seconds": 12.5, "budget": 600, "provider": "kwok", "kube_version": "1.35",
     "chart": "compliant", "scenario": "defaults", "simulated": True},
    {"id": "sc-002", "seconds": 41.0, "budget": 30, "provider": "kind", "kube_version": "1.33",
     "chart": "compliant", "scenario": "defaults", "simulated": False},
    {"id": "upgrade", "seconds": 20.25, "budget": 600, "provider": "kind", "kube_version": "1.33",
     "chart": "compliant", "scenario": "defaults", "simulated": False},
]


#: A fuzz counterexample as the fuzz tier records it: minimal values and the command that replays them.
FUZZ_FINDING = Finding(rule="fuzz-renders", check="fail", severity="error", kind="Chart", name="compliant",
                       namespace="", container="", template="templates/deployment.yaml", path="", message="divide by 0",
                       remediation="reject shards: 0 in values.schema.json (minimum: 1)", scenario="fuzz", tier="fuzz",
                       values={"shards": 0}, extra={"replay": "reports/fuzz/fuzz-renders-0123456789.yaml",
                                                    "command": "conformance check compliant --values "
                                                               "reports/fuzz/fuzz-renders-0123456789.yaml"})


@pytest.fixture(scope="module")
def timed(passing: tuple[Run, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The passing run's reports plus a timings.json in the cluster tiers' shape (one timing over budget)."""
    folder = tmp_path_factory.mktemp("timed") / "reports"
    shutil.copytree(passing[1], folder)
    (folder / "timings.json").write_text(json.dumps(TIMINGS))
    write_findings(folder / "findings.json", str(COMPLIANT), ["fuzz"], [FUZZ_FINDING])
    write_merged(folder)
    return folder


CONTAINERS = ("td", "span", "div")


class DataKeys(HTMLParser):
    """The text of every element with a data-key, and the tags seen, from the DOM Chromium dumped."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.tags: list[tuple[str, dict[str, str]]] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Remember the tag; start collecting text for a data-key element."""
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag in CONTAINERS:
            self._open.append(a.get("data-key", ""))
            if a.get("data-key"):
                self.values[a["data-key"]] = ""

    def handle_endtag(self, tag: str) -> None:
        """Close the element (td, span and div hold the data-keys)."""
        if self._open and tag in CONTAINERS:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        """Text inside every open data-key element."""
        for key in filter(None, self._open):
            self.values[key] += data


def chromium(html: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on a local file (no sandbox: tests run as root), with its own profile folder."""
    exe = shutil.which("chromium")
    assert exe, "chromium is not installed: run .ci/install-deps (Debian's chromium package)"
    profile = html.parent / ".chromium-profile"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
           *args, html.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def rendered(html: Path) -> DataKeys:
    """The page as Chromium rendered it (`--dump-dom`: the DOM after parsing and layout)."""
    proc = chromium(html, "--dump-dom")
    assert proc.returncode == 0 and "<body" in proc.stdout, proc.stderr[-2000:]
    page = DataKeys()
    page.feed(proc.stdout)
    return page


# junit.xml

@pytest.mark.parametrize("which", ["passing", "failing"])
def test_junit_merges_every_tier_with_run_properties(which: str, request: pytest.FixtureRequest) -> None:
    """junit.xml holds every case of every junit-<tier>.xml, each with chart, scenario, tier, rule, provider,
    Kubernetes and Helm versions."""
    run, reports = request.getfixturevalue(which)
    assert run.code == (0 if which == "passing" else 1), run.out + run.err
    assert f"conformance: report: {reports}/report.html" in run.out
    merged = JUnitXml.fromfile(str(reports / "junit.xml"))
    per_tier = {p.stem: JUnitXml.fromfile(str(p)) for p in reports.glob("junit-*.xml")}
    assert sorted(per_tier) == ["junit-lint", "junit-render"]
    assert merged.tests == sum(x.tests for x in per_tier.values())
    assert merged.failures == sum(x.failures for x in per_tier.values())
    assert (merged.failures > 0) == (which == "failing")
    for suite in merged:
        for case in suite:
            props = {p.name: p.value for p in next(iter(case.iterchildren(Properties)))}
            assert set(CASE_PROPERTIES) <= set(props), (case.name, props)
            assert props["kube_version"] == "1.35" and props["helm_version"] == helm_version() != ""
            assert props["tier"] in ("lint", "render") and props["rule"] and props["scenario"]
            assert props["chart"] == ("compliant" if which == "passing" else "bad-hygiene")


def test_junit_names_are_stable_across_runs(passing: tuple[Run, Path], tmp_path: Path,
                                           tool_env: dict[str, str]) -> None:
    """A second run names its cases as the first did (scenario/rule/object, no counters or hashes)."""
    assert cli("check", COMPLIANT, "--tier", "lint", "--reports", tmp_path, env=tool_env).code == 0
    names = [sorted(f"{c.classname}::{c.name}" for s in JUnitXml.fromfile(str(folder / "junit.xml")) for c in s
                    if s.name.endswith(".lint")) for folder in (passing[1], tmp_path)]
    assert names[0] == names[1] and len(names[0]) > 5


# report.html in a real browser

def test_html_numbers_equal_the_reports(failing: tuple[Run, Path]) -> None:
    """Chromium renders the page; every tier count and finding count it shows equals junit and findings.json."""
    _, reports = failing
    page = rendered(reports / "report.html")
    chart = read_reports(reports)[0]
    for tier, result in chart.tiers.items():
        assert page.values[f"bad-hygiene/{tier}/passed"] == str(result.count("passed"))
        assert page.values[f"bad-hygiene/{tier}/failed"] == str(result.count("failed") + result.count("error"))
    assert page.values["bad-hygiene/render/failed"] != "0"
    findings = json.loads((reports / "findings.json").read_text())
    assert page.values["findings/errors"] == str(findings["summary"]["errors"]) != "0"
    per_rule: dict[str, int] = {}
    for f in dedupe(findings["findings"]):
        per_rule[f["rule"]] = per_rule.get(f["rule"], 0) + 1
    assert {k.split("/")[1]: int(v) for k, v in page.values.items() if k.startswith("rule/")} == per_rule
    text = (reports / "report.html").read_text()
    for f in findings["findings"]:  # every finding's object, template, path and fix is on the page
        for key in ("name", "template", "path", "remediation"):
            assert str(f[key]).replace('"', "&quot;").replace("'", "&#x27;") in text, (key, f[key])


def test_html_timings_chart_matches_timings_json(timed: Path) -> None:
    """The timings table shows timings.json's numbers; the SVG has one bar per timing; simulated ones are said."""
    page = rendered(timed / "report.html")
    for i, row in enumerate(TIMINGS):
        assert float(page.values[f"timing/{i}/seconds"]) == row["seconds"]
        assert float(page.values[f"timing/{i}/budget"]) == row["budget"]
    rects = [a for t, a in page.tags if t == "rect"]
    assert len(rects) == len(TIMINGS)
    assert sum(1 for a in rects if a.get("fill") == "#b3261e") == 1  # sc-002 took 41 s of its 30 s
    assert page.values["simulated/count"] == "1"
    svg = [a for t, a in page.tags if t == "svg"]
    assert svg and svg[0]["id"] == "timings-chart"
    assert FUZZ_FINDING.extra["command"] in page.values["fuzz/0"]
    assert '"shards": 0' in page.values["fuzz/0"]


def test_html_is_self_contained(timed: Path, tmp_path: Path) -> None:
    """No script, stylesheet link, image or frame, nothing fetched; and Chromium paints it (a real screenshot)."""
    text = (timed / "report.html").read_text()
    page = DataKeys()
    page.feed(text)
    assert not [t for t, _ in page.tags if t in ("script", "link", "img", "iframe", "object", "embed")]
    assert not [a for _, a in page.tags if a.get("src") or (a.get("href") and not a["href"].startswith("#"))]
    shot = tmp_path / "report.png"
    proc = chromium(timed / "report.html", f"--screenshot={shot}", "--window-size=1280,2000")
    assert proc.returncode == 0 and shot.stat().st_size > 20_000, proc.stderr[-2000:]


# The gate

def gate(*args: str | Path, env: dict[str, str]) -> Run:
    """`conformance gate` as a subprocess."""
    return cli("gate", *args, env=env)


def test_gate_passes_a_passing_run(passing: tuple[Run, Path], tool_env: dict[str, str]) -> None:
    """Exit 0 for the lint+render run when those are the tiers required."""
    run = gate("--reports", passing[1], "--require", "lint,render", env=tool_env)
    assert run.code == 0, run.out + run.err
    assert run.out.strip().splitlines()[-1].startswith("gate: PASS")


def test_gate_fails_a_failing_run_one_line_per_condition(failing: tuple[Run, Path],
                                                         tool_env: dict[str, str]) -> None:
    """Exit 1, a line for the failed tier and a line for the unwaived errors."""
    run = gate("--reports", failing[1], "--require", "lint,render", env=tool_env)
    assert run.code == 1, run.out + run.err
    lines = run.out.strip().splitlines()
    assert any(ln.startswith("gate: bad-hygiene: tier render failed:") for ln in lines), lines
    assert any("unwaived error findings, the policy allows 0" in ln for ln in lines), lines
    assert lines[-1].startswith("gate: FAIL: 2 conditions broken")


def test_gate_default_policy_requires_release_tiers(passing: tuple[Run, Path], tool_env: dict[str, str]) -> None:
    """Without --require the default policy wants fuzz and cluster too: one line per missing tier."""
    run = gate("--reports", passing[1], env=tool_env)
    assert run.code == 1
    assert [ln.split(":")[2].strip() for ln in run.out.splitlines() if "did not run" in ln] == [
        "tier fuzz did not run (not asked for (--tier)); the policy requires lint,render,fuzz,cluster",
        "tier cluster did not run (not asked for (--tier)); the policy requires lint,render,fuzz,cluster"]


def test_gate_planned_requires_what_check_planned(passing: tuple[Run, Path], tool_env: dict[str, str]) -> None:
    """`--require planned`: the tiers conformance check planned (plan.json), here lint and render."""
    assert gate("--reports", passing[1], "--require", "planned", env=tool_env).code == 0


def test_gate_timing_over_budget(timed: Path, tool_env: dict[str, str]) -> None:
    """A timing over its budget breaks the policy, named with its provider and Kubernetes version."""
    run = gate("--reports", timed, "--require", "lint,render", env=tool_env)
    assert run.code == 1
    assert "gate: compliant: timing sc-002 (kind, Kubernetes 1.33) took 41 s, over its budget of 30 s" in run.out


def test_gate_policy_file(timed: Path, tmp_path: Path, tool_env: dict[str, str]) -> None:
    """A policy can relax timings and the error count, and forbid simulated results."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump({"require": ["lint", "render"], "timings_within_budget": False,
                                      "allow_simulated": False}))
    run = gate("--reports", timed, "--policy", policy, env=tool_env)
    assert run.code == 1
    broken = [ln for ln in run.out.splitlines() if ln.startswith("gate: compliant:")]
    assert broken == ["gate: compliant: timing sc-001 (kwok, Kubernetes 1.35) was only simulated; the policy "
                      "allows no simulated results"]
    assert "gate: 1 unwaived error findings, the policy allows 0 (first: compliant: fuzz-renders/fail" in run.out
    policy.write_text(yaml.safe_dump({"require": ["lint", "render"], "timings_within_budget": False,
                                      "max_errors": 1}))
    assert gate("--reports", timed, "--policy", policy, env=tool_env).code == 0


@pytest.mark.parametrize(("content", "fragment"), [
    ("require: [lint, smoke]\n", "require"),
    ("max_errors: -1\n", "max_errors: -1 is less than the minimum of 0"),
    ("allow_waivers: true\n", "Additional properties are not allowed ('allow_waivers' was unexpected)"),
    ("require: [lint\n", "not valid YAML"),
])
def test_gate_bad_policy_is_exit_2_one_line(content: str, fragment: str, passing: tuple[Run, Path], tmp_path: Path,
                                            tool_env: dict[str, str]) -> None:
    """A policy the schema rejects: exit 2, one line naming the file, the key and what is allowed."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(content)
    run = gate("--reports", passing[1], "--policy", policy, env=tool_env)
    assert run.code == 2 and len(run.error_lines()) == 1, run.out + run.err
    assert str(policy) in run.error_lines()[0] and fragment in run.error_lines()[0], run.err


def test_gate_missing_or_unreadable_reports_exit_2(passing: tuple[Run, Path], tmp_path: Path,
                                                   tool_env: dict[str, str]) -> None:
    """A missing folder, an empty one, and a truncated JUnit file: exit 2 with one line naming it."""
    for folder, fragment in ((tmp_path / "nope", "no such reports folder"), (tmp_path, "no chart reports here")):
        run = gate("--reports", folder, env=tool_env)
        assert run.code == 2 and fragment in run.error_lines()[0], run.err
    broken = tmp_path / "broken"
    shutil.copytree(passing[1], broken)
    (broken / "junit-lint.xml").write_text("<testsuites><testsuite")
    run = gate("--reports", broken, "--require", "lint,render", env=tool_env)
    assert run.code == 2 and f"{broken}/junit-lint.xml: not readable JUnit XML" in run.error_lines()[0], run.err


# Reports on an interrupted run, straight from the plugin

INTERRUPTED_SUITE = """
import pytest
from conformance.plugin import record_findings

@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_rule(name, request):
    record_findings(request, [], rule="probes", chart="the-chart", scenario="defaults")
    if name == "b":
        raise KeyboardInterrupt
"""


def test_interrupted_run_still_writes_junit_and_html(pytester: pytest.Pytester) -> None:
    """Ctrl-C mid-run: junit.xml and report.html hold what ran before it."""
    pytester.mkdir("suites")
    pytester.mkdir("suites/lint")
    pytester.path.joinpath("suites/lint/test_x.py").write_text(INTERRUPTED_SUITE)
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess("--chart", "the-chart", "--reports", str(reports), "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    names = [c.name for s in JUnitXml.fromfile(str(reports / "junit.xml")) for c in s]
    assert names == ["test_rule[a]"]
    assert "Summary per chart and tier" in (reports / "report.html").read_text()


def test_a_junit_file_this_process_wrote_reads_back_as_parsed(tmp_path: Path) -> None:
    """The results `write_junit` keeps for reading back equal what parsing the file gives (every outcome, long
    messages, rounding of durations, run properties); once the file changes, it is parsed again."""
    import conformance.results as results  # noqa: PLC0415 - its memo is what is tested
    from conformance.junit import CaseResult, write_junit  # noqa: PLC0415

    node = "suites/render/test_render.py::test_render"
    cases = [CaseResult(f"{node}[defaults/probes/Deployment/a]", "render", "passed", 0.01234, "", "",
                        [("rule", "probes")]),
             CaseResult(f"{node}[defaults/probes/Deployment/b]", "render", "failed", 1.5, "m" * 600, "text\nmore",
                        [("rule", "probes")]),
             CaseResult("suites/render/test_render.py::test_skipped", "render", "skipped", 0, "why", "", []),
             CaseResult("suites/render/test_render.py::test_error", "render", "error", 0, "boom", "tb", [])]
    path = tmp_path / "junit-render.xml"
    write_junit(path, "render", "chart", cases, {"kube_version": "1.35.0"})
    remembered = results.read_junit(path)
    results._WRITTEN.clear()
    assert remembered == results.read_junit(path)
    write_junit(path, "render", "chart", cases[:1])
    shutil.copy(path, tmp_path / "copy.xml")
    path.write_text((tmp_path / "copy.xml").read_text().replace("probes", "labels"))
    assert results.read_junit(path).cases[0].properties["rule"] == "labels"
