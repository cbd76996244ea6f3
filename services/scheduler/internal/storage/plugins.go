package storage

import (
	"time"
)

// Plugins are the four volume plugins over one store.
type Plugins struct {
	Store        *Store
	Binding      *VolumeBinding
	Restrictions *VolumeRestrictions
	Zone         *VolumeZone
	Limits       *NodeVolumeLimits
}

// New builds the volume plugins; api writes PreBind's decisions and
// bindTimeout bounds its wait (0 is DefaultBindTimeout).
func New(store *Store, api API, bindTimeout time.Duration) *Plugins {
	return &Plugins{
		Store:        store,
		Binding:      &VolumeBinding{Store: store, API: api, BindTimeout: bindTimeout},
		Restrictions: &VolumeRestrictions{Store: store},
		Zone:         &VolumeZone{Store: store},
		Limits:       &NodeVolumeLimits{Store: store},
	}
}
