"""Scoring workloads with the real kubesec binary, fully offline.

kubesec validates each object with kubeconform before scoring and by default downloads schemas from
the internet. The strict schemas shipped with `kubernetes-validate` are turned into standalone files
(definitions inlined, as kubeconform expects) in a cache folder and passed as `--schema-location`.
"""

from __future__ import annotations

import json
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from conformance.errors import EnvError
from conformance.rules.k8s_schema import schema_version_for
from conformance.timeouts import TIMEOUTS
from conformance.tools import run

#: kubeconform's file names (kind + group suffix) for the workload kinds kubesec scores.
SCHEMA_FILES = ("pod-v1", "deployment-apps-v1", "statefulset-apps-v1", "daemonset-apps-v1",
                "replicaset-apps-v1", "job-batch-v1", "cronjob-batch-v1")
SCORED_KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"})
_REF = '"/api/_definitions.json#/'


def standalone_schemas(kube_version: str, cache: Path) -> Path:
    """Write standalone workload schemas for kubeconform into `cache` once; return the folder."""
    version = schema_version_for(kube_version)
    if version is None:
        raise EnvError(f"--kube-version {kube_version}: no Kubernetes schemas for it; pass 1.25 or newer")
    out = cache / f"kubesec-schemas-{version}"
    if (out / f"{SCHEMA_FILES[-1]}.json").is_file():
        return out
    root = resources.files("kubernetes_validate").joinpath(f"kubernetes-json-schema/v{version}-local-strict")
    defs = json.loads(root.joinpath("_definitions.json").read_text().replace(_REF, '"#/'))["$defs"]
    out.mkdir(parents=True, exist_ok=True)
    for name in SCHEMA_FILES:
        schema = json.loads(root.joinpath(f"{name}.json").read_text().replace(_REF, '"#/'))
        schema["$defs"] = defs
        tmp = out / f".{name}.json.tmp"
        tmp.write_text(json.dumps(schema))
        tmp.replace(out / f"{name}.json")
    return out


def advice_lines(result: dict[str, Any]) -> list[str]:
    """kubesec's advice for one object as short 'selector: reason' lines, most valuable first."""
    scoring = result.get("scoring") or {}
    items = list(scoring.get("critical") or []) + list(scoring.get("advise") or [])
    return [f"{a.get('selector', '').strip()}: {a.get('reason', '').strip()}" for a in items]


#: Kinds kubesec v2 does not score ("This resource kind is not supported"): their pod template is scored as a Pod.
AS_POD = frozenset({"Job", "CronJob"})


def as_pod(obj: dict[str, Any]) -> dict[str, Any]:
    """A Job's or CronJob's pod template as a Pod, so kubesec scores what the Job will run."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") or {}
    meta = {**(template.get("metadata") or {}), "name": (obj.get("metadata") or {}).get("name", "")}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template.get("spec") or {}}


def scores(objects: list[dict[str, Any]], kube_version: str, cache: Path) -> dict[str, tuple[int, list[str]]]:
    """kubesec score and advice for each workload, keyed by `Kind/name`."""
    workloads = [o for o in objects if o.get("kind") in SCORED_KINDS]
    scanned = [as_pod(o) if o.get("kind") in AS_POD else o for o in workloads]
    if not workloads:
        return {}
    schemas = standalone_schemas(kube_version, cache)
    location = str(schemas) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=cache, delete=False) as f:
        f.write("\n---\n".join(json.dumps(o) for o in scanned))  # kubesec reads YAML documents
        path = Path(f.name)
    try:
        proc = run(["kubesec", "scan", "--schema-location", location, str(path)], timeout=TIMEOUTS.kubesec)
    finally:
        path.unlink(missing_ok=True)
    try:
        results = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise EnvError(f"kubesec scan gave no JSON (exit {proc.returncode}): {proc.stderr.strip()[:200]}") from exc
    out: dict[str, tuple[int, list[str]]] = {}
    if len(results) != len(workloads):
        raise EnvError(f"kubesec scored {len(results)} of {len(workloads)} workloads; check the kubesec build")
    for obj, res in zip(workloads, results, strict=True):
        ref = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
        if res.get("valid") is False:
            out[ref] = (int(res.get("score", 0)), [f"kubesec could not score it: {res.get('message', '')}"])
        else:
            out[ref] = (int(res.get("score", 0)), advice_lines(res))
    return out
