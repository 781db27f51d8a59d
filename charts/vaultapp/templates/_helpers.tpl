{{/*
Labels Helm users expect on every object. Selectors keep app.kubernetes.io/name only:
they must match what metacontroller/ (kustomize) installs, so that either install can
replace the other, and a Deployment's selector cannot change after creation.
*/}}
{{- define "vaultapp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: vaultapp
{{- end }}

{{/* The hook's own label: what the Service, NetworkPolicy and ServiceMonitor select. */}}
{{- define "vaultapp.hookLabels" -}}
app.kubernetes.io/name: vaultapp-hook
{{- end }}

{{/* The hook's URL as Metacontroller calls it: the Service in the release namespace. */}}
{{- define "vaultapp.hookURL" -}}
{{ .Values.tls.enabled | ternary "https" "http" }}://vaultapp-hook.{{ .Release.Namespace }}
{{- end }}

{{- define "vaultapp.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}:{{ $tag }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end }}

{{/* The ServiceAccount the token policy and the RBAC binding name. */}}
{{- define "vaultapp.hookUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:vaultapp-hook
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
