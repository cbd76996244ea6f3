// Package webhook is the apiserver's admission webhooks: the
// MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins, which
// send a write to the webhooks its admissionregistration.k8s.io/v1
// configurations register, as Kubernetes' dispatchers do. A write matches
// a webhook by its rules (operation, group, version, resource and
// subresource, scope), the namespace's and the object's labels, and the
// webhook's CEL match conditions; it is sent as an admission.k8s.io
// AdmissionReview over HTTPS, trusting the webhook's caBundle, within its
// timeout. Mutating webhooks are called one after the other and may
// change the object with a JSON patch (and are called again, once, when
// a later one changed it and their reinvocationPolicy is IfNeeded);
// validating webhooks are called together and any may refuse. A webhook
// that cannot be called or answers nonsense refuses the write or lets it
// through by its failurePolicy.
//
// The configurations are read from an in-memory copy each apiserver keeps
// from their watches (package follow), never from etcd per request.
package webhook

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	admissionregistrationv1 "skiff.dev/api/admissionregistration/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/admission/webhook/conditions"
	"skiff.dev/services/apiserver/internal/follow"
	"skiff.dev/services/apiserver/internal/registry"
)

// Plugin names, as Kubernetes names them.
const (
	MutatingPluginName   = "MutatingAdmissionWebhook"
	ValidatingPluginName = "ValidatingAdmissionWebhook"
)

// Config is what the webhooks read.
type Config struct {
	// ValidatingConfigurations and MutatingConfigurations are the two
	// configuration kinds' backends, followed in memory.
	ValidatingConfigurations, MutatingConfigurations registry.Backend
	// Namespaces is read for the labels a namespaceSelector matches.
	Namespaces registry.Backend
	// Services finds where a webhook given by a service reference is
	// served (ServiceEndpoints over the Services and EndpointSlices).
	Services ServiceResolver
	// Versions lists the served versions of a group's resource, for
	// matchPolicy Equivalent; nil knows only the request's own version.
	Versions func(group, resource string) []string
}

// Webhooks dispatches writes to the registered webhooks.
type Webhooks struct {
	cfg     Config
	clients *clients

	// validating and mutating are each configuration's webhooks, ready
	// to call, by configuration name.
	mu         sync.Mutex
	validating map[string][]*hook
	mutating   map[string][]*hook
	// validatingHooks and mutatingHooks are the webhooks to call, in
	// Kubernetes' order: configurations by name, webhooks in their order.
	validatingHooks, mutatingHooks atomic.Pointer[[]*hook]

	done chan struct{}
}

// New makes the webhooks over cfg; Start must run before writes come.
func New(cfg Config) *Webhooks {
	x := &Webhooks{
		cfg: cfg, clients: newClients(cfg.Services),
		validating: map[string][]*hook{},
		mutating:   map[string][]*hook{},
		done:       make(chan struct{}),
	}
	x.validatingHooks.Store(&[]*hook{})
	x.mutatingHooks.Store(&[]*hook{})
	return x
}

// Plugins are the two admission plugins.
func (x *Webhooks) Plugins() []admission.Plugin {
	return []admission.Plugin{
		{Name: MutatingPluginName, Mutate: x.admit},
		{Name: ValidatingPluginName, Validate: x.validate},
	}
}

// Start reads the configurations, then follows them until ctx ends.
func (x *Webhooks) Start(ctx context.Context) error {
	followers := []*follow.Follower{
		{Backend: x.cfg.ValidatingConfigurations, Set: x.setValidating, Remove: x.removeValidating},
		{Backend: x.cfg.MutatingConfigurations, Set: x.setMutating, Remove: x.removeMutating},
	}
	revs := make([]string, len(followers))
	for i, f := range followers {
		rev, err := f.List(ctx)
		if err != nil {
			return fmt.Errorf("read the webhook configurations: %w", err)
		}
		revs[i] = rev
	}
	var wg sync.WaitGroup
	for i, f := range followers {
		wg.Go(func() { f.Run(ctx, revs[i]) })
	}
	go func() {
		wg.Wait()
		x.clients.closeAll()
		close(x.done)
	}()
	return nil
}

// Done is closed when the followers have stopped, after ctx ended.
func (x *Webhooks) Done() <-chan struct{} { return x.done }

// setValidating compiles a validating configuration's webhooks (only
// that configuration's: a change costs what the changed configuration
// holds) and publishes the new list.
func (x *Webhooks) setValidating(obj proto.Message) {
	c := obj.(*admissionregistrationv1.ValidatingWebhookConfiguration)
	name := c.GetMetadata().GetName()
	var hooks []*hook
	for i, w := range c.GetWebhooks() {
		hooks = append(hooks, newHook(name, i, hookSpec{
			name: w.GetName(), clientConfig: w.GetClientConfig(), rules: w.GetRules(),
			failurePolicy: w.GetFailurePolicy(), matchPolicy: w.GetMatchPolicy(), sideEffects: w.SideEffects,
			namespaceSelector: w.GetNamespaceSelector(), objectSelector: w.GetObjectSelector(),
			timeoutSeconds: w.TimeoutSeconds, reviewVersions: w.GetAdmissionReviewVersions(), matchConditions: w.GetMatchConditions(),
		}))
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.validating[name] = hooks
	x.validatingHooks.Store(ordered(x.validating))
}

func (x *Webhooks) removeValidating(_, name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.validating, name)
	x.validatingHooks.Store(ordered(x.validating))
}

