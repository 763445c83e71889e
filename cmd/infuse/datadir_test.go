//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/dev/devserver"
	"github.com/infuse-cymru/journeys/dev/testdeps"
	"github.com/infuse-cymru/journeys/dev/testenv"
)

// What `infuse dev` does when its data directory cannot be written: it is
// read-only, or the disk holding it is full (issue 11, faults survived).
// The system under test is a real `infuse dev` process: the test binary
// started again as infuse (see init), on a real data directory, so that it
// can run as another user, in another mount namespace, and be stopped as
// a person stops it (Ctrl+C).

// devChildEnv holds, as JSON, the command line that the test binary runs
// as infuse instead of its tests.
const devChildEnv = "INFUSE_TEST_RUN_AS_INFUSE"

// mountNamespaceEnv marks a test binary started in a mount namespace of
// its own, where it may mount a small disk (TestDevDataDirDiskFull).
const mountNamespaceEnv = "INFUSE_TEST_IN_MOUNT_NAMESPACE"

func init() {
	if argv, ok := os.LookupEnv(devChildEnv); ok {
		var args []string
		if err := json.Unmarshal([]byte(argv), &args); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", devChildEnv, err)
			os.Exit(exitInvalid)
		}
		os.Exit(run(context.Background(), args, os.Stdin, os.Stdout, os.Stderr))
	}
}

// TestDevDataDirReadOnly: `infuse dev` on a data directory it may not
// write to refuses to start, with one line naming the directory and what
// to do, exit 1, and leaves the directory as it was; given write access
// again, it starts on what it had. SQLite opens a file it may not write
// read-only without a word: unchecked, the store started read-only and
// failed every change, or Temporal failed with a screen of stack traces
// after the store had made its side files.
//
// chmod stops no one running as root, and the tests may run as root: then
// `infuse dev` runs as the user nobody.
func TestDevDataDirReadOnly(t *testing.T) {
	isolateEnv(t)
	base, runner := devAsSomeoneElse(t)
	locked := filepath.Join(base, "locked")
	mkdirMode(t, locked, 0o555, nil)

	t.Run("a new directory where it may not make one", func(t *testing.T) {
		dir := filepath.Join(locked, "data")
		runner.refuses(t, dir, "cannot write to the data directory "+dir+" (mkdir "+dir+": permission denied)", "--data-dir")
		if entries, _ := os.ReadDir(locked); len(entries) != 0 {
			t.Errorf("%s has %d entries, want none", locked, len(entries))
		}
	})
	t.Run("an empty directory it may not write to", func(t *testing.T) {
		runner.refuses(t, locked, "cannot write to the data directory "+locked+" (write a file in "+locked+": permission denied)", "--data-dir")
		if entries, _ := os.ReadDir(locked); len(entries) != 0 {
			t.Errorf("%s has %d entries, want none", locked, len(entries))
		}
	})

	// Its own directory, with the databases of a first run in it.
	dir := filepath.Join(base, "kept")
	mkdirMode(t, dir, 0o750, runner.cred)
	first := runner.start(t, dir)
	first.waitUntilUp(t)
	first.stop(t)
	before := fileHashes(t, dir)
	for _, c := range []struct {
		what, path string
		mode       fs.FileMode
		says       string
	}{
		{"the store read-only", filepath.Join(dir, storeFileName), 0o444, "(open " + filepath.Join(dir, storeFileName) + ": permission denied)"},
		{"Temporal's database read-only", filepath.Join(dir, devserver.DatabaseFile), 0o444, "(open " + filepath.Join(dir, devserver.DatabaseFile) + ": permission denied)"},
		{"the directory read-only", dir, 0o555, "(write a file in " + dir + ": permission denied)"},
		{"the mailbox folder read-only", filepath.Join(dir, "mailbox"), 0o555, "(write a file in " + filepath.Join(dir, "mailbox") + ": permission denied)"},
	} {
		t.Run(c.what, func(t *testing.T) {
			info, err := os.Stat(c.path)
			if err != nil {
				t.Fatal(err)
			}
			mustChmod(t, c.path, c.mode)
			defer mustChmod(t, c.path, info.Mode().Perm())
			runner.refuses(t, dir, "cannot write to the data directory "+dir+" "+c.says, "--data-dir")
			sameFiles(t, dir, before)
		})
	}
	// Write access back: it starts on what it had.
	again := runner.start(t, dir)
	again.waitUntilUp(t)
	again.stop(t)
}

