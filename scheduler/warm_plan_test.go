package scheduler

import (
	"testing"
	"time"

	"github.com/fob-project/fob/state"
)

// stemTask is a stem of warmLang in state s, launched at t0+launched s.
func stemTask(id string, s state.TaskState, launched int) *state.Task {
	t := tk(id, "", 0, s, launched)
	t.Language, t.Port = warmLang, 31000
	return t
}

func TestPlanWarm(t *testing.T) {
	warm := warmInput{size: 2, languages: []string{warmLang}}
	failed := func(id string, at int) *state.Task { return stemTask(id, state.TaskFailed, at) }
	specialising := func(id, fn string, since time.Duration) *state.Task {
		t := stemTask(id, state.TaskStarting, 0)
		t.FunctionID, t.Version, t.SpecialisedAt = fn, 1, t0.Add(since)
		return t
	}
	tests := []struct {
		name           string
		in             planInput
		wantStemWant   int
		wantSpecialise map[string]string // stem → function
		wantWants      map[string]int    // function wants left
		wantKills      []string
		wantForget     []string
		wantWake       time.Time
	}{
		{
			name:         "empty pool is filled",
			in:           planInput{warm: warm},
			wantStemWant: 2,
		},
		{
			name:         "pool off: nothing wanted",
			in:           planInput{tasks: []*state.Task{stemTask("s1", state.TaskRunning, 0)}},
			wantKills:    []string{"s1"},
			wantStemWant: 0,
		},
		{
			name: "staging and running stems count; unreachable and killing do not",
			in: planInput{warm: warm, tasks: []*state.Task{
				stemTask("s1", state.TaskStaging, 0), stemTask("s2", state.TaskUnreachable, 1), stemTask("s3", state.TaskKilling, 2),
			}},
			wantStemWant: 1,
			wantKills:    []string{"s3"},
		},
		{
			name: "surplus stems are killed, the newest not yet running first",
			in: planInput{warm: warm, tasks: []*state.Task{
				stemTask("s1", state.TaskRunning, 0), stemTask("s2", state.TaskStaging, 1),
				stemTask("s3", state.TaskRunning, 2), stemTask("s4", state.TaskStarting, 3),
			}},
			wantKills: []string{"s2", "s4"},
		},
		{
			name: "a want takes the oldest running stem and a replacement is wanted",
			in: planInput{warm: warm, functions: []*state.Function{warmFunction("f", 1)}, tasks: []*state.Task{
				stemTask("s1", state.TaskStarting, 0), stemTask("s2", state.TaskRunning, 2), stemTask("s3", state.TaskRunning, 1),
			}},
			wantSpecialise: map[string]string{"s3": "f"},
			wantStemWant:   0, // s1 and s2 remain
			wantKills:      nil,
		},
		{
			name: "more instances than running stems: the rest launch",
			in: planInput{warm: warm, functions: []*state.Function{func() *state.Function {
				f := warmFunction("f", 1)
				f.Instances = 3
				return f
			}()}, tasks: []*state.Task{stemTask("s1", state.TaskRunning, 0), stemTask("s2", state.TaskStaging, 1)}},
			wantSpecialise: map[string]string{"s1": "f"},
			wantWants:      map[string]int{"f": 2},
			wantStemWant:   1,
		},
		{
			name: "a specialisation within its time is an instance on its way",
			in: planInput{warm: warm, now: t0.Add(time.Second), functions: []*state.Function{warmFunction("f", 1)},
				tasks: []*state.Task{specialising("s1", "f", 0), stemTask("s2", state.TaskRunning, 1)}},
			wantStemWant: 1,
			wantWake:     t0.Add(specialiseTimeout),
		},
		{
			name: "a timed-out specialisation is killed and the function launches without the pool",
			in: planInput{warm: warm, now: t0.Add(specialiseTimeout), functions: []*state.Function{warmFunction("f", 1)},
				tasks: []*state.Task{specialising("s1", "f", 0), stemTask("s2", state.TaskRunning, 1), stemTask("s3", state.TaskRunning, 2)}},
			wantKills: []string{"s1"},
			wantWants: map[string]int{"f": 1},
		},
		{
			name: "failing stems back off from the last failure",
			in: planInput{warm: warm, now: t0.Add(3 * time.Second), tasks: []*state.Task{
				failed("s1", 1), failed("s2", 2), stemTask("s3", state.TaskKilled, 0),
			}},
			wantWake: t0.Add(2*time.Second + relaunchBackoff.delay(1, nil)),
		},
		{
			name: "three failures in a row hold the pool for the longest backoff; old ends are forgotten",
			in: planInput{warm: warm, now: t0.Add(10 * time.Second), tasks: []*state.Task{
				failed("s1", 1), failed("s2", 2), failed("s3", 3), failed("s4", 4),
			}},
			wantForget: []string{"s1"},
			wantWake:   t0.Add(4*time.Second + relaunchBackoff.max),
		},
		{
			name: "a killed stem breaks the streak",
			in: planInput{warm: warm, now: t0.Add(10 * time.Second), tasks: []*state.Task{
				failed("s1", 1), stemTask("s2", state.TaskKilled, 2),
			}},
			wantStemWant: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in.now.IsZero() {
				tt.in.now = t0.Add(time.Hour)
			}
			p := makePlan(tt.in)
			stemWant := 0
			wants := map[string]int{}
			for _, w := range p.wants {
				if isStemFunction(w.fn) {
					stemWant += w.count
				} else {
					wants[w.fn.ID] += w.count
				}
			}
			if stemWant != tt.wantStemWant {
				t.Errorf("stems wanted = %d, want %d", stemWant, tt.wantStemWant)
			}
			if len(wants) != len(tt.wantWants) {
				t.Errorf("function wants = %v, want %v", wants, tt.wantWants)
			}
			for id, n := range tt.wantWants {
				if wants[id] != n {
					t.Errorf("function wants = %v, want %v", wants, tt.wantWants)
				}
			}
			spec := map[string]string{}
			for _, s := range p.specialise {
				spec[s.stem.ID] = s.fn.ID
			}
			if len(spec) != len(tt.wantSpecialise) {
				t.Errorf("specialise = %v, want %v", spec, tt.wantSpecialise)
			}
			for s, f := range tt.wantSpecialise {
				if spec[s] != f {
					t.Errorf("specialise = %v, want %v", spec, tt.wantSpecialise)
				}
			}
			if got := ids(p.kills); !eq(got, tt.wantKills) && len(got)+len(tt.wantKills) > 0 {
				t.Errorf("kills = %v, want %v", got, tt.wantKills)
			}
			if !eq(p.forget, tt.wantForget) && len(p.forget)+len(tt.wantForget) > 0 {
				t.Errorf("forget = %v, want %v", p.forget, tt.wantForget)
			}
			if !p.wake.Equal(tt.wantWake) {
				t.Errorf("wake = %v, want %v", p.wake, tt.wantWake)
			}
		})
	}
}
