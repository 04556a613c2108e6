package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"runtime"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Values of --isolation.
const (
	isolationAuto = "auto"
	isolationOn   = "on"
	isolationOff  = "off"
)

func addIsolationFlag(fs *flag.FlagSet) *string {
	return fs.String("isolation", isolationAuto,
		"isolate each executor (namespaces, own uid, read-only host, cgroup limits): auto (on as root), on (needs root on Linux) or off")
}

// isolationHost is what decides whether this process can isolate.
type isolationHost struct {
	euid int
	goos string
	// namespaces starts a process in new namespaces, as isolated
	// containers are started; root in a container of its own may lack
	// the privilege.
	namespaces func() error
}

func thisHost() isolationHost {
	return isolationHost{euid: os.Geteuid(), goos: runtime.GOOS, namespaces: probeNamespaces}
}

// resolveIsolation turns --isolation into a decision. When isolation ends
// up off, notEnforced says what that leaves open, for a warning: a
// function then runs with the powers of whoever runs fob.
func resolveIsolation(mode string, h isolationHost) (on bool, notEnforced string, err error) {
	var why string // why isolation cannot be had
	switch {
	case h.euid != 0 || h.goos != "linux":
		why = "not running as root on Linux"
	case mode != isolationOff:
		if err := h.namespaces(); err != nil {
			why = "cannot create namespaces: " + err.Error()
		}
	}
	switch mode {
	case isolationOn:
		if why != "" {
			return false, "", fmt.Errorf("--isolation=on: %s (uid %d on %s)", why, h.euid, h.goos)
		}
		return true, "", nil
	case isolationAuto:
		if why == "" {
			return true, "", nil
		}
	case isolationOff:
		why = "--isolation=off"
	default:
		return false, "", fmt.Errorf("--isolation=%q: want %s, %s or %s", mode, isolationAuto, isolationOn, isolationOff)
	}
	return false, fmt.Sprintf("isolation is off (%s): functions run as %s, can read and write what that user can, "+
		"see and signal its processes, and are held by no memory, cpu or pids limit", why, currentUser()), nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprintf("uid %d", os.Geteuid())
}

// ownBinary is how fob local's agent gets the fob binary to an executor.
//
// Without isolation the executor runs it in place, exec'd by the agent's
// shell: should the agent's process die without a word (SIGKILL), the
// kernel kills the container's first process only, which so is the
// executor and not a shell that would leave it behind. (In an isolated
// container the shell stays: as pid 1 of the namespace its death takes
// every process with it, and it reaps what the function orphans.)
//
// An isolated executor runs as a uid of its own that may not reach the
// binary's path at all (a build under /tmp, which containers see as a
// private empty tmpfs, or a home directory closed to others), so the
// binary is shipped the way Mesos frameworks ship executors: as a
// CommandInfo URI the agent fetches into the sandbox, run as ./fob. The
// agent hard-links a local executable instead of copying it when the
// file is root's and no one else may write it
// (mesoslocal/agent/fetchlink_linux.go): a launch then costs a link, not
// a 20 MB copy, and the container can run the file but not change it.
//
// The URI is /proc/self/exe, not the path the binary was started from:
// the agent is in this very process, so every executor gets exactly the
// binary the framework runs, even after a rebuild replaced the file at
// that path (the agent then copies the old inode, which has no name left
// to link).
func ownBinary(isolated bool) (command string, uris []mesos.CommandInfo_URI, err error) {
	if isolated {
		uri := mesos.CommandInfo_URI{
			Value:      "/proc/self/exe",
			Executable: proto(true),
			Extract:    proto(false),
			OutputFile: proto("fob"),
		}
		return "./fob executor", []mesos.CommandInfo_URI{uri}, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("find own binary: %w", err)
	}
	return "exec " + shellQuote(exe) + " executor", nil, nil
}

// proto returns a pointer to v, for optional protobuf fields.
func proto[T any](v T) *T { return &v }

// isolationFor decides isolation for this host and warns, once, of what
// goes unenforced when it is off.
func isolationFor(mode string, log *slog.Logger) (bool, error) {
	isolated, notEnforced, err := resolveIsolation(mode, thisHost())
	if err != nil {
		return false, err
	}
	if !isolated {
		log.Warn(notEnforced)
	}
	return isolated, nil
}
