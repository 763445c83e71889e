package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/infuse-cymru/journeys/dev/devmail"
	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
)

func (c *cli) mailCommand() *cobra.Command {
	return group("mail", "Read the e-mail dev mode sent, and the outbox's delivery state",
		c.mailListCommand(), c.mailShowCommand(), c.mailOutboxCommand())
}

func (c *cli) mailListCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the e-mails in dev mode's mailbox, oldest first",
		Long: `List the e-mails "infuse dev" has delivered to its mailbox (DATA-DIR/mailbox),
oldest first: when each arrived (Europe/London), to whom, its subject, whether it
carries a calendar invite, and its file name for "infuse mail show".`,
		Args: args(cobra.NoArgs),
		RunE: c.action(func(context.Context, []string) error {
			dir, err := mailboxDir(dataDir)
			if err != nil {
				return err
			}
			list, err := devmail.List(dir)
			if err != nil {
				return fmt.Errorf("reading the mailbox %s: %w", dir, err)
			}
			if list == nil {
				list = []devmail.Summary{}
			}
			return c.emit(list, func(w io.Writer) {
				if len(list) == 0 {
					fmt.Fprintf(w, "No e-mail in %s yet.\n", dir)
					return
				}
				rows := make([][]string, len(list))
				for i, m := range list {
					rows[i] = []string{
						m.Received.In(programme.London).Format("2006-01-02 15:04:05"), m.To, clip(oneLine(m.Subject), 80),
						yesNo(m.HasInvite), m.File,
					}
				}
				table(w, []string{"RECEIVED", "TO", "SUBJECT", "INVITE", "FILE"}, rows)
				fmt.Fprintf(w, "\n%d e-mail(s) in %s; read one with: infuse mail show FILE\n", len(list), dir)
			})
		}),
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir, "the data directory `infuse dev` runs with")
	return cmd
}

