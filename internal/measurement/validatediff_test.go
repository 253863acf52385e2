package measurement

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// full is valid() with every list and pointer of the schema filled, control included.
func full() *Measurement {
	m := valid()
	f := "x"
	m.Schedule = "daily"
	m.Resolvers[0].Failure = &f
	m.DNS[0].LateReplies = []DNSReply{{Rcode: "NOERROR", RTTMS: 1, Answers: []DNSAnswer{{Name: "t.me", Type: "AAAA", Data: "::1"}}}}
	m.DNS[0].Bogons = []string{"10.0.0.1"}
	m.TLS[0].Certificates = []Certificate{{Subject: "CN=t.me", Issuer: "CA", SHA256: "ab", DNSNames: []string{"t.me", "x.t.me"}}}
	m.Fingerprints = []FingerprintMatch{{Name: "n", Location: "body", Pattern: "p", Where: "w"}}
	m.Control = &Control{Helper: "https://h/", Failure: &f,
		Attempts:     []ControlAttempt{{Helper: "https://h/", Failure: &f, TimeMS: 1}},
		Observations: valid().Observations}
	m.Input = "https://t.me/"
	m.Canary = &Canary{Name: "example.org", Addrs: []string{"10.0.0.1"}, Bogons: []string{"10.0.0.1"},
		DNSFailure: &f, URL: "http://example.org/", Status: 200, BodySHA256: "ab", Title: "t", Failure: &f, TimeMS: 1}
	yes := true
	m.Source = SourceOONI
	m.Provenance = &Provenance{ReportID: "r", MeasurementUID: "u", ProbeASN: "AS7713", ProbeNetworkName: "n",
		ProbeCC: "ID", SoftwareName: "s", SoftwareVersion: "v", OONIBlocking: "dns", OONIAccessible: &yes}
	return m
}

// Every string and number of a full measurement, set in turn to each bad value, gives
// Validate's errors exactly as the reference gives them.
func TestValidateMatchesReference(t *testing.T) {
	badStrings := []string{"", "a b", "a\tb", "a\x00b", "a\x7fb", "\xff", "é", "é\x01", strings.Repeat("x", maxString+1), "bogus"}
	badNumbers := []float64{-1, math.NaN(), math.Inf(1), 70000, 1000}
	cases := 0
	var walk func(path string, get func(*Measurement) reflect.Value)
	walk = func(path string, get func(*Measurement) reflect.Value) {
		v := get(full())
		try := func(set func(reflect.Value)) {
			m := full()
			set(get(m))
			got, want := errString(m.Validate(now)), errString(refValidate(m, now))
			cases++
			if got != want {
				t.Errorf("%s: got\n%s\nwant\n%s", path, got, want)
			}
		}
		switch v.Kind() {
		case reflect.String:
			for _, s := range badStrings {
				try(func(f reflect.Value) { f.SetString(s) })
			}
		case reflect.Float64:
			for _, n := range badNumbers {
				try(func(f reflect.Value) { f.SetFloat(n) })
			}
		case reflect.Int, reflect.Int64:
			for _, n := range badNumbers[:1] {
				try(func(f reflect.Value) { f.SetInt(int64(n)) })
			}
			try(func(f reflect.Value) { f.SetInt(70000) })
			try(func(f reflect.Value) { f.SetInt(0) })
		case reflect.Pointer:
			if !v.IsNil() {
				walk(path+"*", func(m *Measurement) reflect.Value { return get(m).Elem() })
			}
		case reflect.Struct:
			if v.Type().PkgPath() == "time" {
				return
			}
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, func(m *Measurement) reflect.Value { return get(m).Field(i) })
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(path+"[]", func(m *Measurement) reflect.Value { return get(m).Index(i) })
			}
			try(func(f reflect.Value) { f.Set(reflect.MakeSlice(f.Type(), maxList+1, maxList+1)) })
		case reflect.Map:
			try(func(f reflect.Value) {
				f.SetMapIndex(reflect.ValueOf("a b"), reflect.ValueOf("\x01"))
			})
		}
	}
	walk("m", func(m *Measurement) reflect.Value { return reflect.ValueOf(m).Elem() })
	if err := full().Validate(now); err != nil {
		t.Fatalf("full measurement: %v", err)
	}
	if cases < 300 {
		t.Errorf("only %d cases", cases)
	}
	t.Logf("%d cases", cases)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
