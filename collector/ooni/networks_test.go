package ooni

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pantau-dev/pantau/collector/orders"
)

// TestDefaultNetworks: the built-in map names Indonesia's main ISPs, and every network
// the bundled 2017 orders name is the name of one of its ASNs, so that imported data
// counts for them.
func TestDefaultNetworks(t *testing.T) {
	n := DefaultNetworks()
	for asn, want := range map[uint32]string{
		7713: "Telkom Indonesia", 17974: "Telkom Indonesia", 23693: "Telkomsel", 24203: "XL Axiata",
		4761: "Indosat Ooredoo", 4795: "Indosat Ooredoo", 23700: "First Media", 17451: "Biznet",
		18004: "Smartfren", 45727: "Hutchison 3 Indonesia", 63859: "MyRepublic", 9341: "CBN",
	} {
		if got := n.Name(asn); got != want {
			t.Errorf("AS%d: %q, want %q", asn, got, want)
		}
	}
	if got := n.Name(64512); got != "AS64512" {
		t.Errorf("unmapped: %q, want AS64512", got)
	}
	named := map[string]bool{}
	for _, name := range n {
		named[name] = true
	}
	seeds := orders.Seeds()
	if len(seeds) == 0 {
		t.Fatal("no seed orders")
	}
	for _, o := range seeds {
		for _, net := range o.Networks {
			if !named[net] {
				t.Errorf("order %s: network %q is no ASN's name in networks.yaml", o.ID, net)
			}
		}
	}
}

func TestParseNetworks(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"forms of ASN", "AS7713: Telkom Indonesia\nas23693: Telkomsel\n24203: XL Axiata\n", ""},
		{"not a mapping", "- AS7713\n", "f.yaml:1: want a mapping of ASN to network name"},
		{"empty", "# nothing\n", "f.yaml: empty: want a mapping of ASN to network name"},
		{"bad ASN", "AS7713: Telkom Indonesia\nTelkom: Telkom Indonesia\n", `f.yaml:2: Telkom: "Telkom" is not an AS number (want AS7713 or 7713)`},
		{"ASN given twice", "AS7713: Telkom Indonesia\n7713: Telkom\n", "f.yaml:2: 7713: given twice (first at line 1)"},
		{"bad name", "AS7713: \"Telkom, Indonesia\"\nAS1: [a]\nAS2:\n", `f.yaml:1: AS7713: "Telkom, Indonesia" is not a network name` + "|" +
			`f.yaml:2: AS1: "" is not a network name` + "|" + `f.yaml:3: AS2: "" is not a network name`},
		{"syntax", "AS7713: [\n", "f.yaml: "},
	} {
		n, err := ParseNetworks([]byte(tc.in), "f.yaml")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == "":
			if n.Name(7713) != "Telkom Indonesia" || n.Name(23693) != "Telkomsel" || n.Name(24203) != "XL Axiata" {
				t.Errorf("%s: %v", tc.name, n)
			}
		case err == nil:
			t.Errorf("%s: no error, want %q", tc.name, tc.want)
		default:
			for _, w := range strings.Split(tc.want, "|") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q, want it to contain %q", tc.name, err, w)
				}
			}
		}
	}
	p := filepath.Join(t.TempDir(), "n.yaml")
	if err := os.WriteFile(p, []byte("AS7713: Telkom\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := LoadNetworks(p); err != nil || n.Name(7713) != "Telkom" {
		t.Errorf("LoadNetworks: %v %v", n, err)
	}
}
