{{- define "carbon-kube.name" -}}carbon-kube{{- end -}}

{{- define "carbon-kube.fullname" -}}
{{- if contains "carbon-kube" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-carbon-kube" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "carbon-kube.labels" -}}
app.kubernetes.io/name: carbon-kube
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "carbon-kube.selector" -}}
app.kubernetes.io/name: carbon-kube
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* An image reference: repository@digest when a digest is given, else repository:tag (the
chart's appVersion by default, which is what `make image` tags). Call with (list image root). */}}
{{- define "carbon-kube.imageRef" -}}
{{- $image := index . 0 -}}
{{- $root := index . 1 -}}
{{- if $image.digest -}}
{{ $image.repository }}@{{ $image.digest }}
{{- else -}}
{{ $image.repository }}:{{ $image.tag | default $root.Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "carbon-kube.image" -}}
{{ include "carbon-kube.imageRef" (list .Values.image .) }}
{{- end -}}

{{/* Planning options shared by the webhook (plans at admission). */}}
{{- define "carbon-kube.planningArgs" -}}
- --home-zone={{ .Values.zones.home }}
- --policy={{ .Values.policy }}
- --threshold-g-per-kwh={{ .Values.threshold.gramsPerKWh }}
- --forecast={{ .Values.forecast }}
{{- end -}}

{{/* True when api.provider is a live API (polled by the controller, published to the rest). */}}
{{- define "carbon-kube.liveSignal" -}}
{{- if has .Values.api.provider (list "electricitymaps" "ukcarbon" "watttime" "entsoe") }}true{{ end }}
{{- end -}}

{{/* The controller's signal: api.provider on its URL, behind a cache in the pod's /tmp
emptyDir. With a live provider the leader polls it for the home and allowed zones and publishes
each zone's signal as a ConfigMap in the release namespace. */}}
{{- define "carbon-kube.signalArgs" -}}
{{- if and (eq .Values.forecast "oracle") (ne .Values.api.provider "embedded") }}
{{- fail "forecast: oracle reads a replayed source's future; a live api.provider has none (use forecast: provider or persistence)" }}
{{- end }}
- --source={{ .Values.api.provider }}
{{- if include "carbon-kube.liveSignal" . }}
- --cache=/tmp/carbon-kube/intensity.sqlite
{{- end }}
{{- with .Values.api.urls }}
{{- with .electricityMaps }}
- --electricitymaps-url={{ . }}
{{- end }}
{{- with .wattTime }}
- --watttime-url={{ . }}
{{- end }}
{{- with .ukCarbon }}
- --ukcarbon-url={{ . }}
{{- end }}
{{- with .entsoe }}
- --entsoe-url={{ . }}
{{- end }}
{{- end }}
{{- if include "carbon-kube.liveSignal" . }}
- --publish-zones={{ join "," (prepend .Values.zones.allowed .Values.zones.home | uniq) }}
- --signal-namespace={{ .Release.Namespace }}
- --signal-interval={{ .Values.api.poll.interval }}
- --signal-model={{ .Values.api.poll.model }}
- --signal-weather={{ .Values.api.poll.weather }}
{{- with .Values.api.urls.openMeteoForecast }}
- --openmeteo-forecast-url={{ . }}
{{- end }}
{{- with .Values.api.urls.openMeteoArchive }}
- --openmeteo-archive-url={{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The webhook's and extender's signal: with a live provider, what the controller publishes
(no API call, no API key in these pods); otherwise the same offline source. */}}
{{- define "carbon-kube.plannerSignalArgs" -}}
{{- if include "carbon-kube.liveSignal" . }}
- --source=published
- --signal-namespace={{ .Release.Namespace }}
{{- else }}
- --source={{ .Values.api.provider }}
{{- end }}
{{- end -}}

{{/* The region -> grid-zone overrides; the controller, the webhook (allowed-zones node affinity)
and the extender must read nodes' regions the same way. */}}
{{- define "carbon-kube.regionArgs" -}}
{{- range $region, $zone := .Values.zones.regionOverrides }}
- --region-zone={{ $region }}={{ $zone }}
{{- end }}
{{- end -}}

{{/* What only the planners (webhook; the controller spells them --replan-*) take. */}}
{{- define "carbon-kube.riskArgs" -}}
{{- if and .Values.rl.enabled (ne .Values.policy "threshold") }}
{{- fail "rl.enabled tunes the threshold policy: set policy: threshold, or rl.enabled: false" }}
{{- end }}
- --latency-risk={{ .Values.threshold.latencyRisk }}
{{- if .Values.rl.enabled }}
- --adaptive-threshold
{{- end }}
{{- end -}}

{{/* API keys from the user's Secret; every key optional so one provider suffices. */}}
{{- define "carbon-kube.apiEnv" -}}
{{- if .Values.api.existingSecret }}
{{- range $env, $key := dict "ELECTRICITYMAPS_API_TOKEN" .Values.api.keys.electricityMapsToken "WATTTIME_USERNAME" .Values.api.keys.wattTimeUsername "WATTTIME_PASSWORD" .Values.api.keys.wattTimePassword "ENTSOE_API_TOKEN" .Values.api.keys.entsoeToken }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.api.existingSecret }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end }}
{{- end -}}

