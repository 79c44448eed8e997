"""Tier lint: Chart.yaml metadata, values schema present and valid, defaults valid and documented,
waivers well-formed and unexpired, and `helm lint --strict` on every Helm major for every scenario."""

from __future__ import annotations

import pytest

from conformance.cases import Case, lint_cases
from conformance.options import Settings
from conformance.suite import check_case, parametrize


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per lint rule (and per scenario for helm lint)."""
    parametrize(metafunc, "lint_case", lint_cases, "lint")


def test_lint(lint_case: Case, request: pytest.FixtureRequest, conformance_settings: Settings) -> None:
    """The chart passes this lint rule."""
    check_case(request, lint_case, conformance_settings)
