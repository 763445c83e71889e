package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a program the cluster runs, which a test can kill and start
// again. Its output, across restarts, goes to one log file.
type Process struct {
	Name    string
	LogPath string
	path    string
	args    []string
	env     []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	runs int
}

// StartProcess starts path with args and exactly env as its environment
// (nothing is inherited, so the process sees only what the test chose),
// logging to logPath.
func StartProcess(name, logPath, path string, args, env []string) (*Process, error) {
	p := &Process{Name: name, LogPath: logPath, path: path, args: args, env: env}
	return p, p.Start()
}

// Start starts the process again after Kill or Stop.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.done: // it exited by itself: start it again
		default:
			return fmt.Errorf("%s is already running", p.Name)
		}
	}
	log, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	p.runs++
	fmt.Fprintf(log, "\n=== %s: start %d at %s\n", p.Name, p.runs, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.path, p.args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = p.env, log, log
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	return nil
}

// SetEnv replaces the environment the process gets when it next starts:
// how a test redeploys a worker with new settings (stop, SetEnv, Start).
func (p *Process) SetEnv(env []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.env = env
}

// SetProgram replaces the program that runs when the process next starts:
// how a test upgrades it to another build.
func (p *Process) SetProgram(path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.path = path
}

// Kill ends the process at once with SIGKILL, as a crash or an
// out-of-memory kill would: no shutdown code runs.
func (p *Process) Kill() error { return p.signal(syscall.SIGKILL, 0) }

// Stop asks the process to stop with SIGTERM and waits up to grace for it
// before killing it.
func (p *Process) Stop(grace time.Duration) error { return p.signal(syscall.SIGTERM, grace) }

func (p *Process) signal(sig syscall.Signal, grace time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil
	}
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signalling %s: %w", p.Name, err)
	}
	if sig != syscall.SIGKILL {
		select {
		case <-done:
			return nil
		case <-time.After(grace):
			_ = cmd.Process.Kill()
		}
	}
	<-done
	return nil
}

// Running says whether the process has been started and has not exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// LastRun is what the process has written since it was last started.
func (p *Process) LastRun() string {
	log := p.Log()
	if i := strings.LastIndex(log, "\n=== "+p.Name+": start "); i >= 0 {
		return log[i:]
	}
	return log
}

// Log is what the process has written so far, across its runs.
func (p *Process) Log() string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", p.LogPath, err)
	}
	return string(b)
}
