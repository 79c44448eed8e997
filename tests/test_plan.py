"""Plan once: `conformance check -n 2` runs every tool once per chart x scenario (counted through wrappers that
exec the real binaries), kubesecscan scores each distinct workload once in one batch, cache files appear whole."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conformance import REPO_ROOT, kubesec
from conformance.cache import write_atomic
from conformance.chart import load_chart

CHARTS = REPO_ROOT / "fixtures" / "charts"
TOOLS = REPO_ROOT / ".tools" / "bin"


def counting_tool(folder: Path, name: str, log: Path) -> Path:
    """A wrapper that logs `name ARGS` to `log`, then execs the real pinned tool."""
    path = folder / name
    path.write_text(f'#!/bin/sh\nprintf "%s\\n" "{name} $*" >> "{log}"\nexec "{TOOLS / name}" "$@"\n')
    path.chmod(0o755)
    return path


def counted_env(tmp_path: Path, tool_env: dict[str, str], *names: str) -> tuple[dict[str, str], Path]:
    """The environment with CONFORMANCE_<TOOL> pointing at counting wrappers, and the log they write."""
    log = tmp_path / "calls.log"
    log.touch()
    (tmp_path / "bin").mkdir()
    env = dict(tool_env)
    for name in names:
        env["CONFORMANCE_" + name.upper()] = str(counting_tool(tmp_path / "bin", name, log))
    return env, log


def test_check_runs_each_tool_once_per_scenario(tmp_path: Path, tool_env: dict[str, str]) -> None:
    """With two xdist workers, helm lint (both majors) runs once per scenario, one render engine per chart (the
    chart and its varied next-release copy, for immutable-fields-stable) renders every scenario, kubesecscan
    runs once, and `helm template` not at all (it is only asked again for a render that fails)."""
    chart = CHARTS / "compliant"
    scenarios = len(load_chart(chart).scenarios)
    env, log = counted_env(tmp_path, tool_env, "helm", "helm3", "helmrender", "kubesecscan")
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "check", str(chart), "--tier", "lint,render",
                           "-n", "2", "--reports", str(tmp_path / "reports")],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # `helm version` (the reports' metadata, once per process) is not a chart x scenario run.
    calls = [c for c in log.read_text().splitlines() if c.split()[1] != "version"]
    assert [c for c, n in Counter(calls).items() if n > 1] == []
    kinds = Counter(" ".join(c.split()[:2]) if c.startswith("helm ") or c.startswith("helm3 ") else c.split()[0]
                    for c in calls)
    assert kinds == {"helmrender": 2, "helm lint": scenarios, "helm3 lint": scenarios, "kubesecscan": 1}, calls
    engines = sorted(Path(c.split()[1]).name for c in calls if c.startswith("helmrender "))
    assert engines == ["compliant", "compliant"], calls
    # A second run over the same reports folder reuses the plan: no tool runs at all.
    log.write_text("")
    again = subprocess.run([sys.executable, "-m", "conformance.cli", "check", str(chart), "--tier", "lint,render",
                            "-n", "2", "--reports", str(tmp_path / "reports")],
                           capture_output=True, text=True, env=env, timeout=300, check=False)
    assert again.returncode == 0, again.stdout
    assert [c for c in log.read_text().splitlines() if c.split()[1] != "version"] == []


def _deployment(name: str, image: str) -> dict[str, object]:
    spec = {"containers": [{"name": "app", "image": image}]}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"a": name}},
                     "template": {"metadata": {"labels": {"a": name}}, "spec": spec}}}


def test_kubesec_scores_identical_objects_once(tmp_path: Path, tool_env: dict[str, str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Five objects, two distinct workloads: one kubesecscan run; a second call finds every score cached."""
    env, log = counted_env(tmp_path, tool_env, "kubesecscan")
    monkeypatch.setenv("CONFORMANCE_KUBESECSCAN", env["CONFORMANCE_KUBESECSCAN"])
    web, db = _deployment("web", "r.example/web:1"), _deployment("db", "r.example/db:2")
    objects = [web, db, dict(web), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, web]
    first = kubesec.score_objects(objects, "1.35", tmp_path)
    assert first[0] == first[2] == first[4] and first[3] is None and first[1] is not None
    assert len(log.read_text().splitlines()) == 1
    assert kubesec.score_objects(objects, "1.35", tmp_path) == first
    assert len(log.read_text().splitlines()) == 1


def test_write_atomic_leaves_only_the_whole_file(tmp_path: Path) -> None:
    """The file is replaced whole and no temporary file is left behind."""
    target = tmp_path / "c" / "x.json"
    write_atomic(target, "old")
    write_atomic(target, "new" * 1000)
    assert target.read_text() == "new" * 1000
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]
