//go:build !pantau_small

package cli

// agentMemoryLimitMB is `probe run`'s soft memory limit when the config sets none: a
// probe on a board or a server has room.
const agentMemoryLimitMB = 48
