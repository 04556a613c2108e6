package scheduler

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/fob-project/fob/state"
)

// Benchmarks of the scheduler's per-event work. `make bench` measures
// 10,000 functions end to end; these show what one event costs at a size.

// BenchmarkPoolTake fits instances into one offer the size of a default
// stand-in agent until it is full, as pack does.
func BenchmarkPoolTake(b *testing.B) {
	o := offer("o", "a", scalar(resCPUs, 4), scalar(resMem, 8192), ports([2]uint64{31000, 32000}))
	f := testFunction("f", 1)
	b.ReportAllocs()
	fits := 0
	for b.Loop() {
		p := newPool(&o, "*")
		fits = 0
		for {
			if _, _, ok := p.take(taskDemand(f), executorDemand); !ok {
				break
			}
			fits++
		}
	}
	b.ReportMetric(float64(fits), "instances/offer")
}

// benchLoop returns an event loop over a memory store holding n functions,
// each with one running instance and a running status: the steady state
// every update and offer round plans against.
func benchLoop(b *testing.B, n int) *loop {
	b.Helper()
	store, err := state.NewMemory()
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("f%05d", i)
		if err := store.PutFunction(testFunction(id, 1)); err != nil {
			b.Fatal(err)
		}
		if err := store.PutTask(tk("t"+id, id, 1, state.TaskRunning, i)); err != nil {
			b.Fatal(err)
		}
		st := &state.FunctionStatus{FunctionID: id, Version: 1, Phase: state.PhaseRunning}
		if err := store.PutStatus(st); err != nil {
			b.Fatal(err)
		}
	}
	return newLoop(testConfig(), store, &recorder{}, slog.New(slog.DiscardHandler))
}

// BenchmarkPlan is the snapshot of state plus makePlan: what converge
// pays on every status update, offer round and change of functions.
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("functions=%d", n), func(b *testing.B) {
			l := benchLoop(b, n)
			b.ReportAllocs()
			for b.Loop() {
				p, err := l.plan()
				if err != nil {
					b.Fatal(err)
				}
				if p.wanted() != 0 || len(p.statuses) != 0 {
					b.Fatalf("steady state wants %d instances and %d status writes", p.wanted(), len(p.statuses))
				}
			}
		})
	}
}
