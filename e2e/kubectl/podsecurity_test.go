package kubectl

import (
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

const securityNamespaces = `apiVersion: v1
kind: Namespace
metadata:
  name: locked
  labels: {pod-security.kubernetes.io/enforce: restricted}
---
apiVersion: v1
kind: Namespace
metadata:
  name: watched
  labels: {pod-security.kubernetes.io/warn: restricted}
`

// privilegedPod is what the restricted level refuses, for five reasons.
const privilegedPod = `apiVersion: v1
kind: Pod
metadata: {name: root, namespace: %s}
spec:
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    securityContext: {privileged: true}
`

// compliantPod is what the restricted level admits.
const compliantPod = `apiVersion: v1
kind: Pod
metadata: {name: careful, namespace: locked}
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
`

// restrictedViolations is Kubernetes' account of privilegedPod under the
// restricted level.
const restrictedViolations = `privileged (container "c" must not set securityContext.privileged=true), ` +
	`allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ` +
	`unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ` +
	`runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ` +
	`seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`

// TestPodSecurity: the pod-security.kubernetes.io labels as kubectl users
// see them. enforce=restricted refuses a privileged pod with Kubernetes'
// message and admits a compliant one; warn=restricted admits the
// privileged pod with kubectl's "Warning: would violate PodSecurity" line;
// a Deployment is only warned about; raising a namespace's enforce level
// warns about the pods already there; a level that does not exist is
// refused.
func TestPodSecurity(t *testing.T) {
	k, _ := newKube(t)
	k.runIn(securityNamespaces, "apply", "-f", "-")
	for _, ns := range []string{"locked", "watched"} {
		framework.Eventually(t, 30*time.Second, ns+"/default exists", func() error {
			_, err := k.try("", "get", "serviceaccount", "default", "-n", ns)
			return err
		})
	}

	out, err := k.try(strings.ReplaceAll(privilegedPod, "%s", "locked"), "apply", "-f", "-")
	want := `Error from server (Forbidden): error when creating "STDIN": pods "root" is forbidden: violates PodSecurity "restricted:latest": ` + restrictedViolations + "\n"
	if err == nil || out != want {
		t.Errorf("kubectl apply of a privileged pod under enforce=restricted: %v\ngot  %q\nwant %q", err, out, want)
	}
	if out := k.runIn(compliantPod, "apply", "-f", "-"); out != "pod/careful created\n" {
		t.Errorf("kubectl apply of a compliant pod: %q, want only pod/careful created", out)
	}

	out = k.runIn(strings.ReplaceAll(privilegedPod, "%s", "watched"), "apply", "-f", "-")
	want = `Warning: would violate PodSecurity "restricted:latest": ` + restrictedViolations + "\npod/root created\n"
	if out != want {
		t.Errorf("kubectl apply of a privileged pod under warn=restricted:\ngot  %q\nwant %q", out, want)
	}

	// Workloads are warned about (warn follows a stricter enforce level),
	// not refused: the pods they make are.
	out = k.run("create", "deployment", "web", "-n", "locked", "--image=registry.skiff.local/testserver:1.0")
	mustContain(t, "kubectl create deployment under enforce=restricted", out,
		`Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "testserver" must set securityContext.allowPrivilegeEscalation=false)`,
		"deployment.apps/web created")

	out = k.run("label", "namespace", "watched", "pod-security.kubernetes.io/enforce=baseline")
	want = "Warning: existing pods in namespace \"watched\" violate the new PodSecurity enforce level \"baseline:latest\"\n" +
		"Warning: root: privileged\n" +
		"namespace/watched labeled\n"
	if out != want {
		t.Errorf("kubectl label of a namespace with a violating pod:\ngot  %q\nwant %q", out, want)
	}

	out, err = k.try("", "label", "namespace", "locked", "pod-security.kubernetes.io/enforce=strict", "--overwrite")
	want = `The Namespace "locked" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted` + "\n"
	if err == nil || out != want {
		t.Errorf("kubectl label with an unknown level: %v\ngot  %q\nwant %q", err, out, want)
	}
}
