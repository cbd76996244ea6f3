package kubelet

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

const envFromPods = `apiVersion: v1
kind: ConfigMap
metadata: {name: env-config}
data: {data-1: value-1, data-2: value-2}
---
apiVersion: v1
kind: Secret
metadata: {name: env-secret}
data: {data-3: dmFsdWUtMwo=, data-4: dmFsdWUtNA==}
---
apiVersion: v1
kind: Pod
metadata: {name: env-from}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [env]
    envFrom:
    - configMapRef: {name: env-config}
    - prefix: p-
      configMapRef: {name: env-config}
    - secretRef: {name: env-secret}
    - prefix: 1-
      secretRef: {name: env-secret}
    - secretRef: {name: absent, optional: true}
    - configMapRef: {name: absent, optional: true}
---
apiVersion: v1
kind: Pod
metadata: {name: env-from-missing}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [env]
    envFrom:
    - secretRef: {name: absent}
`

// TestEnvFrom: envFrom takes every key of a ConfigMap and of a Secret,
// with and without a prefix (one that starts with a digit, as Kubernetes
// 1.32 allows), skips optional sources that do not exist, and holds a
// container whose required Secret is missing in CreateContainerConfigError
// with Kubernetes' message.
func TestEnvFrom(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, envFromPods)
	framework.Eventually(t, 60*time.Second, "env-from Succeeded", func() error {
		if p := getPod(t, c, "env-from"); p.GetStatus().GetPhase() != "Succeeded" {
			return fmt.Errorf("phase %s: %v", p.GetStatus().GetPhase(), containerStatus(p).GetState())
		}
		return nil
	})
	out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", "logs", "env-from")
	if err != nil {
		t.Fatalf("kubectl logs: %v\n%s", err, out)
	}
	for _, want := range []string{"data-1=value-1", "data-2=value-2", "p-data-1=value-1", "p-data-2=value-2",
		"data-3=value-3", "data-4=value-4", "1-data-3=value-3", "1-data-4=value-4"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("environment lacks %s:\n%s", want, out)
		}
	}
	framework.Eventually(t, 30*time.Second, "env-from-missing waiting", func() error {
		w := containerStatus(getPod(t, c, "env-from-missing")).GetState().GetWaiting()
		if w.GetReason() != "CreateContainerConfigError" || w.GetMessage() != `secret "absent" not found` {
			return fmt.Errorf("waiting %v, want CreateContainerConfigError: secret \"absent\" not found", w)
		}
		return nil
	})
}
