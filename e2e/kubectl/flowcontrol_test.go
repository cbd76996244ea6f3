package kubectl

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"skiff.dev/e2e/framework"
)

// TestFlowControl: kubectl on flowcontrol.apiserver.k8s.io/v1 FlowSchemas
// and PriorityLevelConfigurations: the everyday commands and Kubernetes'
// columns.
func TestFlowControl(t *testing.T) {
	k, _ := newKube(t)
	exerciseKind(t, k, kindCase{
		resource: "prioritylevelconfigurations",
		manifest: func(name string) string {
			return fmt.Sprintf(`apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata:
  name: %s
  labels: {e2e: kinds}
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 7
    limitResponse:
      type: Queue
      queuing: {queues: 16}
`, name)
		},
		columns: []string{"NAME", "TYPE", "NOMINALCONCURRENCYSHARES", "QUEUES", "HANDSIZE", "QUEUELENGTHLIMIT", "AGE"},
		cells:   []string{"first", "Limited", "7", "16", "8", "50", "*"},
	})
	exerciseKind(t, k, kindCase{
		resource: "flowschemas",
		manifest: func(name string) string {
			return fmt.Sprintf(`apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata:
  name: %s
  labels: {e2e: kinds}
spec:
  priorityLevelConfiguration: {name: global-default}
  matchingPrecedence: 500
  distinguisherMethod: {type: ByNamespace}
  rules:
  - subjects: [{kind: Group, group: {name: "system:authenticated"}}]
    resourceRules: [{verbs: ["*"], apiGroups: ["*"], resources: ["*"], namespaces: ["*"]}]
`, name)
		},
		columns: []string{"NAME", "PRIORITYLEVEL", "MATCHINGPRECEDENCE", "DISTINGUISHERMETHOD", "AGE", "MISSINGPL"},
		cells:   []string{"first", "global-default", "500", "ByNamespace", "*", "?"},
	})
	out, err := k.try("", "patch", "flowschema", "nothing", "--type=merge", "-p", `{}`)
	if err == nil {
		t.Errorf("patch a missing flowschema: succeeded\n%s", out)
	}
	mustContain(t, "patch a missing flowschema", out, `flowschemas.flowcontrol.apiserver.k8s.io "nothing" not found`)
}

// TestMandatoryFlowControlObjects: the apiserver keeps Kubernetes'
// mandatory exempt and catch-all FlowSchemas and priority levels, with
// their fixed specs (only the exempt level's exempt settings may change),
// and makes a deleted one again when it starts; kubectl lists the schemas
// in the order they match.
func TestMandatoryFlowControlObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	k := &kube{t: t, kubeconfig: srv.Kubeconfig()}
	k.runIn(`apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: between}
spec:
  priorityLevelConfiguration: {name: catch-all}
  matchingPrecedence: 500
  rules:
  - subjects: [{kind: User, user: {name: alice}}]
    nonResourceRules: [{verbs: ["get"], nonResourceURLs: ["/healthz"]}]
`, "apply", "-f", "-")
	rows := func(resource string) [][]string {
		var out [][]string
		for _, line := range strings.Split(strings.TrimSpace(k.run("get", resource)), "\n")[1:] {
			out = append(out, fields(line))
		}
		return out
	}
	var order []string
	for _, r := range rows("flowschemas") {
		order = append(order, r[0]+"/"+r[1]+"/"+r[2]+"/"+r[3])
	}
	if want := []string{"exempt/exempt/1/<none>", "between/catch-all/500/<none>", "catch-all/catch-all/10000/ByUser"}; !slices.Equal(order, want) {
		t.Errorf("kubectl get flowschemas: got %q, want %q", order, want)
	}
	var levels []string
	for _, r := range rows("prioritylevelconfigurations") {
		levels = append(levels, strings.Join(r[:6], "/"))
	}
	if want := []string{"catch-all/Limited/5/<none>/<none>/<none>", "exempt/Exempt/<none>/<none>/<none>/<none>"}; !slices.Equal(levels, want) {
		t.Errorf("kubectl get prioritylevelconfigurations: got %q, want %q", levels, want)
	}
	ann := k.run("get", "flowschema", "catch-all", "-o", "jsonpath={.metadata.annotations}")
	mustContain(t, "the mandatory catch-all's annotations", ann, `"apf.kubernetes.io/autoupdate-spec":"true"`)

	out, err := k.try("", "patch", "flowschema", "catch-all", "--type=merge", "-p", `{"spec":{"matchingPrecedence":9000}}`)
	if err == nil {
		t.Errorf("change the mandatory catch-all schema: succeeded, want Invalid\n%s", out)
	}
	mustContain(t, "change the mandatory catch-all schema", out, "spec of 'catch-all' must equal the fixed value")
	k.run("patch", "prioritylevelconfiguration", "exempt", "--type=merge", "-p", `{"spec":{"exempt":{"nominalConcurrencyShares":5}}}`)
	k.run("delete", "flowschema", "catch-all")

	srv.Stop()
	srv.Start()
	if got := k.run("get", "flowschema", "catch-all", "-o", "jsonpath={.spec.matchingPrecedence}"); got != "10000" {
		t.Errorf("the deleted catch-all schema after a restart: got precedence %q, want it made again with 10000", got)
	}
	if got := k.run("get", "prioritylevelconfiguration", "exempt", "-o", "jsonpath={.spec.exempt.nominalConcurrencyShares}"); got != "5" {
		t.Errorf("the exempt level's shares after a restart: got %q, want the admin's 5 kept", got)
	}
}
