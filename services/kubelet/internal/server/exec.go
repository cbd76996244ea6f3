package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"skiff.dev/services/kubelet/internal/wschannel"
)

// streams are the query of an exec or attach request, named as the
// Kubernetes kubelet names them.
type streams struct {
	command                    []string
	stdin, stdout, stderr, tty bool
}

func streamsOf(q url.Values) (streams, error) {
	s := streams{command: q["command"], stdin: queryBool(q, "input"), stdout: queryBool(q, "output"),
		stderr: queryBool(q, "error"), tty: queryBool(q, "tty")}
	if !s.stdin && !s.stdout && !s.stderr {
		return s, badRequest("you must specify at least one of stdin, stdout, stderr")
	}
	// A terminal merges stderr into stdout.
	s.stderr = s.stderr && !s.tty
	return s, nil
}

// exec serves /exec/{namespace}/{pod}/{container}?command=...
func (s *Server) exec(w http.ResponseWriter, r *http.Request) { s.remoteCommand(w, r, false) }

// attach serves /attach/{namespace}/{pod}/{container}.
func (s *Server) attach(w http.ResponseWriter, r *http.Request) { s.remoteCommand(w, r, true) }

// remoteCommand runs a command in a container (or attaches to its main
// process) for a WebSocket client: it asks the runtime for a streaming
// URL, connects to it with SPDY (the protocol containerd's streaming
// server speaks) and copies the client's channels to and from it.
func (s *Server) remoteCommand(w http.ResponseWriter, r *http.Request, attach bool) {
	ns, pod, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	opts, err := streamsOf(r.URL.Query())
	if err == nil && !attach && len(opts.command) == 0 {
		err = badRequest("no command to run: give it as command=...")
	}
	if err == nil && !wschannel.Supported(r) {
		err = badRequest(fmt.Sprintf("the kubelet streams over WebSocket only (%s, %s or their predecessors); SPDY is not served: use kubectl 1.30 or later",
			wschannel.ProtocolV5, wschannel.ProtocolV4))
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	ctx := r.Context()
	c, err := s.running(ctx, ns, pod, container)
	if err != nil {
		writeError(w, r, err)
		return
	}
	target, err := s.streamURL(ctx, c.GetId(), opts, attach)
	if err != nil {
		writeError(w, r, err)
		return
	}
	conn, err := wschannel.Upgrade(w, r)
	if err != nil {
		return // the upgrader has answered
	}
	// A hijacked request's context does not end with the client: Gone does.
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	go func() {
		select {
		case <-conn.Gone():
			cancel()
		case <-ctx.Done():
		}
	}()
	err = stream(ctx, target, opts, conn)
	if ctx.Err() != nil {
		_ = conn.Close(nil)
		return
	}
	if err := conn.Close(execStatus{exitStatus(err)}); err != nil {
		slog.DebugContext(ctx, "close the exec stream", "pod", ns+"/"+pod, "container", container, "err", err)
	}
}

// streamURL asks the runtime where to stream the command from.
func (s *Server) streamURL(ctx context.Context, id string, opts streams, attach bool) (*url.URL, error) {
	var raw string
	if attach {
		resp, err := s.cfg.Runtime.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: id,
			Stdin: opts.stdin, Stdout: opts.stdout, Stderr: opts.stderr, Tty: opts.tty})
		if err != nil {
			return nil, fmt.Errorf("attach to the container: %w", err)
		}
		raw = resp.GetUrl()
	} else {
		resp, err := s.cfg.Runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: opts.command,
			Stdin: opts.stdin, Stdout: opts.stdout, Stderr: opts.stderr, Tty: opts.tty})
		if err != nil {
			return nil, fmt.Errorf("exec in the container: %w", err)
		}
		raw = resp.GetUrl()
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("the runtime's streaming URL %q: %w", raw, err)
	}
	return u, nil
}

// stream connects the client's channels to the runtime's streaming URL
// and returns when the command ends.
func stream(ctx context.Context, target *url.URL, opts streams, conn *wschannel.Conn) error {
	exe, err := remotecommand.NewSPDYExecutor(&rest.Config{}, http.MethodPost, target)
	if err != nil {
		return fmt.Errorf("connect to the runtime's streaming server: %w", err)
	}
	so := remotecommand.StreamOptions{Tty: opts.tty}
	ready := wschannel.Error
	if opts.stderr {
		so.Stderr, ready = conn.Writer(wschannel.Stderr), wschannel.Stderr
	}
	if opts.stdout {
		so.Stdout, ready = conn.Writer(wschannel.Stdout), wschannel.Stdout
	}
	if opts.stdin {
		so.Stdin = conn.Stdin()
	} else {
		conn.DiscardStdin()
	}
	if opts.tty {
		so.TerminalSizeQueue = sizeQueue{ctx: ctx, sizes: conn.Resizes()}
	}
	if err := conn.Ready(ready); err != nil {
		return err
	}
	return exe.StreamWithContext(ctx, so)
}

// sizeQueue hands the client's terminal sizes to the runtime.
type sizeQueue struct {
	ctx   context.Context
	sizes <-chan wschannel.Size
}

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	select {
	case s, ok := <-q.sizes:
		if !ok {
			return nil
		}
		return &remotecommand.TerminalSize{Width: s.Width, Height: s.Height}
	case <-q.ctx.Done():
		return nil
	}
}

// execStatus is a command's end as the WebSocket's error channel tells it.
type execStatus struct{ st *metav1.Status }

var _ wschannel.Status = execStatus{}

func (s execStatus) Failed() bool                 { return s.st.Status == metav1.StatusFailure }
func (s execStatus) Message() string              { return s.st.Message }
func (s execStatus) MarshalJSON() ([]byte, error) { return json.Marshal(s.st) }

// exitStatus is the Status that ends a stream: kubectl turns a
// NonZeroExitCode failure into its own exit code.
func exitStatus(err error) *metav1.Status {
	st := &metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess}
	var exit exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		st.Status, st.Reason = metav1.StatusFailure, "NonZeroExitCode"
		st.Message = fmt.Sprintf("command terminated with non-zero exit code: exit code %d", exit.ExitStatus())
		st.Details = &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: strconv.Itoa(exit.ExitStatus())}}}
	default:
		st.Status, st.Reason, st.Code = metav1.StatusFailure, metav1.StatusReasonInternalError, http.StatusInternalServerError
		st.Message = err.Error()
	}
	return st
}
