package api

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fob-project/fob/state"
)

func TestParseRegistration(t *testing.T) {
	defaults := state.Limits{MemoryMB: 128, CPUs: 0.1, Timeout: 30 * time.Second, Concurrency: 1}
	tests := []struct {
		name        string
		query       string
		contentType string
		body        string
		errHas      string
		check       func(t *testing.T, reg registration)
	}{
		{name: "defaults", body: "def callme(): pass", check: func(t *testing.T, reg registration) {
			if reg.lang != "python" || reg.limits != defaults || reg.instances != 1 {
				t.Fatalf("got %+v", reg)
			}
		}},
		{name: "query limits", query: "memory=256&cpus=0.5&timeout=1.5&concurrency=4&instances=2&name=adder", body: "x", check: func(t *testing.T, reg registration) {
			want := state.Limits{MemoryMB: 256, CPUs: 0.5, Timeout: 1500 * time.Millisecond, Concurrency: 4}
			if reg.limits != want || reg.instances != 2 || reg.name != "adder" {
				t.Fatalf("got %+v", reg)
			}
		}},
		{name: "json body", contentType: "application/json", body: `{"code": "def callme(): pass", "memory": 64, "timeout": 0.25, "name": "j"}`, check: func(t *testing.T, reg registration) {
			if string(reg.code) != "def callme(): pass" || reg.limits.MemoryMB != 64 || reg.limits.Timeout != 250*time.Millisecond || reg.name != "j" {
				t.Fatalf("got %+v", reg)
			}
		}},
		{name: "json without code", contentType: "application/json", body: `{"memory": 64}`, errHas: `no "code"`},
		{name: "json unknown key", contentType: "application/json", body: `{"code": "x", "mem": 64}`, errHas: "unknown field"},
		{name: "memory too small", query: "memory=1", body: "x", errHas: "memory must be a whole number between 32 and 8192 MB"},
		{name: "memory fraction", query: "memory=64.5", body: "x", errHas: "whole number"},
		{name: "cpus too large", query: "cpus=100", body: "x", errHas: "cpus must be a number between 0.01 and 8"},
		{name: "timeout not a number", query: "timeout=soon", body: "x", errHas: "timeout must be a number"},
		{name: "timeout NaN", query: "timeout=NaN", body: "x", errHas: "timeout must be a number"},
		{name: "concurrency zero", query: "concurrency=0", body: "x", errHas: "concurrency"},
		{name: "instances too many", contentType: "application/json", body: `{"code": "x", "instances": 1000}`, errHas: "instances must be"},
		{name: "unknown lang", query: "lang=cobol", body: "x", errHas: "unknown language"},
		{name: "empty", body: "", errHas: "empty body"},
		{name: "id-shaped name", query: "name=5d0c1f6e-8a8b-4c47-9d8e-0e9f7a6b5c4d", body: "x", errHas: "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/gen?"+tc.query, strings.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			reg, err := parseRegistration(r, []byte(tc.body), defaults, 1)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, reg)
		})
	}
}

func TestUpdateAndDelete(t *testing.T) {
	h := newHarness(t, Config{})
	id := h.register("def callme(): return 1")
	status, out := h.do("PUT", "/api/functions/"+id+"?memory=64", "def callme(): return 2")
	if status != 200 || out["version"] != 2.0 {
		t.Fatalf("update = %d %v", status, out)
	}
	f, err := h.store.Function(nil, id)
	if err != nil || string(f.Code) != "def callme(): return 2" || f.Limits.MemoryMB != 64 || f.Language != "python" {
		t.Fatalf("stored %+v, %v", f, err)
	}
	if status, _ := h.do("PUT", "/api/functions/"+id+"?memory=1", "x"); status != 400 {
		t.Fatalf("bad update status = %d", status)
	}
	if status, _ := h.do("DELETE", "/api/functions/"+id, ""); status != 200 {
		t.Fatalf("delete status = %d", status)
	}
	waitFor(t, func() bool { s, _ := h.do("GET", "/api/call/"+id, ""); return s == 404 })
	if status, _ := h.do("DELETE", "/api/functions/"+id, ""); status != 404 {
		t.Fatalf("second delete status = %d", status)
	}
}
