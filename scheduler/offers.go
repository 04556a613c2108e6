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
// drop.
func (l *loop) onOffers(ctx context.Context, offers []mesos.Offer) {
	var wants []want
	if p, err := l.plan(); err != nil {
		l.log.Error("plan for offers; declining them", "err", err)
	} else {
		wants = p.wants
	}
	var declines []mesos.OfferID
	for i := range offers {
		o := &offers[i]
		tasks := l.pack(o, wants)
		if len(tasks) == 0 {
			declines = append(declines, o.ID)
			continue
		}
		accept := calls.Accept(
			calls.OfferOperations{calls.OpLaunch(tasks...)}.WithOffers(o.ID),
		).With(l.refuseFilter())
		if err := l.send(ctx, accept); err != nil {
			// The tasks are recorded as staging; reconciliation after
			// the next SUBSCRIBED tells whether the master got them.
			if ctx.Err() != nil {
				return
			}
			l.log.Error("launch failed", "offer_id", o.ID.Value, "agent_id", o.AgentID.Value, "tasks", len(tasks), "err", err)
			return
		}
		for _, ti := range tasks {
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
	l.converge(ctx)
}

// pack fits wanted instances into one offer, records each as a staging
// task before it is launched (so a crash after the ACCEPT still knows the
// task), and returns their TaskInfos. It decrements the counts in wants.
func (l *loop) pack(o *mesos.Offer, wants []want) []mesos.TaskInfo {
	var tasks []mesos.TaskInfo
	p := newPool(o, l.cfg.Role)
	for i := range wants {
		w := &wants[i]
		image, ok := l.image(w.fn.Language)
		if !ok {
			continue // the plan marks the function failed
		}
		for w.count > 0 {
			rs, port, ok := p.take(taskDemand(w.fn), executorDemand)
			if !ok {
				break // a smaller function may still fit
			}
			ti, err := l.prepare(o, w.fn, image, port, rs[0], rs[1])
			if err != nil {
				l.log.Error("prepare launch", "function_id", w.fn.ID, "offer_id", o.ID.Value, "err", err)
				return tasks
			}
			tasks = append(tasks, ti)
			w.count--
		}
	}
	return tasks
}

// prepare builds one instance's TaskInfo and records the task durably.
func (l *loop) prepare(o *mesos.Offer, f *state.Function, image string, port uint32,
	taskRes, execRes []mesos.Resource) (mesos.TaskInfo, error) {
	ln := launch{
		fn:       f,
		taskID:   newTaskID(f.ID, f.Version),
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
		return mesos.TaskInfo{}, err
	}
	now := l.now()
	t := &state.Task{
		ID:         ln.taskID,
		FunctionID: f.ID,
		Version:    f.Version,
		AgentID:    ln.agentID,
		ExecutorID: ln.taskID,
		Host:       ln.hostname,
		Port:       port,
		State:      state.TaskStaging,
		Secret:     ln.secret,
		LaunchedAt: now,
		UpdatedAt:  now,
	}
	if err := l.store.PutTask(t); err != nil {
		return mesos.TaskInfo{}, err
	}
	return ti, nil
}
