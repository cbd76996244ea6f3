package fieldmanager

import (
	"encoding/json"
	"testing"
)

// clientSideApplied is webObject as kubectl's client-side apply of
// webConfig leaves it: with the last-applied annotation.
func clientSideApplied(t *testing.T, replicas int) string {
	compact, err := json.Marshal(obj(t, webConfig))
	if err != nil {
		t.Fatal(err)
	}
	annotation, err := json.Marshal(string(compact))
	if err != nil {
		t.Fatal(err)
	}
	return webObject(replicas, "nginx:1", `, "annotations": {"`+lastAppliedAnnotation+`": `+string(annotation)+`}`, "")
}

func TestUpgradeFromClientSideApply(t *testing.T) {
	csaFields := `{"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}},
  "f:labels": {".": {}, "f:app": {}}}, "f:spec": {".": {}, "f:selector": {},
  "f:template": {".": {}, "f:spec": {".": {}, "f:containers": {".": {}, "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}`
	appliedAnnotation := `, "annotations": {"` + lastAppliedAnnotation + `": ` +
		`"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":5}}\n"}`
	cases := []struct {
		name     string
		steps    []step
		want     string
		conflict string
	}{{
		name: "kubectl takes over what its client-side apply set",
		steps: []step{updateBy("kubectl-client-side-apply", clientSideApplied(t, 3), t0),
			applyBy("kubectl", webReplicas5, t1)},
		want: webObject(5, "nginx:1", appliedAnnotation, "",
			entry("kubectl", "Apply", "", at1, `{"f:spec": {"f:replicas": {}}}`),
			entry("kubectl-client-side-apply", "Update", "", at0, csaFields)),
	}, {
		name: "a field someone changed since still conflicts",
		steps: []step{updateBy("kubectl-client-side-apply", clientSideApplied(t, 3), t0),
			updateBy("kubectl-edit", clientSideApplied(t, 4), t1),
			applyBy("kubectl", webReplicas5, t2)},
		conflict: `Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas`,
	}, {
		name: "another manager than kubectl conflicts",
		steps: []step{updateBy("kubectl-client-side-apply", clientSideApplied(t, 3), t0),
			applyBy("deployer", webReplicas5, t1)},
		conflict: `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas`,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := run(t, deployments(t), c.steps)
			if c.conflict != "" {
				if err == nil || err.Error() != c.conflict {
					t.Fatalf("got %v, want %s", err, c.conflict)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantObject(t, got, c.want)
		})
	}
}
