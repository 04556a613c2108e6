package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A file cut anywhere below the database's size is refused, even where
// the pages in use all lie before the cut and reading would not fault.
func TestFileShorterThanItsDatabaseIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fob.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutFunction(testFunction("f", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	db.Close()
	if err := os.Truncate(path, size-1); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err == nil {
		s.Close()
		t.Fatal("opening a truncated state file succeeded; want an error")
	}
	if !strings.Contains(err.Error(), "truncated") {
		t.Errorf("error %q does not say the file is truncated", err)
	}
}
