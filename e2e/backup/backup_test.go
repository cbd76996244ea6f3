// Package backup tests etcd-snapshot, the apiserver's etcd backup and
// restore, against real apiserver processes: a cluster's objects
// snapshotted while it serves, restored into a fresh data directory and
// served again by an apiserver on the same address, resourceVersions
// moving forward so a client-go informer watching since before the
// snapshot relists instead of resuming in a past that no longer exists.
package backup

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	skiffcorev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/informer"
)

// TestMain removes the binaries the tests built.
func TestMain(m *testing.M) { framework.Main(m) }

const (
	// namespaces hold the ConfigMaps backed up.
	namespaces = 4
	// label marks them, so lists and the informer see only them.
	label = "skiff.dev/backup-test"
)

// tool builds etcd-snapshot into the test's directory.
func tool(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "etcd-snapshot")
	cmd := exec.Command("go", "build", "-o", bin, "skiff.dev/services/apiserver/cmd/etcd-snapshot")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build etcd-snapshot: %v\n%s", err, out)
	}
	return bin
}

// run runs etcd-snapshot and returns its output and error.
func run(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

// mustRun runs etcd-snapshot, failing the test when it fails.
func mustRun(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := run(bin, args...)
	if err != nil {
		t.Fatalf("etcd-snapshot %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("etcd-snapshot %s: %s", args[0], strings.TrimSpace(out))
	return out
}

// wantFailure runs etcd-snapshot expecting exit code 1 and a message.
func wantFailure(t *testing.T, bin, want string, args ...string) {
	t.Helper()
	out, err := run(bin, args...)
	if code := exitCode(err); code != 1 || !strings.Contains(out, want) {
		t.Fatalf("etcd-snapshot %s: exit %d, %q; want exit 1 saying %q", strings.Join(args, " "), code, out, want)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// want is the data of every ConfigMap the test made, by namespace/name.
type want map[string]map[string]string

// createObjects makes perNamespace ConfigMaps in each of the namespaces,
// a writer per namespace.
func createObjects(ctx context.Context, t *testing.T, cs kubernetes.Interface, perNamespace int) want {
	t.Helper()
	objects := want{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, namespaces)
	for n := range namespaces {
		ns := fmt.Sprintf("backup-%d", n)
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for i := range perNamespace {
				name := fmt.Sprintf("cm-%03d", i)
				data := map[string]string{"index": strconv.Itoa(i), "payload": strings.Repeat(ns+"/"+name+";", 8)}
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{label: "objects"}}, Data: data}
				if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("create %s/%s: %w", ns, name, err)
					return
				}
				mu.Lock()
				objects[ns+"/"+name] = data
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return objects
}

// listObjects lists the labelled ConfigMaps and returns them and the
// list's resourceVersion.
func listObjects(ctx context.Context, t *testing.T, cs kubernetes.Interface) (want, int64) {
	t.Helper()
	list, err := cs.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{LabelSelector: label})
	if err != nil {
		t.Fatal(err)
	}
	got := want{}
	for _, cm := range list.Items {
		got[cm.Namespace+"/"+cm.Name] = cm.Data
	}
	return got, rv(t, list.ResourceVersion)
}

func rv(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", s, err)
	}
	return n
}

// sameObjects says how got differs from w, or nil.
func sameObjects(got, w want) error {
	if len(got) != len(w) {
		return fmt.Errorf("%d objects, want %d", len(got), len(w))
	}
	for key, data := range w {
		g, ok := got[key]
		if !ok {
			return fmt.Errorf("%s is missing", key)
		}
		if fmt.Sprint(g) != fmt.Sprint(data) {
			return fmt.Errorf("%s has data %v, want %v", key, g, data)
		}
	}
	return nil
}

// lists counts how often an informer listed: a List call, or a watch
// that streams the current state first (client-go's watch-list).
type lists struct{ n atomic.Int32 }

// informer starts a client-go informer on the labelled ConfigMaps whose
// lists and initial-state watches are counted.
func (l *lists) informer(ctx context.Context, t *testing.T, cs kubernetes.Interface) cache.SharedIndexInformer {
	t.Helper()
	cms := cs.CoreV1().ConfigMaps("")
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			l.n.Add(1)
			o.LabelSelector = label
			return cms.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			if o.SendInitialEvents != nil && *o.SendInitialEvents {
				l.n.Add(1)
			}
			o.LabelSelector = label
			return cms.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &corev1.ConfigMap{}, 0, cache.Indexers{})
	go inf.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("the informer did not sync")
	}
	return inf
}

