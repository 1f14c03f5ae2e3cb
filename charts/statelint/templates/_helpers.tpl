{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "statelint.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: the release name, prefixed to the chart name unless it already holds it.
*/}}
{{- define "statelint.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "statelint.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "statelint.labels" -}}
helm.sh/chart: {{ include "statelint.chart" . }}
{{ include "statelint.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: admission-webhook
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the webhook pods (immutable in the Deployment selector). */}}
{{- define "statelint.selectorLabels" -}}
app.kubernetes.io/name: {{ include "statelint.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "statelint.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "statelint.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Secret holding tls.crt / tls.key (and ca.crt) for the HTTPS listener. */}}
{{- define "statelint.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "statelint.fullname" .)) .Values.tls.secretName }}
{{- end }}

{{- define "statelint.certificateName" -}}
{{- printf "%s-serving" (include "statelint.fullname" .) }}
{{- end }}

{{/* DNS names the API server uses to reach the Service. */}}
{{- define "statelint.dnsNames" -}}
{{- $svc := include "statelint.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain) | toJson }}
{{- end }}

{{/* Container image: repository:tag, or repository@digest when a digest is pinned. */}}
{{- define "statelint.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
namespaceSelector of both webhooks: the user's selector, plus the release namespace,
kube-system and `webhook.excludeNamespaces` always left out (the webhook must never block its
own pods or the control plane's).
*/}}
{{- define "statelint.namespaceSelector" -}}
{{- $sel := .Values.webhook.namespaceSelector | default dict -}}
{{- $excluded := concat (list .Release.Namespace "kube-system") (.Values.webhook.excludeNamespaces | default list) | uniq -}}
{{- with $sel.matchLabels }}
matchLabels:
  {{- toYaml . | nindent 2 }}
{{- end }}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      {{- toYaml $excluded | nindent 6 }}
{{- with $sel.matchExpressions }}
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
failurePolicy of the StatefulSet webhook: webhook.statefulsets.failurePolicy when set, else
Ignore in warn mode (a roll-out must not block StatefulSet writes while the webhook is not up)
and Fail in enforce mode.
*/}}
{{- define "statelint.statefulsetsFailurePolicy" -}}
{{- if .Values.webhook.statefulsets.failurePolicy -}}
{{- .Values.webhook.statefulsets.failurePolicy -}}
{{- else if eq .Values.mode "warn" -}}
Ignore
{{- else -}}
Fail
{{- end -}}
{{- end }}
