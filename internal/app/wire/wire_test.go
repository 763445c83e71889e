package wire

import "testing"

func TestLowerCamelCase(t *testing.T) {
	for key, want := range map[string]bool{
		"id": true, "journeyId": true, "asOf": true, "signInLinksGone": true, "a1": true,
		"": false, "ID": false, "JourneyID": false, "journey_id": false, "expires-at": false, "1st": false, "Name": false,
	} {
		if got := LowerCamelCase(key); got != want {
			t.Errorf("LowerCamelCase(%q) = %v, want %v", key, got, want)
		}
	}
}
