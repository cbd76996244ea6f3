package compose

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

const resolverPod = `apiVersion: v1
kind: Pod
metadata: {name: node-resolver}
spec:
  dnsPolicy: Default
  containers:
  - name: c
    image: localhost:5000/e2e/hello:1
    command: [sleep, infinity]
`

// checkNodeResolver: a pod with dnsPolicy Default gets the node resolver
// (skiff-node's relay on the node's address) as its only nameserver, and
// through it resolves what the node container resolves: the registry's
// compose service name.
func (s *stack) checkNodeResolver(t *testing.T) {
	s.mustKubectl(t, resolverPod, "apply", "-f", "-")
	t.Cleanup(func() { _, _ = s.kubectl(t, "delete", "pod", "node-resolver", "--wait=false") })
	var hostIP string
	framework.Eventually(t, 2*time.Minute, "the node-resolver pod running", func() error {
		out, err := s.kubectl(t, "get", "pod", "node-resolver", "-o", "jsonpath={.status.phase} {.status.hostIP}")
		if f := strings.Fields(out); err != nil || len(f) != 2 || f[0] != "Running" {
			return fmt.Errorf("%v: %q", err, out)
		}
		hostIP = strings.Fields(out)[1]
		return nil
	})
	conf := s.mustKubectl(t, "", "exec", "node-resolver", "--", "cat", "/etc/resolv.conf")
	var servers []string
	for _, line := range strings.Split(conf, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "nameserver" {
			servers = append(servers, f[1])
		}
	}
	if len(servers) != 1 || servers[0] != hostIP {
		t.Errorf("nameservers %q in\n%s\nwant only the node's address %s", servers, conf, hostIP)
	}
	framework.Eventually(t, time.Minute, "registry:5000 by name from the pod", func() error {
		out, err := s.kubectl(t, "exec", "node-resolver", "--", "get", "http://registry:5000/v2/")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
}
