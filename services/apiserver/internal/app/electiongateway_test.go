package app

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	electionv1 "skiff.dev/api/election/v1"
)

// post sends a JSON body to the election gateway with a bearer token
// (none when empty) and returns the code and the body.
func (s *server) post(path, token, body string) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, "https://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// call posts req to the gateway as token and decodes a 200 answer into
// resp.
func (s *server) call(path, token string, req, resp proto.Message) {
	s.t.Helper()
	body, err := protojson.Marshal(req)
	if err != nil {
		s.t.Fatal(err)
	}
	code, data := s.post(path, token, string(body))
	if code != http.StatusOK {
		s.t.Fatalf("POST %s: %d %s", path, code, data)
	}
	if err := protojson.Unmarshal(data, resp); err != nil {
		s.t.Fatalf("POST %s: decode %s: %v", path, data, err)
	}
}

// observer reads the newline-delimited JSON of an Observe over HTTP.
type observer struct {
	t    *testing.T
	scan *bufio.Scanner
}

func (s *server) observe(t *testing.T, token, election string) *observer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+s.addr+"/skiff/election/v1/observe",
		strings.NewReader(`{"election":"`+election+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	streaming := &http.Client{Transport: s.http.Transport} // no overall timeout: it streams
	resp, err := streaming.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(resp.Body)
		t.Fatalf("observe: %d %s", resp.StatusCode, data)
	}
	return &observer{t: t, scan: bufio.NewScanner(resp.Body)}
}

// next is the next leader the stream reports.
func (o *observer) next() *electionv1.ObserveResponse {
	o.t.Helper()
	if !o.scan.Scan() {
		o.t.Fatalf("observe ended: %v", o.scan.Err())
	}
	var line struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(o.scan.Bytes(), &line); err != nil || line.Error != nil {
		o.t.Fatalf("observe line %s: %v", o.scan.Bytes(), err)
	}
	got := &electionv1.ObserveResponse{}
	if err := protojson.Unmarshal(line.Result, got); err != nil {
		o.t.Fatalf("observe result %s: %v", line.Result, err)
	}
	return got
}

