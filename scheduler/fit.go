package scheduler

import (
	"math"
	"sort"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Resource names fob uses.
const (
	resCPUs  = "cpus"
	resMem   = "mem"
	resPorts = "ports"
)

// demand is what one task or executor needs from an offer.
type demand struct {
	cpus  float64
	memMB float64
	port  bool // one port from the offered port ranges
}

// scalarSlot is the unused part of one offered scalar resource, in
// thousandths: Mesos compares scalars with three decimal digits, so fob
// does its arithmetic in the same fixed point to never ask for a hair more
// than was offered.
type scalarSlot struct {
	tmpl  mesos.Resource
	milli int64
}

// portSlot is the unused part of one offered port-ranges resource.
type portSlot struct {
	tmpl   mesos.Resource
	ranges []mesos.Value_Range
}

// pool is what is left of one offer while fob packs tasks into it. Taken
// resources keep the role, reservation and allocation info of the offered
// resource they come from, so the master finds them contained in the offer.
type pool struct {
	cpus, mem []scalarSlot
	ports     []portSlot
}

// newPool collects the resources of offer that a framework in role may
// use: unreserved ones and those reserved for role, reserved first.
// Revocable, shared, disk-backed and provider resources are left alone.
func newPool(offer *mesos.Offer, role string) *pool {
	rs := make([]mesos.Resource, 0, len(offer.Resources))
	for _, r := range offer.Resources {
		if r.Revocable != nil || r.Shared != nil || r.Disk != nil || r.ProviderID != nil {
			continue
		}
		if rr := resourceRole(r); rr != "*" && rr != role {
			continue
		}
		rs = append(rs, r)
	}
	sort.SliceStable(rs, func(i, j int) bool {
		return resourceRole(rs[i]) != "*" && resourceRole(rs[j]) == "*"
	})
	p := &pool{}
	for _, r := range rs {
		switch {
		case r.Name == resCPUs && r.Scalar != nil:
			p.cpus = append(p.cpus, scalarSlot{tmpl: r, milli: toMilli(r.Scalar.Value)})
		case r.Name == resMem && r.Scalar != nil:
			p.mem = append(p.mem, scalarSlot{tmpl: r, milli: toMilli(r.Scalar.Value)})
		case r.Name == resPorts && r.Ranges != nil:
			p.ports = append(p.ports, portSlot{tmpl: r, ranges: append([]mesos.Value_Range(nil), r.Ranges.Range...)})
		}
	}
	return p
}

// resourceRole is the role a resource is offered in: the innermost
// reservation's (refined format) or the legacy role field, "*" when
// unreserved.
func resourceRole(r mesos.Resource) string {
	if n := len(r.Reservations); n > 0 {
		return r.Reservations[n-1].GetRole()
	}
	return r.GetRole()
}

func toMilli(v float64) int64 {
	return int64(math.Round(v * 1000))
}

func (p *pool) clone() *pool {
	c := &pool{
		cpus:  append([]scalarSlot(nil), p.cpus...),
		mem:   append([]scalarSlot(nil), p.mem...),
		ports: make([]portSlot, len(p.ports)),
	}
	for i, s := range p.ports {
		c.ports[i] = portSlot{tmpl: s.tmpl, ranges: append([]mesos.Value_Range(nil), s.ranges...)}
	}
	return c
}

// fits reports whether take(ds...) would succeed, without taking anything
// or allocating: take may split a scalar over several slots, so the sums
// decide. Packing asks a full offer about thousands of wanted instances.
func (p *pool) fits(ds ...demand) bool {
	var cpus, mem int64
	ports := 0
	for _, d := range ds {
		cpus += max(toMilli(d.cpus), 0)
		mem += max(toMilli(d.memMB), 0)
		if d.port {
			ports++
		}
	}
	for _, s := range p.cpus {
		cpus -= s.milli
	}
	for _, s := range p.mem {
		mem -= s.milli
	}
	if cpus > 0 || mem > 0 {
		return false
	}
	for _, s := range p.ports {
		for _, rg := range s.ranges {
			if ports <= 0 {
				return true
			}
			if lo, hi := max(rg.Begin, 1), min(rg.End, math.MaxUint16); lo <= hi {
				ports -= int(min(hi-lo+1, uint64(ports)))
			}
		}
	}
	return ports <= 0
}

// take removes each demand from the pool, all or nothing. It returns the
// resources for each demand, in order, and the port picked (0 if none was
// asked for).
func (p *pool) take(ds ...demand) (out [][]mesos.Resource, port uint32, ok bool) {
	if !p.fits(ds...) {
		return nil, 0, false
	}
	return p.takeAll(ds)
}

// takeAll is take without the quick check: it works on a copy and keeps it
// only if every demand was met.
func (p *pool) takeAll(ds []demand) (out [][]mesos.Resource, port uint32, ok bool) {
	c := p.clone()
	out = make([][]mesos.Resource, len(ds))
	for i, d := range ds {
		var rs []mesos.Resource
		if rs, ok = takeScalar(c.cpus, toMilli(d.cpus), rs); !ok {
			return nil, 0, false
		}
		if rs, ok = takeScalar(c.mem, toMilli(d.memMB), rs); !ok {
			return nil, 0, false
		}
		if d.port {
			var r mesos.Resource
			if r, port, ok = c.takePort(); !ok {
				return nil, 0, false
			}
			rs = append(rs, r)
		}
		out[i] = rs
	}
	*p = *c
	return out, port, true
}

// takeScalar takes milli thousandths from slots, appending the resources
// it takes to rs.
func takeScalar(slots []scalarSlot, milli int64, rs []mesos.Resource) ([]mesos.Resource, bool) {
	if milli <= 0 {
		return rs, true
	}
	for i := range slots {
		if milli == 0 {
			break
		}
		n := min(milli, slots[i].milli)
		if n == 0 {
			continue
		}
		r := slots[i].tmpl
		r.Scalar = &mesos.Value_Scalar{Value: float64(n) / 1000}
		r.Ranges, r.Set = nil, nil
		rs = append(rs, r)
		slots[i].milli -= n
		milli -= n
	}
	return rs, milli == 0
}

// takePort picks the lowest free port.
func (p *pool) takePort() (mesos.Resource, uint32, bool) {
	best, bestSlot := uint64(math.MaxUint64), -1
	for i, s := range p.ports {
		for _, rg := range s.ranges {
			// Port 0 is not a port a client can reach.
			c := max(rg.Begin, 1)
			if c <= rg.End && c <= math.MaxUint16 && c < best {
				best, bestSlot = c, i
			}
		}
	}
	if bestSlot < 0 {
		return mesos.Resource{}, 0, false
	}
	s := &p.ports[bestSlot]
	s.ranges = removePort(s.ranges, best)
	r := s.tmpl
	r.Scalar, r.Set = nil, nil
	r.Ranges = &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: best, End: best}}}
	return r, uint32(best), true
}

// removePort returns ranges without port.
func removePort(ranges []mesos.Value_Range, port uint64) []mesos.Value_Range {
	out := make([]mesos.Value_Range, 0, len(ranges)+1)
	for _, rg := range ranges {
		if port < rg.Begin || port > rg.End {
			out = append(out, rg)
			continue
		}
		if rg.Begin < port {
			out = append(out, mesos.Value_Range{Begin: rg.Begin, End: port - 1})
		}
		if port < rg.End {
			out = append(out, mesos.Value_Range{Begin: port + 1, End: rg.End})
		}
	}
	return out
}
