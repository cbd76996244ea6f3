package defaults

import (
	"google.golang.org/protobuf/proto"

	flowcontrolv1 "skiff.dev/api/flowcontrol/v1"
)

// FlowSchema: matching precedence 1000 when unset (0).
func FlowSchema(fs *flowcontrolv1.FlowSchema) {
	if fs.Spec == nil {
		fs.Spec = &flowcontrolv1.FlowSchemaSpec{}
	}
	if fs.Spec.MatchingPrecedence == 0 {
		fs.Spec.MatchingPrecedence = 1000
	}
}

// PriorityLevelConfiguration: a limited level gets 30 nominal shares and
// an exempt one 0, both lend 0%, and queues default to 64 queues, hands
// of 8 and 50 requests a queue, as flowcontrol/v1 defaults them.
func PriorityLevelConfiguration(pl *flowcontrolv1.PriorityLevelConfiguration) {
	if pl.Spec == nil {
		pl.Spec = &flowcontrolv1.PriorityLevelConfigurationSpec{}
	}
	if l := pl.Spec.Limited; l != nil {
		if l.NominalConcurrencyShares == nil {
			l.NominalConcurrencyShares = proto.Int32(30)
		}
		if l.LendablePercent == nil {
			l.LendablePercent = proto.Int32(0)
		}
		if q := l.GetLimitResponse().GetQueuing(); q != nil {
			setZero(&q.Queues, 64)
			setZero(&q.HandSize, 8)
			setZero(&q.QueueLengthLimit, 50)
		}
	}
	if e := pl.Spec.Exempt; e != nil {
		if e.NominalConcurrencyShares == nil {
			e.NominalConcurrencyShares = proto.Int32(0)
		}
		if e.LendablePercent == nil {
			e.LendablePercent = proto.Int32(0)
		}
	}
}

func setZero(p *int32, v int32) {
	if *p == 0 {
		*p = v
	}
}