// TestDevDataDirDiskFull: `infuse dev` on a disk that is full, that fills
// while it runs, and that is then mounted read-only.
//
// The disk is a real one, only small: a 64 MiB tmpfs, filled by a file as
// another program would fill it, so SQLite, Temporal and the mailbox meet
// ENOSPC (SQLITE_FULL, "database or disk is full") wherever they write, as
// on a full disk, and the space comes back when the file goes. The
// alternatives take other paths: under RLIMIT_FSIZE a write past the limit
// fails with EFBIG (Go catches the SIGXFSZ that comes with it), which
// SQLite reports as a disk I/O error, not SQLITE_FULL; PRAGMA
// max_page_count limits one database on one connection, set from inside
// the process. Mounting needs CAP_SYS_ADMIN: the test runs again in a
// mount namespace of its own, as root if it runs as root, otherwise in a
// user namespace of its own too (no privilege needed where the kernel
// allows unprivileged user namespaces), so the disk is that process's
// alone and goes with it.
//
// At start, a full disk is refused in one line that names the directory
// and what to do, leaving no half-made database. While it runs, a request
// that needs to write answers 503 with a problem (try again later: it is
// not the request's fault), or succeeds (SQLite may find room in a file it
// has already grown), and what it answered is what
// happened: a person whose import failed is not in the store after, one
// whose import succeeded is; at least one must fail, or the disk never
// looked full to the store. The mailbox turns away a message it cannot
// keep whole (451: try later) and leaves no part of it, so `infuse mail
// list` shows none. The process keeps running and, once there is space,
// carries on: changes go through and the mail they send arrives whole.
// Its databases pass SQLite's integrity check after.
func TestDevDataDirDiskFull(t *testing.T) {
	if os.Getenv(mountNamespaceEnv) == "" {
		runInMountNamespace(t)
		return
	}
	isolateEnv(t)
	disk := filepath.Join(t.TempDir(), "disk")
	mkdirMode(t, disk, 0o755, nil)
	if err := syscall.Mount("tmpfs", disk, "tmpfs", 0, "size=64m,mode=0755"); err != nil {
		testdeps.Missing(t, fmt.Sprintf("mounting a small tmpfs in a mount namespace of the test's own (%v)", err),
			"run the tests as root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu, sysctl kernel.apparmor_restrict_unprivileged_userns=0)")
	}
	t.Cleanup(func() { _ = syscall.Unmount(disk, syscall.MNT_DETACH) }) // before TempDir's removal: cleanups run last first
	runner := devRunner{bin: os.Args[0]}
	dir := filepath.Join(disk, "data")

	t.Run("full at start", func(t *testing.T) {
		release := fillDisk(t, disk, 0)
		runner.refuses(t, dir, "the disk holding the data directory "+dir+" is full (write a file in "+dir+": no space left on device)", "--data-dir")
		noDatabases(t, dir)
		release()
		// Room for the check, not for Temporal's database.
		release = fillDisk(t, disk, 64<<10)
		runner.refuses(t, dir, "the disk holding the data directory "+dir+" is full (database or disk is full)", "--data-dir")
		noDatabases(t, dir)
		release()
	})

	p := runner.start(t, dir)
	p.waitUntilUp(t)
	w := &world{t: t, database: filepath.Join(dir, storeFileName)}
	t.Setenv("TEMPORAL_ADDRESS", p.temporal)
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	w.must("people", "import", w.writeFile("people.csv", peopleFile))
	token := w.jsonField("token", "token", "create", "--person", "megan@example.org", "--role", "coordinator", "--name", "disk test")
	rfc := func(d time.Duration) string { return time.Now().Add(d).Format(time.RFC3339) }
	intake := w.jsonField("id", "intake", "create", "--name", "Cohort 1", "--capacity", "2",
		"--opens", rfc(-time.Hour), "--closes", rfc(48*time.Hour), "--starts", time.Now().AddDate(0, 0, 4).Format("2006-01-02"),
		"--coordinator", "megan@example.org")
	journey := w.jsonField("journey", "apply", "--intake", intake, "--person", "carys@example.org")
	api := "http://" + p.api + "/api"

	var landed, refused []string // e-mail addresses of people imported while the disk was full
	t.Run("fills while running", func(t *testing.T) {
		release := fillDisk(t, disk, 0)
		defer release()
		for i := range 3 {
			email := fmt.Sprintf("full%d@example.org", i)
			code, ctype, body := devAPICall(t, http.MethodPost, api+"/people/import", token, "text/csv",
				"role,given_name,family_name,email,local_authority,theme,language\n"+
					"participant,Llawn,Rhif"+strconv.Itoa(i)+","+email+",Cardiff,communities,cy\n")
			switch {
			case code == http.StatusOK:
				landed = append(landed, email) // there was room for it after all
			case code == http.StatusServiceUnavailable && ctype == "application/problem+json" && strings.Contains(body, `"detail":"`):
				refused = append(refused, email)
			default:
				t.Errorf("importing a person on a full disk: %d %s %s; want 503 with a problem (or 200)", code, ctype, body)
			}
		}
		t.Logf("on a full disk, imports refused: %v; imported after all: %v", refused, landed)
		if len(refused) == 0 {
			t.Errorf("every import on a full disk succeeded (%v): the disk never looked full to the store", landed)
		}
		if err := sendToMailbox(p.smtp, "full", 1<<10); !is451(err) {
			t.Errorf("a message to the mailbox on a full disk: %v, want 451 (try later)", err)
		}
		noPartialMail(t, dir)
		w.must("mail", "list", "--data-dir", dir)
		p.stillRunning(t)
	})

	t.Run("too little room for a message", func(t *testing.T) {
		release := fillDisk(t, disk, 128<<10)
		defer release()
		if err := sendToMailbox(p.smtp, "big", 1<<20); !is451(err) {
			t.Errorf("a 1 MiB message to the mailbox with 128 KiB free: %v, want 451 (try later)", err)
		}
		noPartialMail(t, dir)
		p.stillRunning(t)
	})

	t.Run("space back", func(t *testing.T) {
		retryUntil(t, "importing a person once there is space", func() (bool, string) {
			code, _, body := devAPICall(t, http.MethodPost, api+"/people/import", token, "text/csv",
				"role,given_name,family_name,email,local_authority,theme,language\nparticipant,Lle,Eto,back@example.org,Cardiff,communities,cy\n")
			return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
		})
		retryUntil(t, "offering the journey once there is space", func() (bool, string) {
			code, _, body := devAPICall(t, http.MethodPost, api+"/journeys/"+journey+"/decision", token, "application/json", `{"decision":"offer"}`)
			return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
		})
		// The offer, delivered to the mailbox; every message in it reads whole.
		list := w.eventually([]string{"carys@example.org"}, "mail", "list", "--data-dir", dir)
		for _, line := range strings.Split(list, "\n") {
			if strings.Contains(line, "carys@example.org") {
				fields := strings.Fields(line)
				w.must("mail", "show", fields[len(fields)-1], "--data-dir", dir)
			}
		}
		var listed []struct{ Email string }
		w.jsonInto(&listed, "people", "list")
		have := map[string]bool{}
		for _, p := range listed {
			have[p.Email] = true
		}
		for _, email := range append([]string{"back@example.org"}, landed...) {
			if !have[email] {
				t.Errorf("%s was imported (200) but is not in the store", email)
			}
		}
		for _, email := range refused {
			if have[email] {
				t.Errorf("%s is in the store, but its import failed", email)
			}
		}
	})

	p.stop(t)
	for _, db := range []string{storeFileName, devserver.DatabaseFile} {
		integrityOK(t, filepath.Join(dir, db))
	}

	t.Run("read-only file system", func(t *testing.T) {
		if err := syscall.Mount("", disk, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			t.Fatalf("remounting the disk read-only: %v", err)
		}
		runner.refuses(t, dir, "the data directory "+dir+" is on a read-only file system (write a file in "+dir+": read-only file system)", "--data-dir")
	})
}

