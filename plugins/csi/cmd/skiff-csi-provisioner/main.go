// Command skiff-csi-provisioner is Skiff's external provisioner for a CSI
// driver, run on every node next to the driver: it provisions the claims
// scheduled to its node (volume.kubernetes.io/selected-node) through the
// driver's CreateVolume, creates their PersistentVolumes, deletes the
// volumes of released PVs with reclaim policy Delete, and publishes the
// node's CSIStorageCapacity. It talks to the apiserver's
// Kubernetes-compatible REST face with client-go.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"

	"skiff.dev/pkg/component"
	"skiff.dev/plugins/csi/internal/provisioner"
)

func main() {
	opts := defaultOptions()
	component.Main("skiff-csi-provisioner", opts, func(ctx context.Context) error { return run(ctx, opts) })
}

func run(ctx context.Context, o *options) error {
	if err := o.validate(); err != nil {
		return err
	}
	flush, err := o.Observability.Setup(ctx, "skiff-csi-provisioner")
	if err != nil {
		return err
	}
	defer flush()
	client, err := kubeClient(o.Kubeconfig, o.KubeAPIQPS, o.KubeAPIBurst)
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, o.DriverTimeout)
	conn, driverName, err := provisioner.Connect(waitCtx, o.CSIAddress)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close()
	cfg := provisioner.Config{
		Driver: driverName, Node: o.NodeName, TopologyKey: o.TopologyKey,
		Identity: fmt.Sprintf("%d-%04d-%s", time.Now().UnixMilli(), rand.IntN(10000), driverName),
		Owner:    o.owner(),
	}
	if cfg.Owner == nil {
		slog.Warn("not in a Pod of the capacity namespace ($POD_NAME, $POD_UID): CSIStorageCapacity objects are unowned", "namespace", o.Namespace)
	}
	cc := csi.NewControllerClient(conn)
	capacity := provisioner.NewCapacity(cfg, cc, client, o.Namespace, o.CapacityInterval, slog.Default())
	p := provisioner.New(cfg, cc, client, slog.Default(), capacity.Kick)
	ctrl := controller.NewProvisionController(ctx, client, driverName, p,
		controller.LeaderElection(false),
		controller.AddFinalizer(true),
		controller.Threadiness(o.Workers),
		controller.ProvisionTimeout(o.Timeout),
		controller.DeletionTimeout(o.Timeout),
		controller.FailedProvisionThreshold(0),
		controller.FailedDeleteThreshold(0),
	)
	slog.Info("provisioning", "driver", driverName, "node", o.NodeName, "csi", o.CSIAddress)
	go capacity.Run(ctx)
	ctrl.Run(ctx)
	return nil
}

// kubeClient reaches the apiserver with the kubeconfig, or as the pod's
// service account when there is none, at most qps requests a second.
func kubeClient(kubeconfig string, qps float32, burst int) (kubernetes.Interface, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("apiserver configuration: %w", err)
	}
	cfg.UserAgent = "skiff-csi-provisioner"
	cfg.QPS, cfg.Burst = qps, burst
	return kubernetes.NewForConfig(cfg)
}
