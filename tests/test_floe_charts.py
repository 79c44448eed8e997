"""The floe charts render what the Epic 9B plan asks for, per environment (issue: the floe charts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import REPO_ROOT
from conformance.chart import load_chart
from conformance.render.helm_cli import render_files
from conformance.render.manifest import DuplicateKeyError, parse_manifests

PLATFORM = REPO_ROOT / "charts" / "floe-platform"
JOBS = REPO_ROOT / "charts" / "floe-jobs"
KUBE = "1.35.0"


def kinds_by_component(values_file: str) -> dict[str, set[str]]:
    """component label -> kinds rendered, for floe-platform with one values file."""
    chart = load_chart(PLATFORM)
    result = render_files(chart, (PLATFORM / values_file,), KUBE)
    assert result.ok, result.error
    out: dict[str, set[str]] = {}
    for m in result.manifests:
        component = ((m.obj.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component", "")
        out.setdefault(component, set()).add(m.kind)
    return out


def test_dev_with_marquez_renders_every_component() -> None:
    """values-dev (Marquez on) renders Dagster, Polaris, OTel, Marquez, PostgreSQL, MinIO and the platform objects."""
    got = kinds_by_component("values-dev.yaml")
    every = {k for kinds in got.values() for k in kinds}
    assert {"Deployment"} <= got["dagster-webserver"] and {"Deployment"} <= got["dagster-daemon"]
    assert {"Deployment", "Service", "ConfigMap"} <= got["polaris"]
    assert {"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler"} <= got["otel-collector"]
    assert "Deployment" in got["marquez"] and "Deployment" in got["marquez-web"]
    assert {"StatefulSet", "Service"} <= got["postgresql"]
    assert {"Deployment", "Service"} <= got["minio"]
    assert {"Role", "RoleBinding", "ServiceAccount", "NetworkPolicy", "ResourceQuota", "LimitRange", "Ingress",
            "Pod"} <= every


def test_prod_has_no_minio_and_runs_ha() -> None:
    """values-prod renders no MinIO and no in-cluster PostgreSQL, and has HPAs and PDBs."""
    got = kinds_by_component("values-prod.yaml")
    assert "minio" not in got
    assert "StatefulSet" not in got.get("postgresql", set())
    every = [k for kinds in got.values() for k in kinds]
    assert "HorizontalPodAutoscaler" in every and "PodDisruptionBudget" in every


@pytest.mark.parametrize("values_file", ["values.yaml", "values-dev.yaml", "values-prod.yaml"])
def test_every_enabled_hpa_renders(values_file: str) -> None:
    """Each autoscaling.enabled component renders its own HPA (none is swallowed by a glued document)."""
    chart = load_chart(PLATFORM)
    result = render_files(chart, (PLATFORM / values_file,), KUBE)
    assert result.ok, result.error
    hpas = {m.name for m in result.manifests if m.kind == "HorizontalPodAutoscaler"}
    deployments = {m.name for m in result.manifests if m.kind == "Deployment"}
    assert hpas <= deployments
    if values_file == "values-prod.yaml":
        assert len(hpas) == 3, hpas


def test_glued_documents_are_a_render_error(tmp_path: Path) -> None:
    """A template missing a newline before `---` glues two objects; the render fails instead of losing one."""
    text = "# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a---\napiVersion: v1\n"
    with pytest.raises(DuplicateKeyError, match=r"c/templates/a.yaml: key 'apiVersion' \(line 6\)"):
        parse_manifests(text)
    assert len(parse_manifests(text.replace("a---", "a\n---"))) == 2


def test_jobs_chart_runs_dbt_as_job_and_cronjob() -> None:
    """floe-jobs renders a dbt Job and, when scheduled, a CronJob carrying the compiled artifacts ConfigMap."""
    chart = load_chart(JOBS)
    result = render_files(chart, (JOBS / "ci" / "03-job-and-cronjob-values.yaml",), KUBE)
    assert result.ok, result.error
    kinds = {m.kind for m in result.manifests}
    assert {"Job", "CronJob", "ConfigMap"} <= kinds
    job = next(m.obj for m in result.manifests if m.kind == "Job")
    command = " ".join(job["spec"]["template"]["spec"]["containers"][0].get("command", []) +
                       job["spec"]["template"]["spec"]["containers"][0].get("args", []))
    assert "dbt" in command
