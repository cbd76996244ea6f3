package main

import (
	"errors"
	"os"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"skiff.dev/pkg/component"
)

// options are the provisioner's flags.
type options struct {
	component.Observability
	CSIAddress       string
	Kubeconfig       string
	NodeName         string
	Namespace        string
	TopologyKey      string
	CapacityInterval time.Duration
	Timeout          time.Duration
	DriverTimeout    time.Duration
	Workers          int
	KubeAPIQPS       float32
	KubeAPIBurst     int
	// PodName, PodUID and PodNamespace are the provisioner's own Pod
	// ($POD_NAME, $POD_UID, $POD_NAMESPACE from the downward API), the
	// owner of its CSIStorageCapacity objects.
	PodName, PodUID, PodNamespace string
}

func defaultOptions() *options {
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = "kube-system"
	}
	return &options{
		Observability:    component.DefaultObservability(),
		CSIAddress:       "/csi/csi.sock",
		NodeName:         os.Getenv("NODE_NAME"),
		Namespace:        ns,
		TopologyKey:      "topology.local.csi.skiff.dev/node",
		CapacityInterval: time.Minute,
		Timeout:          30 * time.Second,
		DriverTimeout:    2 * time.Minute,
		Workers:          4,
		KubeAPIQPS:       20,
		KubeAPIBurst:     40,
		PodName:          os.Getenv("POD_NAME"),
		PodUID:           os.Getenv("POD_UID"),
		PodNamespace:     os.Getenv("POD_NAMESPACE"),
	}
}

// owner is the Pod that owns the CSIStorageCapacity objects, as
// external-provisioner's --capacity-ownerref-level=0: the provisioner's
// own, when it runs in one (both $POD_NAME and $POD_UID are set) and the
// objects go to its namespace (an owner must share it). Otherwise nil:
// the objects are unowned, and only this provisioner prunes them.
func (o *options) owner() *metav1.OwnerReference {
	if o.PodName == "" || o.PodUID == "" || o.PodNamespace != o.Namespace {
		return nil
	}
	controller := true
	return &metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: o.PodName, UID: types.UID(o.PodUID), Controller: &controller}
}

func (o *options) AddFlags(fs *pflag.FlagSet) {
	o.Observability.AddFlags(fs)
	fs.StringVar(&o.CSIAddress, "csi-address", o.CSIAddress, "Unix socket of the CSI driver.")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig of the apiserver; empty uses the pod's service account.")
	fs.StringVar(&o.NodeName, "node-name", o.NodeName, "This node's name: claims selected for it are provisioned here (default $NODE_NAME).")
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "Namespace of the CSIStorageCapacity objects (default $POD_NAMESPACE, else kube-system).")
	fs.StringVar(&o.TopologyKey, "topology-key", o.TopologyKey, "The driver's topology key whose value is the node's name.")
	fs.DurationVar(&o.CapacityInterval, "capacity-poll-interval", o.CapacityInterval, "How often the node's capacity is asked of the driver and published.")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "Timeout of each CreateVolume and DeleteVolume call.")
	fs.DurationVar(&o.DriverTimeout, "driver-timeout", o.DriverTimeout, "How long to wait at start for the driver to answer Probe ready.")
	fs.IntVar(&o.Workers, "worker-threads", o.Workers, "Claims and volumes handled at once.")
	fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "Requests per second to the apiserver (client-go's rate limit).")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "Requests to the apiserver allowed in a burst above --kube-api-qps.")
}

func (o *options) validate() error {
	if err := o.Observability.Validate(); err != nil {
		return err
	}
	switch {
	case o.NodeName == "":
		return errors.New("--node-name (or $NODE_NAME) is required")
	case (o.PodName == "") != (o.PodUID == ""):
		return errors.New("$POD_NAME and $POD_UID name the provisioner's Pod together: set both or neither")
	case o.CSIAddress == "" || o.TopologyKey == "" || o.Namespace == "":
		return errors.New("--csi-address, --topology-key and --namespace are required")
	case o.CapacityInterval <= 0 || o.Timeout <= 0 || o.DriverTimeout <= 0 || o.Workers <= 0 || o.KubeAPIQPS <= 0 || o.KubeAPIBurst <= 0:
		return errors.New("--capacity-poll-interval, --timeout, --driver-timeout, --worker-threads, --kube-api-qps and --kube-api-burst must be positive")
	}
	return nil
}
