package master

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
)

// The master keeps every resource pool in a normalised form: unreserved,
// without the deprecated role field and without allocation_info. The stand-in
// has no reservations, so the offer format a framework sees (role "*",
// allocation_info) is added when an offer is built and removed again when
// tasks come back in an ACCEPT.

// normalize returns a merged copy of rs in the master's internal form.
func normalize(rs []mesos.Resource) mesos.Resources {
	var out mesos.Resources
	for _, r := range rs {
		c := r
		if c.GetRole() == mesos.DefaultRole {
			c.Role = nil
		}
		c.AllocationInfo = nil
		out.Add1(c)
	}
	return out
}

// containsAll reports whether have contains every resource of want. Unlike
// resources.ContainsAll it sums want first, so two tasks asking for 1 cpu
// each do not both fit into 1.5 cpus.
func containsAll(have, want mesos.Resources) bool {
	return resources.ContainsAll(normalize(have), normalize(want))
}

// subtract returns have - want (both normalised).
func subtract(have, want mesos.Resources) mesos.Resources {
	return normalize(have).Minus(normalize(want)...)
}

// add returns a + b (both normalised).
func add(a, b mesos.Resources) mesos.Resources {
	return normalize(a).Plus(normalize(b)...)
}

// isEmpty reports whether rs holds no positive quantity.
func isEmpty(rs mesos.Resources) bool {
	for i := range rs {
		if !rs[i].IsEmpty() {
			return false
		}
	}
	return true
}

// offerFormat converts normalised resources to what a framework expects in
// an offer: role "*" unless it has RESERVATION_REFINEMENT, allocation_info
// only for MULTI_ROLE frameworks.
func offerFormat(rs mesos.Resources, role string, refinement, multiRole bool) []mesos.Resource {
	out := make([]mesos.Resource, 0, len(rs))
	for _, r := range rs.Clone() {
		if !refinement {
			star := mesos.DefaultRole
			r.Role = &star
		}
		if multiRole {
			rl := role
			r.AllocationInfo = &mesos.Resource_AllocationInfo{Role: &rl}
		}
		out = append(out, r)
	}
	return out
}
