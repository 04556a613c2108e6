package scheduler

import (
	"context"
	"fmt"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

const (
	// refuseFor and refuseJitter: offers fob declines stay away for one
	// to two minutes. Anything fob then wants it asks for with REVIVE,
	// which clears the filters.
	refuseFor    = time.Minute
	refuseJitter = time.Minute
)

// send makes one call on the current subscription. A failed call ends the
// subscription: mesos-go drops the stream after any call error, so the
// loop re-subscribes and reconciles rather than guessing what happened.
func (l *loop) send(ctx context.Context, c *scheduler.Call) error {
	op := strings.ToLower(c.GetType().String())
	if !l.subscribed {
		return fmt.Errorf("%s: %w", op, errNotSubscribed)
	}
	c.FrameworkID = &mesos.FrameworkID{Value: l.frameworkID}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := calls.CallNoData(cctx, l.caller, c); err != nil {
		if ctx.Err() != nil {
			// Shutting down or the subscription already ended.
			l.subscribed = false
			return fmt.Errorf("%s: %w", op, ctx.Err())
		}
		l.log.Warn("mesos call failed; dropping the subscription", "call", op, "err", err)
		l.dropSubscription()
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// refuseFilter is the filter for declined and leftover offer resources,
// jittered so that many frameworks' filters do not expire together.
func (l *loop) refuseFilter() scheduler.CallOpt {
	d := refuseFor + time.Duration(l.rng.Int64N(int64(refuseJitter)))
	return calls.RefuseSeconds(d)
}

// acknowledge confirms a status update that carries a uuid. Call it only
// after the update's effect is durable.
func (l *loop) acknowledge(ctx context.Context, st *mesos.TaskStatus) {
	if len(st.UUID) == 0 {
		return // master-generated, never retried, must not be acked
	}
	agentID := st.GetAgentID().GetValue()
	if err := l.send(ctx, calls.Acknowledge(agentID, st.TaskID.Value, st.UUID)); err != nil {
		l.log.Warn("acknowledge failed; the agent will resend the update",
			"task_id", st.TaskID.Value, "agent_id", agentID, "err", err)
	}
}

// kill asks Mesos to kill a task, at most once per killRetry.
func (l *loop) kill(ctx context.Context, taskID, agentID, why string) {
	if at, ok := l.killed[taskID]; ok && l.now().Sub(at) < killRetry {
		return
	}
	if err := l.send(ctx, calls.Kill(taskID, agentID)); err != nil {
		return
	}
	l.killed[taskID] = l.now()
	l.log.Info("killing task", "task_id", taskID, "agent_id", agentID, "why", why)
}

// pace REVIVEs while instances are wanted (backing off while offers do not
// satisfy them) and SUPPRESSes once nothing is, so an idle fob receives no
// offers at all.
func (l *loop) pace(ctx context.Context, wanted bool) {
	now := l.now()
	if wanted && !l.wanting {
		// Something new is wanted: ask at once.
		l.reviveStep, l.nextRevive = 0, now
	}
	l.wanting = wanted
	if !l.subscribed {
		return
	}
	switch {
	case wanted && !now.Before(l.nextRevive):
		if err := l.send(ctx, calls.Revive()); err != nil {
			return
		}
		l.suppressed = false
		l.nextRevive = now.Add(reviveBackoff.delay(l.reviveStep, nil))
		l.reviveStep++
		l.log.Debug("revived offers")
	case !wanted && !l.suppressed:
		if err := l.send(ctx, calls.Suppress()); err != nil {
			return
		}
		l.suppressed = true
		l.log.Debug("suppressed offers")
	}
}
