package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/infuse-cymru/journeys/internal/store"
)

// TLSMode is how the SMTP connection is encrypted.
type TLSMode string

const (
	// STARTTLSMandatory upgrades the connection with STARTTLS and refuses
	// to send if the server does not offer it (the default).
	STARTTLSMandatory TLSMode = "starttls"
	// STARTTLSOpportunistic upgrades with STARTTLS when the server offers it.
	STARTTLSOpportunistic TLSMode = "starttls-opportunistic"
	// ImplicitTLS speaks TLS from the first byte (SMTPS, usually port 465).
	ImplicitTLS TLSMode = "tls"
	// NoTLS sends in clear text: for a server on loopback only.
	NoTLS TLSMode = "none"
)

// SMTPConfig says how to reach the mail server.
type SMTPConfig struct {
	Host string
	Port int // 0: 587, or 465 for ImplicitTLS
	TLS  TLSMode
	// TLSConfig overrides the TLS settings (e.g. RootCAs); ServerName
	// defaults to Host.
	TLSConfig *tls.Config
	// Username and Password, when Username is set, authenticate with the
	// strongest mechanism the server offers (go-mail's auto-discovery).
	// go-mail sends PLAIN or LOGIN credentials only over TLS or to localhost.
	Username string
	Password string
	// Timeout bounds connecting and each command; 0 means 30 seconds.
	// The Deliverer starts a send only while two minutes of its claim on
	// the message remain, which leaves room for twice this (connecting and
	// greeting, then the mail transaction): keep it under a minute.
	Timeout time.Duration
	// HELO is the name to greet the server with; empty: this host's name.
	HELO string
}

// SMTP is a Sender that delivers through an SMTP server (a relay or a
// submission port). Each Send opens its own connection, so an SMTP is safe
// for concurrent use.
type SMTP struct {
	client *mail.Client
}

// NewSMTP checks cfg and returns a sender for it.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if strings.TrimSpace(cfg.Host) == "" {
		return nil, errors.New("smtp: no host")
	}
	if cfg.TLS == "" {
		cfg.TLS = STARTTLSMandatory
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithTimeout(cfg.Timeout)}
	port := cfg.Port
	switch cfg.TLS {
	case STARTTLSMandatory:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case STARTTLSOpportunistic:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case NoTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case ImplicitTLS:
		opts = append(opts, mail.WithSSL())
		if port == 0 {
			port = 465
		}
	default:
		return nil, fmt.Errorf("smtp: TLS mode %q is not one of %q, %q, %q, %q",
			cfg.TLS, STARTTLSMandatory, STARTTLSOpportunistic, ImplicitTLS, NoTLS)
	}
	if port == 0 {
		port = 587
	}
	opts = append(opts, mail.WithPort(port))
	if cfg.TLSConfig != nil {
		tc := cfg.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = cfg.Host
		}
		opts = append(opts, mail.WithTLSConfig(tc))
	}
	if cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	if cfg.HELO != "" {
		opts = append(opts, mail.WithHELO(cfg.HELO))
	}
	c, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return &SMTP{client: c}, nil
}

// Send delivers e. Its errors are *Error: see classify for which are temporary.
func (s *SMTP) Send(ctx context.Context, e Email) error {
	m, err := buildMsg(e)
	if err != nil {
		return err
	}
	err = s.client.DialAndSendWithContext(ctx, m)
	if m.IsDelivered() {
		// The server accepted the message; a later hiccup (RSET, QUIT) does
		// not make it undelivered, and retrying would send it twice.
		return nil
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("sending stopped: %w", errors.Join(ctx.Err(), err))
	}
	return scrub(classify(err), e.To.Address)
}

// headerAddress is a as a header address: the address checked to be a
// plain one, the name kept as given, for net/mail to quote (a name with
// quotes or a backslash, Dai "Gaz" Jones, written into the header as
// typed, had its quotes and backslash lost on the way).
func headerAddress(a Address) (*netmail.Address, error) {
	if !store.PlainAddress(a.Address) {
		return nil, fmt.Errorf("%w: not a plain address such as name@example.org", ErrInvalidAddress)
	}
	return &netmail.Address{Name: a.Name, Address: a.Address}, nil
}

