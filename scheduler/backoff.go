package scheduler

import (
	"math/rand/v2"
	"time"
)

// backoff is a truncated exponential backoff: step n (from 0) waits
// min·2ⁿ, capped at max, shortened by up to jitter of itself so that many
// fob instances or functions do not retry in lockstep.
type backoff struct {
	min, max time.Duration
	jitter   float64 // 0 ≤ jitter < 1
}

var (
	// resubscribeBackoff paces SUBSCRIBE attempts; Mesos suggests a cap
	// around 15 s.
	resubscribeBackoff = backoff{min: 500 * time.Millisecond, max: 15 * time.Second, jitter: 0.3}
	// relaunchBackoff delays the relaunch of a function whose instances
	// keep failing: 1 s after the first failure, doubling to a minute.
	relaunchBackoff = backoff{min: time.Second, max: time.Minute, jitter: 0.2}
	// reconcileBackoff spaces explicit reconciliation rounds.
	reconcileBackoff = backoff{min: time.Second, max: time.Minute}
	// reviveBackoff spaces REVIVE calls while fob wants offers it does
	// not get.
	reviveBackoff = backoff{min: time.Second, max: time.Minute}
)

// delay returns the wait before retry number step (0 is the first retry).
// rng may be nil when jitter is zero.
func (b backoff) delay(step int, rng *rand.Rand) time.Duration {
	d := b.min
	for i := 0; i < step && d < b.max; i++ {
		d *= 2
	}
	if d > b.max {
		d = b.max
	}
	if b.jitter > 0 && rng != nil {
		d -= time.Duration(rng.Float64() * b.jitter * float64(d))
	}
	return d
}