// TestElectionHTTPGateway: the election service's HTTP/JSON face serves
// the same calls with the same answers and the same permissions as its
// gRPC face: a user bound to a component's leader-locking Role grants,
// campaigns, reads and observes the leader and resigns over HTTP; the
// leader read over gRPC is the same; an election in another namespace is
// another, authorized and mirrored there; a user without the Role gets 403 on
// both faces, a request without credentials (anonymous requests off) or
// with a forged token 401.
func TestElectionHTTPGateway(t *testing.T) {
	const elector, nobody = "elector-token", "nobody-token"
	s := startServerWith(t, func(o *Options) { o.AnonymousAuth = false },
		elector+",elector,uid-elector", nobody+",nobody,uid-nobody")
	s.expect("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/rolebindings", s.adminToken,
		`{"metadata":{"name":"elector"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"system::leader-locking-kube-scheduler"},"subjects":[{"kind":"User","name":"elector"}]}`,
		nil, 201, "")
	const election = "http-election"
	pollUntil(t, func() bool {
		code, _ := s.post("/skiff/election/v1/leader", elector, `{"election":"`+election+`"}`)
		return code == http.StatusOK
	}, "the elector may read the election")

	grant := &electionv1.GrantResponse{}
	s.call("/skiff/election/v1/grant", elector, &electionv1.GrantRequest{LeaseSeconds: 30}, grant)
	if grant.GetLeaseId() == 0 || grant.GetTtlSeconds() != 30 {
		t.Fatalf("grant: %v", grant)
	}
	watch := s.observe(t, elector, election)
	if got := watch.next(); got.GetIdentity() != "" {
		t.Errorf("observe before the campaign: leader %q, want none", got.GetIdentity())
	}
	campaign := &electionv1.CampaignResponse{}
	s.call("/skiff/election/v1/campaign", elector, &electionv1.CampaignRequest{Election: election, Identity: "replica-a", LeaseId: grant.GetLeaseId()}, campaign)
	if got := watch.next(); got.GetIdentity() != "replica-a" || got.GetRevision() != campaign.GetRevision() {
		t.Errorf("observe after the campaign: %v, want replica-a at %d", got, campaign.GetRevision())
	}
	keep := &electionv1.KeepAliveResponse{}
	s.call("/skiff/election/v1/keepalive", elector, &electionv1.KeepAliveRequest{LeaseId: grant.GetLeaseId(), Election: election, Identity: "replica-a"}, keep)
	if keep.GetTtlSeconds() < 1 {
		t.Errorf("keepalive: %v", keep)
	}

	ctx := context.Background()
	grpcAs := func(token string) electionv1.ElectionServiceClient {
		return electionv1.NewElectionServiceClient(s.client(token).Conn())
	}
	sameLeader := func(want string) {
		t.Helper()
		overHTTP := &electionv1.LeaderResponse{}
		s.call("/skiff/election/v1/leader", elector, &electionv1.LeaderRequest{Election: election}, overHTTP)
		overGRPC, err := grpcAs(elector).Leader(ctx, &electionv1.LeaderRequest{Election: election})
		if err != nil {
			t.Fatalf("gRPC leader: %v", err)
		}
		if overHTTP.GetIdentity() != want || !proto.Equal(overHTTP, overGRPC) {
			t.Errorf("leader over HTTP %v, over gRPC %v, want %q on both", overHTTP, overGRPC, want)
		}
	}
	sameLeader("replica-a")

	s.call("/skiff/election/v1/resign", elector, &electionv1.ResignRequest{Election: election, LeaseId: grant.GetLeaseId()}, &electionv1.ResignResponse{})
	if got := watch.next(); got.GetIdentity() != "" {
		t.Errorf("observe after the resignation: leader %q, want none", got.GetIdentity())
	}
	sameLeader("")

	// Without the Role: 403 on both faces, as the same act on the Lease.
	calls := map[string]string{
		"grant":     `{"leaseSeconds":30}`,
		"keepalive": `{"leaseId":"1","election":"` + election + `"}`,
		"campaign":  `{"election":"` + election + `","identity":"intruder","leaseId":"1"}`,
		"leader":    `{"election":"` + election + `"}`,
		"observe":   `{"election":"` + election + `"}`,
		"resign":    `{"election":"` + election + `","leaseId":"1"}`,
	}
	for name, body := range calls {
		path := "/skiff/election/v1/" + name
		// A unary call answers a google.rpc.Status, a stream a line
		// holding one under "error".
		var msg struct {
			Message string
			Error   struct{ Message string }
		}
		code, data := s.post(path, nobody, body)
		_ = json.Unmarshal(data, &msg)
		if code != http.StatusForbidden || !strings.Contains(msg.Message+msg.Error.Message, `User "nobody" cannot`) {
			t.Errorf("POST %s as nobody: %d %s, want 403", path, code, data)
		}
		for _, token := range []string{"", "forged"} {
			if code, data := s.post(path, token, body); code != http.StatusUnauthorized {
				t.Errorf("POST %s with token %q: %d %s, want 401", path, token, code, data)
			}
		}
	}
	if _, err := grpcAs(nobody).Leader(ctx, &electionv1.LeaderRequest{Election: election}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("gRPC leader as nobody: %v, want PermissionDenied", err)
	}
	// Another namespace is another election, authorized and mirrored
	// there: the elector's Role is in kube-system only.
	code, data := s.post("/skiff/election/v1/leader", elector, `{"election":"`+election+`","namespace":"default"}`)
	if code != http.StatusForbidden || !strings.Contains(string(data), `in the namespace \"default\"`) {
		t.Errorf("leader in default as the elector: %d %s, want 403", code, data)
	}
	other := &electionv1.GrantResponse{}
	s.call("/skiff/election/v1/grant", s.adminToken, &electionv1.GrantRequest{LeaseSeconds: 30, Namespace: "default"}, other)
	s.call("/skiff/election/v1/campaign", s.adminToken, &electionv1.CampaignRequest{Election: election, Identity: "replica-b",
		LeaseId: other.GetLeaseId(), Namespace: "default"}, &electionv1.CampaignResponse{})
	sameLeader("") // kube-system's election is not default's
	code, lease := s.do("GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases/"+election, s.adminToken, "")
	if holder := dig(lease, "spec", "holderIdentity"); code != http.StatusOK || holder != "replica-b" {
		t.Errorf("default's Lease: %d, holder %v, want replica-b", code, holder)
	}
	s.call("/skiff/election/v1/resign", s.adminToken, &electionv1.ResignRequest{Election: election, LeaseId: other.GetLeaseId(), Namespace: "default"}, &electionv1.ResignResponse{})
	if code, data := s.post("/skiff/election/v1/leader", s.adminToken, `{"election":"x","namespace":"Not_A_Label"}`); code != http.StatusBadRequest {
		t.Errorf("a bad namespace: %d %s, want 400", code, data)
	}

	// Other paths under the prefix are non-resource URLs to authorization.
	s.expect("POST", "/skiff/election/v1/proclaim", nobody, "{}", nil, 403,
		`forbidden: User "nobody" cannot post path "/skiff/election/v1/proclaim"`)
	s.expect("GET", "/skiff/election/v1/leader", s.adminToken, "", nil, 404, "")
}
