package kubelet

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"skiff.dev/e2e/framework"
)

const downwardPod = `apiVersion: v1
kind: Pod
metadata: {name: downward}
spec:
  containers:
  - name: limited
    image: registry.skiff.local/testserver:1.0
    command: [sleep, infinity]
    resources:
      requests: {cpu: 250m, memory: 32Mi, ephemeral-storage: 64Mi}
      limits: {cpu: 1250m, memory: 64Mi, ephemeral-storage: 128Mi}
    env:
    - name: CPU_LIMIT
      valueFrom: {resourceFieldRef: {resource: limits.cpu}}
    - name: CPU_LIMIT_MILLI
      valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}
    - name: MEMORY_LIMIT
      valueFrom: {resourceFieldRef: {resource: limits.memory}}
    - name: MEMORY_REQUEST_MI
      valueFrom: {resourceFieldRef: {resource: requests.memory, divisor: 1Mi}}
    - name: CPU_REQUEST
      valueFrom: {resourceFieldRef: {resource: requests.cpu}}
    - name: STORAGE_LIMIT
      valueFrom: {resourceFieldRef: {resource: limits.ephemeral-storage}}
    - name: STORAGE_REQUEST_MI
      valueFrom: {resourceFieldRef: {resource: requests.ephemeral-storage, divisor: 1Mi}}
    volumeMounts:
    - {name: podinfo, mountPath: /etc/podinfo}
    - {name: projected, mountPath: /etc/projected}
  - name: unlimited
    image: registry.skiff.local/testserver:1.0
    command: [sleep, infinity]
    env:
    - name: CPU_LIMIT_MILLI
      valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}
    - name: MEMORY_LIMIT
      valueFrom: {resourceFieldRef: {resource: limits.memory}}
    - name: STORAGE_LIMIT
      valueFrom: {resourceFieldRef: {resource: limits.ephemeral-storage}}
    - name: OTHER_MEMORY_LIMIT
      valueFrom: {resourceFieldRef: {containerName: limited, resource: limits.memory, divisor: 1Mi}}
  volumes:
  - name: podinfo
    downwardAPI:
      items:
      - path: cpu_limit
        resourceFieldRef: {containerName: limited, resource: limits.cpu, divisor: 1m}
      - path: memory_request
        resourceFieldRef: {containerName: limited, resource: requests.memory}
      - path: unlimited_memory_limit
        resourceFieldRef: {containerName: unlimited, resource: limits.memory}
  - name: projected
    projected:
      sources:
      - downwardAPI:
          items:
          - path: cpu_request
            resourceFieldRef: {containerName: limited, resource: requests.cpu, divisor: 1m}
          - path: unlimited_cpu_limit
            resourceFieldRef: {containerName: unlimited, resource: limits.cpu}
`

