package mesoslocal

import (
	"context"
	"fmt"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Agents of one cluster share a host: AgentResourcesFor gives each its own
// port range, for the agents started with the cluster and those added
// later.
func TestAgentResourcesFor(t *testing.T) {
	c, err := Start(context.Background(), Config{
		Agents:  2,
		WorkDir: t.TempDir(),
		AgentResourcesFor: func(n int) string {
			return fmt.Sprintf("cpus:1;mem:64;ports:[%d-%d]", 30000+10*n, 30009+10*n)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.AddAgent(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, a := range c.Agents() {
		info := a.Info()
		want := fmt.Sprintf("[%d-%d]", 30000+10*i, 30009+10*i)
		if got := mesosPorts(info.Resources); got != want {
			t.Errorf("agent %d offers ports %s, want %s", i, got, want)
		}
	}
}

// mesosPorts renders the ports resource of rs.
func mesosPorts(rs mesos.Resources) string {
	for _, r := range rs {
		if r.Name == "ports" && r.Ranges != nil {
			out := ""
			for _, rg := range r.Ranges.Range {
				out += fmt.Sprintf("[%d-%d]", rg.Begin, rg.End)
			}
			return out
		}
	}
	return ""
}
