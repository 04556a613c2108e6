package faults

import (
	"slices"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// survival is the shape most fault tests share: functions running and
// called all along, a fault, then every function running (one registered
// after the fault among them), no call failed and no task that ran before
// the fault replaced.
type survival struct {
	e      *env
	want   map[string]string
	fw     mesos.FrameworkID
	before []string
	calls  *callStream
}

// watch starts calling want's functions and remembers the tasks running
// now, before the fault.
func (e *env) watch(want map[string]string) *survival {
	e.t.Helper()
	return &survival{e: e, want: want, fw: e.frameworkID(), before: e.taskIDs(), calls: e.streamCalls(want)}
}

// after registers a function that must run once the fault is over (its
// launch needs the master), then ends the survival.
func (s *survival) after(fault, result string) {
	s.e.t.Helper()
	s.want[s.e.register(result)] = result
	s.end(fault)
}

// end waits until every function runs, ends the calls (none may have
// failed) and checks that the tasks from before the fault are still there.
func (s *survival) end(fault string) {
	s.e.t.Helper()
	s.e.settle(s.want)
	s.calls.finish(s.e.t)
	if after := s.e.taskIDs(); !containsAll(after, s.before) {
		s.e.t.Errorf("tasks were replaced across the %s: before %v, after %v", fault, s.before, after)
	}
}

// containsAll reports whether every element of sub is in set.
func containsAll(set, sub []string) bool {
	for _, s := range sub {
		if !slices.Contains(set, s) {
			return false
		}
	}
	return true
}
