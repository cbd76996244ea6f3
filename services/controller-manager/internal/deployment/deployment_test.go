package deployment

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func template(image string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: image}}}}
}

func deployment(replicas int32, surge, unavailable *metav1.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "ns", Uid: "d1", Generation: 2},
		Spec: &appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: template("v1"), Strategy: &appsv1.DeploymentStrategy{Type: "RollingUpdate",
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: surge, MaxUnavailable: unavailable}}}}
}

func pct(s string) *metav1.IntOrString { return &metav1.IntOrString{Type: 1, StrVal: s} }
func num(n int32) *metav1.IntOrString  { return &metav1.IntOrString{IntVal: n} }

func TestTemplateHash(t *testing.T) {
	a, b := TemplateHash(template("v1"), 0), TemplateHash(template("v1"), 0)
	if a != b || a == "" {
		t.Fatalf("the same template hashes to %q and %q", a, b)
	}
	if TemplateHash(template("v2"), 0) == a || TemplateHash(template("v1"), 1) == a {
		t.Fatal("a different template or collision count gave the same hash")
	}
	for _, r := range a {
		if !containsRune(hashAlphabet, r) {
			t.Fatalf("hash %q has %q outside its alphabet", a, r)
		}
	}
}

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}

func TestNewReplicaSetMatchesItsDeployment(t *testing.T) {
	d := deployment(3, nil, nil)
	d.Metadata.Annotations = map[string]string{"kubernetes.io/change-cause": "v1", RevisionAnnotation: "7",
		"kubectl.kubernetes.io/last-applied-configuration": "{}"}
	rs := newReplicaSet(d, 4)
	hash := rs.GetSpec().GetTemplate().GetMetadata().GetLabels()[HashLabel]
	if rs.GetMetadata().GetName() != "web-"+hash || rs.GetSpec().GetSelector().GetMatchLabels()[HashLabel] != hash || rs.GetMetadata().GetLabels()[HashLabel] != hash {
		t.Fatalf("hash %q not carried into name, selector and labels: %v", hash, rs.GetMetadata())
	}
	if !sameTemplate(rs, d) {
		t.Fatal("the new replica set's template differs from the deployment's beyond its hash label")
	}
	ann := rs.GetMetadata().GetAnnotations()
	if ann[RevisionAnnotation] != "4" || ann["kubernetes.io/change-cause"] != "v1" || ann["kubectl.kubernetes.io/last-applied-configuration"] != "" {
		t.Fatalf("annotations %v", ann)
	}
	if d.GetSpec().GetTemplate().GetMetadata().GetLabels()[HashLabel] != "" || d.GetSpec().GetSelector().GetMatchLabels()[HashLabel] != "" {
		t.Fatal("building the replica set changed the deployment")
	}
	if ref := rs.GetMetadata().GetOwnerReferences(); len(ref) != 1 || ref[0].GetUid() != "d1" || !ref[0].GetController() {
		t.Fatalf("owner %v", ref)
	}
}

func TestSurgeAndUnavailable(t *testing.T) {
	for _, c := range []struct {
		replicas                  int32
		surge, unavailable        *metav1.IntOrString
		wantSurge, wantUnavailble int32
	}{
		{10, pct("25%"), pct("25%"), 3, 2}, // surge rounds up, unavailable down
		{4, num(1), num(1), 1, 1},
		{3, num(0), num(0), 0, 1}, // never both zero
		{1, pct("25%"), pct("25%"), 1, 0},
		{10, nil, nil, 0, 1},
	} {
		r := &rollout{d: deployment(c.replicas, c.surge, c.unavailable)}
		s, u := r.surgeAndUnavailable()
		if s != c.wantSurge || u != c.wantUnavailble {
			t.Errorf("%d replicas, surge %v, unavailable %v: got %d/%d, want %d/%d", c.replicas, c.surge, c.unavailable, s, u, c.wantSurge, c.wantUnavailble)
		}
	}
	r := &rollout{d: deployment(5, nil, nil)}
	r.d.Spec.Strategy = &appsv1.DeploymentStrategy{Type: "Recreate"}
	if s, u := r.surgeAndUnavailable(); s != 0 || u != 5 {
		t.Errorf("Recreate: %d/%d", s, u)
	}
}

func rs(name string, spec, available int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{Metadata: &metav1.ObjectMeta{Name: name},
		Spec: &appsv1.ReplicaSetSpec{Replicas: &spec}, Status: &appsv1.ReplicaSetStatus{Replicas: spec, AvailableReplicas: available, ReadyReplicas: available}}
}

func TestStatusAndConditions(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r := &rollout{d: deployment(4, num(1), num(1)), now: now, newRS: rs("web-new", 2, 1), old: []*appsv1.ReplicaSet{rs("web-old", 3, 3)}}
	st := r.computeStatus()
	if st.GetReplicas() != 5 || st.GetUpdatedReplicas() != 2 || st.GetAvailableReplicas() != 4 || st.GetUnavailableReplicas() != 1 || st.GetObservedGeneration() != 2 {
		t.Fatalf("status %v", st)
	}
	if c := condition(st, "Available"); c.GetStatus() != "True" {
		t.Fatalf("available: %v", c)
	}
	after := r.progress(st)
	if c := condition(st, "Progressing"); c.GetStatus() != "True" || c.GetReason() != ReasonRSUpdated || after <= 0 {
		t.Fatalf("progressing: %v, after %v", c, after)
	}

	// No progress for longer than the deadline: ProgressDeadlineExceeded.
	r.d.Status = st
	deadline := int32(60)
	r.d.Spec.ProgressDeadlineSeconds = &deadline
	r.now = now.Add(2 * time.Minute)
	st = r.computeStatus()
	r.progress(st)
	if c := condition(st, "Progressing"); c.GetStatus() != "False" || c.GetReason() != ReasonDeadlineExceeded {
		t.Fatalf("after the deadline: %v", c)
	}

	// Complete.
	r = &rollout{d: deployment(4, num(1), num(1)), now: now, newRS: rs("web-new", 4, 4)}
	st = r.computeStatus()
	r.progress(st)
	if c := condition(st, "Progressing"); c.GetReason() != ReasonNewRSAvailable {
		t.Fatalf("complete: %v", c)
	}
}

// TestTemplatesCompareSemantically: a template that came through
// Kubernetes' protobuf (every non-pointer field written, zero or not)
// matches the same template sent as JSON, as `kubectl rollout undo` needs
// to find the ReplicaSet it rolls back to; a real difference still counts.
func TestTemplatesCompareSemantically(t *testing.T) {
	d := deployment(1, nil, nil)
	rs := newReplicaSet(d, 1)
	tm := rs.Spec.Template
	tm.Metadata.CreationTimestamp = &timestamppb.Timestamp{}
	tm.Spec.HostIpc, tm.Spec.HostNetwork, tm.Spec.Hostname = proto.Bool(false), proto.Bool(false), proto.String("")
	tm.Spec.SecurityContext = &corev1.PodSecurityContext{}
	for _, c := range tm.Spec.Containers {
		c.Resources = &corev1.ResourceRequirements{}
	}
	if !sameTemplate(rs, d) {
		t.Fatal("zero values written out make the template differ")
	}
	if rs.Spec.Template.Spec.HostIpc == nil {
		t.Fatal("comparing changed the replica set")
	}
	tm.Spec.HostIpc = proto.Bool(true)
	if sameTemplate(rs, d) {
		t.Error("hostIPC true matches a template without it")
	}
	tm.Spec.HostIpc = nil
	tm.Spec.Containers[0].Image = "other"
	if sameTemplate(rs, d) {
		t.Error("another image matches")
	}
}
