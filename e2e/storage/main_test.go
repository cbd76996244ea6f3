// Package storage tests persistent storage end to end: the real
// apiserver, scheduler, controller-manager (PV binder, protection
// controllers) and kubelets on containerd, with Skiff's local CSI driver
// and its provisioner running next to each kubelet, as the csi-local
// add-on runs them on the stack's nodes.
package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"skiff.dev/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

const driverName = "local.csi.skiff.dev"

// cluster is a control plane with kubelets on one private containerd,
// each with the local CSI driver and provisioner.
type cluster struct {
	srv   *framework.APIServer
	ctd   *framework.Containerd
	kube  kubernetes.Interface
	nodes map[string]*node
}

// node is one kubelet and the CSI programs beside it.
type node struct {
	kubelet     *framework.Kubelet
	driver      *framework.Process
	provisioner *framework.Process
	dataDir     string
	callLog     string
}

// startCluster starts the control plane and a kubelet with the driver
// for each of names; driverFlags go to every driver.
func startCluster(t testing.TB, names []string, driverFlags ...string) *cluster {
	t.Helper()
	framework.NeedRuntime(t)
	ctd := framework.StartContainerd(t)
	srv := framework.StartAPIServer(t)
	framework.StartScheduler(t, srv)
	framework.StartControllerManager(t, srv)
	kube, err := kubernetes.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	cl := &cluster{srv: srv, ctd: ctd, kube: kube, nodes: map[string]*node{}}
	cl.applyAddon(t)
	kubeconfig := cl.provisionerKubeconfig(t)
	for _, name := range names {
		k := framework.StartKubelet(t, srv, ctd, name)
		framework.WaitNodeReady(t, srv.Client(), name)
		cl.nodes[name] = cl.startDriver(t, k, kubeconfig, driverFlags...)
	}
	return cl
}

// applyAddon applies deploy/addons/csi-local.yaml without its DaemonSet:
// the account, roles, CSIDriver and StorageClass. The driver and
// provisioner run as processes here, beside each kubelet.
func (cl *cluster) applyAddon(t testing.TB) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "addons", "csi-local.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("csi-local.yaml: %v", err)
		}
		if head.Kind != "DaemonSet" {
			keep = append(keep, doc)
		}
	}
	cl.apply(t, strings.Join(keep, "\n---\n"))
}

// apply runs kubectl apply -f - with a manifest.
func (cl *cluster) apply(t testing.TB, manifest string) {
	t.Helper()
	if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

// provisionerKubeconfig is a kubeconfig of the add-on's service account
// kube-system/csi-local, so the provisioner runs with the add-on's RBAC.
func (cl *cluster) provisionerKubeconfig(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	var tok *authenticationv1.TokenRequest
	framework.Eventually(t, 30*time.Second, "a token of kube-system/csi-local", func() error {
		var err error
		tok, err = cl.kube.CoreV1().ServiceAccounts("kube-system").CreateToken(ctx, "csi-local",
			&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{}}, metav1.CreateOptions{})
		return err
	})
	path := filepath.Join(t.TempDir(), "csi-local.kubeconfig")
	data := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster: {server: %q, certificate-authority: %q}
users:
- name: csi-local
  user: {token: %q}
contexts:
- name: csi-local
  context: {cluster: skiff, user: csi-local}
current-context: csi-local
`, cl.srv.URL(), filepath.Join(cl.srv.DataDir, "pki", "ca.crt"), tok.Status.Token)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startDriver runs the driver for kubelet k, registering with it through
// its plugins_registry, and its provisioner.
func (cl *cluster) startDriver(t testing.TB, k *framework.Kubelet, kubeconfig string, flags ...string) *node {
	t.Helper()
	n := &node{kubelet: k, dataDir: filepath.Join(t.TempDir(), "volumes"), callLog: filepath.Join(t.TempDir(), "calls.jsonl")}
	socket := filepath.Join(k.RootDir, "plugins", driverName, "csi.sock")
	n.driver = framework.StartBinary(t, "skiff-csi-local", framework.Binary(t, "skiff-csi-local"), append([]string{
		"--endpoint", socket,
		"--registration-dir", filepath.Join(k.RootDir, "plugins_registry"),
		"--data-dir", n.dataDir,
		"--node-id", k.Name,
		"--call-log", n.callLog,
		"--log-level", "debug",
	}, flags...)...)
	n.provisioner = framework.StartBinary(t, "skiff-csi-provisioner", framework.Binary(t, "skiff-csi-provisioner"),
		"--csi-address", socket,
		"--kubeconfig", kubeconfig,
		"--node-name", k.Name,
		"--capacity-poll-interval", "5s",
		"--log-level", "debug",
	)
	// The kubelet has registered the driver once its CSINode lists it.
	framework.Eventually(t, 60*time.Second, "the kubelet of "+k.Name+" registered "+driverName, func() error {
		if err := n.driver.Exited(); err != nil {
			return fmt.Errorf("driver %w: %s", err, n.driver.Logs())
		}
		csiNode, err := cl.kube.StorageV1().CSINodes().Get(context.Background(), k.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, d := range csiNode.Spec.Drivers {
			if d.Name == driverName {
				return nil
			}
		}
		return fmt.Errorf("CSINode %s lists %d drivers, not %s", k.Name, len(csiNode.Spec.Drivers), driverName)
	})
	return n
}
