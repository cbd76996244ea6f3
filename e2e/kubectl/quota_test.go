package kubectl

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

const limitRange = `apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: quota}
spec:
  limits:
  - type: Container
    max: {cpu: "1"}
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi}
`

// TestQuota: kubectl create quota; the resourcequota controller fills in
// its status; kubectl run over the quota prints Kubernetes' error; the
// quota is given back once a pod is deleted. A LimitRange gives pods
// their default resources, and kubectl get and describe read both kinds.
func TestQuota(t *testing.T) {
	k, srv := newKube(t)
	framework.StartControllerManager(t, srv, "--leader-elect=false", "--controllers=resourcequota")
	k.run("create", "namespace", "quota")
	ns := []string{"-n", "quota"}
	args := func(a ...string) []string { return append(a, ns...) }

	k.runIn(limitRange, "apply", "-f", "-")
	out := k.run(args("describe", "limits", "limits")...)
	mustContain(t, "kubectl describe limits", out, "Name:", "limits", "Container", "cpu", "100m", "500m", "memory", "256Mi")
	lines := strings.Split(strings.TrimSpace(k.run(args("get", "limits")...)), "\n")
	if len(lines) != 2 || !regexp.MustCompile(`^NAME\s+CREATED AT$`).MatchString(lines[0]) || !strings.HasPrefix(lines[1], "limits ") {
		t.Errorf("kubectl get limits: %q", lines)
	}

	k.run(args("create", "quota", "q", "--hard=pods=1,count/configmaps=3")...)
	used := func(resource string) string {
		return k.run(args("get", "quota", "q", "-o", fmt.Sprintf("jsonpath={.status.used['%s']}", resource))...)
	}
	framework.Eventually(t, 30*time.Second, "the controller counts the quota", func() error {
		if got := used("pods"); got != "0" {
			return fmt.Errorf("status.used.pods %q", got)
		}
		return nil
	})

	k.run(args("create", "configmap", "settings", "--from-literal=a=b")...)
	k.run(args("run", "first", "--image=nginx")...)
	pod := k.jsonOf(args("get", "pod", "first")...)
	if got := fmt.Sprint(path(pod, "spec", "containers", 0, "resources")); got != "map[limits:map[cpu:500m memory:256Mi] requests:map[cpu:100m memory:128Mi]]" {
		t.Errorf("the LimitRange's defaults: got %s", got)
	}
	out, err := k.try("", args("run", "second", "--image=nginx")...)
	if err == nil {
		t.Fatalf("kubectl run over the quota succeeded:\n%s", out)
	}
	mustContain(t, "kubectl run over the quota", out,
		`Error from server (Forbidden): pods "second" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1`)
	out, err = k.try("", args("run", "big", "--image=nginx",
		`--overrides={"spec":{"containers":[{"name":"big","image":"nginx","resources":{"limits":{"cpu":"2"}}}]}}`)...)
	if err == nil {
		t.Fatalf("kubectl run over the LimitRange succeeded:\n%s", out)
	}
	mustContain(t, "kubectl run over the LimitRange", out,
		`Error from server (Forbidden): pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2`)

	lines = strings.Split(strings.TrimSpace(k.run(args("get", "quota")...)), "\n")
	if len(lines) != 2 || !regexp.MustCompile(`^NAME\s+REQUEST\s+LIMIT\s+AGE$`).MatchString(lines[0]) ||
		!strings.Contains(lines[1], "count/configmaps: 1/3, pods: 1/1") {
		t.Errorf("kubectl get quota: %q", lines)
	}
	out = k.run(args("describe", "quota", "q")...)
	mustContain(t, "kubectl describe quota", out, "Name:", "Resource", "Used", "Hard")
	if !regexp.MustCompile(`(?m)^pods\s+1\s+1$`).MatchString(out) {
		t.Errorf("kubectl describe quota: no row pods 1 1:\n%s", out)
	}

	k.run(args("delete", "pod", "first")...)
	k.run(args("delete", "configmap", "settings")...)
	framework.Eventually(t, 30*time.Second, "the controller gives the pod's and the ConfigMap's quota back", func() error {
		if pods, cms := used("pods"), used("count/configmaps"); pods != "0" || cms != "0" {
			return fmt.Errorf("status.used pods %q, count/configmaps %q", pods, cms)
		}
		return nil
	})
	k.run(args("run", "second", "--image=nginx")...)
}

// TestPolicyKinds: the everyday kubectl commands on LimitRanges and
// ResourceQuotas, by their short names.
func TestPolicyKinds(t *testing.T) {
	k, _ := newKube(t)
	exerciseKind(t, k, kindCase{
		resource: "limits", namespace: "default",
		manifest: func(name string) string {
			return fmt.Sprintf("apiVersion: v1\nkind: LimitRange\nmetadata: {name: %s, labels: {e2e: kinds}}\n"+
				"spec:\n  limits:\n  - {type: Container, max: {memory: 1Gi}}\n", name)
		},
		columns: []string{"NAME", "CREATED AT"},
		cells:   []string{"first", "*"},
	})
	exerciseKind(t, k, kindCase{
		resource: "quota", namespace: "default",
		manifest: func(name string) string {
			return fmt.Sprintf("apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: %s, labels: {e2e: kinds}}\n"+
				"spec:\n  hard: {pods: \"10\"}\n", name)
		},
		columns: []string{"NAME", "REQUEST", "LIMIT", "AGE"},
		// Without the resourcequota controller the status is empty, and
		// so are REQUEST and LIMIT: the row shows the name and the age.
		cells: []string{"first", "*"},
	})
	out, err := k.try("", "create", "quota", "bad", "-n", "default", "--hard=pods=1.5", "--scopes=BestEffort,NotBestEffort")
	if err == nil {
		t.Fatalf("kubectl create of an invalid quota succeeded:\n%s", out)
	}
	mustContain(t, "kubectl create of an invalid quota", out, `ResourceQuota "bad" is invalid`,
		`spec.hard[pods]: Invalid value: "1500m": must be an integer`,
		`spec.scopes: Invalid value: ["BestEffort","NotBestEffort"]: conflicting scopes`)
}
