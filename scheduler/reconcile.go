package scheduler

import (
	"context"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// reconciliation is one run of the Mesos reconciliation algorithm: ask
// about every task fob believes is not terminal, again and again with
// truncated exponential backoff, until each has been answered after the
// run started; then ask about everything (implicit), which surfaces tasks
// fob does not know, and those get killed.
type reconciliation struct {
	started time.Time
	// pending maps task id → agent id of the tasks without an answer yet.
	pending map[string]string
	step    int
	next    time.Time
}

// startReconciliation begins a new run, replacing any running one: it is
// called after every SUBSCRIBED.
func (l *loop) startReconciliation(ctx context.Context) {
	tasks, err := l.store.Tasks(nil)
	if err != nil {
		// Without the task list an explicit run is impossible; the
		// implicit one still finds what Mesos runs.
		l.log.Error("reconcile: read tasks", "err", err)
	}
	rec := &reconciliation{started: l.now(), pending: map[string]string{}}
	for _, t := range tasks {
		if !t.State.Terminal() {
			rec.pending[t.ID] = t.AgentID
		}
	}
	l.rec = rec
	l.log.Info("reconciling tasks", "pending", len(rec.pending))
	l.reconcileStep(ctx)
}

// reconcileStep asks about the tasks still unanswered, or finishes the run
// with an implicit reconciliation when none is left.
func (l *loop) reconcileStep(ctx context.Context) {
	rec := l.rec
	if rec == nil {
		return
	}
	if len(rec.pending) == 0 {
		l.rec = nil
		l.reconcileImplicit(ctx)
		return
	}
	if err := l.send(ctx, calls.Reconcile(calls.ReconcileTasks(rec.pending))); err != nil {
		l.log.Warn("reconcile", "pending", len(rec.pending), "err", err)
		return
	}
	rec.next = l.now().Add(reconcileBackoff.delay(rec.step, nil))
	rec.step++
	if rec.step > 1 {
		l.log.Info("reconciliation still waiting for answers", "pending", len(rec.pending), "round", rec.step)
	}
}

// reconcileImplicit asks Mesos for every task it knows for fob.
func (l *loop) reconcileImplicit(ctx context.Context) {
	if err := l.send(ctx, calls.Reconcile()); err != nil {
		l.log.Warn("implicit reconcile", "err", err)
		return
	}
	l.nextReconcile = l.now().Add(reconcileEvery)
	l.log.Debug("implicit reconciliation sent")
}

// answered notes that Mesos told fob about taskID. Any update counts as an
// answer: it arrived while the run exists, so after the run started.
func (l *loop) answered(ctx context.Context, taskID string) {
	rec := l.rec
	if rec == nil {
		return
	}
	if _, ok := rec.pending[taskID]; !ok {
		return
	}
	delete(rec.pending, taskID)
	if len(rec.pending) == 0 {
		l.log.Info("reconciliation answered", "took", l.now().Sub(rec.started).Round(time.Millisecond))
		l.reconcileStep(ctx)
	}
}
