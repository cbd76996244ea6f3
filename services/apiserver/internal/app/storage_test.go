package app

import (
	"context"
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/client"
)

// TestStorageKindsBothFaces writes the storage kinds on one face and reads
// them on the other: a PersistentVolume's inline source and status
// subresource, and each storage.k8s.io/v1 kind.
func TestStorageKindsBothFaces(t *testing.T) {
	s := startServer(t)
	c := s.client(s.adminToken)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	code, out := s.do(http.MethodPost, "/api/v1/persistentvolumes", s.adminToken, `{"apiVersion":"v1","kind":"PersistentVolume",
		"metadata":{"name":"pv1"},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"],
		"persistentVolumeReclaimPolicy":"Retain","storageClassName":"standard",
		"csi":{"driver":"local.csi.skiff.dev","volumeHandle":"vol-1","volumeAttributes":{"a":"b"}},
		"nodeAffinity":{"required":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"topology.local.csi.skiff.dev/node","operator":"In","values":["n1"]}]}]}}},
		"status":{"phase":"Bound"}}`)
	if code != http.StatusCreated {
		t.Fatalf("create pv: %d %v", code, out)
	}
	if got := dig(out, "status", "phase"); got != "Pending" {
		t.Errorf("new pv phase %v, want Pending", got)
	}
	pvs := client.For[*corev1.PersistentVolume, *corev1.PersistentVolumeList](c, "")
	pv, err := pvs.Get(ctx, "pv1")
	if err != nil {
		t.Fatal(err)
	}
	src := pv.GetSpec().GetPersistentVolumeSource().GetCsi()
	if src.GetDriver() != "local.csi.skiff.dev" || src.GetVolumeHandle() != "vol-1" || src.GetVolumeAttributes()["a"] != "b" ||
		pv.GetSpec().GetCapacity()["storage"].GetString_() != "1Gi" ||
		pv.GetSpec().GetNodeAffinity().GetRequired().GetNodeSelectorTerms()[0].GetMatchExpressions()[0].GetValues()[0] != "n1" {
		t.Errorf("pv over gRPC: %v", pv)
	}
	pv.Status = &corev1.PersistentVolumeStatus{Phase: "Available"}
	pv.Spec.StorageClassName = "changed-through-status"
	if _, err := pvs.UpdateStatus(ctx, pv, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out = s.do(http.MethodGet, "/api/v1/persistentvolumes/pv1/status", s.adminToken, "")
	if code != http.StatusOK || dig(out, "status", "phase") != "Available" || dig(out, "spec", "storageClassName") != "standard" ||
		dig(out, "spec", "csi", "volumeHandle") != "vol-1" || dig(out, "status", "lastPhaseTransitionTime") == nil {
		t.Errorf("pv status over REST: %d %v", code, out)
	}

	sc := &storagev1.StorageClass{Metadata: &metav1.ObjectMeta{Name: "standard"}, Provisioner: "local.csi.skiff.dev",
		VolumeBindingMode: proto.String("WaitForFirstConsumer"), AllowVolumeExpansion: proto.Bool(true)}
	if _, err := client.For[*storagev1.StorageClass, *storagev1.StorageClassList](c, "").Create(ctx, sc, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	drv := &storagev1.CSIDriver{Metadata: &metav1.ObjectMeta{Name: "local.csi.skiff.dev"},
		Spec: &storagev1.CSIDriverSpec{AttachRequired: proto.Bool(false), VolumeLifecycleModes: []string{"Persistent"}}}
	if _, err := client.For[*storagev1.CSIDriver, *storagev1.CSIDriverList](c, "").Create(ctx, drv, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	node := &storagev1.CSINode{Metadata: &metav1.ObjectMeta{Name: "n1"}, Spec: &storagev1.CSINodeSpec{Drivers: []*storagev1.CSINodeDriver{
		{Name: "local.csi.skiff.dev", NodeId: "n1", TopologyKeys: []string{"topology.local.csi.skiff.dev/node"}}}}}
	if _, err := client.For[*storagev1.CSINode, *storagev1.CSINodeList](c, "").Create(ctx, node, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	vas := client.For[*storagev1.VolumeAttachment, *storagev1.VolumeAttachmentList](c, "")
	va, err := vas.Create(ctx, &storagev1.VolumeAttachment{Metadata: &metav1.ObjectMeta{Name: "va1"},
		Spec: &storagev1.VolumeAttachmentSpec{Attacher: "local.csi.skiff.dev", NodeName: "n1",
			Source: &storagev1.VolumeAttachmentSource{PersistentVolumeName: proto.String("pv1")}},
		Status: &storagev1.VolumeAttachmentStatus{Attached: true}}, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if va.GetStatus().GetAttached() {
		t.Errorf("a new attachment has no status, got %v", va.GetStatus())
	}
	va.Status = &storagev1.VolumeAttachmentStatus{Attached: true, AttachmentMetadata: map[string]string{"k": "v"}}
	if _, err := vas.UpdateStatus(ctx, va, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	capacity := &storagev1.CSIStorageCapacity{Metadata: &metav1.ObjectMeta{Name: "cap1"}, StorageClassName: "standard",
		Capacity: &metav1.Quantity{String_: "10Gi"}}
	if _, err := client.For[*storagev1.CSIStorageCapacity, *storagev1.CSIStorageCapacityList](c, "default").Create(ctx, capacity, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}

	for path, check := range map[string][2]any{
		"/apis/storage.k8s.io/v1/storageclasses/standard":                      {[]string{"volumeBindingMode"}, "WaitForFirstConsumer"},
		"/apis/storage.k8s.io/v1/csidrivers/local.csi.skiff.dev":               {[]string{"spec", "attachRequired"}, false},
		"/apis/storage.k8s.io/v1/volumeattachments/va1/status":                 {[]string{"status", "attachmentMetadata", "k"}, "v"},
		"/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities/cap1": {[]string{"capacity"}, "10Gi"},
		"/apis/storage.k8s.io/v1/csinodes/n1":                                  {[]string{"kind"}, "CSINode"},
	} {
		code, out := s.do(http.MethodGet, path, s.adminToken, "")
		if got := dig(out, check[0].([]string)...); code != http.StatusOK || got != check[1] {
			t.Errorf("GET %s: %d, %v = %v, want %v", path, code, check[0], got, check[1])
		}
	}
	code, out = s.do(http.MethodGet, "/apis/storage.k8s.io/v1/csinodes/n1", s.adminToken, "")
	drivers, _ := dig(out, "spec", "drivers").([]any)
	if code != http.StatusOK || len(drivers) != 1 || drivers[0].(map[string]any)["nodeID"] != "n1" {
		t.Errorf("csinode over REST: %d %v", code, out)
	}
}
