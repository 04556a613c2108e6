package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fob-project/fob/state"
)

// fullConvergeEvery is the period of the full converge, the safety net
// under the per-function one: whatever a missed change or a bug left
// unplanned is planned then.
const fullConvergeEvery = time.Minute

// wakeAll is the key in loop.wakes of a wake that came from a full plan:
// it is not tied to functions, so the whole plan is made again.
const wakeAll = "*"

// snapshot reads desired and actual state for makePlan.
func (l *loop) snapshot() (planInput, error) {
	snap := l.store.Snapshot()
	fns, err := snap.Functions()
	if err != nil {
		return planInput{}, fmt.Errorf("read functions: %w", err)
	}
	tasks, err := snap.Tasks()
	if err != nil {
		return planInput{}, fmt.Errorf("read tasks: %w", err)
	}
	sts, err := snap.Statuses()
	if err != nil {
		return planInput{}, fmt.Errorf("read statuses: %w", err)
	}
	statuses := make(map[string]*state.FunctionStatus, len(sts))
	for _, st := range sts {
		statuses[st.FunctionID] = st
	}
	return l.planInput(fns, tasks, statuses), nil
}

// snapshotOf reads desired and actual state of some functions only: their
// definitions, tasks and statuses, and the warm pool's stems (the tasks of
// no function), which any of them may be handed. makePlan over it plans
// exactly these functions as a full plan would.
func (l *loop) snapshotOf(ids []string) (planInput, error) {
	snap := l.store.Snapshot()
	tasks, err := snap.TasksOf("") // the stems
	if err != nil {
		return planInput{}, fmt.Errorf("read stems: %w", err)
	}
	var fns []*state.Function
	statuses := make(map[string]*state.FunctionStatus, len(ids))
	for _, id := range ids {
		switch f, err := snap.Function(id); {
		case err == nil:
			fns = append(fns, f)
		case !errors.Is(err, state.ErrNotFound):
			return planInput{}, fmt.Errorf("read function %s: %w", id, err)
		}
		switch st, err := snap.Status(id); {
		case err == nil:
			statuses[id] = st
		case !errors.Is(err, state.ErrNotFound):
			return planInput{}, fmt.Errorf("read status of %s: %w", id, err)
		}
		ts, err := snap.TasksOf(id)
		if err != nil {
			return planInput{}, fmt.Errorf("read tasks of %s: %w", id, err)
		}
		tasks = append(tasks, ts...)
	}
	return l.planInput(fns, tasks, statuses), nil
}

func (l *loop) planInput(fns []*state.Function, tasks []*state.Task, statuses map[string]*state.FunctionStatus) planInput {
	return planInput{
		functions: fns,
		tasks:     tasks,
		statuses:  statuses,
		holds:     l.holds,
		hasDriver: func(lang string) bool { _, ok := l.image(lang); return ok },
		now:       l.now(),
		warm:      l.warmInput(), // warm pool (warm.go)
	}
}

// plan computes the current plan without acting on it.
func (l *loop) plan() (plan, error) {
	in, err := l.snapshot()
	if err != nil {
		return plan{}, err
	}
	return makePlan(in), nil
}

// converge moves actual state towards desired state for every function:
// it records function statuses, forgets old tasks, kills what should not
// run and asks for offers when instances are missing. It reads the whole
// store; events use convergeDirty, and this runs after SUBSCRIBED and every
// fullConvergeEvery as the safety net.
func (l *loop) converge(ctx context.Context) {
	// Changes taken now are covered by the snapshot read after them.
	l.takeFunctionChanges()
	clear(l.dirty)
	l.nextFull = l.now().Add(fullConvergeEvery)
	in, err := l.snapshot()
	if err != nil {
		l.log.Error("converge", "err", err)
		l.retryLater(nil)
		return
	}
	l.act(ctx, in, makePlan(in), nil)
}

// convergeDirty converges the functions marked dirty since the last time:
// those whose definition changed, whose tasks moved, whose relaunch hold
// or other wake is due. Its cost follows what changed, not how many
// functions exist. Calling it with nothing dirty only paces offers.
func (l *loop) convergeDirty(ctx context.Context) {
	l.takeFunctionChanges()
	now := l.now()
	if at, ok := l.wakes[wakeAll]; ok && !at.After(now) {
		l.converge(ctx)
		return
	}
	for id, at := range l.wakes {
		if !at.After(now) {
			l.markDirty(id)
			delete(l.wakes, id)
		}
	}
	l.resetPlanWake()
	if len(l.dirty) == 0 {
		l.pace(ctx, l.wants.len() > 0)
		return
	}
	if _, ok := l.dirty[""]; ok {
		// A stem of the warm pool changed: functions waiting for an
		// instance may be handed it.
		for _, e := range l.wants.byKey {
			if !isStemFunction(e.w.fn) {
				l.markDirty(e.w.fn.ID)
			}
		}
	}
	ids := make([]string, 0, len(l.dirty))
	for id := range l.dirty {
		if id != "" {
			ids = append(ids, id)
		}
	}
	clear(l.dirty)
	slices.Sort(ids)
	in, err := l.snapshotOf(ids)
	if err != nil {
		l.log.Error("converge", "functions", len(ids), "err", err)
		l.retryLater(ids)
		return
	}
	l.act(ctx, in, makePlan(in), ids)
}

