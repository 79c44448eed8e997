"""E2E-tier fixtures: the chart installed once, in its own namespace, for the job-launch flows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.cases import chart_for
from conformance.chart import Chart
from conformance.cluster import Cluster
from conformance.clusterfixtures import Installed, install, teardown
from conformance.options import Settings


@pytest.fixture(scope="session")
def e2e_chart(conformance_settings: Settings) -> Chart:
    """The chart under test."""
    assert conformance_settings.chart is not None
    return chart_for(conformance_settings.chart.resolve(), conformance_settings.values)


@pytest.fixture(scope="session")
def e2e_installed(cluster: Cluster, e2e_chart: Chart, conformance_settings: Settings) -> Iterator[Installed]:
    """The chart under test installed for the E2E flows."""
    inst = install(cluster, e2e_chart, e2e_chart.scenarios[0], str(e2e_chart.path), "e2e",
                   Path(conformance_settings.reports))
    yield inst
    teardown(inst)
