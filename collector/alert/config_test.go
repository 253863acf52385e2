package alert_test

import (
	"testing"
	"time"

	"github.com/pantau-dev/pantau/collector/alert"
	"github.com/pantau-dev/pantau/internal/yamlconf"
)

func intp(n int) *int { return &n }

func validConfig() alert.Config {
	return alert.Config{
		Webhooks: []alert.Webhook{
			{Name: "ops", URL: "https://hooks.example.org/pantau", Secret: "s3cret", Events: []string{"transition"}},
			{Name: "regulator", URL: "http://127.0.0.1:9000/in", Events: []string{"compliance", "transition"}, Retries: intp(0)},
		},
		Watch:  []alert.Pair{{Domain: "t.me", Network: "Telkomsel"}, {Domain: "web.telegram.org", Network: "*"}, {Domain: "x.com", Network: "Indosat Ooredoo"}},
		Orders: []string{"kominfo-2017-telegram-block"},
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(c *alert.Config)
		want   string
	}{
		{"valid", func(c *alert.Config) {}, ""},
		{"empty", func(c *alert.Config) { *c = alert.Config{} }, ""},
		{"no name", func(c *alert.Config) { c.Webhooks[0].Name = "" }, "alerts.webhooks[0].name: required"},
		{"same name", func(c *alert.Config) { c.Webhooks[1].Name = "ops" }, `alerts.webhooks[1].name: "ops" is also webhooks[0]`},
		{"no url", func(c *alert.Config) { c.Webhooks[1].URL = "" }, "alerts.webhooks[1].url: required"},
		{"ftp url", func(c *alert.Config) { c.Webhooks[1].URL = "ftp://example.org/x" }, "alerts.webhooks[1].url: must be http or https"},
		{"relative url", func(c *alert.Config) { c.Webhooks[1].URL = "hooks/in" }, "alerts.webhooks[1].url: must be http or https"},
		{"no host", func(c *alert.Config) { c.Webhooks[0].URL = "https:///in" }, `alerts.webhooks[0].url: "https:///in" has no host`},
		{"bad url", func(c *alert.Config) { c.Webhooks[0].URL = "http://[::1" }, `alerts.webhooks[0].url: "http://[::1" is not a URL`},
		{"event", func(c *alert.Config) { c.Webhooks[1].Events[1] = "change" }, `alerts.webhooks[1].events[1]: "change" is not transition, compliance, probe_silent or network_silent`},
		{"timeout", func(c *alert.Config) { c.Webhooks[0].Timeout.Duration = -time.Second }, "alerts.webhooks[0].timeout: -1s is negative"},
		{"retries", func(c *alert.Config) { c.Webhooks[0].Retries = intp(11) }, "alerts.webhooks[0].retries: 11 is not between 0 and 10"},
		{"negative retries", func(c *alert.Config) { c.Webhooks[0].Retries = intp(-1) }, "alerts.webhooks[0].retries: -1 is not between 0 and 10"},
		{"domain", func(c *alert.Config) { c.Watch[0].Domain = "" }, `alerts.watch[0].domain: "" is not a domain name`},
		{"domain chars", func(c *alert.Config) { c.Watch[2].Domain = "x.com/a" }, `alerts.watch[2].domain: "x.com/a" is not a domain name`},
		{"network", func(c *alert.Config) { c.Watch[1].Network = "" }, `alerts.watch[1].network: "" is not a network name or "*"`},
		{"network spaces", func(c *alert.Config) { c.Watch[2].Network = " Indosat" }, `alerts.watch[2].network: " Indosat" is not a network name or "*"`},
		{"order", func(c *alert.Config) { c.Orders = append(c.Orders, "") }, `alerts.orders[1]: "" is not an order ID`},
		{"interval", func(c *alert.Config) { c.Interval.Duration = 500 * time.Millisecond }, "alerts.interval: 500ms is less than 1s"},
		{"lookback", func(c *alert.Config) { c.Lookback.Duration = 30 * time.Minute }, "alerts.lookback: 30m0s is less than 1h"},
		{"queue", func(c *alert.Config) { c.Queue = -1 }, "alerts.queue: -1 is negative"},
		{"role leader", func(c *alert.Config) { c.Role = alert.RoleLeader }, ""},
		{"role off", func(c *alert.Config) { c.Role = alert.RoleOff }, ""},
		{"role", func(c *alert.Config) { c.Role = "follower" }, `alerts.role: "follower" is not leader or off`},
		{"several", func(c *alert.Config) { c.Webhooks[0].URL = "mailto:a@b"; c.Queue = -2 },
			"alerts.webhooks[0].url: must be http or https\nalerts.queue: -2 is negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(&c)
			err := c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	c := validConfig().WithDefaults()
	if c.Interval.Duration != time.Minute || c.Lookback.Duration != 7*24*time.Hour || c.Queue != 1000 {
		t.Errorf("defaults: interval %s, lookback %s, queue %d", c.Interval, c.Lookback, c.Queue)
	}
	if h := c.Webhooks[0]; h.Timeout.Duration != 10*time.Second || *h.Retries != 3 {
		t.Errorf("webhook defaults: timeout %s, retries %d", h.Timeout, *h.Retries)
	}
	if *c.Webhooks[1].Retries != 0 {
		t.Errorf("retries: 0 given, got %d", *c.Webhooks[1].Retries)
	}
	if (alert.Config{}).Enabled() || !c.Enabled() {
		t.Error("Enabled: want false without webhooks, true with")
	}
	c.Role = alert.RoleOff
	if c.Enabled() {
		t.Error("Enabled: want false with role off")
	}
}

func TestYAML(t *testing.T) {
	const doc = `
alerts:
  webhooks:
    - name: ops
      url: https://hooks.example.org/pantau
      secret: s3cret
      events: [transition]
      timeout: 5s
      retries: 2
  watch:
    - {domain: t.me, network: Telkomsel}
    - {domain: web.telegram.org, network: "*"}
  orders: [kominfo-2017-telegram-block]
  interval: 90s
  lookback: 3d
  queue: 50
  state_file: /var/lib/pantau/alerts.json
`
	var got struct {
		Alerts alert.Config `yaml:"alerts"`
	}
	f := yamlconf.NewFile("collector.yaml")
	f.Decode([]byte(doc), &got)
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
	c := got.Alerts
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if h := c.Webhooks[0]; h.Name != "ops" || h.Timeout.Duration != 5*time.Second || *h.Retries != 2 || h.Events[0] != "transition" {
		t.Errorf("webhook: %+v", h)
	}
	if c.Interval.Duration != 90*time.Second || c.Lookback.Duration != 72*time.Hour || c.Queue != 50 ||
		c.StateFile != "/var/lib/pantau/alerts.json" || c.Watch[1] != (alert.Pair{Domain: "web.telegram.org", Network: "*"}) {
		t.Errorf("config: %+v", c)
	}
	for _, tt := range []struct{ value, want string }{
		{"-1s", `x.yaml:2: interval: "-1s" is negative`},
		{"1w", `x.yaml:2: interval: "1w" is not a duration (want e.g. 90s, 1m, 7d)`},
		{"x d", `x.yaml:2: interval: "x d" is not a duration (want e.g. 90s, 1m, 7d)`},
	} {
		var c alert.Config
		f := yamlconf.NewFile("x.yaml")
		f.Decode([]byte("queue: 1\ninterval: "+tt.value+"\n"), &c)
		if err := f.Err(); err == nil || err.Error() != tt.want {
			t.Errorf("interval %q: error %v, want %q", tt.value, err, tt.want)
		}
	}
}
