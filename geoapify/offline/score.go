package offline

import (
	"math"
	"slices"
)

// Score weights, in units of log10(population): a weight of 1 is worth a
// tenfold population.
const (
	// An alternate name costs a little against a city's own name: across
	// countries alternate names are mostly exonyms ("Geneva" for Genève),
	// and the more populous city should still win. Within one country an
	// alternate name that is another city's own name is a local
	// ambiguity or a data slip ("Manhattan" under New York City,
	// "Suigen" under Seoul): the city that bears the name wins.
	wAltName       = 0.5
	wAltOfNamesake = 3.0
	wRegion        = 3.0 // the text names the city's division elsewhere
	wCountry       = 2.5 // the text names the city's country elsewhere
	wWholePart     = 1.0 // the span is a whole comma-separated part
	wPosition      = 1.0 // × how far right the span ends (addresses end with the city)
	wStreetName    = 2.5 // penalty: the span looks like part of a street name
)

// candidate is one city a span names, with its score.
type candidate struct {
	city      int
	i, j      int
	alternate bool
	score     float64
}

// collect turns spans into scored city candidates.
func (m *matcher) collect(ix *index, filter int32) {
	m.cands = m.cands[:0]
	n := len(m.toks)
	for si, s := range m.spans {
		if s.e.npost == 0 || m.containedInCitySpan(ix, si, filter) {
			continue
		}
		short := m.toks[s.j-1].end-m.toks[s.i].start <= 3
		if short && !(m.toks[s.i].partStart && (m.toks[s.j-1].partEnd || m.tail[s.j])) {
			// "Man", "Ulm", "LA": only as a part of their own, or
			// followed by nothing but qualifiers and postcodes.
			continue
		}
		pos := wPosition * float64(s.j) / float64(n)
		whole := 0.0
		if m.toks[s.i].partStart && m.toks[s.j-1].partEnd {
			whole = wWholePart
		}
		street := 0.0
		if m.streetContext(s.i, s.j) {
			street = -wStreetName
		}
		ps := ix.postings[s.e.post : s.e.post+s.e.npost]
		if len(ps) > maxPostingsSpan {
			ps = ps[:maxPostingsSpan]
		}
		// Countries where some city bears this name as its own.
		m.owners = m.owners[:0]
		for _, p := range ps {
			if !p.Alternate() {
				m.owners = append(m.owners, ix.cities[p.City()].country)
			}
		}
		for _, p := range ps {
			c := &ix.cities[p.City()]
			if filter >= 0 && c.country != filter {
				continue
			}
			score := math.Log10(float64(max(c.population, 1000))) + pos + whole + street
			if p.Alternate() {
				if slices.Contains(m.owners, c.country) {
					score -= wAltOfNamesake
				} else {
					score -= wAltName
				}
			}
			region, country := m.agreement(c, s.i, s.j)
			if region {
				score += wRegion
			}
			if country {
				score += wCountry
			}
			m.cands = append(m.cands, candidate{city: p.City(), i: s.i, j: s.j, alternate: p.Alternate(), score: score})
		}
	}
}

// containedInCitySpan reports whether span si lies strictly inside another
// span that names a city passing the filter: "York" inside "New York".
func (m *matcher) containedInCitySpan(ix *index, si int, filter int32) bool {
	s := m.spans[si]
	for oi, o := range m.spans {
		if oi == si || !o.npostOK(ix, filter) || o.i > s.i || o.j < s.j || o.j-o.i == s.j-s.i {
			continue
		}
		return true
	}
	return false
}

// npostOK reports whether the span names at least one city in the filter.
func (s span) npostOK(ix *index, filter int32) bool {
	for _, p := range ix.postings[s.e.post : s.e.post+s.e.npost] {
		if filter < 0 || ix.cities[p.City()].country == filter {
			return true
		}
	}
	return false
}

// agreement reports whether an accepted qualifier outside [i, j) names the
// city's division, or its country.
func (m *matcher) agreement(c *city, i, j int) (region, country bool) {
	for _, q := range m.quals {
		if q.i < j && i < q.j {
			continue // the city's own words
		}
		if q.q.admin != 0 {
			region = region || q.q.admin == c.admin
		} else {
			country = country || q.q.country == c.country
		}
	}
	return region, country
}

// rank moves the best candidate of each city to the front, best first, and
// returns how many distinct cities lead the slice (at most limit, at least 1).
func (m *matcher) rank(limit int) int {
	limit = max(limit, 1)
	c := m.cands
	out := 0
	for out < limit && out < len(c) {
		// Selection of the next best among the rest; limit is small.
		b := out
		for k := out + 1; k < len(c); k++ {
			if better(&c[k], &c[b]) {
				b = k
			}
		}
		c[out], c[b] = c[b], c[out]
		// Drop the chosen city's weaker entries.
		w := out + 1
		for k := out + 1; k < len(c); k++ {
			if c[k].city != c[out].city {
				c[w] = c[k]
				w++
			}
		}
		c = c[:w]
		out++
	}
	m.cands = c
	return out
}

// better orders candidates: higher score, then larger city (lower index).
func better(a, b *candidate) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.city < b.city
}

// confidence grades the best candidate (m.cands[0]) from 0 to 1: full marks
// for a text that is exactly a city's own name; less for an alternate
// name, for words left unexplained (a street address), for a qualifier
// that points elsewhere, and when another city scored nearly as well.
func (m *matcher) confidence(ix *index) (conf float64, full bool) {
	best := &m.cands[0]
	c := &ix.cities[best.city]
	conf = 1.0
	if best.alternate {
		conf = 0.9
	}
	m.explained = append(m.explained[:0], make([]bool, len(m.toks))...)
	explained := m.explained
	for k := best.i; k < best.j; k++ {
		explained[k] = true
	}
	named, agreed := false, false
	for _, q := range m.quals {
		if q.i < best.j && best.i < q.j {
			continue
		}
		named = true
		if q.q.admin != 0 && q.q.admin == c.admin || q.q.admin == 0 && q.q.country == c.country {
			agreed = true
			for k := q.i; k < q.j; k++ {
				explained[k] = true
			}
		}
	}
	n := 0
	for _, e := range explained {
		if e {
			n++
		}
	}
	conf *= 0.5 + 0.5*float64(n)/float64(len(m.toks))
	if named && !agreed {
		conf *= 0.7
	}
	// Runner-up: the best candidate for any other city (rank put it second
	// when limit > 1; otherwise search the rest).
	gap := math.Inf(1)
	for k := 1; k < len(m.cands); k++ {
		if m.cands[k].city != best.city {
			gap = min(gap, best.score-m.cands[k].score)
		}
	}
	if gap < 1 {
		conf *= 0.75 + 0.25*gap
	}
	return math.Round(max(0.05, min(1, conf))*100) / 100, n == len(m.toks)
}
