package executor

import (
	"context"
	"errors"
	"fmt"

	"github.com/fob-project/fob/executor/worker"
	fobpb "github.com/fob-project/fob/proto"
	"github.com/fob-project/fob/sandbox"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// A stem is a task of fob's warm pool: its executor started the language's
// workers without code (bringUp with a spec that names no function) and
// reported TASK_RUNNING labelled fob.stem. The scheduler hands it a
// function with a scheduler MESSAGE whose data is that function's
// FunctionSpec, for the same task. The executor then fetches the code,
// has every worker load it, opens the call server and sends TASK_RUNNING
// again, labelled with the function and version it loaded (a load error
// is TASK_FAILED with the load-failure label, as on a launch). The task
// keeps its id, secret, port and resources: it is an instance of the
// function from then on. A MESSAGE is best-effort; if it is lost the
// scheduler kills the stem after a while and launches the function anew.

// message handles a MESSAGE from the scheduler. It never blocks the event
// loop: the specialisation runs on its own goroutine.
func (e *Executor) message(ctx context.Context, data []byte) {
	spec := new(fobpb.FunctionSpec)
	if err := spec.Unmarshal(data); err != nil {
		e.log.Warn("ignoring a message that is no FunctionSpec", "error", err, "bytes", len(data))
		return
	}
	e.mu.Lock()
	t := e.task
	e.mu.Unlock()
	if t == nil || t.id != spec.TaskId {
		e.log.Warn("ignoring a function for a task this executor does not run", "task_id", spec.TaskId)
		return
	}
	done, why := t.claimSpecialisation()
	if done == nil {
		// A duplicate, or a KILL came first. Mesos may deliver a MESSAGE
		// twice; the first one's RUNNING answers both.
		t.log.Info("ignoring a function for this task", "function_id", spec.FunctionId, "reason", why)
		return
	}
	go func() {
		defer close(done)
		e.specialise(ctx, t, spec)
	}()
}

// claimSpecialisation marks the task as being specialised and returns the
// channel to close when that is over, or nil and why not.
func (t *task) claimSpecialisation() (chan struct{}, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.specialised != nil:
		return nil, "a function was already named"
	case t.launchCtx.Err() != nil || t.terminal:
		return nil, "the task is stopping"
	}
	// Made even before the stem has started, so that stop waits for it;
	// specialise waits for the start.
	t.specialised = make(chan struct{})
	return t.specialised, ""
}

// waitSpecialised waits until a specialisation in progress has finished.
// Call it after cancelLaunch, which makes the specialisation give up and
// any later MESSAGE refused.
func (t *task) waitSpecialised() {
	t.mu.Lock()
	done := t.specialised
	t.mu.Unlock()
	if done != nil {
		<-done
	}
}

// specialise loads the function spec names into the stem's workers and
// reports the outcome.
func (e *Executor) specialise(ctx context.Context, t *task, spec *fobpb.FunctionSpec) {
	<-t.launched
	log := t.log.With("function_id", spec.FunctionId, "version", spec.Version)
	log.Info("specialising the stem")
	err := e.load(t, spec)
	if err == nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.launchCtx.Err() == nil && !t.terminal && t.calls != nil {
			t.calls.SetCallTimeout(callTimeout(spec.GetLimits()))
			t.calls.SetReady(true)
			e.update(ctx, t.id, mesos.TASK_RUNNING, "", nil, fobpb.LoadedLabels(spec.FunctionId, spec.Version)...)
			log.Info("function ready", "port", spec.Port, "workers", t.pool.Size())
		}
		return
	}
	if t.launchCtx.Err() != nil {
		return // killed meanwhile; stop reports TASK_KILLED
	}
	e.failStart(ctx, t, log, err)
}

// load fetches the function's code and has the stem's workers load it.
func (e *Executor) load(t *task, spec *fobpb.FunctionSpec) error {
	t.mu.Lock()
	stem, pool := t.stem, t.pool
	t.mu.Unlock()
	switch {
	case stem == nil || pool == nil:
		return errors.New("this executor has no running stem to load a function into")
	case spec.FunctionId == "":
		return errors.New("the scheduler named no function to load")
	case spec.Language != stem.Language:
		return fmt.Errorf("a %s stem cannot run a %s function", stem.Language, spec.Language)
	case spec.Port != stem.Port || spec.Secret != stem.Secret:
		// The call server already listens on the stem's port and serves
		// logs to the stem's secret, which the scheduler records as the
		// instance's.
		return errors.New("the function's spec does not keep the stem's port and secret")
	}
	d, ok := sandbox.Lookup(spec.Language)
	if !ok {
		return fmt.Errorf("unknown language %q (known: %v)", spec.Language, sandbox.Names())
	}
	ctx := t.launchCtx
	code, err := e.fetcher.fetch(ctx, spec.CodeUrl, spec.Secret, spec.CodeDigest)
	if err != nil {
		return err
	}
	path, err := writeCode(e.cfg.Sandbox, d, code)
	if err != nil {
		return err
	}
	limits := spec.GetLimits()
	return pool.Load(ctx, worker.LoadRequest{Code: path, Env: functionEnv(spec.FunctionId, spec.Name)}, worker.LoadConfig{
		Size:          int(limits.GetConcurrency()),
		CallTimeout:   callTimeout(limits),
		MemoryLimitMB: int(limits.GetMemoryMb()),
	})
}
