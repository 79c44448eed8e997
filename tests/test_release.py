"""`conformance release` against a real OCI registry on the loopback (Debian's docker-registry): nothing is pushed
when the gate fails; when it passes the chart is pushed, pulls back by version, and is tagged `<chart>-<version>`;
a registry that refuses the push or the login is exit 2 with one line."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conformance import REPO_ROOT
from conformance.junit import CaseResult, write_junit
from conformance.registry import LocalRegistry
from tests.test_cli import COMPLIANT, assert_usage_error, cli
from tests.test_many_charts import git

pytestmark = pytest.mark.xdist_group("release")
HELM = str(REPO_ROOT / ".tools" / "bin" / "helm")


def reports_for(folder: Path, outcome: str) -> Path:
    """A lint and render result for the compliant chart, as the plugin writes them (`outcome` for render)."""
    for tier, result in (("lint", "passed"), ("render", outcome)):
        case = CaseResult(f"suites/{tier}/test_{tier}.py::test_{tier}[defaults/probes/Deployment/web]", tier, result,
                          0.1, "no probe" if result == "failed" else "", "", [("rule", "probes")])
        write_junit(folder / f"junit-{tier}.xml", tier, str(COMPLIANT), [case])
    return folder


def pull(registry: LocalRegistry, version: str, dest: Path, repo: str = "charts") -> subprocess.CompletedProcess[str]:
    """`helm pull` of the compliant chart from a repository of the test registry."""
    dest.mkdir(parents=True, exist_ok=True)
    return subprocess.run([HELM, "pull", f"oci://{registry.host}/{repo}/compliant", "--version", version,
                           "--plain-http", "-d", str(dest)], capture_output=True, text=True, timeout=120, check=False)


def test_failed_gate_pushes_nothing(oci_registry: LocalRegistry, tmp_path: Path, tool_env: dict[str, str]) -> None:
    """Exit 1, the gate's reasons, and the registry still has no such chart. Its own repository: the session's
    registry is shared, and the passing-gate test pushes the same chart to `charts`."""
    reports = reports_for(tmp_path / "reports", "failed")
    run = cli("release", COMPLIANT, "--to", f"oci://{oci_registry.host}/gate-failed", "--reports", reports,
              "--require", "lint,render", env=tool_env)
    assert run.code == 1, run.out + run.err
    assert "gate: compliant: tier render failed: 1 of 1 tests" in run.out
    assert run.out.strip().splitlines()[-1] == f"release: nothing pushed to oci://{oci_registry.host}/gate-failed: " \
        "the gate did not pass"
    assert pull(oci_registry, "1.2.0", tmp_path, "gate-failed").returncode != 0


def test_passed_gate_pushes_pulls_back_and_tags(oci_registry: LocalRegistry, tmp_path: Path,
                                                tool_env: dict[str, str]) -> None:
    """Exit 0; the chart pulls back at its version with the same Chart.yaml; the git tag points at HEAD."""
    repo = tmp_path / "repo"
    shutil.copytree(COMPLIANT, repo / "compliant")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "chart")
    reports = reports_for(tmp_path / "reports", "passed")
    target = f"oci://{oci_registry.host}/charts"
    env = {**tool_env, "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    run = cli("release", repo / "compliant", "--to", target, "--reports", reports, "--require", "lint,render",
              "--tag", env=env)
    assert run.code == 0, run.out + run.err
    assert f"release: pushed {target}/compliant:1.2.0, tagged compliant-1.2.0" in run.out
    assert pull(oci_registry, "1.2.0", tmp_path / "pulled").returncode == 0
    assert (tmp_path / "pulled" / "compliant-1.2.0.tgz").is_file()
    assert git(repo, "rev-parse", "compliant-1.2.0^{commit}") == git(repo, "rev-parse", "HEAD")
    assert pull(oci_registry, "1.2.1", tmp_path / "wrong").returncode != 0  # a tag that was never pushed
    git(repo, "commit", "-q", "--allow-empty", "-m", "later")
    again = cli("release", repo / "compliant", "--to", target, "--reports", reports, "--require", "lint,render",
                "--tag", env=env)
    assert again.code == 0 and "release: not pushed: compliant-1.2.0 is already released" in again.out, again.out


def test_refused_push_and_refused_login(oci_registry_auth: LocalRegistry, tmp_path: Path,
                                        tool_env: dict[str, str]) -> None:
    """A registry that wants credentials: without them the push is refused, with a wrong password the login is;
    each is exit 2 with one line naming the registry and the variables to fix."""
    reports = reports_for(tmp_path / "reports", "passed")
    target = f"oci://{oci_registry_auth.host}/charts"
    args = ("release", COMPLIANT, "--to", target, "--reports", reports, "--require", "lint,render")
    assert_usage_error(cli(*args, env=tool_env), f"{target}: push of compliant 1.2.0 refused",
                       "CONFORMANCE_REGISTRY_USERNAME")
    wrong = {**tool_env, "CONFORMANCE_REGISTRY_USERNAME": "floe", "CONFORMANCE_REGISTRY_PASSWORD": "wrong"}
    assert_usage_error(cli(*args, env=wrong), f"{oci_registry_auth.host}: registry login as floe refused")
    right = {**wrong, "CONFORMANCE_REGISTRY_PASSWORD": "s3cret-floe"}
    run = cli(*args, env=right)
    assert run.code == 0, run.out + run.err


def test_target_must_be_oci(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """A non-OCI target is a usage error before the gate runs."""
    run = cli("release", COMPLIANT, "--to", "https://charts.example.invalid", "--reports", tmp_path, env=tool_env)
    assert_usage_error(run, "--to https://charts.example.invalid: not an OCI repository")
