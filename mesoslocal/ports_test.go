package mesoslocal

import "testing"

func TestSplitPorts(t *testing.T) {
	const res = "cpus:4;mem:8192;ports:[31000-32000]"
	tests := []struct {
		name      string
		resources string
		n, i      int
		want      string
	}{
		{"one agent keeps all", res, 1, 0, res},
		{"first of two", res, 2, 0, "cpus:4;mem:8192;ports:[31000-31499]"},
		{"last of two takes the rest", res, 2, 1, "cpus:4;mem:8192;ports:[31500-32000]"},
		{"middle of three", res, 3, 1, "cpus:4;mem:8192;ports:[31333-31665]"},
		{"role kept", "ports(*):[100-199]", 2, 1, "ports(*):[150-199]"},
		{"added later gets all", res, 2, 2, res},
		{"no ports", "cpus:1", 2, 0, "cpus:1"},
		{"two ranges left alone", "ports:[1-10,20-30]", 2, 0, "ports:[1-10,20-30]"},
		{"too small to share", "ports:[5-5]", 2, 0, "ports:[5-5]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := splitPorts(tc.resources, tc.n, tc.i)
			if got != tc.want {
				t.Fatalf("splitPorts(%q, %d, %d) = %q, want %q", tc.resources, tc.n, tc.i, got, tc.want)
			}
			if _, err := ParseResources(got); err != nil {
				t.Fatalf("result %q does not parse: %v", got, err)
			}
		})
	}
}

// The agents a cluster starts with offer disjoint ports.
func TestClusterAgentsOfferDisjointPorts(t *testing.T) {
	c, err := Start(t.Context(), Config{Agents: 2, AgentResources: "cpus:1;mem:256;ports:[40000-40099]"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ranges [][2]uint64
	for _, a := range c.Agents() {
		for _, r := range a.Info().Resources {
			if r.Name == "ports" {
				for _, rg := range r.GetRanges().GetRange() {
					ranges = append(ranges, [2]uint64{rg.Begin, rg.End})
				}
			}
		}
	}
	want := [][2]uint64{{40000, 40049}, {40050, 40099}}
	if len(ranges) != 2 || ranges[0] != want[0] || ranges[1] != want[1] {
		t.Fatalf("agents offer ports %v, want %v", ranges, want)
	}
}
