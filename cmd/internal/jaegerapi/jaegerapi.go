// Package jaegerapi reads one trace from a Jaeger query service's JSON API
// (GET /api/traces/<trace id>) as the spans a waterfall shows.
package jaegerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"skiff.dev/cmd/internal/waterfall"
)

// ErrNotFound means the collector holds no span of the trace (yet).
var ErrNotFound = errors.New("trace not found")

// UnreachableError means no answer came from the collector at all.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string { return fmt.Sprintf("reach %s: %v", e.URL, e.Err) }

func (e *UnreachableError) Unwrap() error { return e.Err }

// Client is a Jaeger query service at BaseURL (e.g. http://127.0.0.1:16686).
type Client struct {
	BaseURL string
	HTTP    *http.Client // nil: http.DefaultClient
}

// Trace fetches the spans of one trace, its id in hex.
func (c *Client) Trace(ctx context.Context, traceID string) ([]waterfall.Span, error) {
	u := strings.TrimRight(c.BaseURL, "/") + "/api/traces/" + url.PathEscape(traceID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("trace query URL: %w", err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnreachableError{URL: c.BaseURL, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, &UnreachableError{URL: c.BaseURL, Err: err}
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, ErrNotFound
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	return Parse(body)
}

// response is the part of the query API's answer that is read.
type response struct {
	Data []struct {
		TraceID   string `json:"traceID"`
		Spans     []span `json:"spans"`
		Processes map[string]struct {
			Name string `json:"serviceName"`
		} `json:"processes"`
	} `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

type span struct {
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64  `json:"startTime"` // µs since the epoch
	Duration  int64  `json:"duration"`  // µs
	ProcessID string `json:"processID"`
}

// Parse reads a /api/traces/<id> answer.
func Parse(body []byte) ([]waterfall.Span, error) {
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decode the trace: %w", err)
	}
	if len(r.Errors) > 0 && len(r.Data) == 0 {
		if r.Errors[0].Code == http.StatusNotFound {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("query the trace: %s", r.Errors[0].Msg)
	}
	var out []waterfall.Span
	for _, t := range r.Data {
		for _, s := range t.Spans {
			out = append(out, waterfall.Span{
				ID: s.SpanID, ParentID: parent(s), Service: t.Processes[s.ProcessID].Name, Operation: s.OperationName,
				Start: time.UnixMicro(s.StartTime), Duration: time.Duration(s.Duration) * time.Microsecond,
			})
		}
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

// parent is the span's CHILD_OF reference, else its first reference.
func parent(s span) string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	if len(s.References) > 0 {
		return s.References[0].SpanID
	}
	return ""
}
