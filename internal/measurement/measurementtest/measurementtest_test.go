package measurementtest_test

import (
	"slices"
	"testing"
	"time"

	"github.com/pantau-dev/pantau/internal/measurement"
	"github.com/pantau-dev/pantau/internal/measurement/measurementtest"
)

func TestFullIsFull(t *testing.T) {
	m := measurementtest.Full("example.com", time.Now())
	if err := m.Validate(time.Now()); err != nil {
		t.Fatalf("Full() does not validate: %v", err)
	}
	for _, path := range measurementtest.Unpopulated(m) {
		t.Errorf("%s is zero in Full(): the round-trip tests would not cover it", path)
	}
}

func TestSimpleIsValid(t *testing.T) {
	m := measurementtest.Simple("example.com", time.Now().Add(-time.Hour))
	if err := m.Validate(time.Now()); err != nil {
		t.Fatalf("Simple() does not validate: %v", err)
	}
}

// TestUnpopulated: a field is reported when it is zero, and under a list only when it is
// zero in every element.
func TestUnpopulated(t *testing.T) {
	m := measurementtest.Full("example.com", time.Now())
	m.Schedule = ""
	m.Observations.TCP[0].Failure = nil // the second connection has one
	m.Control = nil
	got := measurementtest.Unpopulated(m)
	want := []string{"m.Control", "m.Schedule"}
	if !slices.Equal(got, want) {
		t.Errorf("Unpopulated = %q, want %q", got, want)
	}
	if got := measurementtest.Unpopulated(&measurement.Measurement{}); len(got) == 0 {
		t.Error("Unpopulated of an empty measurement is empty")
	}
}
