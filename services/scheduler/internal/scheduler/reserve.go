package scheduler

import (
	"context"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

// reserve runs the reserve plugins for the chosen node; when one fails,
// those that ran are unreserved, in reverse order, as Kubernetes does.
func reserve(ctx context.Context, p *Profile, state *framework.CycleState, pod *corev1.Pod, host string) *framework.Status {
	for i, pl := range p.Reserve {
		if st := pl.Reserve(ctx, state, pod, host); !st.IsSuccess() {
			st.Plugin = pl.Name()
			for j := i; j >= 0; j-- {
				p.Reserve[j].Unreserve(ctx, state, pod, host)
			}
			return st
		}
	}
	return nil
}

// unreserve gives back what the reserve plugins held, in reverse order.
func unreserve(ctx context.Context, p *Profile, state *framework.CycleState, pod *corev1.Pod, host string) {
	for i := len(p.Reserve) - 1; i >= 0; i-- {
		p.Reserve[i].Unreserve(ctx, state, pod, host)
	}
}

// preBind runs the pre-bind plugins (volume binding) before the binding.
func preBind(ctx context.Context, p *Profile, state *framework.CycleState, pod *corev1.Pod, host string) *framework.Status {
	for _, pl := range p.PreBind {
		if st := pl.PreBind(ctx, state, pod, host); !st.IsSuccess() {
			st.Plugin = pl.Name()
			return st
		}
	}
	return nil
}