// markDirty notes that function id must be planned again.
func (l *loop) markDirty(id string) {
	l.dirty[id] = struct{}{}
}

// takeFunctionChanges marks every function whose definition changed since
// the last call dirty.
func (l *loop) takeFunctionChanges() {
	for id := range l.fnWatch.Take().Functions {
		l.markDirty(id)
	}
}

// act carries out p, planned over in. scope lists the functions p plans;
// nil means all of them. Its writes go to the store as one batch, before
// any KILL that relies on them is sent.
func (l *loop) act(ctx context.Context, in planInput, p plan, scope []string) {
	if l.subscribed {
		l.specialise(ctx, &p) // warm pool (warm.go): first, as a caller may be waiting for it
	}
	var b state.Batch
	for _, st := range p.statuses {
		b.PutStatus(st)
	}
	for _, id := range p.dropStatuses {
		b.DeleteStatus(id)
	}
	for _, id := range p.forget {
		b.DeleteTask(id)
	}
	// A live task is recorded as killing before its KILL is sent.
	var kills []*state.Task
	if l.subscribed {
		for _, t := range p.kills {
			if live(t.State) {
				b.PutTask(l.killing(t))
			}
			kills = append(kills, t)
		}
	}
	err := l.store.Commit(&b)
	if err != nil {
		l.log.Error("record the plan; not killing yet", "writes", b.Len(), "err", err)
		kills = nil
	} else {
		for _, st := range p.statuses {
			l.log.Info("function status", "function_id", st.FunctionID, "version", st.Version,
				"phase", st.Phase, "failures", st.Failures, "last_error", st.LastError)
		}
		for _, id := range p.dropStatuses {
			delete(l.holds, id)
		}
	}
	l.afterPlan(in, p, scope)
	if err != nil {
		l.retryLater(scope)
	}
	for _, t := range kills {
		l.kill(ctx, t.ID, t.AgentID, killReason(t))
	}
	l.pace(ctx, l.wants.len() > 0)
}

// afterPlan updates the loop's bookkeeping for the functions p planned:
// the instances they want, expired holds, their wake and kill timers.
func (l *loop) afterPlan(in planInput, p plan, scope []string) {
	now := l.now()
	wake := p.wake
	wanted := make(map[string]bool, len(p.wants))
	for _, w := range p.wants {
		wanted[wantKey(w)] = true
	}
	if scope == nil {
		l.wants.keep(func(key string, _ want) bool { return wanted[key] })
		clear(l.wakes)
		for id, until := range l.holds {
			if !until.After(now) {
				delete(l.holds, id)
			}
		}
		if !wake.IsZero() {
			l.wakes[wakeAll] = wake
		}
	} else {
		inScope := make(map[string]bool, len(scope))
		for _, id := range scope {
			inScope[id] = true
			if until, ok := l.holds[id]; ok && !until.After(now) {
				delete(l.holds, id)
			}
		}
		// A scoped plan's wake is one for all its functions and the
		// stems it planned with them.
		for _, id := range append([]string{""}, scope...) {
			if wake.IsZero() {
				delete(l.wakes, id)
			} else {
				l.wakes[id] = wake
			}
		}
		// The plan saw every stem, so its stem wants replace all.
		l.wants.keep(func(key string, w want) bool {
			return wanted[key] || !(inScope[key] || isStemFunction(w.fn))
		})
	}
	for _, w := range p.wants {
		l.wants.set(w)
	}

	l.resetPlanWake()

	// Only tasks that still need killing keep their retry timer.
	needKill := make(map[string]bool, len(p.kills))
	for _, t := range p.kills {
		needKill[t.ID] = true
	}
	if scope == nil {
		for id := range l.killed {
			if !needKill[id] {
				delete(l.killed, id)
			}
		}
		return
	}
	for _, t := range in.tasks {
		if !needKill[t.ID] {
			delete(l.killed, t.ID)
		}
	}
}

// retryAfter is how long a plan that could not be read or recorded waits
// before it is made again.
const retryAfter = time.Second

// retryLater plans the functions in scope (all when nil) again after
// retryAfter: a store that fails now is not asked again at once.
func (l *loop) retryLater(scope []string) {
	at := l.now().Add(retryAfter)
	if scope == nil {
		l.wakes[wakeAll] = at
	}
	for _, id := range scope {
		l.wakes[id] = at
	}
	l.resetPlanWake()
}

// resetPlanWake sets planWake to the earliest wake.
func (l *loop) resetPlanWake() {
	l.planWake = time.Time{}
	for _, at := range l.wakes {
		if l.planWake.IsZero() || at.Before(l.planWake) {
			l.planWake = at
		}
	}
}

// killing returns t recorded as being killed by fob. The API routes calls
// to running tasks only, so the instance leaves the routes once this is
// stored, while it still serves, instead of when its executor has already
// closed its connections: a call sent to it meanwhile would fail in a way
// the proxy cannot safely retry. Updates that say it still runs are older
// than this and do not move it back (see progress).
func (l *loop) killing(t *state.Task) *state.Task {
	next := t.Copy()
	next.State = state.TaskKilling
	next.Reason = ""
	next.Message = "fob is killing it: " + killReason(t)
	next.UpdatedAt = l.now()
	return next
}

// killReason explains a kill in the log.
func killReason(t *state.Task) string {
	return fmt.Sprintf("not wanted (function %s version %d)", t.FunctionID, t.Version)
}
