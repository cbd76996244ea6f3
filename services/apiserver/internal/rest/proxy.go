package rest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// serveProxy serves pods/proxy, services/proxy and nodes/proxy: the
// request, with what follows /proxy as its path, goes on to a pod's port
// (a Service's is one of its ready endpoints' pods) or to a node's
// kubelet, and the answer comes back as it is, upgrades included. A pod
// is reached through the kubelet of its node, which has a route to its
// IP where the apiserver may not.
func (h *Handler) serveProxy(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	res := s.Resource
	if res.Group != "" || (res.Plural != "pods" && res.Plural != "services" && res.Plural != "nodes") {
		writeError(w, r, apierrors.NewNotFound(res.ErrorResource(), info.Name+"/"+info.Subresource))
		return
	}
	prefix, path, raw := proxyPath(r.URL, info)
	if path == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// As Kubernetes: .../proxy answers a read with a redirect to
		// .../proxy/; other methods go on to the backend's root.
		target := r.URL.EscapedPath() + "/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	if path == "" {
		path = "/"
	}
	scheme, name, port, err := splitSchemeNamePort(info.Name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var dest *url.URL
	var rt http.RoundTripper
	switch res.Plural {
	case "pods":
		dest, rt, err = h.podProxyLocation(r.Context(), s, info.Namespace, scheme, name, port)
	case "services":
		dest, rt, err = h.serviceProxyLocation(r.Context(), s, info.Namespace, scheme, name, port)
	case "nodes":
		dest, rt, err = h.nodeProxyLocation(r.Context(), name, port)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	baseRaw := strings.TrimSuffix(dest.EscapedPath(), "/")
	dest.Path, dest.RawPath = strings.TrimSuffix(dest.Path, "/")+path, ""
	if raw != "" {
		dest.RawPath = baseRaw + raw
	}
	h.proxy(w, r, dest, rt, name, linkRewriter{prefix: prefix})
}

// proxy passes the request on to dest and the answer back.
func (h *Handler) proxy(w http.ResponseWriter, r *http.Request, dest *url.URL, rt http.RoundTripper, what string, links linkRewriter) {
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			q := pr.In.URL.RawQuery
			pr.Out.URL, pr.Out.Host = dest, dest.Host
			pr.Out.URL.RawQuery = q
			// The user's credentials are for the apiserver, not what is behind it.
			pr.Out.Header.Del("Authorization")
		},
		Transport:      rt,
		FlushInterval:  -1,
		ModifyResponse: links.response,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach %s: %v", what, err)))
		},
	}
	p.ServeHTTP(w, r)
}

// proxyPath splits the request's path at .../proxy: prefix is what comes
// up to it (escaped), path what follows ("" when nothing does, "/" for a
// bare slash), and raw its escaped form when that differs.
func proxyPath(u *url.URL, info requestInfo) (prefix, path, raw string) {
	escaped := u.EscapedPath()
	marker := "/" + url.PathEscape(info.Name) + "/proxy"
	i := strings.Index(escaped, marker)
	if i < 0 {
		return "", "", ""
	}
	prefix, raw = escaped[:i+len(marker)], escaped[i+len(marker):]
	path, err := url.PathUnescape(raw)
	if err != nil || path == raw {
		return prefix, path, ""
	}
	return prefix, path, raw
}

// splitSchemeNamePort reads [scheme:]name[:port], as Kubernetes does.
func splitSchemeNamePort(id string) (scheme, name, port string, err error) {
	parts := strings.Split(id, ":")
	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		name, port = parts[0], parts[1]
	case 3:
		scheme, name, port = parts[0], parts[1], parts[2]
	default:
		return "", "", "", apierrors.NewBadRequest(fmt.Sprintf("invalid request %q", id))
	}
	if name == "" || (scheme != "" && scheme != "http" && scheme != "https") {
		return "", "", "", apierrors.NewBadRequest(fmt.Sprintf("invalid request %q", id))
	}
	return scheme, name, port, nil
}

// podProxyLocation is the kubelet path that reaches port of the pod (its
// first declared container port when none is given).
func (h *Handler) podProxyLocation(ctx context.Context, s Served, ns, scheme, name, port string) (*url.URL, http.RoundTripper, error) {
	pod, err := getPod(ctx, s, requestInfo{Namespace: ns, Name: name})
	if err != nil {
		return nil, nil, err
	}
	if port == "" {
		port = firstContainerPort(pod)
	}
	return h.viaKubelet(ctx, pod, scheme, port)
}

