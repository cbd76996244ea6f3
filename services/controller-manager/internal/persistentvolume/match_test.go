package persistentvolume

import (
	"testing"

	metav1 "skiff.dev/api/meta/v1"
)

const gi = int64(1) << 30

func vol(name string, size int64, modes ...string) *Volume {
	return &Volume{Name: name, Capacity: size * gi, AccessModes: modes, Phase: "Available"}
}

func with(v *Volume, f func(*Volume)) *Volume { f(v); return v }

func TestFindBest(t *testing.T) {
	claim := func(size int64, modes ...string) *Claim {
		return &Claim{Namespace: "ns", Name: "c", UID: "u1", Request: size * gi, AccessModes: modes}
	}
	rwo, rwx, rox := "ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany"
	tests := []struct {
		name    string
		claim   *Claim
		vols    []*Volume
		delay   bool
		want    string
		changeC func(*Claim)
	}{
		{name: "smallest that fits", claim: claim(5, rwo),
			vols: []*Volume{vol("big", 100, rwo), vol("small", 1, rwo), vol("fit", 10, rwo), vol("fit-less", 5, rwo)}, want: "fit-less"},
		{name: "none large enough", claim: claim(500, rwo), vols: []*Volume{vol("a", 100, rwo)}},
		{name: "access mode missing", claim: claim(1, rwx), vols: []*Volume{vol("a", 10, rwo)}},
		{name: "fewest extra modes first, even if larger", claim: claim(1, rwo),
			vols: []*Volume{vol("multi", 1, rwo, rox), vol("single", 10, rwo)}, want: "single"},
		{name: "falls back to a superset of modes", claim: claim(1, rwo),
			vols: []*Volume{vol("multi", 1, rwo, rox)}, want: "multi"},
		{name: "class must match", claim: claim(1, rwo),
			vols:    []*Volume{vol("none", 1, rwo), with(vol("gold", 5, rwo), func(v *Volume) { v.Class = "gold" })},
			changeC: func(c *Claim) { c.Class = "gold" }, want: "gold"},
		{name: "no class only takes classless", claim: claim(1, rwo),
			vols: []*Volume{with(vol("gold", 1, rwo), func(v *Volume) { v.Class = "gold" }), vol("plain", 5, rwo)}, want: "plain"},
		{name: "volume mode", claim: claim(1, rwo),
			vols:    []*Volume{vol("fs", 1, rwo), with(vol("blk", 5, rwo), func(v *Volume) { v.Mode = "Block" })},
			changeC: func(c *Claim) { c.Mode = "Block" }, want: "blk"},
		{name: "empty mode is Filesystem", claim: claim(1, rwo),
			vols:    []*Volume{with(vol("fs", 1, rwo), func(v *Volume) { v.Mode = "Filesystem" })},
			changeC: func(c *Claim) { c.Mode = "" }, want: "fs"},
		{name: "selector", claim: claim(1, rwo),
			vols: []*Volume{vol("nolabel", 1, rwo), with(vol("fast", 5, rwo), func(v *Volume) { v.Labels = map[string]string{"tier": "fast"} })},
			changeC: func(c *Claim) {
				c.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "fast"}}
			}, want: "fast"},
		{name: "claimed elsewhere is skipped", claim: claim(1, rwo),
			vols: []*Volume{with(vol("taken", 1, rwo), func(v *Volume) { v.ClaimRef = &Ref{Namespace: "ns", Name: "other"} })}},
		{name: "only Available volumes", claim: claim(1, rwo),
			vols: []*Volume{with(vol("released", 1, rwo), func(v *Volume) { v.Phase = "Released" }), with(vol("new", 1, rwo), func(v *Volume) { v.Phase = "" })}},
		{name: "being deleted is skipped", claim: claim(1, rwo),
			vols: []*Volume{with(vol("gone", 1, rwo), func(v *Volume) { v.Deleting = true })}},
		{name: "pre-bound volume wins over a smaller one", claim: claim(1, rwo),
			vols: []*Volume{vol("small", 1, rwo), with(vol("mine", 50, rwo), func(v *Volume) { v.ClaimRef = &Ref{Namespace: "ns", Name: "c"} })}, want: "mine"},
		{name: "pre-bound to another uid is not mine", claim: claim(1, rwo),
			vols: []*Volume{with(vol("old", 50, rwo), func(v *Volume) { v.ClaimRef = &Ref{Namespace: "ns", Name: "c", UID: "u0"} })}},
		{name: "pre-bound ignores class and selector", claim: claim(1, rwo),
			vols:    []*Volume{with(vol("mine", 5, rwo), func(v *Volume) { v.ClaimRef = &Ref{Namespace: "ns", Name: "c"}; v.Class = "x" })},
			changeC: func(c *Claim) { c.Class = "y" }, want: "mine"},
		{name: "WaitForFirstConsumer leaves unbound volumes to the scheduler", claim: claim(1, rwo), delay: true,
			vols: []*Volume{vol("a", 1, rwo)}},
		{name: "WaitForFirstConsumer still takes a pre-bound one", claim: claim(1, rwo), delay: true,
			vols: []*Volume{with(vol("mine", 5, rwo), func(v *Volume) { v.ClaimRef = &Ref{Namespace: "ns", Name: "c", UID: "u1"} })}, want: "mine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.changeC != nil {
				tt.changeC(tt.claim)
			}
			got := FindBest(tt.claim, tt.vols, tt.delay)
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != tt.want {
				t.Errorf("FindBest = %q, want %q", name, tt.want)
			}
		})
	}
}

func TestSatisfies(t *testing.T) {
	c := &Claim{Namespace: "ns", Name: "c", Request: 5 * gi, AccessModes: []string{"ReadWriteOnce"}, Class: "gold"}
	base := func() *Volume {
		v := vol("pv", 10, "ReadWriteOnce")
		v.Class = "gold"
		return v
	}
	tests := []struct {
		name   string
		change func(*Volume)
		want   string
	}{
		{name: "fits"},
		{name: "too small", change: func(v *Volume) { v.Capacity = gi }, want: "requested PV is too small"},
		{name: "class", change: func(v *Volume) { v.Class = "" }, want: "storageClassName does not match"},
		{name: "mode", change: func(v *Volume) { v.Mode = "Block" }, want: "incompatible volumeMode"},
		{name: "access", change: func(v *Volume) { v.AccessModes = []string{"ReadOnlyMany"} }, want: "incompatible accessMode"},
		{name: "deleting", change: func(v *Volume) { v.Deleting = true }, want: `the volume is marked for deletion "pv"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := base()
			if tt.change != nil {
				tt.change(v)
			}
			got := ""
			if err := Satisfies(v, c); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Satisfies = %q, want %q", got, tt.want)
			}
		})
	}
}
