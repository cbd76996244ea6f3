// Command testserver is the workload of Skiff's end-to-end tests: an HTTP
// server that answers with its hostname, serves /healthz (failing once
// -unhealthy-after has passed, for probe tests), echoes its environment
// under /env, and can instead exit at once with a chosen code (crash-loop
// tests).
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("listen", ":8080", "Address to serve on.")
	exit := flag.Int("exit", -1, "Exit at once with this code instead of serving.")
	unhealthyAfter := flag.Duration("unhealthy-after", 0, "Fail /healthz after this long (0: never).")
	flag.Parse()
	if *exit >= 0 {
		fmt.Fprintf(os.Stderr, "exiting with %d as asked\n", *exit)
		os.Exit(*exit)
	}
	host, _ := os.Hostname()
	start := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, host) })
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if *unhealthyAfter > 0 && time.Since(start) > *unhealthyAfter {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, _ *http.Request) {
		env := os.Environ()
		sort.Strings(env)
		fmt.Fprintln(w, strings.Join(env, "\n"))
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		<-sigs
		_ = srv.Close()
	}()
	fmt.Printf("serving on %s\n", *addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
