package chartpki

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/pkg/bootstraptoken"
)

// Join does in the hosted control plane what kubeadm init does for nodes
// (and the apiserver's --write-node-bootstrap-kubeconfig for its own):
// the bootstrap token's Secret in kube-system, expiring at expires (zero:
// never), and kubeadm's bindings that let its holders ask for a node
// certificate, have it approved, and renew it. Whatever exists is kept.
func Join(ctx context.Context, hosted kubernetes.Interface, token string, expires time.Time) error {
	id, secret, ok := bootstraptoken.Parse(strings.TrimSpace(token))
	if !ok {
		return errors.New("the node bootstrap token is not of the form <6 chars>.<16 chars>")
	}
	s := bootstraptoken.Secret(id, secret, expires, NodeTokenGroup)
	obj := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.GetMetadata().GetName(), Namespace: s.GetMetadata().GetNamespace()},
		Type:       corev1.SecretType(s.GetType()), Data: s.GetData(),
	}
	obj.Data[bootstraptoken.DescriptionKey] = []byte("The node bootstrap token of charts/skiff (the release's node-bootstrap Secret).")
	if _, err := hosted.CoreV1().Secrets(obj.Namespace).Create(ctx, obj, metav1.CreateOptions{FieldManager: generator}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("bootstrap token Secret: %w", err)
	}
	for _, b := range joinBindings() {
		if _, err := hosted.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{FieldManager: generator}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("binding %s: %w", b.Name, err)
		}
	}
	return nil
}

// joinBindings are kubeadm's bindings for TLS bootstrapping, as
// deploy/bootstrap/node-bootstrap.yaml holds them.
func joinBindings() []*rbacv1.ClusterRoleBinding {
	bind := func(name, role, group string) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: group}}}
	}
	return []*rbacv1.ClusterRoleBinding{
		bind("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", NodeTokenGroup),
		bind("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", NodeTokenGroup),
		bind("kubeadm:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "system:nodes"),
	}
}

// Leases are the elections of the leader-elected components, in
// kube-system: each must have a holder.
var Leases = []string{"kube-scheduler", "kube-controller-manager", "cloud-controller-manager"}

// Check says whether the hosted control plane is ready: the apiserver
// answers /readyz with ok and every election of Leases has a holder whose
// lease has not run out. The error names everything that is not so.
func Check(ctx context.Context, hosted kubernetes.Interface) error {
	var errs []error
	body, err := hosted.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("/readyz: %w", err))
	} else if strings.TrimSpace(string(body)) != "ok" {
		errs = append(errs, fmt.Errorf("/readyz answered %q", body))
	}
	for _, name := range Leases {
		l, err := hosted.CoordinationV1().Leases(metav1.NamespaceSystem).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("Lease %s: %w", name, err))
			continue
		}
		if err := held(l.Spec.HolderIdentity, l.Spec.RenewTime, l.Spec.LeaseDurationSeconds, time.Now()); err != nil {
			errs = append(errs, fmt.Errorf("Lease %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// held says whether a lease has a holder that renewed it within its
// duration.
func held(holder *string, renew *metav1.MicroTime, seconds *int32, now time.Time) error {
	if holder == nil || *holder == "" {
		return errors.New("no holder: no replica leads")
	}
	if renew == nil || seconds == nil {
		return fmt.Errorf("held by %s, never renewed", *holder)
	}
	if expiry := renew.Add(time.Duration(*seconds) * time.Second); now.After(expiry) {
		return fmt.Errorf("held by %s, whose lease ran out at %s", *holder, expiry.UTC().Format(time.RFC3339))
	}
	return nil
}
