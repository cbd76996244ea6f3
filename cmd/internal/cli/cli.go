// Package cli is the kubectl-skiff command line: kubectl runs it as
// `kubectl skiff ...`, passing it every argument after "skiff".
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/term"

	"skiff.dev/cmd/internal/waterfall"
)

const usage = `kubectl skiff: Skiff's kubectl plugin.

Usage:
  kubectl skiff COMMAND [flags]

Commands:
  trace    show the trace of the last write to an object as a waterfall

Run 'kubectl skiff COMMAND --help' for the flags of a command.
`

// Env is what the commands get from the process.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Width is the terminal's width in columns, 0 when stdout is no
	// terminal.
	Width int
}

// ProcessEnv is the environment of this process.
func ProcessEnv() Env {
	env := Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	if fd := int(os.Stdout.Fd()); term.IsTerminal(fd) {
		if w, _, err := term.GetSize(fd); err == nil {
			env.Width = w
		}
	}
	return env
}

// errHelp ends a command that printed its help.
var errHelp = errors.New("help")

// Main runs the command args names and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	err := run(ctx, args, env)
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	default:
		fmt.Fprintf(env.Stderr, "error: %v\n", err)
		return 1
	}
}

func run(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return errors.New("no command: try 'kubectl skiff trace deployment/NAME'")
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(env.Stdout, usage)
		return errHelp
	case "trace":
		return runTrace(ctx, args[1:], env)
	default:
		return fmt.Errorf("unknown command %q: the commands are: trace (see 'kubectl skiff --help')", args[0])
	}
}

// width is the waterfall's width: the flag, the terminal, $COLUMNS, 80.
func (env Env) width(flag int) int {
	switch {
	case flag > 0:
		return flag
	case env.Width > 0:
		return env.Width
	}
	if n, err := strconv.Atoi(env.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return waterfall.DefaultWidth
}
