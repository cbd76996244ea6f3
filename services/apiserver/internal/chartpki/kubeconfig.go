package chartpki

import (
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"skiff.dev/services/apiserver/internal/pki"
)

// kubeconfig is one user's way to the hosted apiserver: a client
// certificate or a token.
type kubeconfig struct {
	server, user string
	ca           []byte
	cert, key    []byte
	token        string
}

// writeKubeconfig writes k as a kubeconfig of one cluster, user and
// context, all named skiff except the user, mode 0600.
func writeKubeconfig(path string, k kubeconfig) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["skiff"] = &clientcmdapi.Cluster{Server: k.server, CertificateAuthorityData: k.ca}
	cfg.AuthInfos[k.user] = &clientcmdapi.AuthInfo{ClientCertificateData: k.cert, ClientKeyData: k.key, Token: k.token}
	cfg.Contexts["skiff"] = &clientcmdapi.Context{Cluster: "skiff", AuthInfo: k.user}
	cfg.CurrentContext = "skiff"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return pki.WriteFileAtomic(path, data, 0o600)
}
