// Package staticpods runs pods from manifest files in a directory
// (--pod-manifest-path) and mirrors each into the API as a read-only mirror
// pod, so kubectl shows them. The file is the source of truth: deleting the
// mirror pod brings it back, removing the file stops the pod.
package staticpods

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/kjson"
)

// Annotations Kubernetes puts on static and mirror pods.
const (
	AnnotationSource = "kubernetes.io/config.source"
	AnnotationHash   = "kubernetes.io/config.hash"
	AnnotationMirror = "kubernetes.io/config.mirror"
)

// IsMirror reports whether an API pod is a static pod's mirror.
func IsMirror(pod *corev1.Pod) bool {
	_, ok := pod.GetMetadata().GetAnnotations()[AnnotationMirror]
	return ok
}

// IsStatic reports whether a pod comes from a manifest file.
func IsStatic(pod *corev1.Pod) bool {
	return pod.GetMetadata().GetAnnotations()[AnnotationSource] == "file"
}

// Mirrors is the cache of this node's API pods, keyed namespace/name (the
// kubelet's pod informer store).
type Mirrors interface {
	Get(key string) (*corev1.Pod, bool)
	List() []*corev1.Pod
}

// Manager reads the manifests and keeps their mirror pods.
type Manager struct {
	dir, node string
	c         *client.Client
	mirrors   Mirrors
	kick      func(uid string)

	mu   sync.Mutex
	pods map[string]*corev1.Pod // by uid (the content hash)
}

// New returns a manager of the manifests in dir; kick is told the uid of
// every static pod that appears, changes or goes.
func New(dir, node string, c *client.Client, mirrors Mirrors, kick func(uid string)) *Manager {
	return &Manager{dir: dir, node: node, c: c, mirrors: mirrors, kick: kick, pods: map[string]*corev1.Pod{}}
}

// Pod returns the static pod with this uid.
func (m *Manager) Pod(uid string) (*corev1.Pod, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pods[uid]
	return p, ok
}

