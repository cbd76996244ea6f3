// Package coredns checks the cluster DNS add-on's program against Skiff
// without Docker: the unmodified CoreDNS (bin/coredns, make coredns)
// watching a real apiserver through client-go in protobuf, with the
// add-on's own ServiceAccount and ClusterRole (deploy/addons), and the
// controller-manager's EndpointSlice controller writing the hostnames it
// serves.
package coredns

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/dnsquery"
)

func TestMain(m *testing.M) { framework.Main(m) }

// objects are what the test resolves: a Service with a cluster IP and a
// named port, a headless Service whose pods web-0 and web-1 name it as
// their subdomain (web-1 not ready), an ExternalName Service, and a
// headless Service without selector with its own EndpointSlice.
const objects = `apiVersion: v1
kind: Service
metadata: {name: api}
spec: {clusterIP: 10.96.0.50, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: None, selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: db.example.org}
---
apiVersion: v1
kind: Service
metadata: {name: manual}
spec: {clusterIP: None, ports: [{name: peer, port: 2380}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: manual-1, labels: {kubernetes.io/service-name: manual}}
addressType: IPv4
ports: [{name: peer, port: 2380, protocol: TCP}]
endpoints:
- {addresses: [10.244.7.1], hostname: member-0, conditions: {ready: true}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, labels: {app: web}}
spec: {hostname: web-0, subdomain: web, containers: [{name: c, image: test, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec: {hostname: web-1, subdomain: web, containers: [{name: c, image: test, ports: [{containerPort: 8080}]}]}
`

