package executor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fob-project/fob/executor/funclog"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
)

// Environment variables fob adds to the agent's MESOS_* ones.
const (
	// EnvBind is the address the call server binds to.
	EnvBind = "FOB_EXECUTOR_BIND"
	// EnvCodec selects the encoding spoken with the agent: json or protobuf.
	EnvCodec = "FOB_EXECUTOR_CODEC"
	// EnvLogMaxBytes bounds each of the function's two log files.
	EnvLogMaxBytes = "FOB_EXECUTOR_LOG_MAX_BYTES"
	// EnvWorkerNice is the workers' nice value, 0 to 19 (see
	// worker.SetNice); set where the executor shares its cgroups with
	// them.
	EnvWorkerNice = "FOB_EXECUTOR_WORKER_NICE"
	// EnvCgroupMemory is the executor's memory cgroup directory, set by an
	// agent that made it (fob's embedded one does); without it the
	// executor looks in /proc/self.
	EnvCgroupMemory = "FOB_CGROUP_MEMORY"
	// EnvCgroupPids is the executor's pids cgroup directory, set by an
	// agent that made it (fob's embedded one does).
	EnvCgroupPids = "FOB_CGROUP_PIDS"
)

// Defaults for a zero Config.
const (
	DefaultBind          = "0.0.0.0"
	DefaultCodec         = codecs.NameJSON
	DefaultAgentTimeout  = 10 * time.Second
	DefaultFetchAttempts = 8
	DefaultGracePeriod   = 5 * time.Second
	DefaultLogMaxBytes   = funclog.DefaultMaxFileBytes
)

// Config is everything the executor needs, from the agent's MESOS_*
// environment (the embedded mesos-go config) and fob's own settings.
type Config struct {
	config.Config

	// Bind is the host the call server listens on; the port comes from
	// the task's FunctionSpec.
	Bind string
	// Codec is the agent API encoding, "json" or "protobuf".
	Codec string
	// AgentTimeout bounds each non-streaming call to the agent and the
	// wait for the SUBSCRIBE response headers.
	AgentTimeout time.Duration
	// FetchAttempts bounds the tries to download the function's code.
	FetchAttempts int
	// LogMaxBytes bounds each of function.log and function.log.1.
	LogMaxBytes int64
	// CgroupMemory is the memory cgroup to read OOM kills from; empty
	// means the executor's own, found through /proc/self.
	CgroupMemory string
	// CgroupPids is the pids cgroup the executor shares with its
	// workers, if the agent made one; see WorkerProcesses.
	CgroupPids string
	// WorkerNice is the nice value workers start with, 0 to 19.
	WorkerNice int
}

// executorThreads is what an executor keeps of its pids limit for its own
// threads. The Go runtime ends the process when it cannot start a thread,
// so a function that forks until the limit must meet its own limit first.
const executorThreads = 32

// WorkerProcesses is how many processes and threads an executor and its
// workers may have together before a worker's fork fails: the pids
// cgroup's limit less executorThreads, so that the executor can always
// start the threads it needs. 0 means no limit (no pids cgroup known, or
// none set).
func (c Config) WorkerProcesses() (int, error) {
	if c.CgroupPids == "" {
		return 0, nil
	}
	b, err := os.ReadFile(filepath.Join(c.CgroupPids, "pids.max"))
	if err != nil {
		return 0, fmt.Errorf("read pids limit: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "max" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("read pids limit %s: %w", v, err)
	}
	return max(n-executorThreads, 1), nil
}

// ConfigFromEnv builds a Config from the process environment as the Mesos
// agent sets it, plus fob's FOB_EXECUTOR_* and FOB_CGROUP_MEMORY.
func ConfigFromEnv() (Config, error) {
	mc, err := config.FromEnv()
	if err != nil {
		return Config{}, fmt.Errorf("executor config: %w", err)
	}
	cfg := Config{Config: mc, Bind: os.Getenv(EnvBind), Codec: os.Getenv(EnvCodec),
		CgroupMemory: os.Getenv(EnvCgroupMemory), CgroupPids: os.Getenv(EnvCgroupPids)}
	if v := os.Getenv(EnvLogMaxBytes); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return Config{}, fmt.Errorf("executor config: %s=%q: want a positive number of bytes", EnvLogMaxBytes, v)
		}
		cfg.LogMaxBytes = n
	}
	if v := os.Getenv(EnvWorkerNice); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 19 {
			return Config{}, fmt.Errorf("executor config: %s=%q: want a nice value from 0 to 19", EnvWorkerNice, v)
		}
		cfg.WorkerNice = n
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func (c Config) withDefaults() Config {
	if c.Bind == "" {
		c.Bind = DefaultBind
	}
	if c.Codec == "" {
		c.Codec = DefaultCodec
	}
	if c.AgentTimeout <= 0 {
		c.AgentTimeout = DefaultAgentTimeout
	}
	if c.FetchAttempts <= 0 {
		c.FetchAttempts = DefaultFetchAttempts
	}
	if c.LogMaxBytes <= 0 {
		c.LogMaxBytes = DefaultLogMaxBytes
	}
	if c.ExecutorShutdownGracePeriod <= 0 {
		c.ExecutorShutdownGracePeriod = DefaultGracePeriod
	}
	if c.Sandbox == "" {
		c.Sandbox = c.Directory
	}
	return c
}

// Validate reports the first setting the executor cannot run with.
func (c Config) Validate() error {
	switch {
	case c.FrameworkID == "":
		return errors.New("executor config: no framework id")
	case c.ExecutorID == "":
		return errors.New("executor config: no executor id")
	case c.AgentEndpoint == "":
		return errors.New("executor config: no agent endpoint")
	case c.Sandbox == "" && c.Directory == "":
		return errors.New("executor config: no sandbox directory")
	}
	if _, err := c.codec(); err != nil {
		return err
	}
	return nil
}

func (c Config) codec() (encoding.Codec, error) {
	switch c.Codec {
	case codecs.NameJSON, "":
		return codecs.ByMediaType[codecs.MediaTypeJSON], nil
	case codecs.NameProtobuf:
		return codecs.ByMediaType[codecs.MediaTypeProtobuf], nil
	default:
		return encoding.Codec{}, fmt.Errorf("executor config: %s=%q: want json or protobuf", EnvCodec, c.Codec)
	}
}
