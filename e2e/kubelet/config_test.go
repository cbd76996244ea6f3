package kubelet

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"skiff.dev/e2e/framework"
)

const configPod = `apiVersion: v1
kind: Service
metadata: {name: my-db}
spec:
  selector: {app: nothing}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hello, colour: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: configured, labels: {app: configured}}
spec:
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: settings, key: greeting}}
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: creds, key: password}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: MESSAGE
      value: "$(GREETING) from $(POD_NAME)"
    envFrom:
    - prefix: CFG_
      configMapRef: {name: settings}
    volumeMounts:
    - {name: config, mountPath: /etc/config}
    - {name: secret, mountPath: /etc/secret, readOnly: true}
    - {name: scratch, mountPath: /scratch}
  volumes:
  - name: config
    configMap: {name: settings}
  - name: secret
    secret: {secretName: creds}
  - name: scratch
    emptyDir: {}
`

// TestConfigReachesContainers: ConfigMap and Secret values reach the
// container as environment variables (valueFrom, envFrom, $(VAR)
// expansion) and as files in volumes; an emptyDir is writable; Services
// show as environment variables.
func TestConfigReachesContainers(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, configPod)
	framework.Eventually(t, 60*time.Second, "configured running", func() error {
		if p := getPod(t, c, "configured"); p.GetStatus().GetPhase() != "Running" || p.GetStatus().GetPodIp() == "" {
			return fmt.Errorf("phase %s: %v", p.GetStatus().GetPhase(), containerStatus(p).GetState())
		}
		return nil
	})
	p := getPod(t, c, "configured")
	// Running is reported as the process starts, before it listens.
	var env string
	framework.Eventually(t, 20*time.Second, "configured serving", func() error {
		var err error
		env, err = tryGet("http://" + p.GetStatus().GetPodIp() + ":8080/env")
		return err
	})
	for _, want := range []string{"GREETING=hello", "PASSWORD=s3cret", "POD_NAME=configured", "MESSAGE=hello from configured",
		"CFG_greeting=hello", "CFG_colour=blue", "MY_DB_SERVICE_PORT=5432", "MY_DB_PORT_5432_TCP_PROTO=tcp",
		"KUBERNETES_SERVICE_PORT=443", "KUBERNETES_SERVICE_HOST=10.96.0.1"} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("environment lacks %s:\n%s", want, env)
		}
	}
	id := strings.TrimPrefix(containerStatus(p).GetContainerId(), "containerd://")
	for file, want := range map[string]string{"/etc/config/greeting": "hello", "/etc/config/colour": "blue", "/etc/secret/password": "s3cret"} {
		if got, code := execIn(t, cl.ctd, id, "cat", file); code != 0 || got != want {
			t.Errorf("cat %s: %q (exit %d), want %q", file, got, code, want)
		}
	}
	if out, code := execIn(t, cl.ctd, id, "touch", "/scratch/x"); code != 0 {
		t.Errorf("touch in the emptyDir: exit %d: %s", code, out)
	}
}

// execIn runs a command in a container through CRI and returns its output
// and exit code.
func execIn(t *testing.T, ctd *framework.Containerd, id string, cmd ...string) (string, int32) {
	t.Helper()
	resp, err := ctd.RuntimeClient().ExecSync(context.Background(), &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: 10})
	if err != nil {
		t.Fatalf("exec %v: %v", cmd, err)
	}
	return string(resp.GetStdout()) + string(resp.GetStderr()), resp.GetExitCode()
}
