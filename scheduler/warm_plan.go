package scheduler

import (
	"sort"
	"time"

	"github.com/fob-project/fob/state"
)

// The warm pool, in the plan: per language, fob keeps warmInput.size stems,
// tasks launched like instances (default limits, through ordinary offers)
// whose executors run warm workers without a function. A function that
// wants an instance is handed a running stem of its language, if one fits,
// instead of waiting for an offer; the plan then wants a stem launched in
// its place. warm.go carries the plan out.

// specialiseTimeout bounds the wait for a specialised stem's labelled
// TASK_RUNNING. A scheduler MESSAGE is best-effort: when it is lost the
// stem would wait forever, so it is killed and the function launched anew.
// Loading the code is quick; a load slower than this (a heavy import on a
// busy machine) costs a second, ordinary launch.
const specialiseTimeout = 5 * time.Second

// warmInput is the warm pool's part of planInput.
type warmInput struct {
	// size is how many unused stems to keep per language; 0: none.
	size int
	// languages are those whose driver can start a worker without code.
	languages []string
}

// specialisation hands a running stem to a function.
type specialisation struct {
	stem *state.Task
	fn   *state.Function
}

// stemFunction stands for a stem in a want: a function of the language
// with no id, whose default limits are the stem's resources.
func stemFunction(language string) *state.Function {
	return &state.Function{Language: language}
}

// isStemFunction reports whether f is a stemFunction.
func isStemFunction(f *state.Function) bool {
	return f.ID == ""
}

// stemLimits are the resources and pool size every stem is launched with.
var stemLimits = limitsOf(stemFunction(""))

// planWarm serves p.wants with running stems where it can, and wants stems
// launched (or killed) so that size unused ones remain per pooled language.
// Stems of languages not pooled (any more) are killed. byFn holds the
// tasks of each function, to keep a version whose pooled instance failed
// off the pool.
func planWarm(p *plan, in planInput, stems []*state.Task, byFn map[string][]*state.Task) {
	pooled := map[string]bool{}
	if in.warm.size > 0 {
		for _, lang := range in.warm.languages {
			pooled[lang] = true
		}
	}
	byLang := map[string][]*state.Task{}
	for _, t := range stems {
		byLang[t.Language] = append(byLang[t.Language], t)
	}
	langs := make([]string, 0, len(byLang)+len(pooled))
	for lang := range byLang {
		langs = append(langs, lang)
	}
	for lang := range pooled {
		if _, ok := byLang[lang]; !ok {
			langs = append(langs, lang)
		}
	}
	sort.Strings(langs)

	unused := map[string][]*state.Task{} // live stems nobody took, best first
	held := map[string]bool{}
	for _, lang := range langs {
		var ended []*state.Task
		for _, t := range byLang[lang] {
			switch {
			case t.State.Terminal():
				ended = append(ended, t)
			case t.State == state.TaskKilling:
				p.kills = append(p.kills, t) // resent while it lives
			case !live(t.State):
				// Unreachable: not counted; a KILL could not reach it.
			case !pooled[lang]:
				p.kills = append(p.kills, t)
			default:
				unused[lang] = append(unused[lang], t)
			}
		}
		// Running stems first, older first: the plan hands out the
		// front and, past size, kills from the back.
		unused[lang] = rankTasks(unused[lang])
		held[lang] = holdStems(p, ended, in.now)
	}

	// Serve the functions' wants, in their order, with running stems.
	kept := p.wants[:0]
	for _, w := range p.wants {
		lang := w.fn.Language
		ready := 0
		for _, t := range unused[lang] {
			if t.State == state.TaskRunning && t.Port != 0 {
				ready++
			}
		}
		if n := min(w.count, ready); n > 0 && poolable(w.fn, byFn[w.fn.ID], in.now) {
			for _, t := range unused[lang][:n] {
				p.specialise = append(p.specialise, specialisation{stem: t, fn: w.fn})
			}
			unused[lang] = unused[lang][n:]
			w.count -= n
		}
		if w.count > 0 {
			kept = append(kept, w)
		}
	}
	p.wants = kept

	// Refill, after the functions' wants: an offer serves them first.
	for _, lang := range langs {
		if !pooled[lang] {
			continue
		}
		switch have := len(unused[lang]); {
		case have < in.warm.size && !held[lang]:
			p.wants = append(p.wants, want{fn: stemFunction(lang), count: in.warm.size - have})
		case have > in.warm.size:
			p.kills = append(p.kills, unused[lang][in.warm.size:]...)
		}
	}
}

// rankTasks sorts tasks as surplus keeps them: running before starting
// before staging, older before newer.
func rankTasks(tasks []*state.Task) []*state.Task {
	return surplus(tasks, 0)
}

// holdStems forgets all but the newest keepTerminal ended stems of one
// language and reports whether launching more must wait: stems that keep
// failing (a runtime missing on the agents, say) are relaunched with the
// same backoff as a failing function, from the last failure.
func holdStems(p *plan, ended []*state.Task, now time.Time) bool {
	sort.Slice(ended, func(i, j int) bool { return ended[i].UpdatedAt.After(ended[j].UpdatedAt) })
	if len(ended) > keepTerminal {
		for _, t := range ended[keepTerminal:] {
			p.forget = append(p.forget, t.ID)
		}
		ended = ended[:keepTerminal]
	}
	streak := 0
	for _, t := range ended {
		if !failure(t.State) {
			break
		}
		streak++
	}
	if streak == 0 {
		return false
	}
	delay := relaunchBackoff.delay(streak-1, nil)
	if streak >= crashLoopAfter {
		delay = relaunchBackoff.max
	}
	until := ended[0].UpdatedAt.Add(delay)
	if !until.After(now) {
		return false
	}
	if p.wake.IsZero() || until.Before(p.wake) {
		p.wake = until
	}
	return true
}

// poolable reports whether an instance of f may come from the pool: its
// cpus and memory equal a stem's (the stem's container already has its
// cgroup limits, so a smaller function there would not be held to its own
// limits, nor told the right one when it passes them), its workers fit
// (loading code into warm workers is the point, starting more is what a
// launch does), and no
// instance of this version that came from the pool has ended or timed out.
// After such trouble the version launches the ordinary way, so a path that
// does not work (an executor that ignores MESSAGE, say) is tried once.
func poolable(f *state.Function, tasks []*state.Task, now time.Time) bool {
	lim := limitsOf(f)
	if toMilli(lim.CPUs) != toMilli(stemLimits.CPUs) || lim.MemoryMB != stemLimits.MemoryMB ||
		lim.Concurrency > stemLimits.Concurrency {
		return false
	}
	for _, t := range tasks {
		if t.Version != f.Version || t.SpecialisedAt.IsZero() {
			continue
		}
		if !live(t.State) || !now.Before(t.SpecialisedAt.Add(specialiseTimeout)) && t.State != state.TaskRunning {
			return false
		}
	}
	return true
}

// specialisationExpired reports whether t is a stem told to load its
// function that has not said it did within specialiseTimeout. While it
// still may, the plan wakes when it would expire.
func specialisationExpired(p *plan, t *state.Task, now time.Time) bool {
	if t.SpecialisedAt.IsZero() || t.State != state.TaskStarting {
		return false
	}
	deadline := t.SpecialisedAt.Add(specialiseTimeout)
	if now.Before(deadline) {
		if p.wake.IsZero() || deadline.Before(p.wake) {
			p.wake = deadline
		}
		return false
	}
	return true
}
