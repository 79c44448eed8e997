"""Tier render: every scenario renders with the real `helm template`, and every rule (PSS baseline and
restricted, labels, Kubernetes schema, workload hygiene, kubesec) holds for every rendered object."""

from __future__ import annotations

import pytest

from conformance.cases import CaseGroup, RenderFailure, render_cases
from conformance.options import Settings
from conformance.suite import check_group, check_render, parametrize


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per scenario that fails to render, and per rule of the ones that render (each object that rule
    applies to is its own JUnit case)."""
    parametrize(metafunc, "render_case", render_cases, "render")


def test_render(render_case: CaseGroup | RenderFailure, request: pytest.FixtureRequest,
                conformance_settings: Settings) -> None:
    """Every object passes the rule (or, for a scenario that did not render, Helm's error is reported)."""
    if isinstance(render_case, RenderFailure):
        check_render(request, render_case, conformance_settings, "render")
    else:
        check_group(request, render_case, conformance_settings)
