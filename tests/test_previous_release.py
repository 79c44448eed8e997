"""Finding the previous release (flows/previous), the varied chart copy, timings.json and the watch's blockers:
real git, real `helm package`/`helm push`/`helm pull` against a real loopback registry, no cluster needed."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conformance import REPO_ROOT
from conformance.chart import load_chart
from conformance.cluster.watch import State, blocking
from conformance.errors import UsageError
from conformance.flows.previous import breaking_change, given_previous, resolve_previous, semver
from conformance.registry import LocalRegistry
from conformance.render.variant import next_version, vary_template
from conformance.timeouts import TIMEOUTS
from conformance.timing import Timing, write_timings
from conformance.tools import tool_path

COMPLIANT = REPO_ROOT / "fixtures" / "charts" / "compliant"


def git(repo: Path, *args: str) -> str:
    """Run git in a test repository."""
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"})
    return proc.stdout.strip()


def set_version(chart: Path, version: str) -> None:
    """Rewrite a chart's version."""
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    meta["version"] = version
    (chart / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding the compliant chart at 1.0.0, then 1.1.0 (tagged), then 1.2.0, then 2.0.0."""
    root = tmp_path / "repo"
    chart = root / "charts" / "compliant"
    shutil.copytree(COMPLIANT, chart)
    git(root.parent, "init", "-q", str(root))
    for version in ("1.0.0", "1.1.0", "1.2.0", "2.0.0"):
        set_version(chart, version)
        git(root, "add", "-A")
        git(root, "commit", "-qm", f"compliant {version}")
        if version == "1.1.0":
            git(root, "tag", "compliant-1.1.0")
    return chart


def test_semver_and_breaking() -> None:
    assert semver("1.2.3") < semver("1.10.0")  # type: ignore[operator]
    assert semver("1.0.0-rc.1") < semver("1.0.0")  # type: ignore[operator]
    assert semver("not-a-version") is None
    assert "major" in breaking_change("1.9.0", "2.0.0")
    assert "minor version bump below 1.0" in breaking_change("0.1.0", "0.2.0")
    assert breaking_change("0.2.0", "0.2.1") == "" and breaking_change("1.1.0", "1.2.0") == ""


def test_newest_lower_tag_wins_over_commits(repo: Path, tmp_path: Path) -> None:
    """At 2.0.0 with tag compliant-1.1.0 and a 1.2.0 commit: chart-releaser's tag is the previous release."""
    prev = resolve_previous(load_chart(repo), None, tmp_path / "work")
    assert prev.version == "1.1.0" and "git tag compliant-1.1.0" in prev.how
    assert "major" in prev.breaking and not prev.is_self
    assert yaml.safe_load((Path(prev.source) / "Chart.yaml").read_text())["version"] == "1.1.0"


def test_without_tags_the_newest_lower_commit(repo: Path, tmp_path: Path) -> None:
    git(repo.parent.parent, "tag", "-d", "compliant-1.1.0")
    prev = resolve_previous(load_chart(repo), None, tmp_path / "work")
    assert prev.version == "1.2.0" and prev.how.startswith("commit ")


def test_first_release_upgrades_from_itself(tmp_path: Path) -> None:
    chart = tmp_path / "compliant"
    shutil.copytree(COMPLIANT, chart)  # not in a git repository
    prev = resolve_previous(load_chart(chart), None, tmp_path / "work")
    assert prev.is_self and "not in a git repository" in prev.how


def test_given_forms(repo: Path, tmp_path: Path, oci_registry: LocalRegistry) -> None:
    """Folder, .tgz (helm package), git:REF and oci:// (helm push to a real registry, then helm pull)."""
    chart = load_chart(repo)
    folder = given_previous(chart, str(COMPLIANT), tmp_path / "w1")
    assert folder.version == "1.2.0" and "chart folder" in folder.how
    at_tag = given_previous(chart, "git:compliant-1.1.0", tmp_path / "w2")
    assert at_tag.version == "1.1.0"
    packaged = subprocess.run([tool_path("helm"), "package", str(COMPLIANT), "--destination", str(tmp_path)],
                              capture_output=True, text=True, check=True)
    tgz = tmp_path / "compliant-1.2.0.tgz"
    assert tgz.is_file(), packaged.stdout
    assert given_previous(chart, str(tgz), tmp_path / "w3").version == "1.2.0"
    pushed = subprocess.run([tool_path("helm"), "push", str(tgz), f"oci://{oci_registry.host}/upgrade-from-test",
                             "--plain-http"], capture_output=True, text=True, check=False)
    assert pushed.returncode == 0, pushed.stderr
    pulled = given_previous(chart, f"oci://{oci_registry.host}/upgrade-from-test/compliant:1.2.0", tmp_path / "w4")
    assert pulled.version == "1.2.0" and Path(pulled.source).suffix == ".tgz"


@pytest.mark.parametrize(("spec", "says"), [
    ("git:no-such-ref", "no such commit"),
    (str(REPO_ROOT / "kind"), "no Chart.yaml"),
    ("/nonexistent/chart", "not a chart folder"),
])
def test_given_bad_input(spec: str, says: str, repo: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=says):
        given_previous(load_chart(repo), spec, tmp_path / "w")


def test_bad_tgz(tmp_path: Path, repo: Path) -> None:
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(b"not a tarball")
    with pytest.raises(UsageError, match=r"not a readable \.tgz"):
        given_previous(load_chart(repo), str(bad), tmp_path / "w")


def test_variant_templates() -> None:
    assert next_version("0.2.0") == "0.2.1" and next_version("v1.0.0-rc.1") == "v1.0.1"
    assert vary_template("rev: {{ .Release.Revision }}") == "rev: {{ (add1 .Release.Revision) }}"
    assert vary_template('at: {{ now | date "2006" }}') == 'at: {{ (now | dateModify "+49h") | date "2006" }}'
    assert vary_template("plain text now and .Release.Revision") == "plain text now and .Release.Revision"


def test_timings_json_rows(tmp_path: Path) -> None:
    rows = [Timing("sc-001", 3.25, 600, "kwok", "v1.35.4", "c", "defaults", True, "how")]
    write_timings(tmp_path / "timings.json", rows)
    data = json.loads((tmp_path / "timings.json").read_text())
    assert data == [{"id": "sc-001", "seconds": 3.25, "budget": 600, "provider": "kwok", "kube_version": "v1.35.4",
                     "chart": "c", "scenario": "defaults", "simulated": True, "detail": "how"}]
    assert Timing.from_json(rows[0].to_json()) == rows[0]


def _event(reason: str, message: str, age: float = 0.0, kind: str = "Pod") -> dict[str, object]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - age))
    return {"type": "Warning", "reason": reason, "message": message, "lastTimestamp": stamp,
            "involvedObject": {"kind": kind, "name": "x"}, "metadata": {"name": f"e-{reason}"}}