// runInMountNamespace runs the calling test again, in a test binary of its
// own in a new mount namespace (and user namespace, unless root), and
// reports what it reported.
func runInMountNamespace(t *testing.T) {
	t.Helper()
	timeout := 15 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = time.Until(d) - 10*time.Second // to report before go test gives up
	}
	if timeout < time.Minute {
		t.Fatalf("%v left of -timeout: too little to run %s", timeout, t.Name())
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v", "-test.timeout="+timeout.String())
	cmd.Env = append(os.Environ(), mountNamespaceEnv+"=1")
	// Go makes every mount private in the new namespace, so that the small
	// disk stays in it; and the run dies with this one.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err != nil && !errors.As(err, &exit):
		testdeps.Missing(t, fmt.Sprintf("a mount namespace of the test's own (%v)", err),
			"run the tests as root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu, sysctl kernel.apparmor_restrict_unprivileged_userns=0)")
	case err != nil:
		t.Fatalf("in a mount namespace of its own: %v\n%s", err, out)
	case bytes.Contains(out, []byte("--- SKIP: "+t.Name()+" ")):
		t.Skipf("in a mount namespace of its own:\n%s", out)
	}
	t.Logf("in a mount namespace of its own:\n%s", out)
}

// devRunner starts `infuse dev` processes: the test binary bin, run as
// cred (nil: as this process).
type devRunner struct {
	bin  string
	cred *syscall.Credential
}

