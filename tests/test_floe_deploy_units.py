"""floe deploy's pure parts: namespace objects, the quota check, failure reasons from events, plain progress."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from floe.generate import default_cluster_mapping
from floe.kube import Workload, classify
from floe.namespace import ENV_LABEL, isolation_policy, limit_range, namespace, resource_quota
from floe.progress import Reporter
from floe.resources import quota_shortfall, requested


def deployment(cpu: str, memory: str, replicas: int = 1) -> dict:
    container = {"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory},
                                            "limits": {"cpu": cpu, "memory": memory}}}
    return {"kind": "Deployment", "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}}}


def test_namespace_objects_follow_the_preset() -> None:
    dev, prod = default_cluster_mapping().target("dev"), default_cluster_mapping().target("prod")
    ns = namespace(dev)
    assert ns["metadata"]["name"] == "floe-dev"
    assert ns["metadata"]["labels"][ENV_LABEL] == "dev"
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert resource_quota(dev)["spec"]["hard"]["requests.cpu"] == "8"
    assert resource_quota(prod)["spec"]["hard"]["requests.cpu"] == "32"
    assert limit_range(prod)["spec"]["limits"][0]["default"] == {"cpu": "1", "memory": "1Gi"}
    peers = isolation_policy(dev)["spec"]["ingress"][0]["from"]
    assert peers == [{"namespaceSelector": {"matchLabels": {ENV_LABEL: "dev"}}}]


def test_requests_sum_replicas_and_init_containers() -> None:
    job = {"kind": "Job", "spec": {"template": {"spec": {
        "containers": [{"resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}}],
        "initContainers": [{"resources": {"requests": {"cpu": "1", "memory": "64Mi"}}}]}}}}
    need, pods = requested([deployment("500m", "1Gi", replicas=3), job, {"kind": "Service"}])
    assert pods == 4
    assert need["requests.cpu"] == Decimal("2.5")  # 3 x 0.5 + max(0.25, 1)
    assert need["requests.memory"] == 3 * 2**30 + 512 * 2**20


def test_quota_shortfall_says_what_and_by_how_much() -> None:
    dev = default_cluster_mapping().target("dev")  # small: requests.cpu 8
    assert quota_shortfall(dev, [deployment("1", "1Gi", replicas=2)]) == []
    short = quota_shortfall(dev, [deployment("3", "1Gi", replicas=2)], {"requests.cpu": Decimal(3)})
    assert short == ["requests.cpu 6 > 5 free of 8 (preset small)"]


@pytest.mark.parametrize(("reason", "message", "expected"), [
    ("FailedCreate", 'pods "x-1" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true',
     "PodSecurity rejection"),
    ("FailedCreate", 'pods "x-1" is forbidden: exceeded quota: floe-environment-quota, requested: requests.cpu=9',
     "quota exceeded"),
    ("Failed", 'Failed to pull image "ghcr.io/x/y:1": not found', "image pull"),
    ("BackOff", 'Back-off pulling image "ghcr.io/x/y:1"', "image pull"),
    ("BackOff", "Back-off restarting failed container app in pod x", "crash loop"),
    ("FailedCreate", "Error creating: serviceaccount \"x\" not found", "cannot create pods"),
    ("FailedScheduling", "0/1 nodes are available", None),
])
def test_event_reasons(reason: str, message: str, expected: str | None) -> None:
    why = classify(reason, message)
    assert (why.split(":")[0] if why else None) == expected


def test_plain_progress_prints_changes_only() -> None:
    out = io.StringIO()
    r = Reporter(out)
    r.update([Workload("Deployment", "web", 0, 2, 1, False)])
    r.update([Workload("Deployment", "web", 0, 2, 1, False)])
    r.update([Workload("Deployment", "web", 2, 2, 2, True)])
    assert out.getvalue().splitlines() == ["floe:   Deployment/web: 0/2 ready, rollout 50%",
                                           "floe:   Deployment/web: 2/2 ready, rollout 100% done"]


def test_rich_progress_on_a_terminal() -> None:
    from rich.console import Console  # noqa: PLC0415

    from floe.progress import RichReporter  # noqa: PLC0415

    out = io.StringIO()
    with RichReporter(Console(file=out, force_terminal=True, width=100)) as r:
        r.say("deploying")
        r.update([Workload("Deployment", "web", 1, 2, 2, False)])
    text = out.getvalue()
    assert "\x1b[" in text and "Deployment/web" in text
    assert "1/2 ready, rollout 100%" in text and "floe: deploying" in text
