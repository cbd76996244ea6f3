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
	pods   = &registry.Resource{Version: "v1", Plural: "pods", Kind: "Pod", Namespaced: true}
	nodes  = &registry.Resource{Version: "v1", Plural: "nodes", Kind: "Node"}
	leases = &registry.Resource{Group: "coordination.k8s.io", Version: "v1", Plural: "leases", Kind: "Lease", Namespaced: true}
)

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
