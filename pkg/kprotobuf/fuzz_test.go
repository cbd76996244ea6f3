package kprotobuf

import (
	"os"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// FuzzDecode: any bytes read as a Pod in the envelope never panic, and a
// decoded Pod encodes and decodes again to the same Pod with the same type
// (the type lives in the envelope, not the raw bytes).
func FuzzDecode(f *testing.F) {
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "nginx:1.27"}}}}
	seed, err := Encode(pod, "v1", "Pod")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(Magic)
	f.Add([]byte("k8s\x00\x0a\x00"))
	if crd, err := os.ReadFile("testdata/widgets.pb"); err == nil {
		f.Add(crd)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var first corev1.Pod
		apiVersion, kind, err := Decode(data, &first)
		if err != nil {
			return
		}
		out, err := Encode(&first, apiVersion, kind)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var again corev1.Pod
		av, k, err := Decode(out, &again)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		// The raw bytes may carry kind and apiVersion, which Encode
		// leaves to the envelope.
		first.Kind, first.ApiVersion = "", ""
		if av != apiVersion || k != kind || !proto.Equal(&first, &again) {
			t.Fatalf("round trip changed the pod:\n%v %s/%s\n%v %s/%s", &first, apiVersion, kind, &again, av, k)
		}
	})
}
