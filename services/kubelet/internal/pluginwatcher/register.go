package pluginwatcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// callTimeout bounds each registration call, as Kubernetes' one second
// does for GetInfo (a little longer here for a loaded node).
const callTimeout = 10 * time.Second

// register runs the handshake with the plugin at path. A plugin the
// handler refuses (ValidatePlugin) is told so and asked again only once
// its socket is made anew; any other failure (the plugin does not
// answer, RegisterPlugin fails on an unreachable apiserver) is retried
// with a per-socket back-off, as Kubernetes' operation executor does.
func (w *Watcher) register(ctx context.Context, path string, mod time.Time) {
	p, err := w.handshake(ctx, path)
	if err != nil && !p.rejected {
		delay := w.retryLater(path, mod)
		slog.WarnContext(ctx, "plugin registration failed", "socket", path, "err", err, "retryIn", delay)
		return
	}
	p.mod = mod
	w.mu.Lock()
	w.registered[path] = p
	delete(w.backoff, path)
	w.mu.Unlock()
	if p.rejected {
		slog.WarnContext(ctx, "plugin rejected", "type", p.typ, "name", p.name, "socket", path, "err", err)
		return
	}
	slog.InfoContext(ctx, "plugin registered", "type", p.typ, "name", p.name, "endpoint", p.endpoint, "socket", path)
}

func (w *Watcher) handshake(ctx context.Context, path string) (plugin, error) {
	conn, err := dial(path)
	if err != nil {
		return plugin{}, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	reg := registerapi.NewRegistrationClient(conn)
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	info, err := reg.GetInfo(cctx, &registerapi.InfoRequest{})
	cancel()
	if err != nil {
		return plugin{}, fmt.Errorf("GetInfo: %w", err)
	}
	p := plugin{typ: info.GetType(), name: info.GetName(), endpoint: info.GetEndpoint()}
	regErr := w.validateAndRegister(ctx, info)
	status := &registerapi.RegistrationStatus{PluginRegistered: regErr == nil}
	if regErr != nil {
		status.Error = regErr.Error()
	}
	// The handler's registration may have taken its own while: the
	// answer gets a timeout of its own.
	nctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := reg.NotifyRegistrationStatus(nctx, status); err != nil {
		if regErr == nil {
			// The plugin did not hear it is registered: undo, retry later.
			w.Handlers[p.typ].DeRegisterPlugin(ctx, p.name, p.endpoint)
		}
		return plugin{}, fmt.Errorf("NotifyRegistrationStatus: %w", err)
	}
	var no *refusal
	p.rejected = errors.As(regErr, &no)
	return p, regErr
}

// validateAndRegister asks the handler of the plugin's type. A refusal
// is a *refusal, final for this socket; a RegisterPlugin error is not.
func (w *Watcher) validateAndRegister(ctx context.Context, info *registerapi.PluginInfo) error {
	h, ok := w.Handlers[info.GetType()]
	if !ok {
		return &refusal{fmt.Errorf("no handler registered for plugin type: %s", info.GetType())}
	}
	if err := h.ValidatePlugin(info.GetName(), info.GetEndpoint(), info.GetSupportedVersions()); err != nil {
		return &refusal{fmt.Errorf("plugin validation failed with err: %w", err)}
	}
	if err := h.RegisterPlugin(ctx, info.GetName(), info.GetEndpoint(), info.GetSupportedVersions()); err != nil {
		return fmt.Errorf("plugin registration failed with err: %w", err)
	}
	return nil
}

// refusal is the handler's no to a plugin: retrying will not change it.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }
