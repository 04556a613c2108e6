package api

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/fob-project/fob/state"
)

// endpoint is one running instance a call can be sent to.
type endpoint struct {
	taskID string
	// base is "http://host:port", built once so the call path only appends.
	base string
	// addr is "host:port", for the call path's own connections.
	addr    string
	host    string
	port    uint32
	agentID string
	version uint64
	// secret is the task's: the executor serves its log only to it.
	secret   string
	inFlight atomic.Int64
}

// route is everything the call path needs to know about one function. A
// published route is never changed: an update stores a new one.
type route struct {
	// fn is nil while the index holds a status or tasks of a function
	// that is not registered (any more); lookups never return such a
	// route.
	fn        *state.Function
	status    *state.FunctionStatus // nil until the scheduler has looked
	endpoints []*endpoint           // ordered by task id
}

// routes keeps a route table current by following the state store's
// changes. It is the only writer of the table.
type routes struct {
	store *state.Store
	log   *slog.Logger
	watch *state.Watch
	table atomic.Pointer[routeTable]
}

func newRoutes(store *state.Store, log *slog.Logger) *routes {
	r := &routes{store: store, log: log}
	w, snap := store.Watch(state.WatchFunctions | state.WatchTasks | state.WatchStatuses)
	r.watch = w
	t, err := buildTable(snap, nil)
	if err != nil {
		// Start empty: the changes that follow still fill the index,
		// and a request for a function it lacks asks the store.
		log.Error("build routes", "err", err)
		t = &routeTable{}
	}
	t.changed = make(chan struct{})
	r.table.Store(t)
	return r
}

// run applies the store's changes to the table until ctx ends. Bursts of
// changes fold into one update.
func (r *routes) run(ctx context.Context) {
	defer r.watch.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.watch.Ready():
		}
		r.update(r.watch.Take())
	}
}

// update applies changes, publishes the resulting table and wakes whoever
// waits on the old one.
func (r *routes) update(c state.Changes) {
	if c.Len() == 0 {
		return
	}
	old := r.table.Load()
	next := old.apply(c)
	next.changed = make(chan struct{})
	r.table.Store(next)
	close(old.changed)
}

// lookup resolves a function by id or name.
func (r *routes) lookup(ref string) (*route, *routeTable) {
	t := r.table.Load()
	if rt := t.get(ref); rt != nil {
		return rt, t
	}
	return t.named(ref), t
}

// pick returns the endpoint with the fewest calls in flight, preferring
// instances of the function's current version so a rollout moves calls to
// the new code as soon as it runs. skip, if set, is passed over.
func (rt *route) pick(skip *endpoint) *endpoint {
	var best *endpoint
	for _, ep := range rt.endpoints {
		if skip != nil && ep.taskID == skip.taskID {
			continue // by id: a newer index holds the same task anew
		}
		if best == nil || better(ep, best, rt.fn.Version) {
			best = ep
		}
	}
	return best
}

func better(a, b *endpoint, current uint64) bool {
	if (a.version == current) != (b.version == current) {
		return a.version == current
	}
	return a.inFlight.Load() < b.inFlight.Load()
}

// runningVersion reports whether an instance of version v is running.
func (rt *route) runningVersion(v uint64) bool {
	for _, ep := range rt.endpoints {
		if ep.version == v {
			return true
		}
	}
	return false
}

// indexLag bounds how long a lookup waits for the route index to catch up
// with a function the store already holds.
const indexLag = 2 * time.Second

// resolve is lookup for requests: the index follows the store a moment
// behind, so a function registered an instant ago may be missing from it.
// On a miss resolve asks the store, and if the function is there it waits
// for the index to show it instead of answering "unknown".
func (r *routes) resolve(ctx context.Context, ref string) (*route, *routeTable) {
	rt, t := r.lookup(ref)
	if rt != nil {
		return rt, t
	}
	if _, err := r.store.FunctionByRef(nil, ref); err != nil {
		return nil, t
	}
	timer := time.NewTimer(indexLag)
	defer timer.Stop()
	for rt == nil {
		select {
		case <-t.changed:
		case <-timer.C:
			return nil, t
		case <-ctx.Done():
			return nil, t
		}
		rt, t = r.lookup(ref)
	}
	return rt, t
}
