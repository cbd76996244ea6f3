// Package volumes keeps the local CSI driver's volumes on the node: one
// directory per volume under the data directory, a small JSON record of
// each volume's size beside it, and the accounting of the capacity the
// volumes take.
package volumes

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"

	"golang.org/x/sys/unix"
)

// metaDir holds the records, inside the data directory; a volume ID never
// starts with a dot, so it cannot collide with a volume's directory.
const metaDir = ".volumes"

var (
	// ErrNoSpace says the node has less capacity left than a volume asks.
	ErrNoSpace = errors.New("not enough capacity left")
	// ErrConflict says a volume of that name exists with another size
	// or other parameters.
	ErrConflict = errors.New("a volume of this name exists and is incompatible")
	// ErrNotFound says there is no such volume.
	ErrNotFound = errors.New("no such volume")
	// ErrCorrupt says a volume's record cannot be read (cut short by a
	// crash of a version that did not sync it).
	ErrCorrupt = errors.New("corrupt volume record")
)

// Volume is what the store records of a volume.
type Volume struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	CapacityBytes int64             `json:"capacityBytes"`
	Parameters    map[string]string `json:"parameters,omitempty"`
}

// Store is the set of volumes under one data directory. Capacity > 0 is
// the bytes all volumes may take together; 0 means the filesystem's free
// space is the limit, checked at each creation.
type Store struct {
	dir      string
	capacity int64
	mu       sync.Mutex
}

// Open makes the data directory (and its records' directory) if needed.
func Open(dir string, capacity int64) (*Store, error) {
	if capacity < 0 {
		return nil, fmt.Errorf("volumes: negative capacity %d", capacity)
	}
	if err := os.MkdirAll(filepath.Join(dir, metaDir), 0o700); err != nil {
		return nil, fmt.Errorf("volumes: data directory: %w", err)
	}
	// The volumes are writable by anyone (0777, as an emptyDir): their
	// directory is the driver's alone, however it was made (a hostPath
	// DirectoryOrCreate makes it 0755), so only the bind mounts at the
	// pods' targets reach them, as the kubelet's 0750 pods directory
	// keeps emptyDirs from other users of the host.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("volumes: data directory: %w", err)
	}
	return &Store{dir: dir, capacity: capacity}, nil
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// IDFor is the volume ID of a CSI volume name: the name itself when it is
// a safe directory name (pvc-<uid> always is), else its SHA-256.
func IDFor(name string) string {
	if safeName.MatchString(name) {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return "v-" + hex.EncodeToString(sum[:])
}

// ValidID reports whether id can be a volume ID of this store.
func ValidID(id string) bool { return safeName.MatchString(id) }

// Path is the directory of the volume id.
func (s *Store) Path(id string) string { return filepath.Join(s.dir, id) }

func (s *Store) metaPath(id string) string { return filepath.Join(s.dir, metaDir, id+".json") }

// Request is a volume to create.
type Request struct {
	Name string
	// Bytes is the size of a new volume.
	Bytes int64
	// MinBytes and MaxBytes bound the size a volume of that name made
	// before may have to be the one asked for; 0 is no bound.
	MinBytes, MaxBytes int64
	Parameters         map[string]string
}

// fits reports why v, made before, is not the volume r asks for, or nil.
func (r Request) fits(v Volume) error {
	if v.CapacityBytes < r.MinBytes || (r.MaxBytes > 0 && v.CapacityBytes > r.MaxBytes) {
		return fmt.Errorf("volume %s has %d bytes, asked %d to %d: %w", r.Name, v.CapacityBytes, r.MinBytes, r.MaxBytes, ErrConflict)
	}
	if !maps.Equal(v.Parameters, r.Parameters) {
		return fmt.Errorf("volume %s was made with other parameters: %w", r.Name, ErrConflict)
	}
	return nil
}

// Create makes the volume r names, or returns the one made before when
// it is what r asks for (created false): its size within r's bounds (it
// may have grown since), the same parameters.
func (s *Store) Create(r Request) (Volume, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, size, params := r.Name, r.Bytes, r.Parameters
	id := IDFor(name)
	v, err := s.get(id)
	switch {
	case err == nil:
		if err := r.fits(v); err != nil {
			return v, false, err
		}
		return v, false, os.MkdirAll(s.Path(id), 0o777)
	case errors.Is(err, ErrCorrupt):
		// The record was being written when the node went down: made
		// again, keeping whatever the directory holds.
		slog.Warn("volume record unreadable, writing it again", "volume", id, "error", err)
	case !errors.Is(err, ErrNotFound):
		return Volume{}, false, err
	}
	avail, err := s.available()
	if err != nil {
		return Volume{}, false, err
	}
	if size > avail {
		return Volume{}, false, fmt.Errorf("volume %s asks %d bytes, %d left: %w", name, size, avail, ErrNoSpace)
	}
	v = Volume{ID: id, Name: name, CapacityBytes: size, Parameters: params}
	if err := os.MkdirAll(s.Path(id), 0o777); err != nil {
		return Volume{}, false, fmt.Errorf("volume %s: %w", name, err)
	}
	// Writable by any pod user, as an emptyDir is.
	if err := os.Chmod(s.Path(id), 0o777); err != nil {
		return Volume{}, false, fmt.Errorf("volume %s: %w", name, err)
	}
	if err := syncDir(s.dir); err != nil {
		return Volume{}, false, fmt.Errorf("volume %s: %w", name, err)
	}
	return v, true, s.write(v)
}

// Expand grows the volume id to size bytes; a smaller size is no change.
func (s *Store) Expand(id string, size int64) (Volume, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.get(id)
	if err != nil || size <= v.CapacityBytes {
		return v, err
	}
	avail, err := s.available()
	if err != nil {
		return v, err
	}
	if size-v.CapacityBytes > avail {
		return v, fmt.Errorf("volume %s grows by %d bytes, %d left: %w", id, size-v.CapacityBytes, avail, ErrNoSpace)
	}
	v.CapacityBytes = size
	return v, s.write(v)
}

// Delete removes the volume id and its data; a missing volume is no error.
func (s *Store) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.RemoveAll(s.Path(id)); err != nil {
		return fmt.Errorf("volume %s: %w", id, err)
	}
	if err := os.Remove(s.metaPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("volume %s: %w", id, err)
	}
	return syncDir(filepath.Join(s.dir, metaDir))
}

