package offline

import "math"

// kdTree finds the nearest city to a point. Cities are placed on the unit
// sphere as 3-D vectors, where straight-line (chord) distance grows with
// great-circle distance: no special cases at the date line or the poles.
//
// The tree is implicit: nodes is a permutation of city indices in which the
// median of each range is that subtree's root, split on axis depth%3.
type kdTree struct {
	nodes []int32
	pts   [][3]float64 // by city index while building; then in nodes' order, for locality
}

func unitVector(lat, lon float64) [3]float64 {
	φ, λ := lat*math.Pi/180, lon*math.Pi/180
	return [3]float64{math.Cos(φ) * math.Cos(λ), math.Cos(φ) * math.Sin(λ), math.Sin(φ)}
}

func newKDTree(cities []city) kdTree {
	t := kdTree{nodes: make([]int32, len(cities)), pts: make([][3]float64, len(cities))}
	for i, c := range cities {
		t.nodes[i] = int32(i)
		t.pts[i] = unitVector(c.lat, c.lon)
	}
	t.build(t.nodes, 0)
	ordered := make([][3]float64, len(t.pts))
	for k, i := range t.nodes {
		ordered[k] = t.pts[i]
	}
	t.pts = ordered
	return t
}

// build orders nodes so its median is the root on axis depth%3. The order
// (coordinate, then city index) is total, so the tree does not depend on
// how the selection picks its pivots.
func (t *kdTree) build(nodes []int32, depth int) {
	for len(nodes) > 1 {
		axis := depth % 3
		m := len(nodes) / 2
		t.selectNth(nodes, m, axis)
		t.build(nodes[:m], depth+1)
		nodes = nodes[m+1:]
		depth++
	}
}

func (t *kdTree) less(a, b int32, axis int) bool {
	pa, pb := t.pts[a][axis], t.pts[b][axis]
	return pa < pb || pa == pb && a < b
}

// selectNth reorders nodes so nodes[n] is the element a sort would put
// there, with smaller ones before it and larger ones after (quickselect).
func (t *kdTree) selectNth(nodes []int32, n, axis int) {
	lo, hi := 0, len(nodes)-1
	for lo < hi {
		// Median of three as pivot, moved to hi.
		mid := lo + (hi-lo)/2
		if t.less(nodes[mid], nodes[lo], axis) {
			nodes[mid], nodes[lo] = nodes[lo], nodes[mid]
		}
		if t.less(nodes[hi], nodes[lo], axis) {
			nodes[hi], nodes[lo] = nodes[lo], nodes[hi]
		}
		if t.less(nodes[mid], nodes[hi], axis) {
			nodes[mid], nodes[hi] = nodes[hi], nodes[mid]
		}
		pivot := nodes[hi]
		store := lo
		for i := lo; i < hi; i++ {
			if t.less(nodes[i], pivot, axis) {
				nodes[i], nodes[store] = nodes[store], nodes[i]
				store++
			}
		}
		nodes[store], nodes[hi] = nodes[hi], nodes[store]
		switch {
		case store == n:
			return
		case store < n:
			lo = store + 1
		default:
			hi = store - 1
		}
	}
}

// nearest returns the index of the city closest to the point; among cities
// at the same distance, the lowest index, which is the most populous.
func (t *kdTree) nearest(lat, lon float64) int {
	q := unitVector(lat, lon)
	best, bestD := -1, math.Inf(1)
	t.search(t.nodes, t.pts, 0, &q, &best, &bestD)
	return best
}

// search visits the subtree held in nodes, with pts the matching slice of
// positions.
func (t *kdTree) search(nodes []int32, pts [][3]float64, depth int, q *[3]float64, best *int, bestD *float64) {
	if len(nodes) == 0 {
		return
	}
	m := len(nodes) / 2
	i := nodes[m]
	p := &pts[m]
	dx, dy, dz := p[0]-q[0], p[1]-q[1], p[2]-q[2]
	if d := dx*dx + dy*dy + dz*dz; d < *bestD || d == *bestD && int(i) < *best {
		*best, *bestD = int(i), d
	}
	axis := depth % 3
	diff := q[axis] - p[axis]
	near, far := nodes[:m], nodes[m+1:]
	pnear, pfar := pts[:m], pts[m+1:]
	if diff > 0 {
		near, far, pnear, pfar = far, near, pfar, pnear
	}
	t.search(near, pnear, depth+1, q, best, bestD)
	// The far side can only hold a closer city if the splitting plane is
	// within the best distance (<=, so that equal-distance ties are found).
	if diff*diff <= *bestD {
		t.search(far, pfar, depth+1, q, best, bestD)
	}
}
