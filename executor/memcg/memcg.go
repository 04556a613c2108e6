// Package memcg reads the memory cgroup an executor runs in. A worker that
// dies of SIGKILL mid-call was either killed by the kernel's OOM killer for
// taking the container over its memory limit, or by something else; the
// cgroup's oom_kill counter tells the two apart, so a user learns that the
// function used too much memory instead of that fob lost a worker.
package memcg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Files holding the OOM-kill counter ("oom_kill N" lines) and the limit.
const (
	v1Events = "memory.oom_control"
	v2Events = "memory.events"
	v1Limit  = "memory.limit_in_bytes"
	v2Limit  = "memory.max"
)

// ErrNoCounter means the kernel keeps no oom_kill counter there (v1
// before Linux 4.13, or not a memory cgroup at all).
var ErrNoCounter = errors.New("no oom_kill counter")

// Cgroup is one memory cgroup directory.
type Cgroup struct {
	dir string
	v2  bool
}

// Open returns the memory cgroup at dir, cgroup v1 or v2 by the files it
// holds.
func Open(dir string) (*Cgroup, error) {
	if _, err := os.Stat(filepath.Join(dir, v2Events)); err == nil {
		return &Cgroup{dir: dir, v2: true}, nil
	}
	if _, err := os.Stat(filepath.Join(dir, v1Events)); err == nil {
		return &Cgroup{dir: dir}, nil
	}
	return nil, fmt.Errorf("memory cgroup %s: neither %s nor %s", dir, v2Events, v1Events)
}

// Self finds the memory cgroup of the calling process: dir when the agent
// named it (it knows; inside a container /proc may not say), else from
// /proc/self/cgroup and /proc/self/mountinfo.
func Self(dir string) (*Cgroup, error) {
	if dir != "" {
		return Open(dir)
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	dir, err = Locate(cg, mi)
	if err != nil {
		return nil, err
	}
	return Open(dir)
}

// Dir is the cgroup's directory.
func (c *Cgroup) Dir() string { return c.dir }

// V2 reports whether it is a cgroup v2 (unified hierarchy) cgroup.
func (c *Cgroup) V2() bool { return c.v2 }

// OOMKills is how many processes of the cgroup the OOM killer has killed.
func (c *Cgroup) OOMKills() (int64, error) {
	name := v1Events
	if c.v2 {
		name = v2Events
	}
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		return 0, err
	}
	return keyed(b, "oom_kill")
}

// LimitBytes is the cgroup's memory limit, 0 when it has none.
func (c *Cgroup) LimitBytes() (int64, error) {
	name := v1Limit
	if c.v2 {
		name = v2Limit
	}
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	// v1 says "no limit" with the largest page-aligned int64.
	if n >= 1<<62 {
		return 0, nil
	}
	return n, nil
}

// keyed reads key's value from "key value" lines.
func keyed(b []byte, key string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, ErrNoCounter
}

// Locate finds the memory cgroup directory from the contents of
// /proc/self/cgroup and /proc/self/mountinfo. The v1 memory controller
// wins over the unified hierarchy: on hybrid hosts it holds the memory
// accounting.
func Locate(procCgroup, mountinfo []byte) (string, error) {
	var v1Path, v2Path string
	var haveV1, haveV2 bool
	for line := range strings.SplitSeq(string(procCgroup), "\n") {
		// hierarchy-id:controller,list:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2Path, haveV2 = parts[2], true
			continue
		}
		for ctrl := range strings.SplitSeq(parts[1], ",") {
			if ctrl == "memory" {
				v1Path, haveV1 = parts[2], true
			}
		}
	}
	mounts := parseMountinfo(mountinfo)
	if haveV1 {
		for _, m := range mounts {
			if m.fstype == "cgroup" && hasOption(m.superOptions, "memory") {
				return join(m, v1Path), nil
			}
		}
	}
	if haveV2 {
		for _, m := range mounts {
			if m.fstype == "cgroup2" {
				return join(m, v2Path), nil
			}
		}
	}
	return "", errors.New("no memory cgroup mounted for this process")
}

type mount struct {
	root, point, fstype, superOptions string
}

// parseMountinfo reads the fields Locate needs from proc(5)'s
// mountinfo: "id parent maj:min root point options [optional…] - fstype
// source super-options".
func parseMountinfo(b []byte) []mount {
	var out []mount
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+3 >= len(f) {
			continue
		}
		out = append(out, mount{root: unescape(f[3]), point: unescape(f[4]), fstype: f[sep+1], superOptions: f[sep+3]})
	}
	return out
}

// join maps a cgroup path onto where its hierarchy is mounted: the mount
// shows the hierarchy from m.root down.
func join(m mount, cgPath string) string {
	rel := cgPath
	if m.root != "/" {
		if r, ok := strings.CutPrefix(cgPath, m.root); ok {
			rel = r
		}
	}
	return filepath.Join(m.point, rel)
}

func hasOption(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
