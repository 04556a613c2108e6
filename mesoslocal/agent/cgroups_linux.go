//go:build linux

package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cgroup limits of isolated containers, in the spirit of the Mesos
// cgroups/mem, cgroups/cpu and cgroups/pids isolators. Each container gets
// <root>/<controller>/fob/<container id> (v1) or <root>/fob/<container id>
// (v2, when the unified hierarchy is the only one mounted).

const (
	cgroupRoot   = "/sys/fs/cgroup"
	cgroupParent = "fob"
	cpuPeriodUs  = 100000
)

// containerCgroups is the set of cgroup directories of one container.
type containerCgroups struct {
	v2   bool
	dirs []string
	// memory, cpu and pids are the directories holding each
	// controller's files ("" when it is not mounted); on v2 all are the
	// container's only directory.
	memory, cpu, pids string
}

// createCgroups makes the container's cgroups and writes their limits;
// the process joins them later (join), once it is set up.
func createCgroups(v2 bool, containerID string, l limits, warn func(controller string)) (*containerCgroups, error) {
	cg := &containerCgroups{v2: v2}
	var err error
	if v2 {
		err = cg.createV2(containerID, l)
	} else {
		err = cg.createV1(containerID, l, warn)
	}
	if err != nil {
		cg.remove(func(string, error) {})
		return nil, err
	}
	return cg, nil
}

func (cg *containerCgroups) createV1(containerID string, l limits, warn func(string)) error {
	// Order matters: the memory+swap limit may not go below the memory
	// limit, so it is written after it.
	files := map[string][]setting{"pids": {{"pids.max", strconv.Itoa(l.pidsMax), false}}}
	if l.memBytes > 0 {
		mem := strconv.FormatInt(l.memBytes, 10)
		// Limiting swap too (where accounted) makes a memory bomb meet
		// the OOM killer instead of the swap device.
		files["memory"] = []setting{{"memory.limit_in_bytes", mem, false}, {"memory.memsw.limit_in_bytes", mem, true}}
	}
	if l.cpus > 0 {
		files["cpu"] = []setting{
			{"cpu.shares", strconv.Itoa(max(2, int(l.cpus*1024))), false},
			{"cpu.cfs_period_us", strconv.Itoa(cpuPeriodUs), false},
			{"cpu.cfs_quota_us", strconv.Itoa(max(1000, int(l.cpus*cpuPeriodUs))), false},
		}
	}
	for _, ctrl := range []string{"memory", "cpu", "pids"} {
		base := filepath.Join(cgroupRoot, ctrl)
		if _, err := os.Stat(filepath.Join(base, "cgroup.procs")); err != nil {
			warn(ctrl)
			continue
		}
		dir := filepath.Join(base, cgroupParent, containerID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		cg.dirs = append(cg.dirs, dir)
		switch ctrl {
		case "memory":
			cg.memory = dir
		case "cpu":
			cg.cpu = dir
		case "pids":
			cg.pids = dir
		}
		if err := writeSettings(dir, files[ctrl]); err != nil {
			return err
		}
	}
	return nil
}

func (cg *containerCgroups) createV2(containerID string, l limits) error {
	parent := filepath.Join(cgroupRoot, cgroupParent)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create cgroup %s: %w", parent, err)
	}
	// Controllers must be enabled on the way down before a child can use them.
	for _, dir := range []string{cgroupRoot, parent} {
		_ = os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +cpu +pids"), 0o644)
	}
	dir := filepath.Join(parent, containerID)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("create cgroup %s: %w", dir, err)
	}
	cg.dirs = append(cg.dirs, dir)
	cg.memory, cg.cpu, cg.pids = dir, dir, dir
	files := []setting{{"pids.max", strconv.Itoa(l.pidsMax), false}}
	if l.memBytes > 0 {
		mem := strconv.FormatInt(l.memBytes, 10)
		files = append(files, setting{"memory.max", mem, false}, setting{"memory.swap.max", "0", true})
	}
	if l.cpus > 0 {
		files = append(files, setting{"cpu.max", strconv.Itoa(max(1000, int(l.cpus*cpuPeriodUs))) + " " + strconv.Itoa(cpuPeriodUs), false})
	}
	return writeSettings(dir, files)
}

