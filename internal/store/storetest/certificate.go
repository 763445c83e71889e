package storetest

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

var printedCode = regexp.MustCompile(`^[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}$`)

// testCertificateIssue: a certificate gets a printed-form code and keeps
// it: issuing again (even with another date) returns the same certificate.
func testCertificateIssue(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey, person := uuid.New(), uuid.New()
	completed := time.Date(2022, 3, 31, 17, 0, 0, 123456789, bst)
	c, err := s.IssueCertificate(ctx, journey, person, in.ID, completed)
	must(t, err)
	if !printedCode.MatchString(c.Code) {
		t.Errorf("code %q is not XXXXX-XXXXX from the unambiguous alphabet", c.Code)
	}
	if c.JourneyID != journey || c.PersonID != person || c.IntakeID != in.ID {
		t.Errorf("certificate %+v is not for journey %s, person %s, intake %s", c, journey, person, in.ID)
	}
	sameTime(t, "IssuedAt", c.IssuedAt, completed)

	again, err := s.IssueCertificate(ctx, journey, person, in.ID, completed.Add(48*time.Hour))
	must(t, err)
	if again != c {
		t.Errorf("issuing again gave %+v, want the first certificate %+v", again, c)
	}
	got, err := s.CertificateOf(ctx, journey)
	must(t, err)
	if got != c {
		t.Errorf("CertificateOf = %+v, want %+v", got, c)
	}
	_, err = s.CertificateOf(ctx, uuid.New())
	mustNotFound(t, "CertificateOf(unknown journey)", err)

	other, err := s.IssueCertificate(ctx, uuid.New(), person, in.ID, completed)
	must(t, err)
	if other.Code == c.Code {
		t.Errorf("two journeys got the same code %s", c.Code)
	}

	_, err = s.IssueCertificate(ctx, journey, uuid.New(), in.ID, completed)
	mustIs(t, "issuing a journey's certificate to someone else", err, store.ErrConflict)
	_, err = s.IssueCertificate(ctx, uuid.Nil, person, in.ID, completed)
	mustIs(t, "issuing without a journey", err, store.ErrInvalid)
	_, err = s.IssueCertificate(ctx, uuid.New(), person, in.ID, time.Time{})
	mustIs(t, "issuing without a date", err, store.ErrInvalid)
}

// testCertificateIssueConcurrent: journeys retried at once still get one
// certificate each.
func testCertificateIssueConcurrent(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey, person := uuid.New(), uuid.New()
	var wg sync.WaitGroup
	codes := make([]string, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.IssueCertificate(ctx, journey, person, in.ID, base)
			if err != nil {
				t.Error(err)
				return
			}
			codes[i] = c.Code
		}()
	}
	wg.Wait()
	for _, code := range codes[1:] {
		if code != codes[0] {
			t.Fatalf("concurrent issues gave different codes: %v", codes)
		}
	}
}

// testCertificateVerify: a code is found however it is typed; unknown and
// malformed codes are ErrNotFound.
func testCertificateVerify(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	c, err := s.IssueCertificate(ctx, uuid.New(), uuid.New(), in.ID, base)
	must(t, err)
	plain := strings.ReplaceAll(c.Code, "-", "")
	for _, typed := range []string{c.Code, strings.ToLower(c.Code), plain, strings.ToLower(plain),
		" " + plain[:5] + " " + plain[5:] + " ", plain[:3] + "-" + plain[3:]} {
		got, err := s.VerifyCertificate(ctx, typed)
		if err != nil {
			t.Errorf("VerifyCertificate(%q): %v", typed, err)
			continue
		}
		if got != c {
			t.Errorf("VerifyCertificate(%q) = %+v, want %+v", typed, got, c)
		}
	}
	unknown := "ZZZZZ-ZZZZZ"
	if c.Code == unknown {
		unknown = "YYYYY-YYYYY"
	}
	for _, bad := range []string{unknown, "", "ABCDE", "ABCDE-FGHJK-LMNPQ", "O0O0O-I1I1I", "ÂBCDE-FGHJK", "'; DROP TABLE certificates; --"} {
		_, err := s.VerifyCertificate(ctx, bad)
		mustNotFound(t, "VerifyCertificate("+bad+")", err)
	}
}
