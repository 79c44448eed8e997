"""What the suites in suites/<tier>/ call: parametrise from cases, evaluate, record, assert."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from conformance import plan
from conformance.cases import Case, CaseGroup, RenderFailure, chart_of
from conformance.errors import ConformanceError
from conformance.options import Settings
from conformance.plan import Plan
from conformance.plugin import PLAN, SETTINGS, SubCase, record_findings, record_subcase
from conformance.report import Finding


def settings_of(config: pytest.Config) -> Settings:
    """The run's settings, or a usage error naming the missing option."""
    if SETTINGS not in config.stash:
        raise pytest.UsageError("no chart under test: pass --chart PATH or set CONFORMANCE_CHART")
    return config.stash[SETTINGS]


def plan_of(config: pytest.Config, tier: str) -> Plan:
    """The run's plan (the file the controller wrote); planned here only when the controller did not plan this
    tier (a suite run from a folder the controller could not tell apart)."""
    path = config.stash.get(PLAN, None)
    if path is not None:
        found = plan.load(path)
        if tier in found.tiers:
            return found
    settings = settings_of(config)
    return plan.load(plan.ensure(chart_of(settings), settings, (tier,)))


def parametrize(metafunc: pytest.Metafunc, name: str, build: Callable[[Settings, Plan], Sequence[Any]],
                tier: str) -> None:
    """Parametrise `name` with the cases `build` makes from the settings and the tier's plan, one ID per case."""
    if name not in metafunc.fixturenames:
        return
    try:
        cases = list(build(settings_of(metafunc.config), plan_of(metafunc.config, tier)))
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from exc
    metafunc.parametrize(name, cases, ids=[c.id for c in cases])


def failure_text(findings: list[Finding]) -> str:
    """Every blocking finding, one line each."""
    return "\n".join(f.line() for f in findings if f.blocking)


def case_properties(case: Case, settings: Settings) -> dict[str, str]:
    """The JUnit properties of a case: its rule and family, chart, scenario, object and template."""
    return {"rule": case.rule.id, "family": case.rule.family, "chart": str(settings.chart),
            "scenario": case.scenario, "object": case.obj.ref, "template": case.obj.template}


def check_case(request: pytest.FixtureRequest, case: Case, settings: Settings) -> None:
    """Evaluate a case, record its findings and properties, and fail on unwaived errors."""
    findings = case.evaluate()
    record_findings(request, findings, **case_properties(case, settings))
    blocking = failure_text(findings)
    assert not blocking, blocking


def check_group(request: pytest.FixtureRequest, group: CaseGroup, settings: Settings) -> None:
    """Evaluate every case of a group, record each as its own JUnit case with its findings, and fail on the
    unwaived errors of any of them (each on its own line)."""
    failures = []
    for case in group.cases:
        start = time.perf_counter()
        outcome = "failed"
        try:
            findings = case.evaluate()
        except Exception as exc:  # a rule that raises is this case's error; the other cases still run
            findings, outcome = [], "error"
            blocking = f"rule {case.rule.id} raised on {case.obj.ref}: {type(exc).__name__}: {exc}"
        else:
            blocking = failure_text(findings)
        failures += [blocking] if blocking else []
        record_subcase(request, SubCase(case.id, outcome if blocking else "passed", time.perf_counter() - start,
                                        blocking.partition("\n")[0], blocking, case_properties(case, settings)),
                       findings)
    text = "\n".join(failures)
    assert not text, text


def check_render(request: pytest.FixtureRequest, failure: RenderFailure, settings: Settings, tier: str) -> None:
    """Record a render failure as a finding and fail with Helm's error."""
    finding = Finding(rule="renders", check="helm-template", severity="error", kind="Chart",
                      name=settings.chart.name if settings.chart else "", namespace="", container="", template="",
                      path=",".join(failure.files), message=failure.error, scenario=failure.scenario, tier=tier,
                      remediation="fix the template or the values (the schema should reject values that cannot render)")
    record_findings(request, [finding], rule="renders", chart=str(settings.chart), scenario=failure.scenario)
    pytest.fail(finding.line(), pytrace=False)
