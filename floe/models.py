"""The contracts the platform hands over: `CompiledArtifacts`, `ClusterMapping` and `ResourcePreset`.

Strict pydantic v2 models: unknown fields and wrong types are rejected, and every error names its field path.
`floe schema` writes the JSON Schema generated from them (checked by regenerate-then-diff).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from floe.errors import FloeError

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
SEMVER = r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"
#: The environment placeholder of a namespace template (Go-template spelling, as in the chart's values).
ENV_PLACEHOLDER = re.compile(r"\{\{\s*\.environment\s*\}\}")

IMAGE_REPOSITORY = r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)+$"
Name = Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]
Quantity = Annotated[str, Field(pattern=QUANTITY, max_length=32)]


class Strict(BaseModel):
    """Base: unknown fields and type coercion are refused; instances are immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CamelStrict(Strict):
    """Strict, spelled in camelCase like the chart values it mirrors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, alias_generator=to_camel,
                              populate_by_name=True)


# -- compiled artifacts -------------------------------------------------------------------------------


class Metadata(Strict):
    """Which data product this is and where it was compiled from."""

    product_name: Name
    product_version: Annotated[str, Field(pattern=SEMVER)]
    compiled_at: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
    source_hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    owner: str = Field(default="", max_length=200)


class ResolvedPlugin(Strict):
    """A plugin the compiler resolved: its type (entry-point name), version and its own settings."""

    type: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,40}$")]
    version: Annotated[str, Field(pattern=SEMVER)]
    settings: dict[str, JsonValue] = Field(default_factory=dict)


class ResolvedPlugins(Strict):
    """The plugins of the data product; orchestrator and catalog contribute platform Helm values."""

    orchestrator: ResolvedPlugin
    catalog: ResolvedPlugin
    compute: ResolvedPlugin | None = None
    lineage: ResolvedPlugin | None = None


class Image(Strict):
    """A pinned container image."""

    repository: Annotated[str, Field(pattern=IMAGE_REPOSITORY)]
    tag: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]

    @field_validator("tag")
    @classmethod
    def _pinned(cls, tag: str) -> str:
        if tag == "latest":
            raise ValueError("tag 'latest' is not pinned; use a version tag")
        return tag


class Dbt(Strict):
    """The dbt project and profile the jobs run."""

    project_name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
    profile_name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
    target: str = Field(default="", max_length=63)
    project_dir: str = Field(default="/usr/app/dbt", pattern=r"^/.*")
    command: Literal["run", "build", "test", "seed"] = "build"
    args: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=20)
    image: Image
    profiles_yml: str = Field(min_length=1, max_length=20000)


class Schedule(Strict):
    """A scheduled run (the first enabled one becomes the floe-jobs CronJob)."""

    name: Name
    cron: str = Field(pattern=r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$")
    timezone: str = Field(default="Etc/UTC", max_length=64)
    enabled: bool = True


class EnvironmentOverrides(Strict):
    """Per-environment Helm values overrides for each chart (merged last; an explicit null deletes a key)."""

    platform: dict[str, JsonValue] = Field(default_factory=dict)
    jobs: dict[str, JsonValue] = Field(default_factory=dict)


class CompiledArtifacts(Strict):
    """What `floe compile` produces and `floe helm generate` / `floe deploy` consume."""

    schema_version: Literal["1.0"]
    metadata: Metadata
    plugins: ResolvedPlugins
    dbt: Dbt
    schedules: list[Schedule] = Field(default_factory=list, max_length=50)
    environments: dict[Name, EnvironmentOverrides] = Field(default_factory=dict)


# -- cluster mapping ----------------------------------------------------------------------------------


class Quota(CamelStrict):
    """ResourceQuota hard limits of an environment's namespace."""

    requests_cpu: Quantity
    requests_memory: Quantity
    limits_cpu: Quantity
    limits_memory: Quantity
    pods: Annotated[int, Field(ge=1, le=10000)]
    persistent_volume_claims: Annotated[int, Field(ge=0, le=1000)]


class LimitDefaults(CamelStrict):
    """LimitRange container defaults of an environment's namespace."""

    default_cpu: Quantity
    default_memory: Quantity
    default_request_cpu: Quantity
    default_request_memory: Quantity


class ResourcePreset(CamelStrict):
    """Namespace sizing: the quota and the container defaults."""

    quota: Quota
    limit_range: LimitDefaults


class ClusterResources(CamelStrict):
    """Which preset a physical cluster's namespaces get."""

    preset: Name


