// Package devmail is the mailbox `infuse dev` delivers to: an SMTP server
// on loopback (github.com/emersion/go-smtp) that accepts every message from
// any sender to any recipient, without authentication or TLS, and keeps
// each one as an .eml file in a folder (DATA-DIR/mailbox), plus the reader
// behind `infuse mail list` and `infuse mail show`.
//
// File names sort by arrival: "20211005T090000.123Z-<Message-ID>.eml", the
// time in UTC to the millisecond, then the Message-ID made safe for a file
// name. Every message gets its own millisecond, so names are unique and
// sort in arrival order: a message that arrives twice (delivery is
// at-least-once) is kept twice, visibly, rather than overwritten. Files are written under a temporary name and
// then linked into place, so a reader never sees half a message.
//
// It is for development only: it listens on 127.0.0.1 and nothing it
// receives goes any further.
package devmail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"go.uber.org/zap"
)

// DefaultPort is the port `infuse dev` listens on for mail unless told otherwise.
const DefaultPort = 2525

// MaxMessageBytes is the largest message the server accepts.
const MaxMessageBytes = 25 << 20

// FolderName is the mailbox's folder inside a data directory.
const FolderName = "mailbox"

// Folder is the mailbox folder of the data directory dataDir.
func Folder(dataDir string) string { return filepath.Join(dataDir, FolderName) }

// Options configure Start.
type Options struct {
	// Dir is the folder messages are saved in; it is created if missing.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one (see Server.Port).
	Port int
	// Logger receives a line per message saved (debug) and the SMTP
	// server's own errors (warn); nil logs nothing.
	Logger *zap.Logger
	// Now is the clock for arrival times; nil is time.Now.
	Now func() time.Time
}

// Server is a running dev mailbox.
type Server struct {
	dir  string
	addr *net.TCPAddr
	srv  *smtp.Server
	// ln is closed by Shutdown and Close too: go-smtp closes only the
	// listeners Serve has registered, and a stop right after Start can come
	// before Serve has, leaving it in Accept for ever.
	ln   net.Listener
	log  *zap.Logger
	now  func() time.Time
	done chan struct{} // closed when Serve has returned

	mu   sync.Mutex // serialises choosing file names
	last time.Time  // the arrival time of the last message saved
}

// Start listens on 127.0.0.1:o.Port and serves until Shutdown or Close.
// The listener is open when it returns, so a port in use is reported here.
func Start(o Options) (*Server, error) {
	if strings.TrimSpace(o.Dir) == "" {
		return nil, errors.New("devmail: no mailbox folder")
	}
	if o.Port < 0 || o.Port > 65535 {
		return nil, fmt.Errorf("devmail: port %d is out of range", o.Port)
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("devmail: creating the mailbox folder: %w", err)
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port)))
	if err != nil {
		return nil, fmt.Errorf("devmail: cannot listen on 127.0.0.1:%d: %w", o.Port, err)
	}
	s := &Server{dir: o.Dir, addr: l.Addr().(*net.TCPAddr), ln: l, log: o.Logger, now: o.Now, done: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{s: s}, nil
	}))
	srv.Domain = "localhost"
	srv.MaxMessageBytes = MaxMessageBytes
	srv.MaxRecipients = 100
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = zapPrinter{o.Logger}
	s.srv = srv
	go func() {
		defer close(s.done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.log.Warn("dev mailbox stopped", zap.Error(err))
		}
	}()
	return s, nil
}

// Dir is the folder messages are saved in.
func (s *Server) Dir() string { return s.dir }

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.addr.String() }

// Host is the address the server listens on (127.0.0.1).
func (s *Server) Host() string { return s.addr.IP.String() }

// Port is the port the server listens on.
func (s *Server) Port() int { return s.addr.Port }

// Shutdown stops accepting connections and waits for those open to finish,
// or until ctx is done, then closes whatever is left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		_ = s.srv.Close()
	}
	_ = s.ln.Close() // already closed, unless Serve had not yet registered it
	<-s.done
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the server at once, dropping open connections.
func (s *Server) Close() error {
	err := s.srv.Close()
	_ = s.ln.Close()
	<-s.done
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// session is one SMTP conversation; it accepts everything.
type session struct {
	s    *Server
	from string
	to   []string
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from, ss.to = from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	name, err := ss.s.save(ss.from, ss.to, data)
	if err != nil {
		ss.s.log.Warn("dev mailbox cannot save a message", zap.Error(err))
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot save the message"}
	}
	ss.s.log.Debug("dev mailbox received a message", zap.String("file", name))
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// save writes one message, with the envelope as Return-Path and
// Delivered-To trace fields on top (as a mail server delivering to a
// mailbox does), and returns its file name.
func (s *Server) save(from string, to []string, data []byte) (string, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "Return-Path: <%s>\r\n", oneLine(from))
	for _, rcpt := range to {
		fmt.Fprintf(&buf, "Delivered-To: %s\r\n", oneLine(rcpt))
	}
	buf.Write(data)

	id := ""
	if m, err := mail.ReadMessage(bytes.NewReader(data)); err == nil {
		id = m.Header.Get("Message-Id")
	}
	tmp, err := os.CreateTemp(s.dir, ".incoming-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}

	// Each message gets its own millisecond, later than the last one's, so
	// names are unique and sort in the order messages arrived.
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.now().UTC().Truncate(time.Millisecond)
	if !at.After(s.last) {
		at = s.last.Add(time.Millisecond)
	}
	id = sanitise(id)
	for {
		s.last = at
		name := at.Format(timeLayout) + "-" + id + ".eml"
		err := os.Link(tmp.Name(), filepath.Join(s.dir, name))
		if errors.Is(err, os.ErrExist) {
			at = at.Add(time.Millisecond) // left by an earlier run
			continue
		}
		if err != nil {
			// No hard links here: create the file exclusively instead.
			if err = writeNew(filepath.Join(s.dir, name), buf.Bytes()); errors.Is(err, os.ErrExist) {
				at = at.Add(time.Millisecond)
				continue
			}
		}
		return name, err
	}
}

// timeLayout is the arrival time at the start of a file name.
const timeLayout = "20060102T150405.000Z"

// writeNew creates path with data, or leaves nothing: a message cut short
// (the disk full half-way) would be listed as if it were whole.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
	}
	return err
}

// sanitise makes a Message-ID safe and short enough for a file name.
func sanitise(id string) string {
	id = strings.Trim(strings.TrimSpace(id), "<>")
	var b strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_', r == '@':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 80 {
			break
		}
	}
	if b.Len() == 0 {
		return "no-message-id"
	}
	return b.String()
}

func oneLine(s string) string { return strings.NewReplacer("\r", "", "\n", "").Replace(s) }

// zapPrinter is go-smtp's error logger, through zap.
type zapPrinter struct{ log *zap.Logger }

func (p zapPrinter) Printf(format string, v ...any) {
	p.log.Warn("dev mailbox: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (p zapPrinter) Println(v ...any) {
	p.log.Warn("dev mailbox: " + strings.TrimSpace(fmt.Sprintln(v...)))
}
