package scheduler

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	fobpb "github.com/fob-project/fob/proto"
	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Label keys fob puts on its tasks; they make the Mesos UI readable and let
// operators find a function's tasks. The executor reads some of them back
// on status updates, so they live in package proto.
const (
	labelFunctionID = fobpb.LabelFunctionID
	labelVersion    = fobpb.LabelVersion
	labelLanguage   = fobpb.LabelLanguage
	labelName       = fobpb.LabelName
)

// launch is one instance fob decided to start in one offer.
type launch struct {
	fn       *state.Function
	taskID   string
	secret   string
	agentID  string
	hostname string
	port     uint32
	taskRes  []mesos.Resource
	execRes  []mesos.Resource
	// image is the language's runtime image; empty runs the executor
	// without a container image.
	image string
}

// limitsOf returns f's limits with the defaults filled in.
func limitsOf(f *state.Function) state.Limits {
	l := f.Limits
	if l.CPUs <= 0 {
		l.CPUs = defaultCPUs
	}
	if l.MemoryMB <= 0 {
		l.MemoryMB = defaultMemoryMB
	}
	if l.Timeout <= 0 {
		l.Timeout = defaultTimeout
	}
	if l.Concurrency <= 0 {
		l.Concurrency = defaultConcurrency
	}
	return l
}

// instancesOf is how many instances of f should run.
func instancesOf(f *state.Function) int {
	return max(f.Instances, 1)
}

// taskDemand and executorDemand are what an instance of f takes from an
// offer: the task's share (with the port it serves on) and the executor's.
func taskDemand(f *state.Function) demand {
	l := limitsOf(f)
	return demand{cpus: l.CPUs, memMB: float64(l.MemoryMB), port: true}
}

var executorDemand = demand{cpus: executorCPUs, memMB: executorMemoryMB}

// maxTaskIDFunctionPart keeps task ids well inside Mesos' 255 characters.
const maxTaskIDFunctionPart = 200

// newTaskID returns fob.<function id>.v<version>.<random>. Characters Mesos
// refuses in ids (slashes, control characters) are replaced.
func newTaskID(functionID string, version uint64) string {
	fid := safeIDPart(functionID)
	if len(fid) > maxTaskIDFunctionPart {
		fid = fid[:maxTaskIDFunctionPart]
	}
	return fmt.Sprintf("fob.%s.v%d.%s", fid, version, randomHex(4))
}

// taskIDFor returns the id of a new task for f, or for a stem of the warm
// pool when f is one (stemFunction): fob.stem.<language>.<random>.
func taskIDFor(f *state.Function) string {
	if isStemFunction(f) {
		return fmt.Sprintf("fob.stem.%s.%s", safeIDPart(f.Language), randomHex(4))
	}
	return newTaskID(f.ID, f.Version)
}

// newSecret returns a fresh secret for one task's code fetch.
func newSecret() string {
	return randomHex(32)
}

// safeIDPart replaces the characters Mesos refuses in ids.
func safeIDPart(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r <= ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
}

