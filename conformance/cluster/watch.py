"""Watching a namespace with the `kubernetes` client: events, pods and workloads, kept current by watches.

One `NamespaceWatch` per namespace the harness installs into, started before the install so every object
and event is seen as it happens. Waits read its state instead of polling kubectl, and fail at once, with
the event's own reason and message, when the cluster says the wait cannot succeed: admission refused a
pod (PodSecurity, quota), an image cannot be pulled, a container crash-loops, a pod cannot be scheduled.
It also records when each object was first seen and when each pod first had a container running, in
monotonic seconds, for SC-002.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from conformance.cluster.base import Cluster
from conformance.errors import ConformanceError
from conformance.timeouts import TIMEOUTS, WaitTimeout

#: The kinds watched, and how to list them in one namespace.
KINDS = ("Event", "Pod", "Deployment", "StatefulSet", "DaemonSet", "Job")
#: A pod stuck in one of these waiting reasons will not start without a change to the chart or cluster.
STUCK = ("ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff", "CreateContainerConfigError",
         "CreateContainerError", "InvalidImageName", "RunContainerError")
#: Warning event reasons that end a wait at once (FailedScheduling gets `scheduling_grace` for volumes to bind).
BLOCKING_EVENTS = ("FailedCreate", "AppArmor", "FailedScheduling", "Failed", "BackOff", "BackoffLimitExceeded",
                   "DeadlineExceeded", "FailedMount")


#: The client's entry points, typed Any here once: the `kubernetes` package ships no type hints.
_NEW_CLIENT: Any = config.new_client_from_config
_WATCH: Any = watch.Watch


class Blocked(ConformanceError):
    """The cluster reported why a wait cannot succeed (the message is the event's or the pod's own)."""

    exit_code = 1


def api_client(cluster: Cluster) -> Any:
    """A `kubernetes.client.ApiClient` for the cluster's kubeconfig (first file of a list) and context."""
    return _NEW_CLIENT(config_file=str(cluster.kubeconfig), context=cluster.context)


def _lister(api: Any, kind: str) -> Callable[..., Any]:
    core, apps, batch = client.CoreV1Api(api), client.AppsV1Api(api), client.BatchV1Api(api)
    return {
        "Event": core.list_namespaced_event, "Pod": core.list_namespaced_pod,
        "Deployment": apps.list_namespaced_deployment, "StatefulSet": apps.list_namespaced_stateful_set,
        "DaemonSet": apps.list_namespaced_daemon_set, "Job": batch.list_namespaced_job,
    }[kind]


def stamp(value: Any) -> float:
    """An API timestamp (RFC 3339 string or datetime) as epoch seconds; 0 when absent."""
    if not value:
        return 0.0
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def event_time(event: dict[str, Any]) -> float:
    """When an event last happened, in epoch seconds."""
    series = event.get("series") or {}
    return max(stamp(event.get("lastTimestamp")), stamp(event.get("eventTime")),
               stamp(series.get("lastObservedTime")), stamp((event.get("metadata") or {}).get("creationTimestamp")))


def container_started(pod: dict[str, Any]) -> bool:
    """True once any container of the pod is running or has run."""
    for c in (pod.get("status") or {}).get("containerStatuses") or []:
        state = c.get("state") or {}
        if state.get("running") or state.get("terminated"):
            return True
    return False


