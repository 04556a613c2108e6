package master

import (
	"fmt"
	"math"
	"sort"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

const (
	// defaultRefuse is Filters.refuse_seconds' proto default.
	defaultRefuse = 5 * time.Second
	// maxRefuse caps refuse_seconds at 365 days, like the Mesos master.
	maxRefuse = 365 * 24 * time.Hour
)

// offer is an outstanding offer: resources of one agent allocated to one
// role of one framework until accepted, declined or rescinded.
type offer struct {
	id        string
	framework string
	agent     string
	role      string
	resources mesos.Resources // normalised
}

// offerFilter keeps resources of one agent away from a framework's role
// until it expires or the framework revives.
type offerFilter struct {
	agent     string
	role      string
	resources mesos.Resources
	expires   time.Time
}

// allocate runs one offer round: every agent's free resources go to one
// eligible framework, chosen round-robin so several frameworks share the
// cluster. Must hold m.mu.
func (m *Master) allocate(now time.Time) {
	var eligible []*framework
	for _, fw := range m.frameworks {
		fw.expireFilters(now)
		if fw.connected() && fw.offerRole() != "" {
			eligible = append(eligible, fw)
		}
	}
	if len(eligible) == 0 {
		return
	}
	sort.Slice(eligible, func(i, j int) bool { return eligible[i].id.Value < eligible[j].id.Value })
	start := m.rotate % len(eligible)
	m.rotate++

	batches := map[*framework][]mesos.Offer{}
	var order []*framework
	for _, aid := range m.agentOrder {
		a := m.agent(aid)
		if a == nil {
			continue
		}
		free := a.total.Minus(m.used(aid)...)
		if isEmpty(free) {
			continue
		}
		for i := range eligible {
			fw := eligible[(start+i)%len(eligible)]
			role := fw.offerRole()
			if fw.filtered(aid, role, free) {
				continue
			}
			o := &offer{
				id:        fmt.Sprintf("%s-O%d", m.id, m.seq.offer),
				framework: fw.id.Value,
				agent:     aid,
				role:      role,
				resources: free,
			}
			m.seq.offer++
			m.putOffer(o)
			if _, ok := batches[fw]; !ok {
				order = append(order, fw)
			}
			batches[fw] = append(batches[fw], m.offerProto(fw, a, o))
			m.log.Debug("offer made", "offer_id", o.id, "framework_id", fw.id.Value,
				"agent_id", aid, "resources", free.String())
			break
		}
	}
	for _, fw := range order {
		fw.send(&scheduler.Event{
			Type:   scheduler.Event_OFFERS,
			Offers: &scheduler.Event_Offers{Offers: batches[fw]},
		})
	}
}

// offerProto renders an offer as the framework should see it.
func (m *Master) offerProto(fw *framework, a *agentEntry, o *offer) mesos.Offer {
	port := int32(5051)
	if a.info.Port != nil {
		port = *a.info.Port
	}
	host := a.info.Hostname
	path := "/slave(1)"
	off := mesos.Offer{
		ID:          mesos.OfferID{Value: o.id},
		FrameworkID: fw.id,
		AgentID:     mesos.AgentID{Value: a.id},
		Hostname:    host,
		URL: &mesos.URL{
			Scheme:  "http",
			Address: mesos.Address{Hostname: &host, Port: port},
			Path:    &path,
		},
		Resources:   offerFormat(o.resources, o.role, fw.refinement(), fw.multiRole()),
		Attributes:  a.info.Attributes,
		ExecutorIDs: m.executorIDs(fw.id.Value, a.id),
	}
	if fw.multiRole() {
		role := o.role
		off.AllocationInfo = &mesos.Resource_AllocationInfo{Role: &role}
	}
	return off
}

// executorIDs lists the framework's executors registered on an agent.
func (m *Master) executorIDs(fwID, agentID string) []mesos.ExecutorID {
	var ids []mesos.ExecutorID
	for key := range m.load(agentID).executors {
		if key.framework == fwID {
			ids = append(ids, mesos.ExecutorID{Value: key.executor})
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].Value < ids[j].Value })
	return ids
}

