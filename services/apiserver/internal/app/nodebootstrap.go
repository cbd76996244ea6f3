package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/pkg/bootstraptoken"
	"skiff.dev/services/apiserver/internal/api"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/pki"
	"skiff.dev/services/apiserver/internal/registry"
)

// NodeTokenGroup is kubeadm's group of node bootstrap tokens, which the
// node bootstrap bindings let join.
const NodeTokenGroup = "system:bootstrappers:kubeadm:default-node-token"

// nodeBootstrapBindings are kubeadm's bindings for TLS bootstrapping
// (deploy/bootstrap/node-bootstrap.yaml holds the same for clusters whose
// apiserver does not make them): joining kubelets may ask for certificates,
// which are approved for them and for nodes renewing their own.
func nodeBootstrapBindings() []*rbacv1.ClusterRoleBinding {
	const g = "rbac.authorization.k8s.io"
	bind := func(name, role, group string) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{Metadata: &metav1.ObjectMeta{Name: name},
			RoleRef:  &rbacv1.RoleRef{ApiGroup: g, Kind: "ClusterRole", Name: role},
			Subjects: []*rbacv1.Subject{{ApiGroup: g, Kind: "Group", Name: group}}}
	}
	return []*rbacv1.ClusterRoleBinding{
		bind("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", NodeTokenGroup),
		bind("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", NodeTokenGroup),
		bind("kubeadm:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "system:nodes"),
	}
}

// nodeBootstrapPath is the bootstrap kubeconfig the apiserver writes for
// nodes with --write-node-bootstrap-kubeconfig.
func (o *Options) nodeBootstrapPath() string {
	return filepath.Join(o.componentKubeconfigDir(), "node-bootstrap.kubeconfig")
}

// writeNodeBootstrap does for nodes what kubeadm init does: a bootstrap
// token in kube-system (kept in <data-dir>/pki/node-bootstrap-token and
// made again if its Secret went), kubeadm's bindings that let its holders
// join and renew, and a kubeconfig with the token that a kubelet starts
// from (--bootstrap-kubeconfig). The token does not expire: whoever can
// read the kubeconfig can join nodes, so it is as secret as the CA key
// beside it; delete the Secret (or the bindings) to stop joins.
func (o *Options) writeNodeBootstrap(ctx context.Context, served *api.API, caPEM []byte) error {
	tokenFile := filepath.Join(o.DataDir, "pki", "node-bootstrap-token")
	data, err := os.ReadFile(tokenFile)
	token := strings.TrimSpace(string(data))
	if errors.Is(err, os.ErrNotExist) {
		id, secret := bootstraptoken.Generate()
		token = id + "." + secret
		err = pki.WriteFileAtomic(tokenFile, []byte(token+"\n"), 0o600)
	}
	if err != nil {
		return fmt.Errorf("node bootstrap token: %w", err)
	}
	id, secret, ok := bootstraptoken.Parse(token)
	if !ok {
		return fmt.Errorf("node bootstrap token in %s is not of the form <6 chars>.<16 chars>", tokenFile)
	}
	s := bootstraptoken.Secret(id, secret, time.Time{}, NodeTokenGroup)
	s.Data[bootstraptoken.DescriptionKey] = []byte("The token of " + o.nodeBootstrapPath() + ", made by the apiserver (--write-node-bootstrap-kubeconfig).")
	if err := ensure(ctx, served.Backend("", "secrets"), s); err != nil {
		return fmt.Errorf("node bootstrap token Secret: %w", err)
	}
	crbs := served.Backend("rbac.authorization.k8s.io", "clusterrolebindings")
	for _, b := range nodeBootstrapBindings() {
		if err := ensure(ctx, crbs, b); err != nil {
			return fmt.Errorf("node bootstrap binding %s: %w", b.GetMetadata().GetName(), err)
		}
	}
	kc := kubeconfig(o.server(), caPEM, "node-bootstrap", "token: "+token)
	return pki.WriteFileAtomic(o.nodeBootstrapPath(), []byte(kc), 0o600)
}

// ensure creates obj unless an object of its name exists.
func ensure(ctx context.Context, b registry.Backend, obj proto.Message) error {
	_, err := b.Create(ctx, obj, registry.CreateOptions{FieldManager: "skiff-apiserver"})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
