"""`floe deploy` on real kwok clusters (pinned control plane, simulated nodes).

- The Done-when flow on a cluster from `conformance cluster create --provider kwok`: deploy dev with --wait, status,
  a second deploy makes revision 2, rollback to 1, pause/resume; a deploy that cannot fit its quota or whose pods
  are refused fails (exit 1) with the reason.
- SC-009: five environments on two clusters, each namespace with its labels, quota, limits and isolating policy.
These need the pinned binaries that `make test` builds first: a missing one fails, never skips.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from conformance import REPO_ROOT
from conformance.cluster import KwokCluster, random_name
from floe.generate import default_cluster_mapping
from floe.namespace import ENV_LABEL, ISOLATION_NAME, QUOTA_NAME

SAMPLE = REPO_ROOT / "fixtures" / "artifacts" / "compiled_artifacts.json"
NON_PROD = ("dev", "qa", "uat", "staging")
# One worker for this module with --dist loadgroup: kwok clusters are the expensive part on 2 cores.
pytestmark = pytest.mark.xdist_group("floe-kwok")


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=900, env=env,
                          check=False, cwd=REPO_ROOT)


def mapping_file(tmp: Path, non_prod_context: str, prod_context: str) -> Path:
    """ADR-0042's mapping with the kube contexts of the test clusters."""
    data = default_cluster_mapping().model_dump(by_alias=True, mode="json")
    data["clusterMapping"]["non-prod"]["kubeContext"] = non_prod_context
    data["clusterMapping"]["prod"]["kubeContext"] = prod_context
    path = tmp / "mapping.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def core(kubeconfig: Path) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))


