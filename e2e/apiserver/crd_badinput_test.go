package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"skiff.dev/e2e/framework"
)

const (
	crdsPath   = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
	thingsV1   = "/apis/bad.e2e.skiff.dev/v1/namespaces/default/things"
	thingsV2   = "/apis/bad.e2e.skiff.dev/v2/namespaces/default/things"
	protobuf   = "application/vnd.kubernetes.protobuf"
	protoMagic = "k8s\x00"
)

// thingCRD serves v1 and keeps v2 unserved.
const thingCRD = `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
 "metadata":{"name":"things.bad.e2e.skiff.dev"},
 "spec":{"group":"bad.e2e.skiff.dev","scope":"Namespaced",
  "names":{"plural":"things","singular":"thing","kind":"Thing"},
  "versions":[
   {"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"},"data":{"type":"string"}}}}}}},
   {"name":"v2","served":false,"storage":false,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"},"data":{"type":"string"}}}}}}}]}}`

// nonStructuralCRD has a property without a type.
const nonStructuralCRD = `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
 "metadata":{"name":"loose.bad.e2e.skiff.dev"},
 "spec":{"group":"bad.e2e.skiff.dev","scope":"Namespaced",
  "names":{"plural":"loose","singular":"loosething","kind":"Loose"},
  "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"description":"no type"}}}}}}}]}}`

// nonStructuralV2CRD has two versions whose schemas differ, the second
// with a property without a type.
const nonStructuralV2CRD = `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
 "metadata":{"name":"looser.bad.e2e.skiff.dev"},
 "spec":{"group":"bad.e2e.skiff.dev","scope":"Namespaced",
  "names":{"plural":"looser","singular":"loosething2","kind":"Looser"},
  "versions":[
   {"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"}}}}}}},
   {"name":"v2","served":true,"storage":false,"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"description":"no type"}}}}}}}]}}`

