package fieldmanager

import (
	"errors"
	"reflect"
	"testing"
)

const (
	// webImage2 sets the replicas and the image of webConfig otherwise.
	webImage2 = `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
  "spec": {"replicas": 4, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}}`
	// webImage7 is webConfig written back with another image.
	webImage7 = `{"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
    "template": {"spec": {"containers": [{"name": "web", "image": "nginx:7"}]}}}}`
)

func TestConflicts(t *testing.T) {
	cases := []struct {
		name    string
		steps   []step
		message string
		causes  []Conflict
	}{{
		name:    "with an applier",
		steps:   []step{applyBy("kubectl", webConfig, t0), applyBy("scaler", webReplicas5, t1)},
		message: `Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas`,
		causes:  []Conflict{{Manager: "kubectl", Field: ".spec.replicas", Message: `conflict with "kubectl"`}},
	}, {
		name: "with an updater",
		steps: []step{updateBy("kubectl-client-side-apply", webConfig, t0),
			applyBy("kubectl", webReplicas5, t1)},
		message: `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas`,
		causes: []Conflict{{Manager: "kubectl-client-side-apply", Field: ".spec.replicas",
			Message: `conflict with "kubectl-client-side-apply" using apps/v1`}},
	}, {
		name: "with an applier through a subresource",
		steps: []step{{apply: true, manager: "ctl", subresource: "status", at: t0,
			body: `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "status": {"replicas": 1}}`},
			{apply: true, manager: "other", subresource: "status", at: t1,
				body: `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "status": {"replicas": 2}}`}},
		message: `Apply failed with 1 conflict: conflict with "ctl" with subresource "status": .status.replicas`,
		causes: []Conflict{{Manager: "ctl", Field: ".status.replicas",
			Message: `conflict with "ctl" with subresource "status"`}},
	}, {
		name: "several, grouped by manager",
		steps: []step{applyBy("kubectl", webConfig, t0), updateBy("kubectl", webImage7, t1),
			applyBy("deployer", webImage2, t2)},
		message: "Apply failed with 2 conflicts: " +
			"conflicts with \"kubectl\":\n- .spec.replicas\n" +
			"conflicts with \"kubectl\" using apps/v1:\n- .spec.template.spec.containers[name=\"web\"].image",
		causes: []Conflict{
			{Manager: "kubectl", Field: ".spec.replicas", Message: `conflict with "kubectl"`},
			{Manager: "kubectl", Field: `.spec.template.spec.containers[name="web"].image`, Message: `conflict with "kubectl" using apps/v1`},
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := run(t, deployments(t), c.steps)
			var conflict *ConflictError
			if !errors.As(err, &conflict) {
				t.Fatalf("got %v, want a conflict", err)
			}
			if conflict.Error() != c.message {
				t.Errorf("got message\n%s\nwant\n%s", conflict.Error(), c.message)
			}
			if !reflect.DeepEqual(conflict.Conflicts, c.causes) {
				t.Errorf("got causes %+v, want %+v", conflict.Conflicts, c.causes)
			}
		})
	}
}
