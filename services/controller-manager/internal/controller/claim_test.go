package controller

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

var notFound = &client.StatusError{Status: &metav1.Status{Reason: "NotFound", Code: 404, Message: "gone"}}

func testPod(name string, lbls map[string]string, ctrl *metav1.OwnerReference) *corev1.Pod {
	meta := &metav1.ObjectMeta{Name: name, Namespace: "ns", Uid: "uid-" + name, Labels: lbls}
	if ctrl != nil {
		meta.OwnerReferences = []*metav1.OwnerReference{ctrl}
	}
	return &corev1.Pod{Metadata: meta}
}

// patches records the patches a RefManager sends and answers as the
// apiserver would: the pod with its owner references changed.
type patches struct {
	mu   sync.Mutex
	sent map[string]string
	err  map[string]error
	ref  *metav1.OwnerReference
}

func (p *patches) patch(_ context.Context, pod *corev1.Pod, patch []byte) (*corev1.Pod, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	name := pod.GetMetadata().GetName()
	p.sent[name] = string(patch)
	if err := p.err[name]; err != nil {
		return nil, err
	}
	out := proto.Clone(pod).(*corev1.Pod)
	if strings.Contains(string(patch), `"$patch":"delete"`) {
		out.Metadata.OwnerReferences = nil
	} else {
		out.Metadata.OwnerReferences = append(out.Metadata.OwnerReferences, p.ref)
	}
	return out, nil
}

func TestClaim(t *testing.T) {
	owner := &metav1.ObjectMeta{Name: "web", Namespace: "ns", Uid: "owner"}
	ref := OwnerReference("apps/v1", "ReplicaSet", owner)
	other := OwnerReference("apps/v1", "ReplicaSet", &metav1.ObjectMeta{Name: "other", Uid: "other"})
	web := map[string]string{"app": "web"}
	deleted := testPod("orphan-deleting", web, nil)
	deleted.Metadata.DeletionTimestamp = timestamppb.Now()
	pods := []*corev1.Pod{
		testPod("owned", web, ref),
		testPod("owned-unmatched", map[string]string{"app": "db"}, ref),
		testPod("orphan", web, nil),
		testPod("orphan-unmatched", map[string]string{"app": "db"}, nil),
		deleted,
		testPod("others", web, other),
		testPod("orphan-gone", web, nil),
	}
	p := &patches{sent: map[string]string{}, err: map[string]error{"orphan-gone": notFound}, ref: ref}
	m := RefManager[*corev1.Pod]{Owner: owner, Ref: ref, Selector: &metav1.LabelSelector{MatchLabels: web}, Patch: p.patch,
		AdoptError: "adopt pod", ReleaseError: "release pod",
		AdoptPatch: `"finalizers":["f"]`, ReleasePatch: `"$deleteFromPrimitiveList/finalizers":["f"]`}
	owned, err := m.Claim(context.Background(), pods)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pod := range owned {
		names = append(names, pod.GetMetadata().GetName())
		if ControllerOf(pod.GetMetadata()).GetUid() != "owner" {
			t.Errorf("%s: controller %v", pod.GetMetadata().GetName(), ControllerOf(pod.GetMetadata()))
		}
	}
	if strings.Join(names, ",") != "owned,orphan" {
		t.Errorf("owned %v, want owned and the adopted orphan", names)
	}
	adopt := `{"metadata":{"ownerReferences":[{"kind":"ReplicaSet","name":"web","uid":"owner","apiVersion":"apps/v1","controller":true,"blockOwnerDeletion":true}],"finalizers":["f"],"uid":"uid-orphan"}}`
	if got := p.sent["orphan"]; got != adopt {
		t.Errorf("adoption patch\n%s\nwant\n%s", got, adopt)
	}
	release := `{"metadata":{"ownerReferences":[{"$patch":"delete","uid":"owner"}],"$deleteFromPrimitiveList/finalizers":["f"],"uid":"uid-owned-unmatched"}}`
	if got := p.sent["owned-unmatched"]; got != release {
		t.Errorf("release patch\n%s\nwant\n%s", got, release)
	}
	if len(p.sent) != 3 {
		t.Errorf("patched %v; want only the orphans that match and the pod that stopped matching", p.sent)
	}
}

