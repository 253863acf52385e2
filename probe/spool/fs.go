package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// writeFileSync writes b to a new temp file in dir, fsyncs it and renames it to name; the
// caller fsyncs dir when the rename must be durable.
func writeFileSync(dir, name string, b []byte) error {
	tmp, err := writeTemp(dir, name+"-*"+tmpExt, b)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// writeTemp writes b to a new file in dir named after pattern (os.CreateTemp) and fsyncs
// it; it returns the file's path.
func writeTemp(dir, pattern string, b []byte) (string, error) {
	f, err := os.CreateTemp(dir, pattern) // mode 0600
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// freeName returns name, or name.1, name.2, … : the first that does not exist in dir, so a
// file moved aside never replaces another.
func freeName(dir, name string) string {
	for i := 0; ; i++ {
		n := name
		if i > 0 {
			n += "." + strconv.Itoa(i)
		}
		if _, err := os.Lstat(filepath.Join(dir, n)); errors.Is(err, fs.ErrNotExist) {
			return n
		}
	}
}

// removeTemps removes the leftover temp files in dir and returns how many there were.
func removeTemps(dir string) (int, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, de := range des {
		if !de.IsDir() && filepath.Ext(de.Name()) == tmpExt {
			if err := os.Remove(filepath.Join(dir, de.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return n, fmt.Errorf("removing a temp file: %w", err)
			}
			n++
		}
	}
	return n, nil
}

// isNoSpace reports whether err says the disk (or the user's quota) is full.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// overwrite writes b over the start of the existing file p, cuts p to len(b) and fsyncs
// it. Unlike writeFileSync it needs no new block when p is at least len(b) long, so it
// works on a full disk; a write of one sector is not torn by a power loss.
func overwrite(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, 0)
	if err == nil {
		err = f.Truncate(int64(len(b)))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
