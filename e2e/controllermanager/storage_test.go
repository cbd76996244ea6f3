package controllermanager

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// storageCluster runs the storage controllers and a stand-in kubelet for
// pods bound to node-a by hand (no scheduler).
func storageCluster(t *testing.T) *cluster {
	t.Helper()
	e := setup(t, "--controllers=persistentvolume-binder,pvc-protection,pv-protection,attachdetach,serviceaccount")
	return &cluster{env: e, kubelet: framework.StartStandInKubelet(t, e.c, "node-a")}
}

// pv is a hostPath PersistentVolume manifest; extra is more spec lines.
func pv(name, size, modes, class, policy string, extra ...string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata: {name: %s}
spec:
  capacity: {storage: %s}
  accessModes: [%s]
  storageClassName: %q
  persistentVolumeReclaimPolicy: %s
  hostPath: {path: /tmp/%s}
%s---
`, name, size, modes, class, policy, name, indent(extra))
}

func indent(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

func pvc(name, size, modes, class string, extra ...string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: %s, namespace: default}
spec:
  accessModes: [%s]
  storageClassName: %q
  resources: {requests: {storage: %s}}
%s---
`, name, modes, class, size, indent(extra))
}

func podUsing(name, claim string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: default}
spec:
  nodeName: node-a
  containers: [{name: c, image: registry.local/web:v1}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: %s}}]
