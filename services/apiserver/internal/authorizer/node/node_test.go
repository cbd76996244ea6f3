package node

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
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
