package scheduler

import (
	"context"
	"fmt"

	"github.com/fob-project/fob/state"
)

// snapshot reads desired and actual state for makePlan.
func (l *loop) snapshot() (planInput, error) {
	fns, err := l.store.Functions(nil)
	if err != nil {
		return planInput{}, fmt.Errorf("read functions: %w", err)
	}
	tasks, err := l.store.Tasks(nil)
	if err != nil {
		return planInput{}, fmt.Errorf("read tasks: %w", err)
	}
	sts, err := l.store.Statuses(nil)
	if err != nil {
		return planInput{}, fmt.Errorf("read statuses: %w", err)
	}
	statuses := make(map[string]*state.FunctionStatus, len(sts))
	for _, st := range sts {
		statuses[st.FunctionID] = st
	}
	return planInput{
		functions: fns,
		tasks:     tasks,
		statuses:  statuses,
		holds:     l.holds,
		hasDriver: func(lang string) bool { _, ok := l.image(lang); return ok },
		now:       l.now(),
	}, nil
}

// plan computes the current plan without acting on it.
func (l *loop) plan() (plan, error) {
	in, err := l.snapshot()
	if err != nil {
		return plan{}, err
	}
	return makePlan(in), nil
}

// converge moves actual state towards desired state: it records function
// statuses, forgets old tasks, kills what should not run and asks for
// offers when instances are missing. It is level-triggered and cheap to
// call after anything changed.
func (l *loop) converge(ctx context.Context) {
	p, err := l.plan()
	if err != nil {
		l.log.Error("converge", "err", err)
		return
	}
	for _, st := range p.statuses {
		if err := l.store.PutStatus(st); err != nil {
			l.log.Error("record function status", "function_id", st.FunctionID, "err", err)
			continue
		}
		l.log.Info("function status", "function_id", st.FunctionID, "version", st.Version,
			"phase", st.Phase, "failures", st.Failures, "last_error", st.LastError)
	}
	for _, id := range p.dropStatuses {
		if err := l.store.DeleteStatus(id); err != nil {
			l.log.Error("forget function status", "function_id", id, "err", err)
		}
		delete(l.holds, id)
	}
	for _, id := range p.forget {
		if err := l.store.DeleteTask(id); err != nil {
			l.log.Error("forget task", "task_id", id, "err", err)
		}
	}
	now := l.now()
	for id, until := range l.holds {
		if !until.After(now) {
			delete(l.holds, id)
		}
	}
	l.planWake = p.wake

	// Only tasks that still need killing keep their retry timer.
	needKill := make(map[string]bool, len(p.kills))
	for _, t := range p.kills {
		needKill[t.ID] = true
	}
	for id := range l.killed {
		if !needKill[id] {
			delete(l.killed, id)
		}
	}
	if l.subscribed {
		for _, t := range p.kills {
			why := killReason(t)
			if live(t.State) {
				if err := l.markKilling(t, why); err != nil {
					l.log.Error("record kill; not killing yet", "task_id", t.ID, "err", err)
					continue
				}
			}
			l.kill(ctx, t.ID, t.AgentID, why)
		}
	}
	l.pace(ctx, p.wanted() > 0)
}

// markKilling records that fob is killing a live task before the KILL is
// sent. The API routes calls to running tasks only, so the instance leaves
// the routes now, while it still serves, instead of when its executor has
// already closed its connections: a call sent to it meanwhile would fail
// in a way the proxy cannot safely retry. Updates that say it still runs
// are older than this and do not move it back (see progress).
func (l *loop) markKilling(t *state.Task, why string) error {
	next := t.Copy()
	next.State = state.TaskKilling
	next.Reason = ""
	next.Message = "fob is killing it: " + why
	next.UpdatedAt = l.now()
	return l.store.PutTask(next)
}

// killReason explains a kill in the log.
func killReason(t *state.Task) string {
	return fmt.Sprintf("not wanted (function %s version %d)", t.FunctionID, t.Version)
}
