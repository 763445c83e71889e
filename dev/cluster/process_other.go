//go:build !linux

package cluster

import "syscall"

// dieWithParent: only Linux has a parent-death signal; elsewhere the
// test's cleanup stops the children.
func dieWithParent() *syscall.SysProcAttr { return nil }
