"""E2E-tier fixtures: the chart installed once with its defaults, in its own namespace, for the job flows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.chart import Chart
from conformance.clusterfixtures import ClusterRun, Installed, install, teardown
from conformance.options import Settings


@pytest.fixture(scope="session")
def e2e_installed(cluster_run: ClusterRun, chart: Chart, conformance_settings: Settings) -> Iterator[Installed]:
    """The chart under test installed for the E2E flows (the namespace is watched from before the install)."""
    inst = install(cluster_run.cluster, chart, chart.scenarios[0], str(chart.path), "e2e",
                   Path(conformance_settings.reports))
    yield inst
    teardown(inst)
