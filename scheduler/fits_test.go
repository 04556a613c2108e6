package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// fits, the quick check pack makes for every wanted instance, says yes
// exactly when taking the demands succeeds.
func TestFitsAgreesWithTake(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 3000 {
		var rs []mesos.Resource
		for range r.IntN(3) {
			rs = append(rs, scalar(resCPUs, float64(r.IntN(4000))/1000))
		}
		for range r.IntN(3) {
			rs = append(rs, scalar(resMem, float64(r.IntN(3000))))
		}
		// Disjoint ranges, as Mesos offers them; port 0 is never taken.
		var rgs [][2]uint64
		next := uint64(0)
		for range r.IntN(3) {
			b := next + uint64(r.IntN(3))
			rgs = append(rgs, [2]uint64{b, b + uint64(r.IntN(3))})
			next = rgs[len(rgs)-1][1] + 1
		}
		if len(rgs) > 0 {
			rs = append(rs, ports(rgs...))
		}
		o := offer("o", "a", rs...)
		p := newPool(&o, "*")
		var ds []demand
		for range 1 + r.IntN(3) {
			ds = append(ds, demand{cpus: float64(r.IntN(2000)) / 1000, memMB: float64(r.IntN(1500)), port: r.IntN(2) == 0})
		}
		want := func() bool { _, _, ok := p.clone().takeAll(ds); return ok }()
		if got := p.fits(ds...); got != want {
			t.Fatalf("case %d: fits(%+v) = %v, take succeeds: %v (pool %s)", i, ds, got, want, describePool(p))
		}
	}
}

func describePool(p *pool) string {
	s := ""
	for _, c := range p.cpus {
		s += fmt.Sprintf("cpus %d ", c.milli)
	}
	for _, m := range p.mem {
		s += fmt.Sprintf("mem %d ", m.milli)
	}
	for _, pt := range p.ports {
		s += fmt.Sprintf("ports %v ", pt.ranges)
	}
	return s
}