// TestCustomResourceBadInput: what Kubernetes refuses about CRDs and their
// objects is refused with its code, reason and message, and leaves
// nothing stored.
func TestCustomResourceBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	c := newClient(t, srv)
	c.createCRD(thingCRD, "things.bad.e2e.skiff.dev")
	if code, data := c.do(c.http, "POST", thingsV1, "application/json", []byte(`{"apiVersion":"bad.e2e.skiff.dev/v1","kind":"Thing","metadata":{"name":"keep"},"spec":{"size":1}}`)); code != http.StatusCreated {
		t.Fatalf("create keep: %d %s", code, data)
	}
	listBefore := c.get(thingsV1)
	crdsBefore := c.get(crdsPath)

	t.Run("a schema that is not structural is a 422", func(t *testing.T) {
		// One version, or identical schemas in all: Kubernetes checks the
		// schema as spec.validation (its internal form); different schemas
		// per version are checked where they are.
		for _, tc := range []struct{ name, crd, field string }{
			{"loose.bad.e2e.skiff.dev", nonStructuralCRD, "spec.validation.openAPIV3Schema.properties[spec].properties[size].type"},
			{"looser.bad.e2e.skiff.dev", nonStructuralV2CRD, "spec.versions[1].schema.openAPIV3Schema.properties[spec].properties[size].type"},
		} {
			c := newClient(t, srv)
			code, data := c.do(c.http, "POST", crdsPath, "application/json", []byte(tc.crd))
			st := c.expectStatus(422, data, code, "Invalid")
			want := fmt.Sprintf(`CustomResourceDefinition.apiextensions.k8s.io %q is invalid: %s: Required value: must not be empty for specified object fields`, tc.name, tc.field)
			if !strings.Contains(st.Message, want) {
				t.Errorf("message: got %q, want it to contain %q", st.Message, want)
			}
			if !causedBy(st, tc.field, "FieldValueRequired") {
				t.Errorf("causes: got %+v, want %s FieldValueRequired", st.Details.Causes, tc.field)
			}
			code, data = c.do(c.http, "GET", crdsPath+"/"+tc.name, "", nil)
			c.expectStatus(404, data, code, "NotFound")
		}
	})
	t.Run("a custom object over the body limit is a 413", func(t *testing.T) {
		c := newClient(t, srv)
		big := `{"apiVersion":"bad.e2e.skiff.dev/v1","kind":"Thing","metadata":{"name":"big"},"spec":{"data":"` + strings.Repeat("x", 3<<20) + `"}}`
		code, data := c.do(c.http, "POST", thingsV1, "application/json", []byte(big))
		c.expectStatus(413, data, code, "RequestEntityTooLarge")
		code, data = c.do(c.http, "GET", thingsV1+"/big", "", nil)
		c.expectStatus(404, data, code, "NotFound")
	})
	t.Run("a version that is not served is a 404", func(t *testing.T) {
		c := newClient(t, srv)
		code, data := c.do(c.http, "POST", thingsV2, "application/json", []byte(`{"apiVersion":"bad.e2e.skiff.dev/v2","kind":"Thing","metadata":{"name":"v2"},"spec":{"size":2}}`))
		c.expectStatus(404, data, code, "NotFound")
		code, data = c.do(c.http, "GET", thingsV2+"/keep", "", nil)
		c.expectStatus(404, data, code, "NotFound")
		code, data = c.do(c.http, "GET", thingsV2, "", nil)
		c.expectStatus(404, data, code, "NotFound")
		code, data = c.do(c.http, "GET", "/apis/bad.e2e.skiff.dev/v2", "", nil)
		if code != http.StatusNotFound {
			t.Errorf("discovery of the unserved version: got %d %s, want 404", code, data)
		}
	})
	t.Run("protobuf alone is a 406", func(t *testing.T) {
		c := newClient(t, srv)
		for _, path := range []string{thingsV1 + "/keep", thingsV1} {
			code, ctype, data := c.send("GET", path, protobuf, "", nil)
			st, err := decodeStatus(ctype, data)
			if err != nil || code != http.StatusNotAcceptable || st.Reason != metav1.StatusReasonNotAcceptable || st.Code != http.StatusNotAcceptable {
				t.Errorf("GET %s accepting protobuf: got %d %s %q (%v), want 406 with a NotAcceptable Status", path, code, ctype, data, err)
			}
			if want := "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"; err == nil && !strings.HasPrefix(st.Message, want) {
				t.Errorf("GET %s accepting protobuf: message %q, want it to begin %q", path, st.Message, want)
			}
		}
		code, ctype, data := c.send("POST", thingsV1, protobuf, "application/json", []byte(`{"apiVersion":"bad.e2e.skiff.dev/v1","kind":"Thing","metadata":{"name":"proto"}}`))
		if code != http.StatusNotAcceptable {
			t.Errorf("POST accepting protobuf: got %d %s %q, want 406 before anything is created", code, ctype, data)
		}
		code, data = c.do(c.http, "GET", thingsV1+"/proto", "", nil)
		c.expectStatus(404, data, code, "NotFound")
	})
	t.Run("protobuf then JSON gets JSON", func(t *testing.T) {
		c := newClient(t, srv)
		code, ctype, data := c.send("GET", thingsV1+"/keep", protobuf+", application/json", "", nil)
		var got struct{ Kind string }
		if err := json.Unmarshal(data, &got); err != nil || code != http.StatusOK || !strings.HasPrefix(ctype, "application/json") || got.Kind != "Thing" {
			t.Errorf("GET keep accepting protobuf, then JSON: got %d %s %q, want 200 with the Thing in JSON", code, ctype, data)
		}
	})
	t.Run("metadata in protobuf is served", func(t *testing.T) {
		// What Kubernetes' own metadata clients ask for (the garbage
		// collector's, the namespace controller's).
		c := newClient(t, srv)
		code, ctype, data := c.send("GET", thingsV1+"/keep", protobuf+";as=PartialObjectMetadata;g=meta.k8s.io;v=v1", "", nil)
		var meta metav1.PartialObjectMetadata
		if err := decodeProtobuf(data, &meta); err != nil || code != http.StatusOK || !strings.HasPrefix(ctype, protobuf) || meta.Name != "keep" {
			t.Errorf("GET keep as PartialObjectMetadata in protobuf: got %d %s %q (%v), want 200 with keep's metadata in protobuf", code, ctype, data, err)
		}
	})

	if after := c.get(thingsV1); !bytes.Equal(listBefore, after) {
		t.Errorf("the things changed:\nbefore %s\nafter  %s", listBefore, after)
	}
	if after := c.get(crdsPath); !bytes.Equal(crdsBefore, after) {
		t.Errorf("the CRDs changed:\nbefore %s\nafter  %s", crdsBefore, after)
	}
}

