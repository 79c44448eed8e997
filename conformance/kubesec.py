"""Scoring workloads with kubesec's own rules, fully offline, in one process for all of them.

`kubesecscan` (tools/kubesecscan, built from the kubesec pin of tools/kubesec) prints what `kubesec scan` prints
for each document it reads (one JSON document per line), validating every document with one kubeconform
validator, so each schema is compiled once instead of once per document as `kubesec scan` does; the `kubesec`
CLI stays the reference (tests/test_kubesecscan.py compares both on every workload of the bundled and fixture
charts). kubesec validates each object with kubeconform before scoring and by default downloads schemas from
the internet. The strict schemas shipped with `kubernetes-validate` are turned into standalone files
(definitions inlined, as kubeconform expects) in a cache folder and passed as `--schema-location`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from conformance.cache import read_json, write_json
from conformance.errors import EnvError
from conformance.rules.k8s_schema import schema_version_for
from conformance.timeouts import TIMEOUTS
from conformance.tools import run

#: kubeconform's file names (kind + group suffix) for the workload kinds kubesec scores.
SCHEMA_FILES = ("pod-v1", "deployment-apps-v1", "statefulset-apps-v1", "daemonset-apps-v1",
                "replicaset-apps-v1", "job-batch-v1", "cronjob-batch-v1")
SCORED_KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"})
_REF = '"/api/_definitions.json#/'


def standalone_schemas(kube_version: str, cache: Path, names: Iterable[str] = SCHEMA_FILES) -> Path:
    """Write standalone schemas (kubeconform's file names; by default the workload kinds) into `cache` once;
    return the folder."""
    version = schema_version_for(kube_version)
    if version is None:
        raise EnvError(f"--kube-version {kube_version}: no Kubernetes schemas for it; pass 1.25 or newer")
    out = cache / f"kubesec-schemas-{version}"
    missing = [n for n in names if not (out / f"{n}.json").is_file()]
    if not missing:
        return out
    root = resources.files("kubernetes_validate").joinpath(f"kubernetes-json-schema/v{version}-local-strict")
    defs = json.loads(root.joinpath("_definitions.json").read_text().replace(_REF, '"#/'))["$defs"]
    out.mkdir(parents=True, exist_ok=True)
    for name in missing:
        if not root.joinpath(f"{name}.json").is_file():
            continue
        schema = json.loads(root.joinpath(f"{name}.json").read_text().replace(_REF, '"#/'))
        schema["$defs"] = reachable_defs(schema, defs)
        write_json(out / f"{name}.json", schema)
    return out


_DEF_REF = re.compile(r'"\$ref": ?"#/\$defs/([^"]+)"')


def reachable_defs(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Only the definitions a schema reaches through `$ref`s: kubeconform compiles every definition it is
    given, and the whole Kubernetes set is ~100x what one workload kind needs."""
    keep: dict[str, Any] = {}
    todo = _DEF_REF.findall(json.dumps(schema))
    while todo:
        name = todo.pop()
        if name in keep or name not in defs:
            continue
        keep[name] = defs[name]
        todo += _DEF_REF.findall(json.dumps(defs[name]))
    return keep


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


def scored_doc(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The document kubesec scores for an object (a Job's pod template as a Pod), None for other kinds."""
    kind = obj.get("kind")
    return as_pod(obj) if kind in AS_POD else obj if kind in SCORED_KINDS else None


Score = tuple[int, list[str]]


def _digest(doc: dict[str, Any], kube_version: str) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{kube_version}|{text}".encode()).hexdigest()[:32]


def schema_location(kube_version: str, cache: Path) -> str:
    """The `--schema-location` of kubesec and kubesecscan: the offline standalone schemas."""
    return str(standalone_schemas(kube_version, cache)) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"


def scan_reports(docs: list[dict[str, Any]], kube_version: str, cache: Path) -> list[dict[str, Any]]:
    """`kubesec scan`'s JSON report of each document, in order, from one `kubesecscan` run."""
    proc = run(["kubesecscan", "--schema-location", schema_location(kube_version, cache)],
               timeout=TIMEOUTS.kubesec, input_text="".join(json.dumps(d, default=str) + "\n" for d in docs))
    try:
        results = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise EnvError(f"kubesecscan gave no JSON (exit {proc.returncode}): {proc.stderr.strip()[:200]}") from exc
    if not isinstance(results, list) or len(results) != len(docs):
        raise EnvError(f"kubesecscan scored {len(results) if isinstance(results, list) else 0} of {len(docs)} "
                       "workloads; rebuild it with `tools/build.sh kubesecscan`")
    return results


def score_of(result: dict[str, Any]) -> Score:
    """A kubesec report as the score and advice lines the kubesec-score rule reads."""
    if result.get("valid") is False:
        return int(result.get("score", 0)), [f"kubesec could not score it: {result.get('message', '')}"]
    return int(result.get("score", 0)), advice_lines(result)


def scan(docs: list[dict[str, Any]], kube_version: str, cache: Path) -> list[Score]:
    """The score and advice of every document, from one `kubesecscan` run."""
    return [score_of(r) for r in scan_reports(docs, kube_version, cache)] if docs else []


def score_objects(objects: list[dict[str, Any]], kube_version: str, cache: Path) -> list[Score | None]:
    """The kubesec score of each object (None for kinds kubesec does not score), in order.

    Identical objects (the same workload in several scenarios) are scored once; scores are kept per object
    in `cache/kubesec/` (written atomically), and every object not yet scored goes to one kubesecscan run.
    """
    docs = [scored_doc(o) for o in objects]
    keys = [_digest(d, kube_version) if d is not None else "" for d in docs]
    folder = cache / "kubesec"
    known: dict[str, Score] = {}
    missing: dict[str, dict[str, Any]] = {}
    for key, doc in zip(keys, docs, strict=True):
        if doc is None or key in known or key in missing:
            continue
        hit = read_json(folder / f"{key}.json")
        if hit is not None:
            known[key] = (int(hit[0]), list(hit[1]))
        else:
            missing[key] = doc
    if missing:
        for key, score in zip(missing, scan(list(missing.values()), kube_version, cache), strict=True):
            known[key] = score
            write_json(folder / f"{key}.json", score)
    return [known[k] if k else None for k in keys]


def ref(obj: dict[str, Any]) -> str:
    """An object's `Kind/name`."""
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def scores(objects: list[dict[str, Any]], kube_version: str, cache: Path) -> dict[str, Score]:
    """kubesec score and advice for each workload of one render, keyed by `Kind/name`."""
    return {ref(o): s for o, s in zip(objects, score_objects(objects, kube_version, cache), strict=True)
            if s is not None}
