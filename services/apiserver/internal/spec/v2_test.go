package spec

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	openapiproto "k8s.io/kube-openapi/pkg/util/proto"

	appsv1 "skiff.dev/api/apps/v1"
)

func deploymentResource() Resource {
	return Resource{Group: "apps", Version: "v1", Kind: "Deployment", Plural: "deployments", Namespaced: true,
		Subresources: []string{"status", "scale"},
		Object:       (&appsv1.Deployment{}).ProtoReflect().Descriptor(), List: (&appsv1.DeploymentList{}).ProtoReflect().Descriptor()}
}

// TestSwaggerDocumentReadsAsKubectlReadsIt: the v2 document goes through
// gnostic and kube-openapi's model parser, as kubectl's validation and
// explain read it, and keeps what they look for.
func TestSwaggerDocumentReadsAsKubectlReadsIt(t *testing.T) {
	data, err := json.Marshal(SwaggerDocument([]Resource{podResource(), deploymentResource()}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "#/components/") || strings.Contains(string(data), `"oneOf"`) || strings.Contains(string(data), `"requestBody"`) {
		t.Fatalf("v3 constructs left in the v2 document: %.400s", data)
	}
	doc, err := openapiv2.ParseDocument(data)
	if err != nil {
		t.Fatalf("gnostic cannot read the document: %v", err)
	}
	models, err := openapiproto.NewOpenAPIData(doc)
	if err != nil {
		t.Fatalf("kube-openapi cannot read the document: %v", err)
	}
	cases := []struct{ model, field, wantType string }{
		{"io.k8s.api.core.v1.PodSpec", "containers", "array"},
		{"io.k8s.api.apps.v1.DeploymentSpec", "replicas", "integer"},
		{"io.k8s.api.core.v1.ResourceRequirements", "limits", "map"},
	}
	for _, c := range cases {
		kind, ok := models.LookupModel(c.model).(*openapiproto.Kind)
		if !ok {
			t.Errorf("model %s: got %T, want a kind", c.model, models.LookupModel(c.model))
			continue
		}
		f, ok := kind.Fields[c.field]
		if !ok {
			t.Errorf("%s has no field %s", c.model, c.field)
			continue
		}
		if got := typeName(f); got != c.wantType {
			t.Errorf("%s.%s: got type %s, want %s", c.model, c.field, got, c.wantType)
		}
	}
	var found bool
	for _, p := range doc.GetPaths().GetPath() {
		if p.GetName() != "/apis/apps/v1/namespaces/{namespace}/deployments/{name}" {
			continue
		}
		for _, param := range p.GetValue().GetPatch().GetParameters() {
			if param.GetParameter().GetNonBodyParameter().GetQueryParameterSubSchema().GetName() == "fieldValidation" {
				found = true
			}
		}
	}
	if !found {
		t.Error("the Deployment PATCH operation does not list fieldValidation")
	}
}

func typeName(s openapiproto.Schema) string {
	switch s := s.(type) {
	case *openapiproto.Array:
		return "array"
	case *openapiproto.Map:
		return "map"
	case *openapiproto.Primitive:
		return s.Type
	case openapiproto.Reference:
		return "reference"
	}
	return fmt.Sprintf("%T", s)
}

func TestV2IsServedInJSONAndProtobuf(t *testing.T) {
	h := NewHandler([]Resource{podResource()})
	cases := []struct {
		accept   string
		wantCode int
		wantType string
	}{
		{"", http.StatusOK, "application/json"},
		{"application/json", http.StatusOK, "application/json"},
		{mediaV2Protobuf, http.StatusOK, mediaV2ProtobufOld},
		{"text/html", http.StatusNotAcceptable, ""},
	}
	for _, c := range cases {
		t.Run(c.accept, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/openapi/v2", nil)
			req.Header.Set("Accept", c.accept)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.wantCode {
				t.Fatalf("got %d, want %d", rec.Code, c.wantCode)
			}
			if rec.Code != http.StatusOK {
				return
			}
			if got := rec.Header().Get("Content-Type"); got != c.wantType {
				t.Errorf("Content-Type: got %q, want %q", got, c.wantType)
			}
			if c.wantType == mediaV2ProtobufOld {
				var doc openapiv2.Document
				if err := proto.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc.GetSwagger() != "2.0" {
					t.Errorf("protobuf answer: swagger %q, %v", doc.GetSwagger(), err)
				}
			}
			again := httptest.NewRequest("GET", "/openapi/v2", nil)
			again.Header.Set("Accept", c.accept)
			again.Header.Set("If-None-Match", rec.Header().Get("ETag"))
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, again)
			if rec.Code != http.StatusNotModified {
				t.Errorf("with its ETag: got %d, want 304", rec.Code)
			}
		})
	}
}
