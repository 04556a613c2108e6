package scheduler

import (
	"sort"
	"testing"
	"time"

	"github.com/fob-project/fob/state"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func tk(id, fn string, version uint64, s state.TaskState, launched int) *state.Task {
	at := t0.Add(time.Duration(launched) * time.Second)
	return &state.Task{ID: id, FunctionID: fn, Version: version, State: s, AgentID: "a", LaunchedAt: at, UpdatedAt: at}
}

func ids(ts []*state.Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	sort.Strings(out)
	return out
}

func eq(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMakePlan(t *testing.T) {
	fn := func(id string, version uint64, instances int) *state.Function {
		f := testFunction(id, version)
		f.Instances = instances
		return f
	}
	tests := []struct {
		name       string
		in         planInput
		wantWants  map[string]int
		wantKills  []string
		wantForget []string
		wantDrop   []string
		wantPhase  map[string]state.Phase // statuses written
		wantWake   time.Time
	}{
		{
			name:      "new function wants one instance",
			in:        planInput{functions: []*state.Function{fn("f", 1, 0)}},
			wantWants: map[string]int{"f": 1},
			wantPhase: map[string]state.Phase{"f": state.PhasePending},
		},
		{
			name:      "instances count, staging counts as actual",
			in:        planInput{functions: []*state.Function{fn("f", 1, 3)}, tasks: []*state.Task{tk("t1", "f", 1, state.TaskStaging, 0)}},
			wantWants: map[string]int{"f": 2},
			wantPhase: map[string]state.Phase{"f": state.PhasePending},
		},
		{
			name: "running instance makes the function running",
			in: planInput{functions: []*state.Function{fn("f", 1, 1)}, tasks: []*state.Task{tk("t1", "f", 1, state.TaskRunning, 0)},
				statuses: map[string]*state.FunctionStatus{"f": {FunctionID: "f", Version: 1, Phase: state.PhasePending}}},
			wantPhase: map[string]state.Phase{"f": state.PhaseRunning},
		},
		{
			name: "unchanged status is not rewritten",
			in: planInput{functions: []*state.Function{fn("f", 1, 1)}, tasks: []*state.Task{tk("t1", "f", 1, state.TaskRunning, 0)},
				statuses: map[string]*state.FunctionStatus{"f": {FunctionID: "f", Version: 1, Phase: state.PhaseRunning}}},
		},
		{
			name: "surplus: keep running and older ones",
			in: planInput{functions: []*state.Function{fn("f", 1, 2)}, tasks: []*state.Task{
				tk("t1", "f", 1, state.TaskStaging, 0),
				tk("t2", "f", 1, state.TaskRunning, 1),
				tk("t3", "f", 1, state.TaskRunning, 2),
				tk("t4", "f", 1, state.TaskRunning, 3),
			}},
			wantKills: []string{"t1", "t4"},
			wantPhase: map[string]state.Phase{"f": state.PhaseRunning},
		},
		{
			name: "killing and unreachable tasks are replaced; a killing one is killed again",
			in: planInput{functions: []*state.Function{fn("f", 1, 2)}, tasks: []*state.Task{
				tk("t1", "f", 1, state.TaskKilling, 0),
				tk("t2", "f", 1, state.TaskUnreachable, 1),
			}},
			wantKills: []string{"t1"},
			wantWants: map[string]int{"f": 2},
			wantPhase: map[string]state.Phase{"f": state.PhasePending},
		},
		{
			name: "new version: old keeps serving until the new one runs",
			in: planInput{functions: []*state.Function{fn("f", 2, 1)}, tasks: []*state.Task{
				tk("old", "f", 1, state.TaskRunning, 0),
				tk("new", "f", 2, state.TaskStaging, 1),
			}},
			wantPhase: map[string]state.Phase{"f": state.PhasePending},
		},
		{
			name: "new version running: old is killed",
			in: planInput{functions: []*state.Function{fn("f", 2, 1)}, tasks: []*state.Task{
				tk("old", "f", 1, state.TaskRunning, 0),
				tk("new", "f", 2, state.TaskRunning, 1),
			}},
			wantKills: []string{"old"},
			wantPhase: map[string]state.Phase{"f": state.PhaseRunning},
		},
		{
			name: "rolling: each running new instance replaces one old",
			in: planInput{functions: []*state.Function{fn("f", 2, 3)}, tasks: []*state.Task{
				tk("o1", "f", 1, state.TaskRunning, 0),
				tk("o2", "f", 1, state.TaskRunning, 1),
				tk("o3", "f", 1, state.TaskRunning, 2),
				tk("n1", "f", 2, state.TaskRunning, 3),
				tk("n2", "f", 2, state.TaskStarting, 4),
			}},
			wantWants: map[string]int{"f": 1},
			wantKills: []string{"o3"},
			wantPhase: map[string]state.Phase{"f": state.PhaseRunning},
		},
		{
			name: "load failure blocks relaunch of that version",
			in: planInput{functions: []*state.Function{fn("f", 1, 1)}, tasks: []*state.Task{tk("t1", "f", 1, state.TaskFailed, 0)},
				statuses: map[string]*state.FunctionStatus{"f": {FunctionID: "f", Version: 1, Phase: state.PhaseFailed, LastError: "SyntaxError", Failures: 1}}},
		},
		{
			name: "a new version resets a load failure",
			in: planInput{functions: []*state.Function{fn("f", 2, 1)}, tasks: []*state.Task{tk("t1", "f", 1, state.TaskFailed, 0)},
				statuses: map[string]*state.FunctionStatus{"f": {FunctionID: "f", Version: 1, Phase: state.PhaseFailed, LastError: "SyntaxError", Failures: 1}}},
			wantWants: map[string]int{"f": 1},
			wantPhase: map[string]state.Phase{"f": state.PhasePending},
		},
		{
			name: "held relaunch waits and wakes",
			in: planInput{functions: []*state.Function{fn("f", 1, 1), fn("g", 1, 1)},
				holds: map[string]time.Time{"f": t0.Add(4 * time.Second), "g": t0.Add(-time.Second)}, now: t0},
			wantWants: map[string]int{"g": 1},
			wantPhase: map[string]state.Phase{"f": state.PhasePending, "g": state.PhasePending},
			wantWake:  t0.Add(4 * time.Second),
		},
		{
			name: "crash-looping after repeated failures",
			in: planInput{functions: []*state.Function{fn("f", 1, 1)},
				statuses: map[string]*state.FunctionStatus{"f": {FunctionID: "f", Version: 1, Phase: state.PhasePending, Failures: 3}}},
			wantWants: map[string]int{"f": 1},
			wantPhase: map[string]state.Phase{"f": state.PhaseCrashLooping},
		},
		{
			name:      "unknown language fails the function",
			in:        planInput{functions: []*state.Function{fn("f", 1, 1)}, hasDriver: func(string) bool { return false }},
			wantPhase: map[string]state.Phase{"f": state.PhaseFailed},
		},
		{
			name: "deleted function: kill live, forget ended, drop status",
			in: planInput{tasks: []*state.Task{
				tk("t1", "gone", 1, state.TaskRunning, 0),
				tk("t2", "gone", 1, state.TaskKilling, 1),
				tk("t3", "gone", 1, state.TaskFailed, 2),
				tk("t4", "gone", 1, state.TaskUnreachable, 3),
			}, statuses: map[string]*state.FunctionStatus{"gone": {FunctionID: "gone"}}},
			wantKills:  []string{"t1", "t2", "t4"},
			wantForget: []string{"t3"},
			wantDrop:   []string{"gone"},
		},
		{
			name: "only the newest ended tasks are kept",
			in: planInput{functions: []*state.Function{fn("f", 1, 1)}, tasks: []*state.Task{
				tk("t1", "f", 1, state.TaskFailed, 1),
				tk("t2", "f", 1, state.TaskFailed, 2),
				tk("t3", "f", 1, state.TaskFailed, 3),
				tk("t4", "f", 1, state.TaskFailed, 4),
				tk("t5", "f", 1, state.TaskRunning, 5),
			}, statuses: map[string]*state.FunctionStatus{"f": {FunctionID: "f", Version: 1, Phase: state.PhaseRunning}}},
			wantForget: []string{"t1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := makePlan(tt.in)
			gotWants := map[string]int{}
			for _, w := range p.wants {
				gotWants[w.fn.ID] = w.count
			}
			if len(gotWants) != len(tt.wantWants) {
				t.Errorf("wants = %v, want %v", gotWants, tt.wantWants)
			}
			for id, n := range tt.wantWants {
				if gotWants[id] != n {
					t.Errorf("wants[%s] = %d, want %d", id, gotWants[id], n)
				}
			}
			if got := ids(p.kills); !eq(got, tt.wantKills) {
				t.Errorf("kills = %v, want %v", got, tt.wantKills)
			}
			sort.Strings(p.forget)
			if !eq(p.forget, tt.wantForget) {
				t.Errorf("forget = %v, want %v", p.forget, tt.wantForget)
			}
			if !eq(p.dropStatuses, tt.wantDrop) {
				t.Errorf("drop statuses = %v, want %v", p.dropStatuses, tt.wantDrop)
			}
			gotPhase := map[string]state.Phase{}
			for _, st := range p.statuses {
				gotPhase[st.FunctionID] = st.Phase
			}
			if len(gotPhase) != len(tt.wantPhase) {
				t.Errorf("statuses = %v, want %v", gotPhase, tt.wantPhase)
			}
			for id, ph := range tt.wantPhase {
				if gotPhase[id] != ph {
					t.Errorf("phase[%s] = %q, want %q", id, gotPhase[id], ph)
				}
			}
			if !p.wake.Equal(tt.wantWake) {
				t.Errorf("wake = %v, want %v", p.wake, tt.wantWake)
			}
		})
	}
}
