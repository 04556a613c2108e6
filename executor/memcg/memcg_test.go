package memcg

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLocate(t *testing.T) {
	cases := []struct {
		fixture string
		want    string
	}{
		{"v1", "/sys/fs/cgroup/memory/fob/3b7c0f1e"},
		{"v2", "/sys/fs/cgroup/fob/9a1d2c3e"},
		{"subtree", "/sys/fs/cgroup/my memory/fob/c1"},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			got, err := Locate(read(t, c.fixture+"/proc/cgroup"), read(t, c.fixture+"/proc/mountinfo"))
			if err != nil || got != c.want {
				t.Errorf("Locate = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	t.Run("not mounted", func(t *testing.T) {
		if _, err := Locate(read(t, "v1/proc/cgroup"), []byte("22 1 253:1 / / rw - ext4 /dev/vda1 rw\n")); err == nil {
			t.Error("Locate found a cgroup with no cgroup mounted")
		}
	})
}

func TestCounters(t *testing.T) {
	cases := []struct {
		dir      string
		v2       bool
		oomKills int64
		oomErr   error
		limit    int64
	}{
		{"v1/memory", false, 2, nil, 160 << 20},
		{"v2/memory", true, 1, nil, 0},
		{"v1-old/memory", false, 0, ErrNoCounter, 0},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			cg, err := Open(filepath.Join("testdata", c.dir))
			if err != nil {
				t.Fatal(err)
			}
			if cg.V2() != c.v2 {
				t.Errorf("V2 = %v, want %v", cg.V2(), c.v2)
			}
			n, err := cg.OOMKills()
			if n != c.oomKills || !errors.Is(err, c.oomErr) {
				t.Errorf("OOMKills = %d, %v; want %d, %v", n, err, c.oomKills, c.oomErr)
			}
			if l, err := cg.LimitBytes(); l != c.limit || err != nil {
				t.Errorf("LimitBytes = %d, %v; want %d", l, err, c.limit)
			}
		})
	}
	if _, err := Open("testdata/v1/proc"); err == nil {
		t.Error("Open accepted a directory that is not a memory cgroup")
	}
}

// TestSelf reads the real cgroup of the test process where there is one;
// the counter must parse on this kernel or be reported as missing.
func TestSelf(t *testing.T) {
	cg, err := Self("")
	if err != nil {
		t.Skipf("no memory cgroup here: %v", err)
	}
	if _, err := cg.OOMKills(); err != nil && !errors.Is(err, ErrNoCounter) {
		t.Errorf("OOMKills of %s: %v", cg.Dir(), err)
	}
	if _, err := Self(filepath.Join("testdata", "v2", "memory")); err != nil {
		t.Errorf("Self with a named directory: %v", err)
	}
}
