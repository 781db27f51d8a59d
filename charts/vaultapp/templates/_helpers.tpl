{{/*
The hook's name: the app.kubernetes.io/name label, which every selector matches, and the
object names' prefix. Defaults match what metacontroller/ (kustomize) installs, so that
either install can replace the other. The release name is not part of them: a cluster has
one VaultApp controller (Metacontroller runs one per parent resource), so there is no
second release to tell apart.
*/}}
{{- define "vaultapp.name" -}}
{{ .Values.nameOverride | default "vaultapp-hook" }}
{{- end }}

{{- define "vaultapp.fullname" -}}
{{ .Values.fullnameOverride | default (include "vaultapp.name" .) }}
{{- end }}

{{/*
What the Deployment, Service, NetworkPolicy, PodDisruptionBudget, topology spread and
ServiceMonitor select: the name only, as metacontroller/ does. A Deployment's selector cannot
change after creation, so labels that change on upgrade (version, chart) stay out of it.
*/}}
{{- define "vaultapp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vaultapp.name" . }}
{{- end }}

{{/* The version label: the version of the hook that runs (the image tag), not of the chart. */}}
{{- define "vaultapp.version" -}}
{{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The standard labels of every templated object (and the hook's pod template), called with
(dict "root" $ "component" "hook"). name, component and part-of are metacontroller/'s
too; instance, version, managed-by and helm.sh/chart are Helm's own.
*/}}
{{- define "vaultapp.labels" -}}
{{ include "vaultapp.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: vaultapp
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ include "vaultapp.version" .root | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The hook's URL as Metacontroller calls it: the Service in the release namespace. */}}
{{- define "vaultapp.hookURL" -}}
{{ .Values.tls.enabled | ternary "https" "http" }}://{{ include "vaultapp.fullname" . }}.{{ .Release.Namespace }}
{{- end }}

{{/* An image reference from {repository, tag, digest}; call with (list $image $defaultTag). */}}
{{- define "vaultapp.imageRef" -}}
{{- $image := index . 0 -}}
{{- $tag := $image.tag | default (index . 1) -}}
{{ $image.repository }}{{ with $tag }}:{{ . }}{{ end }}{{ with $image.digest }}@{{ . }}{{ end }}
{{- end }}

{{- define "vaultapp.image" -}}
{{ include "vaultapp.imageRef" (list .Values.image .Chart.AppVersion) }}
{{- end }}

{{/* The ServiceAccount the token policy and the RBAC binding name. */}}
{{- define "vaultapp.hookUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "vaultapp.fullname" . }}
{{- end }}

{{/* Refusals of combinations the hook would refuse at start-up, said at install time instead. */}}
{{- define "vaultapp.checks" -}}
{{- if and (eq .Values.identity.mode "controller") (empty .Values.identity.allowedRoles) -}}
{{- fail (print "identity.mode=controller needs identity.allowedRoles (namespace: [Vault roles]): "
  "any team that can create a VaultApp could otherwise name any role bound to the hook") -}}
{{- end -}}
{{- if and (eq .Values.hookAuth.mode "none") (not .Values.networkPolicy.enabled) -}}
{{- fail (print "hookAuth.mode=none leaves the NetworkPolicy as the only guard of /sync and /finalize: "
  "set networkPolicy.enabled=true") -}}
{{- end -}}
{{- end }}
