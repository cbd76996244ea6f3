package kubelet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/remotecommand"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
)

const logPods = `apiVersion: v1
kind: Pod
metadata:
  name: talker
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: server
    image: registry.skiff.local/testserver:1.0
    args: ["-log-every", "200ms"]
---
apiVersion: v1
kind: Pod
metadata:
  name: crasher
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: server
    image: registry.skiff.local/testserver:1.0
    args: ["-log-every", "100ms", "-exit-after", "1s", "-exit", "1"]
---
apiVersion: v1
kind: Pod
metadata:
  name: stuck
spec:
  nodeSelector: {nowhere: "true"}
  containers:
  - {name: a, image: registry.skiff.local/testserver:1.0}
  - {name: b, image: registry.skiff.local/testserver:1.0}
`

// TestLogsAndExec: kubectl logs (tail, follow, timestamps, previous) and
// kubectl exec (output, exit codes, stderr, stdin, a terminal) reach the
// containers through the apiserver and the kubelet's HTTPS server, and
// the apiserver explains the requests it cannot serve.
func TestLogsAndExec(t *testing.T) {
	cl := startCluster(t)
	// The apiserver reaches kubelets at their node IP, which is on the
	// pods' bridge: listen on every address.
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a", "--container-restart-backoff", "1s")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, logPods)
	framework.Eventually(t, 90*time.Second, "pod talker running", func() error {
		p, err := c.CoreV1().Pods("default").Get(context.Background(), "talker")
		if err != nil {
			return err
		}
		if p.GetStatus().GetPhase() != "Running" {
			return fmt.Errorf("phase %s: %s", p.GetStatus().GetPhase(), summary([]*corev1.Pod{p}))
		}
		return nil
	})
	k := kubectlRunner{kubeconfig: cl.srv.Kubeconfig()}

	t.Run("Logs", func(t *testing.T) {
		framework.Eventually(t, 30*time.Second, "two log lines", func() error {
			out, _, err := k.run(t, "", "logs", "talker")
			if err != nil {
				return err
			}
			if !strings.Contains(out, "serving on") || !strings.Contains(out, "log line 2") {
				return fmt.Errorf("logs %q", out)
			}
			return nil
		})
	})
	t.Run("LogsTail", func(t *testing.T) {
		out := k.mustRun(t, "", "logs", "talker", "--tail=1")
		if lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "log line ") {
			t.Errorf("got %q, want one log line", out)
		}
	})
	t.Run("LogsTimestamps", func(t *testing.T) {
		out := k.mustRun(t, "", "logs", "talker", "--tail=2", "--timestamps")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("got %q, want 2 lines", out)
		}
		for _, l := range lines {
			ts, text, _ := strings.Cut(l, " ")
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasPrefix(text, "log line ") {
				t.Errorf("line %q: want an RFC 3339 timestamp and a log line", l)
			}
		}
	})
	t.Run("LogsFollow", func(t *testing.T) { testFollow(t, k) })
	t.Run("LogsPrevious", func(t *testing.T) {
		framework.Eventually(t, 60*time.Second, "crasher restarted", func() error {
			p, err := c.CoreV1().Pods("default").Get(context.Background(), "crasher")
			if err != nil {
				return err
			}
			for _, cs := range p.GetStatus().GetContainerStatuses() {
				if cs.GetRestartCount() >= 1 {
					return nil
				}
			}
			return fmt.Errorf("not restarted yet: %s", summary([]*corev1.Pod{p}))
		})
		out := k.mustRun(t, "", "logs", "crasher", "--previous")
		if !strings.Contains(out, "serving on") || !strings.Contains(out, "log line 1") {
			t.Errorf("previous logs %q: want the ended instance's output", out)
		}
	})
	t.Run("LogsErrors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"logs", "stuck", "-c", "a"}, "pod stuck does not have a host assigned"},
			{[]string{"get", "--raw", "/api/v1/namespaces/default/pods/stuck/log"}, "a container name must be specified for pod stuck, choose one of: [a b]"},
			{[]string{"logs", "talker", "-c", "nope"}, "container nope is not valid for pod talker"},
			{[]string{"logs", "nothere"}, `pods "nothere" not found`},
			{[]string{"logs", "talker", "--previous"}, `previous terminated container "server" in pod "talker" not found`},
		} {
			_, stderr, err := k.run(t, "", tc.args...)
			if err == nil || !strings.Contains(stderr, tc.want) {
				t.Errorf("kubectl %s: got error %v, stderr %q, want %q", strings.Join(tc.args, " "), err, stderr, tc.want)
			}
		}
	})

	t.Run("Exec", func(t *testing.T) {
		if out := k.mustRun(t, "", "exec", "talker", "--", "cat", "/etc/hostname"); strings.TrimSpace(out) != "talker" {
			t.Errorf("cat /etc/hostname: got %q, want talker", out)
		}
	})
	t.Run("ExecExitCode", func(t *testing.T) {
		_, stderr, err := k.run(t, "", "exec", "talker", "--", "exit", "3")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 3 {
			t.Errorf("exit 3: got %v (stderr %q), want exit code 3", err, stderr)
		}
	})
	t.Run("ExecStderr", func(t *testing.T) {
		stdout, stderr, err := k.run(t, "", "exec", "talker", "--", "stderr", "oops")
		if err != nil || !strings.Contains(stderr, "oops") || strings.Contains(stdout, "oops") {
			t.Errorf("stderr oops: got stdout %q, stderr %q, err %v; want oops on stderr only", stdout, stderr, err)
		}
	})
	t.Run("ExecStdin", func(t *testing.T) {
		// cat ends only when the closed stdin reaches it.
		if out := k.mustRun(t, "hello\n", "exec", "-i", "talker", "--", "cat"); out != "hello\n" {
			t.Errorf("echo hello | cat: got %q, want hello", out)
		}
	})
	t.Run("ExecTerminal", func(t *testing.T) { testTerminal(t, cl) })
	t.Run("WebSockets", func(t *testing.T) { testWebSockets(t, cl) })
	t.Run("Debug", func(t *testing.T) { testDebug(t, cl, k) })
	t.Run("Attach", func(t *testing.T) {
		lines := streamLines(t, k, "attach", "talker", "-c", "server")
		if len(lines) < 2 {
			t.Errorf("kubectl attach printed %q, want the container's new log lines", lines)
		}
	})
	t.Run("PortForward", func(t *testing.T) { testPortForward(t, k) })
	t.Run("ExecErrors", func(t *testing.T) {
		_, stderr, err := k.run(t, "", "exec", "talker", "-c", "nope", "--", "true")
		if err == nil || !strings.Contains(stderr, "container nope is not valid for pod talker") {
			t.Errorf("exec -c nope: got %v, stderr %q", err, stderr)
		}
	})
}