// TestCustomResourceNamesConflict: a CRD asking for a kind or a short name
// another CRD of its group holds is stored, but its names are not
// accepted, it is not established and its resource is not served; once
// the holder is deleted it is.
func TestCustomResourceNamesConflict(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	c := newClient(t, srv)
	crd := func(plural, kind, listKind, shortName string) string {
		return fmt.Sprintf(`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
 "metadata":{"name":"%s.clash.e2e.skiff.dev"},
 "spec":{"group":"clash.e2e.skiff.dev","scope":"Namespaced",
  "names":{"plural":%q,"kind":%q,"listKind":%q,"shortNames":[%q]},
  "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`,
			plural, plural, kind, listKind, shortName)
	}
	const group = "/apis/clash.e2e.skiff.dev/v1"
	c.createCRD(crd("alphas", "Alpha", "AlphaList", "al"), "alphas.clash.e2e.skiff.dev")
	// betas asks for Alpha but a list kind of its own (a listKind
	// defaulted to AlphaList would clash too, and ListKindConflict,
	// checked last, would be the reason).
	for _, body := range []string{crd("betas", "Alpha", "BetaList", "be"), crd("gammas", "Gamma", "GammaList", "al")} {
		if code, data := c.do(c.http, "POST", crdsPath, "application/json", []byte(body)); code != http.StatusCreated {
			t.Fatalf("create a conflicting CRD: got %d %s, want 201: the conflict is a condition, not a refusal", code, data)
		}
	}

	for _, tc := range []struct{ plural, reason, message string }{
		{"betas", "KindConflict", `"Alpha" is already in use`},
		{"gammas", "ShortNamesConflict", `"al" is already in use`},
	} {
		name := tc.plural + ".clash.e2e.skiff.dev"
		framework.Eventually(t, 30*time.Second, name+" has its names refused", func() error {
			conds := c.conditions(name)
			names, est := conds["NamesAccepted"], conds["Established"]
			if names.Status != "False" || names.Reason != tc.reason || names.Message != tc.message {
				return fmt.Errorf("NamesAccepted %+v, want False %s %q", names, tc.reason, tc.message)
			}
			if est.Status != "False" || est.Reason != "NotAccepted" {
				return fmt.Errorf("Established %+v, want False NotAccepted", est)
			}
			return nil
		})
		code, data := c.do(c.http, "GET", group+"/namespaces/default/"+tc.plural, "", nil)
		c.expectStatus(404, data, code, "NotFound")
		code, data = c.do(c.http, "POST", group+"/namespaces/default/"+tc.plural, "application/json",
			[]byte(`{"apiVersion":"clash.e2e.skiff.dev/v1","kind":"Alpha","metadata":{"name":"x"}}`))
		c.expectStatus(404, data, code, "NotFound")
	}
	if got := c.discovered(group); strings.Join(got, " ") != "alphas" {
		t.Errorf("discovery of %s: got %v, want alphas alone", group, got)
	}

	// The holder goes: both are accepted, established and served.
	if code, data := c.do(c.http, "DELETE", crdsPath+"/alphas.clash.e2e.skiff.dev", "", nil); code != http.StatusOK {
		t.Fatalf("delete alphas: %d %s", code, data)
	}
	for _, plural := range []string{"betas", "gammas"} {
		name := plural + ".clash.e2e.skiff.dev"
		framework.Eventually(t, 30*time.Second, name+" is established once alphas is gone", func() error {
			conds := c.conditions(name)
			if conds["NamesAccepted"].Status != "True" || conds["Established"].Status != "True" {
				return fmt.Errorf("conditions %+v", conds)
			}
			return nil
		})
		framework.Eventually(t, 30*time.Second, plural+" is served", func() error {
			if code, data := c.do(c.http, "GET", group+"/namespaces/default/"+plural, "", nil); code != http.StatusOK {
				return fmt.Errorf("GET %s: %d %s", plural, code, data)
			}
			return nil
		})
	}
}

