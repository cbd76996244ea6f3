// Package persistentvolume is the persistentvolume-binder controller, as
// Kubernetes' PV controller: it binds claims to volumes (the smallest
// Available volume that fits, a volume a claim names, a volume pre-bound
// to a claim), keeps the phases of both (claims Pending, Bound, Lost;
// volumes Available, Bound, Released, Failed) and the
// pv.kubernetes.io/bind-completed and bound-by-controller annotations,
// hands claims of a class with an external (CSI) provisioner to that
// provisioner through the volume.kubernetes.io/storage-provisioner
// annotations, leaves claims of WaitForFirstConsumer classes to the
// scheduler until it selects a node, and reclaims the volumes of deleted
// claims (Retain: Released, data kept; Delete: left to the provisioner
// that made the volume). Events are Kubernetes' reasons and messages, as
// persistentvolume-controller.
package persistentvolume
