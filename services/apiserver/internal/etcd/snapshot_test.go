package etcd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// startWithKeys runs an embedded member in a fresh directory with n keys
// and returns it, the revision of the last write and how to stop it
// (once, before the test ends or when it does).
func startWithKeys(t *testing.T, n int) (*Embedded, int64, func()) {
	t.Helper()
	e, err := Start(context.Background(), EmbedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	stop := sync.OnceFunc(func() { _ = e.Close() })
	t.Cleanup(stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rev int64
	for i := range n {
		resp, err := e.Client().Put(ctx, fmt.Sprintf("/registry/configmaps/default/cm-%d", i), fmt.Sprintf("value-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	return e, rev, stop
}

// saveOnline snapshots a running member through its client URL, as the
// command does for a running apiserver.
func saveOnline(t *testing.T, e *Embedded, dir string) string {
	t.Helper()
	cfg, err := EmbeddedClientConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "snapshot.db")
	if _, err := SaveSnapshot(context.Background(), cfg, file); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestRestoreMovesTheRevisionForward: a member restored from an online
// snapshot has every key, its revision past the snapshot's by the bump,
// and reads and watches from before it answer "compacted", which the
// apiserver turns into 410 Gone.
func TestRestoreMovesTheRevisionForward(t *testing.T) {
	const keys, bump = 50, 1000
	e, last, _ := startWithKeys(t, keys)
	file := saveOnline(t, e, filepath.Dir(e.server.Config().Dir))
	st, err := SnapshotStatus(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Revision != last {
		t.Errorf("snapshot at revision %d, the last write was %d", st.Revision, last)
	}

	dir := filepath.Join(t.TempDir(), "etcd")
	if err := Restore(RestoreConfig{Snapshot: file, Dir: dir, RevisionBump: bump}); err != nil {
		t.Fatal(err)
	}
	r, err := Start(context.Background(), EmbedConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := r.Client().Get(ctx, "/registry/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != keys {
		t.Errorf("%d keys after the restore, want %d", len(resp.Kvs), keys)
	}
	if resp.Header.Revision < last+bump {
		t.Errorf("revision %d after the restore, want at least %d", resp.Header.Revision, last+bump)
	}
	if _, err := r.Client().Get(ctx, "/registry/", clientv3.WithPrefix(), clientv3.WithRev(last)); !errors.Is(err, rpctypes.ErrCompacted) {
		t.Errorf("a read at the snapshot's revision: %v, want %v", err, rpctypes.ErrCompacted)
	}
	w := r.Client().Watch(ctx, "/registry/", clientv3.WithPrefix(), clientv3.WithRev(last))
	if wr := <-w; wr.CompactRevision == 0 {
		t.Errorf("a watch from the snapshot's revision: %+v, want it compacted", wr)
	}
}

// TestOfflineSnapshot: a stopped member's database is copied into a
// snapshot a restore takes; a running one's is refused.
func TestOfflineSnapshot(t *testing.T) {
	e, _, stop := startWithKeys(t, 10)
	dir := e.server.Config().Dir
	file := filepath.Join(t.TempDir(), "offline.db")
	if err := SaveOffline(dir, file); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("offline snapshot of a running member: %v, want it refused as in use", err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused offline snapshot left %s: %v", file, err)
	}
	stop()
	if err := SaveOffline(dir, file); err != nil {
		t.Fatal(err)
	}
	if st, err := SnapshotStatus(file); err != nil || st.TotalKey < 10 {
		t.Fatalf("status of the offline snapshot: %+v, %v", st, err)
	}
	if err := SaveOffline(dir, file); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second save onto the same file: %v, want it refused", err)
	}
	if err := Restore(RestoreConfig{Snapshot: file, Dir: filepath.Join(t.TempDir(), "etcd"), RevisionBump: 10}); err != nil {
		t.Fatalf("restore of an offline snapshot: %v", err)
	}
}

// TestRestoreRefusesBadInput: a directory with data and a corrupt,
// truncated or foreign file are refused before anything is written.
func TestRestoreRefusesBadInput(t *testing.T) {
	e, _, _ := startWithKeys(t, 5)
	dir := filepath.Dir(e.server.Config().Dir)
	file := saveOnline(t, e, dir)
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0xff
	cases := []struct {
		name, file, dir, want string
	}{
		{"a member's own directory", file, dir, "already holds etcd data"},
		{"a flipped byte", write("flipped.db", flipped), "", "is corrupt"},
		{"a truncated file", write("short.db", good[:len(good)-100]), "", "not an etcd snapshot"},
		{"a text file", write("text.db", []byte("hello\n")), "", "not an etcd snapshot"},
		{"no file", filepath.Join(t.TempDir(), "missing.db"), "", "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.dir
			if target == "" {
				target = filepath.Join(t.TempDir(), "etcd")
			}
			before, _ := os.ReadDir(target)
			err := Restore(RestoreConfig{Snapshot: tc.file, Dir: target, RevisionBump: 10})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("restore: %v, want an error saying %q", err, tc.want)
			}
			after, _ := os.ReadDir(target)
			if len(after) != len(before) {
				t.Errorf("a refused restore changed %s: %d entries, were %d", target, len(after), len(before))
			}
		})
	}
}

// TestOfflineSnapshotRefusesAWALAhead: a member killed before its
// database committed has writes only in its WAL, and an offline copy of
// the database would lose them; the copy is refused. The WAL gets such a
// write the way the member writes it: an entry with data past the
// database's consistent index.
func TestOfflineSnapshotRefusesAWALAhead(t *testing.T) {
	e, _, stop := startWithKeys(t, 3)
	dir := e.server.Config().Dir
	stop()
	appendWALWrite(t, filepath.Join(dir, "member", "wal"))
	file := filepath.Join(t.TempDir(), "offline.db")
	if err := SaveOffline(dir, file); err == nil || !strings.Contains(err.Error(), "did not stop cleanly") {
		t.Fatalf("offline snapshot with the WAL ahead of the database: %v, want it refused", err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused offline snapshot left %s: %v", file, err)
	}
}

// appendWALWrite appends one committed entry with data to the WAL in
// walDir, after its last one.
func appendWALWrite(t *testing.T, walDir string) {
	t.Helper()
	lg := zap.NewNop()
	snaps, err := wal.ValidSnapshotEntries(lg, walDir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wal.Open(lg, walDir, snaps[len(snaps)-1])
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, st, ents, err := w.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := ents[len(ents)-1]
	next := &raftpb.Entry{Term: last.Term, Index: proto.Uint64(last.GetIndex() + 1), Type: raftpb.EntryNormal.Enum(), Data: []byte("a write")}
	st.Commit = next.Index
	if err := w.Save(st, []*raftpb.Entry{next}); err != nil {
		t.Fatal(err)
	}
}

// TestSaveSnapshotOverwritesNothing: a file named like etcdctl's
// temporary one (FILE.part) is left alone, and a FILE that appears while
// the snapshot is written is not replaced.
func TestSaveSnapshotOverwritesNothing(t *testing.T) {
	e, _, _ := startWithKeys(t, 1)
	cfg, err := EmbeddedClientConfig(filepath.Dir(e.server.Config().Dir))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "snapshot.db")
	if err := os.WriteFile(file+".part", []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := SaveSnapshot(context.Background(), cfg, file); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(file + ".part"); err != nil || string(b) != "mine" {
		t.Errorf("%s.part after a snapshot: %q, %v; want it untouched", file, b, err)
	}
	other := filepath.Join(t.TempDir(), "other.db")
	err = writeAtomically(other, func(w io.Writer) error {
		return os.WriteFile(other, []byte("theirs"), 0o600)
	})
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a file created during the write: %v, want it refused", err)
	}
	if b, _ := os.ReadFile(other); string(b) != "theirs" {
		t.Errorf("%s was replaced: %q", other, b)
	}
}
