package compose

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/etcdpki"
)

// TestStackEtcdAnswersOnlyTheApiserver: the stack's etcd (with only the
// apiserver beside it, under a project of its own) refuses a reader from
// the host in clear or over TLS without a certificate of its CA, on the
// client and the peer port, serves no data on its health port, and
// answers the apiserver, whose /readyz (its healthcheck, which reads
// etcd) turns healthy.
func TestStackEtcdAnswersOnlyTheApiserver(t *testing.T) {
	needDocker(t)
	dir := t.TempDir()
	s := &stack{t: t, root: framework.RepoRoot(), project: fmt.Sprintf("skiffetcd%06d", rand.IntN(1_000_000)), net: freeNet(t)}
	s.deadline = time.Now().Add(30 * time.Minute)
	s.env = append(os.Environ(), "COMPOSE_PROJECT_NAME="+s.project, "SKIFF_NET="+s.net, "SKIFF_APISERVER_PORT=")
	if out, err := s.run(20*time.Minute, "go", "run", "./images/cmd/build-images", "-stack", "-only", "etcd,apiserver",
		"-out", dir, "-module", "images"); err != nil {
		t.Fatalf("build the etcd and apiserver images: %v\n%s", err, tail(out, 40))
	}
	for _, img := range []string{"etcd.tar", "apiserver.tar"} {
		if out, err := s.run(5*time.Minute, "docker", "load", "-q", "-i", filepath.Join(dir, img)); err != nil {
			t.Fatalf("docker load %s: %v\n%s", img, err, out)
		}
	}
	t.Cleanup(s.down)
	if out, err := s.run(5*time.Minute, "docker-compose", "up", "-d", "etcd"); err != nil {
		t.Fatalf("docker-compose up etcd: %v\n%s", err, out)
	}
	etcd := s.healthy(t, "etcd")
	ip := s.inspect(t, etcd, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")
	pki := filepath.Join(dir, "pki")
	if out, err := s.run(time.Minute, "docker", "cp", etcd+":/etc/etcd/pki", pki); err != nil {
		t.Fatalf("docker cp the certificates: %v\n%s", err, out)
	}
	creds, err := etcdpki.FilesIn(pki).ClientTLS()
	if err != nil {
		t.Fatal(err)
	}
	noCert := &tls.Config{RootCAs: creds.RootCAs, ServerName: "etcd", MinVersion: tls.VersionTLS12}
	creds.ServerName = "etcd"
	body, _ := json.Marshal(map[string]any{"key": base64.StdEncoding.EncodeToString([]byte("/registry/")),
		"range_end": base64.StdEncoding.EncodeToString([]byte("/registry0")), "count_only": true})
	tests := []struct {
		name   string
		url    string
		tls    *tls.Config
		allows bool
	}{
		{"client port in clear", "http://" + ip + ":2379/v3/kv/range", nil, false},
		{"client port without a certificate", "https://" + ip + ":2379/v3/kv/range", noCert, false},
		{"peer port in clear", "http://" + ip + ":2380/members", nil, false},
		{"peer port without a certificate", "https://" + ip + ":2380/members", noCert, false},
		{"health port from outside the container", "http://" + ip + ":2381/v3/kv/range", nil, false},
		{"the apiserver's client certificate", "https://" + ip + ":2379/v3/kv/range", creds, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc.tls}}
			method := http.MethodPost
			if strings.HasSuffix(tc.url, "/members") {
				method = http.MethodGet
			}
			req, _ := http.NewRequest(method, tc.url, bytes.NewReader(body))
			resp, err := c.Do(req)
			ok, status := err == nil && resp.StatusCode == http.StatusOK, ""
			if err == nil {
				status = resp.Status
				_ = resp.Body.Close()
			}
			if ok != tc.allows {
				t.Fatalf("answered: %v (%s), want %v (error %v)", ok, status, tc.allows, err)
			}
		})
	}
	// The apiserver reaches etcd with the client certificate; its
	// healthcheck is /readyz, which fails while etcd does not answer it.
	if out, err := s.run(5*time.Minute, "docker-compose", "up", "-d", "--no-deps", "apiserver"); err != nil {
		t.Fatalf("docker-compose up apiserver: %v\n%s", err, out)
	}
	s.healthy(t, "apiserver")
}

// healthy waits until the service's container reports healthy, and
// returns its id.
func (s *stack) healthy(t *testing.T, service string) string {
	t.Helper()
	out, err := s.run(time.Minute, "docker-compose", "ps", "-q", service)
	id := strings.TrimSpace(out)
	if err != nil || id == "" {
		t.Fatalf("docker-compose ps %s: %v\n%s", service, err, out)
	}
	framework.Eventually(t, 3*time.Minute, service+" healthy", func() error {
		if h := s.inspect(t, id, "{{.State.Health.Status}}"); h != "healthy" {
			return fmt.Errorf("%s is %s", service, h)
		}
		return nil
	})
	return id
}

func (s *stack) inspect(t *testing.T, id, format string) string {
	t.Helper()
	out, err := s.run(time.Minute, "docker", "inspect", "-f", format, id)
	if err != nil {
		t.Fatalf("docker inspect %s: %v\n%s", id, err, out)
	}
	return strings.TrimSpace(out)
}
