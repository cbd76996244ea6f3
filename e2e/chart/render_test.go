package chart

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"

	"sigs.k8s.io/yaml"

	"skiff.dev/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

var allValues = filepath.Join("testdata", "all-values.yaml")

// TestLint: helm lint --strict finds nothing, with the default values
// and with every value set.
func TestLint(t *testing.T) {
	for name, args := range map[string][]string{"defaults": nil, "every value": {"-f", allValues}} {
		t.Run(name, func(t *testing.T) {
			out, err := helm(t, "", append([]string{"lint", "--strict", chartDir()}, args...)...)
			if err != nil || !strings.Contains(out, "0 chart(s) failed") || strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ERROR]") {
				t.Fatalf("helm lint --strict: %v\n%s", err, out)
			}
		})
	}
}

// workloads are the rendered Deployments and StatefulSets by name, with
// their pod templates.
func workloads(t *testing.T, objs []object) map[string]corev1.PodTemplateSpec {
	out := map[string]corev1.PodTemplateSpec{}
	for n, d := range decode[appsv1.Deployment](t, objs, "Deployment") {
		out[n] = d.Spec.Template
	}
	for n, s := range decode[appsv1.StatefulSet](t, objs, "StatefulSet") {
		out[n] = s.Spec.Template
	}
	return out
}

// TestRenderDefaults: the default values give the HA control plane the
// chart promises: 3 etcd members and 3 apiservers, 2 of each other
// component, every one spread over nodes, probed, with resources, as no
// root, behind a PodDisruptionBudget, and upgrades that take one member
// away at a time.
func TestRenderDefaults(t *testing.T) {
	objs := objects(t, render(t))
	sts := decode[appsv1.StatefulSet](t, objs, "StatefulSet")["hosted-skiff-etcd"]
	if sts == nil {
		t.Fatal("no StatefulSet hosted-skiff-etcd")
	}
	if *sts.Spec.Replicas != 3 || sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement || sts.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		t.Errorf("etcd: %d replicas, %s, %s; want 3, Parallel, RollingUpdate", *sts.Spec.Replicas, sts.Spec.PodManagementPolicy, sts.Spec.UpdateStrategy.Type)
	}
	if len(sts.Spec.VolumeClaimTemplates) != 1 || sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String() != "2Gi" {
		t.Errorf("etcd: want one 2Gi claim template, got %+v", sts.Spec.VolumeClaimTemplates)
	}
	args := strings.Join(sts.Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"--client-cert-auth", "--peer-client-cert-auth",
		"--initial-cluster=hosted-skiff-etcd-0=https://hosted-skiff-etcd-0.hosted-skiff-etcd.hosting.svc:2380,hosted-skiff-etcd-1=https://hosted-skiff-etcd-1.hosted-skiff-etcd.hosting.svc:2380,hosted-skiff-etcd-2=https://hosted-skiff-etcd-2.hosted-skiff-etcd.hosting.svc:2380"} {
		if !strings.Contains(args, want) {
			t.Errorf("etcd args lack %s: %s", want, args)
		}
	}
	svc := decode[corev1.Service](t, objs, "Service")
	if h := svc["hosted-skiff-etcd"]; h == nil || h.Spec.ClusterIP != "None" || !h.Spec.PublishNotReadyAddresses {
		t.Errorf("etcd Service: want headless, publishing not-ready members: %+v", h)
	}
	if a := svc["hosted-skiff-apiserver"]; a == nil || a.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("apiserver Service: want a LoadBalancer: %+v", a)
	}

	deps := decode[appsv1.Deployment](t, objs, "Deployment")
	replicas := map[string]int32{"hosted-skiff-apiserver": 3, "hosted-skiff-scheduler": 2, "hosted-skiff-controller-manager": 2, "hosted-skiff-cloud-controller": 2}
	if got := slices.Sorted(maps.Keys(deps)); !slices.Equal(got, slices.Sorted(maps.Keys(replicas))) {
		t.Fatalf("Deployments %v, want %v", got, slices.Sorted(maps.Keys(replicas)))
	}
	for name, want := range replicas {
		d := deps[name]
		ru := d.Spec.Strategy.RollingUpdate
		if *d.Spec.Replicas != want || ru == nil || ru.MaxUnavailable.IntValue() != 0 || ru.MaxSurge.IntValue() != 1 {
			t.Errorf("%s: %d replicas, rolling update %+v; want %d, maxUnavailable 0, maxSurge 1", name, *d.Spec.Replicas, ru, want)
		}
	}

	pdbs := decode[policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget")
	for name, tmpl := range workloads(t, objs) {
		t.Run(name, func(t *testing.T) { checkPodTemplate(t, name, tmpl, pdbs[name], false) })
	}
}

