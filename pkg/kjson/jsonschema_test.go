package kjson

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

// testdata/crd holds CustomResourceDefinition manifests (NAME.yaml) and
// the JSON Kubernetes writes for each (NAME.json): the manifest decoded
// strictly into k8s.io/apiextensions-apiserver v0.34.4's
// apiextensions/v1 types, as the apiserver decodes a request, and
// encoded with encoding/json, as the apiserver encodes an answer.
func TestCRDManifestsAsKubernetesWritesThem(t *testing.T) {
	manifests, err := filepath.Glob("testdata/crd/*.yaml")
	if err != nil || len(manifests) == 0 {
		t.Fatalf("no manifests in testdata/crd: %v", err)
	}
	for _, path := range manifests {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			manifest, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(path, ".yaml") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			want = []byte(strings.TrimSpace(string(want)))

			var crd apiextensionsv1.CustomResourceDefinition
			if err := UnmarshalYAML(manifest, &crd, Strict()); err != nil {
				t.Fatalf("decode the manifest: %v", err)
			}
			got, err := Marshal(&crd)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if string(got) != string(want) {
				t.Errorf("got\n%s\nwant (Kubernetes)\n%s", got, want)
			}

			// Kubernetes' own JSON reads back into the same object.
			var again apiextensionsv1.CustomResourceDefinition
			if err := Unmarshal(want, &again, Strict()); err != nil {
				t.Fatalf("decode Kubernetes' JSON: %v", err)
			}
			if !proto.Equal(&crd, &again) {
				t.Errorf("Kubernetes' JSON decodes to\n%v\nwant\n%v", &again, &crd)
			}
		})
	}
}

