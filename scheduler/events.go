package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// Messages of ERROR events that need more than a re-subscription.
const (
	errMsgFailedOver = "Framework failed over"
	errMsgRemoved    = "Framework has been removed"
)

// handleEvent handles one event of the subscription. A returned error
// ends the subscription; Run then re-subscribes (or stops, see fatal).
func (l *loop) handleEvent(ctx context.Context, e *scheduler.Event) error {
	return l.handleEvents(ctx, []*scheduler.Event{e})
}

// handleEvents handles events of the subscription in order, as one batch:
// runs of status updates are recorded together (one disk sync) and the
// functions they touch are planned once, at the end. An error stops the
// batch and ends the subscription, as in handleEvent.
func (l *loop) handleEvents(ctx context.Context, evs []*scheduler.Event) error {
	var updates []*mesos.TaskStatus
	flush := func() {
		if len(updates) > 0 {
			l.onUpdates(ctx, updates)
			updates = nil
		}
	}
	for _, e := range evs {
		if e.GetType() == scheduler.Event_UPDATE && l.subscribed {
			l.lastEvent = l.now()
			st := e.GetUpdate().GetStatus()
			updates = append(updates, &st)
			continue
		}
		flush()
		if err := l.handleOne(ctx, e); err != nil {
			return err
		}
	}
	flush()
	l.convergeDirty(ctx)
	return nil
}

// handleOne handles one event other than a status update of a live
// subscription.
func (l *loop) handleOne(ctx context.Context, e *scheduler.Event) error {
	l.lastEvent = l.now()
	switch e.GetType() {
	case scheduler.Event_SUBSCRIBED:
		return l.onSubscribed(ctx, e.GetSubscribed())
	case scheduler.Event_ERROR:
		return l.onError(e.GetError().GetMessage())
	case scheduler.Event_HEARTBEAT:
		return nil
	}
	if !l.subscribed {
		// Nothing but SUBSCRIBED can come first on a healthy stream,
		// and after a failed call the stream is being torn down.
		return nil
	}
	switch e.GetType() {
	case scheduler.Event_OFFERS:
		l.onOffers(ctx, e.GetOffers().GetOffers())
	case scheduler.Event_RESCIND:
		// fob answers offers as they come and holds none, so there is
		// nothing to drop.
		l.log.Debug("offer rescinded", "offer_id", e.GetRescind().OfferID.Value)
	case scheduler.Event_UPDATE:
		st := e.GetUpdate().GetStatus()
		l.onUpdates(ctx, []*mesos.TaskStatus{&st})
	case scheduler.Event_FAILURE:
		f := e.GetFailure()
		if f.ExecutorID != nil {
			l.log.Info("executor ended", "executor_id", f.ExecutorID.Value,
				"agent_id", f.GetAgentID().GetValue(), "wait_status", f.GetStatus())
		} else {
			// Task updates follow (unordered, unreliable); the
			// periodic reconciliation catches any that get lost.
			l.log.Warn("agent lost", "agent_id", f.GetAgentID().GetValue())
		}
	case scheduler.Event_MESSAGE:
		m := e.GetMessage()
		l.log.Debug("executor message", "agent_id", m.AgentID.Value, "executor_id", m.ExecutorID.Value, "bytes", len(m.Data))
	default:
		l.log.Debug("ignoring event", "type", e.GetType().String())
	}
	return nil
}

// onSubscribed records the framework id durably before anything else,
// then reconciles and converges.
func (l *loop) onSubscribed(ctx context.Context, sub *scheduler.Event_Subscribed) error {
	id := sub.GetFrameworkID().GetValue()
	if id == "" {
		return errors.New("SUBSCRIBED without a framework id")
	}
	stored, err := l.store.FrameworkID()
	if err != nil {
		return fmt.Errorf("read framework id: %w", err)
	}
	if stored != id {
		if stored != "" {
			// Mesos forgot the old framework (failover timeout passed
			// or it was torn down): its tasks are gone, and
			// reconciliation will show them as such.
			l.log.Error("MESOS GAVE FOB A NEW FRAMEWORK ID: tasks of the old framework are gone",
				"old_framework_id", stored, "framework_id", id)
		}
		if err := l.store.SetFrameworkID(id); err != nil {
			return fmt.Errorf("persist framework id %s: %w", id, err)
		}
	}
	l.subscribed = true
	l.frameworkID = id
	l.heartbeat = defaultHeartbeat
	if s := sub.GetHeartbeatIntervalSeconds(); s > 0 {
		l.heartbeat = time.Duration(s * float64(time.Second))
	}
	// A new subscription starts unsuppressed; kills may have been lost
	// with the old one.
	l.suppressed, l.wanting = false, false
	clear(l.killed)
	l.log.Info("subscribed to mesos", "framework_id", id, "heartbeat", l.heartbeat)
	l.startReconciliation(ctx)
	l.converge(ctx)
	return nil
}

// onError handles an ERROR event. The master closes the stream after it.
func (l *loop) onError(msg string) error {
	switch {
	case strings.Contains(msg, errMsgFailedOver):
		l.log.Error("another scheduler took over this framework; stopping", "message", msg)
		l.fatal = fmt.Errorf("%w: %s", ErrFailedOver, msg)
		return l.fatal
	case strings.Contains(msg, errMsgRemoved):
		// The id is dead for good. Starting afresh is the only way to
		// run functions again; the old framework's tasks were killed
		// by Mesos, and reconciliation marks them so.
		l.log.Error("MESOS REMOVED THIS FRAMEWORK: registering as a new framework", "message", msg)
		if err := l.store.SetFrameworkID(""); err != nil {
			l.log.Error("clear framework id", "err", err)
		}
		return fmt.Errorf("mesos error: %s", msg)
	default:
		l.log.Error("mesos refused the subscription", "message", msg)
		return fmt.Errorf("mesos error: %s", msg)
	}
}
