package scheduler

import (
	"context"
	"errors"
	"fmt"
	fobpb "github.com/fob-project/fob/proto"
	"time"

	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// stableRun is how long an instance must have run for its failure to
// count as a fresh start rather than one more crash in a loop.
const stableRun = 10 * time.Minute

// onUpdates records task status updates durably, all in one batch, then
// acknowledges each, then lets the changes take effect: the functions of
// the changed tasks are planned again (convergeDirty). Updates arrive at
// least once, so applying one twice must change nothing.
func (l *loop) onUpdates(ctx context.Context, sts []*mesos.TaskStatus) {
	type outcome struct {
		prev, next *state.Task
		changed    bool
		unknown    bool // not fob's (any more)
		skip       bool // not recorded: no ack, the agent resends it
	}
	w := newUpdateWrites(l.store)
	outs := make([]outcome, len(sts))
	for i, st := range sts {
		id := st.TaskID.Value
		t, err := w.task(id)
		switch {
		case errors.Is(err, state.ErrNotFound):
			outs[i].unknown = true
			continue
		case err != nil:
			l.log.Error("read task for status update", "task_id", id, "err", err)
			outs[i].skip = true
			continue
		}
		next, changed := applyStatus(t, st, l.now())
		outs[i] = outcome{prev: t, next: next, changed: changed}
		if changed {
			if err := l.record(w, t, next, st); err != nil {
				l.log.Error("record status update; not acknowledging it", "task_id", id, "err", err)
				outs[i].skip = true
			}
		}
	}
	if err := l.store.Commit(&w.batch); err != nil {
		l.log.Error("record status updates; not acknowledging them", "writes", w.batch.Len(), "err", err)
		for i := range outs {
			if outs[i].changed {
				outs[i].skip = true
			}
		}
	}
	for i, st := range sts {
		o, id := outs[i], st.TaskID.Value
		switch {
		case o.skip:
			continue
		case o.unknown:
			// A task fob forgot, or one Mesos runs that fob never
			// recorded. Nothing of fob's should run it.
			if !fobState(st.GetState()).Terminal() {
				l.kill(ctx, id, st.GetAgentID().GetValue(), "unknown to fob")
			}
		case o.changed:
			l.log.Info("task state", "task_id", id, "agent_id", st.GetAgentID().GetValue(), "state", o.next.State,
				"function_id", o.next.FunctionID, "from", o.prev.State, "reason", o.next.Reason, "message", o.next.Message)
		}
		l.acknowledge(ctx, st)
		l.answered(ctx, id)
		if o.changed {
			if o.next.State.Terminal() {
				delete(l.killed, id)
			}
			l.markDirty(o.next.FunctionID)
		}
	}
}

// progress orders the states a live task moves through. Mesos forwards
// one task's updates in order, but a delayed or resent copy of an older
// update can still arrive after a newer one; it must not move the task
// back (a late STARTING would take a running instance out of the routes).
var progress = map[state.TaskState]int{
	state.TaskStaging:  1,
	state.TaskStarting: 2,
	state.TaskRunning:  3,
	state.TaskKilling:  4,
}

// applyStatus returns the task as the update leaves it and whether that
// differs from t. Terminal tasks stay terminal, except that a lost or gone
// task reported running again (a healed partition) is running; a live task
// never moves back to an earlier state.
func applyStatus(t *state.Task, st *mesos.TaskStatus, now time.Time) (*state.Task, bool) {
	if awaitingLoad(t, st) {
		return t, false // warm pool (warm.go): not yet the function's RUNNING
	}
	to := fobState(st.GetState())
	if t.State.Terminal() {
		revived := to == state.TaskRunning && (t.State == state.TaskLost || t.State == state.TaskGone)
		if !revived {
			return t, false
		}
	}
	if p, q := progress[t.State], progress[to]; p > 0 && q > 0 && q < p {
		return t, false // a late copy of an older update
	}
	reason := ""
	if st.Reason != nil {
		reason = st.Reason.String()
	}
	if to == t.State && (st.GetReason() == mesos.REASON_RECONCILIATION || (st.GetMessage() == t.Message && reason == t.Reason)) {
		// A duplicate, or a reconciliation answer confirming what fob
		// knows; keep the more telling message of the original.
		return t, false
	}
	next := t.Copy()
	next.State = to
	next.Message = st.GetMessage()
	next.Reason = reason
	if a := st.GetAgentID().GetValue(); a != "" {
		next.AgentID = a
	}
	if e := st.GetExecutorID().GetValue(); e != "" {
		next.ExecutorID = e
	}
	next.UpdatedAt = now
	return next, true
}

// record writes the updated task and, for the current version of its
// function, what the update means for the function's status, into w.
func (l *loop) record(w *updateWrites, prev, next *state.Task, st *mesos.TaskStatus) error {
	w.putTask(next)
	if !next.State.Terminal() || prev.State.Terminal() {
		return nil
	}
	f, err := l.store.Function(nil, next.FunctionID)
	if errors.Is(err, state.ErrNotFound) || (err == nil && f.Version != next.Version) {
		return nil // deleted or superseded: its failures tell nothing
	}
	if err != nil {
		return fmt.Errorf("read function %s: %w", next.FunctionID, err)
	}
	status, err := w.status(f.ID)
	if err != nil {
		return fmt.Errorf("read status of %s: %w", f.ID, err)
	}
	_, wasKilled := l.killed[next.ID]
	upd, relaunch := ended(f, status, prev, next, st, wasKilled, l.now())
	if upd == nil {
		return nil
	}
	if relaunch {
		l.holds[f.ID] = l.now().Add(relaunchBackoff.delay(upd.Failures-1, l.rng))
	}
	w.putStatus(upd)
	l.log.Info("function status", "function_id", upd.FunctionID, "version", upd.Version,
		"phase", upd.Phase, "failures", upd.Failures, "last_error", upd.LastError)
	return nil
}

// ended works out what the end of an instance of f's current version means
// for the function's status, and whether a relaunch must back off (by
// Failures). It returns a nil status when nothing changes. wasKilled says
// fob asked for the kill.
func ended(f *state.Function, status *state.FunctionStatus, prev, next *state.Task,
	st *mesos.TaskStatus, wasKilled bool, now time.Time) (*state.FunctionStatus, bool) {
	if !failure(next.State) || wasKilled || prev.State == state.TaskKilling || offerInvalid(st) {
		return nil, false
	}
	s := &state.FunctionStatus{FunctionID: f.ID, Version: f.Version, Phase: state.PhasePending}
	if status != nil && status.Version == f.Version {
		s = status.Copy()
	}
	s.UpdatedAt = now
	if loadFailed(prev, next, st) {
		// The code does not load: the same version would fail the same
		// way, so it is not relaunched until a new version arrives.
		s.Phase = state.PhaseFailed
		s.Failures++
		s.LastError = next.Message
		if s.LastError == "" {
			s.LastError = "the function failed to load"
		}
		return s, false
	}
	if prev.State == state.TaskRunning && now.Sub(prev.UpdatedAt) >= stableRun {
		s.Failures = 0 // it ran well for a while: a fresh start
	}
	s.Failures++
	s.LastError = describeEnd(next)
	return s, true
}

// loadFailed reports whether fob's executor failed the task because the
// function's code does not load. Other failures before RUNNING (a port
// taken, a fetch that timed out) are worth another launch.
func loadFailed(prev, next *state.Task, st *mesos.TaskStatus) bool {
	return next.State == state.TaskFailed &&
		st.GetSource() == mesos.SOURCE_EXECUTOR &&
		fobpb.IsLoadFailure(st)
}

// offerInvalid reports whether the master dropped a launch because its
// offer was no longer valid: rescinded, declined or used before the ACCEPT
// arrived (REASON_INVALID_OFFERS). That says nothing about the function, so
// it is launched again on the next offer without a backoff and without
// counting a failure; a burst of rescinded offers must not make a healthy
// function look crash-looping.
func offerInvalid(st *mesos.TaskStatus) bool {
	return st.GetSource() == mesos.SOURCE_MASTER && st.GetReason() == mesos.REASON_INVALID_OFFERS
}

// describeEnd is a one-line account of why a task ended.
func describeEnd(t *state.Task) string {
	s := "task " + string(t.State)
	if t.Reason != "" {
		s += " (" + t.Reason + ")"
	}
	if t.Message != "" {
		s += ": " + t.Message
	}
	return s
}
