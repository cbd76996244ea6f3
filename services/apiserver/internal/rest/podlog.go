package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"skiff.dev/services/apiserver/internal/apierrors"
)

// podLog serves GET pods/{name}/log by streaming the kubelet's
// /containerLogs answer, flushed as it comes so `kubectl logs -f` sees
// every line at once, or over a WebSocket when the client asks for one.
func (h *Handler) podLog(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	query, err := logQuery(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	pod, err := getPod(ctx, s, info)
	if err != nil {
		writeError(w, r, err)
		return
	}
	container, err := podContainer(pod, r.URL.Query().Get("container"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	base, rt, err := h.podKubelet(ctx, pod)
	if err != nil {
		writeError(w, r, err)
		return
	}
	node := pod.GetSpec().GetNodeName()
	target := kubeletPath(base, query, "containerLogs", info.Namespace, info.Name, container)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		writeError(w, r, err)
		return
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		writeError(w, r, unreachable(node, err))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		writeError(w, r, kubeletFailure(node, resp))
		return
	}
	out, done, err := logOutput(w, r, cancel)
	if err != nil {
		return // the WebSocket upgrader has answered
	}
	defer done()
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, io.EOF) {
				slog.DebugContext(ctx, "pod log stream ended", "pod", info.Namespace+"/"+info.Name, "err", err)
			}
			return
		}
	}
}

// logQuery checks a log request's options and returns them as the
// kubelet's query.
func logQuery(q url.Values) (url.Values, error) {
	out := url.Values{}
	for _, name := range []string{"follow", "previous", "timestamps"} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("%s=%q: want true or false", name, v))
			}
			if b {
				out.Set(name, "true")
			}
		}
	}
	for _, p := range []struct {
		name  string
		least int64
	}{{"tailLines", 0}, {"limitBytes", 1}, {"sinceSeconds", 1}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < p.least {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("%s=%q: want an integer of at least %d", p.name, v, p.least))
			}
			out.Set(p.name, strconv.FormatInt(n, 10))
		}
	}
	if v := q.Get("sinceTime"); v != "" {
		if out.Has("sinceSeconds") {
			return nil, apierrors.NewBadRequest("at most one of sinceTime or sinceSeconds may be specified")
		}
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("sinceTime=%q: want an RFC 3339 time such as 2006-01-02T15:04:05Z", v))
		}
		out.Set("sinceTime", v)
	}
	return out, nil
}
