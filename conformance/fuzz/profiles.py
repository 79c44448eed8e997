"""Hypothesis settings of the two fuzz profiles: ci (fixed seed, derandomised) and local (free seed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis.database import DirectoryBasedExampleDatabase

from conformance.options import Settings
from conformance.timeouts import TIMEOUTS

#: The seed of the ci profile when --fuzz-seed is not given: every CI run tests the same examples.
CI_SEED = 20250101
F = TypeVar("F", bound=Callable[..., Any])


def database_dir(settings: Settings) -> Path:
    """Where found failures are kept so they replay first: `<reports>/.hypothesis`."""
    return settings.reports / ".hypothesis"


def seed_of(settings: Settings) -> int | None:
    """The seed of this run: fixed in ci (--fuzz-seed or CI_SEED), --fuzz-seed or random in local."""
    if settings.fuzz_profile == "ci":
        return CI_SEED if settings.fuzz_seed is None else settings.fuzz_seed
    return settings.fuzz_seed


def hypothesis_settings(settings: Settings, max_examples: int | None = None) -> hypothesis.settings:
    """Hypothesis settings: example count, per-example deadline, the example database under reports/.

    Hypothesis's own `derandomize=True` switches the example database off, so the ci profile derandomises
    with a fixed seed instead (see `apply_seed`) and keeps the database, which replays found failures first.
    """
    return hypothesis.settings(
        max_examples=max_examples or settings.fuzz_examples,
        deadline=TIMEOUTS.fuzz_deadline_ms,
        database=DirectoryBasedExampleDatabase(str(database_dir(settings))),
        report_multiple_bugs=False,
        print_blob=False,
        verbosity=Verbosity.quiet,
        phases=tuple(Phase),
        suppress_health_check=(HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture, HealthCheck.differing_executors,
                               HealthCheck.nested_given),
    )


def apply_seed(test: F, settings: Settings) -> F:
    """The test with the profile's seed applied (unchanged when the local profile has no seed)."""
    seed = seed_of(settings)
    return test if seed is None else hypothesis.seed(seed)(test)
