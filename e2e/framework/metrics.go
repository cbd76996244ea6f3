package framework

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SecurePort picks a free loopback port for a component's secure port
// (scheduler, controller-manager, cloud-controller): its address, and the
// flags that serve it there.
func SecurePort(t testing.TB) (string, []string) {
	t.Helper()
	port := FreePort(t)
	return fmt.Sprintf("127.0.0.1:%d", port), []string{"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(port)}
}

// GetSecure fetches https://addr/path of a component's secure port, with a
// bearer token unless it is empty. The port's certificate is self-signed:
// it is not verified.
func GetSecure(addr, path, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "https://"+addr+path, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}}} //nolint:gosec // self-signed test servers
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// MetricSum adds up the samples of a metric (every label set) on a
// component's https://addr/metrics, read as srv's admin; -1 when the
// endpoint does not answer.
func MetricSum(srv *APIServer, addr, name string) float64 {
	code, body, err := GetSecure(addr, "/metrics", srv.AdminToken())
	if err != nil || code != http.StatusOK {
		return -1
	}
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			sum += v
		}
	}
	return sum
}
