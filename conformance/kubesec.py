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

import contextlib
import hashlib
import json
import re
import subprocess
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from conformance.cache import read_json, write_json
from conformance.errors import EnvError
from conformance.rules.k8s_schema import schema_version_for
from conformance.timeouts import TIMEOUTS
from conformance.tools import tool_path

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


#: One item of kubesec's advice: its rule `id`, jq-like `selector`, `reason` and `points` (negative for the
#: critical items that cost points), and `critical` (True for them).
Advice = dict[str, Any]


def advice_items(result: dict[str, Any]) -> list[Advice]:
    """kubesec's advice for one object, most valuable first: the critical items (most points lost first), then
    the advice (most points to gain first)."""
    scoring = result.get("scoring") or {}

    def items(key: str, critical: bool) -> list[Advice]:
        return [{"id": str(a.get("id", "")), "selector": str(a.get("selector", "")).strip(),
                 "reason": str(a.get("reason", "")).strip(), "points": int(a.get("points", 0) or 0),
                 "critical": critical} for a in scoring.get(key) or []]

    critical = sorted(items("critical", True), key=lambda a: int(a["points"]))
    return critical + sorted(items("advise", False), key=lambda a: -int(a["points"]))


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


Score = tuple[int, list[Advice]]


def _digest(doc: dict[str, Any], kube_version: str) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{kube_version}|{text}".encode()).hexdigest()[:32]


def schema_location(kube_version: str, cache: Path) -> str:
    """The `--schema-location` of kubesec and kubesecscan: the offline standalone schemas."""
    return str(standalone_schemas(kube_version, cache)) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"


def parse_reports(stdout: str, stderr: str, returncode: int, count: int) -> list[dict[str, Any]]:
    """The `count` JSON reports of a `kubesecscan` run, or EnvError saying what it printed instead."""
    try:
        results = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise EnvError(f"kubesecscan gave no JSON (exit {returncode}): {stderr.strip()[:200]}") from exc
    if not isinstance(results, list) or len(results) != count:
        raise EnvError(f"kubesecscan scored {len(results) if isinstance(results, list) else 0} of {count} "
                       "workloads; rebuild it with `tools/build.sh kubesecscan`")
    return results


class ScanRun:
    """One `kubesecscan` process: each document written to it is scored as it arrives; `reports` ends the input
    and reads the JSON report of every document, in order (what `kubesec scan` prints for each)."""

    def __init__(self, kube_version: str, cache: Path) -> None:
        args = [tool_path("kubesecscan"), "--schema-location", schema_location(kube_version, cache)]
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)
        except OSError as exc:
            raise EnvError(f"{args[0]}: cannot run ({exc.strerror}); fix the tool path") from exc
        self.count = 0

    def send(self, doc: dict[str, Any]) -> None:
        """Write one document (scored by the process while the caller goes on)."""
        assert self.proc.stdin is not None
        self.count += 1
        with contextlib.suppress(BrokenPipeError):  # it ended early: `reports` says what it printed
            self.proc.stdin.write(json.dumps(doc, default=str) + "\n")

    def reports(self) -> list[dict[str, Any]]:
        """Every document's report, in the order sent; EnvError when the run fails or times out."""
        try:
            out, err = self.proc.communicate(timeout=TIMEOUTS.kubesec)
        except subprocess.TimeoutExpired as exc:
            self.proc.kill()
            self.proc.communicate()
            raise EnvError(f"kubesecscan: timed out after {TIMEOUTS.kubesec:g}s") from exc
        return parse_reports(out, err, self.proc.returncode, self.count)


def scan_reports(docs: list[dict[str, Any]], kube_version: str, cache: Path) -> list[dict[str, Any]]:
    """`kubesec scan`'s JSON report of each document, in order, from one `kubesecscan` run (the run `Scoring`
    streams to)."""
    scan_run = ScanRun(kube_version, cache)
    for doc in docs:
        scan_run.send(doc)
    return scan_run.reports()


def score_of(result: dict[str, Any]) -> Score:
    """A kubesec report as the score and advice the kubesec-score rule reads (an object kubesec could not score:
    one item, id `invalid`, whose reason is kubesec's message)."""
    if result.get("valid") is False:
        return int(result.get("score", 0)), [{"id": "invalid", "selector": "", "points": 0, "critical": True,
                                               "reason": f"kubesec could not score it: {result.get('message', '')}"}]
    return int(result.get("score", 0)), advice_items(result)


def scan(docs: list[dict[str, Any]], kube_version: str, cache: Path) -> list[Score]:
    """The score and advice of every document, from one `kubesecscan` run."""
    return [score_of(r) for r in scan_reports(docs, kube_version, cache)] if docs else []


class Scoring:
    """The kubesec scores of objects that come in while renders are still being made: every new workload goes to
    one `ScanRun` at once, so kubesecscan starts, compiles its schemas and scores while the caller renders;
    `finish` reads the scores.

    Identical objects (the same workload in several scenarios) are scored once; scores are kept per object in
    `cache/kubesec/` (written atomically) and read from there instead of scored again.
    """

    def __init__(self, kube_version: str, cache: Path) -> None:
        self.kube_version = kube_version
        self.cache = cache
        self.known: dict[str, Score] = {}
        #: keys of the documents sent to the run, in the order sent
        self.sent: dict[str, None] = {}
        self.run: ScanRun | None = None

    def add(self, objects: list[dict[str, Any]]) -> list[str | None]:
        """Each object's key (None for kinds kubesec does not score); the scored ones not yet known or sent go
        to the run (started on the first one)."""
        keys: list[str | None] = []
        for obj in objects:
            doc = scored_doc(obj)
            key = _digest(doc, self.kube_version) if doc is not None else None
            keys.append(key)
            if doc is None or key is None or key in self.known or key in self.sent:
                continue
            hit = read_json(self.cache / "kubesec" / f"{key}.json")
            if hit is not None and all(isinstance(a, dict) for a in hit[1]):  # not advice cached as lines
                self.known[key] = (int(hit[0]), list(hit[1]))
                continue
            if self.run is None:
                self.run = ScanRun(self.kube_version, self.cache)
            self.sent[key] = None
            self.run.send(doc)
        return keys

    def finish(self) -> dict[str, Score]:
        """Every key's score (the run ended and its scores cached)."""
        if self.run is not None:
            scan_run, self.run = self.run, None
            for key, report in zip(self.sent, scan_run.reports(), strict=True):
                self.known[key] = score_of(report)
                write_json(self.cache / "kubesec" / f"{key}.json", self.known[key])
            self.sent = {}
        return self.known


def score_objects(objects: list[dict[str, Any]], kube_version: str, cache: Path) -> list[Score | None]:
    """The kubesec score of each object (None for kinds kubesec does not score), in order, from one
    `kubesecscan` run over the objects not scored before (see Scoring)."""
    scoring = Scoring(kube_version, cache)
    keys = scoring.add(objects)
    known = scoring.finish()
    return [known[k] if k else None for k in keys]


def ref(obj: dict[str, Any]) -> str:
    """An object's `Kind/name`."""
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def scores(objects: list[dict[str, Any]], kube_version: str, cache: Path) -> dict[str, Score]:
    """kubesec score and advice for each workload of one render, keyed by `Kind/name`."""
    return {ref(o): s for o, s in zip(objects, score_objects(objects, kube_version, cache), strict=True)
            if s is not None}