// storeObjects is what the informer holds.
func storeObjects(inf cache.SharedIndexInformer) want {
	got := want{}
	for _, o := range inf.GetStore().List() {
		cm := o.(*corev1.ConfigMap)
		got[cm.Namespace+"/"+cm.Name] = cm.Data
	}
	return got
}

// skiffInformer starts the informer Skiff's own components use (gRPC,
// pkg/informer) on the labelled ConfigMaps; it stops with ctx.
func skiffInformer(ctx context.Context, t *testing.T, srv *framework.APIServer) *informer.Informer[*skiffcorev1.ConfigMap] {
	t.Helper()
	inf := informer.New(informer.FromResource(srv.Client().CoreV1().ConfigMaps("")),
		informer.Options[*skiffcorev1.ConfigMap]{LabelSelector: label})
	done := make(chan error, 1)
	go func() { done <- inf.Start(ctx) }()
	t.Cleanup(func() { <-done })
	if !inf.WaitForSync(ctx) {
		t.Fatal("the Skiff informer did not sync")
	}
	return inf
}

// skiffStoreObjects is what the Skiff informer holds.
func skiffStoreObjects(inf *informer.Informer[*skiffcorev1.ConfigMap]) want {
	got := want{}
	for _, cm := range inf.Store().List() {
		data := cm.GetData()
		if len(data) == 0 {
			data = nil
		}
		got[cm.GetMetadata().GetNamespace()+"/"+cm.GetMetadata().GetName()] = data
	}
	return got
}

// copyDataDir copies an apiserver's data directory but its etcd (the
// certificates, service-account key, tokens and kubeconfigs), which is
// what keeps the restored cluster's identity and credentials.
func copyDataDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if rel == "etcd" {
			return filepath.SkipDir
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o600)
	})
	if err != nil {
		t.Fatalf("copy the data directory: %v", err)
	}
}

