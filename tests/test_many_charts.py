"""Many charts at once, and charts from elsewhere: a folder of charts with per-chart and merged reports,
`--changed-since` with the version-bump rule on a real git history, a packaged `.tgz`, an `oci://` chart pulled
from a real registry on the loopback, and profiles (`--profile`, `conformance rules --profile`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from junitparser import JUnitXml

from conformance import REPO_ROOT
from conformance.registry import LocalRegistry
from tests.test_cli import COMPLIANT, Run, assert_usage_error, cli

pytestmark = pytest.mark.xdist_group("many-charts")
HELM = str(REPO_ROOT / ".tools" / "bin" / "helm")


def copy_chart(dest: Path, name: str, schema: bool = True) -> Path:
    """The compliant fixture under another name (and optionally without its values.schema.json)."""
    shutil.copytree(COMPLIANT, dest)
    chart_yaml = dest / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace("name: compliant", f"name: {name}"))
    if not schema:
        (dest / "values.schema.json").unlink()
    return dest


def junit_suites(path: Path) -> list[str]:
    """The suite names of a merged junit.xml."""
    return [s.name for s in JUnitXml.fromfile(str(path))]


def test_folder_of_two_charts_one_without_schema(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """Exit 1; per-chart reports for both; merged junit.xml, findings.json and report.html name both; the gate
    names the chart without a schema."""
    charts = tmp_path / "charts"
    copy_chart(charts / "web", "web")
    copy_chart(charts / "bare", "bare", schema=False)
    reports = tmp_path / "reports"
    (reports / "old").mkdir(parents=True)  # an earlier run of another chart, and of one chart straight into reports/
    (reports / "old" / "plan.json").write_text("{}")
    (reports / "junit-render.xml").write_text("<testsuites/>")
    run = cli("check", charts, "--tier", "lint", "--jobs", "2", "--reports", reports, env=tool_env, cwd=REPO_ROOT)
    assert run.code == 1, run.out + run.err
    # Both charts ran at once; each one's output is shown whole, in chart order.
    lines = run.out.splitlines()
    starts = [i for i, ln in enumerate(lines) if ln.startswith("conformance: chart ")]
    assert [lines[i].split()[2] for i in starts] == ["bare", "web"]
    assert any(ln.startswith("conformance: 1 errors") for ln in lines[starts[0]:starts[1]])
    assert (reports / "web" / "console.log").read_text() in run.out
    assert not (reports / "old").exists() and not (reports / "junit-render.xml").exists()
    for name in ("bare", "web"):
        assert (reports / name / "junit-lint.xml").is_file() and (reports / name / "report.html").is_file()
    assert junit_suites(reports / "junit.xml") == ["bare.lint", "web.lint"]
    merged = json.loads((reports / "findings.json").read_text())
    assert merged["charts"] == ["bare", "web"]
    assert {(f["chart"], f["rule"], f["check"]) for f in merged["findings"]} == {("bare", "values-schema", "missing")}
    html = (reports / "report.html").read_text()
    assert 'data-key="bare/lint/failed">1<' in html and 'data-key="web/lint/failed">0<' in html
    gate = cli("gate", "--reports", reports, "--require", "lint", env=tool_env)
    assert gate.code == 1
    assert [ln for ln in gate.out.splitlines() if ln.startswith("gate: bare:")] == [
        ln for ln in gate.out.splitlines() if "tier lint failed" in ln]
    assert not [ln for ln in gate.out.splitlines() if ln.startswith("gate: web:")]


def git(repo: Path, *args: str) -> str:
    """Run git in a test repository."""
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "HOME": str(repo.parent), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True, env=env,
                          timeout=60).stdout


def test_changed_since_checks_only_changed_charts_and_wants_a_bump(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """Only the chart changed since the merge-base runs; unbumped it fails chart-version-bump, bumped it passes."""
    repo = tmp_path / "repo"
    copy_chart(repo / "charts" / "web", "web")
    copy_chart(repo / "charts" / "api", "api")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "charts")
    git(repo, "checkout", "-q", "-b", "feature")
    values = repo / "charts" / "api" / "values.yaml"
    values.write_text(values.read_text().replace("replicaCount: 1", "replicaCount: 2"))
    git(repo, "commit", "-q", "-am", "api: two replicas")
    reports = tmp_path / "reports"
    run = cli("check", repo / "charts", "--changed-since", "main", "--tier", "lint", "--reports", reports,
              env=tool_env, cwd=REPO_ROOT)
    assert run.code == 1, run.out + run.err
    assert f"conformance: {repo}/charts/web: unchanged since main (not checked)" in run.out
    assert "conformance: chart api 1.2.0" in run.out and "conformance: chart web" not in run.out
    findings = json.loads((reports / "findings.json").read_text())["findings"]
    assert [(f["chart"], f["rule"], f["check"]) for f in findings] == [("api", "chart-version-bump", "not-increased")]
    assert "bump version in Chart.yaml above 1.2.0" in findings[0]["remediation"]
    chart_yaml = repo / "charts" / "api" / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace("version: 1.2.0", "version: 1.2.1"))
    run = cli("check", repo / "charts", "--changed-since", "main", "--tier", "lint", "--reports", reports,
              env=tool_env, cwd=REPO_ROOT)
    assert run.code == 0, run.out + run.err
    assert junit_suites(reports / "junit.xml") == ["api.lint"]


def test_changed_since_unknown_ref_is_a_usage_error(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """A ref git does not know: exit 2, one line that says how to fix it."""
    repo = tmp_path / "repo"
    copy_chart(repo / "web", "web")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "chart")
    run = cli("check", repo / "web", "--changed-since", "origin/nope", "--reports", tmp_path / "r", env=tool_env)
    assert_usage_error(run, "--changed-since origin/nope", "no merge-base")


def package(chart: Path, dest: Path) -> Path:
    """`helm package` with the pinned helm."""
    out = subprocess.run([HELM, "package", str(chart), "-d", str(dest)], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    return Path(out.strip().rsplit(" ", 1)[-1])


def case_names(reports: Path) -> list[str]:
    """Every case name of a run's junit.xml."""
    return sorted(f"{s.name}::{c.name}" for s in JUnitXml.fromfile(str(reports / "junit.xml")) for c in s)


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory: pytest.TempPathFactory, tool_env: dict[str, str]) -> tuple[Run, Path]:
    """The compliant chart's folder, lint and render."""
    reports = tmp_path_factory.mktemp("folder") / "reports"
    return cli("check", COMPLIANT, "--tier", "lint,render", "--reports", reports, env=tool_env), reports


