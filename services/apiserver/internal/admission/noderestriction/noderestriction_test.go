package noderestriction

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/registry"
)

var (
	pods     = &registry.Resource{Version: "v1", Plural: "pods", Kind: "Pod", Namespaced: true}
	nodes    = &registry.Resource{Version: "v1", Plural: "nodes", Kind: "Node"}
	leases   = &registry.Resource{Group: "coordination.k8s.io", Version: "v1", Plural: "leases", Kind: "Lease", Namespaced: true}
	claims   = &registry.Resource{Version: "v1", Plural: "persistentvolumeclaims", Kind: "PersistentVolumeClaim", Namespaced: true}
	csinodes = &registry.Resource{Group: "storage.k8s.io", Version: "v1", Plural: "csinodes", Kind: "CSINode"}
)

// claim is a bound claim of 1Gi; change edits a copy.
func claim(change func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{Metadata: &metav1.ObjectMeta{Name: "c", Namespace: "ns", ResourceVersion: "7"},
		Spec:   &corev1.PersistentVolumeClaimSpec{VolumeName: "pv"},
		Status: &corev1.PersistentVolumeClaimStatus{Phase: "Bound", Capacity: map[string]*metav1.Quantity{"storage": {String_: "1Gi"}}}}
	if change != nil {
		change(c)
	}
	return c
}

func pod(node string, mirror bool, volumes ...*corev1.Volume) *corev1.Pod {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: &corev1.PodSpec{NodeName: proto.String(node), Volumes: volumes}}
	if mirror {
		p.Metadata.Annotations = map[string]string{mirrorAnnotation: "hash"}
	}
	return p
}

func node(name string, labels map[string]string, taints ...*corev1.Taint) *corev1.Node {
	return &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name, Labels: labels}, Spec: &corev1.NodeSpec{Taints: taints}}
}