// TestSchemaValuesAsKubernetes: each input is decoded into a
// JSONSchemaProps and encoded again; want is what Kubernetes' types
// (v0.34.4) make of the same input through encoding/json.
func TestSchemaValuesAsKubernetes(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"items schema", `{"items":{"type":"string"}}`, `{"items":{"type":"string"}}`},
		{"items empty schema", `{"items":{}}`, `{"items":{}}`},
		{"items list", `{"items":[{"type":"string"},{"type":"integer"}]}`, `{"items":[{"type":"string"},{"type":"integer"}]}`},
		{"items list with null", `{"items":[null,{}]}`, `{"items":[{},{}]}`},
		{"items empty list", `{"items":[]}`, `{"items":null}`},
		{"items boolean", `{"items":true}`, `{"items":null}`},
		{"items string", `{"items":"x"}`, `{"items":null}`},
		{"items null", `{"items":null}`, `{}`},
		{"items last of two", `{"items":{"type":"string"},"items":[{"type":"integer"}]}`, `{"items":[{"type":"integer"}]}`},
		{"additionalProperties false", `{"additionalProperties":false}`, `{"additionalProperties":false}`},
		{"additionalProperties true", `{"additionalProperties":true}`, `{"additionalProperties":true}`},
		{"additionalProperties schema", `{"additionalProperties":{"type":"string"}}`, `{"additionalProperties":{"type":"string"}}`},
		{"additionalProperties empty schema", `{"additionalProperties":{}}`, `{"additionalProperties":{}}`},
		{"additionalProperties null", `{"additionalProperties":null}`, `{}`},
		{"additionalProperties last of two", `{"additionalProperties":{"type":"string"},"additionalProperties":false}`, `{"additionalProperties":false}`},
		{"additionalItems schema", `{"additionalItems":{"type":"string"}}`, `{"additionalItems":{"type":"string"}}`},
		{"dependencies", `{"dependencies":{"x":null,"y":[],"z":{},"w":5,"v":["a"],"u":{"type":"object"}}}`,
			`{"dependencies":{"u":{"type":"object"},"v":["a"],"w":null,"x":null,"y":null,"z":{}}}`},
		{"enum of every type", `{"enum":[null,1,"a",{"b":[ 1 ]},true,[]]}`, `{"enum":[null,1,"a",{"b":[1]},true,[]]}`},
		{"default and example null", `{"default":null,"example":null}`, `{}`},
		{"default object kept in order, compact, escaped", `{"default":{ "b" : "<&>", "a" : [ 1.50, 2 ] }}`, `{"default":{"b":"\u003c\u0026\u003e","a":[1.50,2]}}`},
		{"default zero", `{"default":0}`, `{"default":0}`},
		{"default empty string", `{"default":""}`, `{"default":""}`},
		{"default empty list", `{"default":[]}`, `{"default":[]}`},
		{"default empty object", `{"default":{}}`, `{"default":{}}`},
		{"default false", `{"default":false}`, `{"default":false}`},
		{"numbers", `{"maximum":1e21,"minimum":1e-7,"multipleOf":0.000001}`, `{"maximum":1e+21,"minimum":1e-7,"multipleOf":0.000001}`},
		{"more numbers", `{"maximum":100000000000000000000,"minimum":-0.0000001}`, `{"maximum":100000000000000000000,"minimum":-1e-7}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p apiextensionsv1.JSONSchemaProps
			if err := Unmarshal([]byte(tt.in), &p); err != nil {
				t.Fatalf("decode %s: %v", tt.in, err)
			}
			got, err := Marshal(&p)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("%s: got %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestSchemaOrBoolRefusesOtherValues(t *testing.T) {
	for _, in := range []string{`1`, `"yes"`, `[]`} {
		var p apiextensionsv1.JSONSchemaProps
		err := Unmarshal([]byte(`{"additionalProperties":`+in+`}`), &p)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Path != "additionalProperties" || !strings.Contains(fe.Msg, "expected a boolean or a schema object") {
			t.Errorf("additionalProperties %s: got %v, want a FieldError at additionalProperties", in, err)
		}
	}
}

// TestStrictInsideSchemaWrappers: Kubernetes reports unknown and
// duplicate fields of a schema, and of the schemas under properties, but
// not of those under items or additionalProperties, which its custom
// decoders read leniently (checked against v0.34.4's strict decoding).
func TestStrictInsideSchemaWrappers(t *testing.T) {
	in := `{"spec":{"versions":[{"name":"v1","schema":{"openAPIV3Schema":{"bogus":1,"properties":{"a":{"bogus2":1,` +
		`"items":{"bogus3":1,"type":"string","type":"x"},"additionalProperties":{"bogus4":true}}}}}}]}}`
	var crd apiextensionsv1.CustomResourceDefinition
	err := Unmarshal([]byte(in), &crd, Strict())
	var strict *StrictError
	if !errors.As(err, &strict) {
		t.Fatalf("got %v, want a StrictError", err)
	}
	want := []string{
		`unknown field "spec.versions[0].schema.openAPIV3Schema.bogus"`,
		`unknown field "spec.versions[0].schema.openAPIV3Schema.properties.a.bogus2"`,
	}
	if strings.Join(strict.Problems, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", strict.Problems, want)
	}
	items := crd.GetSpec().GetVersions()[0].GetSchema().GetOpenApiV3Schema().GetProperties()["a"].GetItems().GetSchema()
	if items.GetType() != "x" {
		t.Errorf("items type: got %q, want the last of the duplicates, x", items.GetType())
	}
}

// TestFloatsAsEncodingJSON: doubles are written as encoding/json, and so
// Kubernetes, writes them.
func TestFloatsAsEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1.5, 0.25, 1e-6, 9.99e-7, 1e-7, -1e-7, 1.5e-300,
		1e20, 1e21, 123456789e15, math.MaxFloat64, math.SmallestNonzeroFloat64, 1.0 / 3} {
		want, _ := json.Marshal(f)
		got, err := appendFloat(nil, f, 64)
		if err != nil || string(got) != string(want) {
			t.Errorf("float64 %v: got %s (%v), want %s", f, got, err, want)
		}
		f32 := float32(f)
		if math.IsInf(float64(f32), 0) {
			continue
		}
		want, _ = json.Marshal(f32)
		got, err = appendFloat(nil, float64(f32), 32)
		if err != nil || string(got) != string(want) {
			t.Errorf("float32 %v: got %s (%v), want %s", f32, got, err, want)
		}
	}
	if _, err := appendFloat(nil, math.NaN(), 64); err == nil {
		t.Error("NaN: got nil, want an error")
	}
}

// FuzzCRDEncodingSettles: what the codec writes, read and written again,
// settles after one round. (Not at once: as in Kubernetes, a wrapper that
// holds nothing, such as items: true, is written as null, which reads
// back as no wrapper at all.)
func FuzzCRDEncodingSettles(f *testing.F) {
	f.Add([]byte(`{"spec":{"versions":[{"name":"v1","schema":{"openAPIV3Schema":{"items":[{"default":{"a":1}}],"additionalProperties":false}}}]}}`))
	f.Add([]byte(`{"spec":{"versions":[{"schema":{"openAPIV3Schema":{"dependencies":{"a":["b"],"c":{"enum":[null,1]}},"items":true}}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out [3][]byte
		for i := range out {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := Unmarshal(data, &crd); err != nil {
				if i == 0 {
					return
				}
				t.Fatalf("re-decode of %s: %v", data, err)
			}
			var err error
			if out[i], err = Marshal(&crd); err != nil {
				if i == 0 {
					return
				}
				t.Fatalf("re-encode of %s: %v", data, err)
			}
			data = out[i]
		}
		if string(out[1]) != string(out[2]) {
			t.Fatalf("encoding still changes after a round trip:\n%s\n%s", out[1], out[2])
		}
	})
}
