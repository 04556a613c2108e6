package scheduler

import (
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func TestConfigWithDefaults(t *testing.T) {
	valid := Config{MasterURL: "http://m:5050/", APIURL: "http://api:8080/", ExecutorCommand: "fob executor", User: "u"}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
		check   func(*testing.T, Config)
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			if c.Codec != CodecProtobuf || c.FrameworkName != "fob" || c.Role != "*" ||
				c.FailoverTimeout != 7*24*time.Hour || c.MasterURL != "http://m:5050" || c.APIURL != "http://api:8080" {
				t.Errorf("config = %+v", c)
			}
			if c.endpoint() != "http://m:5050/api/v1/scheduler" {
				t.Errorf("endpoint = %q", c.endpoint())
			}
		}},
		{name: "json codec", mutate: func(c *Config) { c.Codec = CodecJSON }},
		{name: "unknown codec", mutate: func(c *Config) { c.Codec = "xml" }, wantErr: "codec"},
		{name: "no master", mutate: func(c *Config) { c.MasterURL = "" }, wantErr: "master URL"},
		{name: "master not http", mutate: func(c *Config) { c.MasterURL = "zk://m:2181/mesos" }, wantErr: "master URL"},
		{name: "no executor command", mutate: func(c *Config) { c.ExecutorCommand = "" }, wantErr: "executor command"},
		{name: "no API URL", mutate: func(c *Config) { c.APIURL = "" }, wantErr: "API URL"},
		{name: "secret without principal", mutate: func(c *Config) { c.Secret = "s" }, wantErr: "principal"},
		{name: "user defaults to the current one", mutate: func(c *Config) { c.User = "" }, check: func(t *testing.T, c Config) {
			if c.User == "" {
				t.Error("no user")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			if tt.mutate != nil {
				tt.mutate(&c)
			}
			got, err := c.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one about %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestFrameworkInfo(t *testing.T) {
	cfg := testConfig()
	cfg.Principal, cfg.Secret, cfg.Hostname, cfg.WebUIURL, cfg.Checkpoint = "fob", "pw", "h1", "http://h1:8080/", true
	for _, id := range []string{"", "fw-7"} {
		fi := frameworkInfo(cfg, id)
		if fi.User != "nobody" || fi.Name != "fob" || fi.GetRole() != "*" || !fi.GetCheckpoint() ||
			fi.GetFailoverTimeout() != (7*24*time.Hour).Seconds() || fi.GetPrincipal() != "fob" ||
			fi.GetHostname() != "h1" || fi.GetWebUiURL() != "http://h1:8080/" {
			t.Errorf("framework info = %+v", fi)
		}
		if fi.GetID().GetValue() != id {
			t.Errorf("id = %q, want %q", fi.GetID().GetValue(), id)
		}
		caps := map[mesos.FrameworkInfo_Capability_Type]bool{}
		for _, c := range fi.Capabilities {
			caps[c.Type] = true
		}
		if !caps[mesos.FrameworkInfo_Capability_PARTITION_AWARE] || !caps[mesos.FrameworkInfo_Capability_TASK_KILLING_STATE] {
			t.Errorf("capabilities = %v", fi.Capabilities)
		}
		if _, err := fi.Marshal(); err != nil {
			t.Errorf("marshal: %v", err)
		}
	}
}
