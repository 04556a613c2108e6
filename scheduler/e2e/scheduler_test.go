package e2e

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fob-project/fob/mesoslocal"
	"github.com/fob-project/fob/sandbox"
	"github.com/fob-project/fob/scheduler"
	"github.com/fob-project/fob/state"
	memdb "github.com/hashicorp/go-memdb"
)

const testLang = "fobtest"

func init() {
	sandbox.Register(sandbox.Driver{Name: testLang, Extension: ".t", Image: "fob/test-runtime:1"})
}

func testFunction(id string, version uint64) *state.Function {
	return &state.Function{ID: id, Name: "name-" + id, Language: testLang, Digest: "d1g35t", Version: version}
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// waitTasks blocks on the store's watch channels until cond holds for the
// tasks, or fails the test after d.
func waitTasks(t *testing.T, store *state.Store, d time.Duration, what string, cond func([]*state.Task) bool) []*state.Task {
	t.Helper()
	timeout := time.After(d)
	for {
		ws := memdb.NewWatchSet()
		ts, err := store.Tasks(ws)
		if err != nil {
			t.Fatal(err)
		}
		if cond(ts) {
			return ts
		}
		if ws.Watch(timeout) {
			for _, tk := range ts {
				t.Logf("task %s: %s %s %s", tk.ID, tk.State, tk.Reason, tk.Message)
			}
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitFrameworkID waits until a scheduler stored its framework id. The
// id has no watch channel, so this polls.
func waitFrameworkID(t *testing.T, store *state.Store) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if id, _ := store.FrameworkID(); id != "" {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatal("the scheduler did not subscribe")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunAgainstMesoslocal runs the real scheduler against the embedded
// master and agent. fob's executor is replaced by a command that exits at
// once, so the instance can only fail; what matters is the path there:
// SUBSCRIBE, offers, ACCEPT with a LAUNCH the master validates, the agent
// starting the executor command, the update flowing back, being recorded
// and acknowledged, and the relaunch with backoff.
func TestRunAgainstMesoslocal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a mesoslocal cluster")
	}
	for _, codec := range []string{scheduler.CodecProtobuf, scheduler.CodecJSON} {
		t.Run(codec, func(t *testing.T) {
			log := testLogger(t)
			cluster, err := mesoslocal.Start(t.Context(), mesoslocal.Config{
				WorkDir:            t.TempDir(),
				AllocationInterval: 50 * time.Millisecond,
				HeartbeatInterval:  500 * time.Millisecond,
				Logger:             log.With("component", "mesoslocal"),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cluster.Close() })

			store, err := state.NewMemory()
			if err != nil {
				t.Fatal(err)
			}
			s, err := scheduler.New(scheduler.Config{
				MasterURL:       strings.TrimSuffix(cluster.SchedulerEndpoint(), "/api/v1/scheduler"),
				Codec:           codec,
				APIURL:          "http://127.0.0.1:1",
				ExecutorCommand: "echo no executor here; exit 3",
				Checkpoint:      true,
			}, store, log.With("component", "scheduler"))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			defer func() {
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("Run: %v", err)
					}
				case <-time.After(10 * time.Second):
					t.Error("Run did not return after cancel")
				}
			}()

			// Idle, the scheduler subscribes and suppresses offers; the
			// function registered now reaches it through the store watch
			// and makes it revive them.
			waitFrameworkID(t, store)
			if err := store.PutFunction(testFunction("f1", 1)); err != nil {
				t.Fatal(err)
			}

			// The executor exits: the agent fails the task.
			ts := waitTasks(t, store, 20*time.Second, "an executor-terminated task", func(ts []*state.Task) bool {
				for _, tk := range ts {
					if tk.State == state.TaskFailed && tk.Reason == "REASON_EXECUTOR_TERMINATED" {
						return true
					}
				}
				return false
			})
			for _, tk := range ts {
				if tk.FunctionID != "f1" || tk.AgentID == "" || tk.Host == "" || tk.Port == 0 || tk.Secret == "" {
					t.Errorf("task recorded without launch details: %+v", tk)
				}
			}
			if id, _ := store.FrameworkID(); id == "" {
				t.Error("framework id not stored")
			}
			// The status follows the task's own write; wait for it.
			deadline := time.Now().Add(10 * time.Second)
			for {
				st, err := store.Status(nil, "f1")
				if err == nil && st.Failures >= 1 && strings.Contains(st.LastError, "REASON_EXECUTOR_TERMINATED") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("status = %+v, %v", st, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			// The failure is relaunched after its backoff (1 s).
			waitTasks(t, store, 20*time.Second, "a relaunch", func(ts []*state.Task) bool { return len(ts) >= 2 })
		})
	}
}

func TestRunReturnsErrFailedOver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a mesoslocal cluster")
	}
	cluster, err := mesoslocal.Start(t.Context(), mesoslocal.Config{
		WorkDir:            t.TempDir(),
		AllocationInterval: 50 * time.Millisecond,
		Logger:             testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Close() })
	master := strings.TrimSuffix(cluster.SchedulerEndpoint(), "/api/v1/scheduler")

	store, err := state.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	cfg := scheduler.Config{MasterURL: master, APIURL: "http://127.0.0.1:1", ExecutorCommand: "exit 0"}
	first, err := scheduler.New(cfg, store, testLogger(t).With("instance", "first"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	firstDone := make(chan error, 1)
	go func() { firstDone <- first.Run(ctx) }()

	waitFrameworkID(t, store)
	// A second instance with the same store takes over.
	second, err := scheduler.New(cfg, store, testLogger(t).With("instance", "second"))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = second.Run(ctx) }()
	select {
	case err := <-firstDone:
		if !errors.Is(err, scheduler.ErrFailedOver) {
			t.Fatalf("first Run = %v, want ErrFailedOver", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("first instance kept running after the failover")
	}
}

// signalHandler closes ch the first time a record with message msg is
// logged, and passes everything on to next.
type signalHandler struct {
	slog.Handler
	msg  string
	once *sync.Once
	ch   chan struct{}
}

func (h signalHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.ch) })
	}
	return h.Handler.Handle(ctx, r)
}