func TestCoreDNS(t *testing.T) {
	bin := filepath.Join(framework.RepoRoot(), "bin", "coredns")
	if _, err := os.Stat(bin); err != nil {
		t.Skip("bin/coredns is not built (make coredns):", err)
	}
	srv := framework.StartAPIServer(t, framework.NoServiceAccounts)
	framework.StartControllerManager(t, srv, "--controllers=endpointslice")
	kubectl := func(stdin string, args ...string) string {
		t.Helper()
		out, err := framework.Kubectl(t, srv.Kubeconfig(), stdin, args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	// The add-on as make up applies it; CoreDNS runs with its account's
	// token, so its ClusterRole is all it may use.
	kubectl("", "apply", "--server-side", "-f", filepath.Join(framework.RepoRoot(), "deploy", "addons"))
	kubectl(objects, "apply", "-f", "-")
	for i, ready := range []string{"True", "False"} {
		status := fmt.Sprintf(`{"status":{"phase":"Running","podIP":"10.244.1.%d","podIPs":[{"ip":"10.244.1.%d"}],"conditions":[{"type":"Ready","status":%q}]}}`, i+1, i+1, ready)
		kubectl("", "patch", "pod", fmt.Sprintf("web-%d", i), "--subresource=status", "--type=merge", "-p", status)
	}
	token := strings.TrimSpace(kubectl("", "create", "token", "coredns", "-n", "kube-system"))
	server := startCoreDNS(t, bin, srv, token)

	for _, tc := range []struct {
		name string
		typ  dnsmessage.Type
		want []string
	}{
		{"api.default.svc.cluster.local.", dnsmessage.TypeA, []string{"A 10.96.0.50"}},
		{"kubernetes.default.svc.cluster.local.", dnsmessage.TypeA, []string{"A 10.96.0.1"}},
		{"_http._tcp.api.default.svc.cluster.local.", dnsmessage.TypeSRV, []string{"SRV 0 100 80 api.default.svc.cluster.local."}},
		// Only the ready pod, by the Service's name and by its hostname.
		{"web.default.svc.cluster.local.", dnsmessage.TypeA, []string{"A 10.244.1.1"}},
		{"web-0.web.default.svc.cluster.local.", dnsmessage.TypeA, []string{"A 10.244.1.1"}},
		{"_http._tcp.web.default.svc.cluster.local.", dnsmessage.TypeSRV, []string{"SRV 0 100 8080 web-0.web.default.svc.cluster.local."}},
		{"ext.default.svc.cluster.local.", dnsmessage.TypeCNAME, []string{"CNAME db.example.org."}},
		{"member-0.manual.default.svc.cluster.local.", dnsmessage.TypeA, []string{"A 10.244.7.1"}},
		{"_peer._tcp.manual.default.svc.cluster.local.", dnsmessage.TypeSRV, []string{"SRV 0 100 2380 member-0.manual.default.svc.cluster.local."}},
		{"50.0.96.10.in-addr.arpa.", dnsmessage.TypePTR, []string{"PTR api.default.svc.cluster.local."}},
		{"none.default.svc.cluster.local.", dnsmessage.TypeA, []string{"NXDOMAIN"}},
	} {
		t.Run(tc.name+" "+tc.typ.String(), func(t *testing.T) {
			framework.Eventually(t, 30*time.Second, "the answer", func() error {
				got, err := query(server, tc.name, tc.typ)
				if err != nil {
					return err
				}
				if !slices.Equal(got, tc.want) {
					return fmt.Errorf("got %q, want %q", got, tc.want)
				}
				return nil
			})
		})
	}
	// A pod that gets ready joins the headless Service's answer.
	kubectl("", "patch", "pod", "web-1", "--subresource=status", "--type=merge", "-p", `{"status":{"conditions":[{"type":"Ready","status":"True"}]}}`)
	framework.Eventually(t, 30*time.Second, "web-1 in the answer", func() error {
		got, err := query(server, "web.default.svc.cluster.local.", dnsmessage.TypeA)
		if want := []string{"A 10.244.1.1", "A 10.244.1.2"}; err != nil || !slices.Equal(got, want) {
			return fmt.Errorf("got %q, %v; want %q", got, err, want)
		}
		return nil
	})
}

// startCoreDNS runs bin/coredns with the kubernetes plugin of the add-on's
// Corefile, reaching srv with token, on a free loopback port, and returns
// that address once CoreDNS says it is ready (its informers have synced).
func startCoreDNS(t *testing.T, bin string, srv *framework.APIServer, token string) string {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: skiff, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: coredns, user: {token: %q}}]
contexts: [{name: coredns, context: {cluster: skiff, user: coredns}}]
current-context: coredns
`, srv.URL(), filepath.Join(srv.DataDir, "pki", "ca.crt"), token)
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	port, ready := framework.FreePort(t), framework.FreePort(t)
	corefile := filepath.Join(dir, "Corefile")
	conf := fmt.Sprintf(`.:%d {
    bind 127.0.0.1
    errors
    ready 127.0.0.1:%d
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig %s
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
}
`, port, ready, kubeconfig)
	if err := os.WriteFile(corefile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := framework.StartBinary(t, "coredns", bin, "-conf", corefile)
	framework.Eventually(t, time.Minute, "CoreDNS ready", func() error {
		if err := p.Exited(); err != nil {
			return fmt.Errorf("coredns %w: %s", err, p.Logs())
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ready), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /ready HTTP/1.0\r\n\r\n")
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		if !strings.Contains(string(buf[:n]), " 200 ") {
			return fmt.Errorf("GET /ready: %q (logs: %s)", buf[:n], p.Logs())
		}
		return nil
	})
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// query asks server for name's records of typ over UDP and returns the
// answers as "TYPE DATA", sorted, or NXDOMAIN.
func query(server, name string, typ dnsmessage.Type) ([]string, error) {
	conn, err := net.Dial("udp", server)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", server, err)
	}
	defer conn.Close()
	q := dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}
	resp, err := dnsquery.Exchange(conn, 7, q)
	if err != nil {
		return nil, err
	}
	if resp.RCode == dnsmessage.RCodeNameError {
		return []string{"NXDOMAIN"}, nil
	}
	var out []string
	for _, rr := range resp.Answers {
		out = append(out, dnsquery.TypeName(rr.Header.Type)+" "+dnsquery.Data(rr.Body))
	}
	slices.Sort(out)
	return out, nil
}
