package pods

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// action is what a probe or a lifecycle hook does; one field is set.
type action struct {
	exec  *corev1.ExecAction
	http  *corev1.HTTPGetAction
	tcp   *corev1.TCPSocketAction
	grpc  *corev1.GRPCAction
	sleep *corev1.SleepAction
}

// runAction performs an action against a container. A nil error is
// success; the error says what failed, for events and logs.
func runAction(ctx context.Context, rt runtimeapi.RuntimeServiceClient, a action, spec *corev1.Container, containerID, podIP string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case a.exec != nil:
		resp, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: containerID, Cmd: a.exec.GetCommand(),
			Timeout: int64(max(timeout/time.Second, 1))})
		if err != nil {
			return fmt.Errorf("exec %v: %w", a.exec.GetCommand(), err)
		}
		if resp.GetExitCode() != 0 {
			return fmt.Errorf("command %v exited with %d: %s", a.exec.GetCommand(), resp.GetExitCode(),
				strings.TrimSpace(string(resp.GetStdout())+string(resp.GetStderr())))
		}
		return nil
	case a.http != nil:
		return httpGet(ctx, a.http, spec, podIP)
	case a.tcp != nil:
		port, err := resolvePort(a.tcp.GetPort(), spec)
		if err != nil {
			return err
		}
		host := a.tcp.GetHost()
		if host == "" {
			host = podIP
		}
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("dial tcp %s:%d: %w", host, port, err)
		}
		return conn.Close()
	case a.grpc != nil:
		return grpcHealth(ctx, a.grpc, podIP)
	case a.sleep != nil:
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Duration(a.sleep.GetSeconds()) * time.Second):
			return nil
		}
	}
	return fmt.Errorf("no action given")
}

// httpGet succeeds on a 2xx or 3xx answer, as Kubernetes' probes do.
func httpGet(ctx context.Context, h *corev1.HTTPGetAction, spec *corev1.Container, podIP string) error {
	port, err := resolvePort(h.GetPort(), spec)
	if err != nil {
		return err
	}
	host := h.GetHost()
	if host == "" {
		host = podIP
	}
	scheme := strings.ToLower(h.GetScheme())
	if scheme == "" {
		scheme = "http"
	}
	path := h.GetPath()
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-probe/1.32")
	for _, hd := range h.GetHttpHeaders() {
		if strings.EqualFold(hd.GetName(), "Host") {
			req.Host = hd.GetValue()
			continue
		}
		req.Header.Add(hd.GetName(), hd.GetValue())
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true} //nolint:gosec // probes do not verify, as Kubernetes'
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 10<<10))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP probe failed with statuscode: %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

func grpcHealth(ctx context.Context, g *corev1.GRPCAction, podIP string) error {
	conn, err := grpc.NewClient(net.JoinHostPort(podIP, strconv.Itoa(int(g.GetPort()))), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: g.GetService()})
	if err != nil {
		return fmt.Errorf("gRPC health check: %w", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("service unhealthy (responded with %q)", resp.GetStatus())
	}
	return nil
}

// resolvePort reads a port number, or looks a named port up among the
// container's ports.
func resolvePort(p *metav1.IntOrString, spec *corev1.Container) (int, error) {
	if p.GetType() == 0 {
		return int(p.GetIntVal()), nil
	}
	for _, cp := range spec.GetPorts() {
		if cp.GetName() == p.GetStrVal() {
			return int(cp.GetContainerPort()), nil
		}
	}
	if n, err := strconv.Atoi(p.GetStrVal()); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("container %s has no port named %q", spec.GetName(), p.GetStrVal())
}

// runHook runs a lifecycle hook.
func (m *Manager) runHook(ctx context.Context, h *corev1.LifecycleHandler, spec *corev1.Container, containerID, podIP string, grace int64) error {
	a := action{exec: h.GetExec(), http: h.GetHttpGet(), tcp: h.GetTcpSocket(), sleep: h.GetSleep()}
	return runAction(ctx, m.rt, a, spec, containerID, podIP, time.Duration(max(grace, 1))*time.Second)
}
