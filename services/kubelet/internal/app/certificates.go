package app

import (
	"context"

	"google.golang.org/grpc"

	"skiff.dev/pkg/client"
	"skiff.dev/services/kubelet/internal/certificate"
)

// connect makes the kubelet's client of the apiserver from --kubeconfig,
// bootstrapping its client certificate first with --bootstrap-kubeconfig
// (TLS bootstrapping), and returns the rotator that renews that
// certificate, or nil when it is not to be rotated.
func (o *Options) connect(ctx context.Context) (*client.Client, client.Config, *certificate.Rotator, error) {
	if o.BootstrapKubeconfig != "" {
		if err := certificate.Bootstrap(ctx, o.Kubeconfig, o.BootstrapKubeconfig, o.certDir(), o.nodeName()); err != nil {
			return nil, client.Config{}, nil, err
		}
	}
	cfg, err := client.FromKubeconfig(o.Kubeconfig)
	if err != nil {
		return nil, client.Config{}, nil, err
	}
	if o.BootstrapKubeconfig == "" || !o.RotateCertificates {
		c, err := client.New(cfg)
		return c, cfg, nil, err
	}
	// The connections are closed when the certificate is renewed, so they
	// are made again with the new one.
	var dialer certificate.Dialer
	c, err := client.New(cfg, grpc.WithContextDialer(dialer.DialContext))
	if err != nil {
		return nil, client.Config{}, nil, err
	}
	r := &certificate.Rotator{Store: certificate.NewStore(o.certDir()), NodeName: o.nodeName(),
		Requests: c.CertificatesV1().CertificateSigningRequests(), Rotated: dialer.CloseAll}
	return c, cfg, r, nil
}
