package target

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// testListHeader starts the header line of a Citizen Lab test list
// (url,category_code,category_description,date_added,source,notes).
const testListHeader = "url,category_code"

// maxLine bounds one line of a target file.
const maxLine = 1 << 20

// ReadFile reads the targets in the file at path; see Read. Errors name the path.
func ReadFile(path string, categories []string) ([]Target, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("target file: %w", err)
	}
	defer f.Close()
	return Read(f, path, categories)
}

// Read reads targets from r: either one target per line (blank lines and lines starting
// with # are skipped, and so is a comment after whitespace: "t.me  # Telegram"), or a
// Citizen Lab test-list CSV, recognised by its header line starting with
// "url,category_code". Targets come in file order; those from a test list carry their
// Category. If categories is not empty, only test-list rows with one of those category
// codes are kept (case-insensitively); a plain list has no categories and is kept whole.
//
// Every bad line is reported, as "NAME:LINE: what is wrong", all joined with
// errors.Join; the good targets are returned alongside the error.
func Read(r io.Reader, name string, categories []string) ([]Target, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := br.Peek(len(testListHeader) + 3)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if strings.HasPrefix(strings.TrimPrefix(string(first), "\ufeff"), testListHeader) {
		return readTestList(br, name, categories)
	}
	return readPlain(br, name)
}

// readPlain reads one target per line.
func readPlain(r io.Reader, name string) ([]Target, error) {
	var out []Target
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if line == 1 {
			s = strings.TrimPrefix(s, "\ufeff")
		}
		s = strings.TrimSpace(stripComment(s))
		if s == "" {
			continue
		}
		t, err := Parse(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, line, err))
			continue
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	return out, errors.Join(errs...)
}

// stripComment removes a comment: from a # that starts the line or follows whitespace.
// A # inside a URL (a fragment) is kept.
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}

// readTestList reads a Citizen Lab test-list CSV.
func readTestList(r io.Reader, name string, categories []string) ([]Target, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read() // its field count is required of every row
	if err != nil {
		return nil, fmt.Errorf("%s:1: %w", name, err)
	}
	var out []Target
	var errs []error
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			switch {
			case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
				errs = append(errs, fmt.Errorf("%s:%d: wrong number of fields: got %d, want %d", name, pe.StartLine, len(rec), len(head)))
				continue
			case errors.As(err, &pe):
				errs = append(errs, fmt.Errorf("%s:%d:%d: %w", name, pe.Line, pe.Column, pe.Err))
				continue
			}
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			break
		}
		category := strings.TrimSpace(rec[1])
		if len(categories) > 0 && !slices.ContainsFunc(categories, func(c string) bool { return strings.EqualFold(c, category) }) {
			continue
		}
		t, err := Parse(strings.TrimSpace(rec[0]))
		if err != nil {
			line, _ := cr.FieldPos(0)
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, line, err))
			continue
		}
		t.Category = category
		out = append(out, t)
	}
	return out, errors.Join(errs...)
}
