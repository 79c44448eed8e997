{{/* HorizontalPodAutoscaler of a Deployment: (dict "ctx" $ "component" c "autoscaling" values). */}}
{{- define "floe-platform.hpa" }}
{{- $name := include "floe-platform.componentName" (dict "ctx" .ctx "component" .component) }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "floe-platform.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $name }}
  minReplicas: {{ .autoscaling.minReplicas }}
  maxReplicas: {{ max .autoscaling.minReplicas .autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .autoscaling.targetCPUUtilizationPercentage }}
{{- end }}

{{/* PodDisruptionBudget of a workload: (dict "ctx" $ "component" c "pdb" values "replicas" n "autoscaling" values),
     rendered when enabled and the workload can run more than one replica (one replica needs none, and a PDB
     over a single pod only blocks node drains). */}}
{{- define "floe-platform.pdb" }}
{{- $auto := default (dict) .autoscaling }}
{{- $most := int .replicas }}
{{- if $auto.enabled }}{{ $most = max (int $auto.minReplicas) (int $auto.maxReplicas) }}{{ end }}
{{- if and .pdb.enabled (gt $most 1) }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "floe-platform.componentName" (dict "ctx" .ctx "component" .component) }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "floe-platform.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
spec:
  maxUnavailable: {{ .pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "floe-platform.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 6 }}
{{- end }}
{{- end }}
