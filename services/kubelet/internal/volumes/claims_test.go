package volumes

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/csiname"
	"skiff.dev/services/kubelet/internal/csi"
	"skiff.dev/services/kubelet/internal/csi/csitest"
)

// storage serves fixed objects; absent ones are NotFound.
type storage struct {
	claims      map[string]*corev1.PersistentVolumeClaim
	pvs         map[string]*corev1.PersistentVolume
	drivers     map[string]*storagev1.CSIDriver
	attachments map[string]*storagev1.VolumeAttachment
}

func missing[T any](m map[string]T, name string) (T, error) {
	v, ok := m[name]
	if !ok {
		return v, &client.StatusError{Status: &metav1.Status{Reason: "NotFound", Code: 404, Message: name + " not found"}}
	}
	return v, nil
}

func (s *storage) Claim(_ context.Context, _, name string) (*corev1.PersistentVolumeClaim, error) {
	return missing(s.claims, name)
}
func (s *storage) Volume(_ context.Context, name string) (*corev1.PersistentVolume, error) {
	return missing(s.pvs, name)
}
func (s *storage) Driver(_ context.Context, name string) (*storagev1.CSIDriver, error) {
	return missing(s.drivers, name)
}
func (s *storage) Attachment(_ context.Context, name string) (*storagev1.VolumeAttachment, error) {
	return missing(s.attachments, name)
}

const testDriver = "local.csi.skiff.dev"

func claim(name, phase, pv string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "ns", Uid: "claim-" + name},
		Spec: &corev1.PersistentVolumeClaimSpec{VolumeName: pv}, Status: &corev1.PersistentVolumeClaimStatus{Phase: phase}}
}

func pv(name, claimName string, src *corev1.PersistentVolumeSource, mode string) *corev1.PersistentVolume {
	p := &corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{Name: name},
		Spec: &corev1.PersistentVolumeSpec{PersistentVolumeSource: src, AccessModes: []string{"ReadWriteOnce"},
			ClaimRef: &corev1.ObjectReference{Namespace: "ns", Name: claimName, Uid: "claim-" + claimName}}}
	if mode != "" {
		p.Spec.VolumeMode = &mode
	}
	return p
}

func csiSource(handle string) *corev1.PersistentVolumeSource {
	return &corev1.PersistentVolumeSource{Csi: &corev1.CSIPersistentVolumeSource{Driver: testDriver, VolumeHandle: handle, FsType: "ext4"}}
}

func readOnlyCSI(handle string) *corev1.PersistentVolumeSource {
	src := csiSource(handle)
	src.Csi.ReadOnly = true
	return src
}

func claimPod(uid, claimName string) *corev1.Pod {
	sa := "sa"
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "ns", Uid: uid},
		Spec: &corev1.PodSpec{ServiceAccountName: &sa, Volumes: []*corev1.Volume{{Name: "data",
			VolumeSource: &corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName}}}}}}
}

