package app

import (
	"log/slog"
	"path/filepath"

	"skiff.dev/services/apiserver/internal/kubeletclient"
	"skiff.dev/services/apiserver/internal/pki"
)

// kubeletClient reaches the kubelets with --kubelet-client-certificate,
// or else with the client certificate generated next to the serving one.
func (o *Options) kubeletClient() (*kubeletclient.Client, error) {
	cfg := kubeletclient.Config{CertFile: o.KubeletClientCertificate, KeyFile: o.KubeletClientKey, CAFile: o.KubeletCertificateAuthority}
	if cfg.CertFile == "" && o.TLSCertFile == "" {
		files := pki.FilesIn(filepath.Join(o.DataDir, "pki"))
		cfg.CertFile, cfg.KeyFile = files.KubeletClientCert, files.KubeletClientKey
	}
	if cfg.CertFile == "" {
		slog.Warn("no kubelet client certificate (--kubelet-client-certificate): kubelets will refuse logs, exec, attach and port-forward")
	}
	return kubeletclient.New(cfg)
}
