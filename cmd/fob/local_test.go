package main

import "testing"

func TestLocalProcs(t *testing.T) {
	for _, tc := range []struct{ cpus, want int }{
		{1, 1}, {2, 1}, {3, 1}, {4, 2}, {16, 8},
	} {
		if got := localProcs(tc.cpus); got != tc.want {
			t.Errorf("localProcs(%d) = %d, want %d", tc.cpus, got, tc.want)
		}
	}
}
