package server

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// podProxy serves /podProxy/{scheme}/{namespace}/{pod}/{port}/{path...}:
// the apiserver's pods/proxy and services/proxy come here, because the
// node reaches its pods' IPs where the apiserver may have no route to
// them. The request goes on to the pod's IP and port (the node's address
// for a pod on the host network) as it came, upgrades included. It is a
// Skiff path; Kubernetes' apiserver dials pods itself.
func (s *Server) podProxy(w http.ResponseWriter, r *http.Request) {
	scheme, ns, pod := r.PathValue("scheme"), r.PathValue("namespace"), r.PathValue("pod")
	port, err := strconv.Atoi(r.PathValue("port"))
	if err != nil || port < 1 || port > 65535 {
		writeError(w, r, badRequest(fmt.Sprintf("invalid port %q", r.PathValue("port"))))
		return
	}
	if scheme != "http" && scheme != "https" {
		writeError(w, r, badRequest(fmt.Sprintf("invalid scheme %q: http or https", scheme)))
		return
	}
	ip, err := s.podIP(r, ns, pod)
	if err != nil {
		writeError(w, r, err)
		return
	}
	target := &url.URL{Scheme: scheme, Host: net.JoinHostPort(ip, strconv.Itoa(port))}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = target.Scheme, target.Host, target.Host
			pr.Out.URL.Path, pr.Out.URL.RawPath = restOfPath(r.URL, 5)
		},
		// Pods serve what certificates they like; Kubernetes does not
		// verify them either.
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // as Kubernetes' proxy to pods
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, r, &statusError{http.StatusServiceUnavailable, "ServiceUnavailable",
				fmt.Sprintf("error trying to reach pod %s/%s on port %d: %v", ns, pod, port, err)})
		},
	}
	proxy.ServeHTTP(w, r)
}

// podIP is the IP of the pod's ready sandbox on this node.
func (s *Server) podIP(r *http.Request, ns, pod string) (string, error) {
	ctx := r.Context()
	resp, err := s.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		State:         &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
		LabelSelector: map[string]string{labelNode: s.cfg.NodeName, labelPodNamespace: ns, labelPodName: pod},
	}})
	if err != nil {
		return "", fmt.Errorf("list the sandboxes of pod %s/%s: %w", ns, pod, err)
	}
	items := resp.GetItems()
	if len(items) == 0 {
		return "", notFound(fmt.Sprintf("pod %s/%s is not running on node %s", ns, pod, s.cfg.NodeName))
	}
	newest := slices.MaxFunc(items, func(a, b *runtimeapi.PodSandbox) int { return cmp.Compare(a.GetCreatedAt(), b.GetCreatedAt()) })
	st, err := s.cfg.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: newest.GetId()})
	if err != nil {
		return "", fmt.Errorf("the status of pod %s/%s's sandbox: %w", ns, pod, err)
	}
	if ip := st.GetStatus().GetNetwork().GetIp(); ip != "" {
		return ip, nil
	}
	return s.cfg.NodeIP, nil // on the host network
}

// restOfPath is what follows the first n segments of u's path, as path
// and raw (escaped) path, always starting with "/".
func restOfPath(u *url.URL, n int) (path, raw string) {
	escaped := strings.TrimPrefix(u.EscapedPath(), "/")
	parts := strings.SplitN(escaped, "/", n+1)
	raw = "/"
	if len(parts) > n {
		raw += parts[n]
	}
	path, err := url.PathUnescape(raw)
	if err != nil {
		return raw, ""
	}
	if path == raw {
		raw = ""
	}
	return path, raw
}
