package cluster

import "syscall"

// dieWithParent makes the kernel kill the child when the test binary
// exits, even by SIGKILL, so that no server outlives its test.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
