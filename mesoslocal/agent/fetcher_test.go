package agent

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func zipped(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

// Conformance: 121
func TestFetcher(t *testing.T) {
	files := map[string][]byte{
		"/bin/tool":        []byte("#!/bin/sh\necho tool\n"),
		"/pkg/app.tar.gz":  tarGz(t, map[string]string{"app/main.py": "print(1)", "app/lib/util.py": "x = 1"}),
		"/pkg/bundle.zip":  zipped(t, map[string]string{"bundle/data.txt": "zip data"}),
		"/pkg/evil.tar.gz": tarGz(t, map[string]string{"../escape.txt": "nope"}),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	local := filepath.Join(t.TempDir(), "local.txt")
	if err := os.WriteFile(local, []byte("local"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		uri     mesos.CommandInfo_URI
		check   map[string]string // path -> content
		exec    string            // path that must be executable
		wantErr string
	}{
		{"http executable", mesos.CommandInfo_URI{Value: srv.URL + "/bin/tool", Executable: boolp(true)},
			map[string]string{"tool": "#!/bin/sh\necho tool\n"}, "tool", ""},
		{"output file", mesos.CommandInfo_URI{Value: srv.URL + "/bin/tool", OutputFile: strp("sub/renamed")},
			map[string]string{"sub/renamed": "#!/bin/sh\necho tool\n"}, "", ""},
		{"tar.gz extracted", mesos.CommandInfo_URI{Value: srv.URL + "/pkg/app.tar.gz"},
			map[string]string{"app/main.py": "print(1)", "app/lib/util.py": "x = 1"}, "", ""},
		{"extract false keeps archive", mesos.CommandInfo_URI{Value: srv.URL + "/pkg/app.tar.gz", Extract: boolp(false)},
			map[string]string{"app.tar.gz": string(files["/pkg/app.tar.gz"])}, "", ""},
		{"zip extracted", mesos.CommandInfo_URI{Value: srv.URL + "/pkg/bundle.zip"},
			map[string]string{"bundle/data.txt": "zip data"}, "", ""},
		{"local path", mesos.CommandInfo_URI{Value: local}, map[string]string{"local.txt": "local"}, "", ""},
		{"file url", mesos.CommandInfo_URI{Value: "file://" + local, OutputFile: strp("copy.txt")},
			map[string]string{"copy.txt": "local"}, "", ""},
		{"http 404", mesos.CommandInfo_URI{Value: srv.URL + "/missing"}, nil, "", "404"},
		{"missing local file", mesos.CommandInfo_URI{Value: "/nonexistent/file"}, nil, "", "no such file"},
		{"unsupported scheme", mesos.CommandInfo_URI{Value: "hdfs://nn/file"}, nil, "", "unsupported scheme"},
		{"output file escapes", mesos.CommandInfo_URI{Value: local, OutputFile: strp("../x")}, nil, "", "outside the sandbox"},
		{"archive entry escapes", mesos.CommandInfo_URI{Value: srv.URL + "/pkg/evil.tar.gz"}, nil, "", "leaves the sandbox"},
	}
	f := newFetcher(5 * time.Second)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			err := f.fetchAll(context.Background(), dir, []mesos.CommandInfo_URI{tc.uri})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.uri.Value) {
					t.Fatalf("error %v, want one naming the uri and containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for p, want := range tc.check {
				got, err := os.ReadFile(filepath.Join(dir, p))
				if err != nil || string(got) != want {
					t.Fatalf("%s: %q, %v", p, got, err)
				}
			}
			if tc.exec != "" {
				st, err := os.Stat(filepath.Join(dir, tc.exec))
				if err != nil || st.Mode().Perm()&0o111 == 0 {
					t.Fatalf("%s not executable: %v %v", tc.exec, st.Mode(), err)
				}
			}
		})
	}
}

// Conformance: 121, 122
func TestFetchedExecutableRuns(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("#!/bin/sh\necho fetched-and-ran\n"))
	}))
	defer srv.Close()
	m := newFakeMaster(true)
	a := newTestAgent(t, m, nil)
	a.LaunchTask(testFramework(), commandTask("t1", &mesos.CommandInfo{
		Value: strp("./run.sh"),
		URIs:  []mesos.CommandInfo_URI{{Value: srv.URL + "/run.sh", Executable: boolp(true)}},
	}))
	m.waitUpdate(t, "t1", mesos.TASK_FINISHED)
	if out := readSandboxFile(t, a, "t1", "stdout"); !strings.Contains(out, "fetched-and-ran") {
		t.Fatalf("stdout %q", out)
	}
}

// Conformance: 121
func TestFetchFailureFailsTask(t *testing.T) {
	m := newFakeMaster(true)
	a := newTestAgent(t, m, nil)
	uri := "http://127.0.0.1:1/executor"
	a.LaunchTask(testFramework(), testTask("t1", &mesos.ExecutorInfo{
		ExecutorID: mesos.ExecutorID{Value: "e1"},
		Command:    &mesos.CommandInfo{Value: strp("./executor"), URIs: []mesos.CommandInfo_URI{{Value: uri}}},
	}))
	st := m.waitUpdate(t, "t1", mesos.TASK_FAILED)
	if st.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED || !strings.Contains(st.GetMessage(), uri) {
		t.Fatalf("fetch failure update: %s %q", st.GetReason(), st.GetMessage())
	}
	if ws := m.waitTerminated(t, "e1"); ws != -1 {
		t.Fatalf("wait status %d, want -1 for a container that never ran", ws)
	}
}
