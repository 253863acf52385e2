package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

// A pooled gzip reader decompresses like a new one, after a bad stream too.
func TestPooledGzipReader(t *testing.T) {
	want := bytes.Repeat([]byte(`{"id":"0123456789abcdef"},`), 1000)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(want)
	zw.Close()
	for i := range 3 {
		if _, err := getGzipReader(bytes.NewReader([]byte("not gzip"))); err == nil {
			t.Fatal("no error for a body that is not gzip")
		}
		zr, err := getGzipReader(bytes.NewReader(zipped.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		gzipReaders.Put(zr)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("round %d: %d bytes, %v", i, len(got), err)
		}
	}
}

// BenchmarkGzipReader is the gunzip of a batch-sized body, with a pooled reader and with
// a new one.
func BenchmarkGzipReader(b *testing.B) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(bytes.Repeat([]byte(`{"id":"0123456789abcdef","kind":"web"},`), 4000))
	zw.Close()
	buf := make([]byte, 0, 200_000)
	for _, pooled := range []bool{true, false} {
		name := map[bool]string{true: "pooled", false: "new"}[pooled]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				get := gzip.NewReader
				if pooled {
					get = getGzipReader
				}
				zr, err := get(bytes.NewReader(zipped.Bytes()))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := bytes.NewBuffer(buf[:0]).ReadFrom(zr); err != nil {
					b.Fatal(err)
				}
				if pooled {
					gzipReaders.Put(zr)
				}
			}
		})
	}
}
