package persistentvolume

import (
	"errors"
	"slices"
	"sort"
	"strings"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/labels"
)

// Volume is what matching needs to know of a PersistentVolume.
type Volume struct {
	Name        string
	Capacity    int64 // bytes of spec.capacity.storage
	AccessModes []string
	Class       string // spec.storageClassName ("" for none)
	Mode        string // spec.volumeMode; "" is Filesystem
	VAC         string // spec.volumeAttributesClassName
	Labels      map[string]string
	ClaimRef    *Ref // spec.claimRef; nil when unclaimed
	Phase       string
	Deleting    bool
}

// Ref names a claim: spec.claimRef of a volume.
type Ref struct{ Namespace, Name, UID string }

// Claim is what matching needs to know of a PersistentVolumeClaim.
type Claim struct {
	Namespace, Name, UID string
	Request              int64 // bytes of spec.resources.requests.storage
	AccessModes          []string
	Class                string
	Mode                 string
	VAC                  string
	Selector             *metav1.LabelSelector
}

// boundTo: the volume's claimRef names the claim (any uid, when the
// reference has none: pre-bound by a user).
func (v *Volume) boundTo(c *Claim) bool {
	r := v.ClaimRef
	return r != nil && r.Namespace == c.Namespace && r.Name == c.Name && (r.UID == "" || r.UID == c.UID)
}

func modeOf(m string) string {
	if m == "" {
		return "Filesystem"
	}
	return m
}

// hasModes: every mode the claim asks for is one the volume offers.
func hasModes(volume, claim []string) bool {
	for _, m := range claim {
		if !slices.Contains(volume, m) {
			return false
		}
	}
	return true
}

// FindBest picks the volume a claim without spec.volumeName binds to, as
// Kubernetes' PV controller does: a volume pre-bound to the claim wins;
// otherwise the smallest Available, unclaimed volume that is large enough
// and has the claim's class, volume mode, attributes class and labels
// (selector), among those whose access modes are the fewest that include
// the claim's. With delayBinding (a WaitForFirstConsumer class) only
// pre-bound volumes are taken: the scheduler chooses the others.
func FindBest(c *Claim, volumes []*Volume, delayBinding bool) *Volume {
	groups := map[string][]*Volume{}
	for _, v := range volumes {
		if hasModes(v.AccessModes, c.AccessModes) {
			k := modesKey(v.AccessModes)
			groups[k] = append(groups[k], v)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ni, nj := strings.Count(keys[i], ",")+1, strings.Count(keys[j], ",")+1
		if ni != nj {
			return ni < nj
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		if v := bestIn(c, groups[k], delayBinding); v != nil {
			return v
		}
	}
	return nil
}

func modesKey(modes []string) string {
	s := slices.Clone(modes)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}

// bestIn is Kubernetes' FindMatchingVolume over one group of volumes.
func bestIn(c *Claim, volumes []*Volume, delayBinding bool) *Volume {
	var smallest *Volume
	for _, v := range volumes {
		if v.Capacity < c.Request || modeOf(v.Mode) != modeOf(c.Mode) || v.Deleting {
			continue
		}
		if v.boundTo(c) {
			return v
		}
		if delayBinding || v.ClaimRef != nil || v.Phase != "Available" {
			continue
		}
		if c.Selector != nil && !labels.Matches(c.Selector, v.Labels) {
			continue
		}
		if v.Class != c.Class || v.VAC != c.VAC || !hasModes(v.AccessModes, c.AccessModes) {
			continue
		}
		if smallest == nil || v.Capacity < smallest.Capacity {
			smallest = v
		}
	}
	return smallest
}

// Satisfies says why a volume a claim names in spec.volumeName cannot be
// bound to it (Kubernetes' messages), or nil when it can.
func Satisfies(v *Volume, c *Claim) error {
	switch {
	case v.Deleting:
		return errors.New(`the volume is marked for deletion "` + v.Name + `"`)
	case v.Capacity < c.Request:
		return errors.New("requested PV is too small")
	case v.Class != c.Class:
		return errors.New("storageClassName does not match")
	case v.VAC != c.VAC:
		return errors.New("volumeAttributesClassName does not match")
	case modeOf(v.Mode) != modeOf(c.Mode):
		return errors.New("incompatible volumeMode")
	case !hasModes(v.AccessModes, c.AccessModes):
		return errors.New("incompatible accessMode")
	}
	return nil
}
