// Package apiserver tests the apiserver process from outside: bad input,
// built-in or custom resources', is refused with the right Status and
// leaves storage untouched, CRDs whose names clash are not served, and a
// restart keeps every object.
package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"skiff.dev/e2e/framework"
)

// client sends raw requests with the admin token (or without one).
type client struct {
	t        *testing.T
	base     string
	http     *http.Client
	anonymus *http.Client
}

func newClient(t *testing.T, srv *framework.APIServer) *client {
	cfg := srv.RESTConfig()
	authed, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	anon := rest.AnonymousClientConfig(cfg)
	anonymous, err := rest.HTTPClientFor(anon)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: cfg.Host, http: authed, anonymus: anonymous}
}

type status struct {
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details struct {
		Causes []struct {
			Reason string `json:"reason"`
			Field  string `json:"field"`
		} `json:"causes"`
	} `json:"details"`
}

func (c *client) do(hc *http.Client, method, path, contentType string, body []byte) (int, []byte) {
	c.t.Helper()
	return c.doAccept(hc, method, path, contentType, "application/json", body)
}

// doAccept sends a request with the given Accept header.
func (c *client) doAccept(hc *http.Client, method, path, contentType, accept string, body []byte) (int, []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", accept)
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// expectStatus checks the code and that the body is a Failure Status with
// the reason.
func (c *client) expectStatus(code int, data []byte, gotCode int, reason string) status {
	c.t.Helper()
	var st status
	if err := json.Unmarshal(data, &st); err != nil {
		c.t.Fatalf("answer is not a Status: %v: %s", err, data)
	}
	if gotCode != code || st.Kind != "Status" || st.Status != "Failure" || st.Reason != reason || st.Code != code {
		c.t.Fatalf("got %d %s, want %d with reason %s", gotCode, data, code, reason)
	}
	return st
}

func (c *client) get(path string) []byte {
	c.t.Helper()
	code, data := c.do(c.http, "GET", path, "", nil)
	if code != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", path, code, data)
	}
	return data
}

func TestBadInputChangesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t, framework.NoServiceAccounts) // no controller-manager
	c := newClient(t, srv)
	const cms = "/api/v1/namespaces/default/configmaps"
	code, data := c.do(c.http, "POST", cms, "application/json", []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"keep"},"data":{"a":"1"}}`))
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, data)
	}
	var stored struct {
		Metadata struct{ ResourceVersion string } `json:"metadata"`
	}
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	before := c.get(cms + "/keep")
	listBefore := listItems(t, c.get(cms))

	t.Run("malformed JSON is a 400", func(t *testing.T) {
		code, data := c.do(c.http, "POST", cms, "application/json", []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"`))
		c.expectStatus(400, data, code, "BadRequest")
	})
	t.Run("malformed YAML is a 400", func(t *testing.T) {
		code, data := c.do(c.http, "POST", cms, "application/yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n"))
		c.expectStatus(400, data, code, "BadRequest")
	})
	t.Run("an invalid object is a 422 with causes", func(t *testing.T) {
		code, data := c.do(c.http, "POST", "/api/v1/namespaces/default/pods", "application/json",
			[]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"Bad_Name"},"spec":{"containers":[]}}`))
		st := c.expectStatus(422, data, code, "Invalid")
		fields := map[string]string{}
		for _, cause := range st.Details.Causes {
			fields[cause.Field] = cause.Reason
		}
		if fields["metadata.name"] != "FieldValueInvalid" || fields["spec.containers"] != "FieldValueRequired" {
			t.Fatalf("causes: %v", fields)
		}
	})
	t.Run("an update with a stale resourceVersion is a 409", func(t *testing.T) {
		code, data := c.do(c.http, "PUT", cms+"/keep", "application/json",
			[]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"keep","resourceVersion":"1"},"data":{"a":"changed"}}`))
		c.expectStatus(409, data, code, "Conflict")
	})
	t.Run("an unknown field under Strict is a 400", func(t *testing.T) {
		code, data := c.do(c.http, "PUT", cms+"/keep?fieldValidation=Strict", "application/json",
			[]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"keep","resourceVersion":"`+stored.Metadata.ResourceVersion+`"},"data":{"a":"changed"},"colour":"red"}`))
		st := c.expectStatus(400, data, code, "BadRequest")
		if !strings.Contains(st.Message, `unknown field "colour"`) {
			t.Fatalf("message %q does not name the field", st.Message)
		}
	})
	t.Run("a patch that moves the object is a 400", func(t *testing.T) {
		for _, tc := range []struct{ patchType, patch, message string }{
			{"application/json-patch+json", `[{"op":"replace","path":"/metadata/namespace","value":"kube-system"}]`,
				"the namespace of the provided object does not match the namespace sent on the request"},
			{"application/merge-patch+json", `{"metadata":{"namespace":"kube-system"}}`,
				"the namespace of the provided object does not match the namespace sent on the request"},
			{"application/json-patch+json", `[{"op":"replace","path":"/metadata/name","value":"other"}]`,
				"the name of the object (other) does not match the name on the URL (keep)"},
		} {
			code, data := c.do(c.http, "PATCH", cms+"/keep", tc.patchType, []byte(tc.patch))
			if st := c.expectStatus(400, data, code, "BadRequest"); st.Message != tc.message {
				t.Errorf("%s %s: message %q, want %q", tc.patchType, tc.patch, st.Message, tc.message)
			}
		}
	})
	t.Run("a body over 3 MiB is a 413", func(t *testing.T) {
		big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"` + strings.Repeat("x", 3<<20) + `"}}`
		code, data := c.do(c.http, "POST", cms, "application/json", []byte(big))
		c.expectStatus(413, data, code, "RequestEntityTooLarge")
	})
	t.Run("no token is system:anonymous, refused with a 403", func(t *testing.T) {
		code, data := c.do(c.anonymus, "DELETE", cms+"/keep", "", nil)
		c.expectStatus(403, data, code, "Forbidden")
		code, data = c.do(c.anonymus, "GET", cms, "", nil)
		c.expectStatus(403, data, code, "Forbidden")
	})
	t.Run("a forged token is a 401", func(t *testing.T) {
		req, err := http.NewRequest("DELETE", c.base+cms+"/keep", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer forged")
		resp, err := c.anonymus.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		c.expectStatus(401, data, resp.StatusCode, "Unauthorized")
	})

	if after := c.get(cms + "/keep"); !bytes.Equal(before, after) {
		t.Fatalf("the stored object changed:\nbefore %s\nafter  %s", before, after)
	}
	// The items, not the list's resourceVersion: that is the store's
	// revision, which any other write in the cluster moves on.
	if listAfter := listItems(t, c.get(cms)); !bytes.Equal(listBefore, listAfter) {
		t.Fatalf("the list changed:\nbefore %s\nafter  %s", listBefore, listAfter)
	}
}

// listItems is a list's items as they were served.
func listItems(t *testing.T, list []byte) []byte {
	t.Helper()
	var l struct {
		Items json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(list, &l); err != nil {
		t.Fatalf("list %s: %v", list, err)
	}
	return l.Items
}