// checkPodTemplate: the workload's pods keep away from each other, each
// container is probed and has requests and limits, nothing runs as
// root, and a PodDisruptionBudget of at most one down selects them.
func checkPodTemplate(t *testing.T, name string, tmpl corev1.PodTemplateSpec, pdb *policyv1.PodDisruptionBudget, hard bool) {
	t.Helper()
	anti := tmpl.Spec.Affinity
	if anti == nil || anti.PodAntiAffinity == nil {
		t.Fatalf("%s: no pod anti-affinity", name)
	}
	var term corev1.PodAffinityTerm
	if hard {
		if len(anti.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 {
			t.Fatalf("%s: want one required anti-affinity term: %+v", name, anti.PodAntiAffinity)
		}
		term = anti.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0]
	} else {
		if len(anti.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
			t.Fatalf("%s: want one preferred anti-affinity term: %+v", name, anti.PodAntiAffinity)
		}
		term = anti.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
	}
	if term.TopologyKey != "kubernetes.io/hostname" || !subset(term.LabelSelector.MatchLabels, tmpl.Labels) {
		t.Errorf("%s: anti-affinity %+v does not keep the pods on different nodes", name, term)
	}
	if tmpl.Spec.SecurityContext == nil || tmpl.Spec.SecurityContext.RunAsNonRoot == nil || !*tmpl.Spec.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: may run as root", name)
	}
	for _, c := range tmpl.Spec.Containers {
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			t.Errorf("%s/%s: readiness %v, liveness %v: want both probes", name, c.Name, c.ReadinessProbe != nil, c.LivenessProbe != nil)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s/%s: resources %+v: want CPU and memory requests and a memory limit", name, c.Name, c.Resources)
		}
		if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s/%s: want no privilege escalation and a read-only root", name, c.Name)
		}
	}
	if pdb == nil {
		t.Fatalf("%s: no PodDisruptionBudget", name)
	}
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() < 1 || !subset(pdb.Spec.Selector.MatchLabels, tmpl.Labels) {
		t.Errorf("%s: PodDisruptionBudget %+v does not select the pods with a maxUnavailable", name, pdb.Spec)
	}
}

func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

