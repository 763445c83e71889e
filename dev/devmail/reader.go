package devmail

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Summary describes one message in the mailbox.
type Summary struct {
	File      string    `json:"file"`      // the file's name in the mailbox folder
	Received  time.Time `json:"received"`  // when the mailbox received it
	From      string    `json:"from"`      // decoded, e.g. "Infuse <infuse@localhost>"
	To        string    `json:"to"`        // decoded, e.g. "Siân O'Brien <sian@example.org>"
	Subject   string    `json:"subject"`   // decoded (RFC 2047), so Welsh letters show
	MessageID string    `json:"messageId"` // with its angle brackets
	HasInvite bool      `json:"hasInvite"` // a text/calendar part (an invite, update or cancellation)
}

// Part is one leaf of a message's MIME tree, decoded.
type Part struct {
	ContentType string // media type with its parameters, e.g. `text/calendar; method=REQUEST; charset=utf-8`
	FileName    string // for attachments
	Data        []byte // after Content-Transfer-Encoding
}

// Message is one message read back in full.
type Message struct {
	Summary
	Header mail.Header
	Text   string // the first text/plain part that is not an attachment
	HTML   string // the first text/html part that is not an attachment
	Parts  []Part // every leaf part, in order
	Raw    []byte // the file as stored
}

// ErrNoMessage is a file name that is not in the mailbox.
var ErrNoMessage = errors.New("no such message in the mailbox")

// List summarises every message in the mailbox folder dir, oldest first.
// A folder that does not exist yet is an empty mailbox.
func List(dir string) ([]Summary, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Summary
	for _, e := range entries {
		if !isMessageFile(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		m, err := Read(dir, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, m.Summary)
	}
	slices.SortStableFunc(out, func(a, b Summary) int {
		if c := a.Received.Compare(b.Received); c != 0 {
			return c
		}
		return strings.Compare(a.File, b.File)
	})
	return out, nil
}

// Read reads the message named name (a file name from List) in dir.
func Read(dir, name string) (Message, error) {
	if name == "" || filepath.Base(name) != name || !isMessageFile(name) {
		return Message{}, fmt.Errorf("%q: %w (names look like 20211005T090000.123Z-….eml)", name, ErrNoMessage)
	}
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return Message{}, fmt.Errorf("%s: %w", name, ErrNoMessage)
	}
	if err != nil {
		return Message{}, err
	}
	m, err := Parse(raw)
	if err != nil {
		return Message{}, fmt.Errorf("%s: %w", name, err)
	}
	m.File = name
	m.Received = receivedAt(name, dir)
	return m, nil
}

// Parse reads a message from its bytes (RFC 5322 with MIME).
func Parse(raw []byte) (Message, error) {
	pm, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("not a readable e-mail: %w", err)
	}
	m := Message{Header: pm.Header, Raw: raw}
	m.From = addresses(pm.Header, "From")
	m.To = addresses(pm.Header, "To")
	m.Subject = decodeHeader(pm.Header.Get("Subject"))
	m.MessageID = strings.TrimSpace(pm.Header.Get("Message-Id"))
	m.Parts = leaves(pm.Header, pm.Body, 0)
	for _, p := range m.Parts {
		mt, _, _ := mime.ParseMediaType(p.ContentType)
		switch {
		case mt == "text/calendar" || strings.HasSuffix(strings.ToLower(p.FileName), ".ics"):
			m.HasInvite = true
		case mt == "text/plain" && p.FileName == "" && m.Text == "":
			m.Text = string(p.Data)
		case mt == "text/html" && p.FileName == "" && m.HTML == "":
			m.HTML = string(p.Data)
		}
	}
	return m, nil
}

// header is what leaves needs of a message's or a part's header.
type header interface{ Get(string) string }

// maxDepth bounds nesting of multiparts, against malformed messages.
const maxDepth = 10

// leaves walks a MIME entity and returns its leaf parts, decoded. What
// cannot be parsed is kept as it is rather than dropped.
func leaves(h header, body io.Reader, depth int) []Part {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" && depth < maxDepth {
		var out []Part
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				break
			}
			out = append(out, leaves(p.Header, p, depth+1)...)
		}
		return out
	}
	data, _ := io.ReadAll(decodeTransfer(h.Get("Content-Transfer-Encoding"), body))
	return []Part{{ContentType: ct, FileName: fileName(h), Data: data}}
}

func decodeTransfer(cte string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, newlineStripper{r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// newlineStripper drops CR and LF, which base64 bodies are wrapped with.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, b := range p[:k] {
			if b != '\r' && b != '\n' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// fileName is a part's file name, from Content-Disposition or Content-Type.
func fileName(h header) string {
	if _, p, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && p["filename"] != "" {
		return p["filename"]
	}
	if _, p, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil && p["name"] != "" {
		return p["name"]
	}
	return ""
}

var wordDecoder = &mime.WordDecoder{}

// decodeHeader decodes RFC 2047 encoded words ("=?UTF-8?q?...?="), leaving
// the text as it is if it cannot.
func decodeHeader(s string) string {
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// addresses shows an address header decoded: "Name <addr>, …".
func addresses(h mail.Header, key string) string {
	list, err := h.AddressList(key)
	if err != nil {
		return decodeHeader(h.Get(key))
	}
	parts := make([]string, len(list))
	for i, a := range list {
		if a.Name == "" {
			parts[i] = a.Address
		} else {
			parts[i] = fmt.Sprintf("%s <%s>", a.Name, a.Address)
		}
	}
	return strings.Join(parts, ", ")
}

func isMessageFile(name string) bool {
	return strings.HasSuffix(name, ".eml") && !strings.HasPrefix(name, ".")
}

// receivedAt reads the arrival time from the start of a file name, or
// else takes the file's modification time.
func receivedAt(name, dir string) time.Time {
	if len(name) >= len(timeLayout) {
		if t, err := time.Parse(timeLayout, name[:len(timeLayout)]); err == nil {
			return t
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
		return fi.ModTime()
	}
	return time.Time{}
}
