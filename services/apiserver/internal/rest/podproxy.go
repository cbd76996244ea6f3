package rest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/apierrors"
)

// podUpgrade serves pods/exec, pods/attach and pods/portforward: after
// the same checks as Kubernetes it proxies the upgrade request (WebSocket)
// to the kubelet and then the connection both ways.
func (h *Handler) podUpgrade(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	ctx := r.Context()
	pod, err := getPod(ctx, s, info)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var target []string
	var query url.Values
	if info.Subresource == "portforward" {
		target = []string{"portForward", info.Namespace, info.Name}
		query, err = portForwardQuery(r.URL.Query())
	} else {
		var container string
		if container, err = podContainer(pod, r.URL.Query().Get("container")); err == nil {
			err = notCompleted(pod, info.Subresource)
		}
		target = []string{info.Subresource, info.Namespace, info.Name, container}
		if err == nil {
			query, err = streamQuery(r.URL.Query(), info.Subresource == "exec")
		}
	}
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
	dest := kubeletPath(base, query, target...)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL, pr.Out.Host = dest, dest.Host
			// The user's credentials are for the apiserver, not the kubelet.
			pr.Out.Header.Del("Authorization")
		},
		Transport:     rt,
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode < 300 {
				return nil
			}
			return statusResponse(resp, apierrors.ToStatus(kubeletFailure(node, resp)))
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, r, unreachable(node, err))
		},
	}
	proxy.ServeHTTP(w, r)
}

// statusResponse replaces a kubelet's failure answer with a Status.
func statusResponse(resp *http.Response, st *metav1.Status) error {
	data, err := kjson.Marshal(st)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	resp.Header = http.Header{"Content-Type": {mediaJSON}, "Content-Length": {strconv.Itoa(len(data))}}
	resp.StatusCode, resp.Status = int(st.GetCode()), ""
	return nil
}

// notCompleted refuses to exec or attach into a pod that has finished.
func notCompleted(pod *corev1.Pod, subresource string) error {
	phase := pod.GetStatus().GetPhase()
	if phase != "Succeeded" && phase != "Failed" {
		return nil
	}
	what := "exec into"
	if subresource == "attach" {
		what = "attach to"
	}
	return apierrors.NewBadRequest(fmt.Sprintf("cannot %s a container in a completed pod; current phase is %s", what, phase))
}

// streamQuery turns an exec or attach request's options into the
// kubelet's query (input, output, error, tty, command).
func streamQuery(q url.Values, exec bool) (url.Values, error) {
	out := url.Values{}
	asked := false
	for _, p := range [][2]string{{"stdin", "input"}, {"stdout", "output"}, {"stderr", "error"}, {"tty", "tty"}} {
		if v := q.Get(p[0]); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("%s=%q: want true or false", p[0], v))
			}
			if b {
				out.Set(p[1], "1")
				asked = asked || p[0] != "tty"
			}
		}
	}
	if !asked {
		return nil, apierrors.NewBadRequest("you must specify at least 1 of stdin, stdout, stderr")
	}
	if exec {
		if len(q["command"]) == 0 {
			return nil, apierrors.NewBadRequest("you must specify at least 1 command")
		}
		out["command"] = q["command"]
	}
	return out, nil
}

// portForwardQuery checks the ports of a port-forward request.
func portForwardQuery(q url.Values) (url.Values, error) {
	out := url.Values{}
	for _, p := range q["ports"] {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("ports=%q: want a port number between 1 and 65535", p))
		}
		out.Add("port", p)
	}
	return out, nil
}