// TestRenderEveryValue: each value reaches the objects it is about.
func TestRenderEveryValue(t *testing.T) {
	objs := objects(t, render(t, "-f", allValues))
	sts := decode[appsv1.StatefulSet](t, objs, "StatefulSet")["skiff-hosted-etcd"]
	if sts == nil {
		t.Fatal("no StatefulSet skiff-hosted-etcd (fullnameOverride)")
	}
	if *sts.Spec.Replicas != 5 || len(sts.Spec.VolumeClaimTemplates) != 0 || !slices.ContainsFunc(sts.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == "data" && v.EmptyDir != nil }) {
		t.Errorf("etcd: want 5 members on emptyDir, got %d replicas, %d claim templates", *sts.Spec.Replicas, len(sts.Spec.VolumeClaimTemplates))
	}
	if c := sts.Spec.Template.Spec.Containers[0]; c.Image != "registry.example/skiff/etcd:1.1" || c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("etcd image %s %s", c.Image, c.ImagePullPolicy)
	}
	a := decode[corev1.Service](t, objs, "Service")["skiff-hosted-apiserver"]
	if a.Spec.Type != corev1.ServiceTypeNodePort || a.Spec.Ports[0].Port != 443 || a.Spec.Ports[0].NodePort != 30443 {
		t.Errorf("apiserver Service: %s %+v, want NodePort 443 on 30443", a.Spec.Type, a.Spec.Ports)
	}
	deps := decode[appsv1.Deployment](t, objs, "Deployment")
	api := deps["skiff-hosted-apiserver"].Spec.Template.Spec.Containers[0]
	for _, want := range []string{"--service-cluster-ip-range=10.100.0.0/16", "--profiling=false", "--default-watch-cache-size=4000"} {
		if !slices.Contains(api.Args, want) {
			t.Errorf("apiserver args lack %s: %v", want, api.Args)
		}
	}
	if !slices.ContainsFunc(api.Env, func(e corev1.EnvVar) bool {
		return e.Name == "OTEL_EXPORTER_OTLP_ENDPOINT" && e.Value == "http://collector:4317"
	}) {
		t.Errorf("apiserver env lacks the OTLP endpoint: %v", api.Env)
	}
	cm := deps["skiff-hosted-controller-manager"].Spec.Template.Spec.Containers[0].Args
	if slices.Contains(cm, "--allocate-node-cidrs") || !slices.Contains(cm, "--concurrent-deployment-syncs=10") {
		t.Errorf("controller-manager args %v: want no node CIDRs (clusterCIDR empty) and the extra flag", cm)
	}
	cfg := decode[corev1.ConfigMap](t, objs, "ConfigMap")["skiff-hosted-cloud-config"]
	if cfg == nil || !strings.Contains(cfg.Data["cloud-config.yaml"], "10.89.0.220-10.89.0.230") || !strings.Contains(cfg.Data["cloud-config.yaml"], "zone: hosted-a") {
		t.Errorf("cloud config: %+v", cfg)
	}
	jobs := decode[batchv1.Job](t, objs, "Job")
	gen := jobs["skiff-hosted-pki-generate"]
	if gen == nil {
		t.Fatal("no Job skiff-hosted-pki-generate")
	}
	genArgs := gen.Spec.Template.Spec.Containers[0].Args
	for _, want := range []string{"--etcd-replicas=5", "--cluster-domain=cluster.example", "--admin-server=https://skiff.example.org:30443",
		"--apiserver-hosts=skiff.example.org,10.89.0.72,10.89.0.210", "--server=https://skiff-hosted-apiserver.hosting.svc:443"} {
		if !slices.Contains(genArgs, want) {
			t.Errorf("PKI Job args lack %s: %v", want, genArgs)
		}
	}
	pdbs := decode[policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget")
	for name, tmpl := range workloads(t, objs) {
		t.Run(name, func(t *testing.T) { checkPodTemplate(t, name, tmpl, pdbs[name], true) })
	}
}

// TestRenderHooks: the PKI Jobs and their RBAC exist only with
// pki.generate, run before install and upgrade (generate) and after
// delete, and the Role lets them create Secrets and touch only the
// chart's; the join Job and the test Pod always run.
func TestRenderHooks(t *testing.T) {
	hooks := func(objs []object) map[string]string {
		out := map[string]string{}
		for _, o := range objs {
			var m struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal(o.JSON, &m); err != nil {
				t.Fatal(err)
			}
			if h := m.Metadata.Annotations["helm.sh/hook"]; h != "" {
				out[o.Kind+"/"+o.Name] = h
			}
		}
		return out
	}
	got := hooks(objects(t, render(t)))
	want := map[string]string{
		"ServiceAccount/hosted-skiff-pki":     "pre-install,pre-upgrade,post-delete",
		"Role/hosted-skiff-pki":               "pre-install,pre-upgrade,post-delete",
		"RoleBinding/hosted-skiff-pki":        "pre-install,pre-upgrade,post-delete",
		"Job/hosted-skiff-pki-generate":       "pre-install,pre-upgrade",
		"Job/hosted-skiff-pki-delete":         "post-delete",
		"Job/hosted-skiff-join":               "post-install,post-upgrade",
		"Pod/hosted-skiff-test-control-plane": "test",
	}
	if !maps.Equal(got, want) {
		t.Errorf("hooks %v\nwant %v", got, want)
	}
	got = hooks(objects(t, render(t, "--set", "pki.generate=false")))
	if _, ok := got["Job/hosted-skiff-pki-generate"]; ok || len(got) != 2 {
		t.Errorf("with pki.generate=false: hooks %v, want the join Job and the test Pod only", got)
	}
}
