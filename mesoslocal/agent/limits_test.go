package agent

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Without an explicit pids limit, a container may have 2 processes or
// threads per MB of memory: a fork bomb meets the pids limit first.
func TestLimitsForPids(t *testing.T) {
	tests := []struct {
		name    string
		res     mesos.Resources
		pidsMax int
		want    int
	}{
		{"from memory", mesos.Resources{scalar("mem", 160)}, 0, 320},
		{"at least the minimum", mesos.Resources{scalar("mem", 16)}, 0, minPidsMax},
		{"at most the default", mesos.Resources{scalar("mem", 8192)}, 0, DefaultPidsMax},
		{"no memory limit", mesos.Resources{scalar("cpus", 1)}, 0, DefaultPidsMax},
		{"explicit", mesos.Resources{scalar("mem", 160)}, 1000, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := limitsFor(tc.res, tc.pidsMax).pidsMax; got != tc.want {
				t.Errorf("pids max %d, want %d", got, tc.want)
			}
		})
	}
}