---
`, name, claim)
}

func (c *cluster) volume(name string) (*corev1.PersistentVolume, error) {
	return client.For[*corev1.PersistentVolume, *corev1.PersistentVolumeList](c.c, "").Get(c.ctx, name)
}

func (c *cluster) claim(name string) (*corev1.PersistentVolumeClaim, error) {
	return client.For[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](c.c, "default").Get(c.ctx, name)
}

// waitBound waits until the claim and the volume are bound to each other.
func (c *cluster) waitBound(claim, volume string) {
	c.t.Helper()
	framework.Eventually(c.t, 60*time.Second, fmt.Sprintf("claim %s bound to %s", claim, volume), func() error {
		cl, err := c.claim(claim)
		if err != nil {
			return err
		}
		v, err := c.volume(volume)
		if err != nil {
			return err
		}
		if cl.GetSpec().GetVolumeName() != volume || cl.GetStatus().GetPhase() != "Bound" {
			return fmt.Errorf("claim: volumeName %q, phase %q", cl.GetSpec().GetVolumeName(), cl.GetStatus().GetPhase())
		}
		if v.GetSpec().GetClaimRef().GetUid() != cl.GetMetadata().GetUid() || v.GetStatus().GetPhase() != "Bound" {
			return fmt.Errorf("volume: claimRef %v, phase %q", v.GetSpec().GetClaimRef(), v.GetStatus().GetPhase())
		}
		if cl.GetMetadata().GetAnnotations()["pv.kubernetes.io/bind-completed"] != "yes" {
			return fmt.Errorf("claim annotations %v", cl.GetMetadata().GetAnnotations())
		}
		if got, want := cl.GetStatus().GetCapacity()["storage"].GetString_(), v.GetSpec().GetCapacity()["storage"].GetString_(); got != want {
			return fmt.Errorf("claim capacity %q, volume's %q", got, want)
		}
		return nil
	})
}

// waitEvent waits for an event of the reason and message about the object.
func (c *cluster) waitEvent(object, reason, message string) {
	c.t.Helper()
	framework.Eventually(c.t, 60*time.Second, fmt.Sprintf("event %s on %s", reason, object), func() error {
		l, err := c.c.CoreV1().Events("default").List(c.ctx, client.ListOptions{})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range l.GetItems() {
			if e.GetInvolvedObject().GetName() == object {
				if e.GetReason() == reason && e.GetMessage() == message && e.GetSource().GetComponent() == "persistentvolume-controller" {
					return nil
				}
				seen = append(seen, e.GetReason()+": "+e.GetMessage())
			}
		}
		return fmt.Errorf("events of %s: %v", object, seen)
	})
}

// TestStaticVolumesBindBySizeAccessModeAndClass: each claim gets the
// smallest Available volume with its class and access modes that is
// large enough; a claim nothing matches stays Pending with Kubernetes'
// FailedBinding event.
func TestStaticVolumesBindBySizeAccessModeAndClass(t *testing.T) {
	c := storageCluster(t)
	c.kubectl(pv("small", "1Gi", "ReadWriteOnce", "", "Retain")+pv("big", "10Gi", "ReadWriteOnce", "", "Retain")+
		pv("huge", "50Gi", "ReadWriteOnce", "", "Retain")+pv("shared", "5Gi", "ReadWriteMany", "", "Retain")+
		pv("gold", "20Gi", "ReadWriteOnce", "gold", "Retain"), "apply", "-f", "-")
	c.kubectl(pvc("plain", "2Gi", "ReadWriteOnce", "")+pvc("many", "2Gi", "ReadWriteMany", "")+
		pvc("golden", "2Gi", "ReadWriteOnce", "gold")+pvc("toobig", "100Gi", "ReadWriteOnce", ""), "apply", "-f", "-")
	c.waitBound("plain", "big")
	c.waitBound("many", "shared")
	c.waitBound("golden", "gold")
	c.waitEvent("toobig", "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
	cl, err := c.claim("toobig")
	if err != nil {
		t.Fatal(err)
	}
	if cl.GetStatus().GetPhase() != "Pending" || cl.GetSpec().GetVolumeName() != "" {
		t.Fatalf("toobig: phase %q, volumeName %q", cl.GetStatus().GetPhase(), cl.GetSpec().GetVolumeName())
	}
	for _, name := range []string{"small", "huge"} {
		v, err := c.volume(name)
		if err != nil {
			t.Fatal(err)
		}
		if v.GetStatus().GetPhase() != "Available" || v.GetSpec().GetClaimRef() != nil {
			t.Errorf("%s: phase %q, claimRef %v", name, v.GetStatus().GetPhase(), v.GetSpec().GetClaimRef())
		}
	}
}

// TestPreBoundVolumesAndClaims: a volume whose claimRef names a claim goes
// to that claim, though a smaller one fits; a claim naming a volume gets it.
func TestPreBoundVolumesAndClaims(t *testing.T) {
	c := storageCluster(t)
	c.kubectl(pv("reserved", "10Gi", "ReadWriteOnce", "", "Retain", "claimRef: {namespace: default, name: wanted}")+
		pv("smaller", "1Gi", "ReadWriteOnce", "", "Retain")+pv("chosen", "8Gi", "ReadWriteOnce", "", "Retain"), "apply", "-f", "-")
	c.kubectl(pvc("wanted", "1Gi", "ReadWriteOnce", "")+pvc("named", "1Gi", "ReadWriteOnce", "", "volumeName: chosen"), "apply", "-f", "-")
	c.waitBound("wanted", "reserved")
	c.waitBound("named", "chosen")
	v, err := c.volume("reserved")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.GetMetadata().GetAnnotations()["pv.kubernetes.io/bound-by-controller"]; ok {
		t.Errorf("a volume pre-bound by a user is annotated bound-by-controller: %v", v.GetMetadata().GetAnnotations())
	}
}

// TestBoundVolumeIsProtected: a bound volume that is deleted stays (its
// pv-protection finalizer) until its claim is gone and it is no longer
// Bound.
func TestBoundVolumeIsProtected(t *testing.T) {
	c := storageCluster(t)
	c.kubectl(pv("keep", "1Gi", "ReadWriteOnce", "", "Retain"), "apply", "-f", "-")
	c.kubectl(pvc("data", "1Gi", "ReadWriteOnce", ""), "apply", "-f", "-")
	c.waitBound("data", "keep")
	c.kubectl("", "delete", "pv", "keep", "--wait=false")
	c.stays("the bound volume", func() error {
		v, err := c.volume("keep")
		if err == nil && v.GetMetadata().GetDeletionTimestamp() == nil {
			return fmt.Errorf("not being deleted")
		}
		return err
	})
	c.kubectl("", "delete", "pvc", "data")
	framework.Eventually(t, 60*time.Second, "the volume is gone", func() error {
		v, err := c.volume("keep")
		if client.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("phase %q, finalizers %v", v.GetStatus().GetPhase(), v.GetMetadata().GetFinalizers())
	})
}

// negativeCheckWindow is the one fixed window these tests use to check
// that something does NOT happen (a finalizer holds, a detach waits):
// there is no event to wait for when a controller rightly does nothing,
// so the check polls for this long, well beyond the controllers' reaction
// to the change (informer delivery and one reconcile, milliseconds here).
// Everything positive is polled for with framework.Eventually instead.
const negativeCheckWindow = 3 * time.Second

// stays checks that ok holds for negativeCheckWindow, in which the
// controllers have seen the change and would have acted.
func (c *cluster) stays(what string, ok func() error) {
	c.t.Helper()
	deadline := time.After(negativeCheckWindow)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := ok(); err != nil {
			c.t.Fatalf("%s: %v", what, err)
		}
		select {
		case <-deadline:
			return
		case <-tick.C:
		}
	}
}

// TestReleasedVolumeKeepsItsClaimRef: a Retain volume whose claim is
// deleted goes Released and keeps its claimRef (the data stays); a Delete
// volume no provisioner made (NFS, which has no deleter in Kubernetes
// either) cannot be deleted: Failed, VolumeFailedDelete.
func TestReleasedVolumeKeepsItsClaimRef(t *testing.T) {
	c := storageCluster(t)
	c.kubectl(pv("keep", "1Gi", "ReadWriteOnce", "", "Retain")+`apiVersion: v1