// Get returns the volume id, or ErrNotFound.
func (s *Store) Get(id string) (Volume, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(id)
}

// List returns every volume, by ID.
func (s *Store) List() ([]Volume, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.list()
}

// Available is the capacity a new volume can take.
func (s *Store) Available() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.available()
}

func (s *Store) available() (int64, error) {
	if s.capacity == 0 {
		return FreeBytes(s.dir)
	}
	vols, err := s.list()
	if err != nil {
		return 0, err
	}
	left := s.capacity
	for _, v := range vols {
		left -= v.CapacityBytes
	}
	return max(left, 0), nil
}

// FreeBytes is the space an unprivileged writer has left on dir's filesystem.
func FreeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * st.Bsize, nil
}

func (s *Store) get(id string) (Volume, error) {
	if !ValidID(id) {
		return Volume{}, fmt.Errorf("volume %q: %w", id, ErrNotFound)
	}
	data, err := os.ReadFile(s.metaPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return Volume{}, fmt.Errorf("volume %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Volume{}, fmt.Errorf("volume %s: %w", id, err)
	}
	var v Volume
	if err := json.Unmarshal(data, &v); err != nil || v.ID != id {
		return Volume{}, fmt.Errorf("volume %s: record %q: %w", id, data, ErrCorrupt)
	}
	return v, nil
}

func (s *Store) list() ([]Volume, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, metaDir))
	if err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	var vols []Volume
	for _, e := range entries {
		name := e.Name()
		if filepath.Ext(name) != ".json" {
			continue
		}
		v, err := s.get(name[:len(name)-len(".json")])
		if errors.Is(err, ErrCorrupt) {
			// One bad record must not hide the node's other volumes.
			slog.Warn("skipping an unreadable volume record", "error", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		vols = append(vols, v)
	}
	sort.Slice(vols, func(i, j int) bool { return vols[i].ID < vols[j].ID })
	return vols, nil
}

// write replaces the record of v atomically and durably: the data is on
// disk before the rename, and the rename before write returns.
func (s *Store) write(v Volume) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := s.metaPath(v.ID) + ".tmp"
	if err := writeSynced(tmp, data); err != nil {
		return fmt.Errorf("volume %s: record: %w", v.ID, err)
	}
	if err := os.Rename(tmp, s.metaPath(v.ID)); err != nil {
		return fmt.Errorf("volume %s: record: %w", v.ID, err)
	}
	return syncDir(filepath.Dir(s.metaPath(v.ID)))
}

// writeSynced writes data to a new file at path and syncs it.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes the entries of dir (files made, renamed, removed) durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
