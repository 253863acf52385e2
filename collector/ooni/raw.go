package ooni

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The shapes of OONI's measurement JSON that the import reads (ooni/spec
// data-formats/df-000-base, df-001-httpt, df-002-dnst, df-005-tcpconnect,
// df-006-tlshandshake and nettests/ts-017-web-connectivity; probe-cli's
// internal/model/archival.go). Only the keys Pantau maps are declared; the others are
// ignored. Keys whose type changed across OONI's versions (a string here, an object
// there) are decoded by the flexible types below.

// header is the top level of one measurement (df-000-base).
type header struct {
	DataFormatVersion    string          `json:"data_format_version"`
	Input                *string         `json:"input"`
	MeasurementStartTime string          `json:"measurement_start_time"`
	MeasurementUID       string          `json:"measurement_uid"`
	ProbeASN             string          `json:"probe_asn"`
	ProbeCC              string          `json:"probe_cc"`
	ProbeNetworkName     string          `json:"probe_network_name"`
	ReportID             string          `json:"report_id"`
	ResolverIP           string          `json:"resolver_ip"`
	SoftwareName         string          `json:"software_name"`
	SoftwareVersion      string          `json:"software_version"`
	TestHelpers          json.RawMessage `json:"test_helpers"`
	TestName             string          `json:"test_name"`
	TestRuntime          float64         `json:"test_runtime"`
	TestKeys             json.RawMessage `json:"test_keys"`
}

// testKeys are web_connectivity's test keys, of every version from 0.1 (2016) on.
type testKeys struct {
	ClientResolver string         `json:"client_resolver"`
	Queries        []query        `json:"queries"`
	TCPConnect     []tcpConnect   `json:"tcp_connect"`
	TLSHandshakes  []tlsHandshake `json:"tls_handshakes"`
	Requests       []request      `json:"requests"`
	Control        *control       `json:"control"`
	ControlFailure *string        `json:"control_failure"`
	// OONI's verdict: blocking is false, a string ("dns", "tcp_ip", "http-diff",
	// "http-failure") or null; accessible true, false or null.
	Blocking   json.RawMessage `json:"blocking"`
	Accessible *bool           `json:"accessible"`
	// HTTPExperimentFailure is how the fetch ended, also when no request of the hop
	// that failed is on record (unfinishedHop).
	HTTPExperimentFailure *string `json:"http_experiment_failure"`
}

// query is one DNS lookup (df-002-dnst).
type query struct {
	Engine           string   `json:"engine"`
	Failure          *string  `json:"failure"`
	Hostname         string   `json:"hostname"`
	QueryType        string   `json:"query_type"`
	ResolverAddress  string   `json:"resolver_address"`
	ResolverHostname *string  `json:"resolver_hostname"`
	Answers          []answer `json:"answers"`
	T0               float64  `json:"t0"`
	T                float64  `json:"t"`
}

type answer struct {
	AnswerType string  `json:"answer_type"`
	IPv4       string  `json:"ipv4"`
	IPv6       string  `json:"ipv6"`
	Hostname   string  `json:"hostname"`
	TTL        *uint32 `json:"ttl"`
	ASN        uint32  `json:"asn"`
}

// tcpConnect is one connect (df-005-tcpconnect).
type tcpConnect struct {
	IP     string `json:"ip"`
	Port   int    `json:"port"`
	Status struct {
		Failure *string `json:"failure"`
		Success bool    `json:"success"`
	} `json:"status"`
	Tags []string `json:"tags"` // "depth=N": the redirect hop it was made for
	T0   float64  `json:"t0"`
	T    float64  `json:"t"`
}

// tlsHandshake is one handshake (df-006-tlshandshake).
type tlsHandshake struct {
	Address            string    `json:"address"`
	CipherSuite        string    `json:"cipher_suite"`
	Failure            *string   `json:"failure"`
	NegotiatedProtocol string    `json:"negotiated_protocol"`
	NoTLSVerify        bool      `json:"no_tls_verify"`
	PeerCertificates   []binData `json:"peer_certificates"`
	ServerName         string    `json:"server_name"`
	TLSVersion         string    `json:"tls_version"`
	T0                 float64   `json:"t0"`
	T                  float64   `json:"t"`
}

