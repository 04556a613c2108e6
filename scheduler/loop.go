package scheduler

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/fob-project/fob/state"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

const (
	// defaultHeartbeat is assumed until SUBSCRIBED names the interval.
	defaultHeartbeat = 15 * time.Second
	// missedHeartbeats without any event make fob drop the stream: the
	// master or the network is gone without closing the connection.
	missedHeartbeats = 5
	// killRetry is how long fob waits for a KILL to show before sending
	// it again; KILL is not reliable.
	killRetry = 30 * time.Second
	// reconcileEvery is the period of the full reconciliation run that
	// guards against lost messages and bugs, and settles tasks launched
	// but never heard of.
	reconcileEvery = 15 * time.Minute
)

// loop is the scheduler's event-loop state. Only the goroutine running
// Scheduler.Run touches it. Nothing here is a copy of state's truth: it is
// the subscription, outstanding intentions and timers.
type loop struct {
	cfg    Config
	store  *state.Store
	caller calls.Caller
	log    *slog.Logger
	now    func() time.Time
	rng    *rand.Rand
	// image returns a language's runtime image and whether fob knows the
	// language.
	image func(language string) (string, bool)

	// endSession cancels the running subscription; nil when none runs.
	endSession func()
	// lastEvent is when the subscription last showed signs of life.
	lastEvent time.Time
	// subscribed is true from SUBSCRIBED until the subscription ends or
	// a call fails; calls are only sent while it holds.
	subscribed  bool
	frameworkID string
	heartbeat   time.Duration

	// Offer pacing: SUPPRESS when nothing is wanted, REVIVE (with
	// backoff) while something is.
	suppressed bool
	wanting    bool
	reviveStep int
	nextRevive time.Time

	// holds delays the relaunch of a failing function (per function).
	holds map[string]time.Time

	// fnWatch follows the functions table: a changed function is planned
	// again, alone (convergeDirty).
	fnWatch *state.Watch
	// dirty holds the ids of functions to plan again ("" for the warm
	// pool's stems).
	dirty map[string]struct{}
	// wants is what the functions' last plans want launched; offers are
	// packed from it.
	wants *wantSet
	// wakes is when a function must be planned again (a relaunch hold or
	// another deadline of its plan ends), by function id, or wakeAll.
	wakes map[string]time.Time
	// planWake is the earliest of wakes.
	planWake time.Time
	// nextFull is when the next full converge is due.
	nextFull time.Time
	// killed remembers when each KILL was sent, to resend lost ones.
	killed map[string]time.Time

	rec           *reconciliation
	nextReconcile time.Time

	// fatal ends Run: another instance took over the framework.
	fatal error
}

// connecting is called when a subscription starts; end cancels it.
func (l *loop) connecting(end func()) {
	l.endSession = end
	l.lastEvent = l.now()
	l.heartbeat = defaultHeartbeat
}

// disconnected forgets everything tied to the ended subscription. Offers
// die with it (fob never holds any), and the running reconciliation is
// restarted after the next SUBSCRIBED.
func (l *loop) disconnected() {
	l.endSession = nil
	l.subscribed = false
	l.rec = nil
}

// dropSubscription ends the subscription from inside the loop, e.g. after
// a failed call: mesos-go treats the stream as broken then anyway.
func (l *loop) dropSubscription() {
	l.subscribed = false
	if l.endSession != nil {
		l.endSession()
		// The subscription goroutine now winds down; Run notices and
		// calls disconnected.
		l.endSession = nil
	}
}

// nextWake is the earliest time the loop has something to do on its own.
func (l *loop) nextWake() time.Time {
	var wake time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}
	if len(l.dirty) > 0 {
		return l.now()
	}
	consider(l.planWake)
	consider(l.nextFull)
	if l.endSession != nil {
		consider(l.lastEvent.Add(missedHeartbeats * l.heartbeat))
	}
	if l.subscribed {
		if l.wanting {
			consider(l.nextRevive)
		}
		if l.rec != nil {
			consider(l.rec.next)
		} else {
			consider(l.nextReconcile)
		}
		for _, at := range l.killed {
			consider(at.Add(killRetry))
		}
	}
	return wake
}

// tick does whatever is due.
func (l *loop) tick(ctx context.Context) {
	now := l.now()
	if l.endSession != nil && now.Sub(l.lastEvent) >= missedHeartbeats*l.heartbeat {
		l.log.Warn("no event from mesos for too long; dropping the subscription",
			"silent_for", now.Sub(l.lastEvent).Round(time.Second), "heartbeat", l.heartbeat)
		l.dropSubscription()
		return
	}
	if l.subscribed {
		switch {
		case l.rec != nil && !now.Before(l.rec.next):
			l.reconcileStep(ctx)
		case l.rec == nil && !l.nextReconcile.IsZero() && !now.Before(l.nextReconcile):
			l.startReconciliation(ctx)
		}
	}
	if l.fullDue(now) {
		l.converge(ctx)
		return
	}
	l.convergeDirty(ctx)
}

// fullDue reports whether the periodic full converge is due, or a KILL
// must be sent again: the plan lists tasks still to be killed, and a full
// one is the plan that surely lists them.
func (l *loop) fullDue(now time.Time) bool {
	if !l.nextFull.IsZero() && !now.Before(l.nextFull) {
		return true
	}
	if l.subscribed {
		for _, at := range l.killed {
			if !now.Before(at.Add(killRetry)) {
				return true
			}
		}
	}
	return false
}
