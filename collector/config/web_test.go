package config_test

import (
	"slices"
	"testing"

	"github.com/pantau-dev/pantau/collector/config"
)

// TestWebEmbedFrameAncestors: web.embed_frame_ancestors takes origins and 'self', is empty
// (embedding off) by default, and names each bad entry with its line.
func TestWebEmbedFrameAncestors(t *testing.T) {
	base := "secret: " + fileSecret + "\ninflux: {url: http://127.0.0.1:8086, bucket: a/b}\n"
	tests := []struct {
		name, yaml string
		want       []string
		err        string
	}{
		{"default: off", "", nil, ""},
		{"origins and self", "web:\n  embed_frame_ancestors: [\"https://news.example\", \"'self'\", \"http://localhost:8080\"]\n",
			[]string{"https://news.example", "'self'", "http://localhost:8080"}, ""},
		{"not origins", "web:\n  embed_frame_ancestors:\n    - news.example\n    - https://news.example/path\n    - \"*\"\n    - https://a.example https://b.example\n    - self\n",
			nil, "collector.yaml:5: web.embed_frame_ancestors[0]: \"news.example\" is not an origin (https://host or https://host:port) or 'self'\n" +
				"collector.yaml:6: web.embed_frame_ancestors[1]: \"https://news.example/path\" is not an origin (https://host or https://host:port) or 'self'\n" +
				"collector.yaml:7: web.embed_frame_ancestors[2]: \"*\" is not an origin (https://host or https://host:port) or 'self'\n" +
				"collector.yaml:8: web.embed_frame_ancestors[3]: \"https://a.example https://b.example\" is not an origin (https://host or https://host:port) or 'self'\n" +
				"collector.yaml:9: web.embed_frame_ancestors[4]: \"self\" is not an origin (https://host or https://host:port) or 'self'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("collector.yaml", []byte(base+tt.yaml), noEnv)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error\n got %v\nwant %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Web.EmbedFrameAncestors, tt.want) {
				t.Errorf("embed_frame_ancestors = %q; want %q", c.Web.EmbedFrameAncestors, tt.want)
			}
		})
	}
}