// setting is one cgroup file to write. Optional ones are skipped when the
// kernel does not offer the file (swap accounting off, say).
type setting struct {
	file, value string
	optional    bool
}

// writeSettings writes the settings in order.
func writeSettings(dir string, settings []setting) error {
	for _, s := range settings {
		path := filepath.Join(dir, s.file)
		if _, err := os.Stat(path); s.optional && os.IsNotExist(err) {
			continue
		}
		if err := os.WriteFile(path, []byte(s.value), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// join moves pid, with all its threads, into every cgroup of the container.
func (cg *containerCgroups) join(pid int) error {
	for _, dir := range cg.dirs {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("join cgroup %s: %w", dir, err)
		}
	}
	return nil
}

// remove deletes the cgroups; it runs once their processes are gone.
func (cg *containerCgroups) remove(warn func(dir string, err error)) {
	for _, dir := range cg.dirs {
		if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
			warn(dir, err)
		}
	}
}

// staleCgroupAge is how old an empty container cgroup must be before an
// agent that did not make it removes it: far longer than any container
// stays between its cgroups' creation and its first process joining.
const staleCgroupAge = 10 * time.Minute

// sweepStaleCgroups removes the cgroups of containers whose agent died
// without removing them (a SIGKILLed agent cleans nothing up) and
// returns how many it removed. The kernel refuses to remove a cgroup that
// still has processes, so only empty ones go, and only those created
// before cutoff: a younger one may be another agent's container being set
// up. Left alone, they pile up, and a memory cgroup holds kernel memory
// until it is removed.
func sweepStaleCgroups(v2 bool, cutoff time.Time) int {
	parents := []string{filepath.Join(cgroupRoot, cgroupParent)}
	if !v2 {
		parents = parents[:0]
		for _, ctrl := range []string{"memory", "cpu", "pids"} {
			parents = append(parents, filepath.Join(cgroupRoot, ctrl, cgroupParent))
		}
	}
	removed := 0
	for _, parent := range parents {
		entries, err := os.ReadDir(parent)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			fi, err := e.Info()
			if err != nil || fi.ModTime().After(cutoff) {
				continue
			}
			if os.Remove(filepath.Join(parent, e.Name())) == nil {
				removed++
			}
		}
	}
	return removed
}

// unthrottle lifts the CPU quota. A container being killed needs CPU to
// die: every process must run to exit, and a fork bomb leaves hundreds
// of them to share a quota of a few milliseconds per period.
func (cg *containerCgroups) unthrottle() error {
	if cg.cpu == "" {
		return nil
	}
	file, value := "cpu.cfs_quota_us", "-1"
	if cg.v2 {
		file, value = "cpu.max", "max"
	}
	return os.WriteFile(filepath.Join(cg.cpu, file), []byte(value), 0o644)
}

// env tells the executor where its cgroups are, so that it can read its
// own usage and tell a worker killed by the OOM killer from one that
// crashed (oom_kill in memory.oom_control on v1, memory.events on v2).
func (cg *containerCgroups) env() []string {
	var env []string
	if cg.memory != "" {
		env = append(env, EnvCgroupMemory+"="+cg.memory)
	}
	if cg.pids != "" {
		env = append(env, EnvCgroupPids+"="+cg.pids)
	}
	return env
}

// oomKills is the number of processes of the container the kernel killed
// for lack of memory.
func (cg *containerCgroups) oomKills() int64 {
	if cg.memory == "" {
		return 0
	}
	name := "memory.oom_control"
	if cg.v2 {
		name = "memory.events"
	}
	return readKeyed(filepath.Join(cg.memory, name), "oom_kill")
}

// peakMemory is the highest memory usage recorded, 0 when unknown.
func (cg *containerCgroups) peakMemory() int64 {
	if cg.memory == "" {
		return 0
	}
	name := "memory.max_usage_in_bytes"
	if cg.v2 {
		name = "memory.peak"
	}
	b, err := os.ReadFile(filepath.Join(cg.memory, name))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// readKeyed reads the value of key from a "key value" per line file.
func readKeyed(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// formatMB writes a byte count the way Mesos' Bytes does in limitation
// messages.
func formatMB(b int64) string {
	if b <= 0 {
		return "unlimited"
	}
	return strconv.FormatInt(b>>20, 10) + "MB"
}
