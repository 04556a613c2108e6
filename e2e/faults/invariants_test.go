package faults

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// settle waits until the end state every fault test asserts holds, and
// fails the test with what is still wrong when it does not:
//
//   - every function in want answers 200 with its expected result, through
//     fob's API over loopback HTTP, and every id in gone answers 404;
//   - every function runs exactly its desired number of instances of its
//     current version, and no instance of another version: nothing is
//     missing and nothing is duplicated (a version whose code does not
//     load runs nothing);
//   - the tasks fob holds as live are exactly the master's non-terminal
//     tasks, on the same agents, and fob's running ones are the master's
//     running ones;
//   - every live task has its executor on its agent, and no agent keeps an
//     executor of fob's that no live task accounts for.
func (e *env) settle(want map[string]string, gone ...string) {
	e.t.Helper()
	e.eventually(settleTimeout, "the fault settles", func() error {
		return e.invariants(want, gone)
	})
}

func (e *env) invariants(want map[string]string, gone []string) error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := e.call(id, want[id]); err != nil {
			add("%v", err)
		}
	}
	for _, id := range gone {
		if code, body := e.do("GET", "/api/call/"+id, ""); code != 404 {
			add("deleted function %s answers %d %s", id, code, body)
		}
	}

	store := e.store()
	fw, err := store.FrameworkID()
	if err != nil || fw == "" {
		return fmt.Errorf("no framework id (%v)", err)
	}
	fns, err := store.Functions(nil)
	if err != nil {
		return err
	}
	tasks, err := store.Tasks(nil)
	if err != nil {
		return err
	}
	byFn := map[string][]*state.Task{}
	for _, t := range tasks {
		byFn[t.FunctionID] = append(byFn[t.FunctionID], t)
	}
	for _, f := range fns {
		if st, err := store.Status(nil, f.ID); err == nil && st.Version == f.Version && st.Phase == state.PhaseFailed {
			continue // its code does not load: nothing of this version runs
		}
		cur, other := 0, 0
		for _, t := range byFn[f.ID] {
			switch {
			case t.State != state.TaskRunning:
			case t.Version == f.Version:
				cur++
			default:
				other++
			}
		}
		if cur != f.Instances || other != 0 {
			add("function %s v%d: %d running instances of v%d (want %d) and %d of older versions",
				f.ID, f.Version, cur, f.Version, f.Instances, other)
		}
	}

	// fob's live tasks against the master's non-terminal ones.
	fobLive := map[string]*state.Task{}
	for _, t := range tasks {
		switch t.State {
		case state.TaskStaging, state.TaskStarting, state.TaskRunning, state.TaskKilling:
			fobLive[t.ID] = t
		}
	}
	masterLive := map[string]bool{}
	executors := map[string]bool{}
	for _, mt := range e.cluster.Master.Tasks(mesos.FrameworkID{Value: fw}) {
		if mt.Terminal() {
			continue
		}
		masterLive[mt.ID] = true
		executors[mt.Agent+"/"+mt.Executor] = true
		ft := fobLive[mt.ID]
		switch {
		case ft == nil:
			add("master runs task %s (%s on %s) that fob does not hold as live", mt.ID, mt.State, mt.Agent)
		case ft.AgentID != mt.Agent:
			add("task %s: fob says agent %s, master %s", mt.ID, ft.AgentID, mt.Agent)
		case (ft.State == state.TaskRunning) != (mt.State == mesos.TASK_RUNNING):
			add("task %s: fob says %s, master %s", mt.ID, ft.State, mt.State)
		}
	}
	for id, t := range fobLive {
		if !masterLive[id] {
			add("fob holds task %s as %s on %s; the master has no such live task", id, t.State, t.AgentID)
		}
	}

	// Executors on the agents against the live tasks.
	e.mu.Lock()
	lost := e.lost
	e.mu.Unlock()
	for _, a := range e.cluster.Agents() {
		aid := agentID(a)
		if lost[aid] {
			continue
		}
		for _, ex := range a.Executors(mesos.FrameworkID{Value: fw}) {
			if !executors[aid+"/"+ex] {
				add("agent %s runs executor %s that no live task accounts for", aid, ex)
			}
			delete(executors, aid+"/"+ex)
		}
	}
	for ex := range executors {
		add("no executor %s on its agent", ex)
	}
	if len(problems) == 0 {
		return nil
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Error()
	}
	return errors.New(strings.Join(msgs, "\n\t"))
}

// liveTasks returns fob's live tasks of a function.
func (e *env) liveTasks(fnID string) []*state.Task {
	e.t.Helper()
	ts, err := e.store().TasksOf(nil, fnID)
	must(e.t, err)
	var out []*state.Task
	for _, t := range ts {
		switch t.State {
		case state.TaskStaging, state.TaskStarting, state.TaskRunning, state.TaskKilling:
			out = append(out, t)
		}
	}
	return out
}

// runningTask waits for the one running task of a function.
func (e *env) runningTask(fnID string) *state.Task {
	e.t.Helper()
	var found *state.Task
	e.eventually(settleTimeout, "function "+fnID+" runs", func() error {
		found = nil
		for _, t := range e.liveTasks(fnID) {
			if t.State == state.TaskRunning {
				if found != nil {
					return fmt.Errorf("two running tasks: %s and %s", found.ID, t.ID)
				}
				found = t
			}
		}
		if found == nil {
			return errors.New("no running task")
		}
		return nil
	})
	return found
}

// taskIDs lists the ids of fob's live tasks, sorted, for comparisons
// across a fault.
func (e *env) taskIDs() []string {
	e.t.Helper()
	ts, err := e.store().Tasks(nil)
	must(e.t, err)
	var ids []string
	for _, t := range ts {
		if !t.State.Terminal() {
			ids = append(ids, t.ID+"@"+t.AgentID)
		}
	}
	sort.Strings(ids)
	return ids
}
