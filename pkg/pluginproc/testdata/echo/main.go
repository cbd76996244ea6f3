// Command echo is a plugin for the supervisor's tests. It serves one
// method, /skiff.test.Echo/Echo, which answers a string with the string
// and its process id, except: "crash" makes it exit, "hang" never
// answers, "fail" answers FailedPrecondition, "log" logs a warning and prints a line to stderr first.
// It exits at start while the file named by $ECHO_FAIL_IF exists.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"skiff.dev/pkg/pluginproc"
)

func echo(_ context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	switch in.GetValue() {
	case "crash":
		os.Exit(3)
	case "hang":
		select {}
	case "fail":
		return nil, status.Error(codes.FailedPrecondition, "no such luck")
	case "log":
		pluginproc.Logger().Warn("hello from the plugin", "answer", 42)
		fmt.Fprintln(os.Stderr, "a plain line")
	}
	return wrapperspb.String(fmt.Sprintf("%s from %d", in.GetValue(), os.Getpid())), nil
}

var service = grpc.ServiceDesc{
	ServiceName: "skiff.test.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			return echo(ctx, in)
		},
	}},
}

type echoPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (echoPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(&service, struct{}{})
	return nil
}

func (echoPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, fmt.Errorf("the echo plugin has no client side here")
}

func main() {
	if f := os.Getenv("ECHO_FAIL_IF"); f != "" {
		if _, err := os.Stat(f); err == nil {
			fmt.Fprintln(os.Stderr, "told to fail at start")
			os.Exit(1)
		}
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "SKIFF_TEST_ECHO", MagicCookieValue: "echo"},
		Plugins:         plugin.PluginSet{"echo": echoPlugin{}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
