package provisioner

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"

	"skiff.dev/plugins/csi/internal/driver"
	"skiff.dev/plugins/csi/internal/volumes"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// env is a provisioner for node-a over a real driver served on a socket.
type env struct {
	p       *Provisioner
	cc      csi.ControllerClient
	client  kubernetes.Interface
	dataDir string
	kicks   int
}

func newEnv(t *testing.T, capacity int64, objects ...runtime.Object) *env {
	t.Helper()
	dir := t.TempDir()
	store, err := volumes.Open(filepath.Join(dir, "data"), capacity)
	if err != nil {
		t.Fatal(err)
	}
	d := driver.New(driver.Config{NodeID: "node-a"}, store)
	l, err := driver.Listen(filepath.Join(dir, "csi.sock"))
	if err != nil {
		t.Fatal(err)
	}
	srv := d.NewServer(quiet)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, name, err := Connect(ctx, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if name != driver.Name {
		t.Fatalf("driver name %q", name)
	}
	e := &env{cc: csi.NewControllerClient(conn), dataDir: filepath.Join(dir, "data")}
	e.client = fake.NewClientset(objects...)
	cfg := Config{Driver: driver.Name, Node: "node-a", TopologyKey: driver.TopologyKey, Identity: "test"}
	e.p = New(cfg, e.cc, e.client, quiet, func() { e.kicks++ })
	return e
}

func claim(name, node string, size string, modes ...v1.PersistentVolumeAccessMode) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: "uid-" + types.UID(name), Annotations: map[string]string{}},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes: modes,
			Resources:   v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	if node != "" {
		c.Annotations[AnnSelectedNode] = node
	}
	return c
}

func class(reclaim v1.PersistentVolumeReclaimPolicy) *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:    metav1.ObjectMeta{Name: "standard"},
		Provisioner:   driver.Name,
		ReclaimPolicy: &reclaim,
		Parameters:    map[string]string{"csi.storage.k8s.io/fstype": "ignored", "tier": "fast"},
	}
}

func TestShouldProvisionAndDelete(t *testing.T) {
	e := newEnv(t, 1<<30)
	ctx := context.Background()
	for _, tc := range []struct {
		node string
		want bool
	}{{"node-a", true}, {"", true}, {"node-b", false}} {
		if got := e.p.ShouldProvision(ctx, claim("c", tc.node, "1Mi", v1.ReadWriteOnce)); got != tc.want {
			t.Errorf("ShouldProvision(selected %q) = %t", tc.node, got)
		}
	}
	pv := func(drv, node string) *v1.PersistentVolume {
		affinity, _ := nodeAffinity([]*csi.Topology{{Segments: map[string]string{driver.TopologyKey: node}}})
		return &v1.PersistentVolume{Spec: v1.PersistentVolumeSpec{
			NodeAffinity:           affinity,
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{Driver: drv, VolumeHandle: "h"}},
		}}
	}
	for _, tc := range []struct {
		pv   *v1.PersistentVolume
		want bool
	}{
		{pv(driver.Name, "node-a"), true},
		{pv(driver.Name, "node-b"), false},
		{pv("other.csi", "node-a"), false},
		{&v1.PersistentVolume{}, false},
	} {
		if got := e.p.ShouldDelete(ctx, tc.pv); got != tc.want {
			t.Errorf("ShouldDelete(%v) = %t", tc.pv.Spec, got)
		}
	}
}