class PhysicalCluster(CamelStrict):
    """One physical cluster and the logical environments it hosts."""

    cluster: Name
    environments: list[Name] = Field(min_length=1)
    namespace_template: str = Field(min_length=1, max_length=63)
    resources: ClusterResources
    #: The kubeconfig context `floe deploy` uses for this cluster (empty: the cluster name).
    kube_context: str = Field(default="", max_length=253)

    @field_validator("namespace_template")
    @classmethod
    def _namespace(cls, template: str) -> str:
        if not re.fullmatch(DNS_LABEL, ENV_PLACEHOLDER.sub("x", template)):
            raise ValueError("must give a DNS label once '{{ .environment }}' is replaced, "
                             "e.g. 'floe-{{ .environment }}'")
        return template


class EnvironmentTarget(BaseModel):
    """Where one logical environment goes: cluster, kube context, namespace and preset."""

    model_config = ConfigDict(frozen=True)

    environment: str
    group: str
    cluster: str
    kube_context: str
    namespace: str
    preset_name: str
    preset: ResourcePreset


class ClusterMapping(CamelStrict):
    """ADR-0042: logical environments mapped onto physical clusters, with the presets they use."""

    cluster_mapping: dict[Name, PhysicalCluster] = Field(min_length=1)
    resource_presets: dict[Name, ResourcePreset] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ClusterMapping:
        seen: dict[str, str] = {}
        for group, entry in self.cluster_mapping.items():
            if entry.resources.preset not in self.resource_presets:
                raise ValueError(f"clusterMapping.{group}.resources.preset: {entry.resources.preset!r} is not in "
                                 f"resourcePresets ({', '.join(self.resource_presets)})")
            for env in entry.environments:
                if env in seen:
                    raise ValueError(f"clusterMapping.{group}.environments: {env!r} is also mapped to {seen[env]!r}; "
                                     "map each environment to one cluster")
                seen[env] = group
        return self

    def environments(self) -> list[str]:
        """Every logical environment the mapping declares, in declaration order."""
        return [env for entry in self.cluster_mapping.values() for env in entry.environments]

    def target(self, env: str) -> EnvironmentTarget:
        """The cluster, context, namespace and preset of `env`; FloeError naming the known ones if unmapped."""
        for group, entry in self.cluster_mapping.items():
            if env in entry.environments:
                return EnvironmentTarget(
                    environment=env, group=group, cluster=entry.cluster,
                    kube_context=entry.kube_context or entry.cluster,
                    namespace=ENV_PLACEHOLDER.sub(env, entry.namespace_template),
                    preset_name=entry.resources.preset, preset=self.resource_presets[entry.resources.preset])
        raise FloeError(f"--env {env}: unknown environment; the cluster mapping declares "
                        f"{', '.join(self.environments())}")

    def chart_values(self) -> dict[str, Any]:
        """The mapping as the floe-platform chart's `clusterMapping`/`resourcePresets` values (no kube contexts)."""
        data = self.model_dump(by_alias=True, mode="json")
        for entry in data["clusterMapping"].values():
            entry.pop("kubeContext", None)
        return data


# -- loading ------------------------------------------------------------------------------------------


def error_line(source: str, exc: ValidationError) -> str:
    """One line for the first validation error: file, field path, problem and fix."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        fix = "remove it (unknown field)"
    elif kind == "missing":
        fix = "add it (required)"
    else:
        got = err.get("input")
        shown = json.dumps(got)[:60] if isinstance(got, str | int | float | bool) or got is None else type(got).__name__
        fix = f"{err['msg'].rstrip('.')}, got {shown}"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{source}: {loc}: {fix}{more}"


def parse_artifacts(data: bytes, source: str) -> CompiledArtifacts:
    """Validate compiled artifacts JSON; FloeError naming the file, the field and the fix."""
    try:
        return CompiledArtifacts.model_validate_json(data)
    except ValidationError as exc:
        raise FloeError(error_line(source, exc)) from exc


def parse_cluster_mapping(data: Any, source: str) -> ClusterMapping:
    """Validate a cluster mapping (parsed YAML); FloeError naming the file, the field and the fix."""
    try:
        # YAML has no strict JSON types to round-trip; validate it in JSON mode so strings stay strings.
        return ClusterMapping.model_validate_json(json.dumps(data))
    except ValidationError as exc:
        raise FloeError(error_line(source, exc)) from exc


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the compiled artifacts and the cluster mapping, generated from the models."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "floe contracts",
        "$defs": {
            "CompiledArtifacts": CompiledArtifacts.model_json_schema(),
            "ClusterMapping": ClusterMapping.model_json_schema(by_alias=True),
        },
    }


def schema_text() -> str:
    """The generated schema file's text (stable: sorted keys, trailing newline)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


#: Where the generated schema is committed.
SCHEMA_PATH = Path(__file__).resolve().parent / "contracts.schema.json"
