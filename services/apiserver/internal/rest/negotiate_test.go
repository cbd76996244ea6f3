package rest

import "testing"

func TestNegotiate(t *testing.T) {
	tests := []struct {
		accept string
		want   encoding
		ok     bool
	}{
		{"", encoding{mediaType: mediaJSON}, true},
		{"application/json", encoding{mediaType: mediaJSON}, true},
		{"*/*", encoding{mediaType: mediaJSON}, true},
		{"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
			encoding{mediaType: mediaJSON, as: "Table"}, true},
		{"application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", encoding{mediaType: mediaJSON}, true},
		{"application/vnd.kubernetes.protobuf,application/json", encoding{mediaType: mediaProtobuf}, true},
		{"application/yaml", encoding{mediaType: mediaYAML}, true},
		{"application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", encoding{mediaType: mediaJSON, as: "PartialObjectMetadataList"}, true},
		{"text/html", encoding{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			got, ok := negotiate(tt.accept)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
