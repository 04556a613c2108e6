package api

import (
	"slices"
	"sort"

	"github.com/fob-project/fob/state"
)

// The route index's table: how a snapshot is laid out so that readers need
// no lock and a change copies little, and how changes are applied.

// routeTable is an immutable snapshot; readers load it without locks.
type routeTable struct {
	byID shardedMap[*route]
	// byName maps a function's name to its id.
	byName shardedMap[string]
	// changed is closed when a newer table replaces this one, waking calls
	// that wait for a function to start.
	changed chan struct{}
}

// get returns the registered function with id, or nil.
func (t *routeTable) get(id string) *route {
	if rt, _ := t.byID.get(id); rt != nil && rt.fn != nil {
		return rt
	}
	return nil
}

// named returns the registered function called name, or nil.
func (t *routeTable) named(name string) *route {
	if id, ok := t.byName.get(name); ok {
		return t.get(id)
	}
	return nil
}

// each calls fn for every registered function, in no particular order.
func (t *routeTable) each(fn func(id string, rt *route)) {
	t.byID.each(func(id string, rt *route) {
		if rt.fn != nil {
			fn(id, rt)
		}
	})
}

// buildTable builds a whole table from a snapshot of the store. Endpoints
// equal to old's (if old is set) are reused so their in-flight counts carry
// over. The index is built this way once; after that, changes are applied.
func buildTable(snap *state.Snapshot, old *routeTable) (*routeTable, error) {
	fns, err := snap.Functions()
	if err != nil {
		return nil, err
	}
	tasks, err := snap.Tasks()
	if err != nil {
		return nil, err
	}
	statuses, err := snap.Statuses()
	if err != nil {
		return nil, err
	}
	// Through the store's order, not a map of changes, so the routes of
	// a table built at start lie in memory in id order.
	e := newTableEdit(&routeTable{})
	for _, f := range fns {
		e.edit(f.ID).fn = f
		if f.Name != "" {
			e.names.set(f.Name, f.ID)
		}
	}
	for _, st := range statuses {
		e.edit(st.FunctionID).status = st
	}
	for _, t := range tasks {
		rt := e.edit(t.FunctionID)
		rt.endpoints = withTask(rt.endpoints, t.ID, t)
	}
	if old != nil {
		for id, rt := range e.edits {
			prev, _ := old.byID.get(id)
			if prev == nil {
				continue
			}
			for j, ep := range rt.endpoints {
				if k := findEndpoint(prev.endpoints, ep.taskID); k >= 0 && prev.endpoints[k].same(ep) {
					rt.endpoints[j] = prev.endpoints[k]
				}
			}
		}
	}
	return e.finish(), nil
}

// apply returns the table that follows t once changes are applied; t is
// not modified. Applying is order-free: a
// route is a function of the newest function, status and tasks of its id,
// so however writes to different objects fold together, the result equals
// a table built from the store afresh.
func (t *routeTable) apply(c state.Changes) *routeTable {
	e := newTableEdit(t)
	e.apply(c)
	return e.finish()
}

// tableEdit builds the next table: each route is copied once, each piece
// of the maps rebuilt at most once.
type tableEdit struct {
	ids   *shardEdit[*route]
	names *shardEdit[string]
	edits map[string]*route // routes copied in this edit, by function id
}

func newTableEdit(t *routeTable) *tableEdit {
	return &tableEdit{ids: newShardEdit(&t.byID), names: newShardEdit(&t.byName), edits: map[string]*route{}}
}

func (e *tableEdit) apply(c state.Changes) {
	for id, ch := range c.Functions {
		if b := ch.Before; b != nil && b.Name != "" && (ch.After == nil || ch.After.Name != b.Name) {
			e.unname(b.Name, id)
		}
		if a := ch.After; a != nil && a.Name != "" {
			e.names.set(a.Name, id)
		}
		e.edit(id).fn = ch.After
	}
	for id, ch := range c.Statuses {
		e.edit(id).status = ch.After
	}
	for id, ch := range c.Tasks {
		t := ch.After
		if t == nil {
			t = ch.Before
		}
		rt := e.edit(t.FunctionID)
		rt.endpoints = withTask(rt.endpoints, id, ch.After)
	}
}

// finish returns the next table with the edited routes. Routes left with
// nothing go.
func (e *tableEdit) finish() *routeTable {
	for id, rt := range e.edits {
		if rt.fn == nil && rt.status == nil && len(rt.endpoints) == 0 {
			e.ids.remove(id)
			continue
		}
		e.ids.set(id, rt)
	}
	return &routeTable{byID: e.ids.result(), byName: e.names.result()}
}

// edit returns the pending route of id: a copy of its current one, or new.
func (e *tableEdit) edit(id string) *route {
	if rt := e.edits[id]; rt != nil {
		return rt
	}
	rt := &route{}
	if prev, _ := e.ids.get(id); prev != nil {
		*rt = *prev
	}
	e.edits[id] = rt
	return rt
}

// unname forgets name unless another function has taken it meanwhile.
func (e *tableEdit) unname(name, id string) {
	if have, _ := e.names.get(name); have == id {
		e.names.remove(name)
	}
}

// withTask returns a new endpoint list: eps without task id, plus the
// task's endpoint if t (its newest state, nil if deleted) can serve calls.
// An unchanged endpoint is kept, with its in-flight count.
func withTask(eps []*endpoint, id string, t *state.Task) []*endpoint {
	var keep *endpoint
	out := make([]*endpoint, 0, len(eps)+1)
	for _, ep := range eps {
		if ep.taskID == id {
			keep = ep
			continue
		}
		out = append(out, ep)
	}
	if t == nil || t.State != state.TaskRunning || t.Port == 0 {
		return out
	}
	ep := newEndpoint(t)
	if keep != nil && keep.same(ep) {
		ep = keep
	}
	i := sort.Search(len(out), func(i int) bool { return out[i].taskID > id })
	return slices.Insert(out, i, ep)
}

// findEndpoint returns the index of task id's endpoint in eps, or -1.
func findEndpoint(eps []*endpoint, id string) int {
	for i, ep := range eps {
		if ep.taskID == id {
			return i
		}
	}
	return -1
}

func newEndpoint(t *state.Task) *endpoint {
	return &endpoint{
		taskID:  t.ID,
		base:    "http://" + hostPort(t.Host, t.Port),
		addr:    hostPort(t.Host, t.Port),
		host:    t.Host,
		port:    t.Port,
		agentID: t.AgentID,
		version: t.Version,
		secret:  t.Secret,
	}
}

// same reports whether two endpoints reach the same instance the same way.
func (ep *endpoint) same(o *endpoint) bool {
	return ep.taskID == o.taskID && ep.host == o.host && ep.port == o.port &&
		ep.agentID == o.agentID && ep.version == o.version && ep.secret == o.secret
}
