package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/fob-project/fob/sandbox"
	"github.com/fob-project/fob/state"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// ErrFailedOver is returned by Run when another fob instance subscribed
// with the same framework id: this one is no longer in charge and must
// not act any more.
var ErrFailedOver = errors.New("framework failed over to another scheduler instance")

const (
	// callTimeout bounds connecting and waiting for response headers.
	// It does not cover the subscription stream; the heartbeat watchdog
	// does.
	callTimeout = 30 * time.Second
	// maxRedirects is how often mesos-go retries a SUBSCRIBE that failed
	// or was redirected to a new leader before it reports the error.
	// Low, because Run has its own backoff around every subscription.
	maxRedirects = 2
)

// Scheduler is fob's Mesos framework. Create it with New and start it with
// Run.
type Scheduler struct {
	cfg    Config
	store  *state.Store
	log    *slog.Logger
	caller calls.Caller
}

// New validates cfg and prepares a scheduler that records actual state in
// store. It does not contact Mesos; Run does.
func New(cfg Config, store *state.Store, log *slog.Logger) (*Scheduler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("scheduler: a state store is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{cfg: cfg, store: store, log: log, caller: newCaller(cfg)}, nil
}

// newCaller builds mesos-go's HTTP scheduler client for cfg.
func newCaller(cfg Config) calls.Caller {
	codec := codecs.ByMediaType[codecs.MediaTypeProtobuf]
	if cfg.Codec == CodecJSON {
		codec = codecs.ByMediaType[codecs.MediaTypeJSON]
	}
	opts := []httpcli.ConfigOpt{httpcli.Timeout(callTimeout)}
	if cfg.Principal != "" && cfg.Secret != "" {
		opts = append(opts, httpcli.BasicAuth(cfg.Principal, cfg.Secret))
	}
	cli := httpcli.New(
		httpcli.Endpoint(cfg.endpoint()),
		httpcli.Codec(codec),
		httpcli.Do(newLeader(cfg.MasterURL).wrap(httpcli.With(opts...))),
	)
	// AllowReconnection: mesos-go's client marks itself connected again
	// when a call that was in flight while the stream broke answers late,
	// and would then refuse every SUBSCRIBE as "already subscribed". fob
	// subscribes only after the previous session has ended (Run waits for
	// it), so a SUBSCRIBE always means "start over".
	return httpsched.NewCaller(cli, httpsched.MaxRedirects(maxRedirects), httpsched.AllowReconnection(true))
}

// Run subscribes to the Mesos master and keeps functions' instances
// running until ctx is done (then it returns nil). It re-subscribes with
// backoff whenever the subscription ends, and returns ErrFailedOver when
// another instance took over the framework.
//
// Run is the event loop: every piece of scheduler state is touched by this
// goroutine only. The subscription goroutine queues events for it (up to
// eventQueue); the loop takes whatever is queued as one batch, so a burst
// of status updates costs one disk sync, not one each.
func (s *Scheduler) Run(ctx context.Context) error {
	l := newLoop(s.cfg, s.store, s.caller, s.log)
	defer l.fnWatch.Close()
	deliveries := make(chan delivery, eventQueue)

	var (
		sess        *session
		attempts    int // subscriptions since the last SUBSCRIBED
		subscribeAt = time.Now()
	)
	// endSession cancels the subscription and, unless its end was
	// already seen, waits for the subscription goroutine to finish.
	endSession := func(ended bool) {
		if sess == nil {
			return
		}
		sess.cancel()
		if !ended {
			<-sess.done
		}
		sess = nil
		l.disconnected()
	}
	sessCtx := func() context.Context {
		if sess != nil {
			return sess.ctx
		}
		return ctx
	}

	l.converge(ctx)

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wake := l.nextWake()
		if sess == nil && (wake.IsZero() || subscribeAt.Before(wake)) {
			wake = subscribeAt
		}
		resetTimer(timer, time.Until(wake))

		var sessDone <-chan error
		if sess != nil {
			sessDone = sess.done
		}
		select {
		case <-ctx.Done():
			endSession(false)
			return nil

		case d := <-deliveries:
			evs := takeEvents(d, deliveries, sess)
			if len(evs) == 0 {
				continue // from an ended subscription
			}
			if err := l.handleEvents(sess.ctx, evs); err != nil {
				if l.fatal != nil {
					endSession(false)
					return l.fatal
				}
				sess.fail(err)
			}
			if l.subscribed {
				attempts = 0
			}

		case err := <-sessDone:
			if sess.err != nil {
				err = sess.err
			}
			endSession(true)
			if l.fatal != nil {
				return l.fatal
			}
			if ctx.Err() != nil {
				return nil
			}
			subscribeAt = time.Now().Add(resubscribeBackoff.delay(attempts, l.rng))
			s.log.Warn("mesos subscription ended; re-subscribing",
				"err", err, "retry_in", time.Until(subscribeAt).Round(time.Millisecond))

		case <-l.fnWatch.Ready():
			l.convergeDirty(sessCtx())

		case <-timer.C:
			if sess == nil && !time.Now().Before(subscribeAt) {
				attempts++
				var err error
				if sess, err = s.startSession(ctx, deliveries); err != nil {
					s.log.Error("cannot subscribe", "err", err)
					subscribeAt = time.Now().Add(resubscribeBackoff.delay(attempts, l.rng))
				} else {
					l.connecting(sess.cancel)
				}
			}
			l.tick(sessCtx())
		}
	}
}

// resetTimer makes t fire after d (at once if d ≤ 0).
func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	select {
	case <-t.C:
	default:
	}
	t.Reset(max(d, 0))
}

// newLoop returns the event loop's state with production dependencies. It
// starts following the functions table at once: every function changed
// from now on is planned again at the loop's next converge.
func newLoop(cfg Config, store *state.Store, caller calls.Caller, log *slog.Logger) *loop {
	w, _ := store.Watch(state.WatchFunctions)
	return &loop{
		cfg:     cfg,
		store:   store,
		caller:  caller,
		log:     log,
		now:     time.Now,
		rng:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		image:   driverImage,
		holds:   map[string]time.Time{},
		killed:  map[string]time.Time{},
		fnWatch: w,
		dirty:   map[string]struct{}{},
		wants:   newWantSet(),
		wakes:   map[string]time.Time{},
	}
}

// driverImage looks up the runtime image of a language.
func driverImage(language string) (string, bool) {
	d, ok := sandbox.Lookup(language)
	return d.Image, ok
}

var errNotSubscribed = fmt.Errorf("not subscribed to Mesos")