// TestBackupAndRestore: 1,000 ConfigMaps snapshotted from a running
// apiserver's embedded etcd are all there, with their data, after a
// restore into a fresh data directory; every resourceVersion after it is
// greater than any before; a watch from before gets 410 Gone, and an
// informer running across the restore relists, dropping the object
// written after the snapshot. A snapshot taken offline restores too, and
// bad input is refused without touching anything.
func TestBackupAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	bin := tool(t)
	srv := framework.StartAPIServer(t)
	cfg := srv.RESTConfig()
	cfg.QPS, cfg.Burst = 500, 1000
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	objects := createObjects(ctx, t, cs, 250) // 1,000 in all
	var l lists
	infCtx, stopInformer := context.WithCancel(ctx)
	defer stopInformer()
	inf := l.informer(infCtx, t, cs)
	listsBefore := l.n.Load()
	skiffInf := skiffInformer(infCtx, t, srv)

	snap := filepath.Join(t.TempDir(), "snapshot.db")
	mustRun(t, bin, "save", "--data-dir", srv.DataDir, snap)
	wantFailure(t, bin, "exists", "save", "--data-dir", srv.DataDir, snap)
	wantFailure(t, bin, "in use", "save", "--offline", "--data-dir", srv.DataDir, filepath.Join(t.TempDir(), "offline.db"))

	// Written after the snapshot: the restored cluster never saw it, and
	// the informer, which did, must forget it.
	late, err := cs.CoreV1().ConfigMaps("backup-0").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: "after-snapshot", Labels: map[string]string{label: "late"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lastBefore := rv(t, late.ResourceVersion)
	framework.Eventually(t, 30*time.Second, "the informers see the late object", func() error {
		if _, ok := storeObjects(inf)["backup-0/after-snapshot"]; !ok {
			return fmt.Errorf("not client-go's yet")
		}
		if _, ok := skiffStoreObjects(skiffInf)["backup-0/after-snapshot"]; !ok {
			return fmt.Errorf("not Skiff's yet")
		}
		return nil
	})

	srv.Stop()
	restored := t.TempDir()
	copyDataDir(t, srv.DataDir, restored)
	mustRun(t, bin, "restore", "--data-dir", restored, snap)
	srv.DataDir = restored
	srv.Start() // same address: the informer reconnects on its own

	t.Run("every object is back", func(t *testing.T) {
		got, listRV := listObjects(ctx, t, cs)
		if err := sameObjects(got, objects); err != nil {
			t.Fatal(err)
		}
		if listRV <= lastBefore {
			t.Errorf("list resourceVersion %d after the restore, want more than %d", listRV, lastBefore)
		}
	})
	t.Run("resourceVersions move forward", func(t *testing.T) {
		cm, err := cs.CoreV1().ConfigMaps("backup-1").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name: "after-restore", Labels: map[string]string{label: "new"}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		objects["backup-1/after-restore"] = nil
		if got := rv(t, cm.ResourceVersion); got <= lastBefore {
			t.Errorf("a write after the restore got resourceVersion %d, want more than %d", got, lastBefore)
		}
	})
	t.Run("a watch from before the restore gets 410", func(t *testing.T) {
		w, err := cs.CoreV1().ConfigMaps("").Watch(ctx, metav1.ListOptions{ResourceVersion: strconv.FormatInt(lastBefore, 10)})
		if err == nil {
			defer w.Stop()
			ev := <-w.ResultChan()
			if ev.Type == watch.Error {
				err = apierrors.FromObject(ev.Object)
			} else {
				err = fmt.Errorf("got a %s event", ev.Type)
			}
		}
		if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
			t.Fatalf("watch from resourceVersion %d: %v, want 410 Gone (Expired)", lastBefore, err)
		}
	})
	t.Run("the informers relisted", func(t *testing.T) {
		framework.Eventually(t, 90*time.Second, "client-go's informer holds the restored objects", func() error {
			if n := l.n.Load(); n <= listsBefore {
				return fmt.Errorf("it listed %d times, as before the restore", n)
			}
			return sameObjects(storeObjects(inf), objects)
		})
		// No event deletes the late object: only a list can tell.
		framework.Eventually(t, 90*time.Second, "Skiff's informer holds the restored objects", func() error {
			return sameObjects(skiffStoreObjects(skiffInf), objects)
		})
	})
	t.Run("bad input", func(t *testing.T) {
		corrupt := filepath.Join(t.TempDir(), "corrupt.db")
		data, err := os.ReadFile(snap)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/3] ^= 0x5a
		if err := os.WriteFile(corrupt, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fresh := t.TempDir()
		wantFailure(t, bin, "is corrupt", "restore", "--data-dir", fresh, corrupt)
		wantFailure(t, bin, "is corrupt", "status", corrupt)
		if entries, _ := os.ReadDir(fresh); len(entries) != 0 {
			t.Errorf("a refused restore left %d entries in %s", len(entries), fresh)
		}
	})
	t.Run("offline snapshot", func(t *testing.T) {
		stopInformer()
		srv.Stop()
		db := filepath.Join(restored, "etcd", "data", "member", "snap", "db")
		sum := fileSum(t, db)
		wantFailure(t, bin, "already holds etcd data", "restore", "--data-dir", restored, snap)
		if fileSum(t, db) != sum {
			t.Fatalf("a refused restore changed %s", db)
		}
		offline := filepath.Join(t.TempDir(), "offline.db")
		mustRun(t, bin, "save", "--offline", "--data-dir", restored, offline)
		again := t.TempDir()
		copyDataDir(t, restored, again)
		mustRun(t, bin, "restore", "--data-dir", again, offline)
		srv.DataDir = again
		srv.Start()
		got, _ := listObjects(ctx, t, cs)
		if err := sameObjects(got, objects); err != nil {
			t.Fatal(err)
		}
	})
}

// fileSum is a file's SHA-256, to tell it was not touched.
func fileSum(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}
