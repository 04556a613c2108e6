package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/fob-project/fob/executor/callserver"
	"github.com/fob-project/fob/executor/funclog"
	"github.com/fob-project/fob/executor/memcg"
	"github.com/fob-project/fob/executor/worker"
	fobpb "github.com/fob-project/fob/proto"
	"github.com/fob-project/fob/sandbox"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// maxDrain bounds how long a stopping instance lets calls in progress
// finish before their workers are killed.
const maxDrain = 5 * time.Second

// task is the one function instance this executor hosts.
type task struct {
	id  string
	log *slog.Logger

	launchCtx    context.Context
	cancelLaunch context.CancelFunc
	launched     chan struct{} // closed when the launch goroutine returns

	mu       sync.Mutex
	terminal bool // a terminal update has been sent
	pool     *worker.Pool
	calls    *callserver.Server
	server   *http.Server
	logs     *funclog.Log
	// stem is the spec the task was launched with while it is a stem of
	// the warm pool that runs (stem.go); nil otherwise.
	stem *fobpb.FunctionSpec
	// specialised is closed when the specialisation a MESSAGE started has
	// finished; nil until a MESSAGE names a function.
	specialised chan struct{}
}

// launch starts the task on its own goroutine. The executor hosts a single
// task; any further LAUNCH is refused.
func (e *Executor) launch(ctx context.Context, info mesos.TaskInfo) {
	e.mu.Lock()
	if e.task != nil || e.shuttingDown {
		e.mu.Unlock()
		e.refuse(ctx, info, "this executor already hosts a task or is shutting down")
		return
	}
	launchCtx, cancel := context.WithCancel(ctx)
	t := &task{
		id:           info.TaskID.Value,
		log:          e.log.With("task_id", info.TaskID.Value),
		launchCtx:    launchCtx,
		cancelLaunch: cancel,
		launched:     make(chan struct{}),
	}
	e.task = t
	e.unackedTasks[t.id] = info
	e.mu.Unlock()
	go e.start(ctx, t, info)
}

// refuse fails a task this executor will not run.
func (e *Executor) refuse(ctx context.Context, info mesos.TaskInfo, why string) {
	e.log.Warn("refusing task", "task_id", info.TaskID.Value, "reason", why)
	e.update(ctx, info.TaskID.Value, mesos.TASK_FAILED, why, nil)
}

// start brings the function up: STARTING, fetch, load, serve, RUNNING. Any
// failure is TASK_FAILED with a message the user can act on; a kill while
// starting leaves the report to stop. A spec without a function starts a
// stem instead (stem.go): warm workers without code, RUNNING labelled as a
// stem, and a call server that answers 503 until a MESSAGE specialises it.
func (e *Executor) start(ctx context.Context, t *task, info mesos.TaskInfo) {
	defer close(t.launched)
	spec := new(fobpb.FunctionSpec)
	if err := spec.Unmarshal(info.Data); err != nil {
		e.fail(ctx, t, fmt.Sprintf("decode FunctionSpec from the task data: %v", err))
		return
	}
	stem := spec.FunctionId == ""
	if stem {
		t.log = t.log.With("stem", spec.Language)
	} else {
		t.log = t.log.With("function_id", spec.FunctionId)
	}
	e.update(ctx, t.id, mesos.TASK_STARTING, "", nil)

	err := e.bringUp(t, spec)
	if err == nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.launchCtx.Err() == nil && !t.terminal {
			if stem {
				t.stem = spec
				e.update(ctx, t.id, mesos.TASK_RUNNING, "", nil, fobpb.StemLabel(spec.Language))
				t.log.Info("stem ready", "port", spec.Port, "workers", t.pool.Size())
				return
			}
			t.calls.SetReady(true)
			e.update(ctx, t.id, mesos.TASK_RUNNING, "", nil)
			t.log.Info("function ready", "port", spec.Port, "workers", t.pool.Size())
		}
		return
	}
	if t.launchCtx.Err() != nil {
		return // killed while starting; stop reports TASK_KILLED
	}
	e.failStart(ctx, t, t.log, err)
}

// failStart reports why a function (or a stem) could not start: a load
// error carries the label that tells fob's scheduler not to retry.
func (e *Executor) failStart(ctx context.Context, t *task, log *slog.Logger, err error) {
	var le *worker.LoadError
	if errors.As(err, &le) {
		log.Info("function failed to load", "error", le.Error())
		e.fail(ctx, t, le.Error(), fobpb.LoadFailureLabel())
		return
	}
	log.Warn("function failed to start", "error", err)
	e.fail(ctx, t, err.Error())
}

