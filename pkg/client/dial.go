package client

import (
	"fmt"
	"net"
	"net/url"
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// How a connection notices that its apiserver is gone, and how soon it
// connects again. A killed apiserver's kernel resets the connection at
// once; the pings are for the cases nothing resets it (the host died, the
// network was cut), which TCP alone notices only after minutes. gRPC
// waits at least 10s between pings; the apiserver serves gRPC through Go's
// HTTP/2 server, which answers pings at any rate (it has no gRPC
// keepalive enforcement policy to refuse them).
const (
	// KeepaliveTime is how long a connection may be quiet before the
	// client pings the server.
	KeepaliveTime = 10 * time.Second
	// KeepaliveTimeout is how long the client waits for the ping's answer
	// before it closes the connection and connects again.
	KeepaliveTimeout = 5 * time.Second
	// reconnectMaxDelay bounds the back-off between attempts to connect:
	// gRPC's default (2 minutes) would keep a client away for that long
	// after a control plane outage, or behind a load balancer that
	// accepted connections while it had no healthy backend.
	reconnectMaxDelay = 3 * time.Second
	// connectTimeout bounds one attempt to connect, so that an address
	// that does not answer at all (a dead host) is given up for the next
	// one within seconds.
	connectTimeout = 5 * time.Second
)

// EndpointsExtension is the name of the kubeconfig cluster extension that
// lists further apiservers of the same cluster, besides its server:
//
//	clusters:
//	- name: skiff
//	  cluster:
//	    server: https://10.0.0.11:6443
//	    extensions:
//	    - name: skiff.dev/apiserver-endpoints
//	      extension:
//	        servers: [https://10.0.0.12:6443, https://10.0.0.13:6443]
//
// kubectl and client-go keep extensions they do not know and use server
// alone.
const EndpointsExtension = "skiff.dev/apiserver-endpoints"

// endpointsScheme is the resolver scheme of a client with several
// apiservers.
const endpointsScheme = "skiff-apiservers"

// pickFirstShuffled spreads clients with the same endpoints over them:
// each client takes the first address that works in its own random order
// and stays on it until it fails.
const pickFirstShuffled = `{"loadBalancingConfig":[{"pick_first":{"shuffleAddressList":true}}]}`

// connectionOptions are the keepalive and reconnect settings of every
// connection.
func connectionOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: KeepaliveTime, Timeout: KeepaliveTimeout, PermitWithoutStream: true}),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           grpcbackoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: reconnectMaxDelay},
			MinConnectTimeout: connectTimeout,
		}),
	}
}

// dialTarget is what gRPC dials for cfg: the address itself, or, with
// Endpoints, a resolver that gives gRPC every address, each checked
// against its own host name unless cfg.ServerName names one for all.
// Either way the addresses are shuffled per client: a DNS name with
// several addresses spreads clients as Endpoints do.
func dialTarget(cfg Config) (string, []grpc.DialOption, error) {
	if len(cfg.Endpoints) == 0 {
		return cfg.Address, []grpc.DialOption{grpc.WithDefaultServiceConfig(pickFirstShuffled)}, nil
	}
	seen := map[string]bool{}
	var addrs []resolver.Address
	for _, a := range append([]string{cfg.Address}, cfg.Endpoints...) {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return "", nil, fmt.Errorf("client: apiserver endpoint %q: %w", a, err)
		}
		if !seen[a] {
			seen[a] = true
			addrs = append(addrs, resolver.Address{Addr: a, ServerName: a})
		}
	}
	r := manual.NewBuilderWithScheme(endpointsScheme)
	r.InitialState(resolver.State{Addresses: addrs})
	return endpointsScheme + ":///" + cfg.Address, []grpc.DialOption{
		grpc.WithResolvers(r),
		grpc.WithDefaultServiceConfig(pickFirstShuffled),
	}, nil
}

// serverHost is the host:port of a kubeconfig server URL.
func serverHost(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("bad server %q", server)
	}
	return u.Host, nil
}
