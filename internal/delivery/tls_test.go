package delivery_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/infuse-cymru/journeys/internal/delivery"
)

// The production path: a submission server that offers STARTTLS (or speaks
// implicit TLS), demands AUTH PLAIN, and refuses AUTH on a connection that is
// not yet encrypted. These tests run the real SMTP sender against such a
// server on loopback, with a certificate from a CA made for the test.

const (
	smtpUser = "infuse-relay"
	smtpPass = "cywir-a-hir-1"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// serverCert issues a certificate for 127.0.0.1 and localhost.
func (ca *testCA) serverCert(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// authServer is a submission server on loopback: STARTTLS offered (or
// implicit TLS), AUTH PLAIN required before MAIL FROM, and AUTH refused until
// the connection is encrypted (go-smtp's AllowInsecureAuth is false).
type authServer struct {
	addr string
	srv  *smtp.Server

	mu       sync.Mutex
	got      []authReceived
	attempts []authAttempt
	mails    int // MAIL FROM commands accepted
}

// authReceived is a message the server accepted, with how it came.
type authReceived struct {
	received
	User       string // authenticated user
	TLS        bool   // the connection was TLS when DATA arrived
	TLSVersion uint16
}

// authAttempt is one AUTH PLAIN the server checked.
type authAttempt struct {
	User string
	OK   bool
	TLS  bool
}

// startAuthServer serves with cert: STARTTLS on a plain listener, or
// implicit TLS from the first byte when implicit is set.
func startAuthServer(t testing.TB, cert tls.Certificate, implicit bool) *authServer {
	t.Helper()
	s := &authServer{}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var l net.Listener
	var err error
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", tc)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &authSession{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = false // AUTH only once the connection is TLS
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(newTestLog(t), "mail server: ", 0) // failed handshakes are expected here
	if !implicit {
		srv.TLSConfig = tc // offers STARTTLS
	}
	s.srv = srv
	go func() { _ = srv.Serve(l) }()
	// go-smtp closes only listeners Serve has registered; close ours too.
	t.Cleanup(func() { _ = srv.Close(); _ = l.Close() })
	return s
}

// testLog passes a server's log lines to the test until it ends. A
// connection goroutine can still log after the server is closed, and the
// testing package panics, failing the whole package, on a Log once a test
// has completed; cleanups run before it completes, so lines after them are
// dropped.
type testLog struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func newTestLog(t testing.TB) *testLog {
	l := &testLog{t: t}
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.done = true
	})
	return l
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (s *authServer) port() int { return s.addr2().Port }

func (s *authServer) addr2() *net.TCPAddr {
	a, err := net.ResolveTCPAddr("tcp", s.addr)
	if err != nil {
		panic(err)
	}
	return a
}

func (s *authServer) Received() []authReceived {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]authReceived(nil), s.got...)
}

func (s *authServer) Attempts() []authAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]authAttempt(nil), s.attempts...)
}

func (s *authServer) Mails() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mails
}

type authSession struct {
	s    *authServer
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*authSession)(nil)

func (ss *authSession) isTLS() bool {
	_, ok := ss.conn.TLSConnectionState()
	return ok
}

