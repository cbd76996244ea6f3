package kubectl

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
        resources:
          limits: {cpu: "1", memory: 128Mi}
      - name: sidecar
        image: busybox
        command: ["sleep", "infinity"]
`

const podYAML = `apiVersion: v1
kind: Pod
metadata:
  name: tools
  namespace: shop
  labels: {app: tools, tier: debug}
spec:
  containers:
  - name: sh
    image: busybox:1.36
    command: ["sleep", "3600"]
    env:
    - {name: MODE, value: test}
`

const serviceYAML = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
`

func TestEverydayKubectl(t *testing.T) {
	k, _ := newKube(t)

	t.Run("version and discovery", func(t *testing.T) {
		out := k.run("version", "-o", "json")
		mustContain(t, "kubectl version", out, `"minor": "32"`)
		out = k.run("api-resources")
		mustContain(t, "api-resources", out, "pods", "po", "deployments", "deploy", "apps/v1", "leases", "coordination.k8s.io/v1", "namespaces")
	})

	t.Run("create namespace, configmap and secret (protobuf bodies)", func(t *testing.T) {
		k.run("create", "namespace", "shop")
		k.run("create", "configmap", "settings", "-n", "shop", "--from-literal=color=blue", "--from-literal=size=L")
		k.run("create", "secret", "generic", "creds", "-n", "shop", "--from-literal=password=s3cret")
		cm := k.jsonOf("get", "configmap", "settings", "-n", "shop")
		if got := path(cm, "data", "color"); got != "blue" {
			t.Errorf("configmap data.color: got %v, want blue", got)
		}
		sec := k.jsonOf("get", "secret", "creds", "-n", "shop")
		if got := path(sec, "data", "password"); got != "czNjcmV0" {
			t.Errorf("secret data.password: got %v, want base64 of s3cret", got)
		}
		if got := path(sec, "type"); got != "Opaque" {
			t.Errorf("secret type: got %v, want Opaque", got)
		}
	})

	t.Run("apply creates, then apply changes fields", func(t *testing.T) {
		out := k.runIn(deploymentYAML, "apply", "-f", "-")
		mustContain(t, "first apply", out, "deployment.apps/web created")
		changed := strings.Replace(deploymentYAML, "nginx:1.27", "nginx:1.28", 1)
		changed = strings.Replace(changed, "replicas: 2", "replicas: 3", 1)
		out = k.runIn(changed, "apply", "-f", "-")
		mustContain(t, "second apply", out, "deployment.apps/web configured")
		d := k.jsonOf("get", "deployment", "web", "-n", "shop")
		if got := path(d, "spec", "template", "spec", "containers", 0, "image"); got != "nginx:1.28" {
			t.Errorf("image after apply: got %v, want nginx:1.28", got)
		}
		if got := path(d, "spec", "template", "spec", "containers", 1, "name"); got != "sidecar" {
			t.Errorf("second container after apply: got %v, want sidecar kept", got)
		}
		if got := path(d, "spec", "replicas"); got != float64(3) {
			t.Errorf("replicas after apply: got %v, want 3", got)
		}
		if got := path(d, "metadata", "generation"); got != float64(2) {
			t.Errorf("generation after a spec change: got %v, want 2", got)
		}
		if got := path(d, "spec", "strategy", "rollingUpdate", "maxSurge"); got != "25%" {
			t.Errorf("defaulted maxSurge: got %v, want 25%%", got)
		}
		out = k.runIn(changed, "apply", "-f", "-")
		mustContain(t, "unchanged apply", out, "deployment.apps/web unchanged")
		k.runIn(podYAML, "apply", "-f", "-")
		k.runIn(serviceYAML, "create", "-f", "-")
	})

	t.Run("get in every output format", func(t *testing.T) {
		out := k.run("get", "pods", "-n", "shop")
		mustContain(t, "get pods", out, "NAME", "READY", "STATUS", "RESTARTS", "AGE", "tools", "0/1", "Pending")
		out = k.run("get", "pods", "-n", "shop", "-o", "wide")
		mustContain(t, "get pods -o wide", out, "IP", "NODE", "NOMINATED NODE")
		out = k.run("get", "deployments", "-n", "shop")
		mustContain(t, "get deployments", out, "READY", "UP-TO-DATE", "AVAILABLE", "web")
		out = k.run("get", "svc", "-n", "shop")
		mustContain(t, "get services", out, "TYPE", "CLUSTER-IP", "PORT(S)", "ClusterIP", "80/TCP")
		out = k.run("get", "pod", "tools", "-n", "shop", "-o", "yaml")
		mustContain(t, "-o yaml", out, "apiVersion: v1", "kind: Pod", "restartPolicy: Always", "imagePullPolicy: IfNotPresent")
		out = k.run("get", "pods", "-n", "shop", "-o", "name")
		mustContain(t, "-o name", out, "pod/tools")
		out = k.run("get", "pod", "tools", "-n", "shop", "-o", "jsonpath={.spec.containers[0].env[0].value}")
		if out != "test" {
			t.Errorf("-o jsonpath: got %q, want test", out)
		}
		out = k.run("get", "pods", "-n", "shop", "-o", "custom-columns=NAME:.metadata.name,IMAGE:.spec.containers[0].image")
		mustContain(t, "-o custom-columns", out, "NAME", "IMAGE", "busybox:1.36")
		out = k.run("get", "configmaps", "-A")
		mustContain(t, "-A", out, "NAMESPACE", "shop", "settings")
		out = k.run("get", "pods", "-n", "shop", "-l", "tier=debug")
		mustContain(t, "-l", out, "tools")
		out = k.run("get", "pods", "-n", "shop", "-l", "tier=prod")
		mustContain(t, "-l no match", out, "No resources found")
		out = k.run("get", "pods", "-n", "shop", "--field-selector", "metadata.name=tools")
		mustContain(t, "--field-selector", out, "tools")
		out = k.run("get", "pods", "-n", "shop", "--field-selector", "status.phase=Running")
		mustContain(t, "--field-selector no match", out, "No resources found")
		out = k.run("get", "ns")
		mustContain(t, "get ns", out, "default", "kube-system", "shop", "Active")
	})

	t.Run("watch", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var out framework.SyncBuffer
		cmd := k.cmd(ctx, "", "get", "configmaps", "-n", "shop", "-w")
		cmd.Stdout = &out
		cmd.Stderr = &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start kubectl get -w: %v", err)
		}
		defer func() { cancel(); _ = cmd.Wait() }()
		framework.Eventually(t, 30*time.Second, "kubectl get -w lists the existing configmap", func() error {
			return containsErr(out.String(), "settings")
		})
		k.run("create", "configmap", "later", "-n", "shop", "--from-literal=x=y")
		framework.Eventually(t, 30*time.Second, "kubectl get -w shows the new configmap", func() error {
			return containsErr(out.String(), "later")
		})
	})

	t.Run("describe", func(t *testing.T) {
		out := k.run("describe", "pod", "tools", "-n", "shop")
		mustContain(t, "describe pod", out, "Name:", "tools", "Namespace:", "shop", "busybox:1.36", "MODE:", "test")
		out = k.run("describe", "deployment", "web", "-n", "shop")
		mustContain(t, "describe deployment", out, "Replicas:", "StrategyType:", "RollingUpdate", "nginx:1.28")
	})

	t.Run("label, annotate, patch, replace, scale", func(t *testing.T) {
		k.run("label", "pod", "tools", "-n", "shop", "owner=alice")
		k.run("annotate", "pod", "tools", "-n", "shop", "note=hello")
		p := k.jsonOf("get", "pod", "tools", "-n", "shop")
		if path(p, "metadata", "labels", "owner") != "alice" || path(p, "metadata", "annotations", "note") != "hello" {
			t.Errorf("label/annotate: got labels %v annotations %v", path(p, "metadata", "labels"), path(p, "metadata", "annotations"))
		}
		k.run("label", "pod", "tools", "-n", "shop", "owner-")
		if got := path(k.jsonOf("get", "pod", "tools", "-n", "shop"), "metadata", "labels", "owner"); got != nil {
			t.Errorf("label removal: got owner=%v, want none", got)
		}
		k.run("patch", "configmap", "settings", "-n", "shop", "--type=merge", "-p", `{"data":{"color":"red"}}`)
		k.run("patch", "configmap", "settings", "-n", "shop", "--type=json", "-p", `[{"op":"remove","path":"/data/size"}]`)
		k.run("patch", "deployment", "web", "-n", "shop", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.37"}]}}}}`)
		cm := k.jsonOf("get", "configmap", "settings", "-n", "shop")
		if path(cm, "data", "color") != "red" || path(cm, "data", "size") != nil {
			t.Errorf("merge+json patch: got data %v, want color=red and no size", path(cm, "data"))
		}
		d := k.jsonOf("get", "deployment", "web", "-n", "shop")
		if path(d, "spec", "template", "spec", "containers", 0, "image") != "nginx:1.28" ||
			path(d, "spec", "template", "spec", "containers", 1, "image") != "busybox:1.37" {
			t.Errorf("strategic patch: got containers %v", path(d, "spec", "template", "spec", "containers"))
		}
		out := k.run("get", "configmap", "settings", "-n", "shop", "-o", "yaml")
		replaced := strings.Replace(out, "color: red", "color: green", 1)
		k.runIn(replaced, "replace", "-f", "-")
		if got := path(k.jsonOf("get", "configmap", "settings", "-n", "shop"), "data", "color"); got != "green" {
			t.Errorf("replace: got color %v, want green", got)
		}
		out = k.run("scale", "deployment", "web", "-n", "shop", "--replicas=5")
		mustContain(t, "scale", out, "deployment.apps/web scaled")
		if got := path(k.jsonOf("get", "deployment", "web", "-n", "shop"), "spec", "replicas"); got != float64(5) {
			t.Errorf("scale: got replicas %v, want 5", got)
		}
	})

	t.Run("explain", func(t *testing.T) {
		out := k.run("explain", "pods.spec.containers")
		mustContain(t, "explain", out, "FIELDS:", "image", "name")
		out = k.run("explain", "deployment.spec", "--recursive")
		mustContain(t, "explain --recursive", out, "replicas", "strategy", "template")
	})

	t.Run("delete and cascading namespace delete", func(t *testing.T) {
		out := k.run("delete", "pod", "tools", "-n", "shop")
		mustContain(t, "delete pod", out, `pod "tools" deleted`)
		if _, err := k.try("", "get", "pod", "tools", "-n", "shop"); err == nil {
			t.Error("get after delete: got the pod, want NotFound")
		}
		k.run("delete", "ns", "shop", "--timeout=60s")
		framework.Eventually(t, 60*time.Second, "namespace shop and its content are gone", func() error {
			if out, err := k.try("", "get", "ns", "shop"); err == nil {
				return fmt.Errorf("namespace still there: %s", out)
			}
			out, _ := k.try("", "get", "configmaps,deployments,services", "-A")
			if strings.Contains(out, "shop") {
				return fmt.Errorf("content left: %s", out)
			}
			return nil
		})
		out = k.run("create", "namespace", "shop")
		mustContain(t, "recreate namespace", out, "namespace/shop created")
	})
}

func containsErr(s, want string) error {
	if strings.Contains(s, want) {
		return nil
	}
	return fmt.Errorf("output so far:\n%s", s)
}
