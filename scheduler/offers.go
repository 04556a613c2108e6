package scheduler

import (
	"context"

	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// onOffers launches as many wanted instances as the offers fit, one ACCEPT
// per offer, and declines the rest at once: fob never holds offers, so
// other frameworks are not starved and RESCIND never finds anything to
// drop. Every task launched is recorded as staging before any ACCEPT is
// sent, all in one write, so a crash after an ACCEPT still knows the task.
func (l *loop) onOffers(ctx context.Context, offers []mesos.Offer) {
	// Wants must reflect every change so far; the plans of the functions
	// that changed are made now, the others' stand.
	l.convergeDirty(ctx)
	wants := l.wants.list()
	type launchSet struct {
		offer *mesos.Offer
		tasks []mesos.TaskInfo
	}
	var (
		launches []launchSet
		declines []mesos.OfferID
		records  state.Batch
	)
	for i := range offers {
		o := &offers[i]
		tasks, recs := l.pack(o, wants)
		if len(tasks) == 0 {
			declines = append(declines, o.ID)
			continue
		}
		launches = append(launches, launchSet{o, tasks})
		for _, t := range recs {
			records.PutTask(t)
		}
	}
	if err := l.store.Commit(&records); err != nil {
		l.log.Error("record launches; declining the offers", "tasks", records.Len(), "err", err)
		for _, ls := range launches {
			declines = append(declines, ls.offer.ID)
		}
		launches = nil
	} else {
		// What pack used up is recorded now, and the plans would
		// count it: they want only the rest.
		for _, w := range wants {
			l.wants.set(w)
		}
	}
	for _, ls := range launches {
		o := ls.offer
		accept := calls.Accept(
			calls.OfferOperations{calls.OpLaunch(ls.tasks...)}.WithOffers(o.ID),
		).With(l.refuseFilter())
		if err := l.send(ctx, accept); err != nil {
			// The tasks are recorded as staging; reconciliation after
			// the next SUBSCRIBED tells whether the master got them.
			if ctx.Err() != nil {
				return
			}
			l.log.Error("launch failed", "offer_id", o.ID.Value, "agent_id", o.AgentID.Value, "tasks", len(ls.tasks), "err", err)
			return
		}
		for _, ti := range ls.tasks {
			l.log.Info("launching task", "task_id", ti.TaskID.Value, "offer_id", o.ID.Value,
				"agent_id", o.AgentID.Value, "host", o.Hostname)
		}
	}
	if len(declines) > 0 {
		if err := l.send(ctx, calls.Decline(declines...).With(l.refuseFilter())); err != nil {
			l.log.Warn("decline offers", "offers", len(declines), "err", err)
			return
		}
		l.log.Debug("declined offers", "offers", len(declines))
	}
	l.pace(ctx, l.wants.len() > 0)
}

// pack fits wanted instances into one offer and returns their TaskInfos
// and the staging tasks to record before they are launched. It decrements
// the counts in wants.
func (l *loop) pack(o *mesos.Offer, wants []want) ([]mesos.TaskInfo, []*state.Task) {
	var tasks []mesos.TaskInfo
	var recs []*state.Task
	p := newPool(o, l.cfg.Role)
	// Demands that did not fit: anything as big does not either. Most
	// functions have the same limits, so a full offer is passed over
	// quickly however many functions wait.
	var tooBig []demand
	for i := range wants {
		w := &wants[i]
		if w.count == 0 {
			continue
		}
		d := taskDemand(w.fn)
		if dominated(d, tooBig) {
			continue
		}
		image, ok := l.image(w.fn.Language)
		if !ok {
			continue // the plan marks the function failed
		}
		for w.count > 0 {
			rs, port, ok := p.take(d, executorDemand)
			if !ok {
				tooBig = append(tooBig, d)
				break // a smaller function may still fit
			}
			ti, t, err := l.prepare(o, w.fn, image, port, rs[0], rs[1])
			if err != nil {
				l.log.Error("prepare launch", "function_id", w.fn.ID, "offer_id", o.ID.Value, "err", err)
				return tasks, recs
			}
			tasks = append(tasks, ti)
			recs = append(recs, t)
			w.count--
		}
	}
	return tasks, recs
}

// prepare builds one instance's TaskInfo and the staging task to record.
func (l *loop) prepare(o *mesos.Offer, f *state.Function, image string, port uint32,
	taskRes, execRes []mesos.Resource) (mesos.TaskInfo, *state.Task, error) {
	ln := launch{
		fn:       f,
		taskID:   taskIDFor(f), // a stem's for a stemFunction (warm pool)
		secret:   newSecret(),
		agentID:  o.AgentID.Value,
		hostname: o.Hostname,
		port:     port,
		taskRes:  taskRes,
		execRes:  execRes,
		image:    image,
	}
	ti, err := buildTaskInfo(l.cfg, ln)
	if err != nil {
		return mesos.TaskInfo{}, nil, err
	}
	now := l.now()
	t := &state.Task{
		ID:         ln.taskID,
		FunctionID: f.ID,
		Version:    f.Version,
		Language:   f.Language,
		AgentID:    ln.agentID,
		ExecutorID: ln.taskID,
		Host:       ln.hostname,
		Port:       port,
		State:      state.TaskStaging,
		Secret:     ln.secret,
		LaunchedAt: now,
		UpdatedAt:  now,
	}
	return ti, t, nil
}

// dominated reports whether d asks for at least as much as one of ds.
func dominated(d demand, ds []demand) bool {
	for _, b := range ds {
		if d.cpus >= b.cpus && d.memMB >= b.memMB && (d.port || !b.port) {
			return true
		}
	}
	return false
}
