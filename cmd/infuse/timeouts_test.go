package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/dev/testenv"
)

// A client that sends its body slowly is cut off by the API's listener
// rather than holding the connection for ever: here it sends two bytes of
// the hundred it announced and stops. (The listener's read timeout is
// shortened for the test; the client waits ten seconds at most.)
func TestSlowBodyIsCutOff(t *testing.T) {
	saved := httpTimeouts
	t.Cleanup(func() { httpTimeouts = saved })
	httpTimeouts.read = 200 * time.Millisecond

	addr := testenv.ClosedPort(t)
	read := make(chan error, 1)
	_, stop, err := listen("API", "--http", addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		read <- err
	}), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /api/people/import HTTP/1.1\r\nHost: infuse\r\nContent-Length: 100\r\n\r\nro"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.Copy(io.Discard, conn) // until the server closes the connection
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server still held the connection of a client that stopped sending its body after 10 s")
	}
	select {
	case err := <-read:
		if err == nil {
			t.Error("the handler read the whole body of a client that sent 2 bytes of 100")
		}
	case <-time.After(10 * time.Second):
		t.Error("the handler was still reading the body after the connection was cut")
	}
}
