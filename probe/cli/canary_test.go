package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
)

// measurements decodes the JSON lines of `probe measure` and validates each.
func measurements(t *testing.T, stdout string) []measurement.Measurement {
	t.Helper()
	var out []measurement.Measurement
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var m measurement.Measurement
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %q", err, l)
		}
		if err := m.Validate(time.Now()); err != nil {
			t.Errorf("%s: %v", m.Target, err)
		}
		out = append(out, m)
	}
	return out
}

// TestMeasureCanary checks which canary `probe measure` runs: example.org by default,
// the name --canary or the config's canary key gives (an IDN in A-labels), none for "".
func TestMeasureCanary(t *testing.T) {
	common, site, gone := lab(t)
	dir := t.TempDir()
	off := filepath.Join(dir, "off.yaml")
	if err := os.WriteFile(off, []byte("canary: \"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // the canary's name; "" for none
	}{
		{name: "default", want: "example.org"},
		{name: "flag", args: []string{"--canary", "Bérita.Example"}, want: "xn--brita-bsa.example"},
		{name: "flag off", args: []string{"--canary", ""}},
		{name: "config off", args: []string{"--config", off}},
		{name: "flag over config", args: []string{"--config", off, "--canary", "example.net"}, want: "example.net"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(append(append(common, tc.args...), site, gone)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			ms := measurements(t, stdout)
			if len(ms) != 2 {
				t.Fatalf("%d measurements, want 2", len(ms))
			}
			for _, m := range ms {
				switch c := m.Canary; {
				case tc.want == "" && c != nil:
					t.Errorf("%s: canary %+v, want none", m.Target, c)
				case tc.want == "":
				case c == nil || c.Name != tc.want:
					t.Errorf("%s: canary %+v, want %s", m.Target, c, tc.want)
				case len(c.Addrs) != 1 || c.Addrs[0] != "127.0.0.1" || len(c.Bogons) != 0:
					// the lab's resolver answers every name with 127.0.0.1, a lab address
					t.Errorf("%s: canary addrs %v bogons %v, want [127.0.0.1] and none", m.Target, c.Addrs, c.Bogons)
				}
			}
		})
	}
	for _, bad := range []string{"xn--zz", "192.0.2.1"} {
		code, _, stderr := runMain(append(append(common, "--canary", bad), site)...)
		if code != 2 || !strings.Contains(stderr, `invalid value "`+bad+`" for flag -canary: "`+bad+`"`) {
			t.Errorf("--canary %s: exit %d, %q; want 2 and the flag named", bad, code, stderr)
		}
	}
}

// TestMeasureIDN measures internationalised names given as arguments and in a target
// file: the A-label form is measured, the name as given is the input.
func TestMeasureIDN(t *testing.T) {
	common, site, _ := lab(t)
	port := strings.TrimSuffix(strings.TrimPrefix(site, "http://site.test:"), "/")
	list := filepath.Join(t.TempDir(), "targets.txt")
	if err := os.WriteFile(list, []byte("# Indonesian and Russian news\nhttp://bérita.example:"+port+"/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMain(append(common, "--canary", "", "-f", list, "http://ЯНДЕКС.РФ:"+port+"/")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := map[string][2]string{ // target → input, domain
		"http://xn--d1acpjx3f.xn--p1ai:" + port + "/": {"http://ЯНДЕКС.РФ:" + port + "/", "xn--d1acpjx3f.xn--p1ai"},
		"http://xn--brita-bsa.example:" + port + "/":  {"http://bérita.example:" + port + "/", "xn--brita-bsa.example"},
	}
	ms := measurements(t, stdout)
	if len(ms) != len(want) {
		t.Fatalf("%d measurements, want %d:\n%s", len(ms), len(want), stdout)
	}
	for _, m := range ms {
		w, ok := want[m.Target]
		if !ok || m.Input != w[0] || m.Domain != w[1] || len(m.HTTP) != 1 || m.HTTP[0].Title != "Hello" {
			t.Errorf("target %s input %q domain %q, want one of %q, fetched", m.Target, m.Input, m.Domain, want)
		}
		if len(m.DNS) == 0 || m.DNS[0].Query != w[1] {
			t.Errorf("%s: DNS %+v, want questions for %s", m.Target, m.DNS, w[1])
		}
	}
}
