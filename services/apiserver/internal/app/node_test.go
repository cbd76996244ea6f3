package app

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

// TestNodeAuthorizer: a kubelet (system:node:<name>, system:nodes) reads a
// secret a pod bound to its node mounts and gets 403 for any other; it
// writes its own Node's status and not another node's; it may not create
// a pod that is not a mirror pod.
func TestNodeAuthorizer(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	admin := s.client(s.adminToken)
	ca := loadSigner(t, s.dataDir)
	kubelet := func(node string) *client.Client {
		cert, key := ca.issue(t, "system:node:"+node, []string{"system:nodes"}, time.Now().Add(time.Hour), x509.ExtKeyUsageClientAuth)
		c, err := client.New(client.Config{Address: s.addr, CAData: s.ca, CertData: cert, KeyData: key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	a, b := kubelet("node-a"), kubelet("node-b")
	for _, n := range []string{"node-a", "node-b"} {
		if _, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: n}}, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"mounted", "other"} {
		if _, err := admin.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{Metadata: &metav1.ObjectMeta{Name: name}}, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "web"}, Spec: &corev1.PodSpec{
		NodeName:   proto.String("node-a"),
		Containers: []*corev1.Container{{Name: "c", Image: "registry.skiff.local/testserver:1.0"}},
		Volumes: []*corev1.Volume{{Name: "s", VolumeSource: &corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: "mounted"}}}}}}
	if _, err := admin.CoreV1().Pods("default").Create(ctx, pod, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}

	pollUntil(t, func() bool {
		_, err := a.CoreV1().Secrets("default").Get(ctx, "mounted")
		return err == nil
	}, "node-a reads the secret its pod mounts")
	forbidden := func(what string, err error, want string) {
		t.Helper()
		if !client.IsForbidden(err) || err.Error() != want {
			t.Errorf("%s: got %v, want Forbidden %q", what, err, want)
		}
	}
	_, err := a.CoreV1().Secrets("default").Get(ctx, "other")
	forbidden("node-a reads another secret", err, `secrets "other" is forbidden: User "system:node:node-a" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'node-a' and this object`)
	_, err = b.CoreV1().Secrets("default").Get(ctx, "mounted")
	forbidden("node-b reads node-a's pod's secret", err, `secrets "mounted" is forbidden: User "system:node:node-b" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'node-b' and this object`)
	_, err = a.CoreV1().Secrets("default").List(ctx, client.ListOptions{})
	forbidden("node-a lists secrets", err, `secrets is forbidden: User "system:node:node-a" cannot list resource "secrets" in API group "" in the namespace "default": No Object name found, key not found`)

	// Its own Node's status, not another's.
	own, err := a.CoreV1().Nodes().Get(ctx, "node-a")
	if err != nil {
		t.Fatal(err)
	}
	own.Status = &corev1.NodeStatus{Phase: "Running"}
	if _, err := a.CoreV1().Nodes().UpdateStatus(ctx, own, client.WriteOptions{}); err != nil {
		t.Errorf("node-a updates its own status: %v", err)
	}
	theirs, err := a.CoreV1().Nodes().Get(ctx, "node-b")
	if err != nil {
		t.Fatal(err)
	}
	theirs.Status = &corev1.NodeStatus{Phase: "Terminated"}
	_, err = a.CoreV1().Nodes().UpdateStatus(ctx, theirs, client.WriteOptions{})
	forbidden("node-a updates node-b's status", err, `nodes "node-b" is forbidden: node "node-a" is not allowed to modify node "node-b"`)

	// Pods: only mirror pods bound to itself; status only of its own.
	plain := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "sneaky"}, Spec: &corev1.PodSpec{NodeName: proto.String("node-a"),
		Containers: []*corev1.Container{{Name: "c", Image: "registry.skiff.local/testserver:1.0"}}}}
	_, err = a.CoreV1().Pods("default").Create(ctx, plain, client.WriteOptions{})
	forbidden("node-a creates a plain pod", err, `pods "sneaky" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "node-a" can only create mirror pods`)
	web, err := b.CoreV1().Pods("default").Get(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	web.Status.Phase = "Failed"
	_, err = b.CoreV1().Pods("default").UpdateStatus(ctx, web, client.WriteOptions{})
	forbidden("node-b updates node-a's pod's status", err, `pods "web" is forbidden: node "node-b" can only update pod status for pods with spec.nodeName set to itself`)
}
