"""Tier fuzz: values generated from values.schema.json must render, render conformant objects, and render
deterministically; values the schema rejects must be rejected by Helm. A failing example is shrunk to the
minimal values that differ from the defaults, recorded as a finding and written as a replay file."""

from __future__ import annotations

import pytest

from conformance.cases import chart_of
from conformance.fuzz import properties
from conformance.fuzz.quoting import check_quoting
from conformance.fuzz.runner import Check, Outcome, reject_all, search
from conformance.fuzz.target import Target, make_target
from conformance.options import Settings
from conformance.plugin import record_findings
from conformance.waivers import load


@pytest.fixture(scope="session")
def fuzz_target(conformance_settings: Settings) -> Target:
    """The chart under test as a fuzz target (skips charts without a values.schema.json)."""
    chart = chart_of(conformance_settings)
    if chart.schema is None:
        pytest.skip(f"{chart.path}: no values.schema.json ({chart.schema_error}); nothing to fuzz from")
    return make_target(chart, conformance_settings, tuple(load(chart.path)))


def report(request: pytest.FixtureRequest, target: Target, rule: str, outcome: Outcome) -> None:
    """Record the outcome's findings and fail with the minimal values and the replay command."""
    replay = str(outcome.replay or "")
    record_findings(request, outcome.findings, rule=rule, chart=str(target.path), replay=replay,
                    examples=str(outcome.examples))
    if outcome.blocking:
        lines = [f.line() for f in outcome.blocking[:10]]
        first = outcome.blocking[0]
        lines.append(f"minimal values: {first.values}")
        lines.append(f"replay: {first.extra.get('command', '')}")
        pytest.fail("\n".join(lines), pytrace=False)


def run_property(request: pytest.FixtureRequest, target: Target, rule: str, check: Check,
                 max_examples: int | None = None) -> None:
    """Search for a counterexample of one property and report it."""
    report(request, target, rule, search(target, rule, check, max_examples))


def test_renders(request: pytest.FixtureRequest, fuzz_target: Target) -> None:
    """Property 1: every schema-valid example renders (a `fail` or crash is a schema gap)."""
    run_property(request, fuzz_target, "fuzz-renders", properties.check_renders)


def test_conformant(request: pytest.FixtureRequest, fuzz_target: Target) -> None:
    """Property 2: every render rule but kubesec holds on every schema-valid example's objects."""
    run_property(request, fuzz_target, "fuzz-conformant", properties.check_conformant)


def test_rejects_invalid(request: pytest.FixtureRequest, fuzz_target: Target) -> None:
    """Property 3: values jsonschema rejects (schema-guided mutations) are rejected by Helm too."""
    report(request, fuzz_target, "fuzz-rejects-invalid", reject_all(fuzz_target, properties.check_rejects))


def test_deterministic(request: pytest.FixtureRequest, fuzz_target: Target) -> None:
    """Property 4: the same values render the same objects (random data reused through `lookup`)."""
    examples = max(10, fuzz_target.settings.fuzz_examples // 4)
    run_property(request, fuzz_target, "fuzz-deterministic", properties.check_deterministic, examples)


def test_yaml_strings_render(request: pytest.FixtureRequest, fuzz_target: Target) -> None:
    """Opt-in (--fuzz-yaml-strings on): free-text values with YAML syntax render valid YAML (quoting warnings)."""
    if not fuzz_target.settings.fuzz_yaml_strings:
        pytest.skip("opt-in check: pass --fuzz-yaml-strings on")
    report(request, fuzz_target, "fuzz-quoting", Outcome(check_quoting(fuzz_target)))