// setMutating: as setValidating, for a mutating configuration.
func (x *Webhooks) setMutating(obj proto.Message) {
	c := obj.(*admissionregistrationv1.MutatingWebhookConfiguration)
	name := c.GetMetadata().GetName()
	var hooks []*hook
	for i, w := range c.GetWebhooks() {
		hooks = append(hooks, newHook(name, i, hookSpec{
			name: w.GetName(), clientConfig: w.GetClientConfig(), rules: w.GetRules(),
			failurePolicy: w.GetFailurePolicy(), matchPolicy: w.GetMatchPolicy(), sideEffects: w.SideEffects,
			namespaceSelector: w.GetNamespaceSelector(), objectSelector: w.GetObjectSelector(),
			timeoutSeconds: w.TimeoutSeconds, reviewVersions: w.GetAdmissionReviewVersions(), matchConditions: w.GetMatchConditions(),
			mutating: true, reinvokeIfNeeded: w.GetReinvocationPolicy() == "IfNeeded",
		}))
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.mutating[name] = hooks
	x.mutatingHooks.Store(ordered(x.mutating))
}

func (x *Webhooks) removeMutating(_, name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.mutating, name)
	x.mutatingHooks.Store(ordered(x.mutating))
}

// ordered lists the webhooks in Kubernetes' order: configurations by
// name, each configuration's webhooks in their order.
func ordered(byConfiguration map[string][]*hook) *[]*hook {
	names := make([]string, 0, len(byConfiguration))
	for n := range byConfiguration {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []*hook
	for _, n := range names {
		out = append(out, byConfiguration[n]...)
	}
	return &out
}

// hookSpec is what a validating and a mutating webhook share, and what
// only a mutating one has.
type hookSpec struct {
	name                              string
	clientConfig                      *admissionregistrationv1.WebhookClientConfig
	rules                             []*admissionregistrationv1.RuleWithOperations
	failurePolicy, matchPolicy        string
	sideEffects                       *string
	namespaceSelector, objectSelector *metav1.LabelSelector
	timeoutSeconds                    *int32
	reviewVersions                    []string
	matchConditions                   []*admissionregistrationv1.MatchCondition
	mutating, reinvokeIfNeeded        bool
}

// hook is one webhook, ready to match and call.
type hook struct {
	hookSpec
	// uid identifies the webhook among all (configuration, name, index),
	// as Kubernetes' accessors do, for reinvocation.
	uid           string
	configuration string
	failOpen      bool
	equivalent    bool
	timeout       time.Duration
	// The parsed selectors, or why one does not parse (which fails the
	// writes the webhook's rules match, as in Kubernetes).
	nsSelector, objSelector labels.Selector
	selectorErr             error
	// conditions are the compiled match conditions, or why one does not
	// compile.
	conditions    []*conditions.Condition
	conditionsErr error
}

func newHook(configuration string, index int, s hookSpec) *hook {
	h := &hook{
		hookSpec: s, uid: fmt.Sprintf("%s/%s/%d", configuration, s.name, index), configuration: configuration,
		failOpen: s.failurePolicy == "Ignore", equivalent: cmp.Or(s.matchPolicy, "Equivalent") == "Equivalent",
		timeout: 10 * time.Second,
	}
	if s.timeoutSeconds != nil {
		h.timeout = time.Duration(*s.timeoutSeconds) * time.Second
	}
	var err1, err2 error
	h.nsSelector, err1 = selector(s.namespaceSelector)
	h.objSelector, err2 = selector(s.objectSelector)
	h.selectorErr = cmp.Or(err1, err2)
	for _, mc := range s.matchConditions {
		c, err := conditions.Compile(mc.GetName(), mc.GetExpression())
		if err != nil {
			h.conditionsErr = fmt.Errorf("match condition %q: %w", mc.GetName(), err)
			slog.Warn("an admission webhook's match condition does not compile", "webhook", s.name, "err", err)
			break
		}
		h.conditions = append(h.conditions, c)
	}
	return h
}

// selector parses a label selector; nil and empty select everything.
func selector(sel *metav1.LabelSelector) (labels.Selector, error) {
	if sel == nil {
		return labels.Everything(), nil
	}
	k := &k8smeta.LabelSelector{MatchLabels: sel.GetMatchLabels()}
	for _, r := range sel.GetMatchExpressions() {
		k.MatchExpressions = append(k.MatchExpressions, k8smeta.LabelSelectorRequirement{
			Key: r.GetKey(), Operator: k8smeta.LabelSelectorOperator(r.GetOperator()), Values: r.GetValues()})
	}
	return k8smeta.LabelSelectorAsSelector(k)
}