// bringUp does the work of start, leaving what it built in t for teardown.
// For a stem it fetches nothing and starts the workers waiting for code.
func (e *Executor) bringUp(t *task, spec *fobpb.FunctionSpec) error {
	ctx := t.launchCtx
	if spec.Port == 0 || spec.Port > 65535 {
		return fmt.Errorf("the FunctionSpec has no usable port (%d)", spec.Port)
	}
	d, ok := sandbox.Lookup(spec.Language)
	if !ok {
		return fmt.Errorf("unknown language %q (known: %v)", spec.Language, sandbox.Names())
	}
	stem := spec.FunctionId == ""
	env := workerEnv()
	var code []byte
	if stem {
		if len(d.WaitCommand) == 0 {
			return fmt.Errorf("language %q has no warm pool: its driver cannot start a worker without code", spec.Language)
		}
	} else {
		var err error
		if code, err = e.fetcher.fetch(ctx, spec.CodeUrl, spec.Secret, spec.CodeDigest); err != nil {
			return err
		}
		for k, v := range functionEnv(spec.FunctionId, spec.Name) {
			env = append(env, k+"="+v)
		}
	}
	cmd, logs, err := prepareSandbox(e.cfg.Sandbox, d, code, env, e.cfg.LogMaxBytes, t.log)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.logs = logs
	t.mu.Unlock()

	limits := spec.GetLimits()
	timeout := callTimeout(limits)
	pool, err := worker.Start(ctx, worker.Config{
		Command:       cmd,
		Size:          int(limits.GetConcurrency()),
		CallTimeout:   timeout,
		OOMKills:      e.oomCounter(t.log),
		MemoryLimitMB: int(limits.GetMemoryMb()),
		Waiting:       stem,
	}, t.log)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.pool = pool
	t.mu.Unlock()

	// A stem listens at once too: its port is taken now, not when a
	// function is waiting for it, and it answers 503 until it has one.
	addr := net.JoinHostPort(e.cfg.Bind, strconv.Itoa(int(spec.Port)))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve calls: %w", err)
	}
	calls := callserver.New(callserver.Config{CallTimeout: timeout, Secret: spec.Secret, Logs: logs}, pool, t.log)
	srv := calls.HTTPServer(slog.NewLogLogger(t.log.Handler(), slog.LevelWarn))
	t.mu.Lock()
	t.calls, t.server = calls, srv
	t.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.log.Error("call server stopped", "error", err)
		}
	}()
	return nil
}

// callTimeout is the per-call deadline of a function's limits.
func callTimeout(limits *fobpb.Limits) time.Duration {
	if d := time.Duration(limits.GetTimeoutMs()) * time.Millisecond; d > 0 {
		return d
	}
	return worker.DefaultCallTimeout
}

// fail reports the task as failed and ends the executor once the agent
// has the report.
func (e *Executor) fail(ctx context.Context, t *task, msg string, labels ...mesos.Label) {
	t.teardown(0)
	e.terminate(ctx, t, mesos.TASK_FAILED, msg, nil, labels...)
}

// kill handles a KILL event for taskID.
func (e *Executor) kill(ctx context.Context, taskID string) {
	e.mu.Lock()
	t := e.task
	e.mu.Unlock()
	if t == nil || t.id != taskID {
		e.log.Warn("kill for a task this executor does not run", "task_id", taskID)
		return
	}
	go e.stop(ctx, t, mesos.TASK_KILLED, "killed", nil)
}

// stop aborts a launch in progress, drains and stops the instance, and
// reports the terminal state.
func (e *Executor) stop(ctx context.Context, t *task, state mesos.TaskState, msg string, reason *mesos.TaskStatus_Reason) {
	t.cancelLaunch()
	<-t.launched
	t.waitSpecialised()
	t.teardown(min(e.cfg.ExecutorShutdownGracePeriod/2, maxDrain))
	e.terminate(ctx, t, state, msg, reason)
}

// terminate sends the task's one terminal update and ends the executor once
// it is acknowledged.
func (e *Executor) terminate(ctx context.Context, t *task, state mesos.TaskState, msg string, reason *mesos.TaskStatus_Reason, labels ...mesos.Label) {
	t.mu.Lock()
	if t.terminal {
		t.mu.Unlock()
		e.finish()
		return
	}
	t.terminal = true
	t.mu.Unlock()
	uuid := e.update(ctx, t.id, state, msg, reason, labels...)
	e.finishWhenAcked(uuid)
}

// teardown stops taking calls, lets calls in progress finish for up to
// drain, then kills the workers. It is idempotent.
func (t *task) teardown(drain time.Duration) {
	t.mu.Lock()
	calls, srv, pool, logs := t.calls, t.server, t.pool, t.logs
	t.calls, t.server, t.pool, t.logs = nil, nil, nil, nil
	t.mu.Unlock()

	if calls != nil {
		calls.SetReady(false)
	}
	if srv != nil && drain > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), drain)
		srv.Shutdown(ctx) // waits for HTTP calls in progress, up to drain
		calls.Drain(ctx)  // and for those on call channels
		cancel()
	}
	if pool != nil {
		pool.Close() // calls still running now end with 503
	}
	if srv != nil {
		srv.Close()
	}
	if calls != nil {
		calls.Close()
	}
	if logs != nil {
		logs.Close() // after the pool: the workers' last words are kept
	}
}

// oomCounter returns the OOM-kill counter of the executor's memory cgroup,
// which holds its workers too, or nil when there is none to read: the pool
// then reports a SIGKILLed worker as such.
func (e *Executor) oomCounter(log *slog.Logger) func() (int64, error) {
	cg, err := memcg.Self(e.cfg.CgroupMemory)
	if err != nil {
		log.Debug("no memory cgroup; OOM kills cannot be told from other SIGKILLs", "error", err)
		return nil
	}
	if _, err := cg.OOMKills(); err != nil {
		log.Debug("memory cgroup has no OOM-kill counter", "cgroup", cg.Dir(), "error", err)
		return nil
	}
	return cg.OOMKills
}
