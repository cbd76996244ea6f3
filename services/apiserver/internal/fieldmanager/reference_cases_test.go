package fieldmanager

import (
	"fmt"
	"testing"
)

// set puts v at path in o, making the maps on the way.
func set(o map[string]any, v any, path ...string) {
	for _, p := range path[:len(path)-1] {
		next, ok := o[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			o[p] = next
		}
		o = next
	}
	o[path[len(path)-1]] = v
}

func edit(manager, subresource string, f func(map[string]any)) refStep {
	return refStep{step: step{manager: manager, subresource: subresource}, edit: f}
}

func applyRef(manager, subresource string, force bool, body string) refStep {
	return refStep{step: step{apply: true, manager: manager, subresource: subresource, force: force, body: body}}
}

func TestMatchesKubernetes(t *testing.T) {
	created := func(o map[string]any) {
		for k, v := range obj(t, webConfig) {
			o[k] = v
		}
		set(o, "u1", "metadata", "uid")
	}
	withStatus := `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
  "spec": {"replicas": 3}, "status": {"readyReplicas": 1}}`
	image9 := `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
  "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:9"}]}}}}`
	cases := []struct {
		name  string
		steps []refStep
	}{{
		name: "appliers, updaters and subresources",
		steps: []refStep{
			applyRef("kubectl", "", false, webConfig),
			applyRef("kubectl", "", false, webConfig),
			edit("registry", "", func(o map[string]any) {
				set(o, "u1", "metadata", "uid")
				set(o, int64(1), "metadata", "generation")
				set(o, "17", "metadata", "resourceVersion")
				set(o, "2026-03-01T10:00:00Z", "metadata", "creationTimestamp")
			}),
			applyRef("scaler", "", false, webReplicas5),
			applyRef("scaler", "", true, webReplicas5),
			edit("editor", "", func(o map[string]any) { set(o, "x", "metadata", "labels", "extra") }),
			edit("ctrl", "status", func(o map[string]any) { set(o, int64(2), "status", "replicas") }),
			edit("ctrl", "status", func(o map[string]any) { set(o, int64(3), "status", "replicas"); set(o, int64(9), "spec", "replicas") }),
			applyRef("kubectl", "", false, withStatus),
			applyRef("kubectl", "", true, withStatus),
			applyRef("st", "status", false, `{"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default", "labels": {"z": "1"}}, "status": {"readyReplicas": 4}}`),
			applyRef("", "", false, `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
  "spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox"}]}}}}`),
			edit("", "", func(o map[string]any) { set(o, int64(7), "spec", "replicas") }),
		},
	}, {
		name: "untracked objects and managed fields sent by clients",
		steps: []refStep{
			edit("creator", "", created),
			edit("resetter", "", func(o map[string]any) { set(o, []any{}, "metadata", "managedFields") }),
			edit("untracked", "", func(o map[string]any) { set(o, int64(4), "spec", "replicas") }),
			applyRef("kubectl", "", false, webReplicas5),
			edit("invalid", "", func(o map[string]any) {
				set(o, []any{map[string]any{"manager": "x", "operation": "Bogus"}}, "metadata", "managedFields")
				set(o, int64(6), "spec", "replicas")
			}),
			edit("honoured", "", func(o map[string]any) {
				set(o, []any{obj(t, entry("mine", "Update", "", "", `{"f:spec": {"f:replicas": {}}}`))}, "metadata", "managedFields")
			}),
			edit("reset-one-empty", "", func(o map[string]any) {
				set(o, []any{map[string]any{}}, "metadata", "managedFields")
				set(o, int64(1), "spec", "replicas")
			}),
			applyRef("other", "", false, image9),
			applyRef("other", "", true, image9),
		},
	}, {
		name: "the client-side apply annotation",
		steps: []refStep{
			edit("kubectl-client-side-apply", "", func(o map[string]any) {
				for k, v := range obj(t, clientSideApplied(t, 3)) {
					o[k] = v
				}
			}),
			applyRef("kubectl", "", false, webReplicas5),
			applyRef("kubectl", "", false, image9),
			edit("hpa", "", func(o map[string]any) { set(o, int64(4), "spec", "replicas") }),
			applyRef("kubectl", "", false, `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"}}`),
		},
	}}
	capped := []refStep{applyRef("kubectl", "", false, webConfig)}
	for i := range 13 {
		label := fmt.Sprintf("l%02d", i)
		capped = append(capped, edit(fmt.Sprintf("m%02d", i), "", func(o map[string]any) { set(o, "v", "metadata", "labels", label) }))
	}
	cases = append(cases, struct {
		name  string
		steps []refStep
	}{"capped update entries", capped})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkAgainstReference(t, c.steps) })
	}
}
