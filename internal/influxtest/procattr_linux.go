package influxtest

import (
	"os/exec"
	"syscall"
)

// orphanProof makes the kernel kill influxd if the test binary dies without cleaning up
// (e.g. on a test timeout), so no instance outlives the run.
func orphanProof(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
