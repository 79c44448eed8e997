"""Driving hypothesis: search for an example that breaks a property, shrink it, and hand back its findings."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from hypothesis import given

from conformance.fuzz.mutations import Mutation, mutations
from conformance.fuzz.profiles import apply_seed, hypothesis_settings, seed_of
from conformance.fuzz.replay import replay_command, write_replay
from conformance.fuzz.strategies import Example, valid_values
from conformance.fuzz.target import Target
from conformance.report import Finding

Check = Callable[[Target, Example], list[Finding]]


class PropertyFailed(Exception):
    """Raised inside the hypothesis test: carries the failing example's findings out through shrinking."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(findings[0].line() if findings else "property failed")
        self.findings = findings


@dataclass(frozen=True)
class Outcome:
    """What a property run found: every finding (waived ones too), and the replay file of the blocking ones."""

    findings: list[Finding]
    replay: Path | None = None

    @property
    def blocking(self) -> list[Finding]:
        """The unwaived errors."""
        return [f for f in self.findings if f.blocking]


def database_key(target: Target, name: str) -> bytes:
    """The example-database key of one property on one chart and schema: failures replay for it only."""
    return hashlib.sha256(f"{target.path}|{name}|{target.chart.digest}".encode()).digest()


def search(target: Target, name: str, check: Check, max_examples: int | None = None) -> Outcome:
    """Run one property over generated valid values; the shrunk failing example's findings, if any."""
    seen: list[Finding] = []

    def probe(example: Example) -> None:
        findings = check(target, example)
        seen.extend(f for f in findings if f.waived)
        if any(f.blocking for f in findings):
            raise PropertyFailed(findings)

    test = given(valid_values(target.schema, target.defaults))(probe)
    test = hypothesis_settings(target.settings, max_examples)(test)
    test._hypothesis_internal_database_key = database_key(target, name)  # type: ignore[attr-defined]
    try:
        apply_seed(test, target.settings)()
    except PropertyFailed as failed:
        return with_replay(target, name, failed.findings, _dedupe(seen))
    return Outcome(_dedupe(seen))


def _dedupe(findings: list[Finding]) -> list[Finding]:
    unique = {(f.rule, f.check, f.kind, f.name, f.container, f.path): f for f in findings}
    return list(unique.values())


def with_replay(target: Target, name: str, findings: list[Finding], waived: list[Finding]) -> Outcome:
    """Write the replay file of the failing values and point every finding at it."""
    values = next((f.values for f in findings if f.blocking), None) or {}
    message = "\n".join(f.line() for f in findings if f.blocking)
    path = write_replay(target.settings.reports, target.path, name, values, message)
    extra = {"replay": str(path), "command": replay_command(target.path, path)}
    tagged = [replace(f, extra={**f.extra, **extra}) for f in findings]
    return Outcome(tagged + waived, path)


def sample_mutations(target: Target) -> list[Mutation]:
    """The mutations to try: all of them, or a seeded sample of --fuzz-examples when there are more."""
    every = mutations(target.schema, target.defaults)
    if len(every) <= target.settings.fuzz_examples:
        return every
    rng = random.Random(seed_of(target.settings))  # noqa: S311 - sampling test inputs, not security
    return sorted(rng.sample(every, target.settings.fuzz_examples), key=every.index)


def reject_all(target: Target, check: Callable[[Target, Mutation], list[Finding]]) -> Outcome:
    """Property 3 over every sampled mutation: each disagreement is its own finding with its own replay."""
    out: list[Finding] = []
    replay = None
    for mutation in sample_mutations(target):
        findings = check(target, mutation)
        if any(f.blocking for f in findings):
            result = with_replay(target, "fuzz-rejects-invalid", findings, [])
            out += result.findings
            replay = replay or result.replay
        else:
            out += findings
    return Outcome(out, replay)
