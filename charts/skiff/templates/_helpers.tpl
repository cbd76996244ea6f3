{{/* The prefix of every object's name: fullnameOverride, else the
release's name when it contains the chart's, else <release>-<chart>.
Short enough that etcd members' names stay valid DNS labels. */}}
{{- define "skiff.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 30 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 30 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 30 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "skiff.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: skiff
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "etcd"). */}}
{{- define "skiff.selectorLabels" -}}
app.kubernetes.io/name: {{ default .root.Chart.Name .root.Values.nameOverride }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of one component's objects. */}}
{{- define "skiff.componentLabels" -}}
{{ include "skiff.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "skiff.image" -}}
{{ printf "%s:%s" .repository .tag | quote }}
{{- end -}}

{{/* The etcd headless Service, which names the members. */}}
{{- define "skiff.etcdService" -}}
{{ include "skiff.fullname" . }}-etcd
{{- end -}}

{{/* A member's DNS name: (dict "root" $ "i" 0). */}}
{{- define "skiff.etcdMember" -}}
{{- $svc := include "skiff.etcdService" .root -}}
{{ printf "%s-%d.%s.%s.svc" $svc (int .i) $svc .root.Release.Namespace }}
{{- end -}}

{{/* --etcd-servers: every member's client URL. */}}
{{- define "skiff.etcdServers" -}}
{{- $urls := list -}}
{{- range $i := until (int .Values.etcd.replicas) -}}
{{- $urls = append $urls (printf "https://%s:2379" (include "skiff.etcdMember" (dict "root" $ "i" $i))) -}}
{{- end -}}
{{ join "," $urls }}
{{- end -}}

{{/* --initial-cluster: every member's name and peer URL. */}}
{{- define "skiff.etcdInitialCluster" -}}
{{- $members := list -}}
{{- range $i := until (int .Values.etcd.replicas) -}}
{{- $members = append $members (printf "%s-%d=https://%s:2380" (include "skiff.etcdService" $) $i (include "skiff.etcdMember" (dict "root" $ "i" $i))) -}}
{{- end -}}
{{ join "," $members }}
{{- end -}}

{{/* The apiserver Service's URL inside the hosting cluster. */}}
{{- define "skiff.apiserverURL" -}}
{{ printf "https://%s-apiserver.%s.svc:%d" (include "skiff.fullname" .) .Release.Namespace (int .Values.apiserver.service.port) }}
{{- end -}}

{{/* The extra names of the apiserver's serving certificate. */}}
{{- define "skiff.apiserverHosts" -}}
{{- $hosts := .Values.apiserver.extraSANs -}}
{{- with .Values.apiserver.service.loadBalancerIP }}{{ $hosts = append $hosts . }}{{ end -}}
{{- with .Values.apiserver.externalURL }}{{ $hosts = append $hosts (regexReplaceAll "^https://(\\[([^\\]]+)\\]|([^:/]+))(:[0-9]+)?$" . "${2}${3}") }}{{ end -}}
{{ $hosts | uniq | join "," }}
{{- end -}}

{{/* Keeps a component's replicas on different nodes, as "spread" says:
(dict "root" $ "component" "apiserver"). */}}
{{- define "skiff.affinity" -}}
podAntiAffinity:
{{- if eq .root.Values.spread "hard" }}
  requiredDuringSchedulingIgnoredDuringExecution:
  - topologyKey: kubernetes.io/hostname
    labelSelector:
      matchLabels:
        {{- include "skiff.selectorLabels" . | nindent 8 }}
{{- else }}
  preferredDuringSchedulingIgnoredDuringExecution:
  - weight: 100
    podAffinityTerm:
      topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "skiff.selectorLabels" . | nindent 10 }}
{{- end }}
{{- end -}}

{{/* The pod-level security context: no root, the runtime's seccomp
profile; fsGroup makes volumes writable for the user. */}}
{{- define "skiff.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The container-level security context: nothing gained, nothing kept. */}}
{{- define "skiff.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* The environment every component gets. */}}
{{- define "skiff.env" -}}
{{- with .Values.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* A kubeconfig Secret's volume: (dict "root" $ "name" "scheduler"). */}}
{{- define "skiff.kubeconfigVolume" -}}
- name: kubeconfig
  secret:
    secretName: {{ include "skiff.fullname" .root }}-{{ .name }}-kubeconfig
    defaultMode: 0440
{{- end -}}

{{/* The controller-manager's own flags, as docker-compose.yaml gives them. */}}
{{- define "skiff.controllerManagerArgs" -}}
- --use-service-account-credentials
{{- with .Values.controllerManager.clusterCIDR }}
- --allocate-node-cidrs
- --cluster-cidr={{ . }}
{{- end }}
- --root-ca-file=/etc/skiff/ca/ca.crt
- --cluster-signing-cert-file=/etc/skiff/ca/ca.crt
- --cluster-signing-key-file=/etc/skiff/ca/ca.key
{{- end -}}
