package mesoslocal

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func TestParseResources(t *testing.T) {
	tests := []struct {
		in      string
		want    string // mesos.Resources.String of the result
		wantErr bool
	}{
		{in: DefaultAgentResources, want: "cpus:4;mem:8192;disk:10240;ports:[31000-32000]"},
		{in: "cpus:0.5", want: "cpus:0.5"},
		{in: " cpus(*):2 ; mem:64 ;", want: "cpus:2;mem:64"},
		{in: "ports:[31000-31001, 32000-32000]", want: "ports:[31000-31001,32000]"},
		{in: "zones:{a,b}", want: "zones:{a,b}"},
		{in: "", wantErr: true},
		{in: "cpus", wantErr: true},
		{in: "cpus:x", wantErr: true},
		{in: "cpus:-1", wantErr: true},
		{in: "cpus:1;cpus:2", wantErr: true},
		{in: "cpus(web):1", wantErr: true},
		{in: "ports:[2-1]", wantErr: true},
		{in: "ports:[1-2", wantErr: true},
		{in: "ports:[1]", wantErr: true},
		{in: ":1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseResources(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want error, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := mesos.Resources(got).String(); s != tc.want {
				t.Fatalf("got %q, want %q", s, tc.want)
			}
		})
	}
}
