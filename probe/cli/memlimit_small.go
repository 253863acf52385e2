//go:build pantau_small

package cli

// agentMemoryLimitMB is `probe run`'s soft memory limit when the config sets none, in the
// small build for routers (`make dist`'s mips and mipsle): tight enough that the bundled
// schedules stay within a router's means (docs/scaling.md, Memory of `probe run` on a
// small device).
const agentMemoryLimitMB = 16
