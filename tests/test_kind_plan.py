"""Kind plans (kind/charts.yaml, kind/values/) and the node image choice, without creating a cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import REPO_ROOT
from conformance.cluster.kind import node_image, workload_images
from conformance.cluster.kindplan import KindPlan, plan_for
from conformance.errors import EnvError


def test_floe_jobs_plan_installs_platform_postgresql_first_and_reads_the_table_back() -> None:
    plan = plan_for("floe-jobs")
    assert plan.values == (REPO_ROOT / "kind" / "values" / "floe-jobs.yaml",)
    assert [b.release for b in plan.before] == ["floe-platform"]
    assert plan.before[0].chart == REPO_ROOT / "charts" / "floe-platform"
    assert all(p.is_file() for b in plan.before for p in b.values)
    assert plan.verify is not None and plan.verify.expect == "3|36.00"
    assert plan.job_log_expect == "Completed successfully"


def test_compliant_plan_is_only_its_kind_values() -> None:
    plan = plan_for("compliant")
    assert plan.values == (REPO_ROOT / "kind" / "values" / "compliant.yaml",)
    assert plan.before == () and plan.verify is None


def test_a_chart_without_kind_files_has_an_empty_plan() -> None:
    assert plan_for("some-user-chart") == KindPlan()


def test_a_malformed_verify_names_the_file_and_keys(tmp_path: Path) -> None:
    (tmp_path / "charts.yaml").write_text("x:\n  verify:\n    describe: d\n")
    with pytest.raises(EnvError, match=r"charts.yaml: x.verify needs describe, pod_selector"):
        plan_for("x", tmp_path)


def test_every_kind_values_file_points_only_at_built_images() -> None:
    """The Kind values name no image that `make kind-images` does not build (nothing can be pulled here)."""
    built = {i.rsplit(":", 1)[0] for i in workload_images()}
    for path in sorted((REPO_ROOT / "kind" / "values").glob("*.yaml")):
        text = path.read_text()
        for line in text.splitlines():
            if line.strip().startswith("repository:"):
                assert line.split(":", 1)[1].strip() in built, (path.name, line)


def test_node_image_falls_back_to_the_published_image(tmp_path: Path) -> None:
    versions = tmp_path / "versions.yaml"
    versions.write_text('pinned: "1.35.4"\nversions:\n  - kubernetes: "1.35.4"\n'
                        "    kind_node_image: kindest/node:v1.35.4\n    digest: sha256:abc\n"
                        "    local_node_image: floe-kind/no-such-image:v0\n")
    assert node_image(path=versions) == "kindest/node:v1.35.4@sha256:abc"
