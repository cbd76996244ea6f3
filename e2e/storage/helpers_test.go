package storage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"skiff.dev/e2e/framework"
)

const (
	ns      = "default"
	timeout = 90 * time.Second
	image   = "registry.skiff.local/testserver:1.0"
)

// claimManifest is a claim %[1]s of %[2]s in class %[3]s (a line
// `storageClassName: ...` or nothing for the default class).
const claimManifest = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: %[1]s}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: %[2]s}}
%[3]s`

// podManifest is a pod %[1]s that runs %[2]s (a JSON list) once with
// claim %[3]s at /data.
const podManifest = `apiVersion: v1
kind: Pod
metadata: {name: %[1]s}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ` + image + `
    command: %[2]s
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: %[3]s}
`

// defaultClass asks claim for no storageClassName: the default class.
const defaultClass = "<default>"

// claim creates a claim of size in class ("" for none, defaultClass for
// the default one).
func (cl *cluster) claim(t testing.TB, name, size, class string) {
	t.Helper()
	line := fmt.Sprintf("  storageClassName: %q\n", class)
	if class == defaultClass {
		line = ""
	}
	cl.apply(t, fmt.Sprintf(claimManifest, name, size, line))
}

func (cl *cluster) pod(t testing.TB, name, command, claim string) {
	t.Helper()
	cl.apply(t, fmt.Sprintf(podManifest, name, command, claim))
}

func (cl *cluster) getPod(t testing.TB, name string) *corev1.Pod {
	t.Helper()
	p, err := cl.kube.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

// waitPodPhase waits for the pod's phase.
func (cl *cluster) waitPodPhase(t testing.TB, name string, phase corev1.PodPhase) *corev1.Pod {
	t.Helper()
	var p *corev1.Pod
	framework.Eventually(t, timeout, "pod "+name+" "+string(phase), func() error {
		var err error
		if p, err = cl.kube.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{}); err != nil {
			return err
		}
		if p.Status.Phase != phase {
			return fmt.Errorf("phase %s, conditions %v, containers %v", p.Status.Phase, p.Status.Conditions, p.Status.ContainerStatuses)
		}
		return nil
	})
	return p
}

// deletePod deletes the pod and waits until it is gone.
func (cl *cluster) deletePod(t testing.TB, name string) {
	t.Helper()
	ctx := context.Background()
	if err := cl.kube.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete pod %s: %v", name, err)
	}
	cl.waitGone(t, "pod "+name, func() error {
		_, err := cl.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return err
	})
}

// waitGone waits until get answers NotFound.
func (cl *cluster) waitGone(t testing.TB, what string, get func() error) {
	t.Helper()
	framework.Eventually(t, timeout, what+" gone", func() error {
		err := get()
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("%s is still there", what)
	})
}

// waitClaimBound waits until the claim is Bound and returns it.
func (cl *cluster) waitClaimBound(t testing.TB, name string) *corev1.PersistentVolumeClaim {
	t.Helper()
	var c *corev1.PersistentVolumeClaim
	framework.Eventually(t, timeout, "claim "+name+" Bound", func() error {
		var err error
		if c, err = cl.kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), name, metav1.GetOptions{}); err != nil {
			return err
		}
		if c.Status.Phase != corev1.ClaimBound || c.Spec.VolumeName == "" {
			return fmt.Errorf("phase %s, volume %q, annotations %v", c.Status.Phase, c.Spec.VolumeName, c.Annotations)
		}
		return nil
	})
	return c
}

func (cl *cluster) getPV(t testing.TB, name string) *corev1.PersistentVolume {
	t.Helper()
	pv, err := cl.kube.CoreV1().PersistentVolumes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get PV %s: %v", name, err)
	}
	return pv
}

// logs is what the pod's container printed.
func (cl *cluster) logs(t testing.TB, pod string) string {
	t.Helper()
	out, err := cl.kube.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{}).DoRaw(context.Background())
	if err != nil {
		t.Fatalf("logs of %s: %v", pod, err)
	}
	return string(out)
}

// waitEvent waits for an event of reason on the object kind/name whose
// message contains text.
func (cl *cluster) waitEvent(t testing.TB, kind, name, reason, text string) {
	t.Helper()
	sel := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name, "reason": reason}.AsSelector().String()
	framework.Eventually(t, timeout, fmt.Sprintf("event %s on %s %s", reason, kind, name), func() error {
		list, err := cl.kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range list.Items {
			if strings.Contains(e.Message, text) {
				return nil
			}
			seen = append(seen, e.Message)
		}
		return fmt.Errorf("events %q", seen)
	})
}

// nodeOf is the node the PV's node affinity names.
func nodeOf(pv *corev1.PersistentVolume) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, r := range term.MatchExpressions {
			if r.Key == "topology.local.csi.skiff.dev/node" && len(r.Values) == 1 {
				return r.Values[0]
			}
		}
	}
	return ""
}

// volumeDir is the directory of the PV's volume on its node.
func (cl *cluster) volumeDir(t testing.TB, pv *corev1.PersistentVolume) string {
	t.Helper()
	n, ok := cl.nodes[nodeOf(pv)]
	if !ok || pv.Spec.CSI == nil {
		t.Fatalf("PV %s: no CSI volume on a known node: %+v", pv.Name, pv.Spec)
	}
	return filepath.Join(n.dataDir, pv.Spec.CSI.VolumeHandle)
}

// calls are the driver's logged CSI calls that succeeded, as method
// names (NodePublishVolume), for the volume id.
func (n *node) calls(t testing.TB, id string) []string {
	t.Helper()
	data, err := os.ReadFile(n.callLog)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e struct {
			Method  string         `json:"method"`
			Code    string         `json:"code"`
			Request map[string]any `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("call log line %q: %v", sc.Text(), err)
		}
		if e.Code != "OK" || (e.Request["volume_id"] != id && e.Request["name"] != id) {
			continue
		}
		got = append(got, e.Method[strings.LastIndex(e.Method, "/")+1:])
	}
	return got
}

func splitFields(s string) []string { return strings.Fields(s) }
