{{/*
Naming, labels and shared pod fragments. Selector labels are the stable subset (name, instance,
component); version, chart and environment labels are added everywhere else.
*/}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "floe-platform.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified release name, at most 40 characters so that component suffixes fit in 63. */}}
{{- define "floe-platform.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version for the helm.sh/chart label. */}}
{{- define "floe-platform.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of one component's objects: (dict "ctx" $ "component" "polaris"). */}}
{{- define "floe-platform.componentName" -}}
{{- printf "%s-%s" (include "floe-platform.fullname" .ctx) .component | trunc 52 | trimSuffix "-" }}
{{- end }}

{{/* Stable selector labels of one component: (dict "ctx" $ "component" "polaris"). */}}
{{- define "floe-platform.selectorLabels" -}}
app.kubernetes.io/name: {{ include "floe-platform.name" .ctx | quote }}
app.kubernetes.io/instance: {{ .ctx.Release.Name | quote }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Full label set of every object: (dict "ctx" $ "component" "polaris"). */}}
{{- define "floe-platform.labels" -}}
{{ include "floe-platform.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: floe
helm.sh/chart: {{ include "floe-platform.chart" .ctx }}
floe.dev/environment: {{ .ctx.Values.global.environment }}
{{- end }}

{{/* ServiceAccount of the Dagster webserver, daemon and run pods. */}}
{{- define "floe-platform.serviceAccountName" -}}
{{- if .Values.dagster.serviceAccount.create }}
{{- default (include "floe-platform.componentName" (dict "ctx" . "component" "dagster")) .Values.dagster.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.dagster.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* ServiceAccount of the components that never call the Kubernetes API. */}}
{{- define "floe-platform.workloadServiceAccountName" -}}
{{- include "floe-platform.componentName" (dict "ctx" . "component" "workload") }}
{{- end }}

{{/* image reference from an image values block. */}}
{{- define "floe-platform.image" -}}
{{- printf "%s:%s" .repository .tag }}
{{- end }}

{{/* Pod-level securityContext (PSS restricted). */}}
{{- define "floe-platform.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.global.podSecurityContext.runAsUser | int64 }}
runAsGroup: {{ .Values.global.podSecurityContext.runAsGroup | int64 }}
fsGroup: {{ .Values.global.podSecurityContext.fsGroup | int64 }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level securityContext (PSS restricted, read-only root filesystem). */}}
{{- define "floe-platform.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ .Values.global.podSecurityContext.runAsUser | int64 }}
runAsGroup: {{ .Values.global.podSecurityContext.runAsGroup | int64 }}
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Pod spec fields shared by every pod: pull secrets, tolerations, security context. */}}
{{- define "floe-platform.podCommon" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . | quote }}
{{- end }}
{{- end }}
{{- with .Values.global.tolerations }}
tolerations:
{{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
{{- include "floe-platform.podSecurityContext" . | nindent 2 }}
{{- end }}

{{/* Probe timings: (dict "ctx" $ "startup" bool "liveness" bool); liveness tolerates more failures than readiness. */}}
{{- define "floe-platform.probeTimings" -}}
periodSeconds: {{ .ctx.Values.global.probes.periodSeconds }}
timeoutSeconds: {{ .ctx.Values.global.probes.timeoutSeconds }}
failureThreshold: {{ if .startup }}{{ .ctx.Values.global.probes.startupFailureThreshold }}{{ else if .liveness }}{{ .ctx.Values.global.probes.livenessFailureThreshold }}{{ else }}{{ .ctx.Values.global.probes.failureThreshold }}{{ end }}
{{- end }}

{{/* Deployment strategy shared by every stateless Deployment. */}}
{{- define "floe-platform.rollingUpdate" -}}
type: RollingUpdate
rollingUpdate:
  maxSurge: {{ .Values.global.rollingUpdate.maxSurge }}
  maxUnavailable: {{ .Values.global.rollingUpdate.maxUnavailable }}
{{- end }}

{{/* PostgreSQL connection: host, port, secret and keys, whether built-in or external. */}}
{{- define "floe-platform.postgresql.host" -}}
{{- if .Values.postgresql.enabled }}
{{- include "floe-platform.componentName" (dict "ctx" . "component" "postgresql") }}
{{- else }}
{{- .Values.postgresql.external.host }}
{{- end }}
{{- end }}

{{- define "floe-platform.postgresql.port" -}}
{{- if .Values.postgresql.enabled }}5432{{ else }}{{ .Values.postgresql.external.port }}{{ end }}
{{- end }}

{{- define "floe-platform.postgresql.secretName" -}}
{{- if .Values.postgresql.enabled }}
{{- default (include "floe-platform.componentName" (dict "ctx" . "component" "postgresql")) .Values.postgresql.auth.existingSecret }}
{{- else }}
{{- .Values.postgresql.external.secretName }}
{{- end }}
{{- end }}

{{- define "floe-platform.postgresql.usernameKey" -}}
{{- if .Values.postgresql.enabled }}username{{ else }}{{ .Values.postgresql.external.usernameKey }}{{ end }}
{{- end }}

{{- define "floe-platform.postgresql.passwordKey" -}}
{{- if .Values.postgresql.enabled }}password{{ else }}{{ .Values.postgresql.external.passwordKey }}{{ end }}
{{- end }}

{{- define "floe-platform.postgresql.sslMode" -}}
{{- if .Values.postgresql.enabled }}disable{{ else }}{{ .Values.postgresql.external.sslMode }}{{ end }}
{{- end }}

{{/* Environment variables with the PostgreSQL credentials: (dict "ctx" $ "prefix" "PG"). */}}
{{- define "floe-platform.postgresql.credentialEnv" -}}
- name: {{ .prefix }}_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ include "floe-platform.postgresql.secretName" .ctx | quote }}
      key: {{ include "floe-platform.postgresql.usernameKey" .ctx | quote }}
- name: {{ .prefix }}_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "floe-platform.postgresql.secretName" .ctx | quote }}
      key: {{ include "floe-platform.postgresql.passwordKey" .ctx | quote }}
{{- end }}

{{/* Init container that waits until PostgreSQL accepts connections: (dict "ctx" $ "database" "dagster"). */}}
{{- define "floe-platform.waitForPostgresql" -}}
- name: wait-for-postgresql
  image: {{ include "floe-platform.image" .ctx.Values.postgresql.image }}
  imagePullPolicy: {{ .ctx.Values.postgresql.image.pullPolicy }}
  command:
    - /bin/sh
    - -c
    - |
      deadline=$(( $(date +%s) + {{ .ctx.Values.dagster.waitForPostgresql.timeoutSeconds }} ))
      until pg_isready -h "$PGHOST" -p "$PGPORT" -d "$PGDATABASE" -t 5; do
        if [ "$(date +%s)" -ge "$deadline" ]; then echo "PostgreSQL at $PGHOST:$PGPORT not ready" >&2; exit 1; fi
        echo "waiting for PostgreSQL at $PGHOST:$PGPORT"; sleep 2
      done
  env:
    - name: PGHOST
      value: {{ include "floe-platform.postgresql.host" .ctx | quote }}
    - name: PGPORT
      value: {{ include "floe-platform.postgresql.port" .ctx | quote }}
    - name: PGDATABASE
      value: {{ .database | quote }}
  resources:
    {{- toYaml .ctx.Values.postgresql.initResources | nindent 4 }}
  securityContext:
    {{- include "floe-platform.containerSecurityContext" .ctx | nindent 4 }}
{{- end }}

{{/*
Value of a generated secret key, kept across upgrades: an explicit value wins, then the key of the
Secret already in the cluster (lookup is empty under `helm template`), then a new random string.
Args: (dict "ctx" $ "name" secretName "key" key "value" explicitValue "length" 32). Returns base64.
*/}}
{{- define "floe-platform.secretValue" -}}
{{- if .value }}
{{- .value | b64enc }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .name }}
{{- if and $existing $existing.data (hasKey $existing.data .key) }}
{{- index $existing.data .key }}
{{- else }}
{{- randAlphaNum (int .length) | b64enc }}
{{- end }}
{{- end }}
{{- end }}

{{/* Resource preset (small or large) of the cluster hosting global.environment; small if none does. */}}
{{- define "floe-platform.preset" -}}
{{- $preset := "small" }}
{{- range $cluster := list (index .Values.clusterMapping "non-prod") .Values.clusterMapping.prod }}
{{- if has $.Values.global.environment $cluster.environments }}
{{- $preset = $cluster.resources.preset }}
{{- end }}
{{- end }}
{{- $preset }}
{{- end }}

{{/* Physical cluster entry hosting global.environment, as YAML (empty if none). */}}
{{- define "floe-platform.clusterEntry" -}}
{{- $found := dict }}
{{- range $cluster := list (index .Values.clusterMapping "non-prod") .Values.clusterMapping.prod }}
{{- if and (not $found) (has $.Values.global.environment $cluster.environments) }}
{{- $found = $cluster }}
{{- end }}
{{- end }}
{{- if $found }}{{ toYaml $found }}{{ end }}
{{- end }}

{{/* Namespace expected for global.environment from the cluster mapping (empty if unmapped). */}}
{{- define "floe-platform.expectedNamespace" -}}
{{- $entry := include "floe-platform.clusterEntry" . | fromYaml }}
{{- if $entry }}
{{- $entry.namespaceTemplate | replace "{{ .environment }}" .Values.global.environment }}
{{- end }}
{{- end }}
