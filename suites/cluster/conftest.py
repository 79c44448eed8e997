"""Cluster-tier fixtures: the chart installed once per session (previous release first, with --upgrade-from)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.chart import Chart
from conformance.cluster import Cluster
from conformance.clusterfixtures import Installed, install, teardown
from conformance.options import Settings


@pytest.fixture(scope="session")
def installed(cluster: Cluster, chart: Chart, conformance_settings: Settings) -> Iterator[Installed]:
    """The release, installed from --upgrade-from when given (so the upgrade goes old -> new), else the chart."""
    source = conformance_settings.upgrade_from or str(chart.path)
    inst = install(cluster, chart, chart.scenarios[0], source, "cluster", Path(conformance_settings.reports))
    yield inst
    teardown(inst)
