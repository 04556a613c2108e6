package executor

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"
)

const apiPath = "/api/v1/executor"

// Executor is one fob executor process: it hosts one task, one instance of
// one function.
type Executor struct {
	cfg        Config
	log        *slog.Logger
	sender     calls.Sender // UPDATE
	subscriber calls.Sender // SUBSCRIBE, on a connection of its own
	fetcher    fetcher

	sendMu sync.Mutex // serialises UPDATE calls

	mu             sync.Mutex
	unackedTasks   map[string]mesos.TaskInfo
	unackedUpdates map[string]executor.Call_Update
	ackSignal      chan struct{} // closed and replaced on every ACKNOWLEDGED
	task           *task
	shuttingDown   bool

	done     chan struct{} // closed when the executor's work is over
	doneOnce sync.Once
}

// New validates cfg and prepares an executor; Run starts it.
func New(cfg Config, log *slog.Logger) (*Executor, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	codec, err := cfg.codec()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("executor_id", cfg.ExecutorID)
	endpoint := url.URL{Scheme: "http", Host: cfg.AgentEndpoint, Path: apiPath}
	client := httpcli.New(
		httpcli.Endpoint(endpoint.String()),
		httpcli.Codec(codec),
		httpcli.Do(httpcli.With(httpcli.Timeout(cfg.AgentTimeout))),
	)
	ids := executor.CallOptions{calls.Framework(cfg.FrameworkID), calls.Executor(cfg.ExecutorID)}
	return &Executor{
		cfg:    cfg,
		log:    log,
		sender: calls.SenderWith(httpexec.NewSender(client.Send), ids...),
		// SUBSCRIBE holds its connection for the life of the stream; asking
		// for it to be closed afterwards keeps it out of the pool that
		// UPDATE calls reuse.
		subscriber: calls.SenderWith(httpexec.NewSender(client.Send, httpcli.Close(true)), ids...),
		fetcher: fetcher{
			client:   &http.Client{Timeout: 30 * time.Second},
			attempts: cfg.FetchAttempts,
			backoff:  100 * time.Millisecond,
		},
		unackedTasks:   map[string]mesos.TaskInfo{},
		unackedUpdates: map[string]executor.Call_Update{},
		ackSignal:      make(chan struct{}),
		done:           make(chan struct{}),
	}, nil
}

// Run runs an executor until its task has ended and the agent has
// acknowledged the final status, until the agent is lost, or until ctx
// ends (then the task is killed and reported as such first).
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	e, err := New(cfg, log)
	if err != nil {
		return err
	}
	return e.Run(ctx)
}

// Run is the package-level Run for an executor built with New.
func (e *Executor) Run(ctx context.Context) error {
	// The stream outlives ctx on purpose: after a stop signal the executor
	// still has to report TASK_KILLED and read the agent's acknowledgement.
	streamCtx, stopStream := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStream()
	lost := make(chan error, 1)
	go func() { lost <- e.subscribeLoop(streamCtx) }()

	e.log.Info("executor started", "agent", e.cfg.AgentEndpoint, "codec", e.cfg.Codec, "checkpoint", e.cfg.Checkpoint)
	select {
	case <-e.done:
	case <-ctx.Done():
		e.log.Info("executor stopping", "cause", context.Cause(ctx))
		go e.shutdown(streamCtx, "the executor was stopped")
		select {
		case <-e.done:
		case <-time.After(e.cfg.ExecutorShutdownGracePeriod):
			e.log.Warn("task not reported within the grace period", "grace_period", e.cfg.ExecutorShutdownGracePeriod)
		}
	case err := <-lost:
		// Nobody can be told about the task any more: just stop it.
		e.abandonTask()
		return err
	}
	stopStream()
	<-lost
	e.abandonTask()
	e.log.Info("executor done")
	return nil
}

// finish ends Run.
func (e *Executor) finish() { e.doneOnce.Do(func() { close(e.done) }) }

// finishWhenAcked ends Run once the agent has the terminal update with
// uuid, or after the grace period: the agent destroys the container then
// anyway.
func (e *Executor) finishWhenAcked(uuid []byte) {
	go func() {
		if !e.waitAcked(uuid, e.cfg.ExecutorShutdownGracePeriod) {
			e.log.Warn("terminal update not acknowledged in time; exiting anyway")
		}
		e.finish()
	}()
}

// shutdown kills the task, if any, and ends the executor.
func (e *Executor) shutdown(ctx context.Context, why string) {
	e.mu.Lock()
	e.shuttingDown = true
	t := e.task
	e.mu.Unlock()
	if t == nil {
		e.finish()
		return
	}
	e.stop(ctx, t, mesos.TASK_KILLED, why, nil)
}

// abandonTask stops the task's workers without reporting anything.
func (e *Executor) abandonTask() {
	e.mu.Lock()
	t := e.task
	e.mu.Unlock()
	if t != nil {
		t.cancelLaunch()
		<-t.launched
		t.waitSpecialised()
		t.teardown(0)
	}
}
