// Package chartpki makes the certificates, keys and kubeconfigs of a
// control plane that charts/skiff deploys onto another cluster, and keeps
// them there as Secrets: the etcd CA with the members' serving and peer
// certificates and the apiserver's etcd client certificate (pkg/etcdpki),
// Skiff's CA with the apiserver's serving and kubelet client certificates
// and the service-account signing key (internal/pki, as an apiserver with
// --data-dir makes them), a client certificate and kubeconfig per
// component and for the administrator, and a node bootstrap token.
//
// The material is generated in a scratch directory by the same functions
// that generate an apiserver's own, so what exists is kept: every Secret
// already in the cluster is first written into that directory, whatever
// is missing is generated beside it, and only the missing Secrets are
// created. An upgrade therefore keeps every key and certificate, and a
// Secret deleted on purpose is made again from the CA still there.
package chartpki

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"skiff.dev/pkg/bootstraptoken"
	"skiff.dev/pkg/etcdpki"
	"skiff.dev/services/apiserver/internal/pki"
)

// Config says what the control plane is called and where it lives.
type Config struct {
	// Release is the name every object of the release starts with
	// (the chart's fullname), Namespace the hosting namespace.
	Release, Namespace string
	// Instance is the Helm release's name, the chart's
	// app.kubernetes.io/instance label, which the Secrets carry too so
	// that one selector finds every object of the release; empty: no
	// such label.
	Instance string
	// ClusterDomain is the hosting cluster's DNS domain.
	ClusterDomain string
	// EtcdReplicas is the size of the etcd StatefulSet.
	EtcdReplicas int
	// APIServerHosts are more names and addresses the apiserver's serving
	// certificate covers: its LoadBalancer address, node addresses for a
	// NodePort, an external DNS name.
	APIServerHosts []string
	// ServiceClusterIPRange is the hosted apiserver's
	// --service-cluster-ip-range: the first address is the hosted
	// cluster's own kubernetes Service, which its pods dial.
	ServiceClusterIPRange string
	// Server is the URL the components' kubeconfigs name (the apiserver
	// Service inside the hosting cluster); ExternalServer the one of the
	// kubeconfigs used outside it (the admin's, the nodes' bootstrap and
	// proxy ones; --admin-server), Server when empty.
	Server, ExternalServer string
	// NodeTokenTTL is how long a new node bootstrap token authenticates,
	// as kubeadm's --token-ttl (24h there); 0: it never expires.
	NodeTokenTTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (c Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Validate checks the configuration before anything is generated.
func (c Config) Validate() error {
	var errs []error
	if c.Release == "" || c.Namespace == "" {
		errs = append(errs, errors.New("--release and --namespace are required"))
	}
	if c.NodeTokenTTL < 0 {
		errs = append(errs, fmt.Errorf("--node-bootstrap-token-ttl %s: must not be negative", c.NodeTokenTTL))
	}
	if c.EtcdReplicas < 1 || c.EtcdReplicas%2 == 0 {
		errs = append(errs, fmt.Errorf("--etcd-replicas %d: etcd needs an odd number of members, at least 1", c.EtcdReplicas))
	}
	if _, err := netip.ParsePrefix(c.ServiceClusterIPRange); err != nil {
		errs = append(errs, fmt.Errorf("--service-cluster-ip-range: %w", err))
	}
	return errors.Join(errs...)
}

// EtcdService is the headless Service of the etcd StatefulSet, which
// gives each member its DNS name.
func (c Config) EtcdService() string { return c.Release + "-etcd" }

// APIServerService is the Service in front of the apiservers.
func (c Config) APIServerService() string { return c.Release + "-apiserver" }

// EtcdHosts are the names the members' serving and peer certificates
// cover: every member's own (<release>-etcd-N.<release>-etcd.<ns>.svc and
// its longer and shorter forms), the headless Service's, and loopback for
// etcd's own health checks.
func (c Config) EtcdHosts() []string {
	svc := c.EtcdService()
	hosts := serviceNames(svc, c.Namespace, c.ClusterDomain)
	for i := range c.EtcdReplicas {
		member := svc + "-" + strconv.Itoa(i)
		for _, n := range serviceNames(svc, c.Namespace, c.ClusterDomain) {
			hosts = append(hosts, member+"."+n)
		}
	}
	return append(hosts, "localhost", "127.0.0.1")
}

// APIServerServingHosts are the names and addresses the apiserver's
// serving certificate covers: its Service's names in the hosting cluster,
// the hosted cluster's kubernetes Service (names and first address),
// loopback, and the configured extra hosts.
func (c Config) APIServerServingHosts() []string {
	hosts := serviceNames(c.APIServerService(), c.Namespace, c.ClusterDomain)
	hosts = append(hosts, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
		"localhost", "127.0.0.1")
	if p, err := netip.ParsePrefix(c.ServiceClusterIPRange); err == nil {
		hosts = append(hosts, p.Masked().Addr().Next().String())
	}
	return append(hosts, c.APIServerHosts...)
}

// serviceNames are the DNS names of a Service, shortest first.
func serviceNames(svc, ns, domain string) []string {
	names := []string{svc, svc + "." + ns, svc + "." + ns + ".svc"}
	if domain != "" {
		names = append(names, svc+"."+ns+".svc."+domain)
	}
	return names
}

// NodeTokenGroup is kubeadm's group of node bootstrap tokens, which the
// join bindings let join (the apiserver's --write-node-bootstrap-kubeconfig
// uses the same).
const NodeTokenGroup = "system:bootstrappers:kubeadm:default-node-token"

// Client is a user the chart's components or people authenticate as
// with a client certificate of Skiff's CA; its kubeconfig is the Secret
// <release>-<name>-kubeconfig.
type Client struct {
	pki.Client
	// External users run outside the hosting cluster (people, the
	// nodes' proxies) and get ExternalServer in their kubeconfig.
	External bool
}

// Clients are the identities issued: the components', as the apiserver
// issues them for itself (pki.Components), and the administrator, in
// system:masters.
var Clients = append(componentClients(),
	Client{Client: pki.Client{Name: "admin", CommonName: "skiff-admin", Organization: []string{"system:masters"}}, External: true})

func componentClients() []Client {
	var out []Client
	for _, c := range pki.Components {
		// The proxy runs on the nodes, which join from outside.
		out = append(out, Client{Client: c, External: c.Name == "proxy"})
	}
	return out
}

// Spec is one Secret: each data key and the file under the scratch
// directory that holds its value.
type Spec struct {
	Name  string
	Files map[string]string
}

// Secrets are the Secrets of the control plane, named after the release
// (docs/helm.md lists them for users who bring their own).
func (c Config) Secrets() []Spec {
	etcd, ca := etcdpki.FilesIn("etcd"), pki.FilesIn("pki")
	saKey, saPub := pki.ServiceAccountKeyFiles("pki")
	specs := []Spec{
		{c.Release + "-etcd-ca", map[string]string{"ca.crt": etcd.CACert, "ca.key": etcd.CAKey}},
		{c.Release + "-etcd-certs", map[string]string{"ca.crt": etcd.CACert,
			"server.crt": etcd.ServerCert, "server.key": etcd.ServerKey, "peer.crt": etcd.PeerCert, "peer.key": etcd.PeerKey}},
		{c.Release + "-ca", map[string]string{"ca.crt": ca.CACert, "ca.key": ca.CAKey}},
		{c.Release + "-apiserver-certs", map[string]string{"ca.crt": ca.CACert,
			"apiserver.crt": ca.ServingCert, "apiserver.key": ca.ServingKey,
			"apiserver-kubelet-client.crt": ca.KubeletClientCert, "apiserver-kubelet-client.key": ca.KubeletClientKey,
			"etcd-ca.crt": etcd.CACert, "apiserver-etcd-client.crt": etcd.ClientCert, "apiserver-etcd-client.key": etcd.ClientKey}},
		// Apart from the certificates, so that replacing those (new names
		// for the apiserver) keeps every service-account token valid.
		{c.Release + "-service-account-key", map[string]string{"sa.key": saKey, "sa.pub": saPub}},
	}
	for _, cl := range Clients {
		specs = append(specs, Spec{c.Release + "-" + cl.Name + "-kubeconfig", map[string]string{"kubeconfig": kubeconfigFile(cl.Name)}})
	}
	return append(specs, Spec{c.Release + "-node-bootstrap", map[string]string{
		"kubeconfig": kubeconfigFile("node-bootstrap"), "token": nodeTokenFile, NodeTokenExpirationKey: nodeTokenExpirationFile}})
}

// NodeTokenExpirationKey is the node-bootstrap Secret's key holding when
// its token expires (RFC 3339; empty: never), the join Job's
// --expiration-file. A Secret brought without it holds a token that
// never expires.
const NodeTokenExpirationKey = "expiration"

// optionalKeys are the keys a Secret brought by the user may lack.
var optionalKeys = map[string]bool{NodeTokenExpirationKey: true}

func kubeconfigFile(name string) string { return filepath.Join("kubeconfigs", name+".kubeconfig") }

// nodeTokenFile holds the node bootstrap token, <id>.<secret>, and
// nodeTokenExpirationFile when it expires.
var (
	nodeTokenFile           = filepath.Join("pki", "node-bootstrap-token")
	nodeTokenExpirationFile = filepath.Join("pki", "node-bootstrap-token-expiration")
)

// Generate makes whatever of the material is missing under dir and keeps
// what is there: the two CAs, the etcd and apiserver certificates (issued
// again when they do not cover the configured hosts), the
// service-account key, the clients' certificates and kubeconfigs, and the
// node bootstrap token with its kubeconfig.
func Generate(dir string, c Config) error {
	if _, err := etcdpki.Ensure(filepath.Join(dir, "etcd"), c.EtcdHosts()); err != nil {
		return err
	}
	pkiDir := filepath.Join(dir, "pki")
	files, err := pki.Ensure(pkiDir, c.APIServerServingHosts())
	if err != nil {
		return err
	}
	if _, err := pki.EnsureServiceAccountKey(pkiDir); err != nil {
		return err
	}
	caPEM, err := os.ReadFile(files.CACert)
	if err != nil {
		return err
	}
	for _, cl := range Clients {
		if err := writeClientKubeconfig(dir, c, cl, caPEM); err != nil {
			return fmt.Errorf("%s kubeconfig: %w", cl.Name, err)
		}
	}
	if err := writeNodeBootstrap(dir, c, caPEM); err != nil {
		return fmt.Errorf("node bootstrap kubeconfig: %w", err)
	}
	return nil
}

func writeClientKubeconfig(dir string, c Config, cl Client, caPEM []byte) error {
	path := filepath.Join(dir, kubeconfigFile(cl.Name))
	if exists(path) {
		return nil
	}
	cert, key, err := pki.EnsureClientPEM(filepath.Join(dir, "pki"), cl.Client)
	if err != nil {
		return err
	}
	server := c.Server
	if cl.External && c.ExternalServer != "" {
		server = c.ExternalServer
	}
	return writeKubeconfig(path, kubeconfig{server: server, ca: caPEM, user: cl.CommonName, cert: cert, key: key})
}

func writeNodeBootstrap(dir string, c Config, caPEM []byte) error {
	path, tokenPath := filepath.Join(dir, kubeconfigFile("node-bootstrap")), filepath.Join(dir, nodeTokenFile)
	if exists(path) && exists(tokenPath) {
		return nil
	}
	id, secret := bootstraptoken.Generate()
	token := id + "." + secret
	if err := pki.WriteFileAtomic(tokenPath, []byte(token), 0o600); err != nil {
		return err
	}
	var expiration string
	if c.NodeTokenTTL > 0 {
		expiration = c.now().Add(c.NodeTokenTTL).UTC().Format(time.RFC3339)
	}
	if err := pki.WriteFileAtomic(filepath.Join(dir, nodeTokenExpirationFile), []byte(expiration), 0o600); err != nil {
		return err
	}
	server := c.ExternalServer
	if server == "" {
		server = c.Server
	}
	return writeKubeconfig(path, kubeconfig{server: server, ca: caPEM, user: "node-bootstrap", token: token})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
