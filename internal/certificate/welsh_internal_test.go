package certificate

import (
	"reflect"
	"testing"

	"github.com/infuse-cymru/journeys/dev/welsh"
)

// The certificate's Welsh, its phrases and month names, is spelt right.
func TestWelshIsSpeltRight(t *testing.T) {
	var texts []welsh.Text
	v := reflect.ValueOf(words)
	for i := range v.NumField() {
		texts = append(texts, welsh.Text{Where: "the certificate's " + v.Type().Field(i).Name, Welsh: v.Field(i).Interface().(phrase).CY})
	}
	for _, m := range welshMonths[1:] {
		texts = append(texts, welsh.Text{Where: "the certificate's month " + m, Welsh: m})
	}
	welsh.CheckSpelling(t, texts)
}
