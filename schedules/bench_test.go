package schedules

import "testing"

// BenchmarkLoadBuiltin measures loading the built-in set (start-up and every reload).
func BenchmarkLoadBuiltin(b *testing.B) {
	for b.Loop() {
		if _, err := Load(Builtin()); err != nil {
			b.Fatal(err)
		}
	}
}
