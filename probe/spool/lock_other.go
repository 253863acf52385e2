//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package spool

import "os"

// lockDir does not lock on this platform: run one probe per spool directory.
func lockDir(string) (func() error, error) { return func() error { return nil }, nil }

// syncDir tries to make the renames in dir durable; some platforms (Windows) cannot sync
// a directory. The probe's durability argument (docs/spool.md) is made for Linux.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	_ = d.Sync()
	return d.Close()
}
