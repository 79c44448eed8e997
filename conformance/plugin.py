"""The pytest plugin: options, tier markers, chart fixtures, and reports written on every exit."""

from __future__ import annotations

import gc
import json
import os
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance import REPO_ROOT, plan
from conformance.cases import chart_of
from conformance.errors import ConformanceError
from conformance.junit import CaseResult, write_junit
from conformance.merged import write_merged
from conformance.options import OPTIONS, TIERS, Settings, resolve
from conformance.report import Finding, write_findings
from conformance.timing import TIMING, Timing, write_timings
from conformance.tools import helm_version

SETTINGS = pytest.StashKey[Settings]()
COLLECTOR = pytest.StashKey["Collector"]()
#: The plan file the controller wrote (conformance.plan), and the key under which xdist workers receive it.
PLAN = pytest.StashKey[Path]()
PLAN_INPUT = "conformance_plan"
FINDING = "conformance_finding"
SUBCASE = "conformance_case"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register every option of the table, each with its environment twin."""
    group = parser.getgroup("conformance", "chart conformance (floe)")
    for o in OPTIONS:
        kwargs: dict[str, Any] = {"action": "append"} if o.multiple else {}
        group.addoption(o.flag, dest=f"conformance_{o.name}", default=None,
                        help=f"{o.help} [env {o.env}; default {o.default!r}]", **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    """Register the tier markers; when a chart is named, resolve settings and start collecting results."""
    for tier in TIERS:
        config.addinivalue_line("markers", f"{tier}: conformance tier '{tier}' (set by the suites/ folder)")
    config.addinivalue_line("markers", "simulated(reason): the result rests on what the cluster provider only "
                            "simulates (kwok stages); reported with simulated=true, never as a plain pass")
    cli = {o.name: config.getoption(f"conformance_{o.name}") for o in OPTIONS}
    if not (cli["chart"] or os.environ.get("CONFORMANCE_CHART")):
        return
    try:
        settings = resolve(cli)
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from exc
    config.stash[SETTINGS] = settings
    os.environ.setdefault("CONFORMANCE_CACHE_DIR", str((settings.reports / ".cache").resolve()))
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        config.stash[COLLECTOR] = Collector(settings)
        planned = plan.planned_tiers(config.args, REPO_ROOT / "suites")
        if planned:
            try:
                config.stash[PLAN] = plan.ensure(chart_of(settings), settings, planned)
            except ConformanceError as exc:
                raise pytest.UsageError(str(exc)) from exc
    elif workerinput.get(PLAN_INPUT):
        config.stash[PLAN] = Path(workerinput[PLAN_INPUT])


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: hand each worker the plan the controller built, so workers run no tool."""
    path = node.config.stash.get(PLAN, None)
    if path is not None:
        node.workerinput[PLAN_INPUT] = str(path)


def tier_of(path: Path) -> str | None:
    """The tier a suite file belongs to: the folder under `suites/`."""
    parts = path.parts
    if "suites" in parts:
        i = len(parts) - 1 - parts[::-1].index("suites")
        if i + 1 < len(parts) - 1 and parts[i + 1] in TIERS:
            return parts[i + 1]
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every suite test with its folder's tier; a test in two tiers is a usage error."""
    for item in items:
        tier = tier_of(item.path)
        if tier is None:
            continue
        item.add_marker(getattr(pytest.mark, tier))
        item.user_properties.append(("tier", tier))
        marked = {m.name for m in item.iter_markers() if m.name in TIERS}
        if marked != {tier}:
            raise pytest.UsageError(f"{item.nodeid}: marked {sorted(marked)}; a suite test has exactly one tier")


@pytest.fixture(scope="session")
def conformance_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved options of this run (the chart under test, Kubernetes version, reports folder)."""
    if SETTINGS not in pytestconfig.stash:
        raise pytest.UsageError("no chart under test: pass --chart PATH or set CONFORMANCE_CHART")
    return pytestconfig.stash[SETTINGS]


def record_findings(request: pytest.FixtureRequest, findings: list[Finding], **props: str) -> None:
    """Attach findings and properties to the running test, for findings.json and JUnit."""
    node = request.node
    for key, value in props.items():
        node.user_properties.append((key, value))
    for f in findings:
        node.user_properties.append((FINDING, f.to_json()))


@dataclass(frozen=True)
class SubCase:
    """One case of a test that checks several (conformance.cases.CaseGroup): its own JUnit case, named by `id`
    in the test's brackets (`test_render[scenario/rule/Kind/name]`), with its own outcome and properties."""

    id: str
    outcome: str
    duration: float
    message: str
    text: str
    properties: dict[str, str]

    def nodeid(self, test: str) -> str:
        """The case's node ID: the test's, with this case's ID as the parameter."""
        return f"{test.partition('[')[0]}[{self.id}]"


def record_subcase(request: pytest.FixtureRequest, case: SubCase, findings: list[Finding]) -> None:
    """Attach one case of a grouped test, and its findings, to the running test."""
    request.node.user_properties.append((SUBCASE, json.dumps(vars(case))))  # flat: no asdict deep copy
    request.node.user_properties.extend((FINDING, f.to_json()) for f in findings)


