// Package storage holds the scheduler's volume plugins, after Kubernetes'
// VolumeBinding, VolumeRestrictions, VolumeZone and NodeVolumeLimits (CSI),
// and the store of storage objects they read: claims, volumes, classes,
// CSINodes, CSIDrivers and CSIStorageCapacities, each reduced to the fields
// scheduling needs, fed by informers and assumed into by Reserve.
package storage

import (
	"sync"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// Volume is a PersistentVolume as the scheduler sees it.
type Volume struct {
	Name         string
	Labels       map[string]string
	ClassName    string // the shared rule, pkg/volumeclass
	VAC          string // spec.volumeAttributesClassName
	Capacity     int64  // bytes
	AccessModes  []string
	VolumeMode   string // "" is Filesystem
	NodeAffinity *corev1.NodeSelector
	ClaimRef     *ClaimRef
	Phase        string
	Driver       string // the CSI driver; "" for other sources
	Handle       string // the CSI volume handle
	Deleting     bool
	// ResourceVersion is the version these fields were read from.
	ResourceVersion string
}

// ClaimRef is the claim a volume is bound (or pre-bound) to.
type ClaimRef struct{ Namespace, Name, UID string }

// Class is a StorageClass.
type Class struct {
	Name              string
	Provisioner       string
	BindingMode       string // Immediate (the default) or WaitForFirstConsumer
	AllowedTopologies []TopologyTerm
}

// TopologyTerm is one of a class's allowedTopologies: every key must have
// one of its values (the terms are ORed).
type TopologyTerm map[string][]string

// CSINode is the CSI drivers installed on a node.
type CSINode struct {
	Name    string
	Drivers map[string]CSINodeDriver
}

// CSINodeDriver is one driver on a node.
type CSINodeDriver struct {
	NodeID       string
	TopologyKeys []string
	// Allocatable is the most volumes of the driver the node takes; nil
	// is unlimited.
	Allocatable *int32
}

// Driver is a CSIDriver.
type Driver struct {
	Name            string
	StorageCapacity bool
}

// Capacity is a CSIStorageCapacity.
type Capacity struct {
	Namespace, Name   string
	ClassName         string
	NodeTopology      *metav1.LabelSelector // nil: reachable from no node
	Capacity          *int64
	MaximumVolumeSize *int64
}

// Store holds the storage objects by name, and what Reserve assumed.
// Every change wakes Wait.
type Store struct {
	mu         sync.RWMutex
	claims     map[string]*corev1.PersistentVolumeClaim // namespace/name
	volumes    map[string]*Volume
	classes    map[string]*Class
	csiNodes   map[string]*CSINode
	drivers    map[string]*Driver
	capacities map[string]*Capacity  // namespace/name
	assumed    map[string]volumeHold // volume name -> claim and pod, bound in PreBind
	claimHolds map[string]claimHold  // namespace/name -> the claim as assumed
	changed    chan struct{}
}

// NewStore is an empty store.
func NewStore() *Store {
	return &Store{claims: map[string]*corev1.PersistentVolumeClaim{}, volumes: map[string]*Volume{},
		classes: map[string]*Class{}, csiNodes: map[string]*CSINode{}, drivers: map[string]*Driver{},
		capacities: map[string]*Capacity{}, assumed: map[string]volumeHold{}, claimHolds: map[string]claimHold{},
		changed: make(chan struct{})}
}

// ClaimKey is a claim's namespace/name.
func ClaimKey(namespace, name string) string { return namespace + "/" + name }

func setOrDelete[T any](s *Store, m map[string]T, key string, v T, del bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if del {
		delete(m, key)
	} else {
		m[key] = v
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// SetClaim stores a claim; an assumption it is newer than ends.
func (s *Store) SetClaim(c *corev1.PersistentVolumeClaim) {
	key := ClaimKey(c.GetMetadata().GetNamespace(), c.GetMetadata().GetName())
	s.mu.Lock()
	if h, ok := s.claimHolds[key]; ok && newerThan(c.GetMetadata().GetResourceVersion(), h.claim.GetMetadata().GetResourceVersion()) {
		delete(s.claimHolds, key)
	}
	s.mu.Unlock()
	setOrDelete(s, s.claims, key, c, false)
}

// DeleteClaim forgets a claim and any assumption of it.
func (s *Store) DeleteClaim(namespace, name string) {
	s.mu.Lock()
	delete(s.claimHolds, ClaimKey(namespace, name))
	s.mu.Unlock()
	setOrDelete(s, s.claims, ClaimKey(namespace, name), nil, true)
}

// SetVolume stores a volume.
func (s *Store) SetVolume(v *Volume) { setOrDelete(s, s.volumes, v.Name, v, false) }

// DeleteVolume forgets a volume.
func (s *Store) DeleteVolume(name string) { setOrDelete(s, s.volumes, name, nil, true) }

// SetClass stores a class.
func (s *Store) SetClass(c *Class) { setOrDelete(s, s.classes, c.Name, c, false) }

// DeleteClass forgets a class.
func (s *Store) DeleteClass(name string) { setOrDelete(s, s.classes, name, nil, true) }

// SetCSINode stores a CSINode.
func (s *Store) SetCSINode(n *CSINode) { setOrDelete(s, s.csiNodes, n.Name, n, false) }

// DeleteCSINode forgets a CSINode.
func (s *Store) DeleteCSINode(name string) { setOrDelete(s, s.csiNodes, name, nil, true) }

// SetDriver stores a CSIDriver.
func (s *Store) SetDriver(d *Driver) { setOrDelete(s, s.drivers, d.Name, d, false) }

// DeleteDriver forgets a CSIDriver.
func (s *Store) DeleteDriver(name string) { setOrDelete(s, s.drivers, name, nil, true) }

// SetCapacity stores a CSIStorageCapacity.
func (s *Store) SetCapacity(c *Capacity) {
	setOrDelete(s, s.capacities, ClaimKey(c.Namespace, c.Name), c, false)
}

// DeleteCapacity forgets a CSIStorageCapacity.
func (s *Store) DeleteCapacity(namespace, name string) {
	setOrDelete(s, s.capacities, ClaimKey(namespace, name), nil, true)
}

// Claim returns a claim: the informer's copy, or Reserve's assumed one
// while the informer's is not newer.
func (s *Store) Claim(namespace, name string) (*corev1.PersistentVolumeClaim, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	key := ClaimKey(namespace, name)
	c, ok := s.claims[key]
	if h, held := s.claimHolds[key]; held && ok &&
		!newerThan(c.GetMetadata().GetResourceVersion(), h.claim.GetMetadata().GetResourceVersion()) {
		return h.claim, true
	}
	return c, ok
}

// Volume returns a volume.
func (s *Store) Volume(name string) (*Volume, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.volumes[name]
	return v, ok
}

// Class returns a class.
func (s *Store) Class(name string) (*Class, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.classes[name]
	return c, ok
}

// CSINode returns a node's CSINode.
func (s *Store) CSINode(name string) (*CSINode, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.csiNodes[name]
	return n, ok
}

// Driver returns a CSIDriver.
func (s *Store) Driver(name string) (*Driver, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.drivers[name]
	return d, ok
}
