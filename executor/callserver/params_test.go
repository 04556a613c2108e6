package callserver

import (
	"encoding/json"
	"testing"
)

func TestCheckObject(t *testing.T) {
	cases := []struct {
		body string
		ok   bool
	}{
		{`{}`, true},
		{` {"a": 1, "b": [true, null]} `, true},
		{"\n\t{\"a\":\"x\"}\r\n", true},
		{``, false},
		{`   `, false},
		{`[]`, false},
		{`"x"`, false},
		{`null`, false},
		{`{"a":}`, false},
		{`{} {}`, false},
		{`{"a":1`, false},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			if err := checkObject([]byte(c.body)); (err == nil) != c.ok {
				t.Errorf("checkObject(%q) = %v, want ok=%v", c.body, err, c.ok)
			}
		})
	}
}

// FuzzCheckObject: checkObject accepts exactly what decodes as a JSON object.
func FuzzCheckObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `[1]`, ` {"a":{"b":[1,2,{}]}} `, `{"a":1}}`, `nul`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var m map[string]any
		decodes := json.Unmarshal(body, &m) == nil && m != nil
		if ok := checkObject(body) == nil; ok != decodes {
			t.Errorf("checkObject(%q) ok=%v, json.Unmarshal into a map ok=%v", body, ok, decodes)
		}
	})
}
