package kubelet

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// apiAccessPods run in a namespace that enforces the restricted Pod
// Security Standard: non-root, RuntimeDefault seccomp, no capabilities.
// One takes the service-account token the ServiceAccount admission plugin
// mounts; the other turns it down.
const apiAccessPods = `apiVersion: v1
kind: Pod
metadata: {name: reader, namespace: team}
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [sleep, infinity]
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
---
apiVersion: v1
kind: Pod
metadata: {name: tokenless, namespace: team}
spec:
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [sleep, infinity]
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
`

const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// TestServiceAccountVolume: a pod without volumes gets the
// kube-api-access-* volume and reads its namespace, the cluster's CA and a
// token that authenticates as its service account from
// /var/run/secrets/kubernetes.io/serviceaccount, on real containerd; a pod
// with automountServiceAccountToken: false gets nothing there. Both pass
// PodSecurity's restricted level and run under the runtime's seccomp
// profile, without privilege escalation, as a non-root user.
func TestServiceAccountVolume(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n  labels: {pod-security.kubernetes.io/enforce: restricted}\n")
	var rootCA string
	framework.Eventually(t, 30*time.Second, "team's default account and root CA", func() error {
		if _, err := c.CoreV1().ServiceAccounts("team").Get(context.Background(), "default"); err != nil {
			return err
		}
		cm, err := c.CoreV1().ConfigMaps("team").Get(context.Background(), "kube-root-ca.crt")
		rootCA = cm.GetData()["ca.crt"]
		return err
	})
	cl.apply(t, apiAccessPods)

	k := kubectlRunner{kubeconfig: cl.srv.Kubeconfig()}
	for _, name := range []string{"reader", "tokenless"} {
		framework.Eventually(t, 60*time.Second, name+" running", func() error {
			p, err := c.CoreV1().Pods("team").Get(context.Background(), name)
			if err != nil {
				return err
			}
			if p.GetStatus().GetPhase() != "Running" {
				return fmt.Errorf("phase %s: %v %v", p.GetStatus().GetPhase(), containerStatus(p).GetState(), p.GetStatus().GetConditions())
			}
			return nil
		})
	}

	reader, err := c.CoreV1().Pods("team").Get(context.Background(), "reader")
	if err != nil {
		t.Fatal(err)
	}
	vols := reader.GetSpec().GetVolumes()
	if len(vols) != 1 || !strings.HasPrefix(vols[0].GetName(), "kube-api-access-") || len(vols[0].GetName()) != len("kube-api-access-")+5 {
		t.Fatalf("reader's volumes: %v, want one kube-api-access-xxxxx", vols)
	}
	mounts := reader.GetSpec().GetContainers()[0].GetVolumeMounts()
	if len(mounts) != 1 || mounts[0].GetName() != vols[0].GetName() || mounts[0].GetMountPath() != serviceAccountDir || !mounts[0].GetReadOnly() {
		t.Errorf("reader's mounts: %v", mounts)
	}
	cat := func(file string) string {
		t.Helper()
		return k.mustRun(t, "", "exec", "-n", "team", "reader", "--", "cat", serviceAccountDir+"/"+file)
	}
	if got := cat("namespace"); got != "team" {
		t.Errorf("namespace file: %q, want team", got)
	}
	if got := cat("ca.crt"); got != rootCA || !strings.Contains(got, "BEGIN CERTIFICATE") {
		t.Errorf("ca.crt: %q, want kube-root-ca.crt's %q", got, rootCA)
	}
	if who := whoami(t, cl, cat("token")); who != "system:serviceaccount:team:default" {
		t.Errorf("the mounted token authenticates as %q", who)
	}
	if id := k.mustRun(t, "", "exec", "-n", "team", "reader", "--", "id"); !strings.HasPrefix(id, "uid=1000 ") {
		t.Errorf("id: %q, want uid 1000", id)
	}
	// RuntimeDefault is a seccomp filter (mode 2); no privilege escalation
	// is no_new_privs.
	status := k.mustRun(t, "", "exec", "-n", "team", "reader", "--", "cat", "/proc/self/status")
	if !strings.Contains(status, "\nSeccomp:\t2\n") || !strings.Contains(status, "\nNoNewPrivs:\t1\n") {
		t.Errorf("the container runs without its seccomp filter or no_new_privs:\n%s", status)
	}

	tokenless, err := c.CoreV1().Pods("team").Get(context.Background(), "tokenless")
	if err != nil {
		t.Fatal(err)
	}
	if vols := tokenless.GetSpec().GetVolumes(); len(vols) != 0 {
		t.Errorf("tokenless has volumes %v", vols)
	}
	if out, stderr, err := k.run(t, "", "exec", "-n", "team", "tokenless", "--", "ls", serviceAccountDir); err == nil {
		t.Errorf("ls %s in tokenless: %q %q, want it missing", serviceAccountDir, out, stderr)
	}
}
