package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/informer"
)

// PodPatcher patches pods through c, for a RefManager of pods.
func PodPatcher(c *client.Client) func(context.Context, *corev1.Pod, []byte) (*corev1.Pod, error) {
	return func(ctx context.Context, pod *corev1.Pod, patch []byte) (*corev1.Pod, error) {
		return c.CoreV1().Pods(pod.GetMetadata().GetNamespace()).Patch(ctx, pod.GetMetadata().GetName(),
			client.StrategicPatch, patch, client.WriteOptions{}, "")
	}
}

// PodKeys are the pods' namespace/name keys, as expectations name them.
func PodKeys(pods []*corev1.Pod) []string {
	keys := make([]string, len(pods))
	for i, p := range pods {
		keys[i] = informer.KeyOf(p)
	}
	return keys
}

// PodControl creates and deletes the pods of one owner, as Kubernetes'
// PodControl does: recording SuccessfulCreate or FailedCreate,
// SuccessfulDelete or FailedDelete on the owner, deleting in parallel,
// and marking as observed the expected deletions that will never show in
// the informer.
type PodControl struct {
	Client *client.Client
	// Events records on the owner (nil records nothing).
	Events *events.Recorder
	// Expectations hold the deletions expected under Key (nil: none kept).
	Expectations *Expectations
	// Key is the owner's key in Expectations.
	Key string
	// Before runs before each pod's delete (the Job drops its tracking
	// finalizer); its error fails that pod's deletion.
	Before func(context.Context, *corev1.Pod) error
	// Deleted is called, concurrently, for each pod deleted or found gone.
	Deleted func(*corev1.Pod)
	// GoneShowsInInformer leaves the expectation of a pod found gone for
	// the informer's delete event to meet, as Kubernetes' Job controller
	// does, rather than marking it observed at once.
	GoneShowsInInformer bool
	// QuietTerminating takes a create refused because the namespace is
	// terminating as done, without an event: the namespace goes away with
	// the owner.
	QuietTerminating bool

	// create and del write one pod; nil writes it through Client (tests
	// fake them).
	create func(context.Context, *corev1.Pod) (*corev1.Pod, error)
	del    func(context.Context, *corev1.Pod) error
}

// CreatePod creates pod for owner; its error is the apiserver's, for the
// caller to say what it was creating.
func (pc *PodControl) CreatePod(ctx context.Context, owner events.Object, pod *corev1.Pod) error {
	create := pc.create
	if create == nil {
		create = func(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
			return pc.Client.CoreV1().Pods(pod.GetMetadata().GetNamespace()).Create(ctx, pod, client.WriteOptions{})
		}
	}
	out, err := create(ctx, pod)
	switch {
	case err != nil && pc.QuietTerminating && NamespaceTerminating(err):
		return nil
	case err != nil:
		if ctx.Err() == nil {
			pc.Events.Eventf(owner, events.Warning, "FailedCreate", "Error creating: %v", err)
		}
		return err
	}
	pc.Events.Eventf(owner, events.Normal, "SuccessfulCreate", "Created pod: %s", out.GetMetadata().GetName())
	return nil
}

// DeletePods deletes pods for owner, all at once, and returns the errors
// of those it could not delete (a pod already gone is no error).
func (pc *PodControl) DeletePods(ctx context.Context, owner events.Object, pods []*corev1.Pod) error {
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = pc.deletePod(ctx, owner, p)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (pc *PodControl) deletePod(ctx context.Context, owner events.Object, p *corev1.Pod) error {
	var err error
	if pc.Before != nil {
		err = pc.Before(ctx, p)
	}
	if err == nil {
		err = pc.delete(ctx, p)
	}
	switch {
	case err == nil:
		pc.Events.Eventf(owner, events.Normal, "SuccessfulDelete", "Deleted pod: %s", p.GetMetadata().GetName())
	case client.IsNotFound(err):
		if !pc.GoneShowsInInformer {
			pc.observed(p) // already gone
		}
	default:
		pc.observed(p) // never coming
		if ctx.Err() == nil {
			pc.Events.Eventf(owner, events.Warning, "FailedDelete", "Error deleting: %v", err)
		}
		return fmt.Errorf("delete pod %s: %w", informer.KeyOf(p), err)
	}
	if pc.Deleted != nil {
		pc.Deleted(p)
	}
	return nil
}

func (pc *PodControl) delete(ctx context.Context, p *corev1.Pod) error {
	if pc.del != nil {
		return pc.del(ctx, p)
	}
	_, err := pc.Client.CoreV1().Pods(p.GetMetadata().GetNamespace()).Delete(ctx, p.GetMetadata().GetName(), nil)
	return err
}

func (pc *PodControl) observed(p *corev1.Pod) {
	if pc.Expectations != nil {
		pc.Expectations.DeletionObserved(pc.Key, informer.KeyOf(p))
	}
}

// SlowStart runs fn n times in batches that double (1, 2, 4, ...) while
// they succeed, so a failing create (quota, invalid template) costs one
// call rather than n; fn is given the call's number, from 0. It returns
// how many calls succeeded.
func SlowStart(n int, fn func(i int) error) (int, error) {
	done := 0
	for batch := 1; done < n; batch *= 2 {
		size := min(batch, n-done)
		errs := make([]error, size)
		var wg sync.WaitGroup
		for i := range size {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = fn(done + i)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			}
		}
		done += ok
		if err := errors.Join(errs...); err != nil {
			return done, err
		}
	}
	return done, nil
}
