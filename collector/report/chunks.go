package report

import "time"

// appendChunk appends items to chunks: as they are when all are in [from, to), else a
// new slice of those that are; nothing when none is.
func appendChunk[T any](chunks [][]T, items []T, from, to time.Time, at func(*T) time.Time) [][]T {
	in := 0
	for i := range items {
		if t := at(&items[i]); !t.Before(from) && t.Before(to) {
			in++
		}
	}
	switch {
	case in == 0:
		return chunks
	case in == len(items):
		return append(chunks, items)
	}
	part := make([]T, 0, in)
	for i := range items {
		if t := at(&items[i]); !t.Before(from) && t.Before(to) {
			part = append(part, items[i])
		}
	}
	return append(chunks, part)
}

// merge returns the items of chunks that keep accepts (nil: all), in order, in one new
// slice sized once: growing a slice of 1.6 million observations costs more than the rest.
func merge[T any](chunks [][]T, keep func(*T) bool) []T {
	total := 0
	for _, ch := range chunks {
		total += len(ch)
	}
	out := make([]T, 0, total)
	for _, ch := range chunks {
		if keep == nil {
			out = append(out, ch...)
			continue
		}
		for i := range ch {
			if keep(&ch[i]) {
				out = append(out, ch[i])
			}
		}
	}
	return out
}
