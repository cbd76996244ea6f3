package app

import (
	"context"

	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/services/controller-manager/internal/attachdetach"
	"skiff.dev/services/controller-manager/internal/clusterroleaggregation"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/cronjob"
	"skiff.dev/services/controller-manager/internal/csrapproving"
	"skiff.dev/services/controller-manager/internal/csrsigning"
	"skiff.dev/services/controller-manager/internal/daemonset"
	"skiff.dev/services/controller-manager/internal/deployment"
	"skiff.dev/services/controller-manager/internal/disruption"
	"skiff.dev/services/controller-manager/internal/endpoints"
	"skiff.dev/services/controller-manager/internal/endpointslice"
	"skiff.dev/services/controller-manager/internal/endpointslicemirroring"
	"skiff.dev/services/controller-manager/internal/garbagecollector"
	"skiff.dev/services/controller-manager/internal/informers"
	"skiff.dev/services/controller-manager/internal/job"
	"skiff.dev/services/controller-manager/internal/namespace"
	"skiff.dev/services/controller-manager/internal/nodeipam"
	"skiff.dev/services/controller-manager/internal/nodelifecycle"
	"skiff.dev/services/controller-manager/internal/persistentvolume"
	"skiff.dev/services/controller-manager/internal/podgc"
	"skiff.dev/services/controller-manager/internal/pvcprotection"
	"skiff.dev/services/controller-manager/internal/pvprotection"
	"skiff.dev/services/controller-manager/internal/replicaset"
	"skiff.dev/services/controller-manager/internal/replication"
	"skiff.dev/services/controller-manager/internal/resourcequota"
	"skiff.dev/services/controller-manager/internal/rootcacertpublisher"
	"skiff.dev/services/controller-manager/internal/serviceaccount"
	"skiff.dev/services/controller-manager/internal/servicecidrs"
	"skiff.dev/services/controller-manager/internal/statefulset"
	"skiff.dev/services/controller-manager/internal/tokencleaner"
	"skiff.dev/services/controller-manager/internal/ttlafterfinished"
)

// deps is what a controller is built from.
type deps struct {
	c       *client.Client
	f       *informers.Factory
	o       *Options
	workers int
	observe controller.Observer
	events  *events.Broadcaster
}

// runner is a controller the manager starts while it leads.
type runner interface {
	Run(ctx context.Context) error
}

