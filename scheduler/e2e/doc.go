// Package e2e runs fob's scheduler against mesoslocal, the embedded Mesos
// master and agent, over real loopback HTTP. It holds tests only; they live
// apart from package scheduler so its unit tests do not depend on
// mesoslocal.
package e2e
