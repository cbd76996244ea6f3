package nodeinfo

import (
	"slices"
	"testing"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
)

func info(id, zone string, limit int64) *csipb.NodeGetInfoResponse {
	return &csipb.NodeGetInfoResponse{NodeId: id, MaxVolumesPerNode: limit,
		AccessibleTopology: &csipb.Topology{Segments: map[string]string{"zone": zone}}}
}

func TestAddToNode(t *testing.T) {
	tests := []struct {
		name, annotation, label string
		wantAnnotation          string
		err                     bool
	}{
		{name: "first driver", wantAnnotation: `{"d":"id"}`},
		{name: "second driver", annotation: `{"a":"x"}`, wantAnnotation: `{"a":"x","d":"id"}`},
		{name: "same label", label: "z1", wantAnnotation: `{"d":"id"}`},
		{name: "label collision", label: "z2", err: true},
		{name: "bad annotation", annotation: "{", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &corev1.Node{Metadata: &metav1.ObjectMeta{Annotations: map[string]string{}, Labels: map[string]string{}}}
			if tt.annotation != "" {
				n.Metadata.Annotations[NodeIDAnnotation] = tt.annotation
			}
			if tt.label != "" {
				n.Metadata.Labels["zone"] = tt.label
			}
			err := addToNode(n, "d", info("id", "z1", 0))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if err == nil && (n.Metadata.Annotations[NodeIDAnnotation] != tt.wantAnnotation || n.Metadata.Labels["zone"] != "z1") {
				t.Errorf("annotations %v, labels %v", n.Metadata.Annotations, n.Metadata.Labels)
			}
		})
	}
}

func TestSetDriver(t *testing.T) {
	cn := &storagev1.CSINode{}
	setDriver(cn, "d", info("id-1", "z", 0))
	setDriver(cn, "e", info("id-2", "z", 5))
	setDriver(cn, "d", info("id-3", "z", 3)) // a re-registration replaces the entry
	d := cn.GetSpec().GetDrivers()
	if len(d) != 2 || d[0].GetNodeId() != "id-3" || d[0].GetAllocatable().GetCount() != 3 ||
		d[1].GetAllocatable().GetCount() != 5 || !slices.Equal(d[0].GetTopologyKeys(), []string{"zone"}) {
		t.Errorf("drivers = %v", d)
	}
	setDriver(cn, "f", info("id-4", "z", 0))
	if cn.Spec.Drivers[2].Allocatable != nil {
		t.Error("a driver without a limit got allocatable")
	}
}
