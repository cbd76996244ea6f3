package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
)

// CommandFunc builds the command that runs one of the iptables tools (name
// is "iptables", "iptables-save" or "iptables-restore"). Tests wrap it in
// `ip netns exec`.
type CommandFunc func(ctx context.Context, name string, args ...string) *exec.Cmd

// run runs a tool with stdin (which may be nil) and returns its stdout; a
// failure carries the command line and what the tool printed on stderr.
func (b *Backend) run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	var stdout bytes.Buffer
	err := b.runTo(ctx, &stdout, stdin, name, args...)
	return stdout.Bytes(), err
}

// runTo is run writing stdout to w.
func (b *Backend) runTo(ctx context.Context, w io.Writer, stdin []byte, name string, args ...string) error {
	cmd := b.command(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &commandError{line: name + " " + strings.Join(args, " "), err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return nil
}

// commandError is a tool that failed.
type commandError struct {
	line   string
	err    error
	stderr string
}

func (e *commandError) Error() string { return fmt.Sprintf("%s: %v: %s", e.line, e.err, e.stderr) }
func (e *commandError) Unwrap() error { return e.err }

// exitCode is the exit status of a tool that ran and failed, else -1.
func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return -1
}

// waitFlag is ["-w"] when iptables-restore takes the xtables lock wait flag,
// asked once; old versions refuse the flag.
func (b *Backend) waitFlag(ctx context.Context) []string {
	if b.wait != nil {
		return b.wait
	}
	_, err := b.run(ctx, []byte{}, "iptables-restore", "-w", "--test")
	switch {
	case err == nil:
		b.wait = []string{"-w"}
	case exitCode(err) > 0: // it ran and refused the flag
		b.wait = []string{}
	default: // it did not run; ask again next time
		return nil
	}
	return b.wait
}

// restore feeds input to iptables-restore without flushing what it does
// not name, as one atomic transaction. Its output (see listAbove) is dropped.
func (b *Backend) restore(ctx context.Context, input []byte) error {
	args := slices.Concat(b.waitFlag(ctx), []string{"--noflush"})
	return b.runTo(ctx, io.Discard, input, "iptables-restore", args...)
}

// save returns `iptables-save -t table`.
func (b *Backend) save(ctx context.Context, table string) (string, error) {
	out, err := b.run(ctx, nil, "iptables-save", "-t", table)
	return string(out), err
}

// iptables runs iptables on one table.
func (b *Backend) iptables(ctx context.Context, table string, args ...string) error {
	full := slices.Concat(b.waitFlag(ctx), []string{"-t", table}, args)
	_, err := b.run(ctx, nil, "iptables", full...)
	return err
}
