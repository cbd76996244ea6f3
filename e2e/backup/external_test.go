package backup

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"skiff.dev/e2e/framework"
)

// etcdTools builds etcd's own etcdctl and etcdutl from the module
// tools/etcd pins, as `make etcd-tools` does, into the test's directory.
func etcdTools(t *testing.T) (etcdctl, etcdutl string) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"etcdctl", "etcdutl"} {
		cmd := exec.Command("go", "build", "-C", "../../tools/etcd", "-o", filepath.Join(dir, name), "go.etcd.io/etcd/"+name+"/v3")
		cmd.Env = append(cmd.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
	}
	return filepath.Join(dir, "etcdctl"), filepath.Join(dir, "etcdutl")
}

// runTool runs one of etcd's tools, failing the test when it fails.
func runTool(t *testing.T, bin string, args ...string) {
	t.Helper()
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
}

// restoredCluster restores snap into a new cluster of n members with
// etcdutl, the revision bumped and compacted as docs/backup.md says,
// starts them and returns their client URLs.
func restoredCluster(t *testing.T, etcdutl, snap string, n int) []string {
	t.Helper()
	peers, clients, initial := make([]string, n), make([]string, n), make([]string, n)
	for i := range n {
		peers[i] = "http://127.0.0.1:" + strconv.Itoa(framework.FreePort(t))
		clients[i] = "http://127.0.0.1:" + strconv.Itoa(framework.FreePort(t))
		initial[i] = fmt.Sprintf("r%d=%s", i, peers[i])
	}
	cluster := strings.Join(initial, ",")
	for i := range n {
		dir := filepath.Join(t.TempDir(), "member")
		runTool(t, etcdutl, "snapshot", "restore", snap, "--name", fmt.Sprintf("r%d", i), "--data-dir", dir,
			"--initial-cluster", cluster, "--initial-advertise-peer-urls", peers[i], "--initial-cluster-token", "skiff-restored",
			"--bump-revision", "1000000000", "--mark-compacted")
		framework.StartBinary(t, fmt.Sprintf("etcd r%d", i), framework.EtcdBinary(t),
			"--name", fmt.Sprintf("r%d", i), "--data-dir", dir,
			"--listen-client-urls", clients[i], "--advertise-client-urls", clients[i],
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i], "--log-level", "warn")
	}
	for _, c := range clients {
		framework.Eventually(t, 60*time.Second, "restored etcd "+c+" healthy", func() error {
			resp, err := http.Get(c + "/health")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("health: %s", resp.Status)
			}
			return nil
		})
	}
	return clients
}

// TestExternalEtcdBackupAndRestore: an apiserver's objects in an external
// 3-member etcd, snapshotted with etcdctl from one member and with
// etcd-snapshot from another, come back in a new 3-member cluster that
// etcdutl restored each member of, resourceVersions moving forward; and
// the same snapshot moves the cluster onto an apiserver's embedded etcd.
func TestExternalEtcdBackupAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	bin := tool(t)
	etcdctl, etcdutl := etcdTools(t)
	etcd := framework.StartEtcdCluster(t, 3)
	srv := framework.StartAPIServer(t, "--etcd-servers="+strings.Join(etcd.Endpoints(), ","))
	cs := kubernetes.NewForConfigOrDie(srv.RESTConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	objects := createObjects(ctx, t, cs, 25)
	_, lastBefore := listObjects(ctx, t, cs)

	snap := filepath.Join(t.TempDir(), "etcdctl.db")
	runTool(t, etcdctl, "--endpoints", etcd.Members[0].ClientURL, "snapshot", "save", snap)
	mustRun(t, bin, "status", snap)
	ours := filepath.Join(t.TempDir(), "etcd-snapshot.db")
	mustRun(t, bin, "save", "--endpoints", etcd.Members[1].ClientURL, ours)
	srv.Stop()
	for _, m := range etcd.Members {
		m.Kill()
	}

	t.Run("etcdutl into a new cluster", func(t *testing.T) {
		clients := restoredCluster(t, etcdutl, snap, 3)
		srv.Flags = []string{"--etcd-servers=" + strings.Join(clients, ",")}
		srv.Start()
		defer srv.Stop()
		got, listRV := listObjects(ctx, t, cs)
		if err := sameObjects(got, objects); err != nil {
			t.Fatal(err)
		}
		if listRV <= lastBefore {
			t.Errorf("list resourceVersion %d after the restore, want more than %d", listRV, lastBefore)
		}
	})
	t.Run("etcd-snapshot into embedded etcd", func(t *testing.T) {
		embedded := t.TempDir()
		copyDataDir(t, srv.DataDir, embedded)
		mustRun(t, bin, "restore", "--data-dir", embedded, ours)
		srv.Flags, srv.DataDir = nil, embedded
		srv.Start()
		got, listRV := listObjects(ctx, t, cs)
		if err := sameObjects(got, objects); err != nil {
			t.Fatal(err)
		}
		if listRV <= lastBefore {
			t.Errorf("list resourceVersion %d after the restore, want more than %d", listRV, lastBefore)
		}
	})
}
