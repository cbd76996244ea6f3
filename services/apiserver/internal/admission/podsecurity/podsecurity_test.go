package podsecurity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/warning"
)

var (
	podsRes        = &registry.Resource{Version: "v1", Plural: "pods", Kind: "Pod", Namespaced: true}
	namespacesRes  = &registry.Resource{Version: "v1", Plural: "namespaces", Kind: "Namespace"}
	deploymentsRes = &registry.Resource{Group: "apps", Version: "v1", Plural: "deployments", Kind: "Deployment", Namespaced: true}
)

// namespaces is a namespaces backend that can only get.
type namespaces struct {
	registry.Backend
	labels map[string]map[string]string
}

func (n namespaces) Get(_ context.Context, _, name string, _ registry.GetOptions) (proto.Message, error) {
	l, ok := n.labels[name]
	if !ok {
		return nil, apierrors.NewNotFound(apierrors.Resource{Resource: "namespaces"}, name)
	}
	return &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: name, Labels: l}}, nil
}

// pods is a pods backend that can only list.
type pods struct {
	registry.Backend
	items []*corev1.Pod
	err   error
}

func (p pods) List(context.Context, string, registry.ListOptions) (proto.Message, error) {
	return &corev1.PodList{Items: p.items}, p.err
}

func newTestPlugin(t *testing.T, ns map[string]map[string]string, existing pods) *plugin {
	t.Helper()
	p, err := newPlugin(namespaces{labels: ns}, existing)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// compliant is a pod the restricted level admits.
func compliant() *corev1.Pod {
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: &corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: proto.Bool(true),
			SeccompProfile: &corev1.SeccompProfile{Type: "RuntimeDefault"}},
		Containers: []*corev1.Container{{Name: "c", Image: "registry.skiff.local/toolbox:1.0",
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: proto.Bool(false),
				Capabilities: &corev1.Capabilities{Drop: []string{"ALL"}}}}},
	}}
}

func with(change func(*corev1.PodSpec)) *corev1.Pod {
	p := compliant()
	change(p.Spec)
	return p
}

