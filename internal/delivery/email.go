// Package delivery drains the store's outbox: a Deliverer takes the
// messages that have fallen due, has a Composer render each from the store
// at send time (so personal data never passes through Temporal), and hands
// the result to a Sender, in production SMTP through github.com/wneessen/go-mail.
// What happened is written back to the outbox: sent (with the Message-ID),
// held back for a retry with exponential backoff after a temporary failure,
// or failed for good with a reason coordinators can read.
//
// # Order
//
// A recipient's messages go out in the order of their SendAt, one at a time:
// the store's ClaimDue never offers a message while an earlier one of the
// same recipient is waiting for a retry, nor any of a recipient's messages
// while another Deliverer's claim on them lasts, and the Deliverer sends each
// recipient's due messages in sequence, stopping at the first that fails for
// now. Different recipients are served concurrently.
//
// # Several Deliverers
//
// Any number of Deliverers may drain one store (each worker that e-mails
// runs one). Each claims what it sends, whole recipients at a time, for a
// lease of a few minutes, and starts a send only while enough of the lease
// remains for it to finish; marking a message or handing it back ends the
// claim. So no two Deliverers send one message, and one person's messages
// are served by one Deliverer at a time, which keeps them in order and keeps
// the Policy's daily count right. A Deliverer that dies holding a claim
// delays its messages until the lease runs out.
//
// # Mail server down
//
// A failure to reach the mail server at all (no connection, no greeting or
// a 421 in place of one, STARTTLS or AUTH failing: Error.Unreachable) is
// nothing to do with the message being sent, and is not counted against
// it: MaxAttempts counts only failures about a message (its MAIL FROM, RCPT
// TO or DATA refused for now, a transaction cut off, a Composer's temporary
// error). The Deliverer instead holds every message back, untouched, and
// tries the server again after a backoff of its own (FirstRetry, doubling,
// at most MaxRetry), once a pass however many people are waiting: each pass
// sends one message alone before the others, so a server that went down
// since the last pass is dialled once. It logs MailServerDownWarning at
// every failed try and MailServerBackInfo when the server answers, counts
// the failed tries in Stats.Unreachable, and NextDue waits for the next
// try. So a relay down over a weekend delays mail to Monday and loses none
// of it; nothing is given up for it however long it lasts.
//
// # Exactly once, nearly
//
// Delivery is at-least-once. Between the mail server accepting a message
// (the reply to DATA) and the outbox recording it as sent there is a window:
// if the process dies there, the store fails to write, or the context is
// cancelled while the reply is on its way, the message is still queued and
// is sent again on the next pass. Nothing can close that window, because the
// mail server and the database cannot commit together. What makes the
// duplicate harmless is the Message-ID, derived from the message's
// idempotency key (MessageID): both copies carry the same one, so mail
// clients and servers that deduplicate by Message-ID show it once, and
// anyone reading logs can see it is the same message. The Deliverer that
// takes such a message over warns of it (LapsedClaimWarning), so a possible
// second copy is told apart from a fault. Nothing else
// duplicates: a message is only ever re-sent when the outbox does not say it
// was sent, and a message marked failed is never sent again.
package delivery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Address is an e-mail address with an optional display name.
type Address struct {
	Name    string
	Address string // name@example.org
}

// Attachment is a file sent with an e-mail, such as a calendar invite.
type Attachment struct {
	Name        string // file name, e.g. "invite.ics"
	ContentType string // e.g. `text/calendar; charset=utf-8; method=REQUEST`
	Data        []byte
}

// Email is one message ready to go.
type Email struct {
	From    Address
	To      Address
	Subject string
	// Text and HTML are the plain-text and HTML versions of the body; with
	// both, the e-mail is multipart/alternative (text first).
	Text string
	HTML string
	// MessageID is the Message-ID header, with its angle brackets
	// ("<…@infuse-journeys>"). The Deliverer sets it from the outbox key.
	MessageID   string
	Attachments []Attachment
	// Headers are extra header fields, e.g. "Auto-Submitted": "auto-generated".
	Headers map[string]string
}

// Sender sends one e-mail. Its errors should be *Error, saying whether the
// failure is temporary; the Deliverer retries any other error as temporary.
type Sender interface {
	Send(ctx context.Context, e Email) error
}

// Error is a failed attempt, classified.
type Error struct {
	// Temporary failures (a server that is down or busy, a 4xx reply, a
	// timeout) are retried later; others (a 5xx reply to the message, an
	// invalid address) are final.
	Temporary bool
	// Unreachable failures (temporary too) happened before the message
	// was offered at all: the mail server could not be connected to, or
	// would not greet, start TLS or accept the credentials. They are about
	// the server or this system's SMTP settings, not the message, so the
	// Deliverer charges no message an attempt for them: it holds every
	// message back and tries the server again on a backoff of its own (see
	// the package comment, "Mail server down").
	Unreachable bool
	// Code is the SMTP reply code (e.g. 550), or 0 if the failure was not a
	// reply from the server; EnhancedCode its RFC 3463 code (e.g. "5.1.1"),
	// if the server sent one.
	Code         int
	EnhancedCode string
	Err          error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Temporary marks err as a temporary failure: the Deliverer tries again
// later. A Composer uses it for failures such as the store being unreachable.
func Temporary(err error) error { return &Error{Temporary: true, Err: err} }

// Permanent marks err as a failure that trying again will not cure.
func Permanent(err error) error { return &Error{Err: err} }

// IsTemporary reports whether err is classified as temporary (an *Error
// with Temporary set).
func IsTemporary(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Temporary
}

// IsUnreachable reports whether err is classified as the mail server
// being out of reach (an *Error with Unreachable set).
func IsUnreachable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Unreachable
}

// ErrInvalidAddress is a recipient address that cannot be sent to.
var ErrInvalidAddress = errors.New("invalid e-mail address")

// DefaultMessageIDDomain is the right-hand side of Message-IDs unless the
// Deliverer is told otherwise.
const DefaultMessageIDDomain = "infuse-journeys"

// MessageID is the Message-ID for the outbox message with idempotency key
// key: "<" + the first 32 hex digits of SHA-256(key) + "@" + domain + ">".
// It is the same every time the message is sent, so a duplicate sent after
// a crash is recognisable as the same message.
func MessageID(key, domain string) string {
	if domain == "" {
		domain = DefaultMessageIDDomain
	}
	sum := sha256.Sum256([]byte(key))
	return fmt.Sprintf("<%s@%s>", hex.EncodeToString(sum[:])[:32], domain)
}
