package statefulset

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func set(replicas int32, whenDeleted, whenScaled string) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default", Uid: "set-uid"},
		Spec: &appsv1.StatefulSetSpec{Replicas: &replicas, ServiceName: "web",
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: "nginx"}},
					Volumes: []*corev1.Volume{{Name: "data", VolumeSource: &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						{Name: "config", VolumeSource: &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}}},
			VolumeClaimTemplates: []*corev1.PersistentVolumeClaim{{Metadata: &metav1.ObjectMeta{Name: "data", Labels: map[string]string{"tier": "db"}}}},
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: whenDeleted, WhenScaled: whenScaled},
		},
	}
}

func TestNewPodIdentity(t *testing.T) {
	s := set(3, "Retain", "Retain")
	s.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 4}
	p := newPod(s, 5)
	l := p.GetMetadata().GetLabels()
	if p.GetMetadata().GetName() != "web-5" || l[PodNameLabel] != "web-5" || l[PodIndexLabel] != "5" || l["app"] != "web" {
		t.Fatalf("pod meta %v", p.GetMetadata())
	}
	if p.GetSpec().GetHostname() != "web-5" || p.GetSpec().GetSubdomain() != "web" {
		t.Fatalf("hostname %q subdomain %q", p.GetSpec().GetHostname(), p.GetSpec().GetSubdomain())
	}
	vols := p.GetSpec().GetVolumes()
	if len(vols) != 2 || vols[0].GetVolumeSource().GetPersistentVolumeClaim().GetClaimName() != "data-web-5" || vols[1].GetName() != "config" {
		t.Fatalf("volumes %v", vols)
	}
	if !identityMatches(s, p) || !storageMatches(s, p) || !inRange(p, s) || !isMember(s, p) {
		t.Fatal("a new pod does not match its own set")
	}
	if ref := p.GetMetadata().GetOwnerReferences(); len(ref) != 1 || !ref[0].GetController() || ref[0].GetUid() != "set-uid" {
		t.Fatalf("owners %v", ref)
	}
	// Ordinals: 4, 5, 6 are in range; 3 and 7 are not.
	for n, want := range map[int]bool{3: false, 4: true, 6: true, 7: false} {
		if got := inRange(newPod(s, n), s); got != want {
			t.Errorf("ordinal %d in range: got %v, want %v", n, got, want)
		}
	}
	moved := proto.Clone(p).(*corev1.Pod)
	moved.Metadata.Labels[PodIndexLabel] = "9"
	if identityMatches(s, moved) {
		t.Fatal("a wrong pod-index label matches")
	}
	updateIdentity(s, moved)
	if !identityMatches(s, moved) {
		t.Fatal("updateIdentity did not restore the labels")
	}
	other := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "webby-1"}}
	if isMember(s, other) || ordinalOf(&corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "web"}}) != -1 {
		t.Fatal("a pod of another name counts as a member")
	}
}

func TestClaimsFor(t *testing.T) {
	c := claimsFor(set(1, "Retain", "Retain"), 2)
	if len(c) != 1 || c[0].GetMetadata().GetName() != "data-web-2" || c[0].GetMetadata().GetNamespace() != "default" {
		t.Fatalf("claims %v", c)
	}
	if l := c[0].GetMetadata().GetLabels(); l["tier"] != "db" || l["app"] != "web" {
		t.Fatalf("claim labels %v", l)
	}
}