// send sends a request with an Accept header and returns the code, the
// Content-Type and the body.
func (c *client) send(method, path, accept, contentType string, body []byte) (int, string, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), buf.Bytes()
}

// createCRD creates a CRD and waits until it is Established.
func (c *client) createCRD(body, name string) {
	c.t.Helper()
	if code, data := c.do(c.http, "POST", crdsPath, "application/json", []byte(body)); code != http.StatusCreated {
		c.t.Fatalf("create the CRD %s: %d %s", name, code, data)
	}
	framework.Eventually(c.t, 30*time.Second, name+" is Established", func() error {
		if est := c.conditions(name)["Established"]; est.Status != "True" {
			return fmt.Errorf("Established %+v", est)
		}
		return nil
	})
}

type crdCondition struct{ Status, Reason, Message string }

// conditions reads a CRD's conditions by type.
func (c *client) conditions(name string) map[string]crdCondition {
	c.t.Helper()
	var crd struct {
		Status struct {
			Conditions []struct {
				Type string
				crdCondition
			}
		}
	}
	if err := json.Unmarshal(c.get(crdsPath+"/"+name), &crd); err != nil {
		c.t.Fatal(err)
	}
	out := map[string]crdCondition{}
	for _, cond := range crd.Status.Conditions {
		out[cond.Type] = cond.crdCondition
	}
	return out
}

// discovered lists the resources discovery names in a group version.
func (c *client) discovered(groupVersion string) []string {
	c.t.Helper()
	var list struct{ Resources []struct{ Name string } }
	if err := json.Unmarshal(c.get(groupVersion), &list); err != nil {
		c.t.Fatal(err)
	}
	var names []string
	for _, r := range list.Resources {
		names = append(names, r.Name)
	}
	return names
}

// causedBy is whether the Status has a cause of the reason on field.
func causedBy(st status, field, reason string) bool {
	for _, cause := range st.Details.Causes {
		if cause.Field == field && cause.Reason == reason {
			return true
		}
	}
	return false
}

// decodeStatus reads a Status in JSON or in Kubernetes' protobuf, as the
// Content-Type says.
func decodeStatus(contentType string, data []byte) (*metav1.Status, error) {
	var st metav1.Status
	if strings.HasPrefix(contentType, protobuf) {
		return &st, decodeProtobuf(data, &st)
	}
	return &st, json.Unmarshal(data, &st)
}

// decodeProtobuf reads Kubernetes' protobuf envelope (the magic prefix and
// a runtime.Unknown) into obj.
func decodeProtobuf(data []byte, obj interface{ Unmarshal([]byte) error }) error {
	if !bytes.HasPrefix(data, []byte(protoMagic)) {
		return fmt.Errorf("no protobuf envelope")
	}
	var unk runtime.Unknown
	if err := unk.Unmarshal(data[len(protoMagic):]); err != nil {
		return err
	}
	return obj.Unmarshal(unk.Raw)
}
