package devserver

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// uiServer is the Temporal Web UI (github.com/temporalio/ui-server, the same
// that `temporal server start-dev` embeds), serving its built-in assets.
type uiServer struct {
	srv     *uiserver.Server
	address string
	done    chan struct{}
}

func startUI(ctx context.Context, o Options, frontendAddr, dialHost string) (*uiServer, error) {
	srv := uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		Host:                o.IP,
		Port:                o.UIPort,
		TemporalGRPCAddress: frontendAddr,
		EnableUI:            true,
		DefaultNamespace:    o.Namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		// No calls to the internet for release news.
		DisableNewsFetch: true,
	}))
	u := &uiServer{
		srv:     srv,
		address: "http://" + net.JoinHostPort(dialHost, strconv.Itoa(o.UIPort)),
		done:    make(chan struct{}),
	}
	// Start blocks until Stop. (It exits the process if it cannot listen,
	// which is why Start checks the port first.)
	go func() {
		defer close(u.done)
		_ = srv.Start()
	}()

	hostPort := net.JoinHostPort(dialHost, strconv.Itoa(o.UIPort))
	for {
		conn, err := net.DialTimeout("tcp", hostPort, time.Second)
		if err == nil {
			_ = conn.Close()
			return u, nil
		}
		select {
		case <-ctx.Done():
			u.stop()
			return nil, fmt.Errorf("devserver: Web UI not listening on %s: %w", hostPort, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (u *uiServer) stop() {
	u.srv.Stop()
	select {
	case <-u.done:
	case <-time.After(5 * time.Second):
	}
}
