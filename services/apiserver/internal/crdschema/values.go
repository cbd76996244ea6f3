package crdschema

import (
	"encoding/json"
)

// rawJSON is a bad value rendered as the JSON text it holds, the way
// Kubernetes renders values that are not scalars in field errors.
type rawJSON string

func (r rawJSON) String() string { return string(r) }

// badValue is v as a field error should carry it: scalars as they are,
// anything else (objects, lists, null) as its JSON.
func badValue(v any) any {
	switch v.(type) {
	case string, bool, int64, int32, int, float64, float32:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	return rawJSON(b)
}
