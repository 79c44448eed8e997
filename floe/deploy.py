"""`floe deploy`: generate values, prepare the environment's namespace, `helm upgrade --install`, watch it.

Also status, history, rollback and pause/resume of a deployed environment.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import yaml

from conformance.timeouts import TIMEOUTS
from floe.artifacts import LoadedArtifacts
from floe.errors import DeployFailed, FloeError
from floe.generate import JOBS, PLATFORM, chart_dir, generate
from floe.helm import Kube, helm, history, last_error, releases, template_args, upgrade_args, values_file
from floe.kube import (
    api,
    apply,
    event_failures,
    namespace_exists,
    namespace_summary,
    pod_failures,
    set_paused,
    used_by_others,
    workloads,
)
from floe.models import ClusterMapping, EnvironmentTarget
from floe.namespace import namespace, namespaced_objects
from floe.progress import Reporter, line
from floe.resources import quota_shortfall

#: floe owns the namespace's quota and limits; the platform chart's own copies are switched off.
PLATFORM_NAMESPACE_OFF = {"resourceQuota": {"enabled": False}, "limitRange": {"enabled": False}}


@dataclass(frozen=True)
class DeployRequest:
    """What `floe deploy` was asked to do."""

    loaded: LoadedArtifacts
    env: str
    mapping: ClusterMapping
    kubeconfig: str
    platform: bool
    wait: bool
    timeout: float


def kube_for(target: EnvironmentTarget, kubeconfig: str) -> Kube:
    """Helm's and the client's view of the environment's cluster."""
    return Kube(kubeconfig, target.kube_context)


def jobs_release(loaded: LoadedArtifacts) -> str:
    """The floe-jobs release of a data product: its product name."""
    return loaded.artifacts.metadata.product_name


def render(generated: Any, release: str) -> list[dict[str, Any]]:
    """The release's manifests from `helm template` (for the quota check)."""
    with values_file(generated) as values:
        code, out, err = helm(template_args(generated, values, release), TIMEOUTS.helm_template)
    if code != 0:
        raise FloeError(f"{generated.chart}: helm template failed: {last_error(err)}")
    return [d for d in yaml.safe_load_all(out) if isinstance(d, dict)]


def deploy(req: DeployRequest, out: Reporter) -> int:
    """Deploy the environment; 0 when every workload is ready (or without --wait, once Helm applied it)."""
    target = req.mapping.target(req.env)
    kube = kube_for(target, req.kubeconfig)
    plan = [(jobs_release(req.loaded), generate(req.loaded, req.env, req.mapping, chart_dir(JOBS)))]
    if req.platform:
        gen = generate(req.loaded, req.env, req.mapping, chart_dir(PLATFORM))
        gen = type(gen)({**gen.values, **PLATFORM_NAMESPACE_OFF}, gen.chart, gen.target, gen.digest, gen.source)
        plan.insert(0, ("floe-platform", gen))
    client = api(kube)
    out.say(f"environment {req.env}: cluster {target.cluster} (context {target.kube_context}), namespace "
            f"{target.namespace}, preset {target.preset_name}")
    exists = namespace_exists(client, target.namespace)
    for release, gen in plan:
        used = used_by_others(client, target.namespace, release) if exists else {}
        short = quota_shortfall(target, render(gen, release), used)
        if short:
            raise DeployFailed(f"release {release} does not fit namespace {target.namespace}'s quota: "
                               f"{'; '.join(short)}; nothing was applied. Lower the resources in the artifact's "
                               f"environments.{req.env} overrides or use a larger preset")
    for obj in [namespace(target), *namespaced_objects(target)]:
        out.say(f"{obj['kind']}/{obj['metadata']['name']} {apply(client, obj)}")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    for release, gen in plan:
        with values_file(gen) as values:
            code, _, err = helm(upgrade_args(gen, values, release, kube, req.timeout), TIMEOUTS.helm_upgrade,
                                kube.env())
        if code != 0:
            raise DeployFailed(f"helm upgrade --install {release} in {target.namespace}: {last_error(err)}; "
                               f"the namespace objects above were applied; see `floe deploy history --env {req.env}`")
        rev = history(release, target.namespace, kube)[-1]
        out.say(f"release {release} revision {rev['revision']} {rev['status']} ({gen.chart.name}, values digest "
                f"{gen.digest[:19]})")
    if not req.wait:
        return 0
    for release, _ in plan:
        wait_ready(client, target.namespace, release, since, req.timeout, out)
    out.say(f"environment {req.env}: every workload is ready")
    return 0