// known lists the controllers, their worker flags (Kubernetes' names; none
// for controllers without workers) and how to build them.
var known = []struct {
	name        string
	workersFlag string
	workers     int
	build       func(d deps) (runner, error)
}{
	{replicaset.Name, "concurrent-replicaset-syncs", 5, func(d deps) (runner, error) {
		rc := replicaset.New(d.c, d.f, d.workers)
		rc.Observe = d.observe
		rc.Events = d.events.Recorder("replicaset-controller", "")
		return rc, nil
	}},
	{replication.Name, "concurrent-rc-syncs", 5, func(d deps) (runner, error) {
		rc, err := replication.New(d.c, d.f, d.workers)
		if err != nil {
			return nil, err
		}
		rc.Observe = d.observe
		rc.Events = d.events.Recorder("replication-controller", "")
		return rc, nil
	}},
	{deployment.Name, "concurrent-deployment-syncs", 5, func(d deps) (runner, error) {
		dc := deployment.New(d.c, d.f, d.workers)
		dc.Observe = d.observe
		dc.Events = d.events.Recorder("deployment-controller", "")
		return dc, nil
	}},
	{job.Name, "concurrent-job-syncs", 5, func(d deps) (runner, error) {
		jc := job.New(d.c, d.f, d.workers)
		jc.Observe = d.observe
		jc.Events = d.events.Recorder("job-controller", "")
		return jc, nil
	}},
	{ttlafterfinished.Name, "concurrent-ttl-after-finished-syncs", 5, func(d deps) (runner, error) {
		tc := ttlafterfinished.New(d.c, d.f, d.workers)
		tc.Observe = d.observe
		return tc, nil
	}},
	{cronjob.Name, "concurrent-cron-job-syncs", 5, func(d deps) (runner, error) {
		cc := cronjob.New(d.c, d.f, cronjob.Config{Workers: d.workers})
		cc.Observe = d.observe
		cc.Events = d.events.Recorder(cronjob.Component, "")
		return cc, nil
	}},
	{daemonset.Name, "concurrent-daemonset-syncs", 2, func(d deps) (runner, error) {
		dc := daemonset.New(d.c, d.f, d.workers)
		dc.Observe = d.observe
		dc.Events = d.events.Recorder("daemonset-controller", "")
		return dc, nil
	}},
	{statefulset.Name, "concurrent-statefulset-syncs", 5, func(d deps) (runner, error) {
		sc := statefulset.New(d.c, d.f, d.workers)
		sc.Observe = d.observe
		sc.Events = d.events.Recorder("statefulset-controller", "")
		return sc, nil
	}},
	{endpoints.Name, "concurrent-endpoint-syncs", 5, func(d deps) (runner, error) {
		ec := endpoints.New(d.c, d.f, d.workers)
		ec.Observe = d.observe
		return ec, nil
	}},
	{endpointslice.Name, "concurrent-service-endpoint-syncs", 5, func(d deps) (runner, error) {
		ec := endpointslice.New(d.c, d.f, d.workers)
		ec.Observe = d.observe
		return ec, nil
	}},
	{endpointslicemirroring.Name, "mirroring-concurrent-service-endpoint-syncs", 5, func(d deps) (runner, error) {
		mc := endpointslicemirroring.New(d.c, d.f, endpointslicemirroring.Config{Workers: d.workers,
			MaxEndpointsPerSubset: d.o.MirroringMaxEndpointsPerSubset})
		mc.Observe = d.observe
		mc.Events = d.events.Recorder(endpointslicemirroring.Component, "")
		return mc, nil
	}},
	{garbagecollector.Name, "concurrent-gc-syncs", 20, func(d deps) (runner, error) {
		gc := garbagecollector.New(d.c, d.workers)
		gc.Observe = d.observe
		return gc, nil
	}},
	{namespace.Name, "concurrent-namespace-syncs", 10, func(d deps) (runner, error) {
		nc := namespace.New(d.c, d.f, d.workers)
		nc.Observe = d.observe
		return nc, nil
	}},
	// Kubernetes' pod garbage collector has no workers flag either.
	{podgc.Name, "", 1, func(d deps) (runner, error) {
		gc := podgc.New(d.c, d.f)
		gc.Observe = d.observe
		return gc, nil
	}},
	{nodelifecycle.Name, "", 1, func(d deps) (runner, error) {
		nc := nodelifecycle.New(d.c, d.f, nodelifecycle.Config{MonitorPeriod: d.o.NodeMonitorPeriod,
			GracePeriod: d.o.NodeMonitorGracePeriod, EvictionRate: d.o.NodeEvictionRate})
		nc.Events = d.events.Recorder("node-controller", "")
		nc.Evictions = d.events.Recorder("taint-eviction-controller", "")
		return nc, nil
	}},
	// Kubernetes has no flag for the node IPAM controller's workers either.
	{nodeipam.Name, "", 5, func(d deps) (runner, error) {
		ic := nodeipam.New(d.c, d.f, nodeipam.Config{ClusterCIDR: d.o.clusterCIDR(), NodeMaskSize: d.o.NodeCIDRMaskSize, Workers: d.workers})
		ic.Observe = d.observe
		ic.Events = d.events.Recorder(nodeipam.Component, "")
		return ic, nil
	}},
	{serviceaccount.Name, "concurrent-serviceaccount-syncs", 2, func(d deps) (runner, error) {
		sc := serviceaccount.New(d.c, d.f, d.workers)
		sc.Observe = d.observe
		return sc, nil
	}},
	// Kubernetes runs it with five workers and no flag for more.
	{servicecidrs.Name, "", 5, func(d deps) (runner, error) {
		sc := servicecidrs.New(d.c, d.f, d.workers)
		sc.Observe = d.observe
		return sc, nil
	}},
	// Kubernetes runs the publisher with one worker and no flag for more.
	{rootcacertpublisher.Name, "", 1, func(d deps) (runner, error) {
		pc, err := rootcacertpublisher.New(d.c, d.f, rootcacertpublisher.Config{CA: d.o.rootCA(), Workers: d.workers})
		if err != nil {
			return nil, err
		}
		pc.Observe = d.observe
		return pc, nil
	}},
	{resourcequota.Name, "concurrent-resource-quota-syncs", 5, func(d deps) (runner, error) {
		rc := resourcequota.New(d.c, d.f, d.workers, d.o.ResourceQuotaSyncPeriod)
		rc.Observe = d.observe
		return rc, nil
	}},
	// Kubernetes runs it with five workers and no flag for more.
	{clusterroleaggregation.Name, "", 5, func(d deps) (runner, error) {
		ac := clusterroleaggregation.New(d.c, d.f, d.workers)
		ac.Observe = d.observe
		return ac, nil
	}},
	// Kubernetes runs the certificate controllers with five workers and no
	// flag for more.
	{csrapproving.Name, "", 5, func(d deps) (runner, error) {
		ac := csrapproving.New(d.c, d.f, d.workers)
		ac.Observe = d.observe
		return ac, nil
	}},
	// Runs only with --cluster-signing-cert-file and --cluster-signing-key-file,
	// as in Kubernetes.
	{csrsigning.Name, "", 5, func(d deps) (runner, error) {
		sc, err := csrsigning.New(d.c, d.f, csrsigning.Config{CertFile: d.o.ClusterSigningCertFile,
			KeyFile: d.o.ClusterSigningKeyFile, Duration: d.o.ClusterSigningDuration, Workers: d.workers})
		if err != nil {
			return nil, err
		}
		sc.Observe = d.observe
		return sc, nil
	}},
	// Kubernetes runs it with one worker and no flag for more.
	{disruption.Name, "", 1, func(d deps) (runner, error) {
		dc := disruption.New(d.c, d.f, d.workers)
		dc.Observe = d.observe
		dc.Events = d.events.Recorder("controllermanager", "")
		return dc, nil
	}},
	// The storage controllers: Kubernetes runs each with one worker and no
	// flag for more.
	{persistentvolume.Name, "", 1, func(d deps) (runner, error) {
		pc := persistentvolume.New(d.c, d.f, d.workers)
		pc.Observe = d.observe
		pc.Events = d.events.Recorder(persistentvolume.Component, "")
		return pc, nil
	}},
	{pvprotection.Name, "", 1, func(d deps) (runner, error) {
		pc := pvprotection.New(d.c, d.f, d.workers)
		pc.Observe = d.observe
		return pc, nil
	}},
	{attachdetach.Name, "", 1, func(d deps) (runner, error) {
		ac := attachdetach.New(d.c, d.f, d.workers)
		ac.Observe = d.observe
		return ac, nil
	}},
	{pvcprotection.Name, "", 1, func(d deps) (runner, error) {
		pc := pvcprotection.New(d.c, d.f, d.workers)
		pc.Observe = d.observe
		return pc, nil
	}},
	// On with "*", unlike in Kubernetes, where kubeadm turns it on: Skiff's
	// apiserver accepts bootstrap tokens by default.
	{tokencleaner.Name, "", 1, func(d deps) (runner, error) {
		tc := tokencleaner.New(d.c, d.f)
		tc.Observe = d.observe
		return tc, nil
	}},
}

