package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
)

// The admission.k8s.io AdmissionReview, as its JSON goes to and comes from
// a webhook. v1 and v1beta1 share the shape; only the apiVersion and how
// strictly the answer is checked differ.

type admissionReview struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Request    *admissionRequest  `json:"request,omitempty"`
	Response   *admissionResponse `json:"response,omitempty"`
}

type groupVersionKind struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

type groupVersionResource struct {
	Group    string `json:"group"`
	Version  string `json:"version"`
	Resource string `json:"resource"`
}

type userInfo struct {
	Username string              `json:"username,omitempty"`
	UID      string              `json:"uid,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

type admissionRequest struct {
	UID                string                `json:"uid"`
	Kind               groupVersionKind      `json:"kind"`
	Resource           groupVersionResource  `json:"resource"`
	SubResource        string                `json:"subResource,omitempty"`
	RequestKind        *groupVersionKind     `json:"requestKind,omitempty"`
	RequestResource    *groupVersionResource `json:"requestResource,omitempty"`
	RequestSubResource string                `json:"requestSubResource,omitempty"`
	Name               string                `json:"name,omitempty"`
	Namespace          string                `json:"namespace,omitempty"`
	Operation          string                `json:"operation"`
	UserInfo           userInfo              `json:"userInfo"`
	// Object and OldObject are null when absent (no object on a delete,
	// no old one on a create), as Kubernetes sends them.
	Object    json.RawMessage `json:"object"`
	OldObject json.RawMessage `json:"oldObject"`
	DryRun    *bool           `json:"dryRun,omitempty"`
	Options   json.RawMessage `json:"options"`
}

type admissionResponse struct {
	UID              string            `json:"uid"`
	Allowed          bool              `json:"allowed"`
	Status           json.RawMessage   `json:"status,omitempty"`
	Patch            []byte            `json:"patch,omitempty"`
	PatchType        *string           `json:"patchType,omitempty"`
	AuditAnnotations map[string]string `json:"auditAnnotations,omitempty"`
	Warnings         []string          `json:"warnings,omitempty"`
}

const admissionGroup = "admission.k8s.io"

// objectsJSON is the write's object and old object as Kubernetes JSON of
// the given version (null when absent): the served version, or an
// equivalent one that only the apiVersion tells apart (the versions of a
// custom resource, which Skiff converts with strategy None).
func objectsJSON(a *attributes, version string) (obj, old json.RawMessage, err error) {
	if obj, err = objectJSON(a, a.w.Object, version); err != nil {
		return nil, nil, err
	}
	if old, err = objectJSON(a, a.w.Old, version); err != nil {
		return nil, nil, err
	}
	return obj, old, nil
}

func objectJSON(a *attributes, m proto.Message, version string) (json.RawMessage, error) {
	if m == nil {
		return json.RawMessage("null"), nil
	}
	m = proto.Clone(m)
	object.SetTypeMeta(m, groupVersion(a.group, version), a.kind)
	return kjson.Marshal(m)
}

func groupVersion(group, version string) string {
	if group == "" {
		return version
	}
	return group + "/" + version
}

// optionsJSON are the write's options, as the meta.k8s.io/v1 options
// kind of its operation.
func optionsJSON(a *attributes) (json.RawMessage, error) {
	w := a.w
	var kind string
	switch a.operation {
	case "CREATE":
		kind = "CreateOptions"
	case "UPDATE":
		kind = "UpdateOptions"
	case "DELETE":
		opts := &metav1.DeleteOptions{}
		if w.DeleteOptions != nil {
			opts = proto.Clone(w.DeleteOptions).(*metav1.DeleteOptions)
		}
		opts.Kind, opts.ApiVersion = "DeleteOptions", "meta.k8s.io/v1"
		return kjson.Marshal(opts)
	default:
		return json.RawMessage("null"), nil
	}
	type writeOptions struct {
		Kind         string   `json:"kind"`
		APIVersion   string   `json:"apiVersion"`
		DryRun       []string `json:"dryRun,omitempty"`
		FieldManager string   `json:"fieldManager,omitempty"`
	}
	o := writeOptions{Kind: kind, APIVersion: "meta.k8s.io/v1", FieldManager: w.FieldManager}
	if w.DryRun {
		o.DryRun = []string{"All"}
	}
	return json.Marshal(o)
}

// requestJSON is the AdmissionRequest sent to inv's webhook (uid empty
// for the match conditions' request variable).
func requestJSON(a *attributes, inv *invocation, uid string, obj, old json.RawMessage) (json.RawMessage, error) {
	req, err := newRequest(a, inv, uid, obj, old)
	if err != nil {
		return nil, err
	}
	return json.Marshal(req)
}

func newRequest(a *attributes, inv *invocation, uid string, obj, old json.RawMessage) (*admissionRequest, error) {
	opts, err := optionsJSON(a)
	if err != nil {
		return nil, err
	}
	dryRun := a.w.DryRun
	req := &admissionRequest{
		UID:                uid,
		Kind:               groupVersionKind{Group: a.group, Version: inv.version, Kind: a.kind},
		Resource:           groupVersionResource{Group: a.group, Version: inv.version, Resource: a.resource},
		SubResource:        a.w.Subresource,
		RequestKind:        &groupVersionKind{Group: a.group, Version: a.version, Kind: a.kind},
		RequestResource:    &groupVersionResource{Group: a.group, Version: a.version, Resource: a.resource},
		RequestSubResource: a.w.Subresource,
		Name:               a.name,
		Namespace:          a.namespace,
		Operation:          a.operation,
		Object:             obj,
		OldObject:          old,
		DryRun:             &dryRun,
		Options:            opts,
	}
	if u := a.user; a.hasUser {
		req.UserInfo = userInfo{Username: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra}
	}
	return req, nil
}

// reviewVersion is the AdmissionReview version to send: the first of the
// webhook's that the apiserver speaks.
func reviewVersion(h *hook) (string, bool) {
	for _, v := range h.reviewVersions {
		if v == "v1" || v == "v1beta1" {
			return v, true
		}
	}
	return "", false
}

// verify checks a webhook's answer as Kubernetes does: a v1 answer must be
// a v1 AdmissionReview for the request's uid; a mutating webhook sends a
// patch and its type together, a validating one neither.
func verify(version, uid string, mutating bool, review *admissionReview) (*admissionResponse, error) {
	r := review.Response
	if r == nil {
		return nil, fmt.Errorf("webhook response was absent")
	}
	if version == "v1beta1" {
		if !mutating {
			r.Patch, r.PatchType = nil, nil
		} else if len(r.Patch) > 0 {
			jsonPatch := "JSONPatch"
			r.PatchType = &jsonPatch
		}
		return r, nil
	}
	if r.UID != uid {
		return nil, fmt.Errorf("expected response.uid=%q, got %q", uid, r.UID)
	}
	if review.APIVersion != admissionGroup+"/v1" || review.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("expected webhook response of %s/v1, Kind=AdmissionReview, got %s, Kind=%s", admissionGroup, review.APIVersion, review.Kind)
	}
	if mutating {
		switch {
		case len(r.Patch) > 0 && r.PatchType == nil:
			return nil, fmt.Errorf("webhook returned response.patch but not response.patchType")
		case len(r.Patch) == 0 && r.PatchType != nil:
			return nil, fmt.Errorf("webhook returned response.patchType but not response.patch")
		case r.PatchType != nil && *r.PatchType == "":
			return nil, fmt.Errorf("webhook returned invalid response.patchType of %q", *r.PatchType)
		}
		return r, nil
	}
	if len(r.Patch) > 0 {
		return nil, fmt.Errorf("validating webhook may not return response.patch")
	}
	if r.PatchType != nil {
		return nil, fmt.Errorf("validating webhook may not return response.patchType")
	}
	return r, nil
}

// denied is the refusal of a webhook that did not allow the write: its
// status, at least a 400 Failure, with the message Kubernetes gives it.
func denied(name string, raw json.RawMessage) *apierrors.StatusError {
	st := &metav1.Status{}
	if len(raw) > 0 && string(raw) != "null" {
		// An undecodable status is as good as none.
		if err := kjson.Unmarshal(raw, st); err != nil {
			st = &metav1.Status{}
		}
	}
	st.Kind, st.ApiVersion = "Status", "v1"
	if st.Metadata == nil {
		st.Metadata = &metav1.ListMeta{}
	}
	if st.Code < http.StatusBadRequest {
		st.Code = http.StatusBadRequest
	}
	if st.Status == "" || st.Status == "Success" {
		st.Status = "Failure"
	}
	deniedBy := fmt.Sprintf("admission webhook %q denied the request", name)
	switch {
	case st.Message != "":
		st.Message = deniedBy + ": " + st.Message
	case st.Reason != "":
		st.Message = deniedBy + ": " + st.Reason
	default:
		st.Message = deniedBy + " without explanation"
	}
	return &apierrors.StatusError{Status: st}
}
