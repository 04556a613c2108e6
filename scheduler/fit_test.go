package scheduler

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func sumScalar(rs []mesos.Resource, name string) float64 {
	var s float64
	for _, r := range rs {
		if r.Name == name && r.Scalar != nil {
			s += r.Scalar.Value
		}
	}
	return s
}

func portsOf(rs []mesos.Resource) []mesos.Value_Range {
	var out []mesos.Value_Range
	for _, r := range rs {
		if r.Name == resPorts && r.Ranges != nil {
			out = append(out, r.Ranges.Range...)
		}
	}
	return out
}

func TestPoolTake(t *testing.T) {
	task := demand{cpus: 0.1, memMB: 128, port: true}
	tests := []struct {
		name      string
		offer     mesos.Offer
		role      string
		wantFit   int      // how many task+executor pairs fit
		wantPorts []uint32 // ports picked, in order
	}{
		{
			name:      "many fit, ports from lowest up",
			offer:     offer("o", "a", scalar(resCPUs, 1), scalar(resMem, 1024), ports([2]uint64{31000, 31001}, [2]uint64{30000, 30000})),
			role:      "*",
			wantFit:   3, // three ports
			wantPorts: []uint32{30000, 31000, 31001},
		},
		{
			name:      "memory bound",
			offer:     offer("o", "a", scalar(resCPUs, 4), scalar(resMem, 330), ports([2]uint64{31000, 31100})),
			role:      "*",
			wantFit:   2, // 2 × (128+32) = 320 ≤ 330
			wantPorts: []uint32{31000, 31001},
		},
		{
			name: "cpus exact in fixed point",
			// 0.15 × 2 = 0.3; floating point would say 0.30000000000000004 > 0.3
			offer:     offer("o", "a", scalar(resCPUs, 0.3), scalar(resMem, 4096), ports([2]uint64{1, 10})),
			role:      "*",
			wantFit:   2,
			wantPorts: []uint32{1, 2},
		},
		{
			name:    "no ports",
			offer:   offer("o", "a", scalar(resCPUs, 4), scalar(resMem, 4096)),
			role:    "*",
			wantFit: 0,
		},
		{
			name:    "port zero is skipped",
			offer:   offer("o", "a", scalar(resCPUs, 4), scalar(resMem, 4096), ports([2]uint64{0, 0})),
			role:    "*",
			wantFit: 0,
		},
		{
			name: "resources reserved for another role are not used",
			offer: offer("o", "a", withRole(scalar(resCPUs, 4), "other"), scalar(resCPUs, 0.15),
				scalar(resMem, 4096), ports([2]uint64{31000, 31005})),
			role:      "fob",
			wantFit:   1,
			wantPorts: []uint32{31000},
		},
		{
			name: "reserved for own role is used",
			offer: offer("o", "a", withRole(scalar(resCPUs, 0.3), "fob"), withRole(scalar(resMem, 320), "fob"),
				withRole(ports([2]uint64{31000, 31005}), "fob")),
			role:      "fob",
			wantFit:   2,
			wantPorts: []uint32{31000, 31001},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(&tt.offer, tt.role)
			var got []uint32
			for {
				rs, port, ok := p.take(task, executorDemand)
				if !ok {
					break
				}
				if len(rs) != 2 {
					t.Fatalf("got %d resource lists, want 2", len(rs))
				}
				if c := sumScalar(rs[0], resCPUs); toMilli(c) != 100 {
					t.Errorf("task cpus = %v", c)
				}
				if m := sumScalar(rs[1], resMem); m != executorMemoryMB {
					t.Errorf("executor mem = %v", m)
				}
				pr := portsOf(rs[0])
				if len(pr) != 1 || pr[0].Begin != uint64(port) || pr[0].End != uint64(port) {
					t.Errorf("task ports = %v, picked %d", pr, port)
				}
				if len(portsOf(rs[1])) != 0 {
					t.Errorf("executor got ports")
				}
				for _, r := range append(rs[0], rs[1]...) {
					if rr := resourceRole(r); rr != "*" && rr != tt.role {
						t.Errorf("took %s from role %s", r.Name, rr)
					}
				}
				got = append(got, port)
				if len(got) > 100 {
					t.Fatal("pool never runs out")
				}
			}
			if len(got) != tt.wantFit {
				t.Fatalf("fit %d, want %d (ports %v)", len(got), tt.wantFit, got)
			}
			for i, p := range tt.wantPorts {
				if got[i] != p {
					t.Errorf("port %d = %d, want %d", i, got[i], p)
				}
			}
		})
	}
}

func TestPoolTakeIsAllOrNothing(t *testing.T) {
	o := offer("o", "a", scalar(resCPUs, 1), scalar(resMem, 100), ports([2]uint64{31000, 31000}))
	p := newPool(&o, "*")
	// The executor part fits, the task's memory does not.
	if _, _, ok := p.take(demand{cpus: 0.1, memMB: 128, port: true}, executorDemand); ok {
		t.Fatal("took more memory than offered")
	}
	// Nothing was consumed by the failed attempt.
	rs, port, ok := p.take(demand{cpus: 0.5, memMB: 68, port: true}, executorDemand)
	if !ok || port != 31000 {
		t.Fatalf("take after failed take: ok=%v port=%d", ok, port)
	}
	if m := sumScalar(rs[0], resMem) + sumScalar(rs[1], resMem); m != 100 {
		t.Errorf("mem = %v, want 100", m)
	}
}

func TestRemovePort(t *testing.T) {
	r := func(b, e uint64) mesos.Value_Range { return mesos.Value_Range{Begin: b, End: e} }
	tests := []struct {
		name string
		in   []mesos.Value_Range
		port uint64
		want []mesos.Value_Range
	}{
		{"middle", []mesos.Value_Range{r(10, 20)}, 15, []mesos.Value_Range{r(10, 14), r(16, 20)}},
		{"begin", []mesos.Value_Range{r(10, 20)}, 10, []mesos.Value_Range{r(11, 20)}},
		{"end", []mesos.Value_Range{r(10, 20)}, 20, []mesos.Value_Range{r(10, 19)}},
		{"single", []mesos.Value_Range{r(10, 10), r(30, 31)}, 10, []mesos.Value_Range{r(30, 31)}},
		{"outside", []mesos.Value_Range{r(10, 12)}, 40, []mesos.Value_Range{r(10, 12)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := removePort(tt.in, tt.port)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}
