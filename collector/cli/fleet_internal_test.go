package cli

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/auth"
)

// revokedList is a stored revocation list that can change or fail.
type revokedList struct {
	mu   sync.Mutex
	list []string
	err  error
}

func (r *revokedList) StoredRevocations(context.Context) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.list, r.err
}

func (r *revokedList) set(list []string, err error) {
	r.mu.Lock()
	r.list, r.err = list, err
	r.mu.Unlock()
}

func TestRefreshRevoked(t *testing.T) {
	secret := []byte("refresh-test-secret-0123456789abcdef-0123")
	tok, err := auth.Issue(secret, auth.Claims{Probe: "jkt-01", Network: "Lab", Country: "ID", ASN: 64512, ID: "tok1"})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := auth.NewVerifier(secret, nil)
	src := &revokedList{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { refreshRevoked(ctx, src, v, 10*time.Millisecond, slog.New(slog.DiscardHandler)); close(done) }()
	defer func() { cancel(); <-done }()
	wait := func(what string, revoked bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			_, err := v.Verify(tok, time.Now())
			if errors.Is(err, auth.ErrRevoked) == revoked {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: token error %v", what, err)
			}
		}
	}
	src.set([]string{"id:tok1"}, nil)
	wait("revoked in storage", true)
	src.set(nil, errors.New("storage down"))
	time.Sleep(50 * time.Millisecond)
	wait("storage down keeps the list", true)
	src.set([]string{"probe:other"}, nil)
	wait("revocation lifted", false)
}
