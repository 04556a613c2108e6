package agent

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	execcalls "github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"
)

// The test binary doubles as a mesos-go executor: TestMain runs
// runTestExecutor when testExecutorEnv is set. Its behaviour is chosen by
// TEST_EXEC_MODE:
//
//	finish          RUNNING then FINISHED for every task; exits once all are acknowledged
//	run             RUNNING; KILLED on KILL; on SHUTDOWN KILLED for all and exit
//	crash           RUNNING, then exit status 3
//	ignore-shutdown RUNNING, starts a grandchild `sleep`, ignores SHUTDOWN
//
// TEST_EXEC_CODEC is "json" or "protobuf".
const testExecutorEnv = "FOB_AGENT_TEST_EXECUTOR"

func runTestExecutor() int {
	cfg, err := config.FromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "config:", err)
		return 2
	}
	// Record the environment so tests can check it.
	env, _ := json.Marshal(map[string]any{"config_ok": true, "cwd": mustGetwd(), "env": os.Environ()})
	_ = os.WriteFile(filepath.Join(cfg.Sandbox, "env.json"), env, 0o644)

	media := codecs.MediaTypeProtobuf
	if os.Getenv("TEST_EXEC_CODEC") == "json" {
		media = codecs.MediaTypeJSON
	}
	cli := httpcli.New(
		httpcli.Endpoint("http://"+cfg.AgentEndpoint+"/api/v1/executor"),
		httpcli.Codec(codecs.ByMediaType[media]),
		httpcli.Do(httpcli.With(httpcli.Timeout(10*time.Second))),
	)
	te := &testExecutor{
		mode:    os.Getenv("TEST_EXEC_MODE"),
		sender:  execcalls.SenderWith(httpexec.NewSender(cli.Send), execcalls.Framework(cfg.FrameworkID), execcalls.Executor(cfg.ExecutorID)),
		cfg:     cfg,
		unacked: map[string]mesos.TaskStatus{},
		live:    map[string]bool{},
	}
	return te.run()
}

func mustGetwd() string {
	wd, _ := os.Getwd()
	return wd
}

type testExecutor struct {
	mode    string
	sender  execcalls.Sender
	cfg     config.Config
	mu      sync.Mutex
	unacked map[string]mesos.TaskStatus
	live    map[string]bool
	started bool
}

func (te *testExecutor) run() int {
	ctx := context.Background()
	resp, err := te.sender.Send(ctx, execcalls.NonStreaming(execcalls.Subscribe(nil, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "subscribe:", err)
		return 4
	}
	defer resp.Close()
	for {
		var ev executor.Event
		if err := resp.Decode(&ev); err != nil {
			fmt.Fprintln(os.Stderr, "stream ended:", err)
			return 0
		}
		fmt.Println("event", ev.Type.String())
		switch ev.Type {
		case executor.Event_LAUNCH:
			te.launch(ctx, ev.Launch.Task.TaskID)
		case executor.Event_KILL:
			te.update(ctx, ev.Kill.TaskID, mesos.TASK_KILLED)
		case executor.Event_ACKNOWLEDGED:
			te.mu.Lock()
			delete(te.unacked, string(ev.Acknowledged.UUID))
			done := te.mode == "finish" && len(te.unacked) == 0 && len(te.live) == 0 && te.started
			te.mu.Unlock()
			if done {
				return 0
			}
		case executor.Event_MESSAGE:
			_ = execcalls.SendNoData(ctx, te.sender, execcalls.NonStreaming(execcalls.Message(append([]byte("echo:"), ev.Message.Data...))))
		case executor.Event_SHUTDOWN:
			if te.mode == "ignore-shutdown" {
				continue
			}
			te.mu.Lock()
			var ids []string
			for id := range te.live {
				ids = append(ids, id)
			}
			te.mu.Unlock()
			for _, id := range ids {
				te.update(ctx, mesos.TaskID{Value: id}, mesos.TASK_KILLED)
			}
			return 0
		}
	}
}

func (te *testExecutor) launch(ctx context.Context, id mesos.TaskID) {
	te.mu.Lock()
	te.started = true
	te.mu.Unlock()
	te.update(ctx, id, mesos.TASK_RUNNING)
	switch te.mode {
	case "finish":
		te.update(ctx, id, mesos.TASK_FINISHED)
	case "crash":
		os.Exit(3)
	case "ignore-shutdown":
		child := exec.Command("sleep", "300")
		if err := child.Start(); err == nil {
			_ = os.WriteFile(filepath.Join(te.cfg.Sandbox, "child.pid"), []byte(fmt.Sprint(child.Process.Pid)), 0o644)
		}
	}
}

func (te *testExecutor) update(ctx context.Context, id mesos.TaskID, state mesos.TaskState) {
	uuid := make([]byte, 16)
	_, _ = rand.Read(uuid)
	src := mesos.SOURCE_EXECUTOR
	execID := mesos.ExecutorID{Value: te.cfg.ExecutorID}
	st := mesos.TaskStatus{TaskID: id, State: &state, Source: &src, ExecutorID: &execID, UUID: uuid}
	te.mu.Lock()
	te.unacked[string(uuid)] = st
	if isTerminal(state) {
		delete(te.live, id.Value)
	} else {
		te.live[id.Value] = true
	}
	te.mu.Unlock()
	if err := execcalls.SendNoData(ctx, te.sender, execcalls.NonStreaming(execcalls.Update(st))); err != nil {
		fmt.Fprintln(os.Stderr, "update:", err)
	}
}