kind: PersistentVolume
metadata: {name: drop}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  persistentVolumeReclaimPolicy: Delete
  nfs: {server: 192.0.2.1, path: /exports/drop}
`, "apply", "-f", "-")
	c.kubectl(pvc("data", "1Gi", "ReadWriteOnce", "")+pvc("scratch", "5Gi", "ReadWriteOnce", ""), "apply", "-f", "-")
	c.waitBound("data", "keep")
	c.waitBound("scratch", "drop")
	cl, err := c.claim("data")
	if err != nil {
		t.Fatal(err)
	}
	c.kubectl("", "delete", "pvc", "data", "scratch")
	c.waitEvent("drop", "VolumeFailedDelete", `error getting deleter volume plugin for volume "drop": no deletable volume plugin matched`)
	if v, err := c.volume("drop"); err != nil || v.GetStatus().GetPhase() != "Failed" {
		t.Fatalf("drop: %v, phase %q", err, v.GetStatus().GetPhase())
	}
	framework.Eventually(t, 60*time.Second, "the volume is Released", func() error {
		v, err := c.volume("keep")
		if err != nil {
			return err
		}
		if v.GetStatus().GetPhase() != "Released" || v.GetSpec().GetClaimRef().GetUid() != cl.GetMetadata().GetUid() {
			return fmt.Errorf("phase %q, claimRef %v", v.GetStatus().GetPhase(), v.GetSpec().GetClaimRef())
		}
		return nil
	})
}

// TestClaimInUseIsHeldUntilThePodIsGone: a deleted claim that a pod uses
// keeps its pvc-protection finalizer, and its volume, until the pod is
// deleted; then it goes and the Retain volume is Released.
func TestClaimInUseIsHeldUntilThePodIsGone(t *testing.T) {
	c := storageCluster(t)
	c.kubectl(pv("vol", "1Gi", "ReadWriteOnce", "", "Retain"), "apply", "-f", "-")
	c.kubectl(pvc("data", "1Gi", "ReadWriteOnce", ""), "apply", "-f", "-")
	c.waitBound("data", "vol")
	c.kubectl(podUsing("user", "data"), "apply", "-f", "-")
	c.kubectl("", "delete", "pvc", "data", "--wait=false")
	framework.Eventually(t, 30*time.Second, "the claim is terminating", func() error {
		cl, err := c.claim("data")
		if err != nil {
			return err
		}
		if cl.GetMetadata().GetDeletionTimestamp() == nil || !slices.Contains(cl.GetMetadata().GetFinalizers(), "kubernetes.io/pvc-protection") {
			return fmt.Errorf("deletionTimestamp %v, finalizers %v", cl.GetMetadata().GetDeletionTimestamp(), cl.GetMetadata().GetFinalizers())
		}
		return nil
	})
	// Held while the pod is there: still there after the controllers had
	// their chance (the claim's and the pods' caches are the same).
	c.stays("the claim while its pod runs", func() error {
		_, err := c.claim("data")
		return err
	})
	c.kubectl("", "delete", "pod", "user")
	framework.Eventually(t, 60*time.Second, "the claim is gone and the volume Released", func() error {
		if _, err := c.claim("data"); !client.IsNotFound(err) {
			return fmt.Errorf("claim: %v", err)
		}
		v, err := c.volume("vol")
		if err != nil {
			return err
		}
		if v.GetStatus().GetPhase() != "Released" {
			return fmt.Errorf("volume phase %q", v.GetStatus().GetPhase())
		}
		return nil
	})
}

// TestAttachDetachCreatesAndDeletesVolumeAttachments: a pod on node-a
// using a CSI volume of a driver without a CSIDriver object (attach
// required) gets a VolumeAttachment named as Kubernetes names it, deleted
// with the pod; a driver whose CSIDriver says attachRequired: false gets
// none.
func TestAttachDetachCreatesAndDeletesVolumeAttachments(t *testing.T) {
	c := storageCluster(t)
	csi := func(name, driver string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata: {name: %s}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  claimRef: {namespace: default, name: %s}
  csi: {driver: %s, volumeHandle: handle-%s}
---
`, name, name, driver, name)
	}
	c.kubectl(`apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: noattach.csi.example}
spec: {attachRequired: false}
---
`+csi("attached", "attach.csi.example")+csi("local", "noattach.csi.example"), "apply", "-f", "-")
	c.kubectl(pvc("attached", "1Gi", "ReadWriteOnce", "")+pvc("local", "1Gi", "ReadWriteOnce", ""), "apply", "-f", "-")
	c.waitBound("attached", "attached")
	c.waitBound("local", "local")
	c.kubectl(podUsing("a", "attached")+podUsing("b", "local"), "apply", "-f", "-")
	vas := client.For[*storagev1.VolumeAttachment, *storagev1.VolumeAttachmentList](c.c, "")
	name := "csi-" + sha256Hex("handle-attached"+"attach.csi.example"+"node-a")
	framework.Eventually(t, 60*time.Second, "the VolumeAttachment "+name, func() error {
		va, err := vas.Get(c.ctx, name)
		if err != nil {
			return err
		}
		s := va.GetSpec()
		if s.GetAttacher() != "attach.csi.example" || s.GetNodeName() != "node-a" || s.GetSource().GetPersistentVolumeName() != "attached" {
			return fmt.Errorf("spec %v", s)
		}
		return nil
	})
	l, err := vas.List(c.ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.GetItems()) != 1 {
		t.Errorf("%d VolumeAttachments, want only the one of the volume that needs attaching", len(l.GetItems()))
	}
	// The attacher reports the volume attached: the node lists it in
	// status.volumesAttached, as Kubernetes' node status updater does.
	inUse := "kubernetes.io/csi/attach.csi.example^handle-attached"
	framework.Eventually(t, 30*time.Second, "the VolumeAttachment attached", func() error {
		va, err := vas.Get(c.ctx, name)
		if err != nil {
			return err
		}
		va.Status = &storagev1.VolumeAttachmentStatus{Attached: true}
		_, err = vas.UpdateStatus(c.ctx, va, client.WriteOptions{})
		return err
	})
	c.waitVolumesAttached("node-a", inUse)
	// The kubelet reports the volume mounted: the VolumeAttachment stays
	// after the pod is gone until the node's volumesInUse drops it.
	c.setVolumesInUse("node-a", inUse)
	c.kubectl("", "delete", "pod", "a")
	c.stays("the VolumeAttachment while node-a reports the volume in use", func() error {
		_, err := vas.Get(c.ctx, name)
		return err
	})
	c.setVolumesInUse("node-a")
	framework.Eventually(t, 60*time.Second, "the VolumeAttachment is deleted", func() error {
		if _, err := vas.Get(c.ctx, name); !client.IsNotFound(err) {
			return fmt.Errorf("still there: %v", err)
		}
		return nil
	})
	c.waitVolumesAttached("node-a")
}

