// Package funclog keeps a function's log: what its workers write to stdout
// and stderr, bounded on disk and readable while it grows.
//
// The workers share one pipe as their stdout and stderr. One goroutine in
// the executor drains it into <dir>/function.log; past MaxFileBytes the
// file becomes function.log.1 (replacing the previous one) and a new
// function.log starts, so an instance never holds more than two files'
// worth of log however much the function prints.
//
// A pipe rather than the file itself is what makes the bound hold: a child
// writing straight to a file cannot be stopped short of killing it, while
// the pipe's reader decides what reaches the disk. The reader never stops
// reading (a failed disk write drops the data and counts it), so a function
// that floods its output is slowed to the disk's pace but never blocked for
// good, and memory use is one fixed buffer.
package funclog
