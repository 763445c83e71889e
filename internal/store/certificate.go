package store

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Certificate is the record of a completion certificate: which journey
// (and so which participant and intake) it was issued for, and the code
// printed on it by which anyone shown the certificate can have it confirmed.
type Certificate struct {
	// Code is the verification code in its printed form, "XXXXX-XXXXX"
	// (see FormatCertificateCode).
	Code      string
	JourneyID uuid.UUID
	PersonID  uuid.UUID
	IntakeID  uuid.UUID
	// IssuedAt is the date the certificate carries: when the journey completed.
	IssuedAt time.Time
}

// CertificateCodeAlphabet is what verification codes are made of: digits
// and capital letters without 0, O, 1 and I, which are easily confused
// when a code is read off paper. It has 32 symbols, so a random byte maps
// onto it without bias, and a 10-symbol code carries 50 random bits.
const CertificateCodeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// CertificateCodeLength is the number of symbols in a verification code.
const CertificateCodeLength = 10

// NewCertificateCode returns a random verification code from crypto/rand,
// in stored form (no dash).
func NewCertificateCode() (string, error) {
	b := make([]byte, CertificateCodeLength)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making a certificate code: %w", err)
	}
	for i := range b {
		b[i] = CertificateCodeAlphabet[b[i]&31]
	}
	return string(b), nil
}

// NormalizeCertificateCode turns a code as a person may type it ("abcde-fghjk",
// "ABCDE FGHJK", "abcdefghjk") into its stored form: ten symbols, capitals,
// no dash. It reports false if s cannot be a code.
func NormalizeCertificateCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r < 0x80 && strings.IndexByte(CertificateCodeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != CertificateCodeLength {
		return "", false
	}
	return b.String(), true
}

// FormatCertificateCode writes a stored code as printed: "XXXXX-XXXXX".
// Anything else is returned unchanged.
func FormatCertificateCode(code string) string {
	if len(code) != CertificateCodeLength {
		return code
	}
	return code[:5] + "-" + code[5:]
}

// PrepareCertificate checks the fields of a certificate to issue and
// normalises its time; the code is left for the store to choose.
func PrepareCertificate(journeyID, personID, intakeID uuid.UUID, at time.Time) (Certificate, error) {
	var problems []string
	if journeyID == uuid.Nil {
		problems = append(problems, "journey ID is missing")
	}
	if personID == uuid.Nil {
		problems = append(problems, "person ID is missing")
	}
	if intakeID == uuid.Nil {
		problems = append(problems, "intake ID is missing")
	}
	if at.IsZero() {
		problems = append(problems, "the completion time is missing")
	}
	if len(problems) > 0 {
		return Certificate{}, fmt.Errorf("%w: certificate for journey %s: %s", ErrInvalid, journeyID, strings.Join(problems, "; "))
	}
	return Certificate{JourneyID: journeyID, PersonID: personID, IntakeID: intakeID, IssuedAt: StoredTime(at)}, nil
}
