package kjson

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// An empty list is written with "items": [], as Kubernetes writes it
// (kubectl -o name reads a list without items as an object of its own),
// and a pod's empty lists are still left out.
func TestEmptyListHasItems(t *testing.T) {
	for _, list := range []proto.Message{
		&corev1.PodList{Kind: "PodList", ApiVersion: "v1", Metadata: &metav1.ListMeta{ResourceVersion: "7"}},
		&apiextensionsv1.CustomObjectList{Kind: "WidgetList", ApiVersion: "example.com/v1", Metadata: &metav1.ListMeta{}},
	} {
		b, err := Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"items":[]`) {
			t.Errorf("empty %T = %s, want \"items\":[]", list, b)
		}
	}
	b, err := Marshal(&corev1.Pod{Spec: &corev1.PodSpec{}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "[]") {
		t.Errorf("a pod without containers = %s, want no empty lists", b)
	}
}

// A container status has its ready, restartCount, image, imageID, state
// and lastState even when they are false, zero or empty, as Kubernetes'
// (no omitempty), so jsonpath reads restartCount 0.
func TestContainerStatusAlwaysWritten(t *testing.T) {
	b, err := Marshal(&corev1.ContainerStatus{Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"c","state":{},"lastState":{},"ready":false,"restartCount":0,"image":"","imageID":""}`
	if string(b) != want {
		t.Errorf("ContainerStatus = %s, want %s", b, want)
	}
}
