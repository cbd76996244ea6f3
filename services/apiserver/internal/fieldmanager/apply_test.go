package fieldmanager

import (
	"errors"
	"reflect"
	"testing"
)

const (
	webConfig = `{"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
    "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}}}`
	webReplicas5 = `{"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": 5}}`
	webFields = `{"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:replicas": {}, "f:selector": {},
  "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}`
)

func TestApply(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
		want  string
	}{{
		name:  "creates with one Apply entry",
		steps: []step{applyBy("kubectl", webConfig, t0)},
		want: `{"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}, "managedFields": [
    {"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-03-01T10:00:00Z",
     "fieldsType": "FieldsV1", "fieldsV1": ` + webFields + `}]},
  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
    "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}}}`,
	}, {
		name:  "the same config again changes nothing, time included",
		steps: []step{applyBy("kubectl", webConfig, t0), applyBy("kubectl", webConfig, t1)},
		want: `{"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}, "managedFields": [
    {"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-03-01T10:00:00Z",
     "fieldsType": "FieldsV1", "fieldsV1": ` + webFields + `}]},
  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
    "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}}}`,
	}, {
		name: "force takes the field over",
		steps: []step{applyBy("kubectl", webConfig, t0),
			{apply: true, manager: "scaler", force: true, body: webReplicas5, at: t1}},
		want: `{"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}, "managedFields": [
    {"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-03-01T10:00:00Z",
     "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:selector": {},
       "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}},
    {"manager": "scaler", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-03-01T11:00:00Z",
     "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]},
  "spec": {"replicas": 5, "selector": {"matchLabels": {"app": "web"}},
    "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}}}`,
	}, {
		name: "an update takes the fields it changed",
		steps: []step{applyBy("kubectl", webConfig, t0), updateBy("editor", `{"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
    "template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}}`, t1)},
		want: `{"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}, "managedFields": [
    {"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-03-01T10:00:00Z",
     "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:replicas": {}, "f:selector": {},
       "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:name": {}}}}}}}},
    {"manager": "editor", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-03-01T11:00:00Z",
     "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {"f:image": {}}}}}}}}]},
  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
    "template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}}`,
	}, {
		name: "a field left out of the config goes when only its applier owned it",
		steps: []step{
			applyBy("kubectl", `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}`, t0),
			applyBy("kubectl", `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}`, t1)},
		want: `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "managedFields": [
    {"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": "2026-03-01T11:00:00Z",
     "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}]}, "data": {"a": "1"}}`,
	}, {
		// Neither the second nor the third apply changes the object, so
		// neither sets a time: the second's entry has none.
		name: "a field left out of the config stays while another applier owns it",
		steps: []step{
			applyBy("kubectl", `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}`, t0),
			applyBy("other", `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"b": "2"}}`, t1),
			applyBy("kubectl", `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}`, t2)},
		want: `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "managedFields": [
    {"manager": "other", "operation": "Apply", "apiVersion": "v1",
     "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:b": {}}}},
    {"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": "2026-03-01T10:00:00Z",
     "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}]}, "data": {"a": "1", "b": "2"}}`,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := deployments(t)
			if c.steps[0].body[len(`{"apiVersion": "`)] == 'v' {
				m = configMaps(t)
			}
			got, err := run(t, m, c.steps)
			if err != nil {
				t.Fatal(err)
			}
			wantObject(t, got, c.want)
		})
	}
}

func TestApplyRefused(t *testing.T) {
	cases := []struct {
		name, cfg, want string
	}{{
		name: "another kind",
		cfg:  `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}}`,
		want: "invalid object type: /v1, Kind=ConfigMap",
	}, {
		name: "another version",
		cfg:  `{"apiVersion": "apps/v1beta2", "kind": "Deployment", "metadata": {"name": "web"}}`,
		want: "invalid object type: apps/v1beta2, Kind=Deployment",
	}, {
		name: "no type meta",
		cfg:  `{"metadata": {"name": "web"}}`,
		want: "invalid object type: /, Kind=",
	}, {
		name: "managed fields in the config",
		cfg:  `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "managedFields": []}}`,
		want: "metadata.managedFields must be nil",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := deployments(t).Apply(nil, obj(t, c.cfg), "kubectl", "", false, t0)
			var bad *BadRequestError
			if !errors.As(err, &bad) || bad.Message != c.want {
				t.Fatalf("got %v, want bad request %q", err, c.want)
			}
		})
	}
}

func TestApplyTwiceEqual(t *testing.T) {
	m := deployments(t)
	first := must(t)(m.Apply(nil, obj(t, webConfig), "kubectl", "", false, t0))
	second := must(t)(m.Apply(first, obj(t, webConfig), "kubectl", "", false, t1))
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("got %v, want %v", second, first)
	}
}

func TestApplySchemaError(t *testing.T) {
	cfg := `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": "three"}}`
	_, err := deployments(t).Apply(nil, obj(t, cfg), "kubectl", "", false, t0)
	want := `failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}
