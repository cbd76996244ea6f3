// Command etcd-pki generates the certificates of the stack's etcd into a
// directory, run once by a one-shot container before etcd starts: etcd's
// own CA, the member's serving and peer certificates for the given hosts
// and the apiserver's client certificate (pkg/etcdpki). What is there is
// kept; what is missing or expiring is issued again. No private key is
// ever part of an image or the repository.
//
//	etcd-pki --dir=/etc/etcd/pki --hosts=etcd,localhost,127.0.0.1
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"skiff.dev/pkg/etcdpki"
)

func main() {
	dir := flag.String("dir", "/etc/etcd/pki", "Directory to keep the certificates and keys in.")
	hosts := flag.String("hosts", "etcd,localhost,127.0.0.1", "Comma-separated names and IP addresses the member's certificates are valid for.")
	flag.Parse()
	f, err := etcdpki.Ensure(*dir, strings.Split(*hosts, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd-pki:", err)
		os.Exit(1)
	}
	fmt.Printf("etcd certificates in %s (CA %s)\n", *dir, f.CACert)
}