// devAsSomeoneElse is a directory for data directories, and a runner
// for whom chmod means something: this process unless it runs as root,
// else the user nobody, running a link to the test binary placed where
// nobody may run it (go test's build directory is root's alone).
func devAsSomeoneElse(t *testing.T) (string, devRunner) {
	t.Helper()
	base, err := os.MkdirTemp("", "infuse-datadir-") // not t.TempDir: its parent is for this user alone
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(path, 0o755) // the locked directories, so that they can be removed
			}
			return nil
		})
		_ = os.RemoveAll(base)
	})
	mustChmod(t, base, 0o755)
	if os.Geteuid() != 0 {
		return base, devRunner{bin: os.Args[0]}
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		testdeps.Missing(t, "the user nobody (to run `infuse dev` as someone chmod applies to)", "useradd --system nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	bin := filepath.Join(base, "infuse")
	if info, err := os.Stat(os.Args[0]); err != nil || info.Mode().Perm()&0o001 == 0 || os.Link(os.Args[0], bin) != nil {
		copyBinary(t, os.Args[0], bin) // a copy anyone may run
	}
	return base, devRunner{bin: bin, cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
}

// devProcess is one `infuse dev`.
type devProcess struct {
	cmd                 *exec.Cmd
	args                []string
	api, smtp, temporal string // their host:port
	stdout, stderr      *devOutput
	done                chan struct{} // closed when it has exited; then code is its exit code
	code                int
	stopOnce            sync.Once
}

// start starts `infuse dev` on dataDir, on free ports, and stops it when
// the test ends if the test has not.
func (r devRunner) start(t *testing.T, dataDir string) *devProcess {
	t.Helper()
	port := func() string { _, p, _ := strings.Cut(testenv.ClosedPort(t), ":"); return p }
	temporalPort, smtpPort := port(), port()
	p := &devProcess{api: "127.0.0.1:" + port(), smtp: "127.0.0.1:" + smtpPort, temporal: "127.0.0.1:" + temporalPort,
		stdout: &devOutput{}, stderr: &devOutput{}, done: make(chan struct{})}
	p.args = []string{"dev", "--data-dir", dataDir, "--port", temporalPort, "--ui-port", "0", "--http", p.api, "--mail-port", smtpPort}
	args, err := json.Marshal(p.args)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(r.bin)
	p.cmd.Env = append(os.Environ(), devChildEnv+"="+string(args))
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	// Killed with the test binary, should it die (a timeout) before its cleanups stop it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting infuse dev: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.stop(t)
		}
	})
	return p
}