func randomHex(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never fails on supported platforms.
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// functionSpec is what the executor needs to load f as task taskID. For a
// stem it names no function and no code: the executor starts the
// language's workers and waits for a MESSAGE with the spec of a function.
func functionSpec(cfg Config, l launch) *fobpb.FunctionSpec {
	lim := limitsOf(l.fn)
	codeURL := ""
	if !isStemFunction(l.fn) {
		codeURL = cfg.APIURL + "/api/cs/" + l.fn.ID
	}
	return &fobpb.FunctionSpec{
		FunctionId: l.fn.ID,
		Version:    l.fn.Version,
		Language:   l.fn.Language,
		Name:       l.fn.Name,
		TaskId:     l.taskID,
		CodeUrl:    codeURL,
		Secret:     l.secret,
		CodeDigest: l.fn.Digest,
		Limits: &fobpb.Limits{
			MemoryMb:    uint32(lim.MemoryMB),
			Cpus:        lim.CPUs,
			TimeoutMs:   uint32(min(lim.Timeout/time.Millisecond, 1<<32-1)),
			Concurrency: uint32(lim.Concurrency),
		},
		Port: l.port,
	}
}

// buildTaskInfo describes one function instance to Mesos: fob's executor
// (one per task, so a crash takes down one instance only) in the language's
// container, the FunctionSpec in data, and labels and discovery info.
func buildTaskInfo(cfg Config, l launch) (mesos.TaskInfo, error) {
	data, err := functionSpec(cfg, l).Marshal()
	if err != nil {
		return mesos.TaskInfo{}, fmt.Errorf("encode function spec for %s: %w", l.taskID, err)
	}
	display := l.fn.Name
	if display == "" {
		display = l.fn.ID
	}
	name := "fob " + display + " v" + strconv.FormatUint(l.fn.Version, 10)
	labels := []mesos.Label{
		label(labelFunctionID, l.fn.ID),
		label(labelVersion, strconv.FormatUint(l.fn.Version, 10)),
		label(labelLanguage, l.fn.Language),
	}
	if l.fn.Name != "" {
		labels = append(labels, label(labelName, l.fn.Name))
	}
	if isStemFunction(l.fn) {
		// A stem of the warm pool: a function's name only once one
		// specialises it, which Mesos' task name cannot follow.
		display = "stem-" + l.fn.Language
		name = "fob stem " + l.fn.Language
		labels = []mesos.Label{fobpb.StemLabel(l.fn.Language), label(labelLanguage, l.fn.Language)}
	}
	return mesos.TaskInfo{
		Name:      name,
		TaskID:    mesos.TaskID{Value: l.taskID},
		AgentID:   mesos.AgentID{Value: l.agentID},
		Resources: l.taskRes,
		Executor:  executorInfo(cfg, l, display),
		Data:      data,
		Labels:    &mesos.Labels{Labels: labels},
		Discovery: &mesos.DiscoveryInfo{
			Visibility: mesos.FRAMEWORK,
			Name:       proto(display),
			Version:    proto(strconv.FormatUint(l.fn.Version, 10)),
			Ports: &mesos.Ports{Ports: []mesos.Port{{
				Number:   l.port,
				Name:     proto("http"),
				Protocol: proto("tcp"),
			}}},
		},
	}, nil
}

func executorInfo(cfg Config, l launch, display string) *mesos.ExecutorInfo {
	cmd := &mesos.CommandInfo{
		Value: proto(cfg.ExecutorCommand),
		Shell: proto(true),
	}
	if len(cfg.ExecutorURIs) > 0 {
		cmd.URIs = append([]mesos.CommandInfo_URI(nil), cfg.ExecutorURIs...)
	}
	if len(cfg.ExecutorEnv) > 0 {
		names := make([]string, 0, len(cfg.ExecutorEnv))
		for n := range cfg.ExecutorEnv {
			names = append(names, n)
		}
		sort.Strings(names)
		env := &mesos.Environment{}
		for _, n := range names {
			env.Variables = append(env.Variables, mesos.Environment_Variable{
				Name:  n,
				Type:  mesos.Environment_Variable_VALUE.Enum(),
				Value: proto(cfg.ExecutorEnv[n]),
			})
		}
		cmd.Environment = env
	}
	ei := &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_CUSTOM,
		ExecutorID: mesos.ExecutorID{Value: l.taskID},
		Name:       proto("fob executor for " + display),
		Command:    cmd,
		Resources:  l.execRes,
	}
	if l.image != "" {
		ei.Container = &mesos.ContainerInfo{
			Type: mesos.ContainerInfo_DOCKER.Enum(),
			Docker: &mesos.ContainerInfo_DockerInfo{
				Image:   l.image,
				Network: mesos.ContainerInfo_DockerInfo_BRIDGE.Enum(),
				// The executor listens on the same port inside the
				// container as outside, so the FunctionSpec's port is
				// right on both sides of the bridge.
				PortMappings: []mesos.ContainerInfo_DockerInfo_PortMapping{{
					HostPort:      l.port,
					ContainerPort: l.port,
					Protocol:      proto("tcp"),
				}},
			},
		}
	}
	return ei
}

func label(k, v string) mesos.Label {
	return mesos.Label{Key: k, Value: proto(v)}
}

// proto returns a pointer to v, for optional protobuf fields.
func proto[T any](v T) *T {
	return &v
}
