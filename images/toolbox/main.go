// Command toolbox is the handful of commands that Skiff's end-to-end tests
// run inside the testserver image, which has no shell: one static binary
// that acts as the applet named by its base name (/bin/cat is a link to
// /bin/toolbox) or, called as toolbox, by its first argument
// (toolbox cat FILE). An unknown applet exits with 127, as a shell would.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// An applet runs one command. An exitStatus error sets the exit code
// without a message; any other error is printed and exits with 1.
type applet func(std stdio, args []string) error

// stdio are an applet's standard streams.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// exitStatus ends the program with its value.
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

var applets = map[string]applet{
	"cat":      cat,
	"dig":      dig,
	"dnsbench": dnsbench,
	"echo":     func(std stdio, args []string) error { return say(std.out, strings.Join(args, " ")) },
	"env":      func(std stdio, _ []string) error { return say(std.out, os.Environ()...) },
	"exit":     exit,
	"false":    func(stdio, []string) error { return exitStatus(1) },
	"get":      get,
	"head":     head,
	"hostname": hostname,
	"id":       id,
	"ls":       ls,
	"nslookup": nslookup,
	"rm":       eachFile(os.Remove),
	"sleep":    sleep,
	"stderr":   func(std stdio, args []string) error { return say(std.err, strings.Join(args, " ")) },
	"touch":    eachFile(touch),
	"true":     func(stdio, []string) error { return nil },
	"write":    write,
}

func main() {
	os.Exit(run(os.Args, stdio{os.Stdin, os.Stdout, os.Stderr}))
}

// run dispatches argv to its applet and returns the exit code.
func run(argv []string, std stdio) int {
	name, args := filepath.Base(argv[0]), argv[1:]
	if name == "toolbox" && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	a, ok := applets[name]
	if !ok {
		fmt.Fprintf(std.err, "toolbox: no applet %q; have: %s\n", name, strings.Join(names(), " "))
		return 127
	}
	err := a(std, args)
	var status exitStatus
	switch {
	case err == nil:
		return 0
	case errors.As(err, &status):
		return int(status)
	default:
		fmt.Fprintf(std.err, "%s: %v\n", name, err)
		return 1
	}
}

// names are the applets' names, sorted.
func names() []string {
	list := make([]string, 0, len(applets))
	for name := range applets {
		list = append(list, name)
	}
	sort.Strings(list)
	return list
}

// say writes each line to w.
func say(w io.Writer, lines ...string) error {
	for _, line := range lines {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}
