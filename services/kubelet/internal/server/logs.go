package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"skiff.dev/services/kubelet/internal/crilog"
)

// containerLogs serves GET /containerLogs/{namespace}/{pod}/{container}
// with Kubernetes' query: follow, previous, timestamps, tailLines,
// sinceSeconds, sinceTime, limitBytes.
func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) {
	ns, pod, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	q := r.URL.Query()
	opts, err := logOptions(q, time.Now())
	if err != nil {
		writeError(w, r, err)
		return
	}
	ctx := r.Context()
	c, err := s.logInstance(ctx, ns, pod, container, queryBool(q, "previous"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	st, err := s.cfg.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.GetId()})
	if err != nil {
		writeError(w, r, fmt.Errorf("status of container %s: %w", container, err))
		return
	}
	path := st.GetStatus().GetLogPath()
	if path == "" {
		writeError(w, r, badRequest(fmt.Sprintf("container %q in pod %q keeps no log", container, pod)))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		// Nothing written yet, or the log is gone: an empty log.
		w.WriteHeader(http.StatusOK)
		return
	}
	opts.Follow = opts.Follow && st.GetStatus().GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING
	w.WriteHeader(http.StatusOK)
	running := func(ctx context.Context) bool {
		st, err := s.cfg.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.GetId()})
		return err == nil && st.GetStatus().GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING
	}
	if err := crilog.ReadFile(ctx, path, opts, w, running); err != nil && ctx.Err() == nil {
		slog.WarnContext(ctx, "read container log", "pod", ns+"/"+pod, "container", container, "err", err)
	}
}

// logInstance is the container instance whose log is asked for: the
// newest, or for previous the last one that ended: the newest when it has
// ended (waiting for its restart, as Kubernetes reports it in
// lastState), else the one before it.
func (s *Server) logInstance(ctx context.Context, ns, pod, container string, previous bool) (*runtimeapi.Container, error) {
	if !previous {
		return s.current(ctx, ns, pod, container)
	}
	cs, err := s.instances(ctx, ns, pod, container)
	if err != nil {
		return nil, err
	}
	switch {
	case len(cs) > 0 && cs[0].GetState() == runtimeapi.ContainerState_CONTAINER_EXITED:
		return cs[0], nil
	case len(cs) > 1:
		return cs[1], nil
	}
	return nil, badRequest(fmt.Sprintf("previous terminated container %q in pod %q not found", container, pod))
}

// logOptions reads the query of a log request.
func logOptions(q url.Values, now time.Time) (crilog.Options, error) {
	opts := crilog.Options{TailLines: -1, Follow: queryBool(q, "follow"), Timestamps: queryBool(q, "timestamps")}
	var err error
	if opts.TailLines, err = queryInt(q, "tailLines", 0, -1); err != nil {
		return opts, err
	}
	if opts.LimitBytes, err = queryInt(q, "limitBytes", 1, 0); err != nil {
		return opts, err
	}
	since, err := queryInt(q, "sinceSeconds", 1, 0)
	if err != nil {
		return opts, err
	}
	if since > 0 {
		opts.Since = now.Add(-time.Duration(since) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		if since > 0 {
			return opts, badRequest("at most one of sinceTime or sinceSeconds may be given")
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return opts, badRequest(fmt.Sprintf("sinceTime %q: want an RFC 3339 time such as 2006-01-02T15:04:05Z", v))
		}
		opts.Since = t
	}
	return opts, nil
}

// queryBool reads a flag given as true or 1.
func queryBool(q url.Values, name string) bool {
	v := q.Get(name)
	return v == "true" || v == "1"
}

// queryInt reads an integer of at least least; def when absent.
func queryInt(q url.Values, name string, least, def int64) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < least {
		return 0, badRequest(fmt.Sprintf("%s %q: want an integer of at least %d", name, v, least))
	}
	return n, nil
}
