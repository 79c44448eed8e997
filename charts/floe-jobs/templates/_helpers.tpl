{{/* Chart name, overridable with nameOverride. */}}
{{- define "floe-jobs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified release name, at most 40 characters so that suffixes fit in 63. */}}
{{- define "floe-jobs.fullname" -}}
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
{{- define "floe-jobs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Stable selector labels: (dict "ctx" $ "component" "dbt-run"). */}}
{{- define "floe-jobs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "floe-jobs.name" .ctx | quote }}
app.kubernetes.io/instance: {{ .ctx.Release.Name | quote }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Full label set of every object: (dict "ctx" $ "component" "dbt-run"). */}}
{{- define "floe-jobs.labels" -}}
{{ include "floe-jobs.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: floe
helm.sh/chart: {{ include "floe-jobs.chart" .ctx }}
floe.dev/environment: {{ .ctx.Values.global.environment }}
{{- end }}

{{/* ServiceAccount of the dbt pods. */}}
{{- define "floe-jobs.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "floe-jobs.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the artifacts ConfigMap. */}}
{{- define "floe-jobs.artifactsConfigMap" -}}
{{- default (printf "%s-artifacts" (include "floe-jobs.fullname" .)) .Values.artifacts.existingConfigMap }}
{{- end }}

{{/* Pod-level securityContext (PSS restricted). */}}
{{- define "floe-jobs.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.global.podSecurityContext.runAsUser | int64 }}
runAsGroup: {{ .Values.global.podSecurityContext.runAsGroup | int64 }}
fsGroup: {{ .Values.global.podSecurityContext.fsGroup | int64 }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level securityContext (PSS restricted, read-only root filesystem). */}}
{{- define "floe-jobs.containerSecurityContext" -}}
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

{{/* Suffix that makes a platform Service name resolvable from this namespace. */}}
{{- define "floe-jobs.platformDomain" -}}
{{- with .Values.platform.namespace }}.{{ . }}.svc{{ end }}
{{- end }}

{{/* OTLP endpoint of the platform's collector (or the override). */}}
{{- define "floe-jobs.otelEndpoint" -}}
{{- default (printf "http://%s-otel-collector%s:4317" .Values.platform.fullname (include "floe-jobs.platformDomain" .)) .Values.platform.otel.endpoint }}
{{- end }}

{{/* OpenLineage URL of the platform's Marquez (or the override). */}}
{{- define "floe-jobs.openlineageUrl" -}}
{{- default (printf "http://%s-marquez%s:5000" .Values.platform.fullname (include "floe-jobs.platformDomain" .)) .Values.platform.openlineage.url }}
{{- end }}

{{/* Pod spec of a dbt run: (dict "ctx" $ "component" "dbt-run"). */}}
{{- define "floe-jobs.podSpec" -}}
{{- $v := .ctx.Values -}}
restartPolicy: Never
serviceAccountName: {{ include "floe-jobs.serviceAccountName" .ctx | quote }}
automountServiceAccountToken: false
{{- with $v.global.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . | quote }}
{{- end }}
{{- end }}
securityContext:
  {{- include "floe-jobs.podSecurityContext" .ctx | nindent 2 }}
containers:
  - name: dbt
    image: "{{ $v.image.repository }}:{{ $v.image.tag }}"
    imagePullPolicy: {{ $v.image.pullPolicy }}
    workingDir: {{ $v.dbt.projectDir }}
    command:
      - dbt
    args:
      - {{ $v.dbt.command }}
      - --project-dir
      - {{ $v.dbt.projectDir }}
      - --profiles-dir
      - /opt/floe/artifacts
      - --target-path
      - /tmp/dbt/target
      - --log-path
      - /tmp/dbt/logs
      {{- with $v.dbt.target }}
      - --target
      - {{ . | quote }}
      {{- end }}
      {{- range $v.dbt.args }}
      - {{ . | quote }}
      {{- end }}
    env:
      - name: HOME
        value: /tmp
      - name: DBT_PROFILES_DIR
        value: /opt/floe/artifacts
      - name: FLOE_COMPILED_ARTIFACTS
        value: /opt/floe/artifacts/compiled_artifacts.json
      - name: FLOE_ENVIRONMENT
        value: {{ $v.global.environment }}
      {{- if $v.platform.otel.enabled }}
      - name: OTEL_EXPORTER_OTLP_ENDPOINT
        value: {{ include "floe-jobs.otelEndpoint" .ctx | quote }}
      - name: OTEL_SERVICE_NAME
        value: {{ include "floe-jobs.fullname" .ctx | quote }}
      - name: OTEL_RESOURCE_ATTRIBUTES
        value: "deployment.environment={{ $v.global.environment }},service.namespace=floe"
      {{- end }}
      {{- if $v.platform.openlineage.enabled }}
      - name: OPENLINEAGE_URL
        value: {{ include "floe-jobs.openlineageUrl" .ctx | quote }}
      - name: OPENLINEAGE_NAMESPACE
        value: {{ $v.platform.openlineage.namespace | quote }}
      {{- end }}
      {{- range $v.credentials.secretEnv }}
      - name: {{ .name | quote }}
        valueFrom:
          secretKeyRef:
            name: {{ .secretName | quote }}
            key: {{ .key | quote }}
      {{- end }}
    {{- with $v.credentials.envFromSecrets }}
    envFrom:
      {{- range . }}
      - secretRef:
          name: {{ . | quote }}
      {{- end }}
    {{- end }}
    resources:
      {{- toYaml $v.resources | nindent 6 }}
    securityContext:
      {{- include "floe-jobs.containerSecurityContext" .ctx | nindent 6 }}
    volumeMounts:
      - name: artifacts
        mountPath: /opt/floe/artifacts
        readOnly: true
      - name: tmp
        mountPath: /tmp
      {{- range $i, $f := $v.credentials.secretFiles }}
      - name: secret-{{ $i }}
        mountPath: {{ $f.mountPath }}
        readOnly: true
      {{- end }}
volumes:
  - name: artifacts
    configMap:
      name: {{ include "floe-jobs.artifactsConfigMap" .ctx | quote }}
  - name: tmp
    emptyDir:
      sizeLimit: 2Gi
  {{- range $i, $f := $v.credentials.secretFiles }}
  - name: secret-{{ $i }}
    secret:
      secretName: {{ $f.secretName | quote }}
  {{- end }}
{{- end }}
