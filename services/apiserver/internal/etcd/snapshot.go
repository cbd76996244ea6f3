package etcd

// Snapshots of etcd and their restore, with etcd's own libraries: the
// client's snapshot stream (what `etcdctl snapshot save` writes) and
// etcdutl's restore (what `etcdutl snapshot restore` does). What this
// file adds is the embedded member's layout under the apiserver's data
// directory (its data, ports and certificates), so that an apiserver
// started on the restored directory finds its member where it expects it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	clientv3 "go.etcd.io/etcd/client/v3"
	etcdutl "go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/storage/schema"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"

	"skiff.dev/pkg/etcdpki"
)

// EmbeddedDir is the embedded member's directory (EmbedConfig.Dir) under
// an apiserver's --data-dir.
func EmbeddedDir(dataDir string) string { return filepath.Join(dataDir, "etcd") }

// MemberName is the embedded member's name, in its data and in the
// cluster a restore makes.
const MemberName = "skiff"

// DataSubdir is the embedded member's etcd data directory (member/snap,
// member/wal) under the directory EmbedConfig.Dir names.
const DataSubdir = "data"

// DefaultRevisionBump is how far a restore moves etcd's revision past the
// snapshot's, as Kubernetes' documentation advises (1,000,000,000): more
// than the writes a cluster could have made after the snapshot was taken,
// so that every resourceVersion after the restore is greater than any a
// client saw before it.
const DefaultRevisionBump = 1_000_000_000

// EmbeddedClientConfig is a client configuration for the embedded member
// under dir (<data-dir>/etcd) of a running apiserver: its client URL,
// from the ports its first start recorded, and the apiserver's etcd
// client certificate, the only one the member accepts.
func EmbeddedClientConfig(dir string) (clientv3.Config, error) {
	data, err := os.ReadFile(filepath.Join(dir, portsFile))
	if errors.Is(err, os.ErrNotExist) {
		return clientv3.Config{}, fmt.Errorf("no embedded etcd in %s: it has no %s; is this an apiserver's --data-dir/etcd, of an apiserver that has run?", dir, portsFile)
	}
	if err != nil {
		return clientv3.Config{}, fmt.Errorf("embedded etcd ports: %w", err)
	}
	var p ports
	if err := json.Unmarshal(data, &p); err != nil || p.Client <= 0 {
		return clientv3.Config{}, fmt.Errorf("embedded etcd ports: %s is not valid", filepath.Join(dir, portsFile))
	}
	tlsCfg, err := etcdpki.FilesIn(filepath.Join(dir, PKIDir)).ClientTLS()
	if err != nil {
		return clientv3.Config{}, fmt.Errorf("embedded etcd client certificate: %w", err)
	}
	return clientv3.Config{Endpoints: []string{fmt.Sprintf("https://127.0.0.1:%d", p.Client)}, TLS: tlsCfg,
		DialTimeout: 5 * time.Second, Logger: zap.NewNop()}, nil
}

// SaveSnapshot streams a snapshot of the member cfg names (one endpoint:
// a snapshot is one member's state) into path, as `etcdctl snapshot save`
// does, and returns the member's storage version. The file ends with the
// SHA-256 of what precedes it, which a restore checks. An existing file
// is never overwritten, nor is any other: the stream goes to a temporary
// file of its own, linked to path only if nothing is there by then.
func SaveSnapshot(ctx context.Context, cfg clientv3.Config, path string) (string, error) {
	if len(cfg.Endpoints) != 1 {
		return "", fmt.Errorf("a snapshot is taken from one member; got %d endpoints", len(cfg.Endpoints))
	}
	if err := refuseExisting(path); err != nil {
		return "", err
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return "", fmt.Errorf("snapshot of %s: %w", cfg.Endpoints[0], err)
	}
	defer cli.Close()
	resp, err := cli.SnapshotWithVersion(ctx)
	if err != nil {
		return "", fmt.Errorf("snapshot of %s: %w", cfg.Endpoints[0], err)
	}
	defer resp.Snapshot.Close()
	if err := writeAtomically(path, func(w io.Writer) error {
		n, err := io.Copy(w, resp.Snapshot)
		if err != nil {
			return err
		}
		// The stream is the database's pages (512-byte multiples), then
		// their SHA-256: anything else was cut short.
		if n%512 != sha256.Size {
			return fmt.Errorf("the stream has no SHA-256 at its end (%d bytes)", n)
		}
		return nil
	}); err != nil {
		return "", fmt.Errorf("snapshot of %s: %w", cfg.Endpoints[0], err)
	}
	return resp.Version, nil
}