// TestDownwardAPIResources: resourceFieldRef reaches containers as
// Kubernetes computes it, in environment variables (the container's own
// resources by default, another's by name) and in downwardAPI and
// projected volume files: divided by the divisor and rounded up, with the
// node's allocatable amount where the container sets no limit; the
// apiserver refuses a volume file that names no container.
func TestDownwardAPIResources(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, downwardPod)
	framework.Eventually(t, 60*time.Second, "downward running", func() error {
		p := getPod(t, c, "downward")
		if p.GetStatus().GetPhase() != "Running" {
			return fmt.Errorf("phase %s %s: %v", p.GetStatus().GetPhase(), p.GetStatus().GetMessage(), p.GetStatus().GetContainerStatuses())
		}
		return nil
	})
	n, err := c.CoreV1().Nodes().Get(context.Background(), "node-a")
	if err != nil {
		t.Fatal(err)
	}
	alloc := func(name string, divisor int64) string {
		q := resource.MustParse(n.GetStatus().GetAllocatable()[name].GetString_())
		v := q.Value()
		if name == "cpu" {
			v = q.MilliValue()
		}
		return strconv.FormatInt(int64(math.Ceil(float64(v)/float64(divisor))), 10)
	}
	p := getPod(t, c, "downward")
	ids := map[string]string{}
	for _, cs := range p.GetStatus().GetContainerStatuses() {
		ids[cs.GetName()] = strings.TrimPrefix(cs.GetContainerId(), "containerd://")
	}
	for container, want := range map[string][]string{
		"limited": {"CPU_LIMIT=2", "CPU_LIMIT_MILLI=1250", "MEMORY_LIMIT=67108864", "MEMORY_REQUEST_MI=32",
			"CPU_REQUEST=1", "STORAGE_LIMIT=134217728", "STORAGE_REQUEST_MI=64"},
		"unlimited": {"CPU_LIMIT_MILLI=" + alloc("cpu", 1), "MEMORY_LIMIT=" + alloc("memory", 1),
			"STORAGE_LIMIT=" + alloc("ephemeral-storage", 1), "OTHER_MEMORY_LIMIT=64"},
	} {
		env, code := execIn(t, cl.ctd, ids[container], "env")
		if code != 0 {
			t.Fatalf("env in %s: exit %d: %s", container, code, env)
		}
		for _, w := range want {
			if !strings.Contains(env, w+"\n") {
				t.Errorf("environment of %s lacks %s:\n%s", container, w, env)
			}
		}
	}
	for file, want := range map[string]string{
		"/etc/podinfo/cpu_limit":              "1250",
		"/etc/podinfo/memory_request":         "33554432",
		"/etc/podinfo/unlimited_memory_limit": alloc("memory", 1),
		"/etc/projected/cpu_request":          "250",
		"/etc/projected/unlimited_cpu_limit":  alloc("cpu", 1000),
	} {
		if got, code := execIn(t, cl.ctd, ids["limited"], "cat", file); code != 0 || got != want {
			t.Errorf("cat %s: %q (exit %d), want %q", file, got, code, want)
		}
	}

	out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), `apiVersion: v1
kind: Pod
metadata: {name: nameless}
spec:
  containers:
  - {name: c, image: registry.skiff.local/testserver:1.0}
  volumes:
  - name: podinfo
    downwardAPI:
      items:
      - {path: cpu_limit, resourceFieldRef: {resource: limits.cpu}}
`, "apply", "-f", "-")
	if err == nil || !strings.Contains(out, "spec.volumes[0].downwardAPI.items[0].resourceFieldRef.containerName: Required value") {
		t.Errorf("kubectl apply of a volume resourceFieldRef without containerName: %v\n%s\nwant the apiserver's Required value", err, out)
	}
}

const annotatedPod = `apiVersion: v1
kind: Pod
metadata: {name: annotated, labels: {tier: web}, annotations: {build: "1"}}
spec:
  containers:
  - name: app
    image: registry.skiff.local/testserver:1.0
    command: [sleep, infinity]
    volumeMounts: [{name: podinfo, mountPath: /etc/podinfo}]
  volumes:
  - name: podinfo
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
`

// TestDownwardAPIVolumeFollowsMetadata: a pod's labels and annotations
// changed while it runs show in its downward API files within seconds,
// not at the next resync, as Kubernetes' kubelet updates them.
func TestDownwardAPIVolumeFollowsMetadata(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a", "--sync-frequency", "10m")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, annotatedPod)
	k := kubectlRunner{kubeconfig: cl.srv.Kubeconfig()}
	framework.Eventually(t, 60*time.Second, "annotated running", func() error {
		if p := getPod(t, c, "annotated"); p.GetStatus().GetPhase() != "Running" {
			return fmt.Errorf("phase %s", p.GetStatus().GetPhase())
		}
		return nil
	})
	k.mustRun(t, "", "annotate", "pod", "annotated", "build=2", "--overwrite")
	k.mustRun(t, "", "label", "pod", "annotated", "tier=api", "--overwrite")
	framework.Eventually(t, 30*time.Second, "the new metadata in the pod's files", func() error {
		ann, _, err := k.run(t, "", "exec", "annotated", "--", "cat", "/etc/podinfo/annotations")
		if err != nil || !strings.Contains(ann, `build="2"`) {
			return fmt.Errorf("annotations file %q (%v)", ann, err)
		}
		labels, _, err := k.run(t, "", "exec", "annotated", "--", "cat", "/etc/podinfo/labels")
		if err != nil || !strings.Contains(labels, `tier="api"`) {
			return fmt.Errorf("labels file %q (%v)", labels, err)
		}
		return nil
	})
}