@dataclass
class State:
    """What the watches have seen: objects by kind and name, first-seen and container-start receipt times."""

    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {k: {} for k in KINDS})
    first_seen: dict[tuple[str, str], float] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The current objects of a kind."""
        return list(self.objects[kind].values())


class NamespaceWatch:
    """Watches events, pods and workloads of one namespace on background threads until `stop()`."""

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        """Start listing and watching every kind in KINDS."""
        self.namespace = namespace
        self.api: Any = api_client(cluster)
        self.state = State()
        self._cond = threading.Condition()
        self._stopped = threading.Event()
        self._watches: list[Any] = []
        self._threads = [threading.Thread(target=self._run, args=(k,), daemon=True, name=f"watch-{k}")
                         for k in KINDS]
        for t in self._threads:
            t.start()

    def _apply(self, kind: str, kind_type: str, obj: dict[str, Any]) -> None:
        name = str((obj.get("metadata") or {}).get("name"))
        now = time.monotonic()
        with self._cond:
            if kind_type == "DELETED":
                self.state.objects[kind].pop(name, None)
            else:
                self.state.objects[kind][name] = obj
                self.state.first_seen.setdefault((kind, name), now)
                if kind == "Pod" and container_started(obj):
                    self.state.started.setdefault(name, now)
            self._cond.notify_all()

    def _stream(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        lister = _lister(self.api, kind)
        listing = lister(self.namespace)
        for item in listing.items:
            yield "ADDED", self.api.sanitize_for_serialization(item)
        w = _WATCH()
        self._watches.append(w)
        for ev in w.stream(lister, self.namespace, resource_version=listing.metadata.resource_version,
                           timeout_seconds=int(TIMEOUTS.watch_restart)):
            yield str(ev["type"]), self.api.sanitize_for_serialization(ev["object"])

    def _run(self, kind: str) -> None:
        while not self._stopped.is_set():
            try:
                for kind_type, obj in self._stream(kind):
                    if self._stopped.is_set():
                        return
                    if kind_type in ("ADDED", "MODIFIED", "DELETED"):
                        self._apply(kind, kind_type, obj)
            except (ApiException, HTTPError, OSError, ValueError) as exc:
                if self._stopped.is_set():
                    return
                with self._cond:  # 410 Gone and dropped connections: list again and carry on
                    self.state.errors.append(f"{kind}: {str(exc).splitlines()[0]}")
                self._stopped.wait(TIMEOUTS.poll_interval)

    def wait(self, condition: Callable[[State], str | None], timeout: float, describe: str,
             blockers: Callable[[State, float], list[str]] | None = None) -> str:
        """Block until `condition(state)` returns a non-empty string and return it.

        `blockers(state, since)` (default `blocking`) lists reasons the wait cannot succeed, seen after
        the wait began: Blocked is raised with them at once. WaitTimeout after `timeout` seconds.
        """
        since = time.time() - 1.0  # event timestamps have whole seconds
        block = blockers or blocking
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                done = condition(self.state)
                if done:
                    return done
                problems = block(self.state, since)
                if problems:
                    raise Blocked("; ".join(problems))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout(f"timed out after {timeout:g}s waiting for {describe}")
                self._cond.wait(min(remaining, TIMEOUTS.poll_interval))

    def snapshot(self) -> State:
        """A copy of the state, safe to read outside the lock."""
        with self._cond:
            return State({k: dict(v) for k, v in self.state.objects.items()}, dict(self.state.first_seen),
                         dict(self.state.started), list(self.state.errors))

    def stop(self) -> None:
        """Stop every watch and close the client."""
        self._stopped.set()
        for w in list(self._watches):
            w.stop()
        for t in self._threads:
            t.join(timeout=TIMEOUTS.probe)
        self.api.close()


def settled_since(pod: dict[str, Any] | None, reason: str) -> bool:
    """True when a pod event no longer describes the pod: it is gone, was scheduled after a FailedScheduling,
    or runs with every container ready after a pull or start failure."""
    if pod is None:
        return True
    if reason == "FailedScheduling":
        return bool((pod.get("spec") or {}).get("nodeName"))
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(statuses) and all(c.get("ready") for c in statuses)


def blocking(state: State, since: float) -> list[str]:
    """Why pods of the namespace cannot become ready, from Warning events since `since` and stuck containers."""
    out = []
    for e in state.of("Event"):
        reason, msg = str(e.get("reason", "")), str(e.get("message", "")).strip()
        if e.get("type") != "Warning" or reason not in BLOCKING_EVENTS or event_time(e) < since:
            continue
        obj = e.get("involvedObject") or {}
        if obj.get("kind") == "Pod" and settled_since(state.objects["Pod"].get(str(obj.get("name"))), reason):
            continue
        # the scheduler retries: volumes being bound, pods of another release terminating, a node autoscaling
        if reason == "FailedScheduling" and time.time() - since < TIMEOUTS.scheduling_grace:
            continue
        if reason == "BackOff" and "image" not in msg.lower() and "restarting" not in msg.lower():
            continue
        out.append(f"{obj.get('kind')}/{obj.get('name')}: {reason}: {msg}")
    for pod in state.of("Pod"):
        for c in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (c.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in STUCK:
                name = (pod.get("metadata") or {}).get("name")
                out.append(f"Pod/{name} container {c.get('name')}: {waiting['reason']}: "
                           f"{str(waiting.get('message', '')).strip()}")
    return sorted(set(out))
