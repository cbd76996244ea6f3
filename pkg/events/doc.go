// Package events records Kubernetes Events (core/v1) about the objects a
// component works on, so that kubectl describe and kubectl get events show
// what happened to them, written the way Kubernetes' own event recorder
// writes them.
//
// A process has one Broadcaster, which owns the only goroutine that writes
// events; each of its controllers takes a Recorder named after it. Recording
// never blocks and never fails: events wait in a bounded queue and are
// dropped when the queue is full or the apiserver keeps refusing them.
// Before writing, the broadcaster correlates events as Kubernetes does: a
// repeat counts up the event written before (count, lastTimestamp), many
// different messages of one reason about one object are combined into one
// event, and a token bucket per source and object drops floods.
package events
