package app

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"skiff.dev/services/apiserver/internal/pki"
)

// server is the URL the kubeconfigs name.
func (o *Options) server() string {
	host := o.AdvertiseAddress
	if host == "" {
		host = o.BindAddress
		if host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(o.SecurePort))
}

// kubeconfig renders a kubeconfig for one user, whose credentials are the
// YAML lines of its user entry.
func kubeconfig(server string, caPEM []byte, user string, credentials ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
`, server, base64.StdEncoding.EncodeToString(caPEM), user)
	for _, c := range credentials {
		fmt.Fprintf(&b, "    %s\n", c)
	}
	fmt.Fprintf(&b, `contexts:
- name: skiff
  context:
    cluster: skiff
    user: %s
current-context: skiff
`, user)
	return b.String()
}

// writeKubeconfig writes <data-dir>/admin.kubeconfig, atomically, once the
// server accepts connections.
func (o *Options) writeKubeconfig(caPEM []byte, token string) error {
	return pki.WriteFileAtomic(filepath.Join(o.DataDir, "admin.kubeconfig"),
		[]byte(kubeconfig(o.server(), caPEM, "skiff-admin", "token: "+token)), 0o600)
}

// componentKubeconfigDir holds the components' kubeconfigs.
func (o *Options) componentKubeconfigDir() string { return filepath.Join(o.DataDir, "kubeconfigs") }

// writeComponentKubeconfigs writes <data-dir>/kubeconfigs/<component>.kubeconfig
// for every component, each with its own client certificate, when the
// apiserver keeps its own CA; with a given serving certificate it writes
// none (whoever made that certificate makes the components' too).
func (o *Options) writeComponentKubeconfigs(caPEM []byte) error {
	if o.TLSCertFile != "" {
		return nil
	}
	dir := filepath.Join(o.DataDir, "pki")
	if err := os.MkdirAll(o.componentKubeconfigDir(), 0o700); err != nil {
		return err
	}
	for _, c := range pki.Components {
		cert, key, err := pki.EnsureClientPEM(dir, c)
		if err != nil {
			return err
		}
		data := kubeconfig(o.server(), caPEM, c.CommonName,
			"client-certificate-data: "+base64.StdEncoding.EncodeToString(cert),
			"client-key-data: "+base64.StdEncoding.EncodeToString(key))
		if err := pki.WriteFileAtomic(filepath.Join(o.componentKubeconfigDir(), c.Name+".kubeconfig"), []byte(data), 0o600); err != nil {
			return err
		}
	}
	return nil
}
