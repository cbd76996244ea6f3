// Package grpctest serves stand-ins of apiserver gRPC services on
// loopback for the kubelet's unit tests, and connects Skiff's client to
// them.
package grpctest

import (
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"skiff.dev/pkg/client"
)

// Serve starts a gRPC server with the services register adds, on a free
// loopback port, and returns a client of it; both end with the test.
func Serve(t *testing.T, register func(*grpc.Server)) *client.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	register(srv)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	c, err := client.New(client.Config{Address: l.Addr().String()}, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