func (p *devProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// describe is the command line and what it printed, for messages.
func (p *devProcess) describe() string {
	return fmt.Sprintf("infuse %s\nstdout:\n%s\nstderr:\n%s", strings.Join(p.args, " "), p.stdout, p.stderr)
}

// refuses runs `infuse dev` on dataDir, which must refuse to start: exit
// 1, nothing on standard output, and on standard error one line, the
// message, containing every fragment; not the layers of what failed
// inside.
func (r devRunner) refuses(t *testing.T, dataDir string, fragments ...string) {
	t.Helper()
	p := r.start(t, dataDir)
	deadline := time.Now().Add(patience)
	for !p.exited() {
		if code, _ := get(t, "http://"+p.api+"/healthz"); code == http.StatusOK {
			t.Fatalf("infuse dev started; it should have refused:\n%s", p.describe())
		}
		if time.Now().After(deadline) {
			t.Fatalf("infuse dev neither refused nor started within %v:\n%s", patience, p.describe())
		}
		time.Sleep(100 * time.Millisecond)
	}
	stderr := p.stderr.String()
	if p.code != exitFailed || p.stdout.String() != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "infuse: ") {
		t.Errorf("infuse dev exited %d, want %d with one line on stderr and nothing on stdout:\n%s", p.code, exitFailed, p.describe())
	}
	for _, f := range fragments {
		if !strings.Contains(stderr, f) {
			t.Errorf("the refusal does not say %q:\n%s", f, stderr)
		}
	}
	for _, layer := range []string{"sqlitestore:", "devserver:", "(13)", "(8)", "(1544)", "goroutine "} {
		if strings.Contains(stderr, layer) {
			t.Errorf("the refusal shows what failed inside (%q):\n%s", layer, stderr)
		}
	}
}

