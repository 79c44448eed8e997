"""The cluster providers: a real kwok cluster (pinned binaries) and the command lines of the others.

One kwok cluster serves the whole module (cluster start is the expensive part on a 2-core machine);
its last test deletes it from inside a failing `with` block and checks that nothing is left.
These tests need the pinned binaries that `make test` builds first: a missing one fails, never skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import REPO_ROOT
from conformance.cluster import (
    CLUSTER_TIMEOUTS,
    KindCluster,
    KubeconfigCluster,
    KubectlError,
    KwokCluster,
    WaitTimeout,
    provider_for,
    random_name,
    wait_for,
)
from conformance.cluster.kind import effective_config, image_present, node_image
from conformance.cluster.kwok import PORT_FLAGS, pid_alive
from conformance.cluster.provider import kind_usable, resolve_provider
from conformance.errors import EnvError, UsageError
from conformance.tools import tool_path

# All tests on one xdist worker when run with --dist loadgroup (one cluster for the module).
pytestmark = pytest.mark.xdist_group("kwok-cluster")

T = CLUSTER_TIMEOUTS
TIMINGS: dict[str, float] = {}
SAFE = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
POD_SC = {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}}


@pytest.fixture(scope="module")
def kwok() -> Iterator[KwokCluster]:
    """One kwok cluster with one simulated node for the module; deleted at the end whatever happens."""
    cluster = KwokCluster(nodes=1)
    start = time.monotonic()
    cluster.create()
    TIMINGS["create"] = time.monotonic() - start
    try:
        yield cluster
    finally:
        cluster.delete()
        print(f"\nkwok cluster timings: {', '.join(f'{k} {v:.2f}s' for k, v in TIMINGS.items())}")


def apply(cluster: KwokCluster, obj: dict[str, Any], namespace: str = "default") -> str:
    """Create an object from a dict; return kubectl's stderr (PodSecurity warnings)."""
    proc = cluster.run_kubectl("create", "-n", namespace, "-f", "-", input_text=json.dumps(obj))
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def get(cluster: KwokCluster, *args: str) -> dict[str, Any]:
    """`kubectl get ... -o json` as a dict."""
    out: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json"))
    return out


def pod(name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A bare Pod that meets PSS restricted."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": POD_SC,
            "containers": [{"name": "main", "image": "registry.example/app:1.0", "securityContext": SAFE}],
        },
    }


def template(labels: dict[str, str]) -> dict[str, Any]:
    """A restricted-compliant pod template."""
    return {
        "metadata": {"labels": labels},
        "spec": {
            "securityContext": POD_SC,
            "containers": [{"name": "main", "image": "registry.example/app:1.0", "securityContext": SAFE}],
        },
    }


# -- provider API without a cluster -------------------------------------------------------------------


def test_random_names_are_short_dns_labels() -> None:
    names = {random_name() for _ in range(20)}
    assert len(names) == 20
    for name in names:
        assert len(name) < 63
        assert name.replace("-", "").isalnum() and name.islower()


def test_wait_for_returns_value_and_times_out() -> None:
    calls = iter([None, None, "done"])
    assert wait_for(lambda: next(calls), 5, 0.01, "third call") == "done"
    with pytest.raises(WaitTimeout, match="waiting for never"):
        wait_for(lambda: False, 0.05, 0.01, "never")


