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

	// Deleting the service deletes its endpoints.
	c.kubectl("", "delete", "service", "web")
	framework.Eventually(t, 30*time.Second, "the endpoints are gone", func() error {
		if _, err := c.c.CoreV1().Endpoints("default").Get(c.ctx, "web"); !client.IsNotFound(err) {
			return fmt.Errorf("endpoints: %v", err)
		}
		return nil
	})
}