// offlineLockTimeout is how long SaveOffline waits for the database's
// lock: a running member holds it for as long as it runs.
const offlineLockTimeout = 500 * time.Millisecond

// SaveOffline copies the database of a stopped etcd member whose data
// directory (etcd's --data-dir, holding member/) is dataDir into path, in
// the same format as SaveSnapshot (the database, then its SHA-256), for
// when no apiserver or etcd runs on it: the embedded member's is
// filepath.Join(EmbeddedDir(dataDir), DataSubdir). A running member holds
// the database's lock, and the copy is refused rather than taken from a
// file being written.
func SaveOffline(dataDir, path string) error {
	db := filepath.Join(dataDir, "member", "snap", "db")
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("no etcd database: %w", err)
	}
	if err := refuseExisting(path); err != nil {
		return err
	}
	bdb, err := bolt.Open(db, 0o400, &bolt.Options{ReadOnly: true, Timeout: offlineLockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return fmt.Errorf("%s is in use: stop the apiserver (or etcd member) first, or save through its client URL instead of offline", db)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", db, err)
	}
	defer bdb.Close()
	if err := refuseWALAhead(dataDir, bdb); err != nil {
		return err
	}
	return writeAtomically(path, func(w io.Writer) error {
		h := sha256.New()
		if err := bdb.View(func(tx *bolt.Tx) error {
			_, err := tx.WriteTo(io.MultiWriter(w, h))
			return err
		}); err != nil {
			return fmt.Errorf("copy %s: %w", db, err)
		}
		_, err := w.Write(h.Sum(nil))
		return err
	})
}

