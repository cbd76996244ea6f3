package storage

import "context"

// availableVolumes are the volumes of a class a claim could bind to: not
// bound to another claim, not assumed for one, not being deleted.
func (s *Store) availableVolumes(className, claimKey string) []*Volume {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Volume
	for _, v := range s.volumes {
		if v.ClassName != className || v.Deleting {
			continue
		}
		if by, ok := s.assumed[v.Name]; ok && by != claimKey {
			continue
		}
		out = append(out, v)
	}
	return out
}

// capacities are the CSIStorageCapacities of a class.
func (s *Store) capacitiesOf(className string) []*Capacity {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Capacity
	for _, c := range s.capacities {
		if c.ClassName == className {
			out = append(out, c)
		}
	}
	return out
}

// AssumeVolume reserves a volume for a claim until PreBind has bound it
// or Unreserve gives it back, so no other pod's claim picks it meanwhile.
func (s *Store) AssumeVolume(volume, claimKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assumed[volume] = claimKey
}

// ForgetVolume ends an assumption.
func (s *Store) ForgetVolume(volume string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.assumed, volume)
}

// Wait calls done after every change of the store until it reports true
// or ctx ends; it returns ctx's error then.
func (s *Store) Wait(ctx context.Context, done func() (bool, error)) error {
	for {
		s.mu.RLock()
		changed := s.changed
		s.mu.RUnlock()
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}
