"""The CI workflows: actionlint (pinned in tools/actionlint, with shellcheck on every `run:` step) passes on
them and fails on a broken one; their shape is what the release process needs; and the Kind matrix has at
least three Kubernetes minor versions pinned by digest."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from conformance import REPO_ROOT
from conformance.tools import tool_path

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
VERSIONS = REPO_ROOT / "kind" / "versions.yaml"


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    """The pinned actionlint with shellcheck (Debian's package, from .ci/install-deps) checking run: steps."""
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed: run .ci/install-deps"
    return subprocess.run([tool_path("actionlint"), "-no-color", "-oneline", "-shellcheck", shellcheck,
                           "-pyflakes", "", *map(str, files)], capture_output=True, text=True, timeout=120,
                          check=False)


def workflow() -> dict[str, Any]:
    """The conformance workflow, parsed (PyYAML reads the `on:` key as True)."""
    data = yaml.safe_load((WORKFLOWS / "conformance.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_actionlint_passes_on_the_workflows() -> None:
    """Every workflow file is clean."""
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert files
    proc = actionlint(*files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """A release job that needs a job that does not exist, and a shell step with an unquoted variable, fail."""
    broken = workflow()
    broken["jobs"]["release"]["needs"] = "gates"
    broken["jobs"]["gate"]["steps"].append({"run": "cp $GITHUB_WORKSPACE/reports $RUNNER_TEMP"})
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump({"name": broken["name"], "on": broken[True], **{k: v for k, v in broken.items()
                                                                                    if k not in ("name", True)}}))
    proc = actionlint(path)
    assert proc.returncode == 1
    assert re.search(r'job "release" needs job "gates" which does not exist', proc.stdout), proc.stdout
    assert "SC2086" in proc.stdout, proc.stdout


def test_the_release_waits_for_the_gate_and_runs_only_on_main() -> None:
    """lint/render/fuzz on push and pull request; Kind per version; the gate over every job; release after it."""
    wf = workflow()
    assert set(wf[True]) >= {"push", "pull_request"}
    jobs = wf["jobs"]
    steps = {name: "\n".join(str(s.get("run", "")) for s in job["steps"]) for name, job in jobs.items()}
    assert "--tier lint,render,fuzz" in steps["static"] and "--changed-since" in steps["static"]
    assert "kind/versions.yaml" in steps["versions"]
    assert jobs["kind"]["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.versions.outputs.matrix) }}"
    assert "--tier cluster,e2e" in steps["kind"] and "kind create cluster" in steps["kind"]
    assert "CONFORMANCE_CLOUD_KUBECONFIG" in str(jobs["cloud"]["env"])
    assert set(jobs["gate"]["needs"]) == {"static", "kind", "cloud"} and "conformance gate" in steps["gate"]
    assert jobs["release"]["needs"] == "gate"
    assert jobs["release"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert "conformance release" in steps["release"] and "--tag" in steps["release"]


def test_kind_matrix_has_three_minor_versions_pinned_by_digest() -> None:
    """At least three minor versions with a digest, and each digest says whether it was verified here."""
    rows = [r for r in yaml.safe_load(VERSIONS.read_text())["versions"] if r.get("digest")]
    assert len({".".join(str(r["kubernetes"]).split(".")[:2]) for r in rows}) >= 3
    for row in rows:
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", row["digest"]), row
        assert str(row.get("digest_verified", "")).split(":")[0] in ("yes", "no"), row
        assert row["kind_node_image"] == f"kindest/node:v{row['kubernetes']}"
