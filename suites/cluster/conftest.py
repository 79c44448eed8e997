"""Cluster-tier fixtures: per scenario, the chart under test installed in its own namespace, and the previous
release resolved once for the upgrade flow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.chart import Chart, Scenario
from conformance.clusterfixtures import ClusterRun, Installed, install, scenarios_of, teardown
from conformance.flows.previous import Previous, resolve_previous
from conformance.options import Settings


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every cluster test runs once per cluster scenario (defaults, each values-*.yaml, each --values)."""
    if "scenario" in metafunc.fixturenames:
        scenarios = scenarios_of(metafunc.config)
        metafunc.parametrize("scenario", scenarios, ids=[s.name for s in scenarios], scope="session")


@pytest.fixture(scope="session")
def installed(cluster_run: ClusterRun, chart: Chart, scenario: Scenario,
              conformance_settings: Settings) -> Iterator[Installed]:
    """The chart under test installed with one scenario's values, in a namespace of its own."""
    inst = install(cluster_run.cluster, chart, scenario, str(chart.path), "cluster",
                   Path(conformance_settings.reports))
    yield inst
    teardown(inst)


@pytest.fixture(scope="session")
def previous(chart: Chart, conformance_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Previous:
    """The release the upgrade flow starts from (`--upgrade-from`, else found in git; see flows/previous)."""
    return resolve_previous(chart, conformance_settings.upgrade_from, tmp_path_factory.mktemp("previous"))
