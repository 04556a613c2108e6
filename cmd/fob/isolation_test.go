package main

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestResolveIsolation(t *testing.T) {
	ok := func() error { return nil }
	denied := func() error { return errors.New("operation not permitted") }
	tests := []struct {
		mode       string
		euid       int
		goos       string
		namespaces func() error
		on         bool
		warn       string // part of the warning when off
		wantErr    string
	}{
		{"auto", 0, "linux", ok, true, "", ""},
		{"auto", 1000, "linux", ok, false, "not running as root", ""},
		{"auto", 0, "darwin", ok, false, "not running as root on Linux", ""},
		{"auto", 0, "linux", denied, false, "cannot create namespaces: operation not permitted", ""},
		{"on", 0, "linux", ok, true, "", ""},
		{"on", 1000, "linux", ok, false, "", "not running as root on Linux"},
		{"on", 0, "darwin", ok, false, "", "not running as root on Linux"},
		{"on", 0, "linux", denied, false, "", "cannot create namespaces"},
		{"off", 0, "linux", ok, false, "--isolation=off", ""},
		{"off", 1000, "linux", ok, false, "--isolation=off", ""},
		{"yes", 0, "linux", ok, false, "", `want auto, on or off`},
	}
	for _, tc := range tests {
		t.Run(tc.mode+"/"+tc.goos, func(t *testing.T) {
			on, warn, err := resolveIsolation(tc.mode, isolationHost{euid: tc.euid, goos: tc.goos, namespaces: tc.namespaces})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || on != tc.on {
				t.Fatalf("on %v, error %v; want %v", on, err, tc.on)
			}
			if !on && (!strings.Contains(warn, tc.warn) || !strings.Contains(warn, "no memory, cpu or pids limit")) {
				t.Errorf("warning %q, want one naming %q and what is not enforced", warn, tc.warn)
			}
			if on && warn != "" {
				t.Errorf("warning %q with isolation on", warn)
			}
		})
	}
}

// As root on Linux, this machine can start processes in new namespaces.
func TestProbeNamespaces(t *testing.T) {
	if os.Geteuid() != 0 || runtime.GOOS != "linux" {
		t.Skipf("namespaces need root on Linux (running as uid %d on %s)", os.Geteuid(), runtime.GOOS)
	}
	if err := probeNamespaces(); err != nil {
		t.Fatal(err)
	}
}

func TestOwnBinary(t *testing.T) {
	cmd, uris, err := ownBinary(true)
	if err != nil || cmd != "./fob executor" || len(uris) != 1 {
		t.Fatalf("isolated: %q %v %v", cmd, uris, err)
	}
	u := uris[0]
	if u.Value != "/proc/self/exe" || !u.GetExecutable() || u.GetExtract() || u.GetOutputFile() != "fob" {
		t.Errorf("isolated uri %+v", u)
	}
	cmd, uris, err = ownBinary(false)
	if err != nil || !strings.HasSuffix(cmd, "' executor") || !strings.HasPrefix(cmd, "exec '/") || uris != nil {
		t.Errorf("in place: %q %v %v", cmd, uris, err)
	}
}