def test_packaged_chart_checks_like_its_folder(folder_run: tuple[Run, Path], tmp_path: Path,
                                              tool_env: dict[str, str]) -> None:
    """A .tgz made by `helm package` gives the same cases and outcome as the folder it was made from."""
    tgz = package(COMPLIANT, tmp_path)
    reports = tmp_path / "reports"
    run = cli("check", tgz, "--tier", "lint,render", "--reports", reports, env=tool_env)
    assert (run.code, folder_run[0].code) == (0, 0), run.out + run.err
    assert f"({tgz} -> " in run.out
    assert case_names(reports) == case_names(folder_run[1])


def test_broken_package_is_a_usage_error(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """A .tgz that is not a chart package: exit 2, one line naming the file."""
    bad = tmp_path / "broken-1.0.0.tgz"
    bad.write_bytes(b"not a tarball")
    assert_usage_error(cli("check", bad, "--reports", tmp_path / "r", env=tool_env), str(bad), "not a readable chart")


def test_oci_chart_from_a_real_registry(oci_registry: LocalRegistry, folder_run: tuple[Run, Path], tmp_path: Path,
                                        tool_env: dict[str, str]) -> None:
    """`helm push` to the loopback registry, then `conformance check oci://... --version`: the same cases as the
    folder; a version the registry does not have is exit 2 with helm's reason."""
    tgz = package(COMPLIANT, tmp_path)
    subprocess.run([HELM, "push", str(tgz), f"oci://{oci_registry.host}/charts", "--plain-http"], check=True,
                   capture_output=True, timeout=120)
    ref = f"oci://{oci_registry.host}/charts/compliant"
    reports = tmp_path / "reports"
    run = cli("check", ref, "--version", "1.2.0", "--tier", "lint,render", "--reports", reports, env=tool_env)
    assert run.code == 0, run.out + run.err
    assert case_names(reports) == case_names(folder_run[1])
    missing = cli("check", ref, "--version", "9.9.9", "--reports", tmp_path / "r2", env=tool_env)
    assert_usage_error(missing, f"{ref} --version 9.9.9: helm pull failed")


# Profiles

def undocumented_chart(tmp_path: Path) -> Path:
    """The compliant chart with one values key's comment removed."""
    chart = copy_chart(tmp_path / "undocumented", "undocumented")
    values = chart / "values.yaml"
    values.write_text(values.read_text().replace("# -- Number of web pods.\n", ""))
    return chart


def test_undocumented_values_fail_under_floe_and_pass_under_community(tmp_path: Path,
                                                                      tool_env: dict[str, str]) -> None:
    """This repository's conformance.toml picks floe: an undocumented key is an error; community warns."""
    chart = undocumented_chart(tmp_path)
    strict = cli("check", chart, "--tier", "lint", "--reports", tmp_path / "floe", env=tool_env, cwd=REPO_ROOT)
    assert strict.code == 1, strict.out + strict.err
    assert "profile floe" in strict.out and "values-documented" in strict.out
    lenient = cli("check", chart, "--tier", "lint", "--profile", "community", "--reports", tmp_path / "community",
                  env=tool_env, cwd=REPO_ROOT)
    assert lenient.code == 0, lenient.out + lenient.err
    findings = json.loads((tmp_path / "community" / "findings.json").read_text())["findings"]
    assert [(f["rule"], f["severity"]) for f in findings] == [("values-documented", "warning")]


@pytest.mark.parametrize(("profile", "expected"), [
    ("floe", {"values-documented": "error", "pss-restricted": "error", "resources": "error", "kubesec-score": "error"}),
    ("community", {"values-documented": "warning", "pss-restricted": "warning", "pss-baseline": "error",
                   "resources": "warning", "probes": "warning", "kubesec-score": "warning",
                   "labels-recommended": "warning", "k8s-schema": "error", "renders": "error",
                   "fuzz-renders": "error", "helm-lint": "error"}),
    ("restricted", {"pss-restricted": "error", "values-documented": "warning", "pss-baseline": "error"}),
])
def test_rules_profile_shows_severities(profile: str, expected: dict[str, str], tool_env: dict[str, str]) -> None:
    """`conformance rules --profile P` lists every rule with the severity P gives it."""
    run = cli("rules", "--profile", profile, env=tool_env)
    assert run.code == 0, run.err
    severity = {ln.split()[0]: ln.split()[2] for ln in run.out.splitlines() if ln.strip()}
    assert {k: severity[k] for k in expected} == expected


def test_unknown_profile_is_a_usage_error(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """A profile that does not exist, from the environment: exit 2 naming the variable and the choices."""
    run = cli("check", COMPLIANT, "--reports", tmp_path, env={**tool_env, "CONFORMANCE_PROFILE": "lenient"})
    assert_usage_error(run, "CONFORMANCE_PROFILE", "'lenient' is not one of floe, community, restricted")
