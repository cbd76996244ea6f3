package healthz

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Check is one named readiness condition: Run is nil while it holds.
type Check struct {
	Name string
	Run  func() error
}

// Checks serves a readiness endpoint as Kubernetes' components do: "ok"
// and 200 while every check passes; otherwise 500 with a line per check,
// "[+]name ok" or "[-]name failed: reason withheld" (the reason goes to
// the log, not to an anonymous reader), and "readyz check failed".
// ?verbose lists the checks on success too.
type Checks []Check

func (cs Checks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	failed := false
	for _, c := range cs {
		if err := c.Run(); err != nil {
			failed = true
			slog.WarnContext(r.Context(), "readiness check failed", "check", c.Name, "err", err)
			fmt.Fprintf(&b, "[-]%s failed: reason withheld\n", c.Name)
			continue
		}
		fmt.Fprintf(&b, "[+]%s ok\n", c.Name)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if failed {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(b.String() + "readyz check failed\n"))
		return
	}
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		_, _ = w.Write([]byte(b.String() + "readyz check passed\n"))
		return
	}
	_, _ = w.Write([]byte("ok"))
}