func (ss *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *authSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		ok := (identity == "" || identity == username) && username == smtpUser && password == smtpPass
		ss.s.mu.Lock()
		ss.s.attempts = append(ss.s.attempts, authAttempt{User: username, OK: ok, TLS: ss.isTLS()})
		ss.s.mu.Unlock()
		if !ok {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *authSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *authSession) Logout() error { return nil }

func (ss *authSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.s.mu.Lock()
	ss.s.mails++
	ss.s.mu.Unlock()
	ss.from = from
	return nil
}

func (ss *authSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *authSession) Data(r io.Reader) error {
	if ss.user == "" {
		return smtp.ErrAuthRequired
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	st, isTLS := ss.conn.TLSConnectionState()
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.got = append(ss.s.got, authReceived{
		received: received{From: ss.from, To: ss.to, Data: b.Bytes(), At: time.Now()},
		User:     ss.user, TLS: isTLS, TLSVersion: st.Version,
	})
	return nil
}

func tlsEmail() delivery.Email {
	return delivery.Email{
		From:      delivery.Address{Name: "Infuse", Address: "infuse@example.org"},
		To:        delivery.Address{Name: "Gwen Llywelyn", Address: "gwen@torfaen.gov.uk"},
		Subject:   "Infuse: TLS",
		Text:      "Helo Gwen,\n\nover TLS\n",
		MessageID: "tls-1@infuse.example.org",
	}
}

func tlsSender(t testing.TB, cfg delivery.SMTPConfig) *delivery.SMTP {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	s, err := delivery.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func checkArrived(t *testing.T, srv *authServer) {
	t.Helper()
	got := srv.Received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	r := got[0]
	if !r.TLS {
		t.Error("the message arrived over a connection that was not TLS")
	} else if r.TLSVersion < tls.VersionTLS12 {
		t.Errorf("TLS version %#x, want 1.2 or later", r.TLSVersion)
	}
	if r.User != smtpUser {
		t.Errorf("authenticated user %q, want %q", r.User, smtpUser)
	}
	if r.From != "infuse@example.org" || len(r.To) != 1 || r.To[0] != "gwen@torfaen.gov.uk" {
		t.Errorf("envelope from %q to %q", r.From, r.To)
	}
	if p := parse(t, r.Data); !strings.Contains(p.Parts["text/plain"], "over TLS") {
		t.Errorf("body %q does not hold the text sent", p.Parts)
	}
	for _, a := range srv.Attempts() {
		if !a.TLS {
			t.Errorf("credentials for %q were checked on a connection that was not TLS", a.User)
		}
	}
}

// checkNothingSent asserts the server accepted no MAIL FROM and no message.
func checkNothingSent(t *testing.T, srv *authServer) {
	t.Helper()
	if n := srv.Mails(); n != 0 {
		t.Errorf("server accepted %d MAIL FROM, want none", n)
	}
	if got := srv.Received(); len(got) != 0 {
		t.Errorf("server received %d messages, want none", len(got))
	}
}

func TestSTARTTLSWithAuth(t *testing.T) {
	ca := newTestCA(t, "Infuse test CA")
	srv := startAuthServer(t, ca.serverCert(t), false)
	s := tlsSender(t, delivery.SMTPConfig{
		Host: "127.0.0.1", Port: srv.port(), TLS: delivery.STARTTLSMandatory,
		TLSConfig: &tls.Config{RootCAs: ca.pool}, // ServerName defaults to Host
		Username:  smtpUser, Password: smtpPass,
	})
	if err := s.Send(context.Background(), tlsEmail()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkArrived(t, srv)
	if a := srv.Attempts(); len(a) != 1 || !a[0].OK || a[0].User != smtpUser {
		t.Errorf("auth attempts %+v, want one good one for %q", a, smtpUser)
	}
}

// A wrong password is refused (535 5.7.8) after STARTTLS. classify in
// smtp.go treats every failure before the mail transaction (dial, greeting,
// EHLO, STARTTLS, AUTH) as temporary whatever the reply code, by design: a
// wrong password is this system's configuration, not the message's fault, so
// once the password is fixed every queued message should still go. It is
// Unreachable too: the Deliverer charges no message for it, logs that the
// server cannot be reached and tries it on a backoff of its own. So the
// error must be a *delivery.Error, temporary and unreachable, and nothing
// may arrive.
func TestSTARTTLSWrongPassword(t *testing.T) {
	ca := newTestCA(t, "Infuse test CA")
	srv := startAuthServer(t, ca.serverCert(t), false)
	s := tlsSender(t, delivery.SMTPConfig{
		Host: "127.0.0.1", Port: srv.port(), TLS: delivery.STARTTLSMandatory,
		TLSConfig: &tls.Config{RootCAs: ca.pool},
		Username:  smtpUser, Password: "anghywir",
	})
	err := s.Send(context.Background(), tlsEmail())
	if err == nil {
		t.Fatal("Send with a wrong password succeeded")
	}
	t.Logf("Send: %v", err)
	var de *delivery.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %T is not a *delivery.Error", err)
	}
	if !de.Temporary || !delivery.IsTemporary(err) {
		t.Errorf("wrong password classified permanent; smtp.go documents auth failures as temporary")
	}
	if !de.Unreachable {
		t.Errorf("wrong password charged to the message; smtp.go documents auth failures as the server out of reach")
	}
	// go-mail wraps the server's *textproto.Error, so the reply code survives
	// for the outbox even though it does not decide the classification.
	if de.Code != 535 {
		t.Errorf("reply code %d, want 535", de.Code)
	}
	if strings.Contains(err.Error(), "anghywir") {
		t.Error("the error text holds the password")
	}
	if strings.Contains(strings.ToLower(err.Error()), "gwen@torfaen.gov.uk") {
		t.Error("the error text holds the recipient's address")
	}
	a := srv.Attempts()
	if len(a) != 1 || a[0].OK || !a[0].TLS {
		t.Errorf("auth attempts %+v, want one refused attempt over TLS", a)
	}
	checkNothingSent(t, srv)
}

func TestImplicitTLSWithAuth(t *testing.T) {
	ca := newTestCA(t, "Infuse test CA")
	srv := startAuthServer(t, ca.serverCert(t), true)
	// Host "localhost": ServerName defaults to it and the certificate's DNS
	// name is what is checked.
	s := tlsSender(t, delivery.SMTPConfig{
		Host: "localhost", Port: srv.port(), TLS: delivery.ImplicitTLS,
		TLSConfig: &tls.Config{RootCAs: ca.pool},
		Username:  smtpUser, Password: smtpPass,
	})
	if err := s.Send(context.Background(), tlsEmail()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkArrived(t, srv)

	// STARTTLS against the implicit-TLS port cannot even read the greeting:
	// the modes are not interchangeable.
	plain := tlsSender(t, delivery.SMTPConfig{
		Host: "127.0.0.1", Port: srv.port(), TLS: delivery.STARTTLSMandatory,
		TLSConfig: &tls.Config{RootCAs: ca.pool},
		Username:  smtpUser, Password: smtpPass, Timeout: time.Second,
	})
	if err := plain.Send(context.Background(), tlsEmail()); err == nil {
		t.Error("STARTTLS against an implicit-TLS port succeeded")
	}
	if n := len(srv.Received()); n != 1 {
		t.Errorf("server received %d messages, want still 1", n)
	}
}

// With STARTTLS mandatory, a server whose certificate this system does not
// trust gets no message: the handshake fails and the sender does not carry
// on in plain text (nor send the credentials).
func TestSTARTTLSUntrustedCertificate(t *testing.T) {
	trusted := newTestCA(t, "Infuse test CA")
	other := newTestCA(t, "Someone else's CA")
	for _, tc := range []struct {
		name string
		cfg  delivery.SMTPConfig
	}{
		{"other CA", delivery.SMTPConfig{TLSConfig: &tls.Config{RootCAs: trusted.pool}}},
		{"system roots", delivery.SMTPConfig{}}, // no TLSConfig: the system's roots
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startAuthServer(t, other.serverCert(t), false)
			cfg := tc.cfg
			cfg.Host, cfg.Port, cfg.TLS = "127.0.0.1", srv.port(), delivery.STARTTLSMandatory
			cfg.Username, cfg.Password = smtpUser, smtpPass
			err := tlsSender(t, cfg).Send(context.Background(), tlsEmail())
			if err == nil {
				t.Fatal("Send to a server with an untrusted certificate succeeded")
			}
			t.Logf("Send: %v", err)
			var uae x509.UnknownAuthorityError
			var cve *tls.CertificateVerificationError
			if !errors.As(err, &uae) && !errors.As(err, &cve) {
				t.Errorf("error %v does not say the certificate was not trusted", err)
			}
			// A connection-level failure: temporary, like a server that is down.
			if !delivery.IsTemporary(err) || !delivery.IsUnreachable(err) {
				t.Error("untrusted certificate classified permanent or charged to the message; smtp.go documents STARTTLS failures as the server out of reach")
			}
			if a := srv.Attempts(); len(a) != 0 {
				t.Errorf("credentials reached the server: %+v", a)
			}
			checkNothingSent(t, srv)
		})
	}
}

// The test server itself refuses AUTH before TLS, so the tests above prove
// something: it does not advertise AUTH on the plain connection and answers
// 523 to an AUTH sent anyway; after STARTTLS it advertises AUTH PLAIN.
// And the sender, told to send in clear text (NoTLS) with credentials to such
// a server, does not get the message through.
func TestAuthRefusedBeforeTLS(t *testing.T) {
	ca := newTestCA(t, "Infuse test CA")
	srv := startAuthServer(t, ca.serverCert(t), false)

	c, err := net.DialTimeout("tcp", srv.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	if _, _, err := tp.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	ehlo := func(tp *textproto.Conn) string {
		t.Helper()
		if err := tp.PrintfLine("EHLO client.test"); err != nil {
			t.Fatal(err)
		}
		_, msg, err := tp.ReadResponse(250)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	caps := ehlo(tp)
	if !strings.Contains(caps, "STARTTLS") {
		t.Errorf("plain EHLO does not offer STARTTLS: %q", caps)
	}
	if strings.Contains(caps, "AUTH") {
		t.Errorf("plain EHLO offers AUTH: %q", caps)
	}
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + smtpUser + "\x00" + smtpPass))
	if err := tp.PrintfLine("AUTH PLAIN %s", ir); err != nil {
		t.Fatal(err)
	}
	if code, msg, err := tp.ReadResponse(235); code != 523 {
		t.Errorf("AUTH before TLS answered %d %q (%v), want 523", code, msg, err)
	}
	if a := srv.Attempts(); len(a) != 0 {
		t.Errorf("credentials were checked before TLS: %+v", a)
	}
	if err := tp.PrintfLine("MAIL FROM:<infuse@example.org>"); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := tp.ReadResponse(250); code != 502 {
		t.Errorf("MAIL FROM without AUTH answered %d, want 502", code)
	}

	// Upgrade and look again.
	if err := tp.PrintfLine("STARTTLS"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tp.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(c, &tls.Config{RootCAs: ca.pool, ServerName: "127.0.0.1"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tp = textproto.NewConn(tc)
	if caps := ehlo(tp); !strings.Contains(caps, "AUTH PLAIN") {
		t.Errorf("EHLO after STARTTLS does not offer AUTH PLAIN: %q", caps)
	}
	_ = tp.PrintfLine("QUIT")

	// The sender in clear text with credentials: the server offers no AUTH,
	// so the send fails before MAIL FROM, and no credentials are checked.
	s := tlsSender(t, delivery.SMTPConfig{
		Host: "127.0.0.1", Port: srv.port(), TLS: delivery.NoTLS,
		Username: smtpUser, Password: smtpPass,
	})
	err = s.Send(context.Background(), tlsEmail())
	if err == nil {
		t.Fatal("Send in clear text to a server requiring AUTH over TLS succeeded")
	}
	t.Logf("Send (NoTLS): %v", err)
	if a := srv.Attempts(); len(a) != 0 {
		t.Errorf("credentials were checked: %+v", a)
	}
	checkNothingSent(t, srv)
}
