package orders

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// seedFS holds the bundled seed orders (seeds/*.yaml) and the lists they name.
//
//go:embed seeds
var seedFS embed.FS

// Seeds returns the bundled seed orders, sorted by Effective then ID. Their File is
// "seeds/NAME.yaml". It panics if one does not parse: they are tested.
func Seeds() []Order {
	ds, err := seeds()
	if err != nil {
		panic(fmt.Sprintf("orders: bad seed order: %v", err))
	}
	out := make([]Order, len(ds))
	for i, d := range ds {
		out[i] = d.o
	}
	sortOrders(out)
	return out
}

// seeds parses the embedded seed orders; their target lists are read from the embedded
// folder too.
func seeds() ([]decoded, error) {
	names, err := fs.Glob(seedFS, "seeds/*.yaml")
	if err != nil {
		return nil, err
	}
	var out []decoded
	var errs []error
	for _, name := range names {
		b, err := seedFS.ReadFile(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		read := func(p string) ([]byte, error) { return seedFS.ReadFile(path.Join(path.Dir(name), p)) }
		d, err := parse(name, b, read)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

// Load returns the seed orders and the orders in dir/*.yaml and dir/*.yml (not in
// sub-folders), sorted by Effective then ID. A file whose order has a seed's ID replaces
// that seed; two files may not share an ID, and supersedes must name an order of the
// result. With dir "" or a dir that does not exist yet (no order uploaded), it returns
// the seeds. Every problem of every file is reported, joined; then no order is returned.
func Load(dir string) ([]Order, error) {
	ds, err := seeds()
	if err != nil {
		return nil, fmt.Errorf("orders: bad seed order: %w", err)
	}
	var errs []error
	if dir != "" {
		files, err := readDir(dir)
		if err != nil {
			return nil, err
		}
		byID := map[string]int{} // ID → index in ds
		for i, d := range ds {
			byID[d.o.ID] = i
		}
		fromFile := map[string]string{} // ID → file
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				errs = append(errs, fmt.Errorf("orders: %w", err))
				continue
			}
			dd, err := parseFile(name, b)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			id := dd.o.ID
			if first, dup := fromFile[id]; dup {
				errs = append(errs, dd.f.At("id", fmt.Errorf("%q is already used by %s", id, first)))
				continue
			}
			fromFile[id] = name
			if i, seed := byID[id]; seed {
				ds[i] = dd
				continue
			}
			byID[id] = len(ds)
			ds = append(ds, dd)
		}
		for _, d := range ds {
			if s := d.o.Supersedes; s != "" {
				if _, ok := byID[s]; !ok {
					errs = append(errs, d.f.At("supersedes", fmt.Errorf("%q: no such order", s)))
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make([]Order, len(ds))
	for i, d := range ds {
		out[i] = d.o
	}
	sortOrders(out)
	return out, nil
}

// readDir lists the order files of dir, sorted; a missing dir has none.
func readDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("orders: %w", err)
	}
	var out []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// sortOrders sorts by Effective, then ID.
func sortOrders(list []Order) {
	slices.SortFunc(list, func(a, b Order) int {
		if c := a.Effective.Compare(b.Effective); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
