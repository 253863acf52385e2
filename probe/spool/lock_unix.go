//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package spool

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockDir takes an exclusive advisory lock (flock) on dir/lock, held until release or
// until the process dies, and writes the process ID into it.
func lockDir(dir string) (release func() error, err error) {
	p := dir + "/lock"
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid, _ := os.ReadFile(p)
			return nil, fmt.Errorf("%s is in use by another process (pid %s): %w", dir, strings.TrimSpace(string(pid)), ErrLocked)
		}
		return nil, fmt.Errorf("locking %s: %w", p, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0) // informative only
	}
	return f.Close, nil // closing the descriptor releases the lock
}

// syncDir makes the renames, creations and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
