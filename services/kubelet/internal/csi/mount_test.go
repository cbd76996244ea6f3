package csi

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"

	"skiff.dev/services/kubelet/internal/csi/csitest"
)

const driver = "local.csi.skiff.dev"

func registered(t *testing.T, f *csitest.Node) (*Drivers, *csitest.NodeInfo) {
	t.Helper()
	ni := &csitest.NodeInfo{}
	d := &Drivers{Root: t.TempDir(), NodeInfo: ni}
	sock := csitest.Start(t, f)
	if err := d.ValidatePlugin(driver, sock, []string{"1.0.0"}); err != nil {
		t.Fatal(err)
	}
	if err := d.RegisterPlugin(context.Background(), driver, sock, []string{"1.0.0"}); err != nil {
		t.Fatal(err)
	}
	return d, ni
}

func volume() *Volume {
	return &Volume{Driver: driver, Handle: "vol-1", PVName: "pv-1", FSType: "ext4", MountFlags: []string{"noatime"},
		AccessModes: []string{"ReadWriteOnce"}, VolumeContext: map[string]string{"csi.storage.k8s.io/pod.name": "p"}, ReadOnly: true}
}

func TestSetUpAndTearDown(t *testing.T) {
	tests := []struct {
		name         string
		stage        bool
		failPublish  int
		setUpCalls   []string
		tearDownCall []string
	}{
		{"staging driver", true, 0,
			[]string{"NodeGetInfo", "NodeStageVolume", "NodePublishVolume"},
			[]string{"NodeUnpublishVolume", "NodeUnstageVolume"}},
		{"no staging", false, 0,
			[]string{"NodeGetInfo", "NodePublishVolume"},
			[]string{"NodeUnpublishVolume"}},
		{"publish retried", true, 1,
			[]string{"NodeGetInfo", "NodeStageVolume", "NodePublishVolume", "NodeStageVolume", "NodePublishVolume"},
			[]string{"NodeUnpublishVolume", "NodeUnstageVolume"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &csitest.Node{Stage: tt.stage, FailPublish: tt.failPublish}
			d, _ := registered(t, f)
			ctx := context.Background()
			target, err := d.SetUp(ctx, volume(), "uid-1")
			for range tt.failPublish {
				if err == nil {
					t.Fatal("SetUp succeeded while the driver fails")
				}
				target, err = d.SetUp(ctx, volume(), "uid-1")
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(d.Root, "pods/uid-1/volumes/kubernetes.io~csi/pv-1/mount"); target != want {
				t.Errorf("target = %s, want %s", target, want)
			}
			if got := f.Calls(); !slices.Equal(got, tt.setUpCalls) {
				t.Errorf("set-up calls = %q, want %q", got, tt.setUpCalls)
			}
			checkPublish(t, f.Last("NodePublishVolume").(*csipb.NodePublishVolumeRequest), d.Root, target, tt.stage)
			if got := Published(d.Root, "uid-1"); !slices.Equal(got, []string{"pv-1"}) {
				t.Errorf("Published = %q", got)
			}
			n := len(f.Calls())
			if err := d.TearDown(ctx, "uid-1", "pv-1"); err != nil {
				t.Fatal(err)
			}
			if got := f.Calls()[n:]; !slices.Equal(got, tt.tearDownCall) {
				t.Errorf("tear-down calls = %q, want %q", got, tt.tearDownCall)
			}
			if _, err := os.Stat(filepath.Dir(target)); !os.IsNotExist(err) {
				t.Errorf("the volume's directory is left: %v", err)
			}
			// A second tear-down (a retry after a restart) calls nobody.
			n = len(f.Calls())
			if err := d.TearDown(ctx, "uid-1", "pv-1"); err != nil || len(f.Calls()) != n {
				t.Errorf("repeated tear-down: err %v, calls %q", err, f.Calls()[n:])
			}
		})
	}
}

func checkPublish(t *testing.T, r *csipb.NodePublishVolumeRequest, root, target string, staged bool) {
	t.Helper()
	wantStaging := ""
	if staged {
		wantStaging = StagingPath(root, driver, "vol-1")
	}
	switch {
	case r.GetVolumeId() != "vol-1", r.GetTargetPath() != target, !r.GetReadonly(),
		r.GetStagingTargetPath() != wantStaging,
		r.GetVolumeCapability().GetMount().GetFsType() != "ext4",
		!slices.Equal(r.GetVolumeCapability().GetMount().GetMountFlags(), []string{"noatime"}),
		r.GetVolumeCapability().GetAccessMode().GetMode() != csipb.VolumeCapability_AccessMode_SINGLE_NODE_WRITER,
		r.GetVolumeContext()["csi.storage.k8s.io/pod.name"] != "p":
		t.Errorf("NodePublishVolume request = %v", r)
	}
}

// Unstage waits for the last pod on the node using the volume.
func TestUnstageAfterTheLastPod(t *testing.T) {
	f := &csitest.Node{Stage: true}
	d, _ := registered(t, f)
	ctx := context.Background()
	for _, uid := range []string{"a", "b"} {
		if _, err := d.SetUp(ctx, volume(), uid); err != nil {
			t.Fatal(err)
		}
	}
	if got := VolumesInUse(d.Root); !slices.Equal(got, []string{"kubernetes.io/csi/" + driver + "^vol-1"}) {
		t.Errorf("VolumesInUse = %q", got)
	}
	if got := PodsWithVolumes(d.Root); len(got) != 2 {
		t.Errorf("PodsWithVolumes = %q", got)
	}
	n := len(f.Calls())
	if err := d.TearDown(ctx, "a", "pv-1"); err != nil {
		t.Fatal(err)
	}
	if got := f.Calls()[n:]; !slices.Equal(got, []string{"NodeUnpublishVolume"}) {
		t.Errorf("first pod's tear-down = %q", got)
	}
	if err := d.TearDown(ctx, "b", "pv-1"); err != nil {
		t.Fatal(err)
	}
	if got := f.Calls()[n+1:]; !slices.Equal(got, []string{"NodeUnpublishVolume", "NodeUnstageVolume"}) {
		t.Errorf("last pod's tear-down = %q", got)
	}
	if got := VolumesInUse(d.Root); len(got) != 0 {
		t.Errorf("VolumesInUse after the last pod = %q", got)
	}
}

func TestRegistration(t *testing.T) {
	f := &csitest.Node{}
	d, ni := registered(t, f)
	if got := ni.Installed[driver]; got.GetNodeId() != "node-1" || got.GetMaxVolumesPerNode() != 7 {
		t.Errorf("installed %v", got)
	}
	ep, _ := d.Endpoint(driver)
	d.DeRegisterPlugin(context.Background(), driver, ep)
	if _, ok := d.Endpoint(driver); ok || len(ni.Installed) != 0 {
		t.Error("the driver is still registered")
	}
	if _, err := d.SetUp(context.Background(), volume(), "u"); err == nil {
		t.Error("SetUp with an unregistered driver succeeded")
	}
	for _, v := range [][]string{nil, {"0.3.0"}, {"2.0.0"}} {
		if err := d.ValidatePlugin(driver, "/x.sock", v); err == nil {
			t.Errorf("versions %q accepted", v)
		}
	}
}

// A pod's tear-down does not unstage a volume another pod is staging:
// it waits for the other's record.
func TestTearDownWaitsForAStagingPod(t *testing.T) {
	f := &csitest.Node{Stage: true}
	d, _ := registered(t, f)
	waiting := make(chan struct{}, 1)
	d.onVolumeWait = func() { waiting <- struct{}{} }
	ctx := context.Background()
	if _, err := d.SetUp(ctx, volume(), "a"); err != nil {
		t.Fatal(err)
	}
	entered, release := f.Gate("NodeStageVolume")
	defer release()
	setUp := make(chan error, 1)
	go func() {
		_, err := d.SetUp(ctx, volume(), "b")
		setUp <- err
	}()
	<-entered
	tearDown := make(chan error, 1)
	go func() { tearDown <- d.TearDown(ctx, "a", "pv-1") }()
	select {
	case err := <-tearDown:
		t.Fatalf("pod a's tear-down ended (err %v) while pod b was staging; calls %q", err, f.Calls())
	case <-waiting:
	}
	release()
	if err := <-setUp; err != nil {
		t.Fatal(err)
	}
	if err := <-tearDown; err != nil {
		t.Fatal(err)
	}
	if n := len(f.All("NodeUnstageVolume")); n != 0 {
		t.Errorf("the volume pod b uses was unstaged %d times", n)
	}
}