// refuseWALAhead fails when the member's WAL holds an entry with data
// past the database's consistent index: a write the database does not
// have yet. Empty entries (a new leader's, at each start) change nothing
// and are not counted.
func refuseWALAhead(dataDir string, bdb *bolt.DB) error {
	var applied uint64
	if err := bdb.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(schema.Meta.Name()); b != nil {
			if v := b.Get(schema.MetaConsistentIndexKeyName); len(v) == 8 {
				applied = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	last, err := lastWALWrite(filepath.Join(dataDir, "member", "wal"))
	if err != nil {
		return fmt.Errorf("read the WAL of %s: %w", dataDir, err)
	}
	if last > applied {
		return fmt.Errorf("the WAL of %s holds writes up to index %d that its database (applied up to %d) lacks: "+
			"the member did not stop cleanly; start it once and stop it (SIGTERM), or save through its client URL instead of offline",
			dataDir, last, applied)
	}
	return nil
}

// lastWALWrite is the index of the last entry with data in the WAL in
// walDir, read from its newest snapshot record on (what etcd replays at
// a start), or 0.
func lastWALWrite(walDir string) (uint64, error) {
	lg := zap.NewNop()
	snaps, err := wal.ValidSnapshotEntries(lg, walDir)
	if err != nil {
		return 0, err
	}
	from := &walpb.Snapshot{}
	if len(snaps) > 0 {
		from = snaps[len(snaps)-1]
	}
	w, err := wal.OpenForRead(lg, walDir, from)
	if err != nil {
		return 0, err
	}
	defer w.Close()
	_, _, ents, err := w.ReadAll()
	if err != nil {
		return 0, err
	}
	var last uint64
	for _, e := range ents {
		if len(e.GetData()) > 0 || e.GetType() != raftpb.EntryNormal {
			last = e.GetIndex()
		}
	}
	return last, nil
}

// RestoreConfig says what to restore where.
type RestoreConfig struct {
	// Snapshot is the file SaveSnapshot, SaveOffline or `etcdctl snapshot
	// save` wrote.
	Snapshot string
	// Dir is the embedded member's directory of the apiserver that is to
	// run on the restored data: <data-dir>/etcd. It must hold no etcd
	// data yet.
	Dir string
	// RevisionBump moves the revision this far past the snapshot's and
	// marks it compacted, so resourceVersions keep growing and watches
	// from before the restore get 410 Gone and list again. 0 keeps the
	// snapshot's revision, which clients that saw later writes can't tell
	// from the past.
	RevisionBump uint64
}

// Restore makes the embedded member's data under cfg.Dir from a snapshot
// with etcdutl's restore: a new single-member cluster named MemberName
// on the peer URL the member will listen on, the revision bumped and
// compacted. The snapshot's checksum is checked before anything is
// written; the data appears at its place only once complete, and an
// existing member's data is never touched.
func Restore(cfg RestoreConfig) error {
	if err := checkSnapshot(cfg.Snapshot); err != nil {
		return err
	}
	target := filepath.Join(cfg.Dir, DataSubdir)
	if entries, err := os.ReadDir(target); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s already holds etcd data: restore into a fresh --data-dir", target)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("restore target: %w", err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", cfg.Dir, err)
	}
	p, _, err := choosePorts(cfg.Dir)
	if err != nil {
		return err
	}
	staging, err := os.MkdirTemp(cfg.Dir, DataSubdir+".restoring-")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(staging) // gone after the rename; what a failure left otherwise
	peerURL := fmt.Sprintf("https://127.0.0.1:%d", p.Peer)
	err = etcdutl.NewV3(zap.NewNop()).Restore(etcdutl.RestoreConfig{
		SnapshotPath:        cfg.Snapshot,
		Name:                MemberName,
		OutputDataDir:       staging,
		PeerURLs:            []string{peerURL},
		InitialCluster:      MemberName + "=" + peerURL,
		InitialClusterToken: embed.NewConfig().InitialClusterToken,
		RevisionBump:        cfg.RevisionBump,
		MarkCompacted:       cfg.RevisionBump > 0,
	})
	if err != nil {
		return fmt.Errorf("restore %s: %w", cfg.Snapshot, err)
	}
	_ = os.Remove(target) // an empty directory, if any
	if err := os.Rename(staging, target); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// SnapshotStatus is what a snapshot holds, after checking its checksum:
// its revision, keys, size and storage version.
func SnapshotStatus(path string) (etcdutl.Status, error) {
	if err := checkSnapshot(path); err != nil {
		return etcdutl.Status{}, err
	}
	return etcdutl.NewV3(zap.NewNop()).Status(path)
}

// checkSnapshot verifies that path ends with the SHA-256 of what precedes
// it, as every snapshot of the member's API and of SaveOffline does, so a
// truncated, corrupt or foreign file is refused with a clear message
// before a restore writes anything.
func checkSnapshot(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	// A snapshot is whole database pages (a multiple of 512 bytes) and
	// the 32-byte checksum.
	size := st.Size()
	if size < 512+sha256.Size || size%512 != sha256.Size {
		return fmt.Errorf("%s is not an etcd snapshot: %d bytes, not database pages and a SHA-256", path, size)
	}
	h := sha256.New()
	if _, err := io.CopyN(h, f, size-sha256.Size); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	want := make([]byte, sha256.Size)
	if _, err := io.ReadFull(f, want); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if !bytes.Equal(h.Sum(nil), want) {
		return fmt.Errorf("%s is corrupt: its SHA-256 does not match the one it ends with", path)
	}
	return nil
}

// refuseExisting keeps a save from overwriting a file, an earlier
// snapshot perhaps.
func refuseExisting(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return errExists(path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func errExists(path string) error {
	return fmt.Errorf("%s exists: choose another file or remove it", path)
}

// writeAtomically writes path through a temporary file beside it,
// synced and linked into place once complete (a link, unlike a rename,
// fails when path exists by then), mode 0600: a snapshot holds every
// Secret.
func writeAtomically(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".part-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone after the rename
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(f.Name(), path); errors.Is(err, os.ErrExist) {
		return errExists(path)
	} else if err != nil {
		return err
	}
	return nil
}
