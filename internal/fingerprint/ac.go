package fingerprint

import "slices"

// automaton is an Aho-Corasick matcher over bytes: one pass over a body finds every
// pattern it contains, however many patterns there are.
//
// Nodes are numbered breadth-first, so the shallow nodes, where a scan of ordinary text
// spends most of its time, come first: the first `dense` nodes have a full transition
// row (over byte classes) and cost one lookup per byte. Deeper nodes keep their trie
// edges in flat arrays (edgeByte/edgeNext[edgeOff[n]:edgeOff[n+1]]) and fall back along
// their fail links until an edge matches or a dense node is reached.
type automaton struct {
	class    [256]uint8 // byte → class; 0 for bytes no pattern contains
	classes  int        // row width
	dense    int32      // nodes below this number have a row in delta
	delta    []int32    // dense rows: delta[n*classes+class[c]]
	edgeOff  []int32
	edgeByte []byte
	edgeNext []int32
	fail     []int32
	// out is the pattern ending at a node, or -1; report is the node itself if it has
	// an output, else the nearest node on its fail chain with one, or -1.
	out    []int32
	report []int32
}

// trieEdge is an edge labelled c, from node (while building the trie) or to node (in
// a node's list of children).
type trieEdge struct {
	node int32
	c    byte
}

// denseBudget caps the memory of the dense rows (bytes).
const denseBudget = 2 << 20

// newAutomaton builds the matcher of the given distinct, non-empty patterns; a match
// reports the pattern's index.
func newAutomaton(patterns []string) *automaton {
	a := &automaton{}
	a.classify(patterns)
	child, out := buildTrie(patterns)
	a.flatten(child, out)
	a.link()
	return a
}

// classify gives each byte that occurs in a pattern its own class, numbered from 1 in
// order of appearance; the bytes of no pattern share class 0.
func (a *automaton) classify(patterns []string) {
	var seen [256]bool
	n := 0
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			if c := p[i]; !seen[c] {
				seen[c] = true
				n++
				// With all 256 bytes in use the last one wraps to class 0, which is then
				// its own: no byte is left for the "in no pattern" class.
				a.class[c] = uint8(n)
			}
		}
	}
	a.classes = min(n+1, 256)
}

// buildTrie returns the trie of the patterns, nodes numbered in insertion order (0 is
// the root): its edges, and by node the index of the pattern ending there, or -1.
func buildTrie(patterns []string) (child map[trieEdge]int32, out []int32) {
	child = map[trieEdge]int32{}
	out = []int32{-1}
	for i, p := range patterns {
		n := int32(0)
		for j := 0; j < len(p); j++ {
			e := trieEdge{n, p[j]}
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
	return child, out
}

// flatten renumbers the trie's nodes breadth-first, children in byte order, and stores
// its edges in the flat arrays (edgeOff, edgeByte, edgeNext) and its outputs in out.
func (a *automaton) flatten(child map[trieEdge]int32, out []int32) {
	nodes := len(out)
	kids := make([][]trieEdge, nodes) // kids[n]: (child, byte)
	for e, v := range child {
		kids[e.node] = append(kids[e.node], trieEdge{v, e.c})
	}
	order := make([]int32, 0, nodes)
	order = append(order, 0)
	for i := 0; i < len(order); i++ {
		k := kids[order[i]]
		slices.SortFunc(k, func(x, y trieEdge) int { return int(x.c) - int(y.c) })
		for _, e := range k {
			order = append(order, e.node)
		}
	}
	renum := make([]int32, nodes)
	for newID, old := range order {
		renum[old] = int32(newID)
	}
	a.edgeOff = make([]int32, nodes+1)
	a.edgeByte = make([]byte, 0, len(child))
	a.edgeNext = make([]int32, 0, len(child))
	a.out = make([]int32, nodes)
	for n, old := range order {
		a.out[n] = out[old]
		for _, e := range kids[old] {
			a.edgeByte = append(a.edgeByte, e.c)
			a.edgeNext = append(a.edgeNext, renum[e.node])
		}
		a.edgeOff[n+1] = int32(len(a.edgeByte))
	}
}

// link computes the fail links, report links and dense rows, in breadth-first order:
// everything a node needs from its fail node (always shallower) is ready when it is
// reached.
func (a *automaton) link() {
	nodes := len(a.out)
	a.dense = int32(min(nodes, denseBudget/(4*a.classes)))
	a.delta = make([]int32, int(a.dense)*a.classes)
	a.fail = make([]int32, nodes)
	a.report = make([]int32, nodes)
	a.report[0] = -1
	for n := int32(0); n < int32(nodes); n++ {
		if n > 0 {
			a.report[n] = a.report[a.fail[n]]
			if a.out[n] >= 0 {
				a.report[n] = n
			}
		}
		if n < a.dense {
			row := a.delta[int(n)*a.classes : int(n+1)*a.classes]
			if n > 0 {
				copy(row, a.delta[int(a.fail[n])*a.classes:])
			}
			for i := a.edgeOff[n]; i < a.edgeOff[n+1]; i++ {
				row[a.class[a.edgeByte[i]]] = a.edgeNext[i]
			}
		}
		for i := a.edgeOff[n]; i < a.edgeOff[n+1]; i++ {
			if n > 0 {
				a.fail[a.edgeNext[i]] = a.step(a.fail[n], a.edgeByte[i])
			}
		}
	}
}

// step returns the state after reading c in state s.
func (a *automaton) step(s int32, c byte) int32 {
	for s >= a.dense {
		for i := a.edgeOff[s]; i < a.edgeOff[s+1]; i++ {
			if a.edgeByte[i] == c {
				return a.edgeNext[i]
			}
		}
		s = a.fail[s]
	}
	return a.delta[int(s)*a.classes+int(a.class[c])]
}

// scan sets bit p of found for every pattern p that occurs in b.
func (a *automaton) scan(b []byte, found []uint64) {
	s := int32(0)
	dense, classes, delta := a.dense, a.classes, a.delta
	for _, c := range b {
		if s < dense {
			s = delta[int(s)*classes+int(a.class[c])]
		} else {
			s = a.step(s, c)
		}
		for r := a.report[s]; r >= 0; r = a.report[a.fail[r]] {
			p := a.out[r]
			found[p>>6] |= 1 << (p & 63)
		}
	}
}