def record_timing(request: pytest.FixtureRequest, timing: Timing) -> None:
    """Attach a timing row to the running test: JUnit properties `seconds` and `budget`, and timings.json."""
    props = request.node.user_properties
    props += [("timing", timing.id), ("seconds", f"{timing.seconds:.2f}"), ("budget", f"{timing.budget:g}"),
              (TIMING, timing.to_json())]


class Collector:
    """Gathers test reports (from xdist workers too) and writes findings.json and junit-<tier>.xml."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.findings: list[Finding] = []
        self.timings: list[Timing] = []
        #: nodeid -> why its result was only simulated by the provider
        self.simulated: dict[str, str] = {}
        self.cases: dict[str, list[CaseResult]] = defaultdict(list)
        #: tests that checked several cases, and how many cases they checked
        self.grouped_tests = self.grouped_cases = 0
        #: per tier, the time its tests took (every phase), which its cases' own times need not add up to
        self.seconds: dict[str, float] = defaultdict(float)

    def add(self, report: pytest.TestReport) -> None:
        """Record one test phase report."""
        tier = next((str(v) for k, v in report.user_properties if k == "tier"), None)
        tier = tier or tier_of(Path(report.fspath)) or "other"
        self.seconds[tier] += report.duration
        if report.when == "call" or report.outcome in ("failed", "skipped"):
            if report.when != "call" and report.outcome == "passed":
                return
            props = [(k, str(v)) for k, v in report.user_properties if k not in (FINDING, TIMING, SUBCASE)]
            self.findings += [Finding.from_json(str(v)) for k, v in report.user_properties if k == FINDING]
            subcases = [SubCase(**json.loads(str(v))) for k, v in report.user_properties if k == SUBCASE]
            if subcases and report.when == "call":
                self.grouped_tests += 1
                self.grouped_cases += len(subcases)
                self.cases[tier] += [CaseResult(c.nodeid(report.nodeid), tier, c.outcome, c.duration, c.message,
                                                c.text, [*props, *c.properties.items()]) for c in subcases]
                if not report.failed or any(c.outcome != "passed" for c in subcases):
                    return
                # the test failed outside its cases (e.g. interrupted): its own case says so, below
            self.timings += [Timing.from_json(str(v)) for k, v in report.user_properties if k == TIMING]
            why = next((str(v) for k, v in report.user_properties if k == "simulated_reason"), "")
            if why and report.when == "call":
                self.simulated[report.nodeid] = why
            outcome = report.outcome if report.when == "call" else ("error" if report.failed else "skipped")
            text = str(report.longrepr) if report.longrepr else ""
            message = text.strip().splitlines()[-1] if text.strip() else ""
            self.cases[tier].append(CaseResult(report.nodeid, tier, outcome, report.duration, message, text, props))

    def write(self) -> None:
        """Write every report (called at session end, including failed and interrupted sessions)."""
        chart = str(self.settings.chart)
        reports = self.settings.reports
        run = {"kube_version": self.settings.kube_version, "provider": self.settings.provider,
               "helm_version": helm_version()}
        for tier, cases in self.cases.items():
            write_junit(reports / f"junit-{tier}.xml", tier, chart, cases, run, self.seconds.get(tier))
        write_findings(reports / "findings.json", chart, sorted(self.cases), self.findings)
        if self.timings or (reports / "timings.json").exists():
            write_timings(reports / "timings.json", self.timings)

        if self.cases:
            try:
                write_merged(reports)
            except ConformanceError as exc:
                print(f"conformance: junit.xml and report.html not written: {exc}", file=sys.stderr)

    def summary_lines(self) -> list[str]:
        """What the provider only simulated (grouped by reason) and every timing, for the terminal summary."""
        out = []
        if self.grouped_tests:
            out.append(f"{self.grouped_tests} tests checked {self.grouped_cases} cases (one test per rule and "
                       "scenario; each rule x object x scenario is its own JUnit case)")
        by_reason: dict[str, list[str]] = defaultdict(list)
        for nodeid, why in self.simulated.items():
            by_reason[why].append(nodeid.rpartition("::")[2])
        for why, names in by_reason.items():
            out.append(f"simulated, not proven by this run ({len(names)} checks): {why}: {', '.join(sorted(names))}")
        for t in sorted(self.timings, key=lambda t: (t.id, t.scenario)):
            out.append(f"timing {t.line()}{'' if t.within_budget else ' OVER BUDGET'}")
        return out


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Feed every report to the collector (on the controller; xdist forwards worker reports)."""
    config = _CONFIG.get("config")
    if config is not None and COLLECTOR in config.stash:
        config.stash[COLLECTOR].add(report)


_CONFIG: dict[str, pytest.Config] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Remember the config so report hooks can reach the collector."""
    _CONFIG["config"] = session.config


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep the cyclic garbage collector off what lives for the whole run (the plan, the cases, the rules'
    schemas): every full collection would walk all of it again while the tests allocate (`gc.freeze`; objects
    are still freed by reference counting). ~1 s of CPU on floe-platform's render tier."""
    gc.freeze()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the reports whatever the outcome (the results gathered so far frozen first, as above)."""
    if COLLECTOR in session.config.stash:
        gc.freeze()
        session.config.stash[COLLECTOR].write()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Say which results the provider only simulated, and every timing with its provenance."""
    if COLLECTOR in config.stash:
        for line in config.stash[COLLECTOR].summary_lines():
            terminalreporter.write_line(f"conformance: {line}")
