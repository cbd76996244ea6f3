package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"skiff.dev/e2e/framework"
)

// benchRounds is how many pods of each kind BenchmarkClaimToRunning starts,
// one after the other.
const benchRounds = 20

// sleeper is a pod %[1]s that sleeps with volume %[2]s (a volume source
// in YAML flow style) at /data.
const sleeper = `apiVersion: v1
kind: Pod
metadata: {name: %[1]s}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: ` + image + `
    command: [sleep, infinity]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - {name: data, %[2]s}
`

// BenchmarkClaimToRunning measures, on one real node, the time from the
// create of a claim of the default class (WaitForFirstConsumer) and a pod
// using it to the pod Running: scheduling, provisioning through the CSI
// driver, binding, publishing. The same run measures pods with an
// emptyDir, alternating, for comparison. Reports p50 and p99 in
// milliseconds of each. Run with -benchtime=1x.
func BenchmarkClaimToRunning(b *testing.B) {
	if testing.Short() {
		b.Skip("e2e benchmark")
	}
	for range b.N {
		b.StopTimer()
		cl := startCluster(b, []string{"node-a"})
		var claim, empty []time.Duration
		for i := range benchRounds {
			empty = append(empty, cl.timeToRunning(b, fmt.Sprintf("empty-%d", i), "", "emptyDir: {}"))
			name := fmt.Sprintf("claimed-%d", i)
			claim = append(claim, cl.timeToRunning(b, name, fmt.Sprintf(claimManifest, name, "16Mi", ""),
				fmt.Sprintf("persistentVolumeClaim: {claimName: %s}", name)))
		}
		report(b, claim, "claim")
		report(b, empty, "emptydir")
	}
}

// timeToRunning creates the objects of manifest (may be empty) and the
// pod name with volume, and returns the time until the pod is Running.
func (cl *cluster) timeToRunning(b testing.TB, name, manifest, volume string) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	w, err := cl.kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	cl.apply(b, strings.TrimPrefix(manifest+"\n---\n"+fmt.Sprintf(sleeper, name, volume), "\n---\n"))
	for ev := range w.ResultChan() {
		if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Deleted && p.Status.Phase == corev1.PodRunning {
			return time.Since(start)
		}
	}
	b.Fatalf("pod %s not Running within %s", name, timeout)
	return 0
}

// report adds the p50 and p99 of lat in milliseconds.
func report(b *testing.B, lat []time.Duration, what string) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), what+"-p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), what+"-p99-ms")
}

// benchClaims is how many claims BenchmarkProvision200 creates at once.
const benchClaims = 200

// BenchmarkProvision200 measures the time from creating 200 claims of an
// Immediate class of the local driver at once to all of them Bound, on
// one node: the PV controller, the provisioner (CreateVolume, PV create)
// and the binding. Reports seconds. Run with -benchtime=1x.
func BenchmarkProvision200(b *testing.B) {
	if testing.Short() {
		b.Skip("e2e benchmark")
	}
	for range b.N {
		b.StopTimer()
		cl := startCluster(b, []string{"node-a"})
		cl.apply(b, `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: now}
provisioner: `+driverName+`
volumeBindingMode: Immediate
reclaimPolicy: Delete
`)
		ctx := context.Background()
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, benchClaims)
		for i := range benchClaims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := cl.kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, immediateClaim(fmt.Sprintf("bulk-%03d", i)), metav1.CreateOptions{})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		framework.Eventually(b, 10*time.Minute, "every claim Bound", func() error {
			list, err := cl.kube.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			bound := 0
			for _, c := range list.Items {
				if c.Status.Phase == corev1.ClaimBound {
					bound++
				}
			}
			if bound < benchClaims {
				return fmt.Errorf("%d of %d Bound", bound, benchClaims)
			}
			return nil
		})
		b.ReportMetric(time.Since(start).Seconds(), "all-bound-s")
	}
}

func immediateClaim(name string) *corev1.PersistentVolumeClaim {
	class := "now"
	c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}}
	c.Spec.StorageClassName = &class
	c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	c.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}
	return c
}
