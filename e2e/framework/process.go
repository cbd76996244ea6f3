package framework

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Process is a running Skiff service other than the apiserver.
type Process struct {
	t    testing.TB
	cmd  *exec.Cmd
	logs *SyncBuffer
	done chan struct{}
}

// StartScheduler runs a scheduler against srv with extra flags, as
// system:kube-scheduler, without its secure port unless the flags give one
// (SecurePort); it stops with the test.
func StartScheduler(t testing.TB, srv *APIServer, flags ...string) *Process {
	t.Helper()
	args := append([]string{"--kubeconfig", srv.ComponentKubeconfig("scheduler"), "--secure-port", "0", "--log-level", "warn"}, flags...)
	return startProcess(t, "scheduler", args...)
}

// StartControllerManager runs a controller-manager against srv with extra
// flags, as system:kube-controller-manager with each controller under its
// own service account, without its secure port unless the flags give one;
// it stops with the test. When it runs the
// serviceaccount controller, it returns once the default namespace has
// its default account, so that pods can be created there at once.
func StartControllerManager(t testing.TB, srv *APIServer, flags ...string) *Process {
	t.Helper()
	args := append([]string{"--kubeconfig", srv.ComponentKubeconfig("controller-manager"), "--use-service-account-credentials",
		"--secure-port", "0", "--log-level", "warn"}, flags...)
	p := startProcess(t, "controller-manager", args...)
	if runsController(flags, "serviceaccount") {
		c := srv.Client()
		Eventually(t, 60*time.Second, "the controller-manager made default/default", func() error {
			if err := p.Exited(); err != nil {
				return fmt.Errorf("controller-manager %w: %s", err, p.Logs())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := c.CoreV1().ServiceAccounts("default").Get(ctx, "default")
			return err
		})
	}
	return p
}

// runsController tells whether a controller-manager with these flags runs
// the named controller: --controllers lists names, "*" for the default
// ones (every one here) and "-name" to leave one out.
func runsController(flags []string, name string) bool {
	list := "*"
	for i, f := range flags {
		if v, ok := strings.CutPrefix(f, "--controllers="); ok {
			list = v
		} else if f == "--controllers" && i+1 < len(flags) {
			list = flags[i+1]
		}
	}
	names := strings.Split(list, ",")
	return !slices.Contains(names, "-"+name) && (slices.Contains(names, name) || slices.Contains(names, "*"))
}

// StartProxy runs a proxy inside ns (where it programs the rules) with
// kubeconfig (one from ForwardAPIServer reaches the apiserver from there)
// and extra flags; it stops with the test.
func StartProxy(t testing.TB, ns *Netns, kubeconfig string, flags ...string) *Process {
	t.Helper()
	args := append([]string{Binary(t, "proxy"), "--kubeconfig", kubeconfig, "--log-level", "warn"}, flags...)
	ownIdentity(t, "proxy", args)
	return startCommand(t, "proxy", ns.Command(args[0], args[1:]...))
}

// StartBinary runs a program that is not built from this checkout (one
// the test built itself, such as Kubernetes' sample-controller) under
// name; it stops with the test.
func StartBinary(t testing.TB, name, path string, args ...string) *Process {
	t.Helper()
	return startCommand(t, name, exec.Command(path, args...))
}

func startProcess(t testing.TB, service string, args ...string) *Process {
	t.Helper()
	ownIdentity(t, service, args)
	return startCommand(t, service, exec.Command(Binary(t, service), args...))
}

// ownIdentity fails the test when one of Skiff's components would run with
// the admin kubeconfig instead of its own (hollow kubelets, many nodes in
// one process for benchmarks, are started around it).
func ownIdentity(t testing.TB, service string, args []string) {
	t.Helper()
	if usesAdmin(args) {
		t.Fatalf("%s must run with its own identity, not the admin kubeconfig: %v", service, args)
	}
}

func startCommand(t testing.TB, service string, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{t: t, logs: &SyncBuffer{}, done: make(chan struct{}), cmd: cmd}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", service, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s logs:\n%s", service, p.logs.String())
		}
	})
	return p
}

// usesAdmin tells whether a command line names an admin kubeconfig.
func usesAdmin(args []string) bool {
	for _, a := range args {
		if strings.HasSuffix(a, "admin.kubeconfig") {
			return true
		}
	}
	return false
}

// Stop ends the process gracefully (SIGTERM, then SIGKILL).
func (p *Process) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Kill ends the process at once, as a crash would.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Logs returns what the process printed.
func (p *Process) Logs() string { return p.logs.String() }

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("exited: %v", p.cmd.ProcessState)
	default:
		return nil
	}
}