// waitVolumesAttached waits for a node's status.volumesAttached to list
// exactly the named volumes, each with devicePath "".
func (c *cluster) waitVolumesAttached(node string, names ...string) {
	c.t.Helper()
	framework.Eventually(c.t, 30*time.Second, fmt.Sprintf("volumesAttached of %s %q", node, names), func() error {
		n, err := c.c.CoreV1().Nodes().Get(c.ctx, node)
		if err != nil {
			return err
		}
		var got []string
		for _, v := range n.GetStatus().GetVolumesAttached() {
			if v.GetDevicePath() != "" {
				return fmt.Errorf("volume %s has devicePath %q", v.GetName(), v.GetDevicePath())
			}
			got = append(got, v.GetName())
		}
		if !slices.Equal(got, names) {
			return fmt.Errorf("volumesAttached %q", got)
		}
		return nil
	})
}

// setVolumesInUse writes a node's status.volumesInUse, as the kubelet
// does for the volumes it has mounted.
func (c *cluster) setVolumesInUse(node string, names ...string) {
	c.t.Helper()
	framework.Eventually(c.t, 30*time.Second, "volumesInUse of "+node, func() error {
		n, err := c.c.CoreV1().Nodes().Get(c.ctx, node)
		if err != nil {
			return err
		}
		n.Status.VolumesInUse = names
		_, err = c.c.CoreV1().Nodes().UpdateStatus(c.ctx, n, client.WriteOptions{})
		return err
	})
}

