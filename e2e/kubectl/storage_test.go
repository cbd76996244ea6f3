package kubectl

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func volumeManifest(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata: {name: %s, labels: {e2e: kinds}}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  storageClassName: manual
  csi: {driver: local.csi.skiff.dev, volumeHandle: %s}
`, name, name)
}

const standardClass = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: %s
  labels: {e2e: kinds}
  annotations: {storageclass.kubernetes.io/is-default-class: "%s"}
provisioner: local.csi.skiff.dev
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: true
`

const localDriver = `apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: %s, labels: {e2e: kinds}}
spec:
  attachRequired: false
  podInfoOnMount: true
  storageCapacity: true
`

// TestStorageKinds: kubectl on PersistentVolumes (pv), StorageClasses
// (sc) and CSIDrivers: the everyday commands, Kubernetes' columns and
// defaults, describe, and a claim that names no class getting the default
// one.
func TestStorageKinds(t *testing.T) {
	k, _ := newKube(t)
	exerciseKind(t, k, kindCase{
		resource: "pv",
		manifest: volumeManifest,
		columns: []string{"NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS",
			"VOLUMEATTRIBUTESCLASS", "REASON", "AGE"},
		// The empty CLAIM and REASON cells fold into the gaps.
		cells: []string{"first", "5Gi", "RWO,ROX", "Retain", "Pending", "manual", "<unset>", "*"},
	})
	exerciseKind(t, k, kindCase{
		resource: "sc",
		manifest: func(name string) string { return fmt.Sprintf(standardClass, name, "false") },
		columns:  []string{"NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"},
		cells:    []string{"first", "local.csi.skiff.dev", "Delete", "WaitForFirstConsumer", "true", "*"},
	})
	exerciseKind(t, k, kindCase{
		resource: "csidriver",
		manifest: func(name string) string { return fmt.Sprintf(localDriver, name) },
		columns:  []string{"NAME", "ATTACHREQUIRED", "PODINFOONMOUNT", "STORAGECAPACITY", "TOKENREQUESTS", "REQUIRESREPUBLISH", "MODES", "AGE"},
		cells:    []string{"first", "false", "true", "true", "<unset>", "false", "Persistent", "*"},
	})

	k.runIn(fmt.Sprintf(standardClass, "standard", "true"), "apply", "-f", "-")
	mustContain(t, "kubectl get sc", k.run("get", "sc"), "standard (default)")
	k.runIn(fmt.Sprintf(localDriver, "local.csi.skiff.dev"), "apply", "-f", "-")
	for jsonpath, want := range map[string]string{
		"{.spec.attachRequired} {.spec.fsGroupPolicy} {.spec.volumeLifecycleModes} {.spec.seLinuxMount}": `false ReadWriteOnceWithFSType ["Persistent"] false`,
	} {
		if got := k.run("get", "csidriver", "local.csi.skiff.dev", "-o", "jsonpath="+jsonpath); got != want {
			t.Errorf("csidriver %s: got %q, want %q", jsonpath, got, want)
		}
	}
	k.runIn(volumeManifest("pv-data"), "apply", "-f", "-")
	mustContain(t, "kubectl describe pv", k.run("describe", "pv", "pv-data"), "Name:", "pv-data", "StorageClass:", "manual",
		"Status:", "Pending", "Reclaim Policy:", "Retain", "Access Modes:", "RWO,ROX", "VolumeMode:", "Filesystem",
		"Capacity:", "5Gi", "Type:", "CSI", "Driver:", "local.csi.skiff.dev", "VolumeHandle:", "pv-data")
	mustContain(t, "kubectl describe sc", k.run("describe", "sc", "standard"), "IsDefaultClass:", "Yes",
		"Provisioner:", "local.csi.skiff.dev", "VolumeBindingMode:", "WaitForFirstConsumer")

	k.runIn(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`, "apply", "-f", "-")
	if got := k.run("get", "pvc", "data", "-o", "jsonpath={.spec.storageClassName}"); got != "standard" {
		t.Errorf("a claim without a class: got class %q, want the default, standard", got)
	}
	lines := strings.Split(strings.TrimSpace(k.run("get", "pv,pvc,sc")), "\n")
	if len(lines) < 6 {
		t.Errorf("kubectl get pv,pvc,sc: %q", lines)
	}
}

// TestPersistentVolumeBadInput: a volume with an invalid access mode is
// refused with 422 Invalid naming the field, and nothing is stored.
func TestPersistentVolumeBadInput(t *testing.T) {
	k, srv := newKube(t)
	cs := kubernetes.NewForConfigOrDie(srv.RESTConfig())
	bad := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Spec: corev1.PersistentVolumeSpec{
		Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:            []corev1.PersistentVolumeAccessMode{"ReadWriteSometimes"},
		PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/data"}},
	}}
	ctx := context.Background()
	_, err := cs.CoreV1().PersistentVolumes().Create(ctx, bad, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("create: got %v, want 422 Invalid", err)
	}
	st := err.(apierrors.APIStatus).Status()
	want := `PersistentVolume "bad" is invalid: spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"`
	if st.Code != 422 || st.Message != want || len(st.Details.Causes) != 1 || st.Details.Causes[0].Field != "spec.accessModes" {
		t.Errorf("status: got %d %q %v, want 422 %q", st.Code, st.Message, st.Details.Causes, want)
	}
	if _, err := cs.CoreV1().PersistentVolumes().Get(ctx, "bad", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after the refused create: %v, want NotFound", err)
	}
	out, err := k.try(`apiVersion: v1
kind: PersistentVolume
metadata: {name: nosource}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
`, "apply", "-f", "-")
	if err == nil || !strings.Contains(out, `spec: Required value: must specify a volume type`) {
		t.Errorf("a volume without a source: %v\n%s", err, out)
	}
}
