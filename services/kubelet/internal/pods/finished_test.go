package pods

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/kubelet/internal/cri"
	"skiff.dev/services/kubelet/internal/volumes"
)

type onePod struct{ pod *corev1.Pod }

func (s onePod) Pod(uid string) (*corev1.Pod, bool) {
	return s.pod, s.pod.GetMetadata().GetUid() == uid
}

type discardStatus struct{}

func (discardStatus) Set(*corev1.Pod, *corev1.PodStatus) {}
func (discardStatus) Forget(string)                      {}

// The volumes of a pod that Succeeded or Failed are torn down at once, as
// Kubernetes does, not when the pod object is deleted.
func TestFinishedPodVolumes(t *testing.T) {
	for _, phase := range []string{"Running", "Succeeded", "Failed"} {
		t.Run(phase, func(t *testing.T) {
			root := t.TempDir()
			pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "ns", Uid: "uid"},
				Spec: &corev1.PodSpec{Volumes: []*corev1.Volume{
					{Name: "scratch", VolumeSource: &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}},
				Status: &corev1.PodStatus{Phase: phase}}
			vols := &volumes.Manager{Root: root}
			m := New(Config{RootDir: root, ResyncPeriod: time.Hour, RelistPeriod: time.Hour}, cri.NewFake(), onePod{pod}, nil, vols, discardStatus{}, nil)
			ctx := context.Background()
			if err := vols.SetUp(ctx, pod, ""); err != nil {
				t.Fatal(err)
			}
			m.volumesAt["uid"] = volumesSetUp{at: time.Now(), meta: metadataOf(pod)}
			m.sync(ctx, "uid")
			_, err := os.Stat(filepath.Join(root, "pods", "uid", "volumes"))
			if gone := os.IsNotExist(err); gone != (phase != "Running") {
				t.Errorf("phase %s: volumes directory gone = %v (%v)", phase, gone, err)
			}
		})
	}
}
