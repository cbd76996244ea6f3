// Package node is Kubernetes' Node authorizer: it decides the requests of
// kubelets (user system:node:<name> in group system:nodes) and no one
// else's. A kubelet may do what the system:node role lists, except that
// it may read a Secret, ConfigMap, PersistentVolumeClaim or ServiceAccount
// (and request a ServiceAccount's token) only when a pod bound to its node
// refers to it (a Secret also when it is the node-stage, node-publish or
// node-expand secret of the CSI volume bound to a claim such a pod uses),
// may write the status of such a claim only, and may read those only one
// by one (get, or a list or
// watch pinned to one name). Which pods are bound to which node it learns
// from the pods' watch (package follow), so a pod scheduled a moment ago
// may be refused for that moment, as in Kubernetes.
//
// What a kubelet may write of its own Node, pods and Lease is narrowed
// further by the NodeRestriction admission plugin.
package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/authorizer/rbac"
	"skiff.dev/services/apiserver/internal/follow"
	"skiff.dev/services/apiserver/internal/registry"
)

// Authorizer is the Node authorizer.
type Authorizer struct {
	rules []*rbacv1.PolicyRule

	mu       sync.RWMutex
	byNode   map[string]map[string]*corev1.Pod // node → namespace/name → pod
	nodeOf   map[string]string                 // namespace/name → node
	pvClaim  map[string]string                 // volume → namespace/name of its claimRef
	pvSecret map[string][]string               // volume → namespace/name of the Secrets its node CSI calls use
	vaNode   map[string]string                 // VolumeAttachment → its node
	done     chan struct{}
}

var _ authorizer.Authorizer = (*Authorizer)(nil)

// New returns a Node authorizer granting kubelets the rules given (the
// system:node role's).
func New(rules []*rbacv1.PolicyRule) *Authorizer {
	return &Authorizer{rules: rules, byNode: map[string]map[string]*corev1.Pod{}, nodeOf: map[string]string{},
		pvClaim: map[string]string{}, pvSecret: map[string][]string{}, vaNode: map[string]string{}, done: make(chan struct{})}
}

// Backends are what the authorizer follows: pods (which node refers to
// what), PersistentVolumes (the claim each is bound to) and
// VolumeAttachments (the node each is for).
type Backends struct {
	Pods, PersistentVolumes, VolumeAttachments registry.Backend
}

// Start lists the pods, volumes and attachments, then follows them until
// ctx ends.
func (a *Authorizer) Start(ctx context.Context, b Backends) error {
	followers := []*follow.Follower{
		{Backend: b.Pods, Set: a.setPod, Remove: a.removePod},
		{Backend: b.PersistentVolumes, Set: a.setVolume, Remove: a.removeVolume},
		{Backend: b.VolumeAttachments, Set: a.setAttachment, Remove: a.removeAttachment},
	}
	revs := make([]string, len(followers))
	for i, f := range followers {
		rev, err := f.List(ctx)
		if err != nil {
			return err
		}
		revs[i] = rev
	}
	var wg sync.WaitGroup
	for i, f := range followers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.Run(ctx, revs[i])
		}()
	}
	go func() {
		wg.Wait()
		close(a.done)
	}()
	return nil
}

// Done is closed when the followers (pods, volumes, attachments) have
// stopped, after ctx ended.
func (a *Authorizer) Done() <-chan struct{} { return a.done }

func (a *Authorizer) setPod(obj proto.Message) {
	p := obj.(*corev1.Pod)
	key := p.GetMetadata().GetNamespace() + "/" + p.GetMetadata().GetName()
	node := p.GetSpec().GetNodeName()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forget(key)
	if node == "" {
		return
	}
	if a.byNode[node] == nil {
		a.byNode[node] = map[string]*corev1.Pod{}
	}
	a.byNode[node][key] = p
	a.nodeOf[key] = node
}

func (a *Authorizer) removePod(namespace, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forget(namespace + "/" + name)
}

// forget drops a pod from the index; the lock is held.
func (a *Authorizer) forget(key string) {
	node, ok := a.nodeOf[key]
	if !ok {
		return
	}
	delete(a.byNode[node], key)
	if len(a.byNode[node]) == 0 {
		delete(a.byNode, node)
	}
	delete(a.nodeOf, key)
}

// NodeName is the node a user is the kubelet of: user system:node:<name>
// in group system:nodes.
func NodeName(user string, groups []string) (string, bool) {
	name, ok := strings.CutPrefix(user, "system:node:")
	if !ok || name == "" || !slices.Contains(groups, "system:nodes") {
		return "", false
	}
	return name, true
}