// waitUntilUp waits until the API answers, failing if the process ends.
func (p *devProcess) waitUntilUp(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(devStartTimeout)
	for {
		code, _ := get(t, "http://"+p.api+"/healthz")
		if code == http.StatusOK {
			return
		}
		if p.exited() {
			t.Fatalf("infuse dev exited %d before it was up:\n%s", p.code, p.describe())
		}
		if time.Now().After(deadline) {
			t.Fatalf("infuse dev was not up within %v:\n%s", devStartTimeout, p.describe())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stillRunning fails the test if the process has ended.
func (p *devProcess) stillRunning(t *testing.T) {
	t.Helper()
	if p.exited() {
		t.Fatalf("infuse dev exited %d:\n%s", p.code, p.describe())
	}
}

// stop interrupts the process as Ctrl+C does; it must exit 0.
func (p *devProcess) stop(t *testing.T) {
	t.Helper()
	p.stopOnce.Do(func() {
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("interrupting infuse dev: %v", err)
		}
		select {
		case <-p.done:
			if p.code != exitOK {
				t.Errorf("infuse dev exited %d on Ctrl+C, want 0:\n%s", p.code, p.describe())
			}
		case <-time.After(patience):
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Errorf("infuse dev did not stop within %v of Ctrl+C:\n%s", patience, p.describe())
		}
	})
}

// devOutput is a buffer a process writes to while the test reads it.
type devOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *devOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *devOutput) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fillDisk takes the free space of the file system holding dir but leave
// bytes, with a file, as another program filling the disk would, and
// returns what gives the space back. With leave 0 it goes on taking
// whatever is freed until then: a SQLite transaction that fails on a full
// disk deletes its journal, giving back what the journal had taken.
func fillDisk(t *testing.T, dir string, leave int64) (release func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	take := func() error {
		for _, chunk := range [][]byte{make([]byte, 1<<20), make([]byte, 4<<10)} {
			for {
				_, err := f.Write(chunk)
				if errors.Is(err, syscall.ENOSPC) {
					break
				}
				if err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := take(); err != nil {
		t.Fatalf("filling the disk: %v", err)
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	if leave > 0 {
		info, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(info.Size() - leave); err != nil {
			t.Fatal(err)
		}
		close(stopped)
	} else {
		go func() {
			defer close(stopped)
			for {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
					_ = take()
				}
			}
		}()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if leave == 0 {
				close(stop)
			}
			<-stopped
			f.Close()
			if err := os.Remove(path); err != nil {
				t.Errorf("giving the space back: %v", err)
			}
		})
	}
}

// devAPICall sends one API request as token, with a new Idempotency-Key,
// and returns the status (0 without an answer), the Content-Type and the
// body (or the error).
func devAPICall(t *testing.T, method, url, token, contentType, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Idempotency-Key", fmt.Sprintf("datadir-%d", time.Now().UnixNano()))
	c := http.Client{Timeout: commandTimeout}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err.Error()
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// sendToMailbox sends a message of about size bytes to the mailbox at addr.
func sendToMailbox(addr, id string, size int) error {
	msg := "From: test@example.org\r\nTo: someone@example.org\r\nSubject: " + id + "\r\nMessage-ID: <" + id +
		"@example.org>\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", size/80+1)
	return smtp.SendMail(addr, nil, "test@example.org", []string{"someone@example.org"}, []byte(msg))
}

func is451(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code == 451
}

// noPartialMail fails the test if the mailbox folder holds any file: the
// test's messages were all turned away, and a turned-away message leaves
// nothing, not even its temporary file.
func noPartialMail(t *testing.T, dataDir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dataDir, "mailbox"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("the mailbox holds %s after every message was turned away", e.Name())
	}
}

// noDatabases fails the test if a refused start left a database behind
// (or a piece of one: a journal or a write-ahead log).
func noDatabases(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".db") || strings.HasPrefix(e.Name(), ".infuse-write-check") {
			t.Errorf("a refused start left %s in %s", e.Name(), dir)
		}
	}
}

// integrityOK runs SQLite's integrity check on the database at path.
func integrityOK(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var result string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&result); err != nil || result != "ok" {
		t.Errorf("%s: integrity check: %q, %v", path, result, err)
	}
}

// fileHashes is every file under dir, with a hash of its content.
func fileHashes(t *testing.T, dir string) map[string][sha256.Size]byte {
	t.Helper()
	files := map[string][sha256.Size]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		files[path] = sha256.Sum256(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// sameFiles fails the test if the files under dir are not those of before.
func sameFiles(t *testing.T, dir string, before map[string][sha256.Size]byte) {
	t.Helper()
	after := fileHashes(t, dir)
	for path, sum := range after {
		if was, ok := before[path]; !ok {
			t.Errorf("a refused start made %s", path)
		} else if was != sum {
			t.Errorf("a refused start changed %s", path)
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok {
			t.Errorf("a refused start removed %s", path)
		}
	}
}

// mkdirMode makes dir with mode, owned by cred's user if given.
func mkdirMode(t *testing.T, dir string, mode fs.FileMode, cred *syscall.Credential) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	mustChmod(t, dir, mode)
}

func mustChmod(t *testing.T, path string, mode fs.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// copyBinary copies the program from to a new file to that anyone may run.
func copyBinary(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
