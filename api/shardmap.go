package api

import (
	"hash/maphash"
	"slices"
)

// routeShards is how many pieces the route index's maps are cut into.
// Published pieces are never changed: an update builds new pieces for the
// keys it touches (about 40 entries each at 10,000 functions) and copies
// the array of pointers to them, never the whole index.
const routeShards = 256

// shardedMap is an immutable map from strings, cut into routeShards
// pieces. A lookup hashes the key once and uses the hash both to pick the
// piece and to probe it; a Go map per piece would hash the key again.
type shardedMap[V any] [routeShards]*shard[V]

// shard is one piece: an open-addressing table (linear probing, at most
// half full) of entries that keep the key's hash, so a probe compares
// strings only on a hash match. Hash 0 marks an empty entry.
type shard[V any] struct {
	entries []entry[V]
	n       int
}

type entry[V any] struct {
	hash uint64
	key  string
	val  V
}

// shardSeed is fixed for the process so every table shards alike.
var shardSeed = maphash.MakeSeed()

func hashKey(key string) uint64 {
	return maphash.String(shardSeed, key) | 1 // never 0, the empty mark
}

func shardOf(h uint64) int { return int(h % routeShards) }

func (m *shardedMap[V]) get(key string) (V, bool) {
	h := hashKey(key)
	if s := m[shardOf(h)]; s != nil {
		mask := uint64(len(s.entries) - 1)
		for i := (h >> 8) & mask; ; i = (i + 1) & mask {
			e := &s.entries[i]
			if e.hash == 0 {
				break
			}
			if e.hash == h && e.key == key {
				return e.val, true
			}
		}
	}
	var zero V
	return zero, false
}

// each calls fn for every entry, in no particular order.
func (m *shardedMap[V]) each(fn func(key string, val V)) {
	for _, s := range m {
		if s == nil {
			continue
		}
		for i := range s.entries {
			if e := &s.entries[i]; e.hash != 0 {
				fn(e.key, e.val)
			}
		}
	}
}

// shardEdit collects changes to a shardedMap and builds the next one. Only
// the pieces of changed keys are copied; the rest are shared.
type shardEdit[V any] struct {
	base    *shardedMap[V]
	changed map[int]*shard[V] // private copies of the pieces being edited
}

func newShardEdit[V any](base *shardedMap[V]) *shardEdit[V] {
	return &shardEdit[V]{base: base, changed: map[int]*shard[V]{}}
}

// get reads through the pending changes.
func (e *shardEdit[V]) get(key string) (V, bool) {
	h := hashKey(key)
	if s, ok := e.changed[shardOf(h)]; ok {
		if i := s.find(h, key); i >= 0 {
			return s.entries[i].val, true
		}
		var zero V
		return zero, false
	}
	return e.base.get(key)
}

func (e *shardEdit[V]) set(key string, val V) {
	h := hashKey(key)
	e.piece(h).set(h, key, val)
}

func (e *shardEdit[V]) remove(key string) {
	h := hashKey(key)
	e.piece(h).remove(h, key)
}

// piece returns the private copy of hash h's piece, made on first use.
func (e *shardEdit[V]) piece(h uint64) *shard[V] {
	i := shardOf(h)
	s, ok := e.changed[i]
	if !ok {
		if b := e.base[i]; b != nil {
			s = &shard[V]{entries: slices.Clone(b.entries), n: b.n}
		} else {
			s = &shard[V]{entries: make([]entry[V], 8)}
		}
		e.changed[i] = s
	}
	return s
}

// result returns the next map: the base's pieces, with the edited copies
// in place of the changed ones.
func (e *shardEdit[V]) result() shardedMap[V] {
	next := *e.base
	for i, s := range e.changed {
		if s.n == 0 {
			s = nil
		}
		next[i] = s
	}
	return next
}

// find returns the index of key's entry, or -1.
func (s *shard[V]) find(h uint64, key string) int {
	mask := uint64(len(s.entries) - 1)
	for i := (h >> 8) & mask; ; i = (i + 1) & mask {
		e := &s.entries[i]
		if e.hash == 0 {
			return -1
		}
		if e.hash == h && e.key == key {
			return int(i)
		}
	}
}

func (s *shard[V]) set(h uint64, key string, val V) {
	if i := s.find(h, key); i >= 0 {
		s.entries[i].val = val
		return
	}
	if 2*(s.n+1) > len(s.entries) {
		s.grow()
	}
	s.put(entry[V]{hash: h, key: key, val: val})
	s.n++
}

// put places e in the first free entry of its probe sequence.
func (s *shard[V]) put(e entry[V]) {
	mask := uint64(len(s.entries) - 1)
	i := (e.hash >> 8) & mask
	for s.entries[i].hash != 0 {
		i = (i + 1) & mask
	}
	s.entries[i] = e
}

func (s *shard[V]) grow() {
	old := s.entries
	s.entries = make([]entry[V], 2*len(old))
	for _, e := range old {
		if e.hash != 0 {
			s.put(e)
		}
	}
}

// remove deletes key, moving later entries of its probe run back so that
// no lookup stops early at the hole (no tombstones).
func (s *shard[V]) remove(h uint64, key string) {
	i := s.find(h, key)
	if i < 0 {
		return
	}
	mask := len(s.entries) - 1
	for j := (i + 1) & mask; s.entries[j].hash != 0; j = (j + 1) & mask {
		home := int(s.entries[j].hash>>8) & mask
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			s.entries[i] = s.entries[j]
			i = j
		}
	}
	s.entries[i] = entry[V]{}
	s.n--
}
