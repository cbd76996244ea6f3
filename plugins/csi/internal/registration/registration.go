// Package registration serves the kubelet's plugin-registration API for
// a CSI driver, as Kubernetes' node-driver-registrar does: the kubelet
// finds <driver>-reg.sock in its plugins_registry directory, asks GetInfo
// for the driver's name and CSI endpoint, and reports the outcome with
// NotifyRegistrationStatus.
package registration

import (
	"context"
	"log/slog"
	"sync/atomic"

	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// SupportedVersions are the CSI versions the driver speaks, as the kubelet
// names them.
var SupportedVersions = []string{"1.0.0"}

// Server answers the kubelet for one CSI driver.
type Server struct {
	registerapi.UnimplementedRegistrationServer

	driver, endpoint string
	log              *slog.Logger
	registered       atomic.Bool
	lastError        atomic.Value // string
}

// New returns the registration server of driver, whose CSI socket the
// kubelet reaches at endpoint (a path as the kubelet sees it).
func New(driver, endpoint string, log *slog.Logger) *Server {
	s := &Server{driver: driver, endpoint: endpoint, log: log}
	s.lastError.Store("")
	return s
}

// GetInfo names the plugin, its type, endpoint and versions.
func (s *Server) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              s.driver,
		Endpoint:          s.endpoint,
		SupportedVersions: SupportedVersions,
	}, nil
}

// NotifyRegistrationStatus records what the kubelet says of the
// registration; a failure is logged: the kubelet retries a failed
// registration on its own, after a back-off, and a refusal (an
// unsupported version) would not change by exiting.
func (s *Server) NotifyRegistrationStatus(_ context.Context, st *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	s.registered.Store(st.GetPluginRegistered())
	s.lastError.Store(st.GetError())
	if st.GetPluginRegistered() {
		s.log.Info("registered with the kubelet", "driver", s.driver, "endpoint", s.endpoint)
	} else {
		s.log.Error("the kubelet refused the registration", "driver", s.driver, "error", st.GetError())
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}

// Registered reports whether the kubelet last said the plugin is
// registered, and the error it gave otherwise.
func (s *Server) Registered() (bool, string) {
	return s.registered.Load(), s.lastError.Load().(string)
}