// Authorize decides a kubelet's request; others get no opinion.
func (a *Authorizer) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	node, ok := NodeName(attrs.User, attrs.Groups)
	if !ok {
		return authorizer.DecisionNoOpinion, "", nil
	}
	if attrs.ResourceRequest && attrs.APIGroup == "" {
		if ref := refKind(attrs); ref != "" {
			return a.authorizeRef(node, ref, attrs)
		}
	}
	if d, reason, ok := a.authorizeStorage(node, attrs); ok {
		return d, reason, nil
	}
	if rbac.RulesAllow(attrs, a.rules) {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

// refKind names the kinds a pod refers to that the authorizer tracks, ""
// for others.
func refKind(attrs authorizer.Attributes) string {
	switch {
	case attrs.Resource == "secrets" && attrs.Subresource == "",
		attrs.Resource == "configmaps" && attrs.Subresource == "",
		attrs.Resource == "persistentvolumeclaims" && attrs.Subresource == "",
		attrs.Resource == "serviceaccounts" && (attrs.Subresource == "" || attrs.Subresource == "token"):
		return attrs.Resource
	}
	return ""
}

// authorizeRef allows a kubelet to read one object a pod on its node
// refers to (and to request the token of such a service account).
func (a *Authorizer) authorizeRef(node, kind string, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	verbs := []string{"get", "list", "watch"}
	switch {
	case kind == "serviceaccounts" && attrs.Subresource == "token":
		verbs = []string{"create"}
	case kind == "persistentvolumeclaims", kind == "serviceaccounts":
		verbs = []string{"get"}
	}
	if !slices.Contains(verbs, attrs.Verb) {
		return authorizer.DecisionNoOpinion, fmt.Sprintf("can only %s individual %s", strings.Join(verbs, "/"), kind), nil
	}
	if attrs.Name == "" {
		return authorizer.DecisionNoOpinion, "No Object name found, key not found", nil
	}
	if !a.related(node, kind, attrs.Namespace, attrs.Name) {
		return authorizer.DecisionNoOpinion, fmt.Sprintf("no relationship found between node '%s' and this object", node), nil
	}
	return authorizer.DecisionAllow, "", nil
}

// related tells whether a pod bound to node refers to the object, or, for
// a Secret, whether a pod bound to node uses a claim whose volume names the
// Secret for the node's CSI calls.
func (a *Authorizer) related(node, kind, namespace, name string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.refersTo(node, kind, namespace, name) {
		return true
	}
	return kind == "secrets" && a.volumeSecretRelated(node, namespace+"/"+name)
}

// refersTo tells whether a pod bound to node refers to the object itself;
// the lock is held.
func (a *Authorizer) refersTo(node, kind, namespace, name string) bool {
	for _, p := range a.byNode[node] {
		if p.GetMetadata().GetNamespace() == namespace && slices.Contains(refs(p, kind), name) {
			return true
		}
	}
	return false
}

// refs lists the names of the objects of a kind a pod refers to: through
// volumes (projected ones too), env and envFrom, image pull secrets, its
// service account.
func refs(p *corev1.Pod, kind string) []string {
	s := p.GetSpec()
	var out []string
	switch kind {
	case "serviceaccounts":
		return []string{s.GetServiceAccountName()}
	case "secrets":
		for _, r := range s.GetImagePullSecrets() {
			out = append(out, r.GetName())
		}
	}
	for _, vol := range s.GetVolumes() {
		v := vol.GetVolumeSource()
		switch kind {
		case "secrets":
			if v.GetSecret() != nil {
				out = append(out, v.GetSecret().GetSecretName())
			}
		case "configmaps":
			if v.GetConfigMap() != nil {
				out = append(out, v.GetConfigMap().GetLocalObjectReference().GetName())
			}
		case "persistentvolumeclaims":
			if v.GetPersistentVolumeClaim() != nil {
				out = append(out, v.GetPersistentVolumeClaim().GetClaimName())
			}
		}
		for _, src := range v.GetProjected().GetSources() {
			switch {
			case kind == "secrets" && src.GetSecret() != nil:
				out = append(out, src.GetSecret().GetLocalObjectReference().GetName())
			case kind == "configmaps" && src.GetConfigMap() != nil:
				out = append(out, src.GetConfigMap().GetLocalObjectReference().GetName())
			}
		}
	}
	for _, c := range containers(s) {
		for _, e := range c.GetEnv() {
			switch {
			case kind == "secrets" && e.GetValueFrom().GetSecretKeyRef() != nil:
				out = append(out, e.GetValueFrom().GetSecretKeyRef().GetLocalObjectReference().GetName())
			case kind == "configmaps" && e.GetValueFrom().GetConfigMapKeyRef() != nil:
				out = append(out, e.GetValueFrom().GetConfigMapKeyRef().GetLocalObjectReference().GetName())
			}
		}
		for _, e := range c.GetEnvFrom() {
			switch {
			case kind == "secrets" && e.GetSecretRef() != nil:
				out = append(out, e.GetSecretRef().GetLocalObjectReference().GetName())
			case kind == "configmaps" && e.GetConfigMapRef() != nil:
				out = append(out, e.GetConfigMapRef().GetLocalObjectReference().GetName())
			}
		}
	}
	return out
}

// containers are a pod's init, app and ephemeral containers.
func containers(s *corev1.PodSpec) []*corev1.Container {
	out := append(slices.Clone(s.GetInitContainers()), s.GetContainers()...)
	for _, ec := range s.GetEphemeralContainers() {
		if c := ec.GetEphemeralContainerCommon(); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// RulesFor lists no rules: for a kubelet the list would depend on its
// pods, so it says the list is incomplete, as Kubernetes' Node authorizer
// does.
func (a *Authorizer) RulesFor(_ context.Context, user authorizer.UserInfo, _ string) ([]authorizer.ResourceRule, []authorizer.NonResourceRule, bool, error) {
	if _, ok := NodeName(user.Name, user.Groups); ok {
		return nil, nil, true, fmt.Errorf("node authorizer does not support user rule resolution")
	}
	return nil, nil, false, nil
}
