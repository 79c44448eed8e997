"""`floe helm generate`: contracts, Helm merge semantics, schema validation, stable output, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance import REPO_ROOT
from floe.artifacts import load_artifacts
from floe.errors import FloeError
from floe.generate import JOBS, PLATFORM, chart_dir, default_cluster_mapping, generate
from floe.models import SCHEMA_PATH, CompiledArtifacts, parse_cluster_mapping, schema_text

SAMPLE = REPO_ROOT / "fixtures" / "artifacts" / "compiled_artifacts.json"
ENVS = ("dev", "qa", "uat", "staging", "prod")
HELM = str(REPO_ROOT / ".tools" / "bin" / "helm")


def floe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "floe.cli", *args], capture_output=True, text=True, timeout=120,
                          env=env, check=False, cwd=REPO_ROOT)


def sample() -> dict:
    return json.loads(SAMPLE.read_text())


def with_changes(tmp_path: Path, change: dict) -> str:
    """The sample artifact with `change` applied by Helm's own merge rules, written to a file."""
    from conformance.values import merge_values  # noqa: PLC0415

    path = tmp_path / "artifact.json"
    path.write_text(json.dumps(merge_values(sample(), change)))
    return str(path)


# -- contracts --------------------------------------------------------------------------------------------


def test_sample_artifact_is_valid() -> None:
    a = CompiledArtifacts.model_validate_json(SAMPLE.read_bytes())
    assert a.plugins.orchestrator.type == "dagster" and a.plugins.catalog.type == "polaris"


@pytest.mark.parametrize(("change", "message"), [
    ({"metadata": {"colour": "blue"}}, "metadata.colour: remove it (unknown field)"),
    ({"metadata": {"product_version": 2}}, "metadata.product_version: Input should be a valid string, got 2"),
    ({"dbt": {"image": {"tag": "latest"}}}, "dbt.image.tag: Value error, tag 'latest' is not pinned"),
    ({"schema_version": "0.9"}, "schema_version: Input should be '1.0'"),
    ({"dbt": {"profile_name": None}}, "dbt.profile_name: add it (required)"),
])
def test_artifact_errors_name_the_field(change: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(FloeError, match="^" + str(tmp_path).replace(".", r"\.") + r"/artifact\.json: ") as exc:
        load_artifacts(with_changes(tmp_path, change))
    assert message in str(exc.value)


def test_committed_schema_is_regenerated() -> None:
    assert SCHEMA_PATH.read_text() == schema_text(), "stale: run `floe schema`"
    assert floe("schema", "--check").returncode == 0


def test_schema_rejects_what_the_models_reject() -> None:
    import jsonschema  # noqa: PLC0415

    schema = json.loads(SCHEMA_PATH.read_text())
    artifacts = {**schema["$defs"]["CompiledArtifacts"], "$defs": schema["$defs"]["CompiledArtifacts"].get("$defs", {})}
    jsonschema.validate(sample(), artifacts)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**sample(), "extra": 1}, artifacts)


def test_default_mapping_is_adr_0042() -> None:
    m = default_cluster_mapping()
    groups = {m.target(e).cluster for e in ENVS}
    assert groups == {"aks-shared-nonprod", "aks-shared-prod"}
    assert m.target("prod").namespace == "floe-prod" and m.target("qa").namespace == "floe-qa"
    assert m.target("prod").preset_name == "large" and m.target("dev").preset_name == "small"


def test_mapping_refuses_an_environment_on_two_clusters() -> None:
    data = default_cluster_mapping().model_dump(by_alias=True, mode="json")
    data["clusterMapping"]["prod"]["environments"] = ["prod", "qa"]
    with pytest.raises(FloeError, match="'qa' is also mapped to 'non-prod'"):
        parse_cluster_mapping(data, "m.yaml")


# -- merge semantics ----------------------------------------------------------------------------------------


def gen(path: str, env: str = "dev", chart: str = PLATFORM) -> dict:
    return generate(load_artifacts(path), env, default_cluster_mapping(), chart_dir(chart)).values


def test_maps_merge_lists_replace_null_deletes(tmp_path: Path) -> None:
    defaults = yaml.safe_load((chart_dir(PLATFORM) / "values.yaml").read_text())
    path = with_changes(tmp_path, {"environments": {"dev": {"platform": {
        "dagster": {"dagsterWebserver": {"resources": {"limits": {"cpu": "750m"}}}},   # map: merge one key
        "networkPolicy": {"externalEgress": {"ports": [8443]}},                         # list: replaced whole
    }}}})
    values = gen(path)
    web = values["dagster"]["dagsterWebserver"]["resources"]
    default = defaults["dagster"]["dagsterWebserver"]["resources"]
    assert web["limits"] == {"cpu": "750m", "memory": default["limits"]["memory"]}
    assert web["requests"] == default["requests"]
    assert values["networkPolicy"]["externalEgress"]["ports"] == [8443]


def test_null_deletes_a_key(tmp_path: Path) -> None:
    # Every key of the bundled charts' schemas is required, so deletion is shown on a copy without a schema.
    chart = tmp_path / "chart"
    shutil.copytree(chart_dir(PLATFORM), chart, ignore=shutil.ignore_patterns("values.schema.json"))
    path = with_changes(tmp_path, {"environments": {"dev": {"platform": {"global": {"tolerations": None}}}}})
    values = generate(load_artifacts(path), "dev", default_cluster_mapping(), chart).values
    assert "tolerations" not in values["global"] and "imagePullSecrets" in values["global"]


