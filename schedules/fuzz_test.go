package schedules

import (
	"testing"
	"testing/fstest"
	"time"
)

// FuzzLoad feeds arbitrary schedule files to Load: it must not panic, and a set it
// accepts must be runnable.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		ok + "targets: [t.me]\n",
		"name: a\ncron: \"@every 2h\"\njitter: 1h\ntargets: [t.me, \"tcp://1.2.3.4:443\"]\nlists: [l.txt]\n",
		"name: &n a\ncron: \"0 0 29 2 *\"\ntargets: [*n]\ntimeouts: {dns: 1s}\nconcurrency: 0\n",
		"name: a\ncron: TZ=Asia/Jakarta\n",
		"name: a\ncron: \"@every\"\n",
	} {
		f.Add(s, "t.me\n")
	}
	f.Fuzz(func(t *testing.T, y, list string) {
		set, err := Load(fstest.MapFS{"x.yaml": {Data: []byte(y)}, "l.txt": {Data: []byte(list)}})
		if err != nil {
			return
		}
		for _, s := range set.Schedules {
			next := s.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
			if !validName.MatchString(s.Name) || next.IsZero() || s.Concurrency < 1 || s.Concurrency > MaxConcurrency ||
				len(s.Targets) == 0 && len(s.Skipped) == 0 {
				t.Fatalf("accepted %q: %+v (next %v)", y, s, next)
			}
		}
	})
}