func firstContainerPort(pod *corev1.Pod) string {
	for _, c := range pod.GetSpec().GetContainers() {
		if ports := c.GetPorts(); len(ports) > 0 {
			return strconv.Itoa(int(ports[0].GetContainerPort()))
		}
	}
	return ""
}

// viaKubelet is the URL of the pod's port behind its node's kubelet.
func (h *Handler) viaKubelet(ctx context.Context, pod *corev1.Pod, scheme, port string) (*url.URL, http.RoundTripper, error) {
	if scheme == "" {
		scheme = "http"
	}
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("invalid port %q for pod %s", port, pod.GetMetadata().GetName()))
	}
	base, rt, err := h.podKubelet(ctx, pod)
	if err != nil {
		return nil, nil, err
	}
	m := pod.GetMetadata()
	return kubeletPath(base, nil, "podProxy", scheme, m.GetNamespace(), m.GetName(), port), rt, nil
}

// serviceProxyLocation picks one of the Service's ready pod endpoints for
// the named (or numbered) port, at random as Kubernetes does.
func (h *Handler) serviceProxyLocation(ctx context.Context, s Served, ns, scheme, name, port string) (*url.URL, http.RoundTripper, error) {
	obj, err := s.Backend.Get(ctx, ns, name, registry.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	svc := obj.(*corev1.Service)
	if n, err := strconv.Atoi(port); err == nil {
		port = ""
		found := false
		for _, sp := range svc.GetSpec().GetPorts() {
			if int(sp.GetPort()) == n {
				port, found = sp.GetName(), true
				break
			}
		}
		if !found {
			return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no service port %d found for service %q", n, name))
		}
	}
	eps, ok := h.lookup("", "v1", "endpoints")
	if !ok {
		return nil, nil, apierrors.NewServiceUnavailable("this apiserver serves no endpoints")
	}
	obj, err = eps.Backend.Get(ctx, ns, name, registry.GetOptions{})
	if err != nil {
		return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
	}
	pods, _ := h.lookup("", "v1", "pods")
	for _, cand := range endpointCandidates(obj.(*corev1.Endpoints), port) {
		pod, err := getPod(ctx, pods, requestInfo{Namespace: ns, Name: cand.pod})
		if err != nil || pod.GetStatus().GetPodIp() != cand.ip {
			continue // as Kubernetes, only endpoints that are the pods they name
		}
		return h.viaKubelet(ctx, pod, scheme, strconv.Itoa(int(cand.port)))
	}
	return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
}

// endpoint is a ready pod address for a port of a Service.
type endpoint struct {
	pod, ip string
	port    int32
}

// endpointCandidates lists the ready pod addresses serving the port
// named portName, in a random order.
func endpointCandidates(eps *corev1.Endpoints, portName string) []endpoint {
	var out []endpoint
	for _, ss := range eps.GetSubsets() {
		for _, p := range ss.GetPorts() {
			if p.GetName() != portName {
				continue
			}
			for _, a := range ss.GetAddresses() {
				if ref := a.GetTargetRef(); ref.GetKind() == "Pod" {
					out = append(out, endpoint{pod: ref.GetName(), ip: a.GetIp(), port: p.GetPort()})
				}
			}
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// nodeProxyLocation is the node's kubelet server.
func (h *Handler) nodeProxyLocation(ctx context.Context, name, port string) (*url.URL, http.RoundTripper, error) {
	nodes, ok := h.lookup("", "v1", "nodes")
	if !ok || h.cfg.Kubelets == nil {
		return nil, nil, apierrors.NewServiceUnavailable("this apiserver has no client for kubelets")
	}
	obj, err := nodes.Backend.Get(ctx, "", name, registry.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	node := obj.(*corev1.Node)
	base, rt, err := h.cfg.Kubelets.Location(node)
	if err != nil {
		return nil, nil, apierrors.NewServiceUnavailable(err.Error())
	}
	if port != "" && port != base.Port() {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("node %s: only the kubelet's port %s can be proxied to", name, base.Port()))
	}
	u := *base
	return &u, rt, nil
}
