package node

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/services/apiserver/internal/authorizer"
)

func TestAuthorize(t *testing.T) {
	a := New([]*rbacv1.PolicyRule{{Verbs: []string{"get", "list", "watch"}, ApiGroups: []string{""}, Resources: []string{"services"}}})
	ref := func(name string) *corev1.LocalObjectReference { return &corev1.LocalObjectReference{Name: name} }
	a.setPod(&corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: "web"}, Spec: &corev1.PodSpec{
		NodeName: proto.String("n1"), ServiceAccountName: proto.String("robot"),
		ImagePullSecrets: []*corev1.LocalObjectReference{ref("pull")},
		Volumes: []*corev1.Volume{
			{Name: "a", VolumeSource: &corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("settings")}}},
			{Name: "b", VolumeSource: &corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
			{Name: "c", VolumeSource: &corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []*corev1.VolumeProjection{
				{Secret: &corev1.SecretProjection{LocalObjectReference: ref("projected")}}}}}},
		},
		Containers: []*corev1.Container{{Name: "c",
			Env:     []*corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: ref("env"), Key: "k"}}}},
			EnvFrom: []*corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: ref("envfrom")}}}}},
	}})
	a.setPod(&corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: "pending"}, Spec: &corev1.PodSpec{
		Volumes: []*corev1.Volume{{Name: "a", VolumeSource: &corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "unbound"}}}}}})
	nodeUser := func(node string) (string, []string) {
		return "system:node:" + node, []string{"system:nodes", "system:authenticated"}
	}
	ask := func(node, verb, resource, sub, ns, name string) authorizer.Attributes {
		u, g := nodeUser(node)
		a := authorizer.ResourceRequest(verb, "", "v1", resource, sub, ns, name)
		a.User, a.Groups = u, g
		return a
	}
	tests := []struct {
		name  string
		attrs authorizer.Attributes
		want  authorizer.Decision
	}{
		{"mounted configmap", ask("n1", "get", "configmaps", "", "ns", "settings"), authorizer.DecisionAllow},
		{"watch of one configmap", ask("n1", "watch", "configmaps", "", "ns", "envfrom"), authorizer.DecisionAllow},
		{"pull secret", ask("n1", "get", "secrets", "", "ns", "pull"), authorizer.DecisionAllow},
		{"projected secret", ask("n1", "get", "secrets", "", "ns", "projected"), authorizer.DecisionAllow},
		{"env secret", ask("n1", "get", "secrets", "", "ns", "env"), authorizer.DecisionAllow},
		{"claim", ask("n1", "get", "persistentvolumeclaims", "", "ns", "data"), authorizer.DecisionAllow},
		{"service account token", ask("n1", "create", "serviceaccounts", "token", "ns", "robot"), authorizer.DecisionAllow},
		{"another secret", ask("n1", "get", "secrets", "", "ns", "settings"), authorizer.DecisionNoOpinion},
		{"same name, other namespace", ask("n1", "get", "secrets", "", "other", "pull"), authorizer.DecisionNoOpinion},
		{"another node", ask("n2", "get", "secrets", "", "ns", "pull"), authorizer.DecisionNoOpinion},
		{"an unscheduled pod's secret", ask("n1", "get", "secrets", "", "ns", "unbound"), authorizer.DecisionNoOpinion},
		{"list of all secrets", ask("n1", "list", "secrets", "", "ns", ""), authorizer.DecisionNoOpinion},
		{"secret update", ask("n1", "update", "secrets", "", "ns", "pull"), authorizer.DecisionNoOpinion},
		{"another account's token", ask("n1", "create", "serviceaccounts", "token", "ns", "default"), authorizer.DecisionNoOpinion},
		{"static rule", ask("n1", "list", "services", "", "", ""), authorizer.DecisionAllow},
		{"outside the rules", ask("n1", "delete", "services", "", "ns", "x"), authorizer.DecisionNoOpinion},
		{"not a node", authorizer.Attributes{User: "system:node:n1", Verb: "list", ResourceRequest: true, Resource: "services"}, authorizer.DecisionNoOpinion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, reason, _ := a.Authorize(context.Background(), tt.attrs); got != tt.want {
				t.Errorf("got %v (%s), want %v", got, reason, tt.want)
			}
		})
	}
	// The pod leaves the node: so does the access.
	a.removePod("ns", "web")
	if got, _, _ := a.Authorize(context.Background(), ask("n1", "get", "configmaps", "", "ns", "settings")); got != authorizer.DecisionNoOpinion {
		t.Errorf("after the pod went: got %v, want no opinion", got)
	}
}

