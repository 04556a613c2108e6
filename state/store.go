package state

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sync"

	memdb "github.com/hashicorp/go-memdb"
)

// ErrNotFound is returned when a looked-up object does not exist.
var ErrNotFound = errors.New("not found")

// ErrNameTaken is returned when a function name is already in use.
var ErrNameTaken = errors.New("name already taken")

// keyStripes is how many locks each table's keys are spread over.
const keyStripes = 64

// Store holds fob's state in memory, backed by an optional durable file.
type Store struct {
	db   *memdb.MemDB
	disk *disk // nil: memory only
	// keyLocks keep the disk and memory orders of writes to one key equal
	// while writes to different keys still share one disk sync. Each
	// table has its own stripes so that the scheduler's batches, which
	// lock many keys at once, never hold up the API's function writes.
	keyLocks map[string]*[keyStripes]sync.Mutex

	// pubMu orders the commits to memdb with their publication to
	// watches, so every watch sees changes in commit order and a new
	// watch's snapshot holds exactly what was published before it.
	pubMu   sync.Mutex
	watches map[*Watch]struct{}
}

// NewMemory returns a store that keeps nothing on disk, for tests and for
// deployments that rebuild state elsewhere.
func NewMemory() (*Store, error) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("create state schema: %w", err)
	}
	s := &Store{db: db, keyLocks: map[string]*[keyStripes]sync.Mutex{}, watches: map[*Watch]struct{}{}}
	for _, table := range tableOrder {
		s.keyLocks[table] = new([keyStripes]sync.Mutex)
	}
	return s, nil
}

// Open returns a store backed by the bbolt file at path, loading everything
// it holds. A file that cannot be read is an error, never an empty start.
func Open(path string) (_ *Store, err error) {
	defer guardRead(path, &err)()
	s, err := NewMemory()
	if err != nil {
		return nil, err
	}
	d, err := openDisk(path)
	if err != nil {
		return nil, err
	}
	if err := d.load(s.db); err != nil {
		d.close()
		return nil, err
	}
	s.disk = d
	return s, nil
}

// Close releases the durable file.
func (s *Store) Close() error {
	if s.disk == nil {
		return nil
	}
	return s.disk.close()
}

// stripe is the index of the lock that guards key in its table.
func stripe(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % keyStripes)
}

func (s *Store) lockKey(table, key string) func() {
	m := &s.keyLocks[table][stripe(key)]
	m.Lock()
	return m.Unlock
}

// commit makes a write transaction visible and hands its changes to every
// watch, in commit order.
func (s *Store) commit(txn *memdb.Txn) {
	changes := txn.Changes()
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	txn.Commit()
	if len(changes) == 0 {
		return
	}
	for w := range s.watches {
		w.add(changes)
	}
}

// upsert makes obj durable and then visible.
func (s *Store) upsert(table, key string, obj any, check func(*memdb.Txn) error) error {
	defer s.lockKey(table, key)()
	if check != nil {
		txn := s.db.Txn(false)
		err := check(txn)
		txn.Abort()
		if err != nil {
			return err
		}
	}
	if s.disk != nil {
		if err := s.disk.put(table, key, obj); err != nil {
			return fmt.Errorf("persist %s %s: %w", table, key, err)
		}
	}
	txn := s.db.Txn(true)
	defer txn.Abort()
	txn.TrackChanges()
	if err := txn.Insert(table, obj); err != nil {
		return fmt.Errorf("insert %s %s: %w", table, key, err)
	}
	s.commit(txn)
	return nil
}

// remove deletes the object with key from table, durably. Removing what is
// not there is not an error.
func (s *Store) remove(table, key string) error {
	defer s.lockKey(table, key)()
	if s.disk != nil {
		if err := s.disk.delete(table, key); err != nil {
			return fmt.Errorf("persist delete %s %s: %w", table, key, err)
		}
	}
	txn := s.db.Txn(true)
	defer txn.Abort()
	txn.TrackChanges()
	if _, err := txn.DeleteAll(table, indexID, key); err != nil {
		return fmt.Errorf("delete %s %s: %w", table, key, err)
	}
	s.commit(txn)
	return nil
}

// first returns the object in table whose index equals arg, adding the
// lookup's watch channel to ws when ws is not nil.
func (s *Store) first(ws memdb.WatchSet, table, index, arg string) (any, error) {
	return first(s.db.Txn(false), ws, table, index, arg)
}

func first(txn *memdb.Txn, ws memdb.WatchSet, table, index, arg string) (any, error) {
	watch, obj, err := txn.FirstWatch(table, index, arg)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	ws.Add(watch)
	if obj == nil {
		return nil, ErrNotFound
	}
	return obj, nil
}

// all returns every object in table whose index equals args (all objects
// when index is indexID and args is empty).
func (s *Store) all(ws memdb.WatchSet, table, index string, args ...any) ([]any, error) {
	return all(s.db.Txn(false), ws, table, index, args...)
}

func all(txn *memdb.Txn, ws memdb.WatchSet, table, index string, args ...any) ([]any, error) {
	it, err := txn.Get(table, index, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", table, err)
	}
	ws.Add(it.WatchCh())
	var out []any
	for obj := it.Next(); obj != nil; obj = it.Next() {
		out = append(out, obj)
	}
	return out, nil
}
