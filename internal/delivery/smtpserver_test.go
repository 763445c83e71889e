package delivery_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mailServer is a real SMTP server on loopback (github.com/emersion/go-smtp)
// that keeps what it receives. It can be told to refuse (a 4xx or 5xx reply
// to RCPT TO or to the message, or to the greeting itself), and be stopped
// (connections are refused) and started again on the same port. It counts
// the connections it accepts, so a test can see how often it was dialled.
type mailServer struct {
	t    testing.TB
	log  *testLog // for its goroutines, which may outlive the test
	addr string

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener // closed by Stop too: Serve may not have registered it yet
	received []received
	refuse   *smtp.SMTPError // reply to every RCPT TO, when set
	refuseTo map[string]*smtp.SMTPError
	// refuseSessions, when set, is the reply to EHLO and HELO: a server
	// that accepts the connection and will not serve it (421 while it is
	// overloaded or shutting down).
	refuseSessions *smtp.SMTPError
	conns          int // connections accepted, over every Start
}

// received is one message as the server got it.
type received struct {
	From string
	To   []string
	Data []byte
	At   time.Time
}

func startMailServer(t testing.TB) *mailServer {
	t.Helper()
	s := &mailServer{t: t, log: newTestLog(t), refuseTo: map[string]*smtp.SMTPError{}}
	l, err := listenOwnLoopback()
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	s.serve(l)
	t.Cleanup(s.Stop)
	return s
}

func (s *mailServer) port() int    { return s.addr2().Port }
func (s *mailServer) host() string { return s.addr2().IP.String() }

// listenOwnLoopback listens on a random address in 127.0.0.0/8 other than
// 127.0.0.1. Why: a stopped server must stay refused, and test packages run
// in parallel on 127.0.0.1 would otherwise soon be given its freed port.
func listenOwnLoopback() (net.Listener, error) {
	var err error
	for range 20 {
		ip := net.IPv4(127, byte(1+rand.IntN(254)), byte(rand.IntN(256)), byte(1+rand.IntN(254)))
		var l net.Listener
		if l, err = net.Listen("tcp", net.JoinHostPort(ip.String(), "0")); err == nil {
			return l, nil
		}
	}
	return nil, err
}

func (s *mailServer) addr2() *net.TCPAddr {
	a, err := net.ResolveTCPAddr("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	return a
}

func (s *mailServer) serve(l net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.refuseSessions != nil {
			return nil, s.refuseSessions
		}
		return &session{s: s}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	l = countingListener{Listener: l, s: s}
	s.mu.Lock()
	s.srv, s.ln = srv, l
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			fmt.Fprintf(s.log, "mail server: %v", err)
		}
	}()
}

// Stop closes the listener and every connection: dialling is refused.
func (s *mailServer) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
		_ = ln.Close()
	}
}

// Start listens again on the same address.
func (s *mailServer) Start() {
	s.t.Helper()
	var l net.Listener
	var err error
	for range 50 { // the old socket may linger for a moment
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.serve(l)
}

// countingListener counts the connections its mailServer accepts.
type countingListener struct {
	net.Listener
	s *mailServer
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
	}
	return c, err
}

// Connections is how many connections the server has accepted. A client
// that got any reply from it has been counted.
func (s *mailServer) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// RefuseSessions makes the greeting (EHLO and HELO) answer with e: the
// server is up but serves nobody (nil: serve again).
func (s *mailServer) RefuseSessions(e *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseSessions = e
}

// Refuse makes every RCPT TO answer with code (nil: accept again).
func (s *mailServer) Refuse(e *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = e
}

// RefuseRecipient makes RCPT TO for addr answer with e.
func (s *mailServer) RefuseRecipient(addr string, e *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseTo[strings.ToLower(addr)] = e
}

func (s *mailServer) Received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.received...)
}

type session struct {
	s    *mailServer
	from string
	to   []string
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if e := ss.s.refuseTo[strings.ToLower(to)]; e != nil {
		return e
	}
	if ss.s.refuse != nil {
		return ss.s.refuse
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.received = append(ss.s.received, received{From: ss.from, To: ss.to, Data: b.Bytes(), At: time.Now()})
	return nil
}