func (h signalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return signalHandler{h.Handler.WithAttrs(as), h.msg, h.once, h.ch}
}

func (h signalHandler) WithGroup(g string) slog.Handler {
	return signalHandler{h.Handler.WithGroup(g), h.msg, h.once, h.ch}
}

// TestRestartReadoptsTasks stops the scheduler while its task is staging
// on the agent and starts a new one on the same store: it must re-subscribe
// as the same framework, learn from reconciliation that the task lives, and
// launch no second copy.
func TestRestartReadoptsTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a mesoslocal cluster")
	}
	cluster, err := mesoslocal.Start(t.Context(), mesoslocal.Config{
		WorkDir:            t.TempDir(),
		AllocationInterval: 50 * time.Millisecond,
		Logger:             testLogger(t).With("component", "mesoslocal"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Close() })
	store, err := state.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutFunction(testFunction("f1", 1)); err != nil {
		t.Fatal(err)
	}
	// An executor that never subscribes keeps its task staging.
	cfg := scheduler.Config{
		MasterURL:       strings.TrimSuffix(cluster.SchedulerEndpoint(), "/api/v1/scheduler"),
		APIURL:          "http://127.0.0.1:1",
		ExecutorCommand: "sleep 60",
		Checkpoint:      true,
	}
	run := func(log *slog.Logger) (stop func()) {
		s, err := scheduler.New(cfg, store, log)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}

	// The task is recorded before the ACCEPT; stop only once the ACCEPT
	// went out, or the master rightly knows nothing of it.
	launched := make(chan struct{})
	stop := run(slog.New(signalHandler{testLogger(t).Handler(), "launching task", &sync.Once{}, launched}).With("instance", "first"))
	select {
	case <-launched:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing launched")
	}
	first := waitTasks(t, store, 10*time.Second, "a launched task", func(ts []*state.Task) bool { return len(ts) == 1 })
	fwID, _ := store.FrameworkID()
	stop()

	answered := make(chan struct{})
	log := slog.New(signalHandler{testLogger(t).Handler(), "reconciliation answered", &sync.Once{}, answered})
	stop = run(log.With("instance", "second"))
	defer stop()
	select {
	case <-answered:
	case <-time.After(10 * time.Second):
		t.Fatal("reconciliation after the restart did not finish")
	}
	if id, _ := store.FrameworkID(); id != fwID {
		t.Errorf("framework id changed from %q to %q", fwID, id)
	}
	// Give a wrong relaunch the time to happen: a few allocation rounds.
	time.Sleep(300 * time.Millisecond)
	ts, err := store.Tasks(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].ID != first[0].ID || ts[0].State.Terminal() {
		t.Fatalf("tasks after restart = %+v, want just %s still alive", ts, first[0].ID)
	}
}
