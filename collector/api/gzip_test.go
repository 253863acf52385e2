package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// A pooled gzip reader decompresses what compress/gzip (the probe's) wrote, after a bad
// stream too.
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

// BenchmarkGzipReader is the gunzip of a batch-sized body with a pooled reader, a new
// one, and a new one of the standard library's compress/gzip (for comparison).
func BenchmarkGzipReader(b *testing.B) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(bytes.Repeat([]byte(`{"id":"0123456789abcdef","kind":"web"},`), 4000))
	zw.Close()
	buf := make([]byte, 0, 200_000)
	for _, name := range []string{"pooled", "new", "stdlib"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var zr io.Reader
				var err error
				switch name {
				case "pooled":
					zr, err = getGzipReader(bytes.NewReader(zipped.Bytes()))
				case "new":
					zr, err = kgzip.NewReader(bytes.NewReader(zipped.Bytes()))
				default:
					zr, err = gzip.NewReader(bytes.NewReader(zipped.Bytes()))
				}
				if err != nil {
					b.Fatal(err)
				}
				if _, err := bytes.NewBuffer(buf[:0]).ReadFrom(zr); err != nil {
					b.Fatal(err)
				}
				if name == "pooled" {
					gzipReaders.Put(zr.(*kgzip.Reader))
				}
			}
		})
	}
}
