package api

import "time"

// indexWait bounds how long a write waits for the route index to show it.
// The index follows the store within moments; should it not, the write is
// durable anyway and the answer goes out.
const indexWait = 5 * time.Second

// awaitIndex waits until the route table satisfies cond, or indexWait has
// passed. The index is rebuilt from the store's watch asynchronously, so
// without this a client told "registered" or "deleted" could see its very
// next call answered from the table as it was before the write: 404 for a
// function it just registered, 200 for one it just deleted.
func (r *routes) awaitIndex(cond func(*routeTable) bool) bool {
	timer := time.NewTimer(indexWait)
	defer timer.Stop()
	for {
		t := r.table.Load()
		if cond(t) {
			return true
		}
		select {
		case <-t.changed:
		case <-timer.C:
			return false
		}
	}
}

// indexed reports whether the table routes version v (or newer) of id.
func indexed(id string, v uint64) func(*routeTable) bool {
	return func(t *routeTable) bool {
		rt := t.get(id)
		return rt != nil && rt.fn.Version >= v
	}
}

// unindexed reports whether the table no longer routes id.
func unindexed(id string) func(*routeTable) bool {
	return func(t *routeTable) bool { return t.get(id) == nil }
}
