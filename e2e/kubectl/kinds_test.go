package kubectl

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// kindCase is one kind as kubectl users meet it.
type kindCase struct {
	resource string // as typed: podtemplates
	// namespace is where the objects live; "" for a cluster-scoped kind.
	namespace string
	// manifest is the YAML of an object of that name, labelled
	// e2e=kinds.
	manifest func(name string) string
	// columns are kubectl get's column headers; cells the row of the
	// object named "first" (a cell "*" matches anything, such as an age).
	columns, cells []string
}

var columnGap = regexp.MustCompile(`\s{2,}`)

// fields splits a line of kubectl get's output into its cells.
func fields(line string) []string {
	return columnGap.Split(strings.TrimSpace(line), -1)
}

// exerciseKind runs the everyday kubectl commands on a kind: apply, get
// (its table, by name, by label), watch, patch, annotate, replace and
// delete (by name and by label).
func exerciseKind(t *testing.T, k *kube, c kindCase) {
	t.Helper()
	scope := []string{}
	if c.namespace != "" {
		scope = []string{"-n", c.namespace}
	}
	args := func(a ...string) []string { return append(a, scope...) }

	k.runIn(c.manifest("first"), args("apply", "-f", "-")...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var watched framework.SyncBuffer
	watch := k.cmd(ctx, "", args("get", c.resource, "-l", "e2e=kinds", "-w")...)
	watch.Stdout, watch.Stderr = &watched, &watched
	if err := watch.Start(); err != nil {
		t.Fatalf("start kubectl get -w: %v", err)
	}
	defer func() { cancel(); _ = watch.Wait() }()
	framework.Eventually(t, 30*time.Second, "kubectl get -w lists the existing object", func() error {
		return containsErr(watched.String(), "first")
	})
	k.runIn(c.manifest("second"), args("apply", "-f", "-")...)
	framework.Eventually(t, 30*time.Second, "kubectl get -w shows the new object", func() error {
		return containsErr(watched.String(), "second")
	})

	lines := strings.Split(strings.TrimSpace(k.run(args("get", c.resource, "first")...)), "\n")
	if len(lines) != 2 {
		t.Fatalf("kubectl get %s first: got %q, want a header and one row", c.resource, lines)
	}
	if got := fields(lines[0]); !slices.Equal(got, c.columns) {
		t.Errorf("kubectl get %s columns: got %q, want %q", c.resource, got, c.columns)
	}
	row := fields(lines[1])
	if len(row) != len(c.cells) {
		t.Errorf("kubectl get %s row: got %q, want %q", c.resource, row, c.cells)
	} else {
		for i, want := range c.cells {
			if want != "*" && row[i] != want {
				t.Errorf("kubectl get %s row: got %q, want %q", c.resource, row, c.cells)
				break
			}
		}
	}
	names := strings.Fields(k.run(args("get", c.resource, "-l", "e2e=kinds", "-o", "name")...))
	if len(names) != 2 {
		t.Errorf("kubectl get %s -l e2e=kinds -o name: got %q, want first and second", c.resource, names)
	}

	k.run(args("patch", c.resource, "first", "-p", `{"metadata":{"labels":{"patched":"yes"}}}`)...)
	k.run(args("annotate", c.resource, "first", "note=hello")...)
	obj := k.jsonOf(args("get", c.resource, "first")...)
	if path(obj, "metadata", "labels", "patched") != "yes" || path(obj, "metadata", "annotations", "note") != "hello" {
		t.Errorf("patch and annotate: got labels %v, annotations %v", path(obj, "metadata", "labels"), path(obj, "metadata", "annotations"))
	}
	obj["metadata"].(map[string]any)["annotations"].(map[string]any)["replaced"] = "true"
	replaced, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	k.runIn(string(replaced), "replace", "-f", "-")
	if got := path(k.jsonOf(args("get", c.resource, "first")...), "metadata", "annotations", "replaced"); got != "true" {
		t.Errorf("kubectl replace: got annotation replaced=%v, want true", got)
	}
	framework.Eventually(t, 30*time.Second, "kubectl get -w shows the changes", func() error {
		if n := strings.Count(watched.String(), "first"); n < 4 {
			return fmt.Errorf("%d lines of first (listed, patched, annotated, replaced), want 4:\n%s", n, watched.String())
		}
		return nil
	})

	out := k.run(args("delete", c.resource, "first")...)
	mustContain(t, "kubectl delete", out, "deleted")
	if out, err := k.try("", args("get", c.resource, "first")...); err == nil || !strings.Contains(out, "NotFound") {
		t.Errorf("kubectl get after delete: got %v\n%s, want NotFound", err, out)
	}
	k.run(args("delete", c.resource, "-l", "e2e=kinds")...)
	out = k.run(args("get", c.resource, "-l", "e2e=kinds")...)
	mustContain(t, "kubectl get after delete -l", out, "No resources found")
}
