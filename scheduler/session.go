package scheduler

import (
	"context"
	"fmt"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/controller"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/events"
)

// eventQueue bounds the events the subscription goroutine reads ahead of
// the loop. Beyond it the goroutine waits, and so does the stream.
const eventQueue = 1024

// maxEventBatch bounds the events the loop handles as one batch.
const maxEventBatch = 512

// session is one subscription to the master: one SUBSCRIBE and the event
// stream that follows, run by mesos-go's controller in its own goroutine.
type session struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan error // receives controller.Run's result once
	// err is why the loop ended the session (an event it could not
	// handle); events still queued from it are dropped. Loop only.
	err error
}

// fail ends the session because handling its events failed.
func (sess *session) fail(err error) {
	sess.err = err
	sess.cancel()
}

// delivery carries one event from the subscription goroutine to the loop.
type delivery struct {
	sess *session
	ev   *scheduler.Event
}

// takeEvents returns the events of first and of those queued behind it
// that belong to sess, the live session, in order: up to maxEventBatch.
// Events of ended sessions are dropped.
func takeEvents(first delivery, queue <-chan delivery, sess *session) []*scheduler.Event {
	var evs []*scheduler.Event
	add := func(d delivery) {
		if sess != nil && d.sess == sess && sess.err == nil {
			evs = append(evs, d.ev)
		}
	}
	add(first)
	for n := 1; n < maxEventBatch; n++ {
		select {
		case d := <-queue:
			add(d)
		default:
			return evs
		}
	}
	return evs
}

// startSession subscribes in a new goroutine. Every session builds its
// SUBSCRIBE from the framework id stored right now, so a cleared id
// registers a new framework and a stored one re-subscribes.
func (s *Scheduler) startSession(ctx context.Context, deliveries chan<- delivery) (*session, error) {
	id, err := s.store.FrameworkID()
	if err != nil {
		return nil, fmt.Errorf("read framework id: %w", err)
	}
	fi := frameworkInfo(s.cfg, id)
	sctx, cancel := context.WithCancel(ctx)
	sess := &session{ctx: sctx, cancel: cancel, done: make(chan error, 1)}

	// One token, then a closed channel: controller.Run subscribes exactly
	// once and returns when that subscription ends. Run owns the backoff
	// and decides whether and how to subscribe again.
	tokens := make(chan struct{}, 1)
	tokens <- struct{}{}
	close(tokens)

	handler := events.HandlerFunc(func(hctx context.Context, e *scheduler.Event) error {
		return sess.deliver(hctx, deliveries, e)
	})
	if id != "" {
		s.log.Info("subscribing to mesos", "framework_id", id, "master", s.cfg.MasterURL)
	} else {
		s.log.Info("registering with mesos as a new framework", "master", s.cfg.MasterURL)
	}
	go func() {
		sess.done <- controller.Run(sctx, fi, s.caller,
			controller.WithEventHandler(handler),
			controller.WithRegistrationTokens(tokens),
			controller.WithFrameworkID(func() string { return id }),
		)
	}()
	return sess, nil
}

// deliver queues e for the loop. It waits only while the queue is full;
// the loop ends the session itself when an event cannot be handled.
func (sess *session) deliver(ctx context.Context, deliveries chan<- delivery, e *scheduler.Event) error {
	select {
	case deliveries <- delivery{sess: sess, ev: e}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// frameworkInfo describes fob to Mesos. id is the stored framework id, or
// empty to register anew.
func frameworkInfo(cfg Config, id string) *mesos.FrameworkInfo {
	fi := &mesos.FrameworkInfo{
		User:            cfg.User,
		Name:            cfg.FrameworkName,
		FailoverTimeout: proto(cfg.FailoverTimeout.Seconds()),
		Checkpoint:      proto(cfg.Checkpoint),
		Role:            proto(cfg.Role),
		Capabilities: []mesos.FrameworkInfo_Capability{
			// fob treats UNREACHABLE tasks as replaceable and kills
			// the surplus when they come back, and handles DROPPED,
			// GONE, GONE_BY_OPERATOR and UNKNOWN (statemap.go).
			{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE},
			// Executors may report KILLING; fob neither counts such
			// a task as an instance nor kills it again.
			{Type: mesos.FrameworkInfo_Capability_TASK_KILLING_STATE},
		},
	}
	if id != "" {
		fi.ID = &mesos.FrameworkID{Value: id}
	}
	if cfg.Hostname != "" {
		fi.Hostname = proto(cfg.Hostname)
	}
	if cfg.Principal != "" {
		fi.Principal = proto(cfg.Principal)
	}
	if cfg.WebUIURL != "" {
		fi.WebUiURL = proto(cfg.WebUIURL)
	}
	return fi
}
