// Command etcd-snapshot backs up and restores the etcd of a Skiff
// apiserver with etcd's own snapshot libraries: it saves a snapshot of the
// embedded member under an apiserver's --data-dir (through the member's
// client URL with the apiserver's etcd client certificate, or offline from
// its database while the apiserver is stopped) or of an external member,
// and restores one into a fresh --data-dir, where an apiserver started on
// it finds its embedded member. A restore moves etcd's revision forward
// and marks it compacted, so resourceVersions keep growing and watches
// from before it relist. docs/backup.md tells the whole procedure.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"

	"skiff.dev/services/apiserver/internal/etcd"
)

const usage = `Usage:
  etcd-snapshot save --data-dir DIR [--offline] FILE
      snapshot the embedded etcd of the apiserver whose --data-dir is DIR:
      through its client URL while it runs, or with --offline from its
      database while it is stopped (cleanly: a member killed may lack
      writes in its database that only its WAL holds, and is refused)
  etcd-snapshot save --offline --etcd-data-dir DIR FILE
      copy the database of a cleanly stopped etcd member whose --data-dir is DIR
  etcd-snapshot save --endpoints URL [--cacert F --cert F --key F] FILE
      snapshot one member of an external etcd (as etcdctl snapshot save)
  etcd-snapshot restore --data-dir DIR [--bump-revision N] FILE
      make the embedded etcd of a new apiserver --data-dir DIR from FILE
  etcd-snapshot status FILE
      check FILE's checksum and print its revision, keys and size
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs one subcommand and returns the exit code: 2 for bad usage, 1
// for a failure.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Writer) error{
		"save": save, "restore": restore, "status": status,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "etcd-snapshot: unknown command %q\n%s", args[0], usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout)
	var u usageError
	switch {
	case errors.As(err, &u):
		fmt.Fprintf(stderr, "etcd-snapshot %s: %v\n%s", args[0], err, usage)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "etcd-snapshot %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// usageError is a mistake in the command line.
type usageError struct{ error }

// parse parses a subcommand's flags and returns its one argument, the
// snapshot file.
func parse(fs *pflag.FlagSet, args []string) (string, error) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return "", usageError{err}
	}
	if fs.NArg() != 1 {
		return "", usageError{fmt.Errorf("want one snapshot file, got %d arguments", fs.NArg())}
	}
	return fs.Arg(0), nil
}

func save(ctx context.Context, args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("save", pflag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "the apiserver's --data-dir (embedded etcd)")
	offline := fs.Bool("offline", false, "copy the member's database while it is stopped")
	etcdDataDir := fs.String("etcd-data-dir", "", "a stopped etcd member's --data-dir (with --offline)")
	var ext etcd.ExternalConfig
	fs.StringSliceVar(&ext.Endpoints, "endpoints", nil, "one external etcd member's client URL")
	fs.StringVar(&ext.CAFile, "cacert", "", "CA bundle of the external etcd")
	fs.StringVar(&ext.CertFile, "cert", "", "client certificate for the external etcd")
	fs.StringVar(&ext.KeyFile, "key", "", "client key for the external etcd")
	file, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *offline {
		return saveOffline(*dataDir, *etcdDataDir, len(ext.Endpoints) > 0, file, stdout)
	}
	if *etcdDataDir != "" {
		return usageError{errors.New("--etcd-data-dir is read with --offline only")}
	}
	if (*dataDir == "") == (len(ext.Endpoints) == 0) {
		return usageError{errors.New("give either --data-dir (embedded etcd) or --endpoints (external etcd)")}
	}
	cfg, err := clientConfig(*dataDir, ext)
	if err != nil {
		return err
	}
	if _, err := etcd.SaveSnapshot(ctx, cfg, file); err != nil {
		return err
	}
	return printStatus(stdout, file)
}

// saveOffline copies a stopped member's database: the embedded one of an
// apiserver's dataDir or the one in etcdDataDir.
func saveOffline(dataDir, etcdDataDir string, endpoints bool, file string, stdout io.Writer) error {
	if endpoints || (dataDir == "") == (etcdDataDir == "") {
		return usageError{errors.New("--offline copies a stopped member's database: give either --data-dir or --etcd-data-dir")}
	}
	if dataDir != "" {
		etcdDataDir = filepath.Join(etcd.EmbeddedDir(dataDir), etcd.DataSubdir)
	}
	if err := etcd.SaveOffline(etcdDataDir, file); err != nil {
		return err
	}
	return printStatus(stdout, file)
}

// clientConfig reaches the embedded member of dataDir or the external one.
func clientConfig(dataDir string, ext etcd.ExternalConfig) (clientv3.Config, error) {
	if dataDir != "" {
		return etcd.EmbeddedClientConfig(etcd.EmbeddedDir(dataDir))
	}
	return ext.ClientConfig()
}

func restore(_ context.Context, args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("restore", pflag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "the new apiserver's --data-dir; its etcd/data must not exist yet")
	bump := fs.Uint64("bump-revision", etcd.DefaultRevisionBump, "move etcd's revision this far past the snapshot's and mark it compacted (0: keep it; watchers then can't tell the restored past from later writes)")
	file, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *dataDir == "" {
		return usageError{errors.New("--data-dir is required")}
	}
	if err := etcd.Restore(etcd.RestoreConfig{Snapshot: file, Dir: etcd.EmbeddedDir(*dataDir), RevisionBump: *bump}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s; start the apiserver with --data-dir %s\n", file, etcd.EmbeddedDir(*dataDir), *dataDir)
	return nil
}

func status(_ context.Context, args []string, stdout io.Writer) error {
	file, err := parse(pflag.NewFlagSet("status", pflag.ContinueOnError), args)
	if err != nil {
		return err
	}
	return printStatus(stdout, file)
}

func printStatus(w io.Writer, file string) error {
	st, err := etcd.SnapshotStatus(file)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: revision %d, %d keys, %d bytes, hash %08x, storage version %s\n",
		file, st.Revision, st.TotalKey, st.TotalSize, st.Hash, st.Version)
	return nil
}
