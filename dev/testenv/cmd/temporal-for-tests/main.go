// Command temporal-for-tests runs the Temporal server that every test
// binary of a scripts/test run shares (see dev/testenv), in a process
// of its own so that it is built without the race detector the tests run
// under. It writes the server's address to the file named by -address-file
// once the server is ready, and runs until interrupted or terminated, or
// until the process that started it has gone (a test script killed
// outright must not leave a server behind).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/infuse-cymru/journeys/dev/testenv"
)

func main() {
	addressFile := flag.String("address-file", "", "file to write the server's host:port to once it is ready (required)")
	flag.Parse()
	if err := run(*addressFile); err != nil {
		fmt.Fprintln(os.Stderr, "temporal-for-tests:", err)
		os.Exit(1)
	}
}

func run(addressFile string) error {
	if addressFile == "" {
		return errors.New("-address-file is required")
	}
	ts, err := testenv.StartServer()
	if err != nil {
		return err
	}
	defer testenv.Stop(ts)
	// Written to a temporary name and renamed, so that a reader never sees
	// half an address.
	tmp := addressFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(ts.GetFrontendHostPort()), 0o600); err != nil {
		return fmt.Errorf("writing the address: %w", err)
	}
	if err := os.Rename(tmp, addressFile); err != nil {
		return fmt.Errorf("writing the address: %w", err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	parent := os.Getppid()
	orphaned := time.NewTicker(time.Second)
	defer orphaned.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-orphaned.C:
			if os.Getppid() != parent {
				return errors.New("the process that started the server has gone: stopping")
			}
		}
	}
}