def wait_ready(client: Any, namespace: str, release: str, since: dt.datetime, timeout: float, out: Reporter) -> None:
    """Poll the release's workloads until all are done; DeployFailed at the first failure reason or the timeout."""
    deadline = time.monotonic() + timeout
    with out:
        while True:
            state = workloads(client, namespace, release)
            out.update(state)
            failures = [w.failure for w in state if w.failure] + pod_failures(client, namespace, release)
            failures += event_failures(client, namespace, since)
            if failures:
                raise DeployFailed(f"release {release} in {namespace} failed: {failures[0]}"
                                   + (f" (+{len(failures) - 1} more)" if len(failures) > 1 else "")
                                   + "; Helm applied it: fix and deploy again, or `floe deploy rollback`")
            if state and all(w.done for w in state):
                return
            if time.monotonic() > deadline:
                waiting = [line(w) for w in state if not w.done] or ["no workload of the release appeared"]
                raise DeployFailed(f"release {release} in {namespace} not ready after {timeout:g}s: "
                                   f"{'; '.join(waiting)}")
            time.sleep(TIMEOUTS.poll_interval)


def pick_release(given: str | None, namespace: str, kube: Kube) -> str:
    """The release to act on: --release, else the only non-platform release in the namespace."""
    if given:
        return given
    names = [r for r in releases(namespace, kube) if r != "floe-platform"] or releases(namespace, kube)
    if not names:
        raise FloeError(f"namespace {namespace}: no release; run floe deploy first")
    if len(names) > 1:
        raise FloeError(f"namespace {namespace}: releases {', '.join(names)}; pass --release NAME")
    return names[0]


def status(target: EnvironmentTarget, kube: Kube, release: str | None) -> list[str]:
    """Lines describing the environment: namespace labels, quota use, release revision and workloads."""
    client = api(kube)
    if not namespace_exists(client, target.namespace):
        raise FloeError(f"--env {target.environment}: namespace {target.namespace} does not exist on context "
                        f"{kube.context}; run floe deploy first")
    name = pick_release(release, target.namespace, kube)
    rev = history(name, target.namespace, kube)[-1]
    ns = namespace_summary(client, target.namespace)
    lines = [f"environment {target.environment}: namespace {target.namespace} on {target.cluster} "
             f"(context {kube.context})",
             "labels: " + ", ".join(f"{k}={v}" for k, v in sorted(ns["labels"].items())),
             f"release {name}: revision {rev['revision']} {rev['status']} ({rev['chart']}), {rev['updated']}"]
    for qname, q in ns["quota"].items():
        lines.append(f"quota {qname}: " + ", ".join(f"{k} {q['used'].get(k, '0')}/{v}"
                                                    for k, v in sorted(q["hard"].items())))
    lines += [line(w) for w in workloads(client, target.namespace, name)]
    return lines


def rollback(target: EnvironmentTarget, kube: Kube, release: str | None, revision: int | None) -> str:
    """`helm rollback` to `revision` (default: the previous one); the new revision's line."""
    name = pick_release(release, target.namespace, kube)
    args = ["rollback", name, *([str(revision)] if revision else []), "--namespace", target.namespace, *kube.flags()]
    code, _, err = helm(args, TIMEOUTS.helm_rollback, kube.env())
    if code != 0:
        raise DeployFailed(f"helm rollback {name} {revision or ''} in {target.namespace}: {last_error(err)}")
    rev = history(name, target.namespace, kube)[-1]
    return f"release {name}: rolled back; now revision {rev['revision']} {rev['status']} ({rev['description']})"


def pause(target: EnvironmentTarget, kube: Kube, release: str | None, paused: bool) -> list[str]:
    """Pause or resume the release's rollouts; what changed."""
    name = pick_release(release, target.namespace, kube)
    return set_paused(api(kube), target.namespace, name, paused)
