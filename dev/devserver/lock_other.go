//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package devserver

// dirLock is a no-op where flock(2) is not available.
type dirLock struct{}

func lockDir(string) (*dirLock, error) { return &dirLock{}, nil }

func (*dirLock) release() {}