def test_kwok_create_command_uses_pinned_binaries_loopback_and_admission(tmp_path: Path) -> None:
    cluster = KwokCluster("conformance-unit", parent_dir=tmp_path)
    ports = {flag: 40000 + i for i, flag in enumerate(PORT_FLAGS)}
    cmd = cluster.create_command(ports)
    assert cmd[0] == tool_path("kwokctl")
    assert cmd[cmd.index("--runtime") + 1] == "binary"
    for flag, tool in [("--kube-apiserver-binary", "kube-apiserver"), ("--etcd-binary", "etcd"),
                       ("--kwok-controller-binary", "kwok")]:
        assert cmd[cmd.index(flag) + 1] == tool_path(tool)
        assert not cmd[cmd.index(flag) + 1].startswith("http")
    assert cmd[cmd.index("--kube-apiserver-port") + 1] == str(ports["--kube-apiserver-port"])
    assert f"kube-apiserver=admission-control-config-file={REPO_ROOT / 'kind' / 'pss-admission.yaml'}" in cmd
    configs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-c"]
    assert configs[0] == str(cluster.config_path)
    assert {Path(c).name for c in configs[1:]} == {"node-stages.yaml", "pod-stages.yaml"}
    assert cluster.kwokctl_config(1234)["options"] == {
        "runtime": "binary", "bindAddress": "127.0.0.1", "etcdPeerPort": 1234, "kubectlBinary": tool_path("kubectl"),
    }
    assert cluster.env()["KWOK_WORKDIR"] == str(tmp_path / "kwok-conformance-unit" / "kwok")


def test_missing_binary_fails_loudly_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFORMANCE_KWOKCTL", str(tmp_path / "no-such-kwokctl"))
    cluster = KwokCluster(parent_dir=tmp_path)
    with pytest.raises(EnvError, match="CONFORMANCE_KWOKCTL"):
        cluster.create()
    assert list(tmp_path.iterdir()) == []


def test_kind_commands_and_config(tmp_path: Path) -> None:
    """Only a real Kind exercises KindCluster.create(); here its command lines and config are checked."""
    cluster = KindCluster("conformance-unit", parent_dir=tmp_path)
    # the offline build (`make kind-images`) when the engine has it, else the published image
    local = "floe-kind/node:v1.35.4"
    assert cluster.image == node_image() == (local if image_present(local) else "kindest/node:v1.35.4")
    versions = yaml.safe_load((REPO_ROOT / "kind" / "versions.yaml").read_text())
    for row in versions["versions"]:
        row["local_node_image"] = "floe-kind/never-built:v0"
    (tmp_path / "versions.yaml").write_text(yaml.safe_dump(versions))
    assert node_image(path=tmp_path / "versions.yaml") == "kindest/node:v1.35.4"
    cmd = cluster.create_command()
    assert cmd[:3] == [tool_path("kind"), "create", "cluster"]
    assert cmd[cmd.index("--image") + 1] == cluster.image
    assert cmd[cmd.index("--config") + 1] == str(cluster.config_path)
    assert cmd[cmd.index("--name") + 1] == "conformance-unit"
    assert cluster.delete_command()[1:5] == ["delete", "cluster", "--name", "conformance-unit"]
    config = yaml.safe_load((REPO_ROOT / "kind" / "kind-config.yaml").read_text())
    assert [n["role"] for n in config["nodes"]] == ["control-plane"]
    mount = effective_config(config, REPO_ROOT)["nodes"][0]["extraMounts"][0]
    assert mount["hostPath"] == str(REPO_ROOT / "kind" / "pss-admission.yaml")
    assert Path(mount["hostPath"]).is_file()
    v1beta3, v1beta4 = (yaml.safe_load(p) for p in config["nodes"][0]["kubeadmConfigPatches"])
    assert v1beta3["apiVersion"] == "kubeadm.k8s.io/v1beta3"
    assert v1beta3["apiServer"]["extraArgs"]["admission-control-config-file"] == mount["containerPath"]
    assert v1beta4["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert v1beta4["apiServer"]["extraArgs"] == [
        {"name": "admission-control-config-file", "value": mount["containerPath"]}
    ]
    for patch in (v1beta3, v1beta4):
        volume = patch["apiServer"]["extraVolumes"][0]
        assert Path(mount["containerPath"]).parent == Path(volume["hostPath"]) == Path(volume["mountPath"])


def _kubeconfig(path: Path, server: str = "https://127.0.0.1:1") -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": server}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}], "users": [{"name": "x", "user": {}}],
    }))
    return path