func TestValidate(t *testing.T) {
	kubelet := auth.WithUser(context.Background(), auth.User{Name: "system:node:n1", Groups: []string{"system:nodes"}})
	admin := auth.WithUser(context.Background(), auth.User{Name: "root", Groups: []string{"system:masters"}})
	secretVol := &corev1.Volume{Name: "s", VolumeSource: &corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "x"}}}
	tests := []struct {
		name    string
		ctx     context.Context
		w       registry.Write
		wantErr string
	}{
		{"mirror pod", kubelet, registry.Write{Operation: registry.OpCreate, Resource: pods, Name: "p", Object: pod("n1", true)}, ""},
		{"plain pod", kubelet, registry.Write{Operation: registry.OpCreate, Resource: pods, Name: "p", Object: pod("n1", false)}, "can only create mirror pods"},
		{"mirror pod elsewhere", kubelet, registry.Write{Operation: registry.OpCreate, Resource: pods, Name: "p", Object: pod("n2", true)}, "spec.nodeName set to itself"},
		{"mirror pod with a secret", kubelet, registry.Write{Operation: registry.OpCreate, Resource: pods, Name: "p", Object: pod("n1", true, secretVol)}, "reference secrets"},
		{"own pod status", kubelet, registry.Write{Operation: registry.OpUpdate, Subresource: "status", Resource: pods, Name: "p", Object: pod("n1", false), Old: pod("n1", false)}, ""},
		{"other pod status", kubelet, registry.Write{Operation: registry.OpUpdate, Subresource: "status", Resource: pods, Name: "p", Object: pod("n2", false), Old: pod("n2", false)}, "pods with spec.nodeName set to itself"},
		{"pod spec", kubelet, registry.Write{Operation: registry.OpUpdate, Resource: pods, Name: "p", Object: pod("n1", false), Old: pod("n1", false)}, "can only update pod status"},
		{"delete own pod", kubelet, registry.Write{Operation: registry.OpDelete, Resource: pods, Name: "p", Old: pod("n1", false)}, ""},
		{"delete other pod", kubelet, registry.Write{Operation: registry.OpDelete, Resource: pods, Name: "p", Old: pod("n2", false)}, "spec.nodeName set to itself"},
		{"create own node", kubelet, registry.Write{Operation: registry.OpCreate, Resource: nodes, Name: "n1", Object: node("n1", nil)}, ""},
		{"create another node", kubelet, registry.Write{Operation: registry.OpCreate, Resource: nodes, Name: "n2", Object: node("n2", nil)}, `node "n1" is not allowed to modify node "n2"`},
		{"restricted label", kubelet, registry.Write{Operation: registry.OpCreate, Resource: nodes, Name: "n1", Object: node("n1", map[string]string{"node-restriction.kubernetes.io/db": "yes"})}, "not allowed to modify labels"},
		{"taints", kubelet, registry.Write{Operation: registry.OpUpdate, Resource: nodes, Name: "n1", Object: node("n1", nil), Old: node("n1", nil, &corev1.Taint{Key: "k", Effect: "NoSchedule"})}, "not allowed to modify taints"},
		{"own lease", kubelet, registry.Write{Operation: registry.OpUpdate, Resource: leases, Namespace: "kube-node-lease", Name: "n1", Object: &coordinationv1.Lease{Metadata: &metav1.ObjectMeta{Name: "n1"}}}, ""},
		{"other lease", kubelet, registry.Write{Operation: registry.OpUpdate, Resource: leases, Namespace: "kube-node-lease", Name: "n2", Object: &coordinationv1.Lease{Metadata: &metav1.ObjectMeta{Name: "n2"}}}, "same name as the requesting node"},
		{"claim status capacity and conditions", kubelet, registry.Write{Operation: registry.OpUpdate, Subresource: "status", Resource: claims, Name: "c", Old: claim(nil), Object: claim(func(c *corev1.PersistentVolumeClaim) {
			c.Metadata.ResourceVersion = ""
			c.Status.Capacity = map[string]*metav1.Quantity{"storage": {String_: "2Gi"}}
			c.Status.Conditions = []*corev1.PersistentVolumeClaimCondition{{Type: "FileSystemResizePending", Status: "True"}}
			c.Status.AllocatedResources = map[string]*metav1.Quantity{"storage": {String_: "2Gi"}}
			c.Status.AllocatedResourceStatuses = map[string]string{"storage": "NodeResizeInProgress"}
		})}, ""},
		{"claim status phase", kubelet, registry.Write{Operation: registry.OpUpdate, Subresource: "status", Resource: claims, Name: "c", Old: claim(nil), Object: claim(func(c *corev1.PersistentVolumeClaim) { c.Status.Phase = "Lost" })},
			`node "n1" is not allowed to update fields other than status.quantity and status.conditions`},
		{"claim status with a label", kubelet, registry.Write{Operation: registry.OpUpdate, Subresource: "status", Resource: claims, Name: "c", Old: claim(nil), Object: claim(func(c *corev1.PersistentVolumeClaim) { c.Metadata.Labels = map[string]string{"x": "y"} })},
			"not allowed to update fields other than"},
		{"claim spec", kubelet, registry.Write{Operation: registry.OpUpdate, Resource: claims, Name: "c", Old: claim(nil), Object: claim(nil)}, "may only update PVC status"},
		{"claim create", kubelet, registry.Write{Operation: registry.OpCreate, Resource: claims, Name: "c", Object: claim(nil)}, "may only update PVC status"},
		{"claim delete", kubelet, registry.Write{Operation: registry.OpDelete, Resource: claims, Name: "c", Old: claim(nil)}, "may only update PVC status"},
		{"create own CSINode", kubelet, registry.Write{Operation: registry.OpCreate, Resource: csinodes, Name: "n1"}, ""},
		{"update own CSINode", kubelet, registry.Write{Operation: registry.OpUpdate, Resource: csinodes, Name: "n1"}, ""},
		{"delete own CSINode", kubelet, registry.Write{Operation: registry.OpDelete, Resource: csinodes, Name: "n1"}, ""},
		{"create another node's CSINode", kubelet, registry.Write{Operation: registry.OpCreate, Resource: csinodes, Name: "n2"}, "can only access CSINode with the same name as the requesting node"},
		{"update another node's CSINode", kubelet, registry.Write{Operation: registry.OpUpdate, Resource: csinodes, Name: "n2"}, "can only access CSINode with the same name as the requesting node"},
		{"delete another node's CSINode", kubelet, registry.Write{Operation: registry.OpDelete, Resource: csinodes, Name: "n2"}, "can only access CSINode with the same name as the requesting node"},
		{"admin may write claims", admin, registry.Write{Operation: registry.OpUpdate, Subresource: "status", Resource: claims, Name: "c", Old: claim(nil), Object: claim(func(c *corev1.PersistentVolumeClaim) { c.Status.Phase = "Lost" })}, ""},
		{"admin may do anything", admin, registry.Write{Operation: registry.OpCreate, Resource: pods, Name: "p", Object: pod("n2", false, secretVol)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate(tt.ctx, &tt.w)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tt.wantErr != "" && (apierrors.ReasonOf(err) != apierrors.ReasonForbidden || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want Forbidden with %q", err, tt.wantErr)
			}
		})
	}
}