func mustClaim(t *testing.T, c *cluster, name string) *corev1.PersistentVolumeClaim {
	t.Helper()
	cl, err := c.claim(name)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func sha256Hex(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }

// TestClaimsWaitingForProvisioning: a claim of a class with an external
// provisioner is annotated for it and told so; a WaitForFirstConsumer
// class waits for a pod; a missing class is reported. All stay Pending.
func TestClaimsWaitingForProvisioning(t *testing.T) {
	c := storageCluster(t)
	c.kubectl(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: example.com/fast
volumeBindingMode: Immediate
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: later}
provisioner: example.com/fast
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local-static}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
---
`+pvc("now", "1Gi", "ReadWriteOnce", "fast")+pvc("wait", "1Gi", "ReadWriteOnce", "later")+pvc("nothing", "1Gi", "ReadWriteOnce", "missing")+
		pvc("intree", "1Gi", "ReadWriteOnce", "local-static"), "apply", "-f", "-")
	c.waitEvent("now", "ExternalProvisioning", "Waiting for a volume to be created either by the external provisioner 'example.com/fast' "+
		"or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.")
	c.waitEvent("wait", "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
	c.waitEvent("nothing", "ProvisioningFailed", `storageclass.storage.k8s.io "missing" not found`)
	c.waitEvent("intree", "ProvisioningFailed", "no volume plugin matched name: kubernetes.io/no-provisioner")
	cl, err := c.claim("now")
	if err != nil {
		t.Fatal(err)
	}
	a := cl.GetMetadata().GetAnnotations()
	if a["volume.kubernetes.io/storage-provisioner"] != "example.com/fast" || a["volume.beta.kubernetes.io/storage-provisioner"] != "example.com/fast" {
		t.Errorf("annotations %v", a)
	}
	if a := mustClaim(t, c, "intree").GetMetadata().GetAnnotations(); a["volume.kubernetes.io/storage-provisioner"] != "" {
		t.Errorf("in-tree provisioner's claim annotated for it: %v", a)
	}
	for _, name := range []string{"now", "wait", "nothing", "intree"} {
		if cl, err := c.claim(name); err != nil || cl.GetStatus().GetPhase() != "Pending" {
			t.Errorf("%s: %v, phase %q", name, err, cl.GetStatus().GetPhase())
		}
	}
}