func TestClaims(t *testing.T) {
	hostDir := t.TempDir()
	yes, no := true, false
	st := &storage{
		claims: map[string]*corev1.PersistentVolumeClaim{
			"pending": claim("pending", "Pending", ""), "host": claim("host", "Bound", "pv-host"),
			"csi": claim("csi", "Bound", "pv-csi"), "attach": claim("attach", "Bound", "pv-attach"),
			"block": claim("block", "Bound", "pv-block"), "other": claim("other", "Bound", "pv-host"),
			"hostro": claim("hostro", "Bound", "pv-host-ro"), "csiro": claim("csiro", "Bound", "pv-csi-ro"),
		},
		pvs: map[string]*corev1.PersistentVolume{
			"pv-host":    pv("pv-host", "host", &corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir}}, ""),
			"pv-csi":     pv("pv-csi", "csi", csiSource("h-csi"), "Filesystem"),
			"pv-attach":  pv("pv-attach", "attach", csiSource("h-attach"), ""),
			"pv-block":   pv("pv-block", "block", csiSource("h-block"), "Block"),
			"pv-host-ro": pv("pv-host-ro", "hostro", &corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir}}, ""),
			"pv-csi-ro":  pv("pv-csi-ro", "csiro", readOnlyCSI("h-csi-ro"), ""),
		},
		drivers:     map[string]*storagev1.CSIDriver{},
		attachments: map[string]*storagev1.VolumeAttachment{},
	}
	f := &csitest.Node{Stage: true}
	root := t.TempDir()
	drivers := &csi.Drivers{Root: root}
	if err := drivers.RegisterPlugin(context.Background(), testDriver, csitest.Start(t, f), []string{"1.0.0"}); err != nil {
		t.Fatal(err)
	}
	m := &Manager{Root: root, Storage: st, CSI: drivers, NodeName: "node-a"}
	ctx := context.Background()
	tests := []struct {
		name, claim string
		before      func()
		err         string
		path        string
		// claimRO is the pod's persistentVolumeClaim.readOnly; wantRO
		// is the read-only flag Path must give the containers' mounts.
		claimRO, wantRO bool
	}{
		{name: "not bound", claim: "pending", err: "error processing PVC ns/pending: PVC is not bound"},
		{name: "missing", claim: "nope", err: `persistentvolumeclaim "nope" not found`},
		{name: "bound elsewhere", claim: "other", err: "does not point to claim.UID claim-other"},
		{name: "block", claim: "block", err: "volumeMode Block"},
		{name: "hostPath PV", claim: "host", path: hostDir},
		{name: "read-only claim of a hostPath PV", claim: "hostro", path: hostDir, claimRO: true, wantRO: true},
		{name: "no CSIDriver: waits for the attachment", claim: "attach", err: "waiting for VolumeAttachment " + csiname.AttachmentName("h-attach", testDriver, "node-a")},
		{name: "attached", claim: "attach", path: csi.TargetPath(root, "uid-attach", "pv-attach"), before: func() {
			st.attachments[csiname.AttachmentName("h-attach", testDriver, "node-a")] = &storagev1.VolumeAttachment{
				Status: &storagev1.VolumeAttachmentStatus{Attached: true, AttachmentMetadata: map[string]string{"dev": "/dev/x"}}}
		}},
		{name: "CSIDriver without attach, with pod info", claim: "csi", path: csi.TargetPath(root, "uid-csi", "pv-csi"), before: func() {
			st.drivers[testDriver] = &storagev1.CSIDriver{Spec: &storagev1.CSIDriverSpec{AttachRequired: &no, PodInfoOnMount: &yes}}
		}},
		{name: "read-only CSI PV", claim: "csiro", path: csi.TargetPath(root, "uid-csiro", "pv-csi-ro"), wantRO: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			pod := claimPod("uid-"+tt.claim, tt.claim)
			pod.Spec.Volumes[0].VolumeSource.PersistentVolumeClaim.ReadOnly = tt.claimRO
			err := m.SetUp(ctx, pod, "")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("SetUp: %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, ro, ok := m.Path(pod, "data"); !ok || got != tt.path || ro != tt.wantRO {
				t.Errorf("Path = %s, read-only %v, %v; want %s, read-only %v", got, ro, ok, tt.path, tt.wantRO)
			}
		})
	}
	for _, r := range f.All("NodePublishVolume") {
		pub := r.(*csipb.NodePublishVolumeRequest)
		switch pub.GetVolumeId() {
		case "h-attach":
			if pub.GetPublishContext()["dev"] != "/dev/x" || pub.GetVolumeContext()["csi.storage.k8s.io/pod.uid"] != "" {
				t.Errorf("attached volume published with %v", pub)
			}
		case "h-csi-ro":
			if !pub.GetReadonly() {
				t.Errorf("read-only PV published read-write: %v", pub)
			}
		case "h-csi":
			if pub.GetVolumeContext()["csi.storage.k8s.io/pod.uid"] != "uid-csi" || pub.GetVolumeContext()["csi.storage.k8s.io/serviceAccount.name"] != "sa" {
				t.Errorf("pod info missing: %v", pub.GetVolumeContext())
			}
		}
	}
	// A second SetUp of a set-up pod calls nobody.
	n := len(f.Calls())
	if err := m.SetUp(ctx, claimPod("uid-csi", "csi"), ""); err != nil || len(f.Calls()) != n {
		t.Errorf("repeated SetUp: %v, calls %q", err, f.Calls()[n:])
	}
	if err := m.TearDown(ctx, "uid-csi"); err != nil {
		t.Fatal(err)
	}
	if got := f.Calls()[n:]; !slices.Equal(got, []string{"NodeUnpublishVolume", "NodeUnstageVolume"}) {
		t.Errorf("tear-down calls = %q", got)
	}
	if left, _ := filepath.Glob(filepath.Join(root, "pods", "uid-csi", "volumes", "*")); len(left) != 0 {
		t.Errorf("left after tear-down: %q", left)
	}
}
