package scheduler

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := backoff{min: time.Second, max: time.Minute}
	tests := []struct {
		step int
		want time.Duration
	}{
		{0, time.Second},
		{1, 2 * time.Second},
		{2, 4 * time.Second},
		{5, 32 * time.Second},
		{6, time.Minute},
		{100, time.Minute},
	}
	for _, tt := range tests {
		if got := b.delay(tt.step, nil); got != tt.want {
			t.Errorf("delay(%d) = %v, want %v", tt.step, got, tt.want)
		}
	}
}

func TestBackoffJitterStaysInRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	b := backoff{min: time.Second, max: 10 * time.Second, jitter: 0.3}
	for step := 0; step < 10; step++ {
		full := backoff{min: b.min, max: b.max}.delay(step, nil)
		for i := 0; i < 100; i++ {
			d := b.delay(step, rng)
			if d > full || d < time.Duration(0.7*float64(full)) {
				t.Fatalf("step %d: delay %v outside [0.7·%v, %v]", step, d, full, full)
			}
		}
	}
}