func TestAuthorizeStorage(t *testing.T) {
	// The system:node role lets kubelets write claims' status; the
	// authorizer narrows that to the claims of its pods.
	a := New([]*rbacv1.PolicyRule{{Verbs: []string{"get", "update", "patch"}, ApiGroups: []string{""}, Resources: []string{"persistentvolumeclaims/status"}}})
	a.setPod(&corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: "db"}, Spec: &corev1.PodSpec{NodeName: proto.String("n1"),
		Volumes: []*corev1.Volume{{Name: "d", VolumeSource: &corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}}})
	a.setVolume(&corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{Name: "pv-data"},
		Spec: &corev1.PersistentVolumeSpec{ClaimRef: &corev1.ObjectReference{Namespace: "ns", Name: "data"}}})
	a.setVolume(&corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{Name: "pv-other"},
		Spec: &corev1.PersistentVolumeSpec{ClaimRef: &corev1.ObjectReference{Namespace: "ns", Name: "other"},
			PersistentVolumeSource: &corev1.PersistentVolumeSource{Csi: &corev1.CSIPersistentVolumeSource{
				NodePublishSecretRef: &corev1.SecretReference{Namespace: "sec", Name: "other-publish"}}}}})
	secret := func(name string) *corev1.SecretReference {
		return &corev1.SecretReference{Namespace: "sec", Name: name}
	}
	a.setVolume(&corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{Name: "pv-secured"},
		Spec: &corev1.PersistentVolumeSpec{ClaimRef: &corev1.ObjectReference{Namespace: "ns", Name: "data"},
			PersistentVolumeSource: &corev1.PersistentVolumeSource{Csi: &corev1.CSIPersistentVolumeSource{
				NodeStageSecretRef: secret("stage"), NodePublishSecretRef: secret("publish"), NodeExpandSecretRef: secret("expand"),
				ControllerPublishSecretRef: secret("ctrl-publish"), ControllerExpandSecretRef: secret("ctrl-expand")}}}})
	a.setAttachment(&storagev1.VolumeAttachment{Metadata: &metav1.ObjectMeta{Name: "csi-1"}, Spec: &storagev1.VolumeAttachmentSpec{NodeName: "n1"}})
	ask := func(node, verb, group, resource, sub, name string) authorizer.Attributes {
		ns := ""
		if resource == "persistentvolumeclaims" || resource == "secrets" {
			ns, name, _ = strings.Cut(name, "/")
		}
		attrs := authorizer.ResourceRequest(verb, group, "v1", resource, sub, ns, name)
		attrs.User, attrs.Groups = "system:node:"+node, []string{"system:nodes"}
		return attrs
	}
	tests := []struct {
		name  string
		attrs authorizer.Attributes
		want  authorizer.Decision
	}{
		{"volume of a claim a pod uses", ask("n1", "get", "", "persistentvolumes", "", "pv-data"), authorizer.DecisionAllow},
		{"same volume, other node", ask("n2", "get", "", "persistentvolumes", "", "pv-data"), authorizer.DecisionNoOpinion},
		{"volume of another claim", ask("n1", "get", "", "persistentvolumes", "", "pv-other"), authorizer.DecisionNoOpinion},
		{"status of a claim a pod uses", ask("n1", "update", "", "persistentvolumeclaims", "status", "ns/data"), authorizer.DecisionAllow},
		{"status patch of a claim a pod uses", ask("n1", "patch", "", "persistentvolumeclaims", "status", "ns/data"), authorizer.DecisionAllow},
		{"status of a claim no pod on the node uses", ask("n1", "update", "", "persistentvolumeclaims", "status", "ns/other"), authorizer.DecisionNoOpinion},
		{"status of the claim from another node", ask("n2", "patch", "", "persistentvolumeclaims", "status", "ns/data"), authorizer.DecisionNoOpinion},
		{"status get", ask("n1", "get", "", "persistentvolumeclaims", "status", "ns/data"), authorizer.DecisionNoOpinion},
		{"claim update", ask("n1", "update", "", "persistentvolumeclaims", "", "ns/data"), authorizer.DecisionNoOpinion},
		{"node stage secret", ask("n1", "get", "", "secrets", "", "sec/stage"), authorizer.DecisionAllow},
		{"node publish secret", ask("n1", "get", "", "secrets", "", "sec/publish"), authorizer.DecisionAllow},
		{"node expand secret", ask("n1", "get", "", "secrets", "", "sec/expand"), authorizer.DecisionAllow},
		{"controller publish secret", ask("n1", "get", "", "secrets", "", "sec/ctrl-publish"), authorizer.DecisionNoOpinion},
		{"controller expand secret", ask("n1", "get", "", "secrets", "", "sec/ctrl-expand"), authorizer.DecisionNoOpinion},
		{"node secret from another node", ask("n2", "get", "", "secrets", "", "sec/stage"), authorizer.DecisionNoOpinion},
		{"node secret of another claim's volume", ask("n1", "get", "", "secrets", "", "sec/other-publish"), authorizer.DecisionNoOpinion},
		{"node secret, other namespace", ask("n1", "get", "", "secrets", "", "ns/stage"), authorizer.DecisionNoOpinion},
		{"list of volumes", ask("n1", "list", "", "persistentvolumes", "", ""), authorizer.DecisionNoOpinion},
		{"attachment to the node", ask("n1", "get", "storage.k8s.io", "volumeattachments", "", "csi-1"), authorizer.DecisionAllow},
		{"attachment to another node", ask("n2", "get", "storage.k8s.io", "volumeattachments", "", "csi-1"), authorizer.DecisionNoOpinion},
		{"own CSINode", ask("n1", "patch", "storage.k8s.io", "csinodes", "", "n1"), authorizer.DecisionAllow},
		{"create a CSINode", ask("n1", "create", "storage.k8s.io", "csinodes", "", ""), authorizer.DecisionAllow},
		{"another CSINode", ask("n1", "update", "storage.k8s.io", "csinodes", "", "n2"), authorizer.DecisionNoOpinion},
		{"list CSINodes", ask("n1", "list", "storage.k8s.io", "csinodes", "", ""), authorizer.DecisionNoOpinion},
	}
	for _, tt := range tests {
		if got, reason, _ := a.Authorize(context.Background(), tt.attrs); got != tt.want {
			t.Errorf("%s: got %v (%s), want %v", tt.name, got, reason, tt.want)
		}
	}
	a.removeVolume("", "pv-secured")
	if got, _, _ := a.Authorize(context.Background(), ask("n1", "get", "", "secrets", "", "sec/stage")); got != authorizer.DecisionNoOpinion {
		t.Errorf("after the volume went: got %v, want no opinion", got)
	}
	a.removePod("ns", "db")
	for _, attrs := range []authorizer.Attributes{
		ask("n1", "get", "", "persistentvolumes", "", "pv-data"),
		ask("n1", "update", "", "persistentvolumeclaims", "status", "ns/data"),
	} {
		if got, _, _ := a.Authorize(context.Background(), attrs); got != authorizer.DecisionNoOpinion {
			t.Errorf("after the pod went: %s/%s: got %v, want no opinion", attrs.Resource, attrs.Subresource, got)
		}
	}
}
