// Package audit records what the apiserver is asked and what it answers,
// as Kubernetes' advanced auditing does: an audit.k8s.io/v1 Policy
// (--audit-policy-file) picks, by the first rule that matches a request's
// user, verb, resource, namespace or path, how much of it is recorded
// (None, Metadata, Request, RequestResponse) and at which stages
// (RequestReceived, ResponseStarted, ResponseComplete, Panic); each
// recorded stage is an audit.k8s.io/v1 Event handed to the backends: a
// JSON-lines log file with rotation (--audit-log-path) and a webhook that
// posts EventLists (--audit-webhook-config-file).
//
// Every request gets an audit ID, the client's Audit-ID header or a new
// UUID, echoed in the Audit-ID response header whether or not a policy is
// set. The HTTP filter wraps the chain after authentication, so the user
// is known and requests refused by impersonation or authorization are
// recorded with their 403; the REST face and impersonation add the request
// and response objects, the response Status and the impersonated user
// through the request's context. gRPC calls are recorded by interceptors,
// as the same request on REST would be.
package audit

import (
	"encoding/json"
	"time"
)

// APIVersion is the group and version of the events and the policy.
const APIVersion = "audit.k8s.io/v1"

// HeaderAuditID is the request and response header carrying the audit ID.
const HeaderAuditID = "Audit-ID"

// Level is how much of a request is recorded.
type Level string

// The levels, from least to most.
const (
	// LevelNone records nothing.
	LevelNone Level = "None"
	// LevelMetadata records who asked what and the answer's status, not
	// the bodies.
	LevelMetadata Level = "Metadata"
	// LevelRequest adds the request's object.
	LevelRequest Level = "Request"
	// LevelRequestResponse adds the response's object.
	LevelRequestResponse Level = "RequestResponse"
)

var levelOrder = map[Level]int{LevelNone: 0, LevelMetadata: 1, LevelRequest: 2, LevelRequestResponse: 3}

// Less says l records less than other.
func (l Level) Less(other Level) bool { return levelOrder[l] < levelOrder[other] }

// Stage is the point of a request's life an event records.
type Stage string

// The stages.
const (
	// StageRequestReceived: the request was authenticated, before anything
	// else was done with it.
	StageRequestReceived Stage = "RequestReceived"
	// StageResponseStarted: the response's headers were sent and its body
	// goes on (long-running requests only: watches, logs, exec).
	StageResponseStarted Stage = "ResponseStarted"
	// StageResponseComplete: the response was sent.
	StageResponseComplete Stage = "ResponseComplete"
	// StagePanic: serving the request panicked.
	StagePanic Stage = "Panic"
)

var stages = []Stage{StageRequestReceived, StageResponseStarted, StageResponseComplete, StagePanic}

// Event is an audit.k8s.io/v1 Event, its fields in Kubernetes' order.
type Event struct {
	Kind                     string            `json:"kind"`
	APIVersion               string            `json:"apiVersion"`
	Level                    Level             `json:"level"`
	AuditID                  string            `json:"auditID"`
	Stage                    Stage             `json:"stage"`
	RequestURI               string            `json:"requestURI"`
	Verb                     string            `json:"verb"`
	User                     UserInfo          `json:"user"`
	ImpersonatedUser         *UserInfo         `json:"impersonatedUser,omitempty"`
	SourceIPs                []string          `json:"sourceIPs,omitempty"`
	UserAgent                string            `json:"userAgent,omitempty"`
	ObjectRef                *ObjectReference  `json:"objectRef,omitempty"`
	ResponseStatus           *ResponseStatus   `json:"responseStatus,omitempty"`
	RequestObject            json.RawMessage   `json:"requestObject,omitempty"`
	ResponseObject           json.RawMessage   `json:"responseObject,omitempty"`
	RequestReceivedTimestamp MicroTime         `json:"requestReceivedTimestamp"`
	StageTimestamp           MicroTime         `json:"stageTimestamp"`
	Annotations              map[string]string `json:"annotations,omitempty"`
}

// UserInfo is authentication.k8s.io/v1 UserInfo.
type UserInfo struct {
	Username string              `json:"username,omitempty"`
	UID      string              `json:"uid,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

// ObjectReference names what a resource request addresses.
type ObjectReference struct {
	Resource        string `json:"resource,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	UID             string `json:"uid,omitempty"`
	APIGroup        string `json:"apiGroup,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	Subresource     string `json:"subresource,omitempty"`
}

// ResponseStatus is the meta/v1 Status an event carries: the code of every
// answer and, for an answer that was a Status (errors), its status,
// message, reason and details. Metadata is always the empty ListMeta, as
// Kubernetes writes it.
type ResponseStatus struct {
	Metadata struct{}        `json:"metadata"`
	Status   string          `json:"status,omitempty"`
	Message  string          `json:"message,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Details  json.RawMessage `json:"details,omitempty"`
	Code     int32           `json:"code,omitempty"`
}

// MicroTime is a timestamp with microseconds, as meta/v1 MicroTime
// renders it: RFC 3339 in UTC with six fractional digits.
type MicroTime struct{ time.Time }

// microFormat is MicroTime's layout.
const microFormat = "2006-01-02T15:04:05.000000Z07:00"

// MarshalJSON renders the time, or null when zero.
func (t MicroTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(microFormat))
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *MicroTime) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = p.Local()
	return nil
}

// NewMicroTime truncates t to microseconds.
func NewMicroTime(t time.Time) MicroTime { return MicroTime{t.Truncate(time.Microsecond)} }

// EventList is what the webhook backend posts.
type EventList struct {
	Kind       string            `json:"kind"`
	APIVersion string            `json:"apiVersion"`
	Metadata   struct{}          `json:"metadata"`
	Items      []json.RawMessage `json:"items"`
}