func TestProvisionAndDelete(t *testing.T) {
	e := newEnv(t, 1<<30)
	ctx := context.Background()
	opts := controller.ProvisionOptions{
		StorageClass: class(v1.PersistentVolumeReclaimRetain), PVName: "pvc-1",
		PVC: claim("data", "node-a", "10Mi", v1.ReadWriteOnce), SelectedNodeName: "node-a",
	}
	pv, state, err := e.p.Provision(ctx, opts)
	if err != nil || state != controller.ProvisioningFinished {
		t.Fatalf("Provision = %v, %v", state, err)
	}
	if pv.Name != "pvc-1" || pv.Spec.CSI.Driver != driver.Name || pv.Spec.CSI.VolumeHandle != "pvc-1" ||
		pv.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimRetain ||
		pv.Spec.Capacity.Storage().Value() != 10<<20 || nodeOf(pv, driver.TopologyKey) != "node-a" ||
		pv.Spec.CSI.VolumeAttributes[attrIdentity] != "test" || pv.Spec.AccessModes[0] != v1.ReadWriteOnce {
		t.Fatalf("PV %+v", pv.Spec)
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "pvc-1")); err != nil {
		t.Fatalf("no volume directory: %v", err)
	}
	vol, err := volumes.Open(e.dataDir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := vol.Get("pvc-1")
	if err != nil || rec.Parameters["tier"] != "fast" || rec.Parameters[paramPVCName] != "data" || rec.Parameters["csi.storage.k8s.io/fstype"] != "" {
		t.Fatalf("parameters the driver got: %+v, %v", rec, err)
	}
	if err := e.p.Delete(ctx, pv); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "pvc-1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the volume directory is left: %v", err)
	}
	if e.kicks != 2 {
		t.Fatalf("capacity refreshes asked %d times, want 2", e.kicks)
	}
}

func TestProvisionFailures(t *testing.T) {
	block := v1.PersistentVolumeBlock
	blockClaim := claim("b", "node-a", "1Mi", v1.ReadWriteOnce)
	blockClaim.Spec.VolumeMode = &block
	for _, tc := range []struct {
		name      string
		claim     *v1.PersistentVolumeClaim
		selected  string
		wantState controller.ProvisioningState
		ignored   bool
	}{
		{"another node's claim", claim("o", "node-b", "1Mi", v1.ReadWriteOnce), "node-b", controller.ProvisioningFinished, true},
		{"too big, with a selected node", claim("big", "node-a", "2Gi", v1.ReadWriteOnce), "node-a", controller.ProvisioningReschedule, false},
		{"ReadWriteMany", claim("rwx", "node-a", "1Mi", v1.ReadWriteMany), "node-a", controller.ProvisioningFinished, false},
		{"block", blockClaim, "node-a", controller.ProvisioningFinished, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 1<<30)
			_, state, err := e.p.Provision(context.Background(), controller.ProvisionOptions{
				StorageClass: class(v1.PersistentVolumeReclaimDelete), PVName: "pvc-" + tc.claim.Name, PVC: tc.claim, SelectedNodeName: tc.selected,
			})
			var ign *controller.IgnoredError
			if err == nil || state != tc.wantState || errors.As(err, &ign) != tc.ignored {
				t.Fatalf("Provision = %v, %v", state, err)
			}
		})
	}
}

func TestImmediateClaimIsTaken(t *testing.T) {
	c := claim("now", "", "1Mi", v1.ReadWriteOnce)
	e := newEnv(t, 1<<30, c)
	ctx := context.Background()
	pv, _, err := e.p.Provision(ctx, controller.ProvisionOptions{StorageClass: class(v1.PersistentVolumeReclaimDelete), PVName: "pvc-now", PVC: c})
	if err != nil || nodeOf(pv, driver.TopologyKey) != "node-a" {
		t.Fatalf("Provision = %v, %v", pv, err)
	}
	got, err := e.client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "now", metav1.GetOptions{})
	if err != nil || got.Annotations[AnnSelectedNode] != "node-a" {
		t.Fatalf("the claim was not marked for node-a: %v, %v", got.Annotations, err)
	}
}

func provisionOpts(pvName, size string) controller.ProvisionOptions {
	return controller.ProvisionOptions{
		StorageClass: class(v1.PersistentVolumeReclaimDelete), PVName: pvName,
		PVC: claim(pvName, "node-a", size, v1.ReadWriteOnce), SelectedNodeName: "node-a",
	}
}