// accounts are the controllers' service accounts in kube-system, whose
// system:controller:<account> roles Kubernetes' bootstrap policy grants:
// with --use-service-account-credentials each controller acts as its own.
var accounts = map[string]string{
	replicaset.Name: "replicaset-controller", deployment.Name: "deployment-controller",
	endpoints.Name: "endpoint-controller", endpointslice.Name: "endpointslice-controller",
	endpointslicemirroring.Name: "endpointslicemirroring-controller", garbagecollector.Name: "generic-garbage-collector",
	namespace.Name: "namespace-controller", podgc.Name: "pod-garbage-collector",
	nodelifecycle.Name: "node-controller", nodeipam.Name: "node-controller",
	serviceaccount.Name: "service-account-controller", servicecidrs.Name: "service-cidrs-controller",
	rootcacertpublisher.Name: "root-ca-cert-publisher", clusterroleaggregation.Name: "clusterrole-aggregation-controller",
	csrapproving.Name: "certificate-controller", csrsigning.Name: "certificate-controller", tokencleaner.Name: "token-cleaner",
	resourcequota.Name: "resourcequota-controller", disruption.Name: "disruption-controller",
	replication.Name: "replication-controller", job.Name: "job-controller",
	ttlafterfinished.Name: "ttl-after-finished-controller", cronjob.Name: "cronjob-controller",
	daemonset.Name:     "daemon-set-controller",
	statefulset.Name:   "statefulset-controller",
	pvcprotection.Name: "pvc-protection-controller", pvprotection.Name: "pv-protection-controller",
	persistentvolume.Name: "persistent-volume-binder", attachdetach.Name: "attachdetach-controller",
}

func names() []string {
	out := make([]string, len(known))
	for i, c := range known {
		out[i] = c.name
	}
	return out
}