func TestClaimWithoutExtraPatchAndWithMatch(t *testing.T) {
	owner := &metav1.ObjectMeta{Name: "db", Namespace: "ns", Uid: "owner"}
	ref := OwnerReference("apps/v1", "StatefulSet", owner)
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	p := &patches{sent: map[string]string{}, ref: ref}
	m := RefManager[*corev1.Pod]{Owner: owner, Ref: ref, Selector: sel, Patch: p.patch, AdoptError: "pod", ReleaseError: "pod",
		Match: func(pod *corev1.Pod) bool { return strings.HasPrefix(pod.GetMetadata().GetName(), "db-") }}
	owned, err := m.Claim(context.Background(), []*corev1.Pod{
		testPod("db-0", map[string]string{"app": "db"}, nil),
		testPod("stray", map[string]string{"app": "db"}, nil),
		testPod("stray-owned", map[string]string{"app": "db"}, ref),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(owned) != 1 || owned[0].GetMetadata().GetName() != "db-0" {
		t.Fatalf("owned %v", owned)
	}
	if got, want := p.sent["db-0"], `{"metadata":{"ownerReferences":[{"kind":"StatefulSet","name":"db","uid":"owner","apiVersion":"apps/v1","controller":true,"blockOwnerDeletion":true}],"uid":"uid-db-0"}}`; got != want {
		t.Errorf("adoption patch\n%s\nwant\n%s", got, want)
	}
	if got, want := p.sent["stray-owned"], `{"metadata":{"ownerReferences":[{"$patch":"delete","uid":"owner"}],"uid":"uid-stray-owned"}}`; got != want {
		t.Errorf("release patch\n%s\nwant\n%s", got, want)
	}
}

func TestClaimByDeletingOwnerAdoptsNothing(t *testing.T) {
	owner := &metav1.ObjectMeta{Name: "web", Namespace: "ns", Uid: "owner", DeletionTimestamp: timestamppb.Now()}
	ref := OwnerReference("batch/v1", "Job", owner)
	p := &patches{sent: map[string]string{}, ref: ref}
	m := RefManager[*corev1.Pod]{Owner: owner, Ref: ref, Selector: &metav1.LabelSelector{}, Patch: p.patch}
	owned, err := m.Claim(context.Background(), []*corev1.Pod{testPod("orphan", nil, nil), testPod("owned", nil, ref)})
	if err != nil {
		t.Fatal(err)
	}
	if len(owned) != 1 || owned[0].GetMetadata().GetName() != "owned" || len(p.sent) != 0 {
		t.Fatalf("owned %v, patches %v; want only what it had", owned, p.sent)
	}
}

func TestClaimErrors(t *testing.T) {
	owner := &metav1.ObjectMeta{Name: "web", Namespace: "ns", Uid: "owner"}
	ref := OwnerReference("apps/v1", "DaemonSet", owner)
	refused := errors.New("refused")
	for _, tc := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{testPod("orphan", nil, nil), "adopt pod ns/orphan: refused"},
		{testPod("owned", map[string]string{"app": "x"}, ref), "release pod ns/owned: refused"},
	} {
		p := &patches{sent: map[string]string{}, err: map[string]error{tc.pod.GetMetadata().GetName(): refused}, ref: ref}
		m := RefManager[*corev1.Pod]{Owner: owner, Ref: ref, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Patch: p.patch, AdoptError: "adopt pod", ReleaseError: "release pod"}
		if tc.pod.GetMetadata().GetName() == "orphan" {
			m.Selector = &metav1.LabelSelector{}
		}
		_, err := m.Claim(context.Background(), []*corev1.Pod{tc.pod})
		if err == nil || err.Error() != tc.want || !errors.Is(err, refused) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	// A pod gone before its release is no error.
	p := &patches{sent: map[string]string{}, err: map[string]error{"owned": notFound}, ref: ref}
	m := RefManager[*corev1.Pod]{Owner: owner, Ref: ref, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Patch: p.patch}
	if owned, err := m.Claim(context.Background(), []*corev1.Pod{testPod("owned", nil, ref)}); err != nil || len(owned) != 0 {
		t.Fatalf("owned %v, err %v", owned, err)
	}
}

// Claiming what needs no write allocates nothing per object: a
// controller looks at every pod of its namespace on each sync.
func TestClaimAllocations(t *testing.T) {
	owner := &metav1.ObjectMeta{Name: "web", Namespace: "ns", Uid: "owner"}
	ref := OwnerReference("apps/v1", "ReplicaSet", owner)
	other := OwnerReference("apps/v1", "ReplicaSet", &metav1.ObjectMeta{Name: "other", Uid: "other"})
	var pods []*corev1.Pod
	for i := range 1000 {
		name := string(rune('a'+i%26)) + strings.Repeat("x", i%7)
		switch i % 3 {
		case 0:
			pods = append(pods, testPod(name, map[string]string{"app": "web"}, other))
		case 1:
			pods = append(pods, testPod(name, map[string]string{"app": "db"}, nil))
		default:
			pods = append(pods, testPod(name, map[string]string{"app": "web"}, ref))
		}
	}
	m := RefManager[*corev1.Pod]{Owner: owner, Ref: ref, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Patch: func(context.Context, *corev1.Pod, []byte) (*corev1.Pod, error) { t.Fatal("patched"); return nil, nil }}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := m.Claim(ctx, pods); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 20 { // the result slice's growth, not one per pod
		t.Fatalf("%v allocations to claim %d pods", allocs, len(pods))
	}
}
