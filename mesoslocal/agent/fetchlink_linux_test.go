//go:build linux

package agent

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// A local executable is linked when the container could not change it,
// copied otherwise; a later fetch to the same name replaces the link and
// leaves the host file as it was.
func TestFetcherLinksSafeLocalExecutables(t *testing.T) {
	srcDir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(srcDir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\necho "+name+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name   string
		mode   os.FileMode
		exec   bool
		linked bool
	}{
		{"runnable by all, writable by owner", 0o755, true, true},
		{"read-only for all", 0o555, true, true},
		{"not an executable uri", 0o755, false, false},
		{"group writable", 0o775, true, false},
		{"others cannot run it", 0o750, true, false},
		{"set-uid", 0o755 | os.ModeSetuid, true, false},
	}
	f := newFetcher(5 * time.Second)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := write("tool", tc.mode)
			sandbox := t.TempDir()
			uri := mesos.CommandInfo_URI{Value: src, Executable: boolp(tc.exec), Extract: boolp(false)}
			if err := f.fetchAll(context.Background(), sandbox, []mesos.CommandInfo_URI{uri}); err != nil {
				t.Fatal(err)
			}
			srcSt, _ := os.Stat(src)
			dstSt, err := os.Stat(filepath.Join(sandbox, "tool"))
			if err != nil {
				t.Fatal(err)
			}
			if got := os.SameFile(srcSt, dstSt); got != tc.linked {
				t.Errorf("linked %v, want %v", got, tc.linked)
			}
			if tc.exec && dstSt.Mode().Perm()&0o111 != 0o111 {
				t.Errorf("fetched mode %v, want runnable by all", dstSt.Mode())
			}
		})
	}

	t.Run("refetch replaces the link", func(t *testing.T) {
		first, second := write("first", 0o755), write("second", 0o755)
		sandbox := t.TempDir()
		uris := []mesos.CommandInfo_URI{
			{Value: first, Executable: boolp(true), OutputFile: strp("tool")},
			{Value: "file://" + second, OutputFile: strp("tool")}, // copied: not executable
		}
		if err := f.fetchAll(context.Background(), sandbox, uris); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(first); string(b) != "#!/bin/sh\necho first\n" {
			t.Errorf("the first source was written through the link: %q", b)
		}
		if b, _ := os.ReadFile(filepath.Join(sandbox, "tool")); string(b) != "#!/bin/sh\necho second\n" {
			t.Errorf("sandbox file %q", b)
		}
	})

	t.Run("symlinked source links its target", func(t *testing.T) {
		target := write("target", 0o755)
		link := filepath.Join(srcDir, "link")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		sandbox := t.TempDir()
		uri := mesos.CommandInfo_URI{Value: link, Executable: boolp(true)}
		if err := f.fetchAll(context.Background(), sandbox, []mesos.CommandInfo_URI{uri}); err != nil {
			t.Fatal(err)
		}
		dst, err := os.Lstat(filepath.Join(sandbox, "link"))
		if err != nil {
			t.Fatal(err)
		}
		tgt, _ := os.Stat(target)
		if !dst.Mode().IsRegular() || !os.SameFile(dst, tgt) {
			t.Errorf("fetched %v, want the symlink's target linked", dst.Mode())
		}
	})
}

// BenchmarkFetchExecutable compares shipping a 20 MB executable (the size
// of fob's binary) by link and by copy, each into a fresh sandbox.
func BenchmarkFetchExecutable(b *testing.B) {
	for _, bc := range []struct {
		name string
		mode os.FileMode
	}{{"link", 0o755}, {"copy", 0o775}} {
		b.Run(bc.name, func(b *testing.B) {
			src := filepath.Join(b.TempDir(), "fob")
			if err := os.WriteFile(src, make([]byte, 20<<20), 0o600); err != nil {
				b.Fatal(err)
			}
			if err := os.Chmod(src, bc.mode); err != nil {
				b.Fatal(err)
			}
			f := newFetcher(time.Minute)
			uris := []mesos.CommandInfo_URI{{Value: src, Executable: boolp(true), Extract: boolp(false)}}
			parent := b.TempDir()
			for i := 0; b.Loop(); i++ {
				sandbox := filepath.Join(parent, strconv.Itoa(i))
				if err := os.Mkdir(sandbox, 0o755); err != nil {
					b.Fatal(err)
				}
				if err := f.fetchAll(context.Background(), sandbox, uris); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