func TestClaimOwnersFollowThePolicy(t *testing.T) {
	pod := func(n int) *corev1.Pod {
		p := newPod(set(2, "Retain", "Retain"), n)
		p.Metadata.Uid = "pod-uid"
		return p
	}
	claim := &corev1.PersistentVolumeClaim{Metadata: &metav1.ObjectMeta{Name: "data-web-1", Namespace: "default"}}
	tests := []struct {
		deleted, scaled string
		ordinal         int
		bySet, byPod    bool
	}{
		{"Retain", "Retain", 1, false, false},
		{"Delete", "Retain", 1, true, false},
		{"Delete", "Retain", 5, true, false},
		{"Retain", "Delete", 1, false, false},
		{"Retain", "Delete", 5, false, true},
		{"Delete", "Delete", 1, true, false},
		{"Delete", "Delete", 5, false, true},
	}
	for _, tt := range tests {
		s, p := set(2, tt.deleted, tt.scaled), pod(tt.ordinal)
		fixed := withOwners(claim, s, p)
		bySet, byPod := false, false
		for _, ref := range fixed.GetMetadata().GetOwnerReferences() {
			bySet = bySet || ref.GetKind() == "StatefulSet" && ref.GetUid() == "set-uid" && ref.GetController()
			byPod = byPod || ref.GetKind() == "Pod" && ref.GetUid() == "pod-uid" && ref.GetController()
		}
		if bySet != tt.bySet || byPod != tt.byPod {
			t.Errorf("%s/%s ordinal %d: owned by set %v, pod %v; want %v, %v", tt.deleted, tt.scaled, tt.ordinal, bySet, byPod, tt.bySet, tt.byPod)
		}
		if !ownersUpToDate(fixed, s, p) {
			t.Errorf("%s/%s ordinal %d: fixed owners are not up to date", tt.deleted, tt.scaled, tt.ordinal)
		}
		if tt.bySet || tt.byPod {
			if ownersUpToDate(claim, s, p) {
				t.Errorf("%s/%s ordinal %d: a claim without owners is up to date", tt.deleted, tt.scaled, tt.ordinal)
			}
		}
	}
	// A reference to an earlier set of the same name is stale: left alone.
	stale := withOwners(claim, set(2, "Delete", "Delete"), pod(1))
	stale.Metadata.OwnerReferences[0].Uid = "old-uid"
	if !ownersUpToDate(stale, set(2, "Retain", "Retain"), pod(1)) {
		t.Error("a claim of an earlier set is touched")
	}
}

func TestAvailability(t *testing.T) {
	now := time.Now()
	ready := func(since time.Duration) *corev1.Pod {
		return &corev1.Pod{Status: &corev1.PodStatus{Phase: "Running", Conditions: []*corev1.PodCondition{
			{Type: "Ready", Status: "True", LastTransitionTime: timestamppb.New(now.Add(-since))}}}}
	}
	if !isAvailable(ready(time.Minute), 10, now) || isAvailable(ready(time.Second), 10, now) || !isAvailable(ready(0), 0, now) {
		t.Fatal("availability ignores minReadySeconds")
	}
	if !isUnavailable(&corev1.Pod{}, 0, now) {
		t.Fatal("a pod not yet made is available")
	}
	gone := ready(time.Minute)
	gone.Metadata = &metav1.ObjectMeta{DeletionTimestamp: timestamppb.New(now)}
	if !isUnavailable(gone, 0, now) {
		t.Fatal("a terminating pod is available")
	}
}

func TestForAll(t *testing.T) {
	var order []int
	stop, err := forAll(5, true, func(i int) (bool, error) { order = append(order, i); return i == 2, nil })
	if !stop || err != nil || len(order) != 3 {
		t.Fatalf("ordered: stop %v err %v order %v", stop, err, order)
	}
	seen := make([]bool, 20)
	if stop, err := forAll(20, false, func(i int) (bool, error) { seen[i] = true; return true, nil }); stop || err != nil {
		t.Fatalf("parallel: stop %v err %v", stop, err)
	}
	for i, s := range seen {
		if !s {
			t.Fatalf("parallel: %d not run", i)
		}
	}
}

func TestScaledMaxUnavailable(t *testing.T) {
	for _, tt := range []struct {
		v     *metav1.IntOrString
		total int
		want  int
	}{
		{&metav1.IntOrString{IntVal: 2}, 5, 2},
		{&metav1.IntOrString{Type: 1, StrVal: "50%"}, 5, 2},
		{&metav1.IntOrString{Type: 1, StrVal: "10%"}, 5, 1},
	} {
		if got := scaled(tt.v, tt.total); got != tt.want {
			t.Errorf("scaled(%v, %d) = %d, want %d", tt.v, tt.total, got, tt.want)
		}
	}
}
