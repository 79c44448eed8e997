"""Driving hypothesis: search for an example that breaks a property, shrink it, and hand back its findings."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from hypothesis import given

from conformance.fuzz.mutations import Mutation, mutations
from conformance.fuzz.profiles import apply_seed, hypothesis_settings, seed_of
from conformance.fuzz.replay import replay_command, write_replay
from conformance.fuzz.strategies import Example, merged_valid, valid_values
from conformance.fuzz.target import Target
from conformance.report import Finding
from conformance.values import Values

Check = Callable[[Target, Example], list[Finding]]


class BudgetSpent(BaseException):
    """Raised inside the hypothesis test when --fuzz-budget is spent before a failure: a BaseException, so
    hypothesis stops at once instead of treating it as a failing example."""


class PropertyFailed(Exception):
    """Raised inside the hypothesis test: carries the failing example's findings out through shrinking."""

    def __init__(self, findings: list[Finding], example: Example) -> None:
        super().__init__(findings[0].line() if findings else "property failed")
        self.findings = findings
        self.example = example


@dataclass(frozen=True)
class Outcome:
    """What a property run found: every finding (waived ones too), and the replay file of the blocking ones."""

    findings: list[Finding]
    replay: Path | None = None
    examples: int = 0

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
    deadline: list[float] = []  # the clock starts with the first example (strategies compile before it)
    failed: list[bool] = []
    tried: list[int] = []

    def probe(example: Example) -> None:
        deadline[:] = deadline or [time.monotonic() + target.settings.fuzz_budget]
        if not failed and time.monotonic() > deadline[0]:
            raise BudgetSpent  # only while searching: once a failure is found, shrinking runs to its end
        findings = check(target, example)
        tried.append(1)
        seen.extend(f for f in findings if f.waived)
        if any(f.blocking for f in findings):
            failed.append(True)
            raise PropertyFailed(findings, example)

    test = given(valid_values(target.schema, target.defaults))(probe)
    test = hypothesis_settings(target.settings, max_examples)(test)
    test._hypothesis_internal_database_key = database_key(target, name)  # type: ignore[attr-defined]
    try:
        apply_seed(test, target.settings)()
    except PropertyFailed as found:
        outcome = with_replay(target, name, minimise(target, check, found.example, found.findings), _dedupe(seen))
        return replace(outcome, examples=len(tried))
    except BudgetSpent:
        pass
    return Outcome(_dedupe(seen), examples=len(tried))


def leaf_paths(values: Values, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The path of every leaf of a values tree (lists are leaves: Helm replaces them whole)."""
    out: list[tuple[str, ...]] = []
    for key, value in values.items():
        out += leaf_paths(value, (*prefix, key)) if isinstance(value, dict) and value else [(*prefix, key)]
    return out


def without(values: Values, path: tuple[str, ...]) -> Values:
    """The values with the leaf at `path` removed (and maps it leaves empty)."""
    head, *rest = path
    out = dict(values)
    if rest and isinstance(out.get(head), dict):
        inner = without(out[head], tuple(rest))
        if inner:
            out[head] = inner
            return out
    out.pop(head, None)
    return out


def minimise(target: Target, check: Check, example: Example, findings: list[Finding]) -> list[Finding]:
    """The findings of the smallest override that still fails the same way: hypothesis shrinks the choices it
    drew, and this pass then drops every key of the shrunk values that the failure does not need (a key set only
    because a swarm mode switched all flags on, say), one at a time, until none can go."""
    wanted = {(f.rule, f.check) for f in findings if f.blocking}
    current = findings
    paths = leaf_paths(example.minimal)
    while paths:
        path = paths.pop(0)
        candidate = merged_valid(target.schema, target.defaults, without(example.minimal, path))
        if candidate is None:
            continue
        got = check(target, candidate)
        if any((f.rule, f.check) in wanted for f in got if f.blocking):
            example, current, paths = candidate, got, leaf_paths(candidate.minimal)
    return current


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
    deadline = time.monotonic() + target.settings.fuzz_budget
    tried = 0
    for mutation in sample_mutations(target):
        if time.monotonic() > deadline:
            break
        tried += 1
        findings = check(target, mutation)
        if any(f.blocking for f in findings):
            result = with_replay(target, "fuzz-rejects-invalid", findings, [])
            out += result.findings
            replay = replay or result.replay
        else:
            out += findings
    return Outcome(out, replay, tried)
