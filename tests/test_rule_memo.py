"""Pure speed-ups inside the rules give the verdicts of the plain computation: the k8s-schema validator's memo of
valid `$ref` subtrees never hides an error in a subtree it has seen valid before."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema

from conformance import REPO_ROOT
from conformance.chart import load_chart
from conformance.render.helm_cli import render
from conformance.rules import k8s_schema
from conformance.rules.base import pod_containers


def _errors(validator: Any, obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = validator.iter_errors(obj)
    return sorted(("/".join(map(str, e.absolute_path)), e.message, str(e.validator)) for e in found)


def test_k8s_schema_memo_reports_what_a_plain_validator_reports() -> None:
    """Every object of floe-platform's default render, then each with an unknown field and a wrong type deep in
    a container (whose siblings and whose own valid form the memo has seen): the same errors, twice."""
    chart = load_chart(REPO_ROOT / "charts" / "floe-platform")
    version = k8s_schema.schema_version_for("1.35")
    assert version is not None
    objects = [m.obj for m in render(chart, chart.scenarios[0], "1.35.0").manifests]
    broken = []
    for obj in objects:
        changed = copy.deepcopy(obj)
        for container, _, _ in pod_containers(changed):
            container["bogusField"] = True
            container["ports"] = [{"containerPort": "http"}]
        if changed != obj:
            broken.append(changed)
    assert broken
    checked = 0
    for obj in [*objects, *broken, *objects, *broken]:
        memo = k8s_schema.validator_for(version, obj["kind"], obj["apiVersion"])
        if memo is None:
            continue
        plain = jsonschema.Draft202012Validator(memo.schema, registry=k8s_schema.registry(version, memo.schema))
        assert _errors(memo, obj) == _errors(plain, obj), obj["kind"]
        checked += 1
    assert all(_errors(k8s_schema.validator_for(version, o["kind"], o["apiVersion"]), o) for o in broken)
    assert checked > len(objects)
