package rest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// KubeletConnector tells how to reach a node's kubelet: the base URL of
// its HTTPS server and a transport that authenticates to it.
type KubeletConnector interface {
	Location(node *corev1.Node) (*url.URL, http.RoundTripper, error)
}

// servePodStream serves pods/log, pods/exec, pods/attach and
// pods/portforward by proxying to the kubelet of the pod's node.
func (h *Handler) servePodStream(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	if s.Resource.Group != "" || s.Resource.Plural != "pods" {
		writeError(w, r, apierrors.NewNotFound(s.Resource.ErrorResource(), info.Name+"/"+info.Subresource))
		return
	}
	switch {
	case info.Subresource == "log" && r.Method == http.MethodGet:
		h.podLog(w, r, info, s)
	case info.Subresource != "log" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		h.podUpgrade(w, r, info, s)
	default:
		writeError(w, r, apierrors.NewMethodNotSupported(s.Resource.ErrorResource(), r.Method+" "+info.Subresource))
	}
}

// getPod reads the pod a subresource request names.
func getPod(ctx context.Context, s Served, info requestInfo) (*corev1.Pod, error) {
	obj, err := s.Backend.Get(ctx, info.Namespace, info.Name, registry.GetOptions{})
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("pods backend returned %T", obj)
	}
	return pod, nil
}

// podContainer resolves the container a request names: the pod's only
// container when none is named.
func podContainer(pod *corev1.Pod, name string) (string, error) {
	spec := pod.GetSpec()
	names := func(cs []*corev1.Container) []string {
		out := make([]string, 0, len(cs))
		for _, c := range cs {
			out = append(out, c.GetName())
		}
		return out
	}
	containers, inits := names(spec.GetContainers()), names(spec.GetInitContainers())
	var ephemeral []*corev1.Container
	for _, ec := range spec.GetEphemeralContainers() {
		ephemeral = append(ephemeral, ec.GetEphemeralContainerCommon())
	}
	podName := pod.GetMetadata().GetName()
	if name == "" {
		if len(containers) == 1 {
			return containers[0], nil
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", podName, containers)
		if len(inits) > 0 {
			msg += fmt.Sprintf(" or one of the init containers: %v", inits)
		}
		return "", apierrors.NewBadRequest(msg)
	}
	if !slices.Contains(containers, name) && !slices.Contains(inits, name) && !slices.Contains(names(ephemeral), name) {
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, podName))
	}
	return name, nil
}

// podKubelet finds the kubelet of the pod's node.
func (h *Handler) podKubelet(ctx context.Context, pod *corev1.Pod) (*url.URL, http.RoundTripper, error) {
	nodeName := pod.GetSpec().GetNodeName()
	if nodeName == "" {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.GetMetadata().GetName()))
	}
	if h.cfg.Kubelets == nil {
		return nil, nil, apierrors.NewServiceUnavailable("this apiserver has no client for kubelets")
	}
	nodes, ok := h.lookup("", "v1", "nodes")
	if !ok {
		return nil, nil, apierrors.NewServiceUnavailable("this apiserver serves no nodes")
	}
	obj, err := nodes.Backend.Get(ctx, "", nodeName, registry.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return nil, nil, fmt.Errorf("nodes backend returned %T", obj)
	}
	base, rt, err := h.cfg.Kubelets.Location(node)
	if err != nil {
		return nil, nil, apierrors.NewServiceUnavailable(err.Error())
	}
	return base, rt, nil
}

// kubeletPath joins the kubelet's base URL with a path of escaped segments.
func kubeletPath(base *url.URL, query url.Values, segments ...string) *url.URL {
	u := *base
	for _, s := range segments {
		u.Path += "/" + url.PathEscape(s)
	}
	u.RawPath = u.Path
	u.Path, _ = url.PathUnescape(u.Path)
	u.RawQuery = query.Encode()
	return &u
}

// kubeletFailure is the error a kubelet's non-success answer stands for:
// its Status when it sent one. A kubelet that refuses the apiserver is a
// configuration problem, not the user's credentials.
func kubeletFailure(node string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	st := &metav1.Status{}
	if kjson.Unmarshal(body, st) != nil || st.GetKind() != "Status" {
		st = apierrors.NewBadRequest(string(body)).Status
		st.Reason = ""
	}
	st.Code = int32(resp.StatusCode)
	if st.Reason == "" {
		st.Reason = reasonFor(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return apierrors.NewInternalError(fmt.Errorf("the kubelet on node %s refused the apiserver (%s): %s; "+
			"its --client-ca-file must hold the CA of the apiserver's kubelet client certificate", node, resp.Status, st.GetMessage()))
	}
	return &apierrors.StatusError{Status: st}
}

func reasonFor(code int) string {
	switch code {
	case http.StatusBadRequest:
		return apierrors.ReasonBadRequest
	case http.StatusNotFound:
		return apierrors.ReasonNotFound
	case http.StatusServiceUnavailable:
		return apierrors.ReasonServiceUnavailable
	}
	return apierrors.ReasonInternalError
}

// unreachable is the error for a kubelet that did not answer.
func unreachable(node string, err error) error {
	return apierrors.NewServiceUnavailable(fmt.Sprintf("the kubelet on node %s cannot be reached: %v", node, err))
}
