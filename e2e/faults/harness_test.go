package faults

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/user"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fob-project/fob/api"
	"github.com/fob-project/fob/internal/fobtest"
	"github.com/fob-project/fob/mesoslocal"
	"github.com/fob-project/fob/mesoslocal/agent"
	_ "github.com/fob-project/fob/sandbox/drivers"
	"github.com/fob-project/fob/scheduler"
	"github.com/fob-project/fob/server"
	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// fobBinary is the real fob, built once by TestMain: the agents run its
// executor for every function instance.
var fobBinary string

func TestMain(m *testing.M) { fobtest.Main(m, "../../cmd/fob", &fobBinary) }

// Timing of the stand-in, scaled down so faults show within a second or
// two: a dead stream is noticed after five heartbeats.
const (
	heartbeat       = 300 * time.Millisecond
	allocation      = 50 * time.Millisecond
	settleTimeout   = 60 * time.Second
	agentPortsWidth = 25
)

// portBlock hands every environment of this process its own block of
// ports for function instances, below the ephemeral range and away from
// the e2e package's (20000-28999), so parallel tests never offer the
// same port twice.
var portBlock atomic.Int64

func init() { portBlock.Store(int64(rand.IntN(100))) }

func nextPortBase() int { return 10000 + int(portBlock.Add(1)%100)*100 }

// options shape one test environment.
type options struct {
	agents int // default 2, at most 4
	// failover is the scheduler's failover_timeout; zero keeps fob's
	// default (a week).
	failover time.Duration
}

// env is one fault-test world: a mesoslocal cluster and a fob framework
// process over a data directory that survives restarts of the process.
type env struct {
	t       *testing.T
	cluster *mesoslocal.Cluster
	dataDir string
	apiAddr string
	cfg     server.Config
	log     *slog.Logger
	logs    *syncBuffer
	client  *http.Client

	mu  sync.Mutex
	srv *server.Server
	// st is the state store of the running framework process, or the one
	// a test runs schedulers over itself.
	st   *state.Store
	lost map[string]bool // agents the test closed for good
}

func newEnv(t *testing.T, opts options) *env {
	t.Helper()
	if opts.agents == 0 {
		opts.agents = 2
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := nextPortBase()
	cluster, err := mesoslocal.Start(t.Context(), mesoslocal.Config{
		Agents:             opts.agents,
		WorkDir:            t.TempDir(),
		HeartbeatInterval:  heartbeat,
		AllocationInterval: allocation,
		AgentResourcesFor: func(n int) string {
			lo := base + n*agentPortsWidth
			return fmt.Sprintf("cpus:4;mem:8192;disk:10240;ports:[%d-%d]", lo, lo+agentPortsWidth-1)
		},
		Agent: agent.Config{
			UpdateRetryInitial:  200 * time.Millisecond,
			UpdateRetryMax:      2 * time.Second,
			ShutdownGracePeriod: 2 * time.Second,
			RegistrationTimeout: 20 * time.Second,
		},
		Logger: log.With("component", "mesoslocal"),
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		t:       t,
		cluster: cluster,
		dataDir: t.TempDir(),
		apiAddr: fobtest.FreeAddr(t),
		log:     log,
		logs:    logs,
		client:  &http.Client{Timeout: 45 * time.Second},
		lost:    map[string]bool{},
	}
	e.cfg = server.Config{
		DataDir: e.dataDir,
		API:     api.Config{CallWait: 30 * time.Second},
		Scheduler: scheduler.Config{
			MasterURL:       cluster.URL(),
			FrameworkName:   "fob-faults",
			User:            u.Username,
			Hostname:        "127.0.0.1",
			FailoverTimeout: opts.failover,
			Checkpoint:      true,
			ExecutorCommand: shellQuote(fobBinary) + " executor",
			ExecutorEnv:     map[string]string{"FOB_EXECUTOR_BIND": "127.0.0.1"},
		},
	}
	t.Cleanup(func() {
		e.stopServer()
		_ = cluster.Close()
		// FOB_FAULTS_LOG=1 shows the log of passing tests too.
		if t.Failed() || os.Getenv("FOB_FAULTS_LOG") != "" {
			t.Logf("log tail:\n%s", logs.tail(60000))
		}
	})
	return e
}

// startServer starts the framework process on the environment's API
// address and data directory.
func (e *env) startServer() {
	e.t.Helper()
	ln := listenRetry(e.t, e.apiAddr)
	srv, err := server.Start(e.t.Context(), e.cfg, ln, e.log.With("component", "fob"))
	if err != nil {
		ln.Close()
		e.t.Fatalf("start fob: %v", err)
	}
	e.mu.Lock()
	e.srv, e.st = srv, srv.Store
	e.mu.Unlock()
}

// stopServer stops the framework process, as a clean shutdown does; its
// tasks keep running on the agents.
func (e *env) stopServer() {
	e.mu.Lock()
	srv := e.srv
	e.srv, e.st = nil, nil
	e.mu.Unlock()
	if srv != nil {
		if err := srv.Close(); err != nil {
			e.t.Errorf("stop fob: %v", err)
		}
	}
}

// store returns the state store fob runs on.
func (e *env) store() *state.Store {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st == nil {
		e.t.Fatal("fob is not running")
	}
	return e.st
}

func (e *env) url(path string) string { return "http://" + e.apiAddr + path }

// frameworkID waits until fob has registered and returns its id.
func (e *env) frameworkID() mesos.FrameworkID {
	e.t.Helper()
	var id string
	e.eventually(10*time.Second, "fob registers with the master", func() error {
		var err error
		if id, err = e.store().FrameworkID(); err != nil || id == "" {
			return fmt.Errorf("no framework id yet (%v)", err)
		}
		return nil
	})
	return mesos.FrameworkID{Value: id}
}

// agent returns the cluster's agent with id.
func (e *env) agent(id string) *agent.Agent {
	e.t.Helper()
	for _, a := range e.cluster.Agents() {
		if agentID(a) == id {
			return a
		}
	}
	e.t.Fatalf("no agent %s", id)
	return nil
}

// loseAgent takes an agent away for good: the master forgets it (its tasks
// become GONE_BY_OPERATOR) and the agent stops with its executors.
func (e *env) loseAgent(id string) {
	e.t.Helper()
	if err := e.cluster.Master.RemoveAgent(mesos.AgentID{Value: id}, false); err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.lost[id] = true
	e.mu.Unlock()
	if err := e.agent(id).Close(); err != nil {
		e.t.Errorf("close agent %s: %v", id, err)
	}
}

// eventually polls check until it returns nil, failing the test with the
// last error after d. Faults are asserted on end states, never on how
// fast they are reached.
func (e *env) eventually(d time.Duration, what string, check func() error) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not within %s: %v", what, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listenRetry listens on addr, waiting briefly for a previous listener on
// it to go away.
func listenRetry(t *testing.T, addr string) net.Listener {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// syncBuffer collects logs from many goroutines; tests print its tail
// when they fail.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// agentID is an agent's id.
func agentID(a *agent.Agent) string {
	info := a.Info()
	return info.GetID().GetValue()
}