// request is one HTTP round trip (df-001-httpt); web_connectivity lists them newest
// first.
type request struct {
	Address string  `json:"address"`
	Failure *string `json:"failure"`
	Request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
	Response *struct {
		Body            binData     `json:"body"`
		BodyIsTruncated bool        `json:"body_is_truncated"`
		Code            int         `json:"code"`
		Headers         headerMap   `json:"headers"`
		HeadersList     [][2]string `json:"headers_list"`
	} `json:"response"`
	T0 float64 `json:"t0"`
	T  float64 `json:"t"`
}

// control is what OONI's web_connectivity test helper observed.
type control struct {
	DNS *struct {
		Addrs   []string `json:"addrs"`
		Failure *string  `json:"failure"`
	} `json:"dns"`
	TCPConnect map[string]struct {
		Status  bool    `json:"status"`
		Failure *string `json:"failure"`
	} `json:"tcp_connect"`
	TLSHandshake map[string]struct {
		ServerName string  `json:"server_name"`
		Status     bool    `json:"status"`
		Failure    *string `json:"failure"`
	} `json:"tls_handshake"`
	HTTPRequest *struct {
		BodyLength int64     `json:"body_length"`
		Failure    *string   `json:"failure"`
		Title      string    `json:"title"`
		Headers    headerMap `json:"headers"`
		StatusCode int       `json:"status_code"`
	} `json:"http_request"`
	IPInfo map[string]struct {
		ASN uint32 `json:"asn"`
	} `json:"ip_info"`
}

// binData is a body or a certificate: a JSON string (UTF-8 text), or an object
// {"format": "base64", "data": "…"} for bytes that are not UTF-8; null is empty.
type binData []byte

func (b *binData) UnmarshalJSON(data []byte) error {
	switch {
	case string(data) == "null":
		*b = nil
		return nil
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*b = []byte(s)
		return nil
	}
	var obj struct {
		Format string `json:"format"`
		Data   string `json:"data"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return errors.New("want a string or {format, data}")
	}
	if obj.Format != "base64" {
		return fmt.Errorf("format %q: want base64", obj.Format)
	}
	raw, err := base64.StdEncoding.DecodeString(obj.Data)
	if err != nil {
		return fmt.Errorf("base64 data: %w", err)
	}
	*b = raw
	return nil
}

// headerMap is a header map whose values are strings (as OONI writes them) or, in some
// old reports, lists of strings; keys keep their case as recorded.
type headerMap map[string][]string

func (h *headerMap) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return errors.New("want an object")
	}
	*h = headerMap{}
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			(*h)[k] = []string{s}
			continue
		}
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			return fmt.Errorf("%s: want a string or a list of strings", k)
		}
		(*h)[k] = list
	}
	return nil
}

// blocking renders OONI's blocking key: "false", the method string, or "" for null or
// absent.
func blocking(raw json.RawMessage) (string, error) {
	switch s := strings.TrimSpace(string(raw)); s {
	case "", "null":
		return "", nil
	case "false":
		return "false", nil
	case "true":
		return "true", nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", errors.New("test_keys.blocking: want false, a string or null")
	}
	return v, nil
}

// helperAddress returns the address of the web_connectivity test helper from
// test_helpers: {"backend": "URL"} (older probes) or {"backend": {"address": "URL"}}.
func helperAddress(raw json.RawMessage) string {
	var th struct {
		Backend json.RawMessage `json:"backend"`
	}
	if json.Unmarshal(raw, &th) != nil || len(th.Backend) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(th.Backend, &s) == nil {
		return s
	}
	var obj struct {
		Address string `json:"address"`
	}
	_ = json.Unmarshal(th.Backend, &obj) // an unknown shape leaves the address unknown
	return obj.Address
}