func TestPodChecks(t *testing.T) {
	enforce := func(level string) map[string]string {
		return map[string]string{"pod-security.kubernetes.io/enforce": level}
	}
	tests := []struct {
		name   string
		labels map[string]string
		pod    *corev1.Pod
		want   string // the refusal, "" when admitted
	}{
		{"compliant, restricted", enforce("restricted"), compliant(), ""},
		{"no labels: privileged", nil, with(func(s *corev1.PodSpec) {
			s.HostNetwork = proto.Bool(true)
			s.Containers[0].SecurityContext.Privileged = proto.Bool(true)
		}), ""},
		{"privileged, restricted", enforce("restricted"), with(func(s *corev1.PodSpec) {
			s.Containers[0].SecurityContext.Privileged = proto.Bool(true)
		}), `pods "p" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true)`},
		{"privileged, baseline", enforce("baseline"), with(func(s *corev1.PodSpec) {
			s.Containers[0].SecurityContext.Privileged = proto.Bool(true)
		}), `pods "p" is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)`},
		{"host network", enforce("baseline"), with(func(s *corev1.PodSpec) { s.HostNetwork = proto.Bool(true) }),
			`pods "p" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)`},
		{"host path", enforce("baseline"), with(func(s *corev1.PodSpec) {
			s.Volumes = []*corev1.Volume{{Name: "root", VolumeSource: &corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		}), `pods "p" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "root")`},
		{"added capability, baseline", enforce("baseline"), with(func(s *corev1.PodSpec) {
			s.Containers[0].SecurityContext.Capabilities.Add = []string{"SYS_ADMIN"}
		}), `pods "p" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "c" must not include "SYS_ADMIN" in securityContext.capabilities.add)`},
		{"root allowed by baseline", enforce("baseline"), with(func(s *corev1.PodSpec) {
			s.SecurityContext.RunAsNonRoot = nil
			s.Containers[0].SecurityContext = nil
			s.SecurityContext.SeccompProfile = nil
		}), ""},
		{"runAsNonRoot", enforce("restricted"), with(func(s *corev1.PodSpec) { s.SecurityContext.RunAsNonRoot = nil }),
			`pods "p" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)`},
		{"capabilities not dropped", enforce("restricted"), with(func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Capabilities = nil }),
			`pods "p" is forbidden: violates PodSecurity "restricted:latest": unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"])`},
		{"seccomp unset", enforce("restricted"), with(func(s *corev1.PodSpec) { s.SecurityContext.SeccompProfile = nil }),
			`pods "p" is forbidden: violates PodSecurity "restricted:latest": seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`},
		{"seccomp unconfined", enforce("baseline"), with(func(s *corev1.PodSpec) { s.SecurityContext.SeccompProfile.Type = "Unconfined" }),
			`pods "p" is forbidden: violates PodSecurity "baseline:latest": seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")`},
		{"privilege escalation", enforce("restricted"), with(func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil }),
			`pods "p" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)`},
		{"everything at once", enforce("restricted"), &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"}, Spec: &corev1.PodSpec{
			HostPid: proto.Bool(true), Containers: []*corev1.Container{{Name: "c", Image: "i",
				SecurityContext: &corev1.SecurityContext{Privileged: proto.Bool(true)}}}}},
			`pods "p" is forbidden: violates PodSecurity "restricted:latest": host namespaces (hostPID=true), privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`},
		{"init container", enforce("baseline"), with(func(s *corev1.PodSpec) {
			s.InitContainers = []*corev1.Container{{Name: "setup", Image: "i", SecurityContext: &corev1.SecurityContext{Privileged: proto.Bool(true)}}}
		}), `pods "p" is forbidden: violates PodSecurity "baseline:latest": privileged (container "setup" must not set securityContext.privileged=true)`},
		{"an old version", map[string]string{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "v1.22"},
			with(func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Privileged = proto.Bool(true) }),
			`pods "p" is forbidden: violates PodSecurity "restricted:v1.22": privileged (container "c" must not set securityContext.privileged=true)`},
		{"a bad level enforces restricted", enforce("strict"), with(func(s *corev1.PodSpec) { s.SecurityContext.RunAsNonRoot = nil }),
			`pods "p" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPlugin(t, map[string]map[string]string{"ns": tt.labels}, pods{})
			ctx, rec := warning.NewContext(context.Background())
			err := p.validate(ctx, &registry.Write{Operation: registry.OpCreate, Resource: podsRes, Namespace: "ns", Name: "p", Object: tt.pod})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("got %v\nwant %s", err, tt.want)
			}
			if tt.want != "" && apierrors.ReasonOf(err) != apierrors.ReasonForbidden {
				t.Errorf("reason %q, want Forbidden", apierrors.ReasonOf(err))
			}
			// A level enforced is also warned about, but a refusal carries
			// no warning.
			if w := rec.Warnings(); len(w) > 0 {
				t.Errorf("warnings %q, want none", w)
			}
		})
	}
}

func TestWarn(t *testing.T) {
	p := newTestPlugin(t, map[string]map[string]string{
		"warned":   {"pod-security.kubernetes.io/warn": "restricted"},
		"enforced": {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"},
	}, pods{})
	root := with(func(s *corev1.PodSpec) { s.SecurityContext.RunAsNonRoot = nil })
	const want = `would violate PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)`
	for _, ns := range []string{"warned", "enforced"} {
		ctx, rec := warning.NewContext(context.Background())
		if err := p.validate(ctx, &registry.Write{Operation: registry.OpCreate, Resource: podsRes, Namespace: ns, Name: "p", Object: root}); err != nil {
			t.Fatalf("%s: refused: %v", ns, err)
		}
		if got := rec.Warnings(); !slices.Equal(got, []string{want}) {
			t.Errorf("%s: warnings %q, want %q", ns, got, want)
		}
	}
	// A workload is warned about, never refused.
	d := &appsv1.Deployment{Metadata: &metav1.ObjectMeta{Name: "d"}, Spec: &appsv1.DeploymentSpec{Template: &corev1.PodTemplateSpec{
		Spec: with(func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Privileged = proto.Bool(true) }).Spec}}}
	ctx, rec := warning.NewContext(context.Background())
	if err := p.validate(ctx, &registry.Write{Operation: registry.OpCreate, Resource: deploymentsRes, Namespace: "enforced", Name: "d", Object: d}); err != nil {
		t.Fatalf("deployment refused: %v", err)
	}
	if got := rec.Warnings(); !slices.Equal(got, []string{`would violate PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true)`}) {
		t.Errorf("deployment warnings %q", got)
	}
	// Its scale and status are not looked at.
	ctx, rec = warning.NewContext(context.Background())
	_ = p.validate(ctx, &registry.Write{Operation: registry.OpUpdate, Resource: deploymentsRes, Subresource: "status", Namespace: "enforced", Name: "d", Object: d, Old: d})
	if len(rec.Warnings()) > 0 {
		t.Errorf("status update warned: %q", rec.Warnings())
	}
}

func TestPodUpdates(t *testing.T) {
	p := newTestPlugin(t, map[string]map[string]string{"ns": {"pod-security.kubernetes.io/enforce": "restricted"}}, pods{})
	old := with(func(s *corev1.PodSpec) { s.HostNetwork = proto.Bool(true) }) // stored before the label
	labelled := proto.Clone(old).(*corev1.Pod)
	labelled.Metadata.Labels = map[string]string{"tier": "web"}
	if err := p.validate(context.Background(), &registry.Write{Operation: registry.OpUpdate, Resource: podsRes, Namespace: "ns", Name: "p", Object: labelled, Old: old}); err != nil {
		t.Errorf("an update of labels only was refused: %v", err)
	}
	if err := p.validate(context.Background(), &registry.Write{Operation: registry.OpUpdate, Subresource: "status", Resource: podsRes, Namespace: "ns", Name: "p", Object: old, Old: old}); err != nil {
		t.Errorf("a status update was refused: %v", err)
	}
	newImage := proto.Clone(old).(*corev1.Pod)
	newImage.Spec.Containers[0].Image = "registry.skiff.local/toolbox:2.0"
	err := p.validate(context.Background(), &registry.Write{Operation: registry.OpUpdate, Resource: podsRes, Namespace: "ns", Name: "p", Object: newImage, Old: old})
	if err == nil || !strings.Contains(err.Error(), `violates PodSecurity "restricted:latest": host namespaces (hostNetwork=true)`) {
		t.Errorf("an image change was not checked: %v", err)
	}
	debug := proto.Clone(compliant()).(*corev1.Pod)
	debug.Spec.EphemeralContainers = []*corev1.EphemeralContainer{{EphemeralContainerCommon: &corev1.Container{Name: "debug", Image: "i",
		SecurityContext: &corev1.SecurityContext{Privileged: proto.Bool(true)}}}}
	err = p.validate(context.Background(), &registry.Write{Operation: registry.OpUpdate, Subresource: "ephemeralcontainers", Resource: podsRes, Namespace: "ns", Name: "p", Object: debug, Old: compliant()})
	if err == nil || !strings.Contains(err.Error(), `container "debug" must not set securityContext.privileged=true`) {
		t.Errorf("a privileged ephemeral container was not refused: %v", err)
	}
}

func TestNamespaceLabels(t *testing.T) {
	p := newTestPlugin(t, nil, pods{})
	ns := func(labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "team", Labels: labels}}
	}
	bad := ns(map[string]string{"pod-security.kubernetes.io/enforce": "strict", "pod-security.kubernetes.io/warn-version": "1.30"})
	err := p.validate(context.Background(), &registry.Write{Operation: registry.OpCreate, Resource: namespacesRes, Name: "team", Object: bad})
	const want = `Namespace "team" is invalid: [metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted, metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: "1.30": must be "latest" or "v1.x"]`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	// Labels already wrong may stay while the namespace changes otherwise.
	relabelled := proto.Clone(bad).(*corev1.Namespace)
	relabelled.Metadata.Labels["team"] = "a"
	if err := p.validate(context.Background(), &registry.Write{Operation: registry.OpUpdate, Resource: namespacesRes, Name: "team", Object: relabelled, Old: bad}); err != nil {
		t.Errorf("unchanged bad labels refused: %v", err)
	}
	if err := p.validate(context.Background(), &registry.Write{Operation: registry.OpUpdate, Resource: namespacesRes, Name: "team",
		Object: ns(map[string]string{"pod-security.kubernetes.io/audit": "none"}), Old: ns(nil)}); err == nil {
		t.Error("a new bad label was admitted")
	}
}

func TestEnforceOnExistingPods(t *testing.T) {
	owned := func(name, uid string, change func(*corev1.PodSpec)) *corev1.Pod {
		p := with(change)
		p.Metadata.Name = name
		if uid != "" {
			p.Metadata.OwnerReferences = []*metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", Uid: uid, Controller: proto.Bool(true)}}
		}
		return p
	}
	root := func(s *corev1.PodSpec) { s.SecurityContext.RunAsNonRoot = nil }
	host := func(s *corev1.PodSpec) { s.HostNetwork = proto.Bool(true) }
	existing := pods{items: []*corev1.Pod{
		owned("web-b", "rs1", root), owned("web-a", "rs1", root), owned("web-c", "rs1", root),
		owned("router", "", host), owned("fine", "", func(*corev1.PodSpec) {}),
	}}
	p := newTestPlugin(t, nil, existing)
	ns := func(labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "team", Labels: labels}}
	}
	update := func(old, next map[string]string) []string {
		t.Helper()
		ctx, rec := warning.NewContext(context.Background())
		if err := p.validate(ctx, &registry.Write{Operation: registry.OpUpdate, Resource: namespacesRes, Name: "team", Object: ns(next), Old: ns(old)}); err != nil {
			t.Fatalf("refused: %v", err)
		}
		return rec.Warnings()
	}
	got := update(nil, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	want := []string{
		`existing pods in namespace "team" violate the new PodSecurity enforce level "restricted:latest"`,
		`router: host namespaces`,
		`web-a (and 2 other pods): runAsNonRoot != true`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	// Relaxing, or keeping, the level checks nothing.
	if got := update(map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}, map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}); len(got) > 0 {
		t.Errorf("relaxing warned %q", got)
	}
	// Only so many pods are checked.
	p.maxPods = 2
	got = update(nil, map[string]string{"pod-security.kubernetes.io/enforce": "baseline"})
	want = []string{
		`new PodSecurity enforce level only checked against the first 2 of 5 existing pods`,
		`existing pods in namespace "team" violate the new PodSecurity enforce level "baseline:latest"`,
		`router: host namespaces`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	p.pods = pods{err: errors.New("etcd is away")}
	if got := update(nil, map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}); !slices.Equal(got, []string{"failed to list pods while checking new PodSecurity enforce level"}) {
		t.Errorf("got %q", got)
	}
}