func (c *cli) mailShowCommand() *cobra.Command {
	var (
		dataDir string
		html    bool
		raw     bool
	)
	cmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Show one e-mail from dev mode's mailbox: its headers and text",
		Long: `Show one e-mail from dev mode's mailbox: its main headers, its attachments (such
as the calendar invite) and its plain-text part. FILE is a name from "infuse mail
list" (or the start of one that matches only one file), or a path to an .eml file.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: c.action(func(_ context.Context, a []string) error {
			m, err := readMail(dataDir, a[0])
			if err != nil {
				return err
			}
			if raw {
				_, err := c.stdout.Write(m.Raw)
				return err
			}
			return c.emit(mailJSON(m), func(w io.Writer) { printMail(w, m, html) })
		}),
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", defaultDataDir, "the data directory `infuse dev` runs with")
	f.BoolVar(&html, "html", false, "show the HTML part instead of the plain text")
	f.BoolVar(&raw, "raw", false, "print the message exactly as received (RFC 5322, MIME)")
	return cmd
}

// mailboxDir is the mailbox folder of dataDir, which must exist.
func mailboxDir(dataDir string) (string, error) {
	if _, err := os.Stat(dataDir); errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%w: there is no data directory %s: is `infuse dev` running in this directory? "+
			"(otherwise pass --data-dir)", apperr.ErrNotFound, dataDir)
	}
	return devmail.Folder(dataDir), nil
}

// readMail finds FILE: a path to a file, a file name in the mailbox, or
// the unique start of one.
func readMail(dataDir, ref string) (devmail.Message, error) {
	if strings.ContainsRune(ref, filepath.Separator) || strings.ContainsRune(ref, '/') {
		return mailOrNotFound(devmail.Read(filepath.Dir(ref), filepath.Base(ref)))
	}
	dir, err := mailboxDir(dataDir)
	if err != nil {
		return devmail.Message{}, err
	}
	if strings.HasSuffix(ref, ".eml") {
		if _, err := os.Stat(filepath.Join(dir, ref)); err == nil {
			return mailOrNotFound(devmail.Read(dir, ref))
		}
	}
	list, err := devmail.List(dir)
	if err != nil {
		return devmail.Message{}, fmt.Errorf("reading the mailbox %s: %w", dir, err)
	}
	var match []string
	for _, s := range list {
		if strings.HasPrefix(s.File, ref) {
			match = append(match, s.File)
		}
	}
	switch len(match) {
	case 0:
		return devmail.Message{}, fmt.Errorf("%w: no e-mail %q in %s (see `infuse mail list`)", apperr.ErrNotFound, ref, dir)
	case 1:
		return mailOrNotFound(devmail.Read(dir, match[0]))
	}
	return devmail.Message{}, usage("%q matches %d e-mails (%s, …): give more of the name", ref, len(match), match[0])
}

func mailOrNotFound(m devmail.Message, err error) (devmail.Message, error) {
	if errors.Is(err, devmail.ErrNoMessage) {
		return m, fmt.Errorf("%w: %w", apperr.ErrNotFound, err)
	}
	return m, err
}

// mailJSON is `mail show --json`.
func mailJSON(m devmail.Message) any {
	type part struct {
		ContentType string `json:"contentType"`
		FileName    string `json:"fileName,omitempty"`
		Size        int    `json:"size"`
	}
	parts := make([]part, len(m.Parts))
	for i, p := range m.Parts {
		parts[i] = part{p.ContentType, p.FileName, len(p.Data)}
	}
	return struct {
		devmail.Summary
		Header map[string][]string `json:"header"`
		Text   string              `json:"text"`
		HTML   string              `json:"html"`
		Parts  []part              `json:"parts"`
	}{m.Summary, m.Header, m.Text, m.HTML, parts}
}

func printMail(w io.Writer, m devmail.Message, html bool) {
	fmt.Fprintf(w, "File:       %s\n", m.File)
	fmt.Fprintf(w, "Received:   %s\n", m.Received.In(programme.London).Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(w, "Date:       %s\n", orDash(m.Header.Get("Date")))
	fmt.Fprintf(w, "From:       %s\n", m.From)
	fmt.Fprintf(w, "To:         %s\n", m.To)
	fmt.Fprintf(w, "Subject:    %s\n", m.Subject)
	fmt.Fprintf(w, "Message-ID: %s\n", orDash(m.MessageID))
	if lang := m.Header.Get("Content-Language"); lang != "" {
		fmt.Fprintf(w, "Language:   %s\n", lang)
	}
	for _, p := range m.Parts {
		if p.FileName != "" {
			fmt.Fprintf(w, "Attachment: %s (%s, %d bytes)\n", p.FileName, p.ContentType, len(p.Data))
		}
	}
	fmt.Fprintln(w)
	body := m.Text
	if html || body == "" {
		body = m.HTML
	}
	body = strings.ReplaceAll(body, "\r\n", "\n")
	fmt.Fprint(w, body)
	if !strings.HasSuffix(body, "\n") {
		fmt.Fprintln(w)
	}
}

func (c *cli) mailOutboxCommand() *cobra.Command {
	var (
		status string
		intake string
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "List the outbox: every message, its recipient and how its delivery went",
		Long: `List the messages in the store's outbox, in the order they are due: recipient,
template, when it is (or was) due, its status (queued, sent or failed), the
attempts that did not succeed and the last error. A failed message is not tried
again; its error says why (for example a malformed address, or the mail server
refusing it). It reads the store only, so it works while Temporal is down.`,
		Example: `  infuse mail outbox --status failed
  infuse mail outbox --intake 0b7e6f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f --status queued`,
		Args: args(cobra.NoArgs),
		RunE: c.action(func(ctx context.Context, _ []string) error {
			f := store.OutboxFilter{Status: store.MessageStatus(strings.ToLower(strings.TrimSpace(status))), Limit: limit}
			switch f.Status {
			case "", store.MessageQueued, store.MessageSent, store.MessageFailed:
			default:
				return usage("--status %q: use queued, sent or failed", status)
			}
			if limit < 0 {
				return usage("--limit must be 0 (no limit) or more")
			}
			if intake != "" {
				id, err := parseID("--intake", intake)
				if err != nil {
					return err
				}
				f.IntakeID = id
			}
			st, err := c.store(ctx, false)
			if err != nil {
				return err
			}
			if f.IntakeID != uuid.Nil {
				if _, err := st.GetIntake(ctx, f.IntakeID); errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("%w: no intake %s", apperr.ErrNotFound, f.IntakeID)
				} else if err != nil {
					return err
				}
			}
			msgs, err := st.ListMessages(ctx, f)
			if err != nil {
				return err
			}
			rows, err := outboxRows(ctx, st, msgs)
			if err != nil {
				return err
			}
			return c.emit(rows, func(w io.Writer) {
				if len(rows) == 0 {
					fmt.Fprintln(w, "No messages.")
					return
				}
				t := make([][]string, len(rows))
				for i, r := range rows {
					t[i] = []string{r.Key, r.Recipient, r.Template, when(r.SendAt), string(r.Status),
						strconv.Itoa(r.Attempts), orDash(oneLine(r.LastError))}
				}
				table(w, []string{"KEY", "RECIPIENT", "TEMPLATE", "SEND AT", "STATUS", "ATTEMPTS", "LAST ERROR"}, t)
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "only messages in this state: queued, sent or failed")
	f.StringVar(&intake, "intake", "", "only this intake's messages (its ID)")
	f.IntVar(&limit, "limit", 0, "at most this many messages (0: all)")
	return cmd
}

// outboxRow is one line of `mail outbox`.
type outboxRow struct {
	Key         string              `json:"key"`
	IntakeID    uuid.UUID           `json:"intakeId"`
	JourneyID   uuid.UUID           `json:"journeyId"`
	RecipientID uuid.UUID           `json:"recipientId"`
	Recipient   string              `json:"recipient"`
	Role        store.Role          `json:"role"`
	Template    string              `json:"template"`
	ItemID      string              `json:"itemId,omitempty"`
	SendAt      time.Time           `json:"sendAt"`
	Status      store.MessageStatus `json:"status"`
	Attempts    int                 `json:"attempts"`
	LastError   string              `json:"lastError,omitempty"`
	SentAt      *time.Time          `json:"sentAt,omitempty"`
	MessageID   string              `json:"messageId,omitempty"`
}

// outboxRows names each message's recipient, looking each person up once.
func outboxRows(ctx context.Context, st store.Store, msgs []store.Message) ([]outboxRow, error) {
	names := map[uuid.UUID]string{}
	rows := make([]outboxRow, 0, len(msgs))
	for _, m := range msgs {
		name, ok := names[m.RecipientID]
		if !ok {
			p, err := st.GetPerson(ctx, m.RecipientID)
			switch {
			case errors.Is(err, store.ErrNotFound):
				name = "(erased " + m.RecipientID.String()[:8] + ")"
			case err != nil:
				return nil, fmt.Errorf("looking up recipient %s: %w", m.RecipientID, err)
			default:
				name = strings.TrimSpace(p.GivenName + " " + p.FamilyName)
			}
			names[m.RecipientID] = name
		}
		r := outboxRow{
			Key: m.Key, IntakeID: m.IntakeID, JourneyID: m.JourneyID, RecipientID: m.RecipientID, Recipient: name,
			Role: m.Role, Template: m.Template, ItemID: m.ItemID, SendAt: m.SendAt, Status: m.Status,
			Attempts: m.Attempts, LastError: m.LastError, MessageID: m.MessageID,
		}
		if !m.SentAt.IsZero() {
			sent := m.SentAt
			r.SentAt = &sent
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// clip shortens s to at most n characters, marking the cut with "…".
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
