package kjson

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"
)

// YAMLToJSON converts a YAML document to JSON; errors name the line.
func YAMLToJSON(data []byte) ([]byte, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	return js, nil
}

// UnmarshalYAML decodes a YAML document into m.
func UnmarshalYAML(data []byte, m proto.Message, opts ...Option) error {
	js, err := YAMLToJSON(data)
	if err != nil {
		return err
	}
	return Unmarshal(js, m, opts...)
}