// testFollow reads at least three new lines from kubectl logs -f as the
// container prints them.
func testFollow(t *testing.T, k kubectlRunner) {
	got := streamLines(t, k, "logs", "-f", "--tail=1", "talker")
	// The first is the tail; the rest came while following, in order.
	var prev int
	for i, l := range got {
		var n int
		fmt.Sscanf(strings.TrimPrefix(l, "log line "), "%d", &n)
		if i > 0 && n != prev+1 {
			t.Errorf("followed lines %q are not consecutive", got)
		}
		prev = n
	}
}

// streamLines runs a kubectl command that streams the talker's output,
// reads four "log line N" lines with a deadline and stops kubectl.
func streamLines(t *testing.T, k kubectlRunner, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr framework.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()
	lineRE := regexp.MustCompile(`^log line \d+$`)
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	var got []string
	deadline := time.After(30 * time.Second)
	for len(got) < 4 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("kubectl %s ended after %q: %s", strings.Join(args, " "), got, stderr.String())
			}
			if !lineRE.MatchString(l) {
				t.Fatalf("kubectl %s printed %q, want log lines", strings.Join(args, " "), l)
			}
			got = append(got, l)
		case <-deadline:
			t.Fatalf("kubectl %s printed only %q in 30s: %s", strings.Join(args, " "), got, stderr.String())
		}
	}
	return got
}

