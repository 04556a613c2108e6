package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Master is where an agent reports what happens on it. Calls arrive on one
// goroutine, in order, never while the agent holds a lock, so the master
// may call back into the agent.
type Master interface {
	// StatusUpdate forwards a task status. Reliable updates carry a
	// 16-byte uuid and are resent until Acknowledge names that uuid.
	StatusUpdate(agent mesos.AgentID, status mesos.TaskStatus)
	// ExecutorMessage forwards an executor's MESSAGE call (best effort).
	ExecutorMessage(fw mesos.FrameworkID, agent mesos.AgentID, exec mesos.ExecutorID, data []byte)
	// ExecutorTerminated reports the end of a custom executor with its raw
	// wait status (-1 when it never ran).
	ExecutorTerminated(fw mesos.FrameworkID, agent mesos.AgentID, exec mesos.ExecutorID, waitStatus int)
}

// Agent is one embedded Mesos agent.
type Agent struct {
	cfg           Config
	master        Master
	log           *slog.Logger
	containerizer Containerizer
	fetcher       *fetcher
	updates       *updateManager
	out           *outbox

	listener   net.Listener
	server     *http.Server
	ownWorkDir bool
	port       int32

	// ctx ends when the agent closes; launches and downloads use it.
	ctx    context.Context
	cancel context.CancelFunc

	startOnce sync.Once
	closeOnce sync.Once
	wg        sync.WaitGroup

	// mu owns frameworks, every executor and task record, and closing.
	mu         sync.Mutex
	frameworks map[string]*framework
	closing    bool
}

// New validates cfg, binds the agent's HTTP listener (so Endpoint and Info
// are valid at once) and returns the agent; Start serves it.
func New(cfg Config, m Master, log *slog.Logger) (*Agent, error) {
	if m == nil {
		return nil, errors.New("new agent: master is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("new agent: %w", err)
	}
	log = log.With("agent_id", cfg.ID.Value)
	a := &Agent{
		cfg:        cfg,
		master:     m,
		log:        log,
		fetcher:    newFetcher(cfg.FetchTimeout),
		out:        newOutbox(),
		frameworks: map[string]*framework{},
	}
	a.containerizer = cfg.Containerizer
	if a.containerizer == nil {
		a.containerizer = NewProcessContainerizer(false, log)
	}
	a.updates = newUpdateManager(cfg.UpdateRetryInitial, cfg.UpdateRetryMax, func(st mesos.TaskStatus) {
		a.out.push(func() { a.master.StatusUpdate(a.cfg.ID, st) })
	})
	if a.cfg.WorkDir == "" {
		dir, err := os.MkdirTemp("", "fob-agent-")
		if err != nil {
			a.out.stop()
			return nil, fmt.Errorf("new agent: create work dir: %w", err)
		}
		a.cfg.WorkDir, a.ownWorkDir = dir, true
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		a.out.stop()
		a.removeOwnWorkDir()
		return nil, fmt.Errorf("new agent: listen on %s: %w", cfg.Listen, err)
	}
	a.listener = ln
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
		a.port = int32(tcp.Port)
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/executor", a.serveExecutorAPI)
	a.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return a.ctx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return a, nil
}

// Start serves the executor API until Close, or until ctx ends.
func (a *Agent) Start(ctx context.Context) error {
	started := false
	a.startOnce.Do(func() {
		started = true
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.server.Serve(a.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("agent http server stopped", "error", err)
			}
		}()
		context.AfterFunc(ctx, func() { _ = a.Close() })
	})
	if !started {
		return errors.New("start agent: already started")
	}
	a.log.Info("agent started", "endpoint", a.Endpoint(), "work_dir", a.cfg.WorkDir)
	return nil
}

// Close kills every container, stops serving and drops pending updates.
// Nothing is reported to the master after Close.
func (a *Agent) Close() error {
	var err error
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closing = true
		for _, fw := range a.frameworks {
			for _, ex := range fw.executors {
				ex.stopTimers()
				if ex.sub != nil {
					ex.sub.close()
				}
				if ex.container != nil {
					_ = ex.container.Destroy()
				}
			}
		}
		a.mu.Unlock()
		a.cancel()
		a.updates.stop()
		a.out.stop()
		err = a.server.Close()
		a.wg.Wait()
		a.removeOwnWorkDir()
	})
	if err != nil {
		return fmt.Errorf("close agent: %w", err)
	}
	return nil
}

// Endpoint is the ip:port of the agent's HTTP server, the value of
// MESOS_AGENT_ENDPOINT.
func (a *Agent) Endpoint() string { return a.listener.Addr().String() }

// WorkDir is the directory holding the sandboxes.
func (a *Agent) WorkDir() string { return a.cfg.WorkDir }

// Info describes the agent for the master: id, hostname, port and total
// resources.
func (a *Agent) Info() mesos.AgentInfo {
	id := a.cfg.ID
	port := a.port
	return mesos.AgentInfo{
		ID:         &id,
		Hostname:   a.cfg.Hostname,
		Port:       &port,
		Resources:  append(mesos.Resources(nil), a.cfg.Resources...),
		Attributes: append([]mesos.Attribute(nil), a.cfg.Attributes...),
	}
}

func (a *Agent) removeOwnWorkDir() {
	if !a.ownWorkDir {
		return
	}
	if err := os.RemoveAll(a.cfg.WorkDir); err != nil {
		a.log.Warn("remove work dir", "work_dir", a.cfg.WorkDir, "error", err)
	}
}

// sandboxDir follows the Mesos layout so paths look familiar to anyone
// who has browsed a real agent.
func (a *Agent) sandboxDir(fw mesos.FrameworkID, exec mesos.ExecutorID, containerID string) string {
	return filepath.Join(a.cfg.WorkDir, "slaves", a.cfg.ID.Value, "frameworks", fw.Value,
		"executors", exec.Value, "runs", containerID)
}
