package orders

import (
	"reflect"
	"testing"

	"github.com/pantau-dev/pantau/collector/timeline"
)

// TestComplyChunks: ComplyChunks on the observations split into slices (by network and
// domain, unevenly, some empty) reports exactly what Comply does on one slice.
func TestComplyChunks(t *testing.T) {
	obs, tls := telegramCase()
	block := Seeds()[0]
	for _, at := range []float64{liftAt - 24, caseEnd} {
		want := Comply(block, tls, obs, h(at))
		var chunks [][]timeline.Obs
		for i := 0; i < len(obs); i += 37 {
			chunks = append(chunks, obs[i:min(i+37, len(obs))], nil)
		}
		if got := ComplyChunks(block, tls, chunks, h(at)); !reflect.DeepEqual(got, want) {
			t.Errorf("at %v h: ComplyChunks differs from Comply:\n got %+v\nwant %+v", at, got, want)
		}
	}
}
