// Command etcd is the etcd server, built from its Go module for the
// stack's etcd image: the same program as upstream's etcd binary, taking
// the same flags and ETCD_* environment.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
