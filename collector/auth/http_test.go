package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func request(headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/measurements", nil)
	for _, h := range headers {
		r.Header.Add("Authorization", h)
	}
	return r
}

func TestBearerToken(t *testing.T) {
	long := strings.Repeat("a", MaxTokenLen+1)
	tests := []struct {
		name    string
		headers []string
		want    string
		wantErr error
		wantMsg string
	}{
		{"plain", []string{"Bearer pt1.abc.def"}, "pt1.abc.def", nil, ""},
		{"lower-case scheme", []string{"bearer tok"}, "tok", nil, ""},
		{"extra spaces", []string{"  Bearer   tok  "}, "tok", nil, ""},
		{"max length", []string{"Bearer " + long[1:]}, long[1:], nil, ""},
		{"no header", nil, "", ErrMissing, "missing token"},
		{"empty header", []string{""}, "", ErrMissing, "missing token"},
		{"blank header", []string{"   "}, "", ErrMissing, "missing token"},
		{"two headers", []string{"Bearer a", "Bearer b"}, "", ErrMalformed, "malformed token: more than one Authorization header"},
		{"basic", []string{"Basic dXNlcjpwYXNz"}, "", ErrMalformed, `malformed token: want "Authorization: Bearer TOKEN"`},
		{"scheme only", []string{"Bearer"}, "", ErrMalformed, `malformed token: want "Authorization: Bearer TOKEN"`},
		{"no scheme", []string{"pt1.abc.def"}, "", ErrMalformed, `malformed token: want "Authorization: Bearer TOKEN"`},
		{"two words", []string{"Bearer a b"}, "", ErrMalformed, "malformed token: white space in the token"},
		{"tab", []string{"Bearer a\tb"}, "", ErrMalformed, "malformed token: white space in the token"},
		{"too long", []string{"Bearer " + long}, "", ErrMalformed, "malformed token: longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BearerToken(request(tt.headers...))
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Errorf("BearerToken = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || err.Error() != tt.wantMsg || got != "" {
				t.Errorf("BearerToken = %q, %v; want error %q", got, err, tt.wantMsg)
			}
		})
	}
}

func TestCheckAdmin(t *testing.T) {
	const admin = "s3cret-admin-token"
	tests := []struct {
		name    string
		headers []string
		admin   string
		want    bool
	}{
		{"match", []string{"Bearer " + admin}, admin, true},
		{"wrong", []string{"Bearer s3cret-admin-tokeN"}, admin, false},
		{"prefix", []string{"Bearer s3cret"}, admin, false},
		{"longer", []string{"Bearer " + admin + "x"}, admin, false},
		{"no header", nil, admin, false},
		{"basic scheme", []string{"Basic " + admin}, admin, false},
		{"disabled", []string{"Bearer "}, "", false},
		{"disabled with a token", []string{"Bearer x"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckAdmin(request(tt.headers...), tt.admin); got != tt.want {
				t.Errorf("CheckAdmin = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAdminTokenEqual(t *testing.T) {
	const admin = "s3cret-admin-token"
	for _, tt := range []struct {
		name, given, admin string
		want               bool
	}{
		{"match", admin, admin, true},
		{"one byte off", "s3cret-admin-tokeN", admin, false},
		{"prefix", "s3cret", admin, false},
		{"longer", admin + "x", admin, false},
		{"empty given", "", admin, false},
		{"disabled", "", "", false},
		{"disabled with a token", "x", "", false},
	} {
		if got := AdminTokenEqual(tt.given, tt.admin); got != tt.want {
			t.Errorf("%s: AdminTokenEqual = %v, want %v", tt.name, got, tt.want)
		}
	}
}
