package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
)

// ErrAgentLost means the executor lost its agent and could not, or was not
// allowed to, subscribe again. Its task cannot be reported any more.
var ErrAgentLost = errors.New("lost the connection to the agent")

// Resubscription backoff: starts here and doubles up to the agent's
// MESOS_SUBSCRIPTION_BACKOFF_MAX.
const (
	initialBackoff    = 250 * time.Millisecond
	defaultBackoffMax = 2 * time.Second
)

// subscribeLoop subscribes to the agent and handles its events until ctx
// ends. A broken stream is resubscribed only when the framework
// checkpoints, within MESOS_RECOVERY_TIMEOUT, as Mesos specifies.
func (e *Executor) subscribeLoop(ctx context.Context) error {
	disconnected := time.Now()
	backoff := initialBackoff
	maxBackoff := e.cfg.SubscriptionBackoffMax
	if maxBackoff <= 0 {
		maxBackoff = defaultBackoffMax
	}
	for {
		tasks, updates := e.unacknowledged()
		resp, err := e.subscriber.Send(ctx, calls.NonStreaming(calls.Subscribe(tasks, updates)))
		if err == nil {
			backoff = initialBackoff
			err = e.eventLoop(ctx, resp)
			disconnected = time.Now()
		}
		if resp != nil {
			resp.Close()
		}
		if ctx.Err() != nil {
			return nil
		}
		e.log.Warn("agent subscription ended", "error", err)
		if !e.cfg.Checkpoint {
			return fmt.Errorf("%w (framework checkpointing is off): %v", ErrAgentLost, err)
		}
		if time.Since(disconnected) > e.cfg.RecoveryTimeout {
			return fmt.Errorf("%w: no subscription within the recovery timeout of %s: %v", ErrAgentLost, e.cfg.RecoveryTimeout, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// eventLoop decodes events until the stream breaks or a handler asks for
// a new subscription.
func (e *Executor) eventLoop(ctx context.Context, dec encoding.Decoder) error {
	for {
		var ev executor.Event
		if err := dec.Decode(&ev); err != nil {
			return fmt.Errorf("read event: %w", err)
		}
		if err := e.handle(ctx, &ev); err != nil {
			return err
		}
	}
}

// handle reacts to one event. It never blocks on a task: launching and
// killing run on their own goroutines so that acknowledgements keep
// flowing while they wait.
func (e *Executor) handle(ctx context.Context, ev *executor.Event) error {
	switch ev.GetType() {
	case executor.Event_SUBSCRIBED:
		agent, framework := ev.GetSubscribed().GetAgentInfo(), ev.GetSubscribed().GetFrameworkInfo()
		e.log.Info("subscribed to agent",
			"agent_id", agent.GetID().GetValue(),
			"framework_id", framework.GetID().GetValue())
	case executor.Event_LAUNCH:
		e.launch(ctx, ev.GetLaunch().GetTask())
	case executor.Event_LAUNCH_GROUP:
		group := ev.GetLaunchGroup().GetTaskGroup()
		for _, t := range group.GetTasks() {
			e.refuse(ctx, t, "fob's executor does not run task groups")
		}
	case executor.Event_KILL:
		e.kill(ctx, ev.GetKill().TaskID.Value)
	case executor.Event_ACKNOWLEDGED:
		a := ev.GetAcknowledged()
		e.acknowledged(a.GetTaskID(), a.GetUUID())
	case executor.Event_MESSAGE:
		// fob's scheduler sends one kind: the function a stem is to load.
		e.message(ctx, ev.GetMessage().GetData())
	case executor.Event_SHUTDOWN:
		e.log.Info("agent asked the executor to shut down")
		go e.shutdown(ctx, "the executor was shut down")
	case executor.Event_ERROR:
		// Mesos asks the executor to drop this subscription and start over.
		return fmt.Errorf("agent sent ERROR: %s", ev.GetError().GetMessage())
	case executor.Event_HEARTBEAT:
		// Nothing to do: reading it proves the stream is alive.
	default:
		e.log.Warn("ignoring unknown event", "type", ev.GetType().String())
	}
	return nil
}
