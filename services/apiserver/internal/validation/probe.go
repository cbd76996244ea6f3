package validation

import (
	"slices"

	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/field"
)

var uriSchemes = []string{"HTTP", "HTTPS"}

// validateProbesAndHooks checks the probes and lifecycle hooks of a
// container that may have them; liveness and startup probes must succeed
// once.
func validateProbesAndHooks(c *corev1.Container, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, pr := range []struct {
		name     string
		probe    *corev1.Probe
		onceOnly bool
	}{{"livenessProbe", c.GetLivenessProbe(), true}, {"readinessProbe", c.GetReadinessProbe(), false},
		{"startupProbe", c.GetStartupProbe(), true}} {
		if pr.probe == nil {
			continue
		}
		pp := p.Child(pr.name)
		errs = append(errs, validateProbe(pr.probe, pp)...)
		if pr.onceOnly && pr.probe.GetSuccessThreshold() != 1 {
			errs = append(errs, field.Invalid(pp.Child("successThreshold"), pr.probe.GetSuccessThreshold(), "must be 1"))
		}
	}
	if l := c.GetLifecycle(); l != nil {
		if l.PostStart != nil {
			errs = append(errs, validateHandler(l.GetPostStart(), p.Child("lifecycle", "postStart"))...)
		}
		if l.PreStop != nil {
			errs = append(errs, validateHandler(l.GetPreStop(), p.Child("lifecycle", "preStop"))...)
		}
	}
	return errs
}

func validateProbe(pr *corev1.Probe, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if pr.GetHandler() == nil {
		errs = append(errs, field.Required(p, "must specify a handler type"))
	} else {
		errs = append(errs, validateHandler(pr.GetHandler(), p)...)
	}
	for _, f := range []struct {
		name  string
		value int32
	}{{"initialDelaySeconds", pr.GetInitialDelaySeconds()}, {"timeoutSeconds", pr.GetTimeoutSeconds()},
		{"periodSeconds", pr.GetPeriodSeconds()}, {"successThreshold", pr.GetSuccessThreshold()},
		{"failureThreshold", pr.GetFailureThreshold()}} {
		errs = append(errs, nonNegative(int64(f.value), p.Child(f.name))...)
	}
	if pr.TerminationGracePeriodSeconds != nil && pr.GetTerminationGracePeriodSeconds() <= 0 {
		errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), pr.GetTerminationGracePeriodSeconds(), "must be greater than 0"))
	}
	return errs
}

// validateHandler checks a probe handler or lifecycle hook: exactly one
// action, and that action well formed.
func validateHandler(h protoreflect.ProtoMessage, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	var set []string
	// In field order (exec, httpGet, tcpSocket, grpc), as Kubernetes
	// checks them: Range's order is unspecified.
	m := h.ProtoReflect()
	for i, fields := 0, m.Descriptor().Fields(); i < fields.Len(); i++ {
		if fd := fields.Get(i); m.Has(fd) {
			set = append(set, fd.JSONName())
		}
	}
	switch {
	case len(set) == 0:
		return field.ErrorList{field.Required(p, "must specify a handler type")}
	case len(set) > 1:
		errs = append(errs, field.Forbidden(p.Child(set[1]), "may not specify more than 1 handler type"))
	}
	var (
		exec  *corev1.ExecAction
		get   *corev1.HTTPGetAction
		tcp   *corev1.TCPSocketAction
		grpc  *corev1.GRPCAction
		sleep *corev1.SleepAction
	)
	switch h := h.(type) {
	case *corev1.ProbeHandler:
		exec, get, tcp, grpc = h.GetExec(), h.GetHttpGet(), h.GetTcpSocket(), h.GetGrpc()
	case *corev1.LifecycleHandler:
		exec, get, tcp, sleep = h.GetExec(), h.GetHttpGet(), h.GetTcpSocket(), h.GetSleep()
	}
	if exec != nil && len(exec.GetCommand()) == 0 {
		errs = append(errs, field.Required(p.Child("exec", "command"), ""))
	}
	if get != nil {
		gp := p.Child("httpGet")
		if get.GetPath() == "" {
			errs = append(errs, field.Required(gp.Child("path"), ""))
		}
		errs = append(errs, portNumOrName(get.GetPort(), gp.Child("port"))...)
		if !slices.Contains(uriSchemes, get.GetScheme()) {
			errs = append(errs, field.NotSupported(gp.Child("scheme"), get.GetScheme(), uriSchemes))
		}
		for i, hdr := range get.GetHttpHeaders() {
			errs = append(errs, invalid(gp.Child("httpHeaders").Index(i).Child("name"), hdr.GetName(), validation.IsHTTPHeaderName(hdr.GetName()))...)
		}
	}
	if tcp != nil {
		errs = append(errs, portNumOrName(tcp.GetPort(), p.Child("tcpSocket", "port"))...)
	}
	if grpc != nil {
		errs = append(errs, invalid(p.Child("grpc", "port"), grpc.GetPort(), validation.IsValidPortNum(int(grpc.GetPort())))...)
	}
	if sleep != nil && sleep.GetSeconds() <= 0 {
		errs = append(errs, field.Invalid(p.Child("sleep", "seconds"), sleep.GetSeconds(), "must be greater than 0"))
	}
	return errs
}