def test_provider_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """auto is Kind when usable here, else kwok, and never an existing cluster, even with KUBECONFIG set."""
    bogus = _kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(bogus))
    expected = "kind" if kind_usable(node_image()) else "kwok"
    auto = resolve_provider("auto")
    assert auto.name == expected
    assert "only with --provider kubeconfig" in auto.why or expected == "kind"
    assert isinstance(provider_for("kwok"), KwokCluster)
    assert isinstance(provider_for("kind"), KindCluster)
    assert resolve_provider("kwok").simulated and not resolve_provider("kind").simulated
    with pytest.raises(UsageError, match="unknown cluster provider"):
        provider_for("minikube")
    with pytest.raises(UsageError, match="only used with --provider kubeconfig"):
        resolve_provider("kwok", context="x")
    # the kubeconfig provider checks up front: unreachable is an environment error naming the file
    with pytest.raises(EnvError, match="does not answer"):
        resolve_provider("kubeconfig", str(bogus))
    with pytest.raises(UsageError, match="context 'nope' not found"):
        resolve_provider("kubeconfig", str(bogus), "nope")
    with pytest.raises(UsageError, match="no such file"):
        resolve_provider("kubeconfig", str(tmp_path / "missing"))
    (tmp_path / "broken").write_text("contexts: [")
    with pytest.raises(UsageError, match="not valid YAML"):
        resolve_provider("kubeconfig", str(tmp_path / "broken"))
    unchecked = provider_for("kubeconfig", kubeconfig=bogus)
    assert isinstance(unchecked, KubeconfigCluster)
    with pytest.raises(EnvError, match="unreachable"):
        unchecked.create()


def test_signals_and_exit_delete_registered_clusters(tmp_path: Path) -> None:
    """SIGTERM and SIGINT in the middle of a run still delete what was created (atexit + handlers)."""
    script = textwrap.dedent(f"""
        import signal, sys
        from pathlib import Path
        from conformance.cluster import _cleanup
        class Fake:
            name = "fake"
            def delete(self):
                Path({str(tmp_path)!r}, sys.argv[1]).write_text("deleted")
        _cleanup.register(Fake())
        print("ready", flush=True)
        signal.pause()
    """)
    for sig in ("SIGTERM", "SIGINT"):
        proc = subprocess.Popen([sys.executable, "-c", script, sig], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, cwd=REPO_ROOT)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        proc.send_signal(getattr(__import__("signal"), sig))
        proc.wait(timeout=30)
        assert (tmp_path / sig).read_text() == "deleted", sig


def test_kept_cluster_outlives_the_process(tmp_path: Path) -> None:
    """`keep_after_exit` (what `conformance cluster create` uses): exit deletes the others, not the kept one."""
    script = textwrap.dedent(f"""
        from pathlib import Path
        from conformance.cluster import _cleanup, keep_after_exit
        class Fake:
            def __init__(self, name):
                self.name = name
            def delete(self):
                Path({str(tmp_path)!r}, self.name).write_text("deleted")
        kept, other = Fake("kept"), Fake("other")
        _cleanup.register(kept)
        _cleanup.register(other)
        keep_after_exit(kept)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "other").read_text() == "deleted"
    assert not (tmp_path / "kept").exists()


# -- a real kwok cluster ------------------------------------------------------------------------------


def test_cluster_runs_the_pinned_kubernetes(kwok: KwokCluster) -> None:
    version = json.loads(kwok.kubectl("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == "v1.35.4"
    pids = kwok.pids()
    assert set(pids) == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller"}
    for component, pid in pids.items():
        exe = Path(f"/proc/{pid}/exe").resolve()
        assert exe.parent == Path(tool_path("kubectl")).resolve().parent, (component, exe)


def test_simulated_node_is_ready(kwok: KwokCluster) -> None:
    nodes = get(kwok, "nodes")["items"]
    assert len(nodes) == 1
    node = nodes[0]
    assert node["metadata"]["annotations"].get("kwok.x-k8s.io/node") == "fake"
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    assert " Ready " in kwok.kubectl("get", "nodes", "--no-headers") + " "


def _listening(pid: int) -> list[str]:
    """The local addresses (hex, as in /proc/net/tcp*) a process listens on."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    addrs = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                addrs.append(fields[1].split(":")[0])
    return addrs


def test_control_plane_listens_on_loopback_only(kwok: KwokCluster) -> None:
    loopback_v4 = "0100007F"
    server = yaml.safe_load(kwok.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    assert server.startswith("https://127.0.0.1:")
    for component, pid in kwok.pids().items():
        addrs = _listening(pid)
        assert addrs, component
        assert set(addrs) == {loopback_v4}, (component, addrs)


def test_pod_security_admission_defaults_are_enforced(kwok: KwokCluster) -> None:
    """Unlabelled namespaces get kind/pss-admission.yaml's defaults: enforce baseline, warn restricted."""
    privileged = pod("privileged")
    privileged["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    proc = kwok.run_kubectl("create", "--dry-run=server", "-f", "-", input_text=json.dumps(privileged))
    assert proc.returncode != 0
    assert 'violates PodSecurity "baseline:latest": privileged' in proc.stderr
    baseline_only = pod("baseline-only")
    del baseline_only["spec"]["containers"][0]["securityContext"]
    proc = kwok.run_kubectl("create", "--dry-run=server", "-f", "-", input_text=json.dumps(baseline_only))
    assert proc.returncode == 0, proc.stderr
    assert 'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false' in proc.stderr


def test_deployment_pods_become_running_and_ready(kwok: KwokCluster) -> None:
    labels = {"app": "web"}
    warnings = apply(kwok, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": template(labels)},
    })
    assert "PodSecurity" not in warnings
    wait_for(lambda: get(kwok, "deployment", "web")["status"].get("readyReplicas") == 2,
             T.workload, T.poll_interval, "deployment web to have 2 ready replicas", retry=(KubectlError, KeyError))
    pods = get(kwok, "pods", "-l", "app=web")["items"]
    assert len(pods) == 2
    for p in pods:
        assert p["status"]["phase"] == "Running"
        assert {c["type"]: c["status"] for c in p["status"]["conditions"]}["Ready"] == "True"
        assert p["spec"]["nodeName"] == "node-000000"


def test_job_completes(kwok: KwokCluster) -> None:
    apply(kwok, {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
        "spec": {"backoffLimit": 0, "template": {**template({"job": "once"}),
                 "spec": {**template({})["spec"], "restartPolicy": "Never"}}},
    })
    wait_for(lambda: get(kwok, "job", "once")["status"].get("succeeded") == 1,
             T.workload, T.poll_interval, "job once to succeed", retry=(KubectlError, KeyError))
    conditions = {c["type"]: c["status"] for c in get(kwok, "job", "once")["status"]["conditions"]}
    assert conditions.get("Complete") == "True"


def test_helm_test_hook_pod_succeeds_through_our_stage(kwok: KwokCluster) -> None:
    apply(kwok, pod("chart-test", {"helm.sh/hook": "test"}))
    apply(kwok, pod("plain"))

    def phase(name: str) -> str:
        return str(get(kwok, "pod", name)["status"].get("phase"))

    wait_for(lambda: phase("chart-test") == "Succeeded", T.workload, T.poll_interval, "helm test pod to succeed",
             retry=(KubectlError, KeyError))
    state = get(kwok, "pod", "chart-test")["status"]["containerStatuses"][0]["state"]
    assert state["terminated"]["exitCode"] == 0
    # The control: a bare Pod without the hook annotation runs on and never completes.
    wait_for(lambda: phase("plain") == "Running", T.workload, T.poll_interval, "plain pod to run",
             retry=(KubectlError, KeyError))
    assert phase("plain") == "Running"


def test_exception_inside_with_block_deletes_cluster_processes_and_dirs(kwok: KwokCluster) -> None:
    """Runs last: the module's cluster is deleted by a `with` block that raises."""
    pids = kwok.pids()
    assert pids and all(pid_alive(pid) for pid in pids.values())
    dirs = [kwok.root, kwok.cluster_dir]
    assert all(d.is_dir() for d in dirs)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="boom"), kwok:
        raise RuntimeError("boom")
    TIMINGS["delete"] = time.monotonic() - start
    assert not kwok.created
    assert [pid for pid in pids.values() if pid_alive(pid)] == []
    assert [d for d in dirs if d.exists()] == []
    assert not kwok.reachable()
    kwok.delete()  # idempotent
