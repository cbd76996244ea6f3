package compose

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// walkthroughSection is the README's section whose commands the compose
// test runs as pasted.
const walkthroughSection = "## Five minutes with the stack"

// walkthrough extracts the commands of the README's walkthrough, in order:
// every line of its ```sh blocks (the exports a user pastes first) and
// every "$ " line of its ```console blocks (what a user types; the lines
// after it are output).
func walkthrough(readme string) ([]string, error) {
	_, section, ok := strings.Cut(readme, "\n"+walkthroughSection+"\n")
	if !ok {
		return nil, fmt.Errorf("README.md has no %q section", walkthroughSection)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var cmds []string
	block := "" // the fence's language inside a code block
	for _, line := range strings.Split(section, "\n") {
		switch {
		case strings.HasPrefix(line, "```") && block == "":
			block = strings.TrimPrefix(line, "```")
			if block == "" {
				block = "text"
			}
		case strings.HasPrefix(line, "```"):
			block = ""
		case block == "sh" && strings.TrimSpace(line) != "" && !strings.HasPrefix(strings.TrimSpace(line), "#"):
			cmds = append(cmds, line)
		case block == "console" && strings.HasPrefix(line, "$ "):
			cmds = append(cmds, strings.TrimPrefix(line, "$ "))
		}
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("README.md's %q has no commands", walkthroughSection)
	}
	return cmds, nil
}

func TestWalkthroughCommands(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := walkthrough(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cmds[0], "export KUBECONFIG=") {
		t.Errorf("the walkthrough starts with %q, want the exports make up prints", cmds[0])
	}
	// Addresses of one run must not be pasted: they differ on every stack.
	for _, c := range cmds {
		for _, addr := range []string{"10.89.", "10.96.", "10.100.", "10.244."} {
			if strings.Contains(c, addr) {
				t.Errorf("command %q names an address of one run (%s…); read it from the stack instead", c, addr)
			}
		}
	}
	got, err := walkthrough("# x\n" + walkthroughSection + "\n\n```sh\nexport A=1\n# a comment\n```\n\n```console\n$ echo $A\n1\n$ true\n```\n\n```\n$ not this\n```\n## Next\n```console\n$ nor this\n```\n")
	if err != nil || strings.Join(got, "|") != "export A=1|echo $A|true" {
		t.Errorf("got %q, %v; want the sh line and the two console commands", got, err)
	}
}

// checkWalkthrough runs the README's walkthrough against the stack, as a
// user of it would: one bash, the commands one by one as pasted, from a
// directory laid out as the checkout is (bin/, docker-compose.yaml,
// deploy/, and .skiff/kubeconfig, which is this stack's), with the
// stack's COMPOSE_PROJECT_NAME. The first command that fails stops it.
func (s *stack) checkWalkthrough(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(s.root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := walkthrough(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	registry := s.port(t, "registry", "5000")
	t.Cleanup(func() {
		// What the walkthrough made, so the test's other checks and the
		// machine's Docker are left as they were.
		_, _ = s.run(time.Minute, "docker-compose", "start", "scheduler-1", "scheduler-2")
		_, _ = s.kubectl(t, "delete", "service,deployment", "web", "--ignore-not-found")
		_, _ = s.run(time.Minute, "docker", "rmi", registry+"/testserver:1.0", registry+"/testserver:1.1")
	})
	sh, err := newShell(s.checkoutView(t), s.env)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.close()
	for i, c := range cmds {
		timeout := 3 * time.Minute
		if d := time.Until(s.deadline); !s.deadline.IsZero() && d < timeout {
			timeout = d
		}
		start := time.Now()
		out, code, err := sh.run(c, timeout)
		t.Logf("$ %s\n%s(exit %d, %s)", c, out, code, time.Since(start).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("walkthrough command %d, %q: %v\n%s", i+1, c, err, out)
		}
		if code != 0 {
			t.Fatalf("walkthrough command %d, %q, exited %d:\n%s", i+1, c, code, out)
		}
	}
}

// checkoutView is a directory that looks like the checkout to the
// walkthrough's relative paths, with this stack's kubeconfig at
// .skiff/kubeconfig.
func (s *stack) checkoutView(t *testing.T) string {
	dir := filepath.Dir(filepath.Dir(s.kubeconfig))
	for _, name := range []string{"bin", "docker-compose.yaml", "deploy"} {
		if err := os.Symlink(filepath.Join(s.root, name), filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrExist) {
			t.Fatal(err)
		}
	}
	return dir
}

// shell is one bash that runs commands one at a time, keeping its
// variables between them, as a terminal's shell does.
type shell struct {
	cmd    *exec.Cmd
	stdin  *os.File // the commands
	status *bufio.Reader
	out    string // where each command's output goes
}

func newShell(dir string, env []string) (*shell, error) {
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	out, err := os.CreateTemp("", "walkthrough-")
	if err != nil {
		return nil, err
	}
	out.Close()
	cmd := exec.Command("bash", "--noprofile", "--norc")
	cmd.Dir, cmd.Env, cmd.Stdin = dir, env, stdinR
	cmd.ExtraFiles = []*os.File{statusW} // fd 3: each command's exit code
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stdinR.Close()
	statusW.Close()
	return &shell{cmd: cmd, stdin: stdinW, status: bufio.NewReader(statusR), out: out.Name()}, nil
}

// run runs one command line with its output (stdout and stderr) captured
// and stdin empty, and returns the output and the exit code; the shell is
// killed when the command takes longer than timeout.
func (sh *shell) run(line string, timeout time.Duration) (string, int, error) {
	script := fmt.Sprintf("{\n%s\n} </dev/null >%q 2>&1; echo $? >&3\n", line, sh.out)
	if _, err := sh.stdin.WriteString(script); err != nil {
		return "", 0, fmt.Errorf("send to bash: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		l, err := sh.status.ReadString('\n')
		var code int
		if err == nil {
			_, err = fmt.Sscan(l, &code)
		}
		done <- result{code, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		sh.kill()
		r = result{err: fmt.Errorf("still running after %s", timeout)}
	}
	out, _ := os.ReadFile(sh.out)
	return string(out), r.code, r.err
}

// kill ends the shell and everything it started.
func (sh *shell) kill() { _ = syscall.Kill(-sh.cmd.Process.Pid, syscall.SIGKILL) }

func (sh *shell) close() {
	sh.stdin.Close()
	sh.kill()
	_ = sh.cmd.Wait()
	os.Remove(sh.out)
}
