package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"skiff.dev/e2e/framework"
)

// writeResult is what one create of the writers saw.
type writeResult struct {
	name       string
	code       int // 0: no answer (transport error)
	err        error
	took       time.Duration
	retryAfter string
	status     struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
}

// TestEtcdLeaderKillUnderWriters kills the leader of an external 3-member
// etcd cluster while writers create ConfigMaps through the REST face with
// no client-side retries: every failed create is a 503 or 504 with a
// clean message (a Retry-After only on one that was not applied), none takes longer than the
// request timeout (plus slack for the machine), and every create that was
// acknowledged reads back once etcd has recovered.
func TestEtcdLeaderKillUnderWriters(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	const requestTimeout = 5 * time.Second
	// A correctness bound, not a speed target: a request the server
	// bounds ends at the request timeout; the slack covers a loaded
	// machine's scheduling and the answer's trip back.
	const slack = 5 * time.Second
	cluster := framework.StartEtcdCluster(t, 3)
	srv := framework.StartAPIServer(t, "--etcd-servers", strings.Join(cluster.Endpoints(), ","),
		"--request-timeout", requestTimeout.String())
	httpClient, err := rest.HTTPClientFor(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	// Much longer than the server's bound, so that any request it does
	// not bound shows up as too slow rather than as a client timeout.
	httpClient.Timeout = 2 * time.Minute

	var (
		mu      sync.Mutex
		results []writeResult
	)
	record := func(r writeResult) int {
		mu.Lock()
		defer mu.Unlock()
		results = append(results, r)
		return len(results)
	}
	acked := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, r := range results {
			if r.code == http.StatusCreated {
				n++
			}
		}
		return n
	}
	ctx, stop := context.WithCancel(context.Background())
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; ctx.Err() == nil; i++ {
				record(createConfigMap(srv.URL(), httpClient, fmt.Sprintf("w%d-%d", w, i)))
			}
		}()
	}
	t.Cleanup(func() { stop(); writers.Wait() })

	framework.Eventually(t, time.Minute, "20 acknowledged writes before the kill", func() error {
		if n := acked(); n < 20 {
			return fmt.Errorf("%d acknowledged", n)
		}
		return nil
	})
	leader, err := cluster.Leader()
	if err != nil {
		t.Fatal(err)
	}
	ackedAtKill := acked()
	t.Logf("killing etcd leader %s after %d acknowledged writes", leader.Name, ackedAtKill)
	leader.Kill()
	framework.Eventually(t, 2*time.Minute, "20 acknowledged writes after the kill", func() error {
		if n := acked() - ackedAtKill; n < 20 {
			return fmt.Errorf("%d acknowledged since the kill", n)
		}
		return nil
	})
	stop()
	writers.Wait()
	leader.Restart()

	failed := 0
	for _, r := range results {
		if r.took > requestTimeout+slack {
			t.Errorf("create %s took %s, more than the request timeout %s (+%s slack): %d %s", r.name, r.took, requestTimeout, slack, r.code, r.status.Message)
		}
		if r.code == http.StatusCreated {
			continue
		}
		failed++
		t.Logf("create %s: %d %s after %s: %q", r.name, r.code, r.status.Reason, r.took.Round(time.Millisecond), r.status.Message)
		checkFailure(t, r)
	}
	t.Logf("%d creates, %d failed", len(results), failed)

	// A create answered with Retry-After was not applied: sending it again
	// (as client-go does) makes no second object.
	for _, r := range results {
		if r.code == http.StatusServiceUnavailable && r.retryAfter != "" {
			if err := readConfigMap(srv.URL(), httpClient, r.name); err == nil {
				t.Errorf("create %s was answered 503 with Retry-After, yet it is stored", r.name)
			}
		}
	}
	// Every acknowledged write is there, with its data.
	for _, r := range results {
		if r.code != http.StatusCreated {
			continue
		}
		framework.Eventually(t, time.Minute, "read back "+r.name, func() error {
			return readConfigMap(srv.URL(), httpClient, r.name)
		})
	}
}

// checkFailure asserts what a failed create may be: 503 ServiceUnavailable
// or 504 Timeout, with a message free of etcd's and gRPC's own words.
func checkFailure(t *testing.T, r writeResult) {
	t.Helper()
	switch {
	case r.code == 0:
		t.Errorf("create %s got no answer: %v", r.name, r.err)
		return
	case r.code == http.StatusServiceUnavailable && r.status.Reason == "ServiceUnavailable":
		// With Retry-After only when etcd refused the write before
		// proposing it (checked against the store below); without, the
		// write may yet have been applied.
	case r.code == http.StatusGatewayTimeout && r.status.Reason == "Timeout":
	default:
		t.Errorf("create %s: %d %s %q, want 503 ServiceUnavailable or 504 Timeout", r.name, r.code, r.status.Reason, r.status.Message)
	}
	for _, raw := range []string{"rpc error", "code = ", "etcdserver", "EOF", "/registry/"} {
		if strings.Contains(r.status.Message, raw) {
			t.Errorf("create %s: message %q carries %q", r.name, r.status.Message, raw)
		}
	}
}

func createConfigMap(base string, c *http.Client, name string) writeResult {
	r := writeResult{name: name}
	body := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q},"data":{"name":%q}}`, name, name)
	start := time.Now()
	resp, err := c.Post(base+"/api/v1/namespaces/default/configmaps", "application/json", bytes.NewBufferString(body))
	if err != nil {
		r.err, r.took = err, time.Since(start)
		return r
	}
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	r.took, r.code, r.retryAfter = time.Since(start), resp.StatusCode, resp.Header.Get("Retry-After")
	if err != nil {
		r.err = err
	}
	if resp.StatusCode != http.StatusCreated {
		_ = json.Unmarshal(data, &r.status)
	}
	return r
}

func readConfigMap(base string, c *http.Client, name string) error {
	resp, err := c.Get(base + "/api/v1/namespaces/default/configmaps/" + name)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: %s", name, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&cm); err != nil {
		return err
	}
	if cm.Data["name"] != name {
		return fmt.Errorf("%s holds %v", name, cm.Data)
	}
	return nil
}
