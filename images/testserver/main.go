// Command testserver is the workload of Skiff's end-to-end tests: an HTTP
// server that answers with its hostname, serves /healthz (failing once
// -unhealthy-after has passed, for probe tests) and /ready (failing while
// -ready-file is missing, so a test can flip it with kubectl exec touch or
// rm), echoes its environment under /env, logs a numbered line every
// -log-every, and either exits at once with a chosen code (crash-loop
// tests) or after -exit-after. On SIGTERM it prints "terminating" and
// serves on for -term-delay before exiting (graceful termination tests).
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	listen         string
	exit           int
	exitAfter      time.Duration
	unhealthyAfter time.Duration
	readyFile      string
	logEvery       time.Duration
	termDelay      time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.listen, "listen", ":8080", "Address to serve on.")
	flag.IntVar(&o.exit, "exit", -1, "Exit with this code: at once, or after -exit-after.")
	flag.DurationVar(&o.exitAfter, "exit-after", 0, "Serve this long, then exit with the -exit code or 0 (0: serve until signalled).")
	flag.DurationVar(&o.unhealthyAfter, "unhealthy-after", 0, "Fail /healthz after this long (0: never).")
	flag.StringVar(&o.readyFile, "ready-file", "", "Answer /ready with 503 while this file is missing (empty: always ready).")
	flag.DurationVar(&o.logEvery, "log-every", 0, "Print a numbered line to stdout this often (0: never).")
	flag.DurationVar(&o.termDelay, "term-delay", 0, "On SIGTERM or SIGINT, serve this long before exiting.")
	flag.Parse()
	os.Exit(run(o))
}

// run serves as o asks and returns the exit code.
func run(o options) int {
	if o.exit >= 0 && o.exitAfter == 0 {
		fmt.Fprintf(os.Stderr, "exiting with %d as asked\n", o.exit)
		return o.exit
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: newHandler(o, time.Now()), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln); close(served) }()
	fmt.Printf("serving on %s\n", o.listen)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	code := wait(o, os.Stdout, os.Stderr, sigs, served)
	_ = srv.Close()
	<-served
	return code
}
