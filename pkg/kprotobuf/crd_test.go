package kprotobuf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/pkg/kjson"
)

// testdata/NAME.pb is Kubernetes' protobuf encoding of the
// CustomResourceDefinition in ../kjson/testdata/crd/NAME.yaml, whose
// Kubernetes JSON is NAME.json there (see testdata/README.md for how
// both were made). Read into our messages and written as JSON, the bytes
// must give Kubernetes' JSON: every field landed on the number and wire
// shape Kubernetes gave it.
func TestKubernetesCRDBytes(t *testing.T) {
	files, err := filepath.Glob("testdata/*.pb")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.pb: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".pb")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("..", "kjson", "testdata", "crd", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var crd apiextensionsv1.CustomResourceDefinition
			av, kind, err := Decode(data, &crd)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if av != "apiextensions.k8s.io/v1" || kind != "CustomResourceDefinition" {
				t.Errorf("got type %s %s, want apiextensions.k8s.io/v1 CustomResourceDefinition", av, kind)
			}
			crd.ApiVersion, crd.Kind = av, kind
			got, err := kjson.Marshal(&crd)
			if err != nil {
				t.Fatalf("encode JSON: %v", err)
			}
			if string(got) != strings.TrimSpace(string(want)) {
				t.Errorf("got\n%s\nwant (Kubernetes)\n%s", got, want)
			}

			// Our encoding reads back into the same message.
			ours, err := Encode(&crd, av, kind)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			var back apiextensionsv1.CustomResourceDefinition
			if _, _, err := Decode(ours, &back); err != nil {
				t.Fatalf("decode our bytes: %v", err)
			}
			back.ApiVersion, back.Kind = av, kind
			if !proto.Equal(&crd, &back) {
				t.Errorf("our bytes decode to\n%v\nwant\n%v", &back, &crd)
			}
		})
	}
}
