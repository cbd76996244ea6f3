// Command serving-cert issues serving certificates signed by an existing
// CA, run once by a one-shot container: the HA compose profile's second
// and third apiservers serve with certificates of the CA the first one
// generated (docker-compose.ha.yaml), each valid for the load balancer's
// address and the apiserver's own. A certificate already there is kept
// while it is signed by the CA, covers every host and does not expire
// within a day; otherwise it is issued again. Nothing is written into the
// CA's directory, which the container mounts read-only.
//
//	serving-cert --ca-dir=/var/lib/skiff/apiserver/pki --dir=/etc/skiff/serving \
//	    apiserver-2=10.89.0.10,10.89.0.12,localhost apiserver-3=10.89.0.10,10.89.0.13,localhost
package main

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"skiff.dev/pkg/certgen"
)

func main() {
	caDir := flag.String("ca-dir", "/var/lib/skiff/apiserver/pki", "Directory holding the CA (ca.crt, ca.key) that signs the certificates.")
	dir := flag.String("dir", "/etc/skiff/serving", "Directory to write NAME.crt and NAME.key into.")
	cn := flag.String("common-name", "skiff-apiserver", "Common name of the certificates.")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: serving-cert [flags] NAME=HOST[,HOST...]...")
		flag.PrintDefaults()
	}
	flag.Parse()
	certs, err := parseCerts(flag.Args())
	if err == nil {
		err = ensure(*caDir, *dir, *cn, certs)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "serving-cert:", err)
		os.Exit(1)
	}
	for _, c := range certs {
		fmt.Printf("%s: %s\n", filepath.Join(*dir, c.name+".crt"), strings.Join(c.hosts, ","))
	}
}

// cert is one certificate to have: its file name and the names and IP
// addresses it is valid for.
type cert struct {
	name  string
	hosts []string
}

// parseCerts reads the NAME=HOST,... arguments.
func parseCerts(args []string) ([]cert, error) {
	if len(args) == 0 {
		return nil, errors.New("no certificate asked for (arguments NAME=HOST[,HOST...])")
	}
	var certs []cert
	for _, a := range args {
		name, hosts, ok := strings.Cut(a, "=")
		if !ok || name == "" || hosts == "" || strings.ContainsAny(name, `/\`) {
			return nil, fmt.Errorf("argument %q: want NAME=HOST[,HOST...], NAME a file name", a)
		}
		c := cert{name: name}
		for _, h := range strings.Split(hosts, ",") {
			if h = strings.TrimSpace(h); h == "" {
				return nil, fmt.Errorf("argument %q: an empty host", a)
			}
			c.hosts = append(c.hosts, h)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// ensure issues every certificate that is missing or no longer current.
func ensure(caDir, dir, commonName string, certs []cert) error {
	ca, caKey, err := certgen.LoadPair(filepath.Join(caDir, "ca.crt"), filepath.Join(caDir, "ca.key"))
	if err != nil {
		return fmt.Errorf("the CA in %s: %w", caDir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, c := range certs {
		certFile, keyFile := filepath.Join(dir, c.name+".crt"), filepath.Join(dir, c.name+".key")
		have, _, err := certgen.LoadPair(certFile, keyFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("load %s: %w", certFile, err)
		}
		if err == nil && have.CheckSignatureFrom(ca) == nil && !certgen.Expiring(have) && certgen.Covers(have, c.hosts) {
			continue
		}
		tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: commonName}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		certgen.AddHosts(tmpl, c.hosts)
		if err := certgen.Issue(certFile, keyFile, tmpl, ca, caKey); err != nil {
			return fmt.Errorf("issue %s: %w", certFile, err)
		}
	}
	return nil
}
