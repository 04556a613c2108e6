package api

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	memdb "github.com/hashicorp/go-memdb"

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

// route is everything the call path needs to know about one function.
type route struct {
	fn        *state.Function
	status    *state.FunctionStatus // nil until the scheduler has looked
	endpoints []*endpoint
}

// routeTable is an immutable snapshot; readers load it without locks.
type routeTable struct {
	byID   map[string]*route
	byName map[string]*route
	// changed is closed when a newer table replaces this one, waking calls
	// that wait for a function to start.
	changed chan struct{}
}

// routes keeps a route table current by watching the state store. It is
// the only writer of the table; every reader sees a consistent snapshot.
type routes struct {
	store *state.Store
	log   *slog.Logger
	table atomic.Pointer[routeTable]
}

func newRoutes(store *state.Store, log *slog.Logger) *routes {
	r := &routes{store: store, log: log}
	r.table.Store(&routeTable{byID: map[string]*route{}, byName: map[string]*route{}, changed: make(chan struct{})})
	if _, err := r.rebuild(); err != nil {
		log.Error("build routes", "err", err)
	}
	return r
}

// run rebuilds the table each time functions, tasks or statuses change,
// until ctx ends. Bursts of changes are folded into one rebuild.
func (r *routes) run(ctx context.Context) {
	for {
		ws, err := r.rebuild()
		if err != nil {
			r.log.Error("build routes", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if err := ws.WatchCtx(ctx); err != nil {
			return
		}
	}
}

// lookup resolves a function by id or name.
func (r *routes) lookup(ref string) (*route, *routeTable) {
	t := r.table.Load()
	if rt, ok := t.byID[ref]; ok {
		return rt, t
	}
	return t.byName[ref], t
}

func (r *routes) rebuild() (memdb.WatchSet, error) {
	ws := memdb.NewWatchSet()
	fns, err := r.store.Functions(ws)
	if err != nil {
		return nil, err
	}
	tasks, err := r.store.Tasks(ws)
	if err != nil {
		return nil, err
	}
	statuses, err := r.store.Statuses(ws)
	if err != nil {
		return nil, err
	}
	old := r.table.Load()
	next := &routeTable{
		byID:    make(map[string]*route, len(fns)),
		byName:  map[string]*route{},
		changed: make(chan struct{}),
	}
	for _, f := range fns {
		rt := &route{fn: f}
		next.byID[f.ID] = rt
		if f.Name != "" {
			next.byName[f.Name] = rt
		}
	}
	for _, st := range statuses {
		if rt, ok := next.byID[st.FunctionID]; ok {
			rt.status = st
		}
	}
	for _, t := range tasks {
		rt, ok := next.byID[t.FunctionID]
		if !ok || t.State != state.TaskRunning || t.Port == 0 {
			continue
		}
		rt.endpoints = append(rt.endpoints, r.endpointFor(old, t))
	}
	r.table.Store(next)
	close(old.changed)
	return ws, nil
}

// endpointFor reuses the previous table's endpoint for the same task so
// its in-flight count survives a rebuild.
func (r *routes) endpointFor(old *routeTable, t *state.Task) *endpoint {
	if prev, ok := old.byID[t.FunctionID]; ok {
		for _, ep := range prev.endpoints {
			if ep.taskID == t.ID {
				return ep
			}
		}
	}
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

// pick returns the endpoint with the fewest calls in flight, preferring
// instances of the function's current version so a rollout moves calls to
// the new code as soon as it runs. skip, if set, is passed over.
func (rt *route) pick(skip *endpoint) *endpoint {
	var best *endpoint
	for _, ep := range rt.endpoints {
		if ep == skip {
			continue
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
