package kubectl

import (
	"fmt"
	"testing"
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
