package kubectl

import (
	"fmt"
	"strings"
	"testing"
)

// TestPriorityClasses: kubectl on scheduling.k8s.io/v1 PriorityClasses:
// the everyday commands and Kubernetes' columns, kubectl create
// priorityclass, the system classes the apiserver creates, the reserved
// prefix, the immutable value and the single global default.
func TestPriorityClasses(t *testing.T) {
	k, _ := newKube(t)
	exerciseKind(t, k, kindCase{
		resource: "priorityclasses",
		manifest: func(name string) string {
			return fmt.Sprintf(`apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: %s
  labels: {e2e: kinds}
value: 1000
description: for the e2e test
`, name)
		},
		columns: []string{"NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"},
		cells:   []string{"first", "1000", "false", "*", "PreemptLowerPriority"},
	})

	// The system classes exist from the start.
	for _, want := range []string{"system-cluster-critical   2000000000   false", "system-node-critical      2000001000   false"} {
		mustContain(t, "kubectl get pc", k.run("get", "pc"), want)
	}

	k.run("create", "priorityclass", "polite", "--value=500", "--description=waits its turn", "--preemption-policy=Never")
	row := strings.Split(strings.TrimSpace(k.run("get", "pc", "polite", "--no-headers")), "\n")
	if got := fields(row[0]); len(got) != 5 || got[0] != "polite" || got[1] != "500" || got[2] != "false" || got[4] != "Never" {
		t.Errorf("kubectl get pc polite: got %q, want polite 500 false <age> Never", got)
	}

	out, err := k.try("", "create", "priorityclass", "system-mine", "--value=5")
	if err == nil {
		t.Errorf("kubectl create priorityclass system-mine: succeeded, want it refused\n%s", out)
	}
	mustContain(t, "the reserved prefix", out, "priority class names with 'system-' prefix are reserved for system use only")

	out, err = k.try("", "create", "priorityclass", "huge", "--value=1000000001")
	if err == nil {
		t.Errorf("kubectl create priorityclass huge: succeeded, want it refused\n%s", out)
	}
	mustContain(t, "a value above the user range", out, "maximum allowed value of a user defined priority is 1000000000")

	out, err = k.try("", "patch", "pc", "polite", "--type=merge", "-p", `{"value":7}`)
	if err == nil {
		t.Errorf("kubectl patch of the value: succeeded, want it refused\n%s", out)
	}
	mustContain(t, "kubectl patch of the value", out, "value: Forbidden: may not be changed in an update.")

	k.run("create", "priorityclass", "everyday", "--value=100", "--global-default")
	out, err = k.try("", "create", "priorityclass", "another-default", "--value=200", "--global-default")
	if err == nil {
		t.Errorf("a second global default: created, want it refused\n%s", out)
	}
	mustContain(t, "a second global default", out, "PriorityClass everyday is already marked as default. Only one default can exist")
}
