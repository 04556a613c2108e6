package scheduler

// wantSet holds the instances each function still wants launched, as the
// last plan of that function said, in the order the functions started
// wanting: offers serve the longest waiting first. Offers are packed from
// it without planning anything again.
type wantSet struct {
	byKey map[string]*wantEntry
	// order is first come first served; removed entries are marked and
	// dropped when the order is next listed.
	order []*wantEntry
}

type wantEntry struct {
	key     string
	w       want
	removed bool
}

func newWantSet() *wantSet {
	return &wantSet{byKey: map[string]*wantEntry{}}
}

// wantKey names a want: the function's id, or the language of a stem of
// the warm pool.
func wantKey(w want) string {
	if isStemFunction(w.fn) {
		return "stem/" + w.fn.Language
	}
	return w.fn.ID
}

// len is the number of functions (and stem languages) wanting instances.
func (s *wantSet) len() int { return len(s.byKey) }

// set records w, keeping its place if its function already waits.
func (s *wantSet) set(w want) {
	key := wantKey(w)
	if w.count <= 0 {
		s.remove(key)
		return
	}
	if e := s.byKey[key]; e != nil {
		e.w = w
		return
	}
	e := &wantEntry{key: key, w: w}
	s.byKey[key] = e
	s.order = append(s.order, e)
}

func (s *wantSet) remove(key string) {
	if e := s.byKey[key]; e != nil {
		e.removed = true
		delete(s.byKey, key)
	}
}

// keep removes every want for which keep returns false.
func (s *wantSet) keep(keep func(key string, w want) bool) {
	for key, e := range s.byKey {
		if !keep(key, e.w) {
			s.remove(key)
		}
	}
}

// list returns the wants in order, as copies whose counts pack may use up.
func (s *wantSet) list() []want {
	kept := s.order[:0]
	out := make([]want, 0, len(s.byKey))
	for _, e := range s.order {
		if e.removed {
			continue
		}
		kept = append(kept, e)
		out = append(out, e.w)
	}
	clear(s.order[len(kept):])
	s.order = kept
	return out
}
