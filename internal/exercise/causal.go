package exercise

import (
	"strings"
	"time"
)

// captureSkew bounds how far apart two captures' stamps of one frame can
// lie: the sender's copy is stamped where its tap sees it leave, the
// receiver's where its tap sees it arrive, each when its own CPU gets to
// it; on a busy machine the arrival can read a few microseconds earlier.
const captureSkew = time.Millisecond

// causal reorders a timeline sorted by time so that each receipt follows
// its send: a line "H ← W…" that stands before the line "Hc → W" of the
// same frame, within captureSkew, moves after it and takes its time. What
// a student reads then never has a host receive a fragment before it left
// (TestFrag6Lost caught that order under load).
func causal[T any](xs []T, at func(*T) *time.Time, text func(*T) string) {
	for i := 0; i < len(xs); i++ {
		_, words, ok := strings.Cut(text(&xs[i]), " ← ")
		if !ok {
			continue
		}
		for j := i + 1; j < len(xs) && at(&xs[j]).Sub(*at(&xs[i])) <= captureSkew; j++ {
			send, sent, ok := strings.Cut(text(&xs[j]), " → ")
			if !ok || send != "Hc" || sent == "" || !strings.HasPrefix(words, sent) {
				continue
			}
			moved := xs[i]
			*at(&moved) = *at(&xs[j])
			copy(xs[i:j], xs[i+1:j+1])
			xs[j] = moved
			i-- // look again at what now stands at i
			break
		}
	}
}