@pytest.fixture(scope="module")
def created(tmp_path_factory: pytest.TempPathFactory, tool_env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """A kwok cluster made by `conformance cluster create`, deleted by `conformance cluster delete`."""
    name = random_name("floe")
    kubeconfig = tmp_path_factory.mktemp("created") / "kubeconfig"
    made = run("conformance.cli", "cluster", "create", "--provider", "kwok", "--name", name, "--kubeconfig-out",
               str(kubeconfig), env=tool_env)
    try:
        assert made.returncode == 0, made.stdout + made.stderr
        assert f"context kwok-{name}" in made.stdout
        yield name, kubeconfig
    finally:
        gone = run("conformance.cli", "cluster", "delete", "--name", name, env=tool_env)
        assert gone.returncode == 0, gone.stderr
        assert not Path(f"/tmp/kwok-{name}").exists()


def test_deploy_status_history_rollback(created: tuple[str, Path], tool_env: dict[str, str], tmp_path: Path) -> None:
    name, kubeconfig = created
    mapping = mapping_file(tmp_path, f"kwok-{name}", f"kwok-{name}")
    common = ["--env", "dev", "--cluster-mapping", str(mapping), "--kubeconfig", str(kubeconfig)]

    first = run("floe.cli", "deploy", "--artifact", str(SAMPLE), *common, "--wait", "--timeout", "180", env=tool_env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Namespace/floe-dev created" in first.stdout
    assert "release customer-360 revision 1 deployed" in first.stdout
    assert "Job/customer-360-floe-jobs-run-1: 1/1 ready, rollout 100% done" in first.stdout  # plain lines: not a TTY
    assert "environment dev: every workload is ready" in first.stdout

    status = run("floe.cli", "deploy", "status", *common, env=tool_env)
    assert status.returncode == 0, status.stderr
    assert "release customer-360: revision 1 deployed (floe-jobs-" in status.stdout
    assert f"{ENV_LABEL}=dev" in status.stdout and f"quota {QUOTA_NAME}: " in status.stdout

    second = run("floe.cli", "deploy", "--artifact", str(SAMPLE), *common, "--wait", env=tool_env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Namespace/floe-dev configured" in second.stdout and "revision 2 deployed" in second.stdout

    history = run("floe.cli", "deploy", "history", *common, env=tool_env)
    assert history.returncode == 0, history.stderr
    rows = [line.split() for line in history.stdout.splitlines()[1:]]
    assert [(r[0], r[1]) for r in rows] == [("1", "superseded"), ("2", "deployed")]

    back = run("floe.cli", "deploy", "rollback", *common, "1", env=tool_env)
    assert back.returncode == 0, back.stderr
    assert "now revision 3 deployed (Rollback to 1)" in back.stdout

    paused = run("floe.cli", "deploy", "pause", *common, env=tool_env)
    assert paused.returncode == 0 and "paused: CronJob/customer-360-floe-jobs-scheduled" in paused.stdout
    cron = client.BatchV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    assert cron.read_namespaced_cron_job("customer-360-floe-jobs-scheduled", "floe-dev").spec.suspend is True
    resumed = run("floe.cli", "deploy", "resume", *common, env=tool_env)
    assert resumed.returncode == 0 and "resumed: CronJob/customer-360-floe-jobs-scheduled" in resumed.stdout
    assert cron.read_namespaced_cron_job("customer-360-floe-jobs-scheduled", "floe-dev").spec.suspend is False


def test_deploy_over_quota_applies_nothing(created: tuple[str, Path], tool_env: dict[str, str],
                                          tmp_path: Path) -> None:
    name, kubeconfig = created
    artifact = json.loads(SAMPLE.read_text())
    artifact["environments"]["uat"] = {"jobs": {"resources": {"requests": {"cpu": "12", "memory": "1Gi"},
                                                              "limits": {"cpu": "12", "memory": "1Gi"}}}}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(artifact))
    out = run("floe.cli", "deploy", "--artifact", str(path), "--env", "uat", "--cluster-mapping",
              str(mapping_file(tmp_path, f"kwok-{name}", f"kwok-{name}")), "--kubeconfig", str(kubeconfig),
              env=tool_env)
    assert out.returncode == 1, out.stdout + out.stderr
    # floe-jobs runs the dbt Job and the scheduled CronJob with these resources: 2 x 12 CPU at full scale
    assert "does not fit namespace floe-uat's quota: requests.cpu 24 > 8 free of 8 (preset small)" in out.stderr
    assert "nothing was applied" in out.stderr
    assert "floe-uat" not in [n.metadata.name for n in core(kubeconfig).list_namespace().items]


def test_refused_pods_fail_fast_with_the_reason(created: tuple[str, Path], tool_env: dict[str, str],
                                                tmp_path: Path) -> None:
    name, kubeconfig = created
    api = core(kubeconfig)
    # Someone else's quota in the namespace admits no pod: the Job controller's FailedCreate says why.
    api.create_namespace({"metadata": {"name": "floe-qa"}})
    api.create_namespaced_resource_quota("floe-qa", {"metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}})
    out = run("floe.cli", "deploy", "--artifact", str(SAMPLE), "--env", "qa", "--wait", "--timeout", "120",
              "--cluster-mapping", str(mapping_file(tmp_path, f"kwok-{name}", f"kwok-{name}")),
              "--kubeconfig", str(kubeconfig), env=tool_env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "release customer-360 in floe-qa failed: Job/customer-360-floe-jobs-run-1: quota exceeded:" in out.stderr
    assert "no-pods" in out.stderr


def test_unreachable_cluster_is_one_line_exit_2(tool_env: dict[str, str], tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "x"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}]}))
    out = run("floe.cli", "deploy", "--artifact", str(SAMPLE), "--env", "dev", "--cluster-mapping",
              str(mapping_file(tmp_path, "gone", "gone")), "--kubeconfig", str(kubeconfig), env=tool_env)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "kube context 'gone': cluster unreachable" in out.stderr
    missing = run("floe.cli", "deploy", "status", "--env", "dev", "--kubeconfig", str(kubeconfig), env=tool_env)
    assert missing.returncode == 2 and "kube context 'aks-shared-nonprod'" in missing.stderr


def test_cluster_command_usage(tool_env: dict[str, str]) -> None:
    out = run("conformance.cli", "cluster", "delete", "--name", "never-made-here", env=tool_env)
    assert out.returncode == 2 and "no cluster of that name was created here" in out.stderr
    bad = run("conformance.cli", "cluster", "create", "--provider", "kwok", "--name", "Bad_Name", "--kubeconfig-out",
              "/tmp/x", env=tool_env)
    assert bad.returncode == 2 and "--name Bad_Name: not a cluster name" in bad.stderr


# -- SC-009 ---------------------------------------------------------------------------------------------------


def admits(policy: Any, namespace_labels: dict[str, str]) -> bool:
    """Whether an ingress NetworkPolicy admits traffic from a namespace with these labels (namespace selectors)."""
    for rule in policy.spec.ingress or []:
        for peer in rule._from or []:
            labels = peer.namespace_selector.match_labels or {} if peer.namespace_selector else None
            if labels is not None and all(namespace_labels.get(k) == v for k, v in labels.items()):
                return True
    return False


def test_sc009_five_environments_on_two_clusters(tool_env: dict[str, str], tmp_path: Path) -> None:
    with KwokCluster(random_name("floe-np")) as non_prod, KwokCluster(random_name("floe-prod")) as prod:
        kubeconfig = f"{non_prod.kubeconfig}:{prod.kubeconfig}"
        mapping = mapping_file(tmp_path, f"kwok-{non_prod.name}", f"kwok-{prod.name}")
        for env in (*NON_PROD, "prod"):
            out = run("floe.cli", "deploy", "--artifact", str(SAMPLE), "--env", env, "--wait", "--cluster-mapping",
                      str(mapping), "--kubeconfig", kubeconfig, env=tool_env)
            assert out.returncode == 0, f"{env}: {out.stdout}{out.stderr}"

        placed = {"non-prod": (non_prod, NON_PROD, "8"), "prod": (prod, ("prod",), "32")}
        for group, (cluster, envs, cpu) in placed.items():
            api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
            api, net = client.CoreV1Api(api_client), client.NetworkingV1Api(api_client)
            floe_ns = {n.metadata.name: n.metadata.labels for n in api.list_namespace().items
                       if n.metadata.name.startswith("floe-")}
            assert sorted(floe_ns) == sorted(f"floe-{e}" for e in envs), group
            for env in envs:
                ns = f"floe-{env}"
                labels = floe_ns[ns]
                assert labels[ENV_LABEL] == env and labels["floe.dev/cluster"] == group
                assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
                quota = api.read_namespaced_resource_quota(QUOTA_NAME, ns)
                assert quota.spec.hard["requests.cpu"] == cpu
                policy = net.read_namespaced_network_policy(ISOLATION_NAME, ns)
                assert policy.spec.pod_selector.match_labels is None  # every pod of the namespace
                assert policy.spec.policy_types == ["Ingress"]
                assert admits(policy, labels)
                others = [other for other in floe_ns if other != ns]
                assert not any(admits(policy, floe_ns[o]) for o in others), f"{ns} admits another environment"
                pods = api.list_namespaced_pod(ns).items
                assert pods and all(p.metadata.labels.get("floe.dev/environment") == env for p in pods)