// Run rereads the directory every period and reconciles the mirror pods,
// until ctx ends.
func (m *Manager) Run(ctx context.Context, period time.Duration) error {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		m.reload(ctx)
		m.syncMirrors(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// reload reads every manifest and kicks the pods that changed.
func (m *Manager) reload(ctx context.Context) {
	files, err := os.ReadDir(m.dir)
	if err != nil {
		slog.WarnContext(ctx, "read static pod manifests", "dir", m.dir, "err", err)
		return
	}
	next := map[string]*corev1.Pod{}
	for _, f := range files {
		name := f.Name()
		if f.IsDir() || strings.HasPrefix(name, ".") || !slices.Contains([]string{".yaml", ".yml", ".json"}, filepath.Ext(name)) {
			continue
		}
		pod, err := m.load(filepath.Join(m.dir, name))
		if err != nil {
			slog.WarnContext(ctx, "static pod manifest", "file", name, "err", err)
			continue
		}
		next[pod.GetMetadata().GetUid()] = pod
	}
	m.mu.Lock()
	var changed []string
	for uid := range next {
		if _, ok := m.pods[uid]; !ok {
			changed = append(changed, uid)
		}
	}
	for uid := range m.pods {
		if _, ok := next[uid]; !ok {
			changed = append(changed, uid)
		}
	}
	m.pods = next
	m.mu.Unlock()
	for _, uid := range changed {
		m.kick(uid)
	}
}

// load reads one manifest into a pod of this node: its name gets the node
// name as suffix, its uid is a hash of the manifest and the node, and it
// carries Kubernetes' defaults.
func (m *Manager) load(path string) (*corev1.Pod, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pod := &corev1.Pod{}
	if err := kjson.UnmarshalYAML(data, pod); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if pod.GetKind() != "" && pod.GetKind() != "Pod" {
		return nil, fmt.Errorf("kind %s: a static pod manifest holds one Pod", pod.GetKind())
	}
	if pod.GetMetadata().GetName() == "" || len(pod.GetSpec().GetContainers()) == 0 {
		return nil, fmt.Errorf("a static pod needs metadata.name and at least one container")
	}
	sum := sha256.Sum256(append(append([]byte{}, data...), m.node...))
	hash := hex.EncodeToString(sum[:16])
	meta := pod.GetMetadata()
	meta.Name = meta.GetName() + "-" + m.node
	if meta.GetNamespace() == "" {
		meta.Namespace = "default"
	}
	meta.Uid = hash
	if meta.Annotations == nil {
		meta.Annotations = map[string]string{}
	}
	meta.Annotations[AnnotationSource] = "file"
	meta.Annotations[AnnotationHash] = hash
	pod.Spec.NodeName = proto.String(m.node)
	setDefaults(pod)
	return pod, nil
}

// syncMirrors makes each static pod's mirror exist with the current hash,
// and deletes mirrors of this node that no manifest backs any more.
func (m *Manager) syncMirrors(ctx context.Context) {
	m.mu.Lock()
	pods := make([]*corev1.Pod, 0, len(m.pods))
	for _, p := range m.pods {
		pods = append(pods, p)
	}
	m.mu.Unlock()
	wanted := map[string]bool{}
	for _, p := range pods {
		key := p.GetMetadata().GetNamespace() + "/" + p.GetMetadata().GetName()
		wanted[key] = true
		cur, ok := m.mirrors.Get(key)
		if ok && cur.GetMetadata().GetAnnotations()[AnnotationMirror] == p.GetMetadata().GetUid() && cur.GetMetadata().GetDeletionTimestamp() == nil {
			continue
		}
		if ok {
			m.deleteMirror(ctx, cur)
			continue // created on the next round, once the old one is gone
		}
		if err := m.createMirror(ctx, p); err != nil && !client.IsAlreadyExists(err) {
			slog.WarnContext(ctx, "create mirror pod", "pod", key, "err", err)
		}
	}
	m.deleteStaleMirrors(ctx, wanted)
}

func (m *Manager) createMirror(ctx context.Context, p *corev1.Pod) error {
	mirror := proto.Clone(p).(*corev1.Pod)
	meta := mirror.GetMetadata()
	meta.Uid = ""
	meta.Annotations[AnnotationMirror] = p.GetMetadata().GetUid()
	if n, err := m.c.CoreV1().Nodes().Get(ctx, m.node); err == nil {
		meta.OwnerReferences = []*metav1.OwnerReference{{ApiVersion: "v1", Kind: "Node", Name: m.node, Uid: n.GetMetadata().GetUid()}}
	}
	mirror.Status = nil
	_, err := m.c.CoreV1().Pods(meta.GetNamespace()).Create(ctx, mirror, client.WriteOptions{FieldManager: "kubelet"})
	return err
}

func (m *Manager) deleteMirror(ctx context.Context, pod *corev1.Pod) {
	zero := int64(0)
	uid := pod.GetMetadata().GetUid()
	_, err := m.c.CoreV1().Pods(pod.GetMetadata().GetNamespace()).Delete(ctx, pod.GetMetadata().GetName(),
		&metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{Uid: &uid}})
	if err != nil && !client.IsNotFound(err) && !client.IsConflict(err) {
		slog.WarnContext(ctx, "delete mirror pod", "pod", pod.GetMetadata().GetName(), "err", err)
	}
}

// deleteStaleMirrors removes this node's mirror pods whose manifest is
// gone.
func (m *Manager) deleteStaleMirrors(ctx context.Context, wanted map[string]bool) {
	for _, p := range m.mirrors.List() {
		if IsMirror(p) && !wanted[p.GetMetadata().GetNamespace()+"/"+p.GetMetadata().GetName()] {
			m.deleteMirror(ctx, p)
		}
	}
}
