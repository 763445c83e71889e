package wire

import "testing"

func TestLowerCamelCase(t *testing.T) {
	for key, want := range map[string]bool{
		"id": true, "journeyId": true, "asOf": true, "signInLinksGone": true, "a1": true,
		"": false, "ID": false, "JourneyID": false, "journey_id": false, "expires-at": false, "1st": false, "Name": false,
		"journeyID": false, "htmlURL": false, "ragStatus": true, "pdfA4": true,
	} {
		if got := LowerCamelCase(key); got != want {
			t.Errorf("LowerCamelCase(%q) = %v, want %v", key, got, want)
		}
	}
}
