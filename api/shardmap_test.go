package api

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// A shardedMap edited through random sets and removes, in edits of random
// size, holds what a Go map does, and never changes a published map.
func TestShardedMapMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var m shardedMap[int]
	want := map[string]int{}
	for round := range 400 {
		before := m
		beforeWant := map[string]int{}
		for k, v := range want {
			beforeWant[k] = v
		}
		e := newShardEdit(&m)
		for range 1 + r.IntN(60) {
			// Few keys, so pieces fill up, grow, and empty again.
			k := fmt.Sprintf("k%d", r.IntN(3000))
			if r.IntN(3) == 0 {
				e.remove(k)
				delete(want, k)
			} else {
				v := r.Int()
				e.set(k, v)
				want[k] = v
			}
			wv, wok := want[k]
			if got, ok := e.get(k); ok != wok || got != wv {
				t.Fatalf("round %d: edit reads %s = %d, %v; want %d, %v", round, k, got, ok, wv, wok)
			}
		}
		m = e.result()
		n := 0
		m.each(func(k string, v int) {
			n++
			if want[k] != v {
				t.Fatalf("round %d: %s = %d, want %d", round, k, v, want[k])
			}
		})
		if n != len(want) {
			t.Fatalf("round %d: %d entries, want %d", round, n, len(want))
		}
		for k, v := range want {
			if got, ok := m.get(k); !ok || got != v {
				t.Fatalf("round %d: get %s = %d, %v; want %d", round, k, got, ok, v)
			}
		}
		for k, v := range beforeWant {
			if got, ok := before.get(k); !ok || got != v {
				t.Fatalf("round %d: the published map changed: %s = %d, %v; want %d", round, k, got, ok, v)
			}
		}
	}
}
