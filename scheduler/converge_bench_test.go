package scheduler

import (
	"fmt"
	"testing"
)

// BenchmarkPlanFunction is what an event costs the scheduler now: the
// plan of the one function it touched (its definition, tasks and status,
// and the warm pool's stems), against a store of n functions. Compare with
// BenchmarkPlan, the full plan every event once made. It must not grow
// with n.
func BenchmarkPlanFunction(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("functions=%d", n), func(b *testing.B) {
			l := benchLoop(b, n)
			ids := []string{fmt.Sprintf("f%05d", n/2)}
			b.ReportAllocs()
			for b.Loop() {
				in, err := l.snapshotOf(ids)
				if err != nil {
					b.Fatal(err)
				}
				p := makePlan(in)
				if p.wanted() != 0 || len(p.statuses) != 0 {
					b.Fatalf("steady state wants %d instances and %d status writes", p.wanted(), len(p.statuses))
				}
			}
		})
	}
}
