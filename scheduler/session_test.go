package scheduler

import (
	"errors"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// The loop takes what is queued as one batch, in order, up to
// maxEventBatch, and drops events of sessions that ended.
func TestTakeEventsBatchesTheLiveSession(t *testing.T) {
	live, old := &session{}, &session{}
	queue := make(chan delivery, maxEventBatch+10)
	ev := func(i int) *scheduler.Event {
		return &scheduler.Event{Type: scheduler.Event_HEARTBEAT, Offers: &scheduler.Event_Offers{Offers: make([]mesos.Offer, i)}}
	}
	first := delivery{sess: live, ev: ev(0)}
	queue <- delivery{sess: old, ev: ev(1)}
	for i := 2; i < maxEventBatch+10; i++ {
		queue <- delivery{sess: live, ev: ev(i)}
	}
	evs := takeEvents(first, queue, live)
	if len(evs) != maxEventBatch-1 {
		t.Fatalf("took %d events, want %d (one of an ended session dropped)", len(evs), maxEventBatch-1)
	}
	for i, e := range evs {
		want := i
		if i > 0 {
			want = i + 1
		}
		if got := len(e.Offers.Offers); got != want {
			t.Fatalf("event %d is #%d, want #%d", i, got, want)
		}
	}
	if len(queue) != 10 {
		t.Errorf("%d events left queued, want 10", len(queue))
	}
	live.err = errors.New("handler failed")
	if evs := takeEvents(<-queue, queue, live); len(evs) != 0 {
		t.Errorf("took %d events of a failed session", len(evs))
	}
	if evs := takeEvents(first, queue, nil); len(evs) != 0 {
		t.Errorf("took %d events without a session", len(evs))
	}
}