{{- define "carbon-kube.podCommon" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
automountServiceAccountToken: true
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Pod annotations; pass (dict "root" $ "port" N "scheme" "https") to be scraped. */}}
{{- define "carbon-kube.podAnnotations" -}}
{{- $root := .root -}}
checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
{{- if and .port $root.Values.prometheus.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/scheme: {{ .scheme | default "http" }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}

{{/*
Webhook entries for Pods, Jobs, SparkApplications and FlinkDeployments on CREATE: one for
objects that opt in with their own label (``<path>``) and one for objects in opted-in
namespaces (``<path>/namespace``), as the webhook server routes them.
*/}}
{{- define "carbon-kube.webhookEntries" -}}
{{- $root := .root -}}
{{- $excluded := append $root.Values.webhook.excludedNamespaces $root.Release.Namespace -}}
{{- range $scope := list "object" "namespace" }}
- name: {{ $scope }}.{{ $.kind }}.carbon-kube.io
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: {{ $root.Values.webhook.failurePolicy }}
  timeoutSeconds: {{ $root.Values.webhook.timeoutSeconds }}
  {{- if eq $.kind "mutate" }}
  reinvocationPolicy: Never
  {{- end }}
  clientConfig:
    service:
      name: {{ $.service }}
      namespace: {{ $root.Release.Namespace }}
      path: /{{ $.kind }}{{ if eq $scope "namespace" }}/namespace{{ end }}
      port: 443
    {{- if $.caBundle }}
    caBundle: {{ $.caBundle }}
    {{- end }}
  {{- if eq $scope "object" }}
  namespaceSelector:
    matchExpressions:
      - {key: kubernetes.io/metadata.name, operator: NotIn, values: {{ toJson $excluded }}}
  objectSelector:
    matchLabels: {carbon-kube.io/flexible: "true"}
  {{- else }}
  namespaceSelector:
    matchExpressions:
      - {key: kubernetes.io/metadata.name, operator: NotIn, values: {{ toJson $excluded }}}
      - {key: carbon-kube.io/flexible, operator: In, values: ["true"]}
  objectSelector:
    matchExpressions:
      - {key: carbon-kube.io/flexible, operator: NotIn, values: ["true"]}
  {{- end }}
  rules:
    - {apiGroups: [""], apiVersions: [v1], resources: [pods], operations: [CREATE]}
    - {apiGroups: [batch], apiVersions: [v1], resources: [jobs], operations: [CREATE]}
    - {apiGroups: [sparkoperator.k8s.io], apiVersions: [v1beta2], resources: [sparkapplications], operations: [CREATE]}
    - {apiGroups: [flink.apache.org], apiVersions: [v1beta1], resources: [flinkdeployments], operations: [CREATE]}
{{- end }}
{{- end -}}