PENDING = {"metadata": {"name": "x"}, "spec": {}, "status": {"phase": "Pending"}}
GRACE = TIMEOUTS.scheduling_grace


@pytest.mark.parametrize(("reason", "message", "waited", "blocks"), [
    ("FailedCreate", 'pods "x" is forbidden: violates PodSecurity "restricted:latest"', 1, True),
    ("FailedCreate", 'pods "x" is forbidden: exceeded quota: q, requested: cpu=1', 1, True),
    ("Failed", "Error: ErrImagePull", 1, True),
    ("BackOff", 'Back-off pulling image "x"', 1, True),
    ("BackOff", "Back-off restarting failed container app", 1, True),
    ("FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.", GRACE + 2, True),
    ("FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.", 1, False),  # the scheduler retries first
    ("FailedScheduling", "pod has unbound immediate PersistentVolumeClaims", 1, False),
    ("Unhealthy", "Readiness probe failed", 1, False),
])
def test_blocking_events(reason: str, message: str, waited: float, blocks: bool) -> None:
    state = State()
    kind = "ReplicaSet" if reason == "FailedCreate" else "Pod"
    state.objects["Event"]["e"] = _event(reason, message, kind=kind)
    state.objects["Pod"]["x"] = PENDING
    found = blocking(state, time.time() - waited)
    assert bool(found) is blocks, found
    if blocks:
        assert reason in found[0] and message.split(":", maxsplit=1)[0] in found[0]


def test_events_of_pods_that_recovered_do_not_block() -> None:
    """A FailedScheduling whose pod was scheduled since, or a pull error whose pod now runs ready, is history."""
    state = State()
    state.objects["Event"]["e"] = _event("FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.")
    state.objects["Pod"]["x"] = {"metadata": {"name": "x"}, "spec": {"nodeName": "n1"}}
    assert blocking(state, time.time() - GRACE - 2) == []
    state.objects["Event"]["e"] = _event("Failed", "Error: ErrImagePull")
    state.objects["Pod"]["x"] = {"metadata": {"name": "x"}, "status": {"containerStatuses": [{"ready": True}]}}
    assert blocking(state, time.time() - 1) == []


def test_old_events_and_stuck_containers() -> None:
    state = State()
    state.objects["Event"]["e"] = _event("FailedCreate", "forbidden", age=120)
    assert blocking(state, time.time() - 5) == []  # before the wait began: not this wait's problem
    state.objects["Pod"]["p"] = {"metadata": {"name": "p"}, "status": {"containerStatuses": [
        {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}}}]}}
    assert blocking(state, time.time() - 5) == ["Pod/p container app: CrashLoopBackOff: back-off 10s"]