// offerRole returns the first role that may receive offers, or "".
func (fw *framework) offerRole() string {
	for _, r := range fw.roles {
		if !fw.suppressed[r] {
			return r
		}
	}
	return ""
}

func (fw *framework) expireFilters(now time.Time) {
	kept := fw.filters[:0]
	for _, f := range fw.filters {
		if now.Before(f.expires) {
			kept = append(kept, f)
		}
	}
	fw.filters = kept
}

// filtered reports whether a filter covers everything that would be
// offered: a filter only holds back resources the framework refused, so
// newly freed resources on the same agent are offered again.
func (fw *framework) filtered(agent, role string, free mesos.Resources) bool {
	for _, f := range fw.filters {
		if f.agent == agent && f.role == role && containsAll(f.resources, free) {
			return true
		}
	}
	return false
}

// refuseDuration applies Mesos' rules to Filters.refuse_seconds.
func refuseDuration(f *mesos.Filters) time.Duration {
	if f == nil || f.RefuseSeconds == nil {
		return defaultRefuse
	}
	s := *f.RefuseSeconds
	switch {
	case math.IsNaN(s) || s < 0:
		return defaultRefuse
	case s > maxRefuse.Seconds():
		return maxRefuse
	}
	return time.Duration(s * float64(time.Second))
}

// decline returns an offer's resources to the pool with a filter for the
// framework. Must hold m.mu.
func (m *Master) decline(fw *framework, agent, role string, rs mesos.Resources, filters *mesos.Filters, now time.Time) {
	if d := refuseDuration(filters); d > 0 && !isEmpty(rs) {
		fw.filters = append(fw.filters, &offerFilter{
			agent: agent, role: role, resources: rs, expires: now.Add(d),
		})
		if d < time.Hour {
			// Wake the allocator when the filter lapses so short filters
			// behave like Mesos rather than waiting for the next tick.
			time.AfterFunc(d, m.kickAllocator)
		}
		return
	}
	m.kickAllocator()
}

// discardOffers withdraws all offers of a framework, with RESCIND events
// when rescind is set. Must hold m.mu.
func (m *Master) discardOffers(fw *framework, rescind bool) {
	for id, o := range m.offers {
		if o.framework != fw.id.Value {
			continue
		}
		m.dropOffer(id)
		if rescind {
			fw.send(rescindEvent(id))
		}
	}
	m.kickAllocator()
}

// rescindAgentOffers withdraws every offer on an agent. Must hold m.mu.
func (m *Master) rescindAgentOffers(agent string) {
	for id, o := range m.load(agent).offers {
		m.dropOffer(id)
		if fw := m.frameworks[o.framework]; fw != nil {
			fw.send(rescindEvent(id))
		}
	}
}

func rescindEvent(id string) *scheduler.Event {
	return &scheduler.Event{
		Type:    scheduler.Event_RESCIND,
		Rescind: &scheduler.Event_Rescind{OfferID: mesos.OfferID{Value: id}},
	}
}

// revive clears filters and unsuppresses the given roles (all if empty).
func (m *Master) revive(fw *framework, roles []string) {
	set := roleSet(fw, roles)
	kept := fw.filters[:0]
	for _, f := range fw.filters {
		if !set[f.role] {
			kept = append(kept, f)
		}
	}
	fw.filters = kept
	for r := range set {
		delete(fw.suppressed, r)
	}
	m.kickAllocator()
}

// suppress stops offers for the given roles (all if empty).
func (m *Master) suppress(fw *framework, roles []string) {
	for r := range roleSet(fw, roles) {
		fw.suppressed[r] = true
	}
}

func roleSet(fw *framework, roles []string) map[string]bool {
	if len(roles) == 0 {
		roles = fw.roles
	}
	set := make(map[string]bool, len(roles))
	for _, r := range roles {
		set[r] = true
	}
	return set
}
