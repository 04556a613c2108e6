package scheduler

import (
	"fmt"
	"sort"
	"time"

	"github.com/fob-project/fob/state"
)

const (
	// keepTerminal is how many ended tasks per function stay in state so
	// users can see why instances died; older ones are forgotten.
	keepTerminal = 3
	// crashLoopAfter consecutive failures make a function crash-looping.
	crashLoopAfter = 3
)

// want asks for count more instances of fn.
type want struct {
	fn    *state.Function
	count int
}

// planInput is a snapshot of desired and actual state.
type planInput struct {
	functions []*state.Function
	tasks     []*state.Task
	statuses  map[string]*state.FunctionStatus
	// holds delays relaunches of failing functions until the given time.
	holds map[string]time.Time
	// hasDriver reports whether fob can run a language.
	hasDriver func(language string) bool
	now       time.Time
	// warm configures the warm pool (warm_plan.go); zero turns it off.
	warm warmInput
}

// plan is what it takes to converge actual state on desired state.
type plan struct {
	wants        []want        // instances to launch, by function id
	kills        []*state.Task // tasks to KILL
	forget       []string      // ended tasks to delete from state
	statuses     []*state.FunctionStatus
	dropStatuses []string // statuses of deleted functions
	// wake is when a held relaunch becomes due or a stem's specialisation
	// times out; zero if never.
	wake time.Time
	// specialise hands running stems of the warm pool to functions that
	// want instances (warm_plan.go); wants count them as served.
	specialise []specialisation
}

// wanted is the number of instances the plan wants launched.
func (p plan) wanted() int {
	n := 0
	for _, w := range p.wants {
		n += w.count
	}
	return n
}

// makePlan compares desired with actual state. It is a pure function of
// its input so every rule is testable without Mesos.
func makePlan(in planInput) plan {
	var p plan
	byFn := map[string][]*state.Task{}
	var stems []*state.Task
	for _, t := range in.tasks {
		if t.IsStem() {
			stems = append(stems, t) // warm pool: planned by planWarm
			continue
		}
		byFn[t.FunctionID] = append(byFn[t.FunctionID], t)
	}
	known := map[string]bool{}
	for _, f := range in.functions {
		known[f.ID] = true
		planFunction(&p, in, f, byFn[f.ID])
	}
	// warm pool: serves the wants just made with stems, then refills.
	planWarm(&p, in, stems, byFn)
	// Tasks and statuses of deleted functions go away.
	fnIDs := make([]string, 0, len(byFn))
	for id := range byFn {
		fnIDs = append(fnIDs, id)
	}
	sort.Strings(fnIDs)
	for _, id := range fnIDs {
		if known[id] {
			continue
		}
		for _, t := range byFn[id] {
			if t.State.Terminal() {
				p.forget = append(p.forget, t.ID)
			} else {
				p.kills = append(p.kills, t)
			}
		}
	}
	for id := range in.statuses {
		if !known[id] {
			p.dropStatuses = append(p.dropStatuses, id)
		}
	}
	sort.Strings(p.dropStatuses)
	return p
}

func planFunction(p *plan, in planInput, f *state.Function, tasks []*state.Task) {
	var cur, old, ended []*state.Task
	running := 0
	for _, t := range tasks {
		if specialisationExpired(p, t, in.now) {
			// warm pool: the stem never said it loaded f (a lost
			// MESSAGE); it is replaced like a dead instance.
			p.kills = append(p.kills, t)
			continue
		}
		switch {
		case t.State.Terminal():
			ended = append(ended, t)
		case t.State == state.TaskKilling:
			// Not counted, and listed again so that a lost KILL is
			// resent (kill sends one per killRetry at most).
			p.kills = append(p.kills, t)
		case !live(t.State):
			// Unreachable: not counted; a KILL could not reach it.
		case t.Version == f.Version:
			cur = append(cur, t)
			if t.State == state.TaskRunning {
				running++
			}
		default:
			old = append(old, t)
		}
	}

	driverOK := in.hasDriver == nil || in.hasDriver(f.Language)
	st := deriveStatus(f, in.statuses[f.ID], driverOK, running > 0)
	if prev := in.statuses[f.ID]; prev == nil || !sameStatus(prev, st) {
		st.UpdatedAt = in.now
		p.statuses = append(p.statuses, st)
	}

	n := instancesOf(f)
	if missing := n - len(cur); missing > 0 && driverOK && st.Phase != state.PhaseFailed {
		if until, held := in.holds[f.ID]; held && until.After(in.now) {
			if p.wake.IsZero() || until.Before(p.wake) {
				p.wake = until
			}
		} else {
			p.wants = append(p.wants, want{fn: f, count: missing})
		}
	}
	if len(cur) > n {
		p.kills = append(p.kills, surplus(cur, n)...)
	}
	// Old versions give way once the new one serves: each running new
	// instance replaces one old one, so capacity never dips during a
	// rollout. While no new instance runs (or the new version fails to
	// load) the old ones keep serving.
	keepOld := n
	if running > 0 {
		keepOld = max(0, n-running)
	}
	if len(old) > keepOld {
		p.kills = append(p.kills, surplus(old, keepOld)...)
	}
	if len(ended) > keepTerminal {
		sort.Slice(ended, func(i, j int) bool { return ended[i].UpdatedAt.After(ended[j].UpdatedAt) })
		for _, t := range ended[keepTerminal:] {
			p.forget = append(p.forget, t.ID)
		}
	}
}

// surplus returns the tasks beyond the keep best ones: running tasks are
// kept before starting and staging ones, older before newer.
func surplus(tasks []*state.Task, keep int) []*state.Task {
	sorted := append([]*state.Task(nil), tasks...)
	rank := map[state.TaskState]int{state.TaskRunning: 0, state.TaskStarting: 1, state.TaskStaging: 2}
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if rank[a.State] != rank[b.State] {
			return rank[a.State] < rank[b.State]
		}
		if !a.LaunchedAt.Equal(b.LaunchedAt) {
			return a.LaunchedAt.Before(b.LaunchedAt)
		}
		return a.ID < b.ID
	})
	return sorted[keep:]
}

// deriveStatus computes a function's status from the counters the update
// handler keeps (failures, last error, a load failure) and whether an
// instance of the current version runs. A new version starts afresh.
func deriveStatus(f *state.Function, prev *state.FunctionStatus, driverOK, running bool) *state.FunctionStatus {
	st := &state.FunctionStatus{FunctionID: f.ID, Version: f.Version, Phase: state.PhasePending}
	if prev != nil && prev.Version == f.Version {
		st = prev.Copy()
	}
	switch {
	case !driverOK:
		st.Phase = state.PhaseFailed
		st.LastError = fmt.Sprintf("fob has no driver for language %q", f.Language)
	case st.Phase == state.PhaseFailed:
		// A load error sticks to its version: relaunching the same code
		// would fail the same way.
	case running:
		st.Phase = state.PhaseRunning
	case st.Failures >= crashLoopAfter:
		st.Phase = state.PhaseCrashLooping
	default:
		st.Phase = state.PhasePending
	}
	return st
}

// sameStatus compares everything but the update time.
func sameStatus(a, b *state.FunctionStatus) bool {
	return a.FunctionID == b.FunctionID && a.Version == b.Version && a.Phase == b.Phase &&
		a.LastError == b.LastError && a.Failures == b.Failures
}
