"""Rules that tiers report from a flow rather than from one object: render failures, fuzz properties, cluster
and e2e checks. Registered here so `conformance rules`, waivers and profiles see every rule ID."""

from __future__ import annotations

from conformance.rules.base import reported_rule

RENDERS = reported_rule("renders", "render", "render", "The chart renders with `helm template` in every scenario.")
FUZZ_RENDERS = reported_rule("fuzz-renders", "fuzz", "fuzz", "Every value the schema accepts renders.")
FUZZ_CONFORMANT = reported_rule(
    "fuzz-conformant", "fuzz", "fuzz",
    "Every render of schema-valid values passes the render rules (check = rule/check).",
)
FUZZ_REJECTS = reported_rule(
    "fuzz-rejects-invalid", "fuzz", "fuzz", "Values the schema rejects are rejected by Helm before rendering."
)
FUZZ_DETERMINISTIC = reported_rule(
    "fuzz-deterministic", "fuzz", "fuzz", "The same values render the same manifests twice (no randomness leaks out)."
)
FUZZ_QUOTING = reported_rule(
    "fuzz-quoting", "fuzz", "fuzz", "Strings with YAML syntax in them (`: `, `#`, control characters) render as "
    "valid YAML; opt-in with --fuzz-yaml-strings.", severity="warning",
)
CLUSTER_INSTALL = reported_rule(
    "cluster-install", "cluster", "cluster", "`helm install` succeeds and every workload is rolled out and ready."
)
CLUSTER_POD_SECURITY = reported_rule(
    "cluster-pod-security", "cluster", "cluster", "PodSecurity admission (restricted) rejects no pod of the release."
)
CLUSTER_UPGRADE = reported_rule(
    "cluster-upgrade", "cluster", "cluster",
    "The previous release upgrades to this one with `helm upgrade` and every workload is ready again.",
)
CLUSTER_SECRETS = reported_rule(
    "cluster-secrets-stable", "cluster", "cluster", "An upgrade keeps every generated Secret unchanged."
)
CLUSTER_HELM_TEST = reported_rule("cluster-helm-test", "cluster", "cluster", "The chart's `helm test` hooks pass.")
CLUSTER_ROLLBACK = reported_rule(
    "cluster-rollback", "cluster", "cluster", "`helm rollback` to revision 1 ends in a deployed release."
)
SC001 = reported_rule("sc-001-deploy-time", "cluster", "cluster", "The release deploys within SC-001 (10 minutes).")
SC002 = reported_rule("sc-002-job-launch", "e2e", "e2e", "Every Job and CronJob launches a pod within SC-002 (30 s).")
E2E_JOB_COMPLETE = reported_rule("e2e-job-complete", "e2e", "e2e", "Every launched Job runs to completion.")
E2E_JOB_OUTPUT = reported_rule(
    "e2e-job-output", "e2e", "e2e",
    "A Job's log shows the success line its chart's Kind prerequisites expect (e.g. dbt's `Completed successfully`).",
)
E2E_JOB_RESULT = reported_rule(
    "e2e-job-result", "e2e", "e2e",
    "What a Job wrote can be read back (e.g. the table dbt built, queried with `psql`).",
)
CLUSTER_UPGRADE_BREAKING = reported_rule(
    "cluster-upgrade-breaking", "cluster", "cluster",
    "A release SemVer marks as breaking (major bump, or minor bump below 1.0) fails to upgrade from the previous "
    "one: the README and NOTES must say how to cross it.", severity="warning",
)
TIMING_BUDGET = reported_rule(
    "timing-budget", "cluster", "cluster",
    "Every timing (SC-001, SC-002, upgrade, rollback, cluster start) is within its budget (--budget-* options).",
)
