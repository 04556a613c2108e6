package master

import (
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// Conformance: 19
func TestJSONNumericEnumsRefused(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name string
		body string
	}{
		{"call type", `{"type":1,"subscribe":{"framework_info":{"user":"u","name":"n"}}}`},
		{"call type with folded key", `{"TYPE":1,"subscribe":{"framework_info":{"user":"u","name":"n"}}}`},
		{"nested capability type", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","capabilities":[{"type":6}]}}}`},
		{"operation type inside accept", `{"type":"ACCEPT","framework_id":{"value":"f"},"accept":{"offer_ids":[{"value":"o"}],"operations":[{"type":1}]}}`},
		{"resource type in a launched task", `{"type":"ACCEPT","framework_id":{"value":"f"},"accept":{"offer_ids":[{"value":"o"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"resources":[{"name":"cpus","type":0,"scalar":{"value":1}}]}]}}]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// mesos-go's own decoder takes the number; the master must not.
			var c scheduler.Call
			if err := c.UnmarshalJSON([]byte(tc.body)); err != nil {
				t.Fatalf("mesos-go refuses the body itself (%v): the case tests nothing", err)
			}
			resp := h.rawPost(http.MethodPost, mediaJSON, "", "", []byte(tc.body))
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "not expecting a JSON number") {
				t.Fatalf("status %d (%s), want 400 for a numeric enum", resp.StatusCode, body)
			}
		})
	}
	t.Run("numbers in other fields are fine", func(t *testing.T) {
		body := `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","failover_timeout":5,"capabilities":[{"type":"MULTI_ROLE"}],"roles":["r"]}}}`
		resp := h.rawPost(http.MethodPost, mediaJSON, "", "", []byte(body))
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("status %d (%s), want 200", resp.StatusCode, b)
		}
	})
}

// Test-only message shapes for the enum forms no scheduler call uses at
// the top level: a map of messages and a repeated enum.
type enumHolder struct {
	State mesos.TaskState `protobuf:"varint,1,req,name=state,enum=mesos.TaskState" json:"state"`
}

type enumMap struct {
	Holders map[string]enumHolder `protobuf:"bytes,1,rep,name=holders" json:"holders"`
}

// Conformance: 19
func TestCheckJSONEnumsShapes(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
		body string
		ok   bool
	}{
		{"repeated enum by name", reflect.TypeOf(mesos.CSIPluginContainerInfo{}), `{"services":["NODE_SERVICE"]}`, true},
		{"repeated enum by number", reflect.TypeOf(mesos.CSIPluginContainerInfo{}), `{"services":["NODE_SERVICE",2]}`, false},
		{"map value by name", reflect.TypeOf(enumMap{}), `{"holders":{"x":{"state":"TASK_RUNNING"}}}`, true},
		{"map value by number", reflect.TypeOf(enumMap{}), `{"holders":{"x":{"state":1}}}`, false},
		{"null enum", reflect.TypeOf(enumHolder{}), `{"state":null}`, true},
		{"unknown key with a number", reflect.TypeOf(enumHolder{}), `{"other":1}`, true},
		{"bytes field", reflect.TypeOf(scheduler.Call_Message{}), `{"data":"AAEC"}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkJSONEnums([]byte(tc.body), tc.typ)
			if (err == nil) != tc.ok {
				t.Fatalf("checkJSONEnums(%s) = %v, want ok=%v", tc.body, err, tc.ok)
			}
		})
	}
}
