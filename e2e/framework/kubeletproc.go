package framework

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Kubelet is a kubelet process on a private containerd.
type Kubelet struct {
	*Process
	Name    string
	RootDir string
	Port    int
	// Kubeconfig is the kubeconfig the kubelet uses: one with its node's
	// certificate, or for a bootstrapping kubelet the one it writes once it
	// has its certificate.
	Kubeconfig string
	args       []string
	t          testing.TB
}

// StartKubelet runs a kubelet named name against srv, as system:node:<name>
// (APIServer.NodeKubeconfig), with its pods in ctd under the harness's
// cgroup parent and its state in ctd's directory (so the harness removes
// whatever it leaves). Extra flags come last.
func StartKubelet(t testing.TB, srv *APIServer, ctd *Containerd, name string, flags ...string) *Kubelet {
	t.Helper()
	return startKubelet(t, srv, ctd, name, srv.NodeKubeconfig(t, name), flags...)
}

// StartBootstrapKubelet runs a kubelet as StartKubelet does, but with no
// credentials of its own: only bootstrapKubeconfig (a bootstrap token, see
// BootstrapKubeconfig), with which it asks for its client certificate
// (kept in <root dir>/pki) and then writes and uses <root dir>/kubelet.kubeconfig.
func StartBootstrapKubelet(t testing.TB, srv *APIServer, ctd *Containerd, name, bootstrapKubeconfig string, flags ...string) *Kubelet {
	t.Helper()
	kubeconfig := filepath.Join(ctd.Dir(), "kubelet-"+name, "kubelet.kubeconfig")
	return startKubelet(t, srv, ctd, name, kubeconfig, append([]string{"--bootstrap-kubeconfig", bootstrapKubeconfig}, flags...)...)
}

// BootstrapKubeconfig writes a kubeconfig for srv whose user is a
// bootstrap token ("<id>.<secret>"), as a node joining the cluster gets.
func BootstrapKubeconfig(t testing.TB, srv *APIServer, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bootstrap.kubeconfig")
	data := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster: {server: %q, certificate-authority: %q}
users:
- name: bootstrap
  user: {token: %q}
contexts:
- name: bootstrap
  context: {cluster: skiff, user: bootstrap}
current-context: bootstrap
`, srv.URL(), filepath.Join(srv.DataDir, "pki", "ca.crt"), token)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startKubelet(t testing.TB, srv *APIServer, ctd *Containerd, name, kubeconfig string, flags ...string) *Kubelet {
	t.Helper()
	k := &Kubelet{Name: name, RootDir: filepath.Join(ctd.Dir(), "kubelet-"+name), Port: FreePort(t), Kubeconfig: kubeconfig, t: t}
	k.args = append([]string{
		"--kubeconfig", kubeconfig,
		"--container-runtime-endpoint", ctd.Endpoint(),
		"--hostname-override", name,
		"--node-ip", NodeIP(ctd),
		"--root-dir", k.RootDir,
		"--cgroup-root", ctd.CgroupParent(),
		"--port", strconv.Itoa(k.Port),
		"--address", "0.0.0.0",
		"--client-ca-file", filepath.Join(srv.DataDir, "pki", "ca.crt"),
		"--healthz-bind-address", "",
		"--node-status-update-frequency", "2s",
		"--log-level", "debug",
	}, flags...)
	k.Process = startProcess(t, "kubelet", k.args...)
	return k
}

// StartFakeKubelet runs a kubelet named name against srv, as
// system:node:<name>, on the fake runtime (no containerd: its pods get no
// containers), with its HTTPS server on a free loopback port and its state
// in a temporary directory: for tests of the kubelet's own endpoints.
// Extra flags come last.
func StartFakeKubelet(t testing.TB, srv *APIServer, name string, flags ...string) *Kubelet {
	t.Helper()
	k := &Kubelet{Name: name, RootDir: t.TempDir(), Port: FreePort(t), Kubeconfig: srv.NodeKubeconfig(t, name), t: t}
	k.args = append([]string{
		"--kubeconfig", k.Kubeconfig,
		"--runtime", "fake",
		"--hostname-override", name,
		"--node-ip", "127.0.0.1",
		"--root-dir", k.RootDir,
		"--port", strconv.Itoa(k.Port),
		"--address", "127.0.0.1",
		"--client-ca-file", filepath.Join(srv.DataDir, "pki", "ca.crt"),
		"--healthz-bind-address", "",
		"--log-level", "info",
	}, flags...)
	k.Process = startProcess(t, "kubelet", k.args...)
	return k
}

// Restart starts the kubelet again with the same flags after Stop or Kill.
func (k *Kubelet) Restart() {
	k.t.Helper()
	k.Process = startProcess(k.t, "kubelet", k.args...)
}

// NodeIP is the host's address on the harness's pod bridge: the node IP
// kubelets on ctd report, reachable from pods and from the host.
func NodeIP(ctd *Containerd) string {
	ip := ctd.Subnet().IP.To4()
	return net.IPv4(ip[0], ip[1], ip[2], ip[3]+1).String()
}

// StartHollowKubelets runs one kubelet process that simulates n nodes
// (hollow-0 ... hollow-<n-1>) on the fake runtime, for benchmarks. Being
// many nodes at once, it is the one component that runs with the admin
// credentials.
func StartHollowKubelets(t testing.TB, srv *APIServer, n int, flags ...string) *Process {
	t.Helper()
	args := append([]string{
		"--kubeconfig", srv.Kubeconfig(),
		"--runtime", "fake", "--hollow-nodes", strconv.Itoa(n),
		"--hostname-override", "hollow",
		"--node-ip", "10.0.0.1",
		// As a real cluster's kubelets: without it every pod would add a
		// MissingClusterDNS event for the pod and one for the node.
		"--cluster-dns", "10.96.0.10",
		"--root-dir", t.TempDir(),
		"--port", "0",
		"--healthz-bind-address", "",
		"--log-level", "warn",
	}, flags...)
	return startCommand(t, "kubelet", exec.Command(Binary(t, "kubelet"), args...))
}
