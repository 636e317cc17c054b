package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolebind/rbac/check"
	"github.com/rolebind/rbac/httpapi"
	"github.com/rolebind/rbac/sqlstore"
)

// serveOptions are the flags of rbac serve.
type serveOptions struct {
	addr     string
	keys     string
	interval time.Duration
	grace    time.Duration
}

// serve runs the HTTP API over s until ctx ends (SIGINT or SIGTERM, which
// run turns into a cancelled context), then stops taking connections and
// waits up to opts.grace for the requests in flight to finish, so that
// every request that got an answer is in the database, and none is cut
// off halfway. It logs the address it listens on once it does.
func serve(ctx context.Context, s *sqlstore.Store, opts serveOptions, log *slog.Logger) error {
	auth, n, err := loadKeys(opts.keys, log)
	if err != nil {
		return fmt.Errorf("keys file: %w", err)
	}
	var keys atomic.Pointer[httpapi.Authenticate]
	keys.Store(&auth)
	// SIGHUP reads the keys file again, so that an operator adds or
	// revokes a key without a restart. A file that does not read, or has
	// a malformed line, leaves the keys in use as they were: a server
	// never goes on with fewer keys than its operator wrote, nor with
	// none by accident.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reloaderDone := make(chan struct{})
	defer close(reloaderDone)
	go func() {
		for {
			select {
			case <-hup:
				auth, n, err := loadKeys(opts.keys, log)
				if err != nil {
					log.Error("keys file not reloaded: the keys in use stay", "keys", opts.keys, "err", err)
					continue
				}
				keys.Store(&auth)
				log.Info("keys reloaded", "keys", n)
			case <-reloaderDone:
				return
			}
		}
	}()
	key, err := checkCursorKey(ctx, s)
	if err != nil {
		return err
	}
	c, err := check.New(check.Options{CursorKey: key})
	if err != nil {
		return err
	}
	// The follower outlives ctx: requests still in flight after the
	// signal write through the store, and their checks must see those
	// writes until the last one has finished.
	f, err := check.Follow(context.WithoutCancel(ctx), c, s, check.FollowOptions{Interval: opts.interval, Logger: log})
	if err != nil {
		return err
	}
	defer f.Close()

	mux := http.NewServeMux()
	// Up: the process answers.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	// Ready: the database answers and the checker is following it.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.DB().PingContext(ctx); err != nil {
			log.Warn("not ready: database", "err", err)
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		if err := f.Err(); err != nil {
			log.Warn("not ready: follower", "err", err)
			http.Error(w, "checker not following the database", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	current := func(r *http.Request) (httpapi.Principal, error) { return (*keys.Load())(r) }
	mux.Handle("/", httpapi.New(s, c, current, httpapi.Options{Logger: log, CursorKey: key}))

	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "keys", n)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing the requests in flight", "grace", opts.grace)
	sctx, cancel := context.WithTimeout(context.Background(), opts.grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: requests still running after %v: %w", opts.grace, err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// loadKeys reads the keys file at path and returns the authentication it
// makes and how many keys it holds, warning when it holds none.
func loadKeys(path string, log *slog.Logger) (httpapi.Authenticate, int, error) {
	entries, err := readKeys(path)
	if err != nil {
		return nil, 0, err
	}
	if len(entries) == 0 {
		log.Warn("the keys file holds no key: every request will be refused", "keys", path)
	}
	return keyAuth(entries), len(entries), nil
}

// newServeCmd is "rbac serve".
func newServeCmd(a *app) *cobra.Command {
	opts := serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve --keys FILE [--addr 127.0.0.1:8080]",
		Short: "Serve the REST API (role bindings, roles, restrictions) over HTTP",
		Long: `Serve the REST API of package httpapi over the database, with a checker
that follows it (writes of other processes arrive within --interval).

Clients authenticate with an API key from the keys file (see rbac keys),
sent as "Authorization: Bearer <key>". GET /healthz answers while the
process is up; GET /readyz when the database answers and the checker is
following it. SIGHUP reads the keys file again (a file that does not read
leaves the keys in use). SIGINT or SIGTERM stop it gracefully: no new
connections, and the requests in flight finish (within --grace). Logs go
to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.keys == "" {
				return usagef("serve: --keys is required (make one with rbac keys add)")
			}
			log := slog.New(slog.NewTextHandler(a.stderr, nil))
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			return serve(cmd.Context(), s, opts, log)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fl.StringVar(&opts.keys, "keys", "", "the keys file (see rbac keys)")
	fl.DurationVar(&opts.interval, "interval", time.Second, "how often to poll the database for other processes' writes")
	fl.DurationVar(&opts.grace, "grace", 30*time.Second, "how long requests in flight may take to finish on shutdown")
	return cmd
}
