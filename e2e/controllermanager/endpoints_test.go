package controllermanager

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

const webService = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
`

func TestEndpointsFollowTheService(t *testing.T) {
	c := startCluster(t)
	withPort := strings.Replace(webDeployment, "        image: registry.local/web:v1\n",
		"        image: registry.local/web:v1\n        ports:\n        - {name: http, containerPort: 8080}\n", 1)
	c.kubectl(withPort, "apply", "-f", "-")
	c.kubectl(webService, "apply", "-f", "-")
	c.kubectl("", "rollout", "status", "deployment/web", "--timeout=90s")

	addresses := func() (ready, notReady []string, ports string) {
		ep, err := c.c.CoreV1().Endpoints("default").Get(c.ctx, "web")
		if err != nil {
			return nil, nil, ""
		}
		for _, s := range ep.GetSubsets() {
			for _, a := range s.GetAddresses() {
				ready = append(ready, a.GetTargetRef().GetName())
			}
			for _, a := range s.GetNotReadyAddresses() {
				notReady = append(notReady, a.GetTargetRef().GetName())
			}
			for _, p := range s.GetPorts() {
				ports += fmt.Sprintf("%s:%d ", p.GetName(), p.GetPort())
			}
		}
		return ready, notReady, ports
	}
	framework.Eventually(t, 30*time.Second, "4 ready addresses on port 8080", func() error {
		ready, notReady, ports := addresses()
		if len(ready) != 4 || len(notReady) != 0 || ports != "http:8080 " {
			return fmt.Errorf("ready %v, not ready %v, ports %q", ready, notReady, ports)
		}
		return nil
	})
	if out := c.kubectl("", "get", "endpoints", "web"); !strings.Contains(out, ":8080") {
		t.Fatalf("kubectl get endpoints: %s", out)
	}
	sliceEndpoints := func() (ready, notReady int, slices int, err error) {
		list, err := c.c.DiscoveryV1().EndpointSlices("default").List(c.ctx, client.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
		if err != nil {
			return 0, 0, 0, err
		}
		for _, s := range list.GetItems() {
			if len(s.GetEndpoints()) > 100 {
				return 0, 0, 0, fmt.Errorf("slice %s has %d endpoints", s.GetMetadata().GetName(), len(s.GetEndpoints()))
			}
			for _, e := range s.GetEndpoints() {
				if e.GetConditions().GetReady() {
					ready++
				} else {
					notReady++
				}
			}
		}
		return ready, notReady, len(list.GetItems()), nil
	}
	framework.Eventually(t, 30*time.Second, "one slice with 4 ready endpoints", func() error {
		ready, notReady, slices, err := sliceEndpoints()
		if err != nil || ready != 4 || notReady != 0 || slices != 1 {
			return fmt.Errorf("ready %d, not ready %d, slices %d, err %v", ready, notReady, slices, err)
		}
		return nil
	})
	if out := c.kubectl("", "get", "endpointslices", "-l", "kubernetes.io/service-name=web"); !strings.Contains(out, "IPv4") || !strings.Contains(out, "8080") {
		t.Fatalf("kubectl get endpointslices: %s", out)
	}

	// A pod that turns unready moves to notReadyAddresses.
	pods, err := c.c.CoreV1().Pods("default").List(c.ctx, client.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	p := pods.GetItems()[0]
	for _, cond := range p.GetStatus().GetConditions() {
		if cond.GetType() == "Ready" {
			cond.Status = "False"
		}
	}
	if _, err := c.c.CoreV1().Pods("default").UpdateStatus(c.ctx, p, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "the unready pod is listed as not ready", func() error {
		ready, notReady, _ := addresses()
		if len(ready) != 3 || len(notReady) != 1 || notReady[0] != p.GetMetadata().GetName() {
			return fmt.Errorf("ready %v, not ready %v", ready, notReady)
		}
		return nil
	})

	// Slices hold at most 100 endpoints.
	c.kubectl("", "scale", "deployment/web", "--replicas=150")
	framework.Eventually(t, 90*time.Second, "150 endpoints over two slices", func() error {
		ready, notReady, slices, err := sliceEndpoints()
		if err != nil || ready+notReady != 150 || slices != 2 {
			return fmt.Errorf("ready %d, not ready %d, slices %d, err %v", ready, notReady, slices, err)
		}
		return nil
	})

	// Deleting the service deletes its endpoints and slices.
	c.kubectl("", "delete", "service", "web")
	framework.Eventually(t, 30*time.Second, "the endpoints are gone", func() error {
		if _, err := c.c.CoreV1().Endpoints("default").Get(c.ctx, "web"); !client.IsNotFound(err) {
			return fmt.Errorf("endpoints: %v", err)
		}
		if _, _, slices, _ := sliceEndpoints(); slices != 0 {
			return fmt.Errorf("%d slices left", slices)
		}
		return nil
	})
}