// buildMsg turns e into a go-mail message. An address go-mail refuses is a
// permanent ErrInvalidAddress.
func buildMsg(e Email) (*mail.Msg, error) {
	m := mail.NewMsg()
	from, err := headerAddress(e.From)
	if err != nil {
		return nil, Permanent(fmt.Errorf("sender address: %w: %v", ErrInvalidAddress, err))
	}
	m.FromMailAddress(from)
	to, err := headerAddress(e.To)
	if err != nil {
		return nil, Permanent(fmt.Errorf("recipient address: %w", ErrInvalidAddress))
	}
	m.AddToMailAddress(to)
	m.Subject(e.Subject)
	if id := strings.Trim(e.MessageID, "<> "); id != "" {
		m.SetMessageIDWithValue(id)
	} else {
		m.SetMessageID()
	}
	m.SetDate()
	switch {
	case e.Text != "" && e.HTML != "":
		m.SetBodyString(mail.TypeTextPlain, e.Text)
		m.AddAlternativeString(mail.TypeTextHTML, e.HTML)
	case e.HTML != "":
		m.SetBodyString(mail.TypeTextHTML, e.HTML)
	default:
		m.SetBodyString(mail.TypeTextPlain, e.Text)
	}
	for _, a := range e.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		m.AttachReadSeeker(a.Name, bytes.NewReader(a.Data), mail.WithFileContentType(mail.ContentType(ct)))
	}
	names := make([]string, 0, len(e.Headers))
	for k := range e.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		m.SetGenHeader(mail.Header(textproto.CanonicalMIMEHeaderKey(k)), e.Headers[k])
	}
	return m, nil
}

// classify decides whether a go-mail failure is worth retrying.
//
// go-mail reports failures of the mail transaction itself (MAIL FROM, RCPT
// TO, DATA and the message's content) as *mail.SendError, whose ErrorCode is
// the server's reply code (4xx temporary, 5xx permanent, 0 if the failure
// was not a reply) and whose IsTemp says the same. A 5xx there is the server
// refusing this message or recipient: permanent. A SendError without a reply
// code is a broken connection mid-transaction (temporary), except sender or
// recipient addresses go-mail could not use (permanent).
//
// Anything else failed before the transaction began: dialling (connection
// refused, DNS, timeouts), the greeting, EHLO, STARTTLS or AUTH. Those are
// about the server or this system's configuration, not about the message, so
// they are temporary whatever the reply code (a 535 for a wrong password is
// fixed by fixing the password, then every queued message goes), and
// Unreachable: the Deliverer charges them to no message, and waits for the
// server instead (see the package comment, "Mail server down").
func classify(err error) *Error {
	var se *mail.SendError
	if errors.As(err, &se) {
		e := &Error{Code: se.ErrorCode(), EnhancedCode: se.EnhancedStatusCode(), Err: err}
		switch {
		case e.Code >= 500:
			e.Temporary = false
		case e.Code >= 400:
			e.Temporary = true
		case se.Reason == mail.ErrGetSender || se.Reason == mail.ErrGetRcpts || se.Reason == mail.ErrNoUnencoded:
			e.Temporary = false
		default:
			e.Temporary = true
		}
		return e
	}
	e := &Error{Temporary: true, Unreachable: true, Err: fmt.Errorf("connecting to the mail server: %w", err)}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		e.Code = tp.Code
	}
	return e
}

// scrub keeps the recipient's address out of an error's text, which ends up
// in the outbox and in logs (go-mail lists affected recipients, and servers
// often echo the address in their reply).
func scrub(e *Error, addr string) *Error {
	if addr = strings.TrimSpace(addr); addr == "" {
		return e
	}
	msg := e.Err.Error()
	clean := replaceFold(msg, addr, "<recipient>")
	if clean != msg {
		e.Err = scrubbed{msg: clean, err: e.Err}
	}
	return e
}

// scrubbed is an error with a cleaned message that still unwraps.
type scrubbed struct {
	msg string
	err error
}

func (s scrubbed) Error() string { return s.msg }
func (s scrubbed) Unwrap() error { return s.err }

// replaceFold replaces every case-insensitive occurrence of old in s.
func replaceFold(s, old, repl string) string {
	lower, lowOld := strings.ToLower(s), strings.ToLower(old)
	if len(lower) != len(s) || len(lowOld) != len(old) {
		return strings.ReplaceAll(s, old, repl) // lower-casing changed lengths: exact match only
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, lowOld)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}
