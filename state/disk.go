package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	memdb "github.com/hashicorp/go-memdb"
	bolt "go.etcd.io/bbolt"
)

// disk is the durable copy of the store: one bbolt bucket per table, JSON
// values keyed by id. Writes go through bolt's Batch, which folds concurrent
// writers into one fsync (group commit).
type disk struct {
	db *bolt.DB
}

// tableTypes says which Go type each persisted table holds.
var tableTypes = map[string]reflect.Type{
	tableFunctions: reflect.TypeOf(Function{}),
	tableTasks:     reflect.TypeOf(Task{}),
	tableStatuses:  reflect.TypeOf(FunctionStatus{}),
	tableMeta:      reflect.TypeOf(meta{}),
}

func openDisk(path string) (*disk, error) {
	// The timeout turns a second fob on the same data dir into an error
	// instead of a silent hang on the file lock.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	if err := checkLength(db, path); err != nil { // before any write extends it
		db.Close()
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for table := range tableTypes {
			if _, err := tx.CreateBucketIfNotExists([]byte(table)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare state file %s: %w", path, err)
	}
	// A short batch delay keeps group commit for concurrent writers without
	// making a lone writer (the scheduler's event loop) wait for company.
	db.MaxBatchDelay = 200 * time.Microsecond
	return &disk{db: db}, nil
}

func (d *disk) close() error { return d.db.Close() }

func (d *disk) put(table, key string, obj any) error {
	val, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return d.db.Batch(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(table)).Put([]byte(key), val)
	})
}

// apply writes ops in one bbolt transaction (one fsync). The values are
// encoded first so the write transaction, which bbolt may run again alone
// if another writer of the same group commit fails, holds no encoding.
func (d *disk) apply(ops []batchOp) error {
	vals := make([][]byte, len(ops))
	for i, op := range ops {
		if op.obj == nil {
			continue
		}
		val, err := json.Marshal(op.obj)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", op.table, op.key, err)
		}
		vals[i] = val
	}
	return d.db.Batch(func(tx *bolt.Tx) error {
		for i, op := range ops {
			b := tx.Bucket([]byte(op.table))
			var err error
			if op.obj == nil {
				err = b.Delete([]byte(op.key))
			} else {
				err = b.Put([]byte(op.key), vals[i])
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", op.table, op.key, err)
			}
		}
		return nil
	})
}

func (d *disk) delete(table, key string) error {
	return d.db.Batch(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(table)).Delete([]byte(key))
	})
}

// load copies every persisted object into db. Any value that does not decode
// fails the whole load: starting with part of the state would silently
// forget functions clients were told about.
func (d *disk) load(db *memdb.MemDB) error {
	txn := db.Txn(true)
	defer txn.Abort()
	err := d.db.View(func(tx *bolt.Tx) error {
		for table, typ := range tableTypes {
			b := tx.Bucket([]byte(table))
			if b == nil {
				return fmt.Errorf("bucket %s missing", table)
			}
			err := b.ForEach(func(k, v []byte) error {
				obj := reflect.New(typ).Interface()
				if err := json.Unmarshal(v, obj); err != nil {
					return fmt.Errorf("decode %s %q: %w", table, k, err)
				}
				return txn.Insert(table, obj)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return errors.Join(errors.New("state file unreadable"), err)
	}
	txn.Commit()
	return nil
}
