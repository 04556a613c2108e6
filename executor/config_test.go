package executor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func setMesosEnv(t *testing.T, extra map[string]string) {
	base := map[string]string{
		"MESOS_FRAMEWORK_ID":                   "fw",
		"MESOS_EXECUTOR_ID":                    "ex",
		"MESOS_DIRECTORY":                      "/tmp/sb",
		"MESOS_SANDBOX":                        "/mnt/mesos/sandbox",
		"MESOS_AGENT_ENDPOINT":                 "127.0.0.1:5051",
		"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "5secs",
		"MESOS_CHECKPOINT":                     "",
		EnvBind:                                "",
		EnvCodec:                               "",
		EnvLogMaxBytes:                         "",
		EnvCgroupMemory:                        "",
		EnvWorkerNice:                          "",
		EnvCgroupPids:                          "",
	}
	for k, v := range extra {
		base[k] = v
	}
	for k, v := range base {
		t.Setenv(k, v)
	}
}

func TestConfigFromEnv(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{"defaults", nil, func(t *testing.T, c Config) {
			if c.Bind != DefaultBind || c.Codec != "json" || c.Sandbox != "/mnt/mesos/sandbox" ||
				c.ExecutorShutdownGracePeriod != 5*time.Second || c.Checkpoint || c.AgentEndpoint != "127.0.0.1:5051" {
				t.Errorf("config = %+v", c)
			}
		}, ""},
		{"fob settings", map[string]string{EnvBind: "127.0.0.1", EnvCodec: "protobuf"}, func(t *testing.T, c Config) {
			if c.Bind != "127.0.0.1" || c.Codec != "protobuf" {
				t.Errorf("config = %+v", c)
			}
		}, ""},
		{"checkpoint", map[string]string{"MESOS_CHECKPOINT": "1", "MESOS_RECOVERY_TIMEOUT": "15mins", "MESOS_SUBSCRIPTION_BACKOFF_MAX": "2secs"}, func(t *testing.T, c Config) {
			if !c.Checkpoint || c.RecoveryTimeout != 15*time.Minute || c.SubscriptionBackoffMax != 2*time.Second {
				t.Errorf("config = %+v", c)
			}
		}, ""},
		{"checkpoint without timeouts", map[string]string{"MESOS_CHECKPOINT": "true"}, nil, "MESOS_RECOVERY_TIMEOUT"},
		{"go duration", map[string]string{"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "5s"}, nil, "executor config"},
		{"missing framework", map[string]string{"MESOS_FRAMEWORK_ID": ""}, nil, "MESOS_FRAMEWORK_ID"},
		{"bad codec", map[string]string{EnvCodec: "xml"}, nil, EnvCodec},
		{"log bound and cgroup", map[string]string{EnvLogMaxBytes: "1048576", EnvCgroupMemory: "/sys/fs/cgroup/memory/fob/c1"}, func(t *testing.T, c Config) {
			if c.LogMaxBytes != 1<<20 || c.CgroupMemory != "/sys/fs/cgroup/memory/fob/c1" {
				t.Errorf("config = %+v", c)
			}
		}, ""},
		{"default log bound", nil, func(t *testing.T, c Config) {
			if c.LogMaxBytes != DefaultLogMaxBytes {
				t.Errorf("LogMaxBytes = %d, want %d", c.LogMaxBytes, DefaultLogMaxBytes)
			}
		}, ""},
		{"bad log bound", map[string]string{EnvLogMaxBytes: "5MB"}, nil, EnvLogMaxBytes},
		{"negative log bound", map[string]string{EnvLogMaxBytes: "-1"}, nil, EnvLogMaxBytes},
		{"worker nice", map[string]string{EnvWorkerNice: "19"}, func(t *testing.T, c Config) {
			if c.WorkerNice != 19 {
				t.Errorf("WorkerNice = %d, want 19", c.WorkerNice)
			}
		}, ""},
		{"default worker nice", nil, func(t *testing.T, c Config) {
			if c.WorkerNice != 0 {
				t.Errorf("WorkerNice = %d, want 0", c.WorkerNice)
			}
		}, ""},
		{"worker nice out of range", map[string]string{EnvWorkerNice: "20"}, nil, EnvWorkerNice},
		{"worker nice not a number", map[string]string{EnvWorkerNice: "low"}, nil, EnvWorkerNice},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setMesosEnv(t, c.env)
			cfg, err := ConfigFromEnv()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, cfg)
		})
	}
}

func TestWorkerProcesses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		pidsMax string // "" for no pids.max file
		cgroup  string
		want    int
		wantErr bool
	}{
		{"320\n", dir, 320 - executorThreads, false},
		{"16\n", dir, 1, false},
		{"max\n", dir, 0, false},
		{"", "", 0, false},
		{"", dir, 0, true},
	} {
		_ = os.Remove(filepath.Join(dir, "pids.max"))
		if tc.pidsMax != "" {
			if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(tc.pidsMax), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := Config{CgroupPids: tc.cgroup}.WorkerProcesses()
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("pids.max %q in %q: %d, %v; want %d (error %v)", tc.pidsMax, tc.cgroup, got, err, tc.want, tc.wantErr)
		}
	}
}
