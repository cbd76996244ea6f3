package registry

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// A ReplicationController's selector is a map; its Scale shows it as a
// selector string, as Kubernetes' does.
func TestScaleOfMapSelector(t *testing.T) {
	rc := &corev1.ReplicationController{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec:   &corev1.ReplicationControllerSpec{Replicas: proto.Int32(3), Selector: map[string]string{"tier": "front", "app": "web"}},
		Status: &corev1.ReplicationControllerStatus{Replicas: 2}}
	sc, err := scaleOf(rc)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sc.GetStatus().GetSelector(), "app=web,tier=front"; got != want {
		t.Errorf("status.selector = %q, want %q", got, want)
	}
	if sc.GetSpec().GetReplicas() != 3 || sc.GetStatus().GetReplicas() != 2 {
		t.Errorf("got spec.replicas %d status.replicas %d, want 3 and 2", sc.GetSpec().GetReplicas(), sc.GetStatus().GetReplicas())
	}
	rc.Spec.Selector = nil
	if sc, _ := scaleOf(rc); sc.GetStatus().GetSelector() != "" {
		t.Errorf("empty selector: status.selector = %q, want empty", sc.GetStatus().GetSelector())
	}
}
