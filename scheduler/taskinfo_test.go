package scheduler

import (
	"regexp"
	"strings"
	"testing"
	"time"

	fobpb "github.com/fob-project/fob/proto"
	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func testLaunch(f *state.Function, image string) launch {
	o := bigOffer("o1", "agent-1")
	p := newPool(&o, "*")
	rs, port, ok := p.take(taskDemand(f), executorDemand)
	if !ok {
		panic("test offer too small")
	}
	return launch{
		fn: f, taskID: newTaskID(f.ID, f.Version), secret: "s3cret",
		agentID: o.AgentID.Value, hostname: o.Hostname, port: port,
		taskRes: rs[0], execRes: rs[1], image: image,
	}
}

func labelMap(ls *mesos.Labels) map[string]string {
	m := map[string]string{}
	for _, l := range ls.GetLabels() {
		m[l.Key] = l.GetValue()
	}
	return m
}

func TestBuildTaskInfo(t *testing.T) {
	cfg := testConfig()
	tests := []struct {
		name      string
		fn        *state.Function
		image     string
		wantSpec  fobpb.Limits
		wantCPUs  float64
		wantMem   float64
		wantLabel map[string]string
	}{
		{
			name:     "defaults",
			fn:       testFunction("f1", 3),
			image:    testImage,
			wantSpec: fobpb.Limits{MemoryMb: 128, Cpus: 0.1, TimeoutMs: 30000, Concurrency: 1},
			wantCPUs: 0.1, wantMem: 128,
			wantLabel: map[string]string{labelFunctionID: "f1", labelVersion: "3", labelLanguage: testLang, labelName: "name-f1"},
		},
		{
			name: "limits, no name, no image",
			fn: &state.Function{ID: "f2", Language: testLang, Digest: "x", Version: 1,
				Limits: state.Limits{MemoryMB: 256, CPUs: 0.5, Timeout: 2 * time.Second, Concurrency: 4}},
			wantSpec: fobpb.Limits{MemoryMb: 256, Cpus: 0.5, TimeoutMs: 2000, Concurrency: 4},
			wantCPUs: 0.5, wantMem: 256,
			wantLabel: map[string]string{labelFunctionID: "f2", labelVersion: "1", labelLanguage: testLang},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := testLaunch(tt.fn, tt.image)
			ti, err := buildTaskInfo(cfg, ln)
			if err != nil {
				t.Fatal(err)
			}
			if ti.TaskID.Value != ln.taskID || ti.AgentID.Value != "agent-1" {
				t.Errorf("ids: task %q agent %q", ti.TaskID.Value, ti.AgentID.Value)
			}
			if ti.Command != nil {
				t.Error("task has a command; a task runs either a command or an executor")
			}

			// data decodes back into the FunctionSpec the executor needs.
			var spec fobpb.FunctionSpec
			if err := spec.Unmarshal(ti.Data); err != nil {
				t.Fatalf("decode data: %v", err)
			}
			if spec.FunctionId != tt.fn.ID || spec.Version != tt.fn.Version || spec.Language != testLang ||
				spec.Name != tt.fn.Name || spec.TaskId != ln.taskID || spec.Secret != "s3cret" ||
				spec.CodeDigest != tt.fn.Digest || spec.Port != ln.port ||
				spec.CodeUrl != "http://fob.example:8080/api/cs/"+tt.fn.ID {
				t.Errorf("spec = %+v", spec)
			}
			if spec.Limits == nil || *spec.Limits != tt.wantSpec {
				t.Errorf("limits = %+v, want %+v", spec.Limits, tt.wantSpec)
			}

			// Task resources: limits plus exactly the one port.
			if c := sumScalar(ti.Resources, resCPUs); toMilli(c) != toMilli(tt.wantCPUs) {
				t.Errorf("cpus = %v, want %v", c, tt.wantCPUs)
			}
			if m := sumScalar(ti.Resources, resMem); m != tt.wantMem {
				t.Errorf("mem = %v, want %v", m, tt.wantMem)
			}
			if pr := portsOf(ti.Resources); len(pr) != 1 || pr[0].Begin != uint64(ln.port) || pr[0].End != uint64(ln.port) {
				t.Errorf("ports = %v, want [%d,%d]", pr, ln.port, ln.port)
			}

			ei := ti.Executor
			if ei == nil || ei.Type != mesos.ExecutorInfo_CUSTOM || ei.ExecutorID.Value != ln.taskID {
				t.Fatalf("executor = %+v", ei)
			}
			if ei.Command.GetValue() != cfg.ExecutorCommand || !ei.Command.GetShell() {
				t.Errorf("executor command = %q shell=%v", ei.Command.GetValue(), ei.Command.GetShell())
			}
			if len(ei.Command.URIs) != 1 || ei.Command.URIs[0].Value != cfg.ExecutorURIs[0].Value ||
				!ei.Command.URIs[0].GetExecutable() || ei.Command.URIs[0].GetExtract() {
				t.Errorf("uris = %+v", ei.Command.URIs)
			}
			vars := ei.Command.GetEnvironment().GetVariables()
			if len(vars) != 2 || vars[0].Name != "A" || vars[1].Name != "FOB_EXECUTOR_BIND" || vars[1].GetValue() != "0.0.0.0" {
				t.Errorf("environment = %+v", vars)
			}
			if c := sumScalar(ei.Resources, resCPUs); toMilli(c) != toMilli(executorCPUs) {
				t.Errorf("executor cpus = %v", c)
			}
			if m := sumScalar(ei.Resources, resMem); m != executorMemoryMB {
				t.Errorf("executor mem = %v", m)
			}

			if tt.image == "" {
				if ei.Container != nil {
					t.Errorf("container without an image: %+v", ei.Container)
				}
			} else {
				c := ei.Container
				if c.GetType() != mesos.ContainerInfo_DOCKER || c.Docker == nil || c.Docker.Image != tt.image ||
					c.Docker.GetNetwork() != mesos.ContainerInfo_DockerInfo_BRIDGE {
					t.Fatalf("container = %+v", c)
				}
				pm := c.Docker.PortMappings
				if len(pm) != 1 || pm[0].HostPort != ln.port || pm[0].ContainerPort != ln.port {
					t.Errorf("port mappings = %+v", pm)
				}
			}

			if got := labelMap(ti.Labels); len(got) != len(tt.wantLabel) {
				t.Errorf("labels = %v, want %v", got, tt.wantLabel)
			} else {
				for k, v := range tt.wantLabel {
					if got[k] != v {
						t.Errorf("label %s = %q, want %q", k, got[k], v)
					}
				}
			}
			d := ti.Discovery
			if d == nil || d.Visibility != mesos.FRAMEWORK || d.Ports == nil || len(d.Ports.Ports) != 1 ||
				d.Ports.Ports[0].Number != ln.port || d.Ports.Ports[0].GetName() != "http" {
				t.Errorf("discovery = %+v", d)
			}

			// The whole TaskInfo survives the wire.
			b, err := ti.Marshal()
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			var back mesos.TaskInfo
			if err := back.Unmarshal(b); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
		})
	}
}

func TestNewTaskID(t *testing.T) {
	tests := []struct {
		fn      string
		version uint64
		pattern string
	}{
		{"abc123", 7, `^fob\.abc123\.v7\.[0-9a-f]{8}$`},
		{"we/ird\\ id", 1, `^fob\.we_ird__id\.v1\.[0-9a-f]{8}$`},
		{strings.Repeat("x", 300), 2, `^fob\.x{200}\.v2\.[0-9a-f]{8}$`},
	}
	for _, tt := range tests {
		id := newTaskID(tt.fn, tt.version)
		if !regexp.MustCompile(tt.pattern).MatchString(id) {
			t.Errorf("newTaskID(%q, %d) = %q, want %s", tt.fn, tt.version, id, tt.pattern)
		}
	}
	if newTaskID("f", 1) == newTaskID("f", 1) {
		t.Error("task ids repeat")
	}
	if s := newSecret(); len(s) != 64 || s == newSecret() {
		t.Errorf("secret %q", s)
	}
}
