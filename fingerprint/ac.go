package fingerprint

import (
	"slices"
)

// automaton is an Aho-Corasick matcher over bytes: one pass over a body finds every
// pattern it contains, however many patterns there are. The trie is stored flat: the
// edges of node n are edgeByte/edgeNext[edgeOff[n]:edgeOff[n+1]], sorted by byte; most
// nodes deep in the trie have a single edge. The root's transitions are a full table.
type automaton struct {
	root     [256]int32
	edgeOff  []int32
	edgeByte []byte
	edgeNext []int32
	fail     []int32
	// out is the pattern ending at a node, or -1; report is the node itself if it has
	// an output, else the nearest node on its fail chain with one, or -1.
	out    []int32
	report []int32
}

// newAutomaton builds the matcher of the given distinct, non-empty patterns; a match
// reports the pattern's index.
func newAutomaton(patterns []string) *automaton {
	type edge struct {
		from int32
		c    byte
	}
	child := map[edge]int32{}
	out := []int32{-1}
	for i, p := range patterns {
		n := int32(0)
		for j := 0; j < len(p); j++ {
			e := edge{n, p[j]}
			next, ok := child[e]
			if !ok {
				next = int32(len(out))
				child[e] = next
				out = append(out, -1)
			}
			n = next
		}
		out[n] = int32(i)
	}
	nodes := len(out)
	a := &automaton{
		edgeOff:  make([]int32, nodes+1),
		edgeByte: make([]byte, len(child)),
		edgeNext: make([]int32, len(child)),
		fail:     make([]int32, nodes),
		out:      out,
		report:   make([]int32, nodes),
	}
	// Lay the edges out per node, sorted by byte.
	for e := range child {
		a.edgeOff[e.from+1]++
	}
	for n := 1; n <= nodes; n++ {
		a.edgeOff[n] += a.edgeOff[n-1]
	}
	fill := slices.Clone(a.edgeOff[:nodes])
	for e, next := range child {
		i := fill[e.from]
		fill[e.from]++
		a.edgeByte[i], a.edgeNext[i] = e.c, next
	}
	for n := range nodes {
		lo, hi := a.edgeOff[n], a.edgeOff[n+1]
		sortEdges(a.edgeByte[lo:hi], a.edgeNext[lo:hi])
	}
	for i := a.edgeOff[0]; i < a.edgeOff[1]; i++ {
		a.root[a.edgeByte[i]] = a.edgeNext[i]
	}
	// Breadth-first: fail links point at the longest proper suffix that is in the trie.
	a.report[0] = -1
	queue := []int32{0}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for i := a.edgeOff[n]; i < a.edgeOff[n+1]; i++ {
			c, v := a.edgeByte[i], a.edgeNext[i]
			if n != 0 {
				a.fail[v] = a.step(a.fail[n], c)
			}
			a.report[v] = a.report[a.fail[v]]
			if a.out[v] >= 0 {
				a.report[v] = v
			}
			queue = append(queue, v)
		}
	}
	return a
}

func sortEdges(b []byte, next []int32) {
	for i := 1; i < len(b); i++ { // insertion sort: edge lists are short
		for j := i; j > 0 && b[j] < b[j-1]; j-- {
			b[j], b[j-1] = b[j-1], b[j]
			next[j], next[j-1] = next[j-1], next[j]
		}
	}
}

// step returns the state after reading c in state s.
func (a *automaton) step(s int32, c byte) int32 {
	for s != 0 {
		lo, hi := a.edgeOff[s], a.edgeOff[s+1]
		if hi-lo <= 8 {
			for i := lo; i < hi; i++ {
				if a.edgeByte[i] == c {
					return a.edgeNext[i]
				}
			}
		} else if i, ok := slices.BinarySearch(a.edgeByte[lo:hi], c); ok {
			return a.edgeNext[lo+int32(i)]
		}
		s = a.fail[s]
	}
	return a.root[c]
}

// scan calls found with the index of every pattern that occurs in b (possibly more than
// once for a pattern that occurs more than once).
func (a *automaton) scan(b []byte, found func(pattern int32)) {
	s := int32(0)
	for _, c := range b {
		s = a.step(s, c)
		for r := a.report[s]; r >= 0; r = a.report[a.fail[r]] {
			found(a.out[r])
		}
	}
}
