package tlsconfig

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A TLS 1.2 client that offers only CBC-SHA1 suites is refused; one that
// offers an AEAD suite, or speaks TLS 1.3, gets in.
func TestServerRefusesCBCSHA1(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = Server()
	srv.StartTLS()
	defer srv.Close()
	get := func(cfg *tls.Config) error {
		cfg.InsecureSkipVerify = true // the test server's own certificate
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := c.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	cbc := &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA}}
	if err := get(cbc); err == nil {
		t.Fatal("a TLS 1.2 client with only CBC-SHA1 suites got in")
	}
	if err := get(&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}); err != nil {
		t.Fatalf("TLS 1.2 with AES-GCM: %v", err)
	}
	if err := get(&tls.Config{MinVersion: tls.VersionTLS13}); err != nil {
		t.Fatalf("TLS 1.3: %v", err)
	}
	if err := get(&tls.Config{MaxVersion: tls.VersionTLS11}); err == nil {
		t.Fatal("a TLS 1.1 client got in")
	}
}
