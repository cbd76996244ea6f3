package quota

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	metav1 "skiff.dev/api/meta/v1"
)

// FuzzParseQuantity: a quantity of a resource list, as the API carries it
// and this package parses it, never panics; one that parses is written
// (Proto) in a form that parses back to the same value and is written the
// same, so a list survives FromProto(Proto()) unchanged.
func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"500m", "1Gi", "1.5", "2e3", "-1k", "0.0001", "12345678901234567890Ei", "1e-30", "", "1..2", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 256 {
			return
		}
		l := FromProto(map[string]*metav1.Quantity{"cpu": {String_: s}})
		q, ok := l["cpu"]
		if !ok {
			return
		}
		printed := l.Proto()["cpu"].GetString_()
		back, err := resource.ParseQuantity(printed)
		if err != nil {
			t.Fatalf("%q prints as %q, which does not parse: %v", s, printed, err)
		}
		if back.Cmp(q) != 0 || format(back) != printed {
			t.Fatalf("%q prints as %q, which reads back as %q", s, printed, format(back))
		}
		if again := FromProto(l.Proto()); again.String() != l.String() {
			t.Fatalf("list %s reads back as %s", l, again)
		}
	})
}
