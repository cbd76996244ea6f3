// Package tlsconfig holds the TLS settings every Skiff server shares: TLS
// 1.2 at least and, for TLS 1.2, only the ECDHE suites with AEAD ciphers
// (no CBC, no SHA-1 MACs, no static RSA key exchange), as hardened
// Kubernetes deployments set --tls-cipher-suites. TLS 1.3 suites are not
// configurable in Go and are all AEAD.
package tlsconfig

import "crypto/tls"

// CipherSuites are the TLS 1.2 suites servers accept.
var CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Server is a server configuration with these settings and the given
// certificates.
func Server(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: certs, MinVersion: tls.VersionTLS12, CipherSuites: CipherSuites}
}
