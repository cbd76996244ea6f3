package client

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// TestStorageOverGRPC: the storage kinds on the gRPC face: a volume with
// an invalid access mode is InvalidArgument with Kubernetes' cause and is
// not stored; a valid one is defaulted and protected; a VolumeAttachment's
// status is written through UpdateStatus without touching its spec; a
// CSIDriver is defaulted as over REST.
func TestStorageOverGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	c := dial(t, srv, true)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	pvs := c.CoreV1().PersistentVolumes()
	volume := func(name string, modes ...string) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{Name: name}, Spec: &corev1.PersistentVolumeSpec{
			Capacity: map[string]*metav1.Quantity{"storage": {String_: "1Gi"}}, AccessModes: modes,
			PersistentVolumeSource: &corev1.PersistentVolumeSource{Csi: &corev1.CSIPersistentVolumeSource{Driver: "local.csi.skiff.dev", VolumeHandle: name}}}}
	}
	_, err := pvs.Create(ctx, volume("bad", "ReadWriteSometimes"), client.WriteOptions{})
	if status.Code(err) != codes.InvalidArgument || !client.IsInvalid(err) {
		t.Fatalf("bad volume: got %v (gRPC code %v), want Invalid as InvalidArgument", err, status.Code(err))
	}
	var causes []string
	for _, cause := range err.(*client.StatusError).Status.GetDetails().GetCauses() {
		causes = append(causes, cause.GetReason()+" "+cause.GetField()+": "+cause.GetMessage())
	}
	want := []string{`FieldValueNotSupported spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"`}
	if !slices.Equal(causes, want) {
		t.Errorf("causes: got %q, want %q", causes, want)
	}
	if _, err := pvs.Get(ctx, "bad"); status.Code(err) != codes.NotFound {
		t.Errorf("get the refused volume: got %v, want NotFound", err)
	}
	pv, err := pvs.Create(ctx, volume("good", "ReadWriteOnce"), client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pv.GetSpec().GetPersistentVolumeReclaimPolicy() != "Retain" || pv.GetStatus().GetPhase() != "Pending" ||
		!slices.Contains(pv.GetMetadata().GetFinalizers(), "kubernetes.io/pv-protection") {
		t.Errorf("new volume: %v", pv)
	}

	vas := c.StorageV1().VolumeAttachments()
	va, err := vas.Create(ctx, &storagev1.VolumeAttachment{Metadata: &metav1.ObjectMeta{Name: "csi-good"}, Spec: &storagev1.VolumeAttachmentSpec{
		Attacher: "local.csi.skiff.dev", NodeName: "node-a", Source: &storagev1.VolumeAttachmentSource{PersistentVolumeName: proto.String("good")}}},
		client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	va.Spec.NodeName = "node-b"
	va.Status = &storagev1.VolumeAttachmentStatus{Attached: true, AttachmentMetadata: map[string]string{"device": "/dev/x"}}
	out, err := vas.UpdateStatus(ctx, va, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !out.GetStatus().GetAttached() || out.GetSpec().GetNodeName() != "node-a" {
		t.Errorf("attachment after a status write: %v", out)
	}
	va = out
	va.Spec.NodeName = "node-b"
	if _, err := vas.Update(ctx, va, client.WriteOptions{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("changing an attachment's spec: got %v, want InvalidArgument", err)
	}

	d, err := c.StorageV1().CSIDrivers().Create(ctx, &storagev1.CSIDriver{Metadata: &metav1.ObjectMeta{Name: "local.csi.skiff.dev"},
		Spec: &storagev1.CSIDriverSpec{AttachRequired: proto.Bool(false)}}, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sp := d.GetSpec(); sp.GetAttachRequired() || sp.PodInfoOnMount == nil || sp.GetFsGroupPolicy() != "ReadWriteOnceWithFSType" ||
		!slices.Equal(sp.GetVolumeLifecycleModes(), []string{"Persistent"}) {
		t.Errorf("driver defaults: %v", sp)
	}
}
