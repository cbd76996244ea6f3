// Package quota measures what objects use of a namespace's ResourceQuotas,
// as Kubernetes' quota evaluators do: a pod's compute requests and limits
// and its count, a Service's count, node ports and load balancers, and
// any other object's count (count/<resource>[.<group>]). The apiserver's
// ResourceQuota admission charges a new object's use against the quotas,
// and the controller-manager's resourcequota controller recomputes what
// the objects of a namespace use; both measure with this package.
package quota

import (
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	metav1 "skiff.dev/api/meta/v1"
)

// List is a resource list with its quantities parsed: requests, limits,
// a quota's hard limits or its use.
type List map[string]resource.Quantity

// FromProto parses a resource list of the API. A quantity that does not
// parse is left out (validation refuses such a list before it is stored).
func FromProto(in map[string]*metav1.Quantity) List {
	out := make(List, len(in))
	for name, q := range in {
		v, err := resource.ParseQuantity(q.GetString_())
		if err != nil {
			continue
		}
		out[name] = v
	}
	return out
}

// Proto is the list as the API writes it, each quantity in its canonical
// form.
func (l List) Proto() map[string]*metav1.Quantity {
	if l == nil {
		return nil
	}
	out := make(map[string]*metav1.Quantity, len(l))
	for name, q := range l {
		out[name] = &metav1.Quantity{String_: format(q)}
	}
	return out
}

// format is q's canonical form, or, where that does not read back as q,
// its plain decimal form. apimachinery's canonical form loses quantities
// past its largest suffix (1e21 prints as "1"); Kubernetes, which keeps a
// quota's quantities as they were written, never prints those, but a list
// parsed here and written back would change.
func format(q resource.Quantity) string {
	s := q.String()
	if back, err := resource.ParseQuantity(s); err == nil && back.Cmp(q) == 0 {
		return s
	}
	d := q.AsDec().String()
	if strings.Contains(d, ".") {
		d = strings.TrimSuffix(strings.TrimRight(d, "0"), ".")
	}
	return d
}

// Names are the list's resource names, sorted.
func (l List) Names() []string {
	return slices.Sorted(maps.Keys(l))
}

// String prints the list as Kubernetes' quota errors do:
// "limits.cpu=2,pods=1", sorted by name.
func (l List) String() string {
	parts := make([]string, 0, len(l))
	for _, name := range l.Names() {
		q := l[name]
		parts = append(parts, name+"="+q.String())
	}
	return strings.Join(parts, ",")
}

// Add returns a + b.
func Add(a, b List) List {
	out := make(List, len(a)+len(b))
	for name, q := range a {
		sum := q.DeepCopy()
		if other, ok := b[name]; ok {
			sum.Add(other)
		}
		out[name] = sum
	}
	for name, q := range b {
		if _, ok := out[name]; !ok {
			out[name] = q.DeepCopy()
		}
	}
	return out
}

// SubtractNonNegative returns a - b, with any resource below zero at
// zero; a resource only b names is zero.
func SubtractNonNegative(a, b List) List {
	zero := resource.MustParse("0")
	out := make(List, len(a)+len(b))
	for name, q := range a {
		diff := q.DeepCopy()
		if other, ok := b[name]; ok {
			diff.Sub(other)
		}
		if diff.Cmp(zero) > 0 {
			out[name] = diff
		} else {
			out[name] = zero
		}
	}
	for name := range b {
		if _, ok := out[name]; !ok {
			out[name] = zero
		}
	}
	return out
}

// Mask keeps the resources of l that names lists.
func Mask(l List, names []string) List {
	out := List{}
	for name, q := range l {
		if slices.Contains(names, name) {
			out[name] = q.DeepCopy()
		}
	}
	return out
}

// Equal reports whether a and b name the same resources in equal amounts
// ("1000m" equals "1").
func Equal(a, b List) bool {
	if len(a) != len(b) {
		return false
	}
	for name, q := range a {
		other, ok := b[name]
		if !ok || q.Cmp(other) != 0 {
			return false
		}
	}
	return true
}

// LessThanOrEqual reports whether every resource of b that a also names
// is at least a's amount, and lists, sorted, those that are not.
func LessThanOrEqual(a, b List) (bool, []string) {
	var over []string
	for name, limit := range b {
		if q, ok := a[name]; ok && q.Cmp(limit) > 0 {
			over = append(over, name)
		}
	}
	slices.Sort(over)
	return len(over) == 0, over
}

// RemoveZeros drops the resources whose amount is zero.
func RemoveZeros(l List) List {
	out := List{}
	for name, q := range l {
		if !q.IsZero() {
			out[name] = q
		}
	}
	return out
}

// Negative lists, sorted, the resources whose amount is below zero.
func Negative(l List) []string {
	var out []string
	for name, q := range l {
		if q.Sign() < 0 {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Intersection lists the names of a that b also has, in a's order.
func Intersection(a, b []string) []string {
	var out []string
	for _, name := range a {
		if slices.Contains(b, name) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// addTo adds from into into, in place.
func addTo(into, from List) {
	for name, q := range from {
		if have, ok := into[name]; ok {
			have.Add(q)
			into[name] = have
		} else {
			into[name] = q.DeepCopy()
		}
	}
}

// maxInto raises each resource of into to from's amount where from's is
// greater, in place.
func maxInto(into, from List) {
	for name, q := range from {
		if have, ok := into[name]; !ok || q.Cmp(have) > 0 {
			into[name] = q.DeepCopy()
		}
	}
}
