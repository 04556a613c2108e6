package mesoslocal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/fob-project/fob/mesoslocal/agent"
	"github.com/fob-project/fob/mesoslocal/master"
)

// Defaults of Config.
const (
	DefaultListen         = "127.0.0.1:0"
	DefaultAgentResources = "cpus:4;mem:8192;disk:10240;ports:[31000-32000]"
)

// Config configures a Cluster. The zero value starts one agent with
// DefaultAgentResources and a master on a free loopback port.
type Config struct {
	// Listen is the master's address; DefaultListen when empty.
	Listen string
	// Agents is the number of agents started with the cluster (default 1).
	// More can be added later with AddAgent.
	Agents int
	// AgentResources is each agent's total, as a Mesos --resources string.
	AgentResources string
	// AgentResourcesFor, when set, gives the n-th agent started (from 0)
	// its own resources instead of AgentResources. Agents of one cluster
	// share a host, so two of them offering the same ports would hand out
	// ports that cannot both be bound; disjoint port ranges avoid that.
	AgentResourcesFor func(n int) string
	// WorkDir is the parent of the agents' work directories
	// (WorkDir/<agent-id>). Empty gives each agent a temporary directory
	// removed on Close.
	WorkDir string
	// HeartbeatInterval of scheduler streams (Mesos default 15s).
	HeartbeatInterval time.Duration
	// AllocationInterval between offer rounds (Mesos default 1s).
	AllocationInterval time.Duration
	// Credentials (principal → secret) turn on HTTP framework
	// authentication: every scheduler request must then carry matching
	// Basic credentials (see master.Config.Credentials). Empty leaves the
	// scheduler API open, the Mesos default.
	Credentials map[string]string
	// Logger receives master and agent logs; nil discards them.
	Logger *slog.Logger
	// Agent is the template for every agent's configuration (containerizer,
	// retry intervals, timeouts, environment). ID, Resources and WorkDir
	// are filled in per agent.
	Agent agent.Config
	// Containerizer gives each agent a containerizer of its own of this
	// kind when Agent.Containerizer is nil: "process" (the default),
	// "simulated" (no processes, for scheduler scale runs) or "docker"
	// (see agent.NewContainerizer).
	Containerizer string
	// Isolation turns on the isolation of those containerizers: each
	// executor in its own namespaces, as an unprivileged user of its own,
	// with a read-only view of the host and cgroup limits from its
	// resources (see agent.ProcessContainerizer). It needs root; without
	// root the agents warn and enforce none of it.
	Isolation bool
}

// Cluster is a running master with its agents.
type Cluster struct {
	// Master is exposed for its test hooks.
	Master *master.Master

	cfg      Config
	log      *slog.Logger
	listener net.Listener
	server   *http.Server
	url      string

	mu     sync.Mutex
	agents []*agent.Agent
	added  int // agents started so far: the n of AgentResourcesFor and of the ports split
	closed bool
	stop   func() bool
	wg     sync.WaitGroup
}

// Start starts a master and cfg.Agents agents. The cluster runs until
// Close or until ctx ends.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Agents <= 0 {
		cfg.Agents = 1
	}
	if cfg.AgentResources == "" {
		cfg.AgentResources = DefaultAgentResources
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := ParseResources(cfg.AgentResources); err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	if _, err := agent.NewContainerizer(cfg.Containerizer, false, nil); err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("start cluster: listen on %s: %w", cfg.Listen, err)
	}
	m, err := master.New(master.Config{
		Address:            ln.Addr().String(),
		HeartbeatInterval:  cfg.HeartbeatInterval,
		AllocationInterval: cfg.AllocationInterval,
		Credentials:        cfg.Credentials,
	}, log.With("component", "master"))
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	c := &Cluster{
		Master:   m,
		cfg:      cfg,
		log:      log,
		listener: ln,
		url:      "http://" + ln.Addr().String(),
		server: &http.Server{
			Handler:           m,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := c.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("master http server stopped", "error", err)
		}
	}()
	for i := 0; i < cfg.Agents; i++ {
		if _, err := c.AddAgent(ctx); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("start cluster: %w", err)
		}
	}
	c.stop = context.AfterFunc(ctx, func() { _ = c.Close() })
	log.Info("cluster started", "url", c.url, "agents", cfg.Agents)
	return c, nil
}

// AddAgent starts one more agent with the configured resources and
// registers it with the master.
func (c *Cluster) AddAgent(ctx context.Context) (*agent.Agent, error) {
	c.mu.Lock()
	n := c.added
	c.added++
	c.mu.Unlock()
	// Without a per-agent choice, the agents started with the cluster share
	// the ports range; agents added later get the whole range.
	resources := splitPorts(c.cfg.AgentResources, c.cfg.Agents, n)
	if c.cfg.AgentResourcesFor != nil {
		resources = c.cfg.AgentResourcesFor(n)
	}
	res, err := ParseResources(resources)
	if err != nil {
		return nil, fmt.Errorf("add agent: %w", err)
	}
	acfg := c.cfg.Agent
	if acfg.Containerizer == nil {
		if acfg.Containerizer, err = agent.NewContainerizer(c.cfg.Containerizer, c.cfg.Isolation, c.log.With("component", "agent")); err != nil {
			return nil, fmt.Errorf("add agent: %w", err)
		}
	}
	acfg.ID = c.Master.NewAgentID()
	acfg.Resources = res
	if c.cfg.WorkDir != "" {
		acfg.WorkDir = filepath.Join(c.cfg.WorkDir, acfg.ID.Value)
	}
	a, err := agent.New(acfg, c.Master, c.log.With("component", "agent"))
	if err != nil {
		return nil, fmt.Errorf("add agent: %w", err)
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Close()
		return nil, fmt.Errorf("add agent: %w", err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = a.Close()
		return nil, errors.New("add agent: cluster closed")
	}
	c.agents = append(c.agents, a)
	c.mu.Unlock()
	c.Master.AddAgent(a)
	return a, nil
}

// Agents returns the running agents in start order.
func (c *Cluster) Agents() []*agent.Agent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*agent.Agent(nil), c.agents...)
}

// URL is the master's base URL, http://host:port.
func (c *Cluster) URL() string { return c.url }

// SchedulerEndpoint is the full URL of the v1 scheduler API.
func (c *Cluster) SchedulerEndpoint() string { return c.url + master.SchedulerPath }

// Close stops the master (ending scheduler streams) and every agent
// (killing their containers). It is safe to call more than once.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	agents := c.agents
	c.mu.Unlock()
	if c.stop != nil {
		c.stop()
	}
	var errs []error
	// The master first: it stops calling agents and ends the streams so
	// the HTTP server can shut down without waiting on them.
	errs = append(errs, c.Master.Close())
	if err := c.server.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close master server: %w", err))
	}
	c.wg.Wait()
	for _, a := range agents {
		errs = append(errs, a.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close cluster: %w", err)
	}
	return nil
}