// testPortForward forwards a local port to the pod's server with kubectl
// port-forward and asks it for its name.
func testPortForward(t *testing.T, k kubectlRunner) {
	port := framework.FreePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", "port-forward", "pod/talker", fmt.Sprintf("%d:8080", port))
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig)
	var out framework.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()
	hc := &http.Client{Timeout: 5 * time.Second}
	framework.Eventually(t, 30*time.Second, "the pod answers through the forwarded port", func() error {
		resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return fmt.Errorf("%v; kubectl: %s", err, out.String())
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if strings.TrimSpace(string(body)) != "talker" {
			return fmt.Errorf("answered %q", body)
		}
		return nil
	})
}

// testTerminal runs a command with a terminal through the apiserver the
// way kubectl exec -t does (WebSocket, v5.channel.k8s.io): the terminal
// turns its newline into CRLF.
func testTerminal(t *testing.T, cl *cluster) {
	u, err := url.Parse(cl.srv.URL() + "/api/v1/namespaces/default/pods/talker/exec")
	if err != nil {
		t.Fatal(err)
	}
	u.RawQuery = url.Values{"command": {"hostname"}, "container": {"server"}, "stdin": {"true"}, "stdout": {"true"}, "tty": {"true"}}.Encode()
	exe, err := remotecommand.NewWebSocketExecutor(cl.srv.RESTConfig(), "GET", u.String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	sizes := make(sizeQueue, 1)
	sizes <- remotecommand.TerminalSize{Width: 100, Height: 30}
	close(sizes)
	// An open stdin, as a terminal's: containerd ends a terminal's output
	// when its input closes.
	stdin, stdinW := io.Pipe()
	defer stdinW.Close()
	err = exe.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: &out, Tty: true, TerminalSizeQueue: sizes})
	if err != nil {
		t.Fatalf("exec -t hostname: %v", err)
	}
	if out.String() != "talker\r\n" {
		t.Errorf("exec -t hostname: got %q, want %q", out.String(), "talker\r\n")
	}
}

type sizeQueue chan remotecommand.TerminalSize

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	s, ok := <-q
	if !ok {
		return nil
	}
	return &s
}

// kubectlRunner runs kubectl with separate stdout and stderr.
type kubectlRunner struct {
	kubeconfig string
}

func (k kubectlRunner) run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not on this machine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func (k kubectlRunner) mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	stdout, stderr, err := k.run(t, stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return stdout
}

// testDebug adds an ephemeral container to a running pod with kubectl
// debug -it, as a user does, and talks to it through the attach stream;
// the container shows in the pod's status and can be neither changed nor
// removed.
func testDebug(t *testing.T, cl *cluster, k kubectlRunner) {
	// Stdin stays open until the answer came, as a user's terminal does:
	// an attach ends when its stdin does.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", "debug", "-it", "talker", "--image=registry.skiff.local/testserver:1.0",
		"--image-pull-policy=Never", "--container=debugger", "--target=server", "--", "head", "-n", "1")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr framework.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.WriteString(stdin, "hello debugger\n") }()
	framework.Eventually(t, 30*time.Second, "the debugger's answer through kubectl debug -it", func() error {
		if !strings.Contains(stdout.String(), "hello debugger") {
			return fmt.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
		}
		return nil
	})
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("kubectl debug -it: %v\n%s", err, stderr.String())
	}
	c := cl.srv.Client()
	framework.Eventually(t, 30*time.Second, "the debugger's status", func() error {
		p, err := c.CoreV1().Pods("default").Get(context.Background(), "talker")
		if err != nil {
			return err
		}
		for _, s := range p.GetStatus().GetEphemeralContainerStatuses() {
			if s.GetName() == "debugger" && s.GetState().GetTerminated() != nil {
				return nil
			}
		}
		return fmt.Errorf("ephemeral container statuses: %v", p.GetStatus().GetEphemeralContainerStatuses())
	})
	patch := `{"spec":{"ephemeralContainers":[]}}`
	_, patchErr, err := k.run(t, "", "patch", "pod", "talker", "--subresource=ephemeralcontainers", "--type=merge", "-p", patch)
	if err == nil || !strings.Contains(patchErr, `existing ephemeral containers "debugger" may not be removed`) {
		t.Errorf("removing an ephemeral container: got %v %q, want it refused", err, patchErr)
	}
	if out := k.mustRun(t, "", "get", "pod", "talker", "-o", "jsonpath={.spec.ephemeralContainers[0].targetContainerName}"); out != "server" {
		t.Errorf("targetContainerName: got %q, want server", out)
	}
}
