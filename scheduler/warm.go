package scheduler

import (
	"context"
	"fmt"

	fobpb "github.com/fob-project/fob/proto"
	"github.com/fob-project/fob/sandbox"
	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// The warm pool, in the loop. A stem is launched through an ordinary offer
// (pack, with a stemFunction want) as task fob.stem.<language>.<random>
// with a FunctionSpec that names no function; its executor starts warm
// workers without code and reports TASK_RUNNING. When a function wants an
// instance and the plan hands it a running stem, specialise records the
// stem as a starting instance of that function version (durably: the
// API's code route checks the task's secret against the function's tasks,
// and a restarted fob must know the stem is taken), then sends the
// scheduler MESSAGE {agent, executor, FunctionSpec} through the master.
// The executor loads the code into its workers and reports TASK_RUNNING
// again, labelled with the function and version; only that update makes
// the task running (awaitingLoad). No offer, no new executor, no
// interpreter start lies on that path. Meanwhile the plan wants a new stem.

// warmInput tells makePlan about the warm pool.
func (l *loop) warmInput() warmInput {
	if l.cfg.WarmPool <= 0 {
		return warmInput{}
	}
	var langs []string
	for _, name := range sandbox.Names() {
		d, ok := sandbox.Lookup(name)
		if !ok || len(d.WaitCommand) == 0 {
			continue
		}
		if _, ok := l.image(name); ok {
			langs = append(langs, name)
		}
	}
	return warmInput{size: l.cfg.WarmPool, languages: langs}
}

// specialise hands each stem of p.specialise its function, and makes the
// loop wake when the first of them would time out (the plan could not
// know: it saw them as stems). A failed call ends the subscription
// (send); the stems already recorded then time out and are replaced.
func (l *loop) specialise(ctx context.Context, p *plan) {
	for _, s := range p.specialise {
		if err := l.specialiseStem(ctx, s); err != nil {
			l.log.Error("specialise stem", "task_id", s.stem.ID, "function_id", s.fn.ID, "err", err)
			if !l.subscribed {
				return
			}
			continue
		}
		if deadline := l.now().Add(specialiseTimeout); p.wake.IsZero() || deadline.Before(p.wake) {
			p.wake = deadline
		}
	}
}

func (l *loop) specialiseStem(ctx context.Context, s specialisation) error {
	now := l.now()
	next := s.stem.Copy()
	next.FunctionID, next.Version = s.fn.ID, s.fn.Version
	next.State, next.Reason = state.TaskStarting, ""
	next.Message = "loading the function into a warm executor"
	next.SpecialisedAt, next.UpdatedAt = now, now
	spec := functionSpec(l.cfg, launch{fn: s.fn, taskID: next.ID, secret: next.Secret, port: next.Port})
	data, err := spec.Marshal()
	if err != nil {
		return fmt.Errorf("encode function spec: %w", err)
	}
	if err := l.store.PutTask(next); err != nil {
		return fmt.Errorf("record specialisation: %w", err)
	}
	if err := l.send(ctx, calls.Message(next.AgentID, next.ExecutorID, data)); err != nil {
		return err
	}
	l.log.Info("specialising stem", "task_id", next.ID, "function_id", next.FunctionID,
		"version", next.Version, "agent_id", next.AgentID)
	return nil
}

// awaitingLoad reports whether st is a RUNNING for a stem being
// specialised that does not say it loaded the function fob recorded for
// it: the stem's own RUNNING sent again, or a reconciliation answer. It
// must not make the task an instance that serves calls; the executor's
// labelled RUNNING will.
func awaitingLoad(t *state.Task, st *mesos.TaskStatus) bool {
	return !t.SpecialisedAt.IsZero() && t.State == state.TaskStarting &&
		st.GetState() == mesos.TASK_RUNNING && !fobpb.Loaded(st, t.FunctionID, t.Version)
}