def test_layers_in_order(tmp_path: Path) -> None:
    values = gen(str(SAMPLE), "staging")
    assert values["polaris"]["realm"] == "FLOE"                                   # plugin layer
    assert values["dagster"]["workspace"]["servers"][0]["name"] == "customer_360"  # plugin list replaces []
    assert values["dagster"]["dagsterWebserver"]["replicaCount"] == 2              # env override over plugin's 1
    assert values["global"]["environment"] == "staging"                           # cluster mapping last
    jobs = gen(str(SAMPLE), "prod", JOBS)
    assert jobs["cronJob"] == {**jobs["cronJob"], "enabled": True, "schedule": "0 2 * * *"}
    assert jobs["resources"]["limits"]["cpu"] == "2" and jobs["platform"]["namespace"] == "floe-prod"
    assert json.loads(jobs["artifacts"]["compiledArtifacts"]) == sample()


def test_schema_rejection_is_one_line(tmp_path: Path) -> None:
    path = with_changes(tmp_path, {"environments": {"dev": {"platform": {"dagster": {"dagsterWebserver": {
        "replicaCount": 0}}}}}})
    out = floe("helm", "generate", "--artifact", path, "--env", "dev")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "values.schema.json rejects the generated values at dagster.dagsterWebserver.replicaCount" in out.stderr


def test_null_deleting_a_required_key_is_caught(tmp_path: Path) -> None:
    path = with_changes(tmp_path, {"environments": {"dev": {"jobs": {"image": {"tag": None}}}}})
    with pytest.raises(FloeError, match=r"rejects the generated values at image: 'tag' is a required property"):
        gen(path, chart=JOBS)


# -- the CLI --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_each_environment_renders_with_helm(env: str, tmp_path: Path) -> None:
    out = tmp_path / f"values-{env}.yaml"
    assert floe("helm", "generate", "--artifact", str(SAMPLE), "--env", env, "-o", str(out)).returncode == 0
    text = out.read_text()
    digest = load_artifacts(str(SAMPLE)).digest
    assert text.startswith("# Generated by `floe helm generate` for chart floe-platform")
    assert f"# digest: {digest}\n" in text and f"# environment: {env} (" in text
    body = yaml.safe_load(text)
    assert yaml.safe_dump(body, sort_keys=True) == yaml.safe_dump(body, sort_keys=False)  # keys sorted
    rendered = subprocess.run([HELM, "template", "floe", str(chart_dir(PLATFORM)), "-f", str(out),
                               "--kube-version", "1.35.0"], capture_output=True, text=True, timeout=120, check=False)
    assert rendered.returncode == 0, rendered.stderr
    assert f"floe.dev/environment: {env}" in rendered.stdout


def test_output_is_stable(tmp_path: Path) -> None:
    first = floe("helm", "generate", "--artifact", str(SAMPLE), "--env", "uat", "--chart", "floe-jobs")
    second = floe("helm", "generate", "--artifact", str(SAMPLE), "--env", "uat", "--chart", "floe-jobs")
    assert first.returncode == 0 and first.stdout == second.stdout


@pytest.mark.parametrize(("args", "needle"), [
    (["--artifact", "fixtures/artifacts/nope.json", "--env", "dev"], "fixtures/artifacts/nope.json: cannot read"),
    (["--artifact", str(SAMPLE), "--env", "perf"], "--env perf: unknown environment; the cluster mapping declares "
                                                    "dev, test, qa, uat, staging, prod"),
    (["--artifact", "README.md", "--env", "dev"], "README.md: (top level): Invalid JSON"),
    (["--artifact", str(SAMPLE), "--env", "dev", "--chart", "nochart"], "--chart nochart: no Chart.yaml"),
])
def test_bad_input_exit_2_one_line(args: list[str], needle: str) -> None:
    out = floe("helm", "generate", *args)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and needle in out.stderr
    assert out.stdout == ""


def test_unknown_plugin_names_field_and_choices(tmp_path: Path) -> None:
    path = with_changes(tmp_path, {"plugins": {"catalog": {"type": "hive"}}})
    with pytest.raises(FloeError, match=r"plugins\.catalog\.type: no catalog plugin 'hive' is installed; use one "
                                        r"of polaris"):
        gen(path)


def test_plugin_settings_are_strict(tmp_path: Path) -> None:
    path = with_changes(tmp_path, {"plugins": {"orchestrator": {"settings": {"webserver_replica": 2}}}})
    with pytest.raises(FloeError, match=r"plugins\.orchestrator\.settings\.webserver_replica: remove it"):
        gen(path)


def test_helm_lint_and_template_with_generated_values() -> None:
    lint = floe("helm", "lint", "--artifact", str(SAMPLE), "--env", "prod")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    tpl = floe("helm", "template", "--artifact", str(SAMPLE), "--env", "qa", "--chart", "floe-jobs")
    assert tpl.returncode == 0, tpl.stderr
    docs = [d for d in yaml.safe_load_all(tpl.stdout) if d]
    assert {d["kind"] for d in docs} >= {"Job", "CronJob", "ConfigMap"}
    assert all(d["metadata"].get("namespace", "floe-qa") == "floe-qa" for d in docs)
