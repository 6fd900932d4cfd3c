package offline

import (
	"sync"

	"github.com/xlbatch/xlbatch/geoapify/offline/internal/fold"
)

// Limits that keep the cost of one query bounded whatever the input.
const (
	maxTextBytes    = 1024 // longer texts keep their last 1 KiB (the city is near the end)
	maxTokens       = 64   // likewise in words
	maxPostingsSpan = 256  // namesakes weighed per span, most populous first
)

// token is one folded word of the query.
type token struct {
	start, end int  // byte range in the folded text
	part       int  // comma-separated part it belongs to
	digit      bool // contains a digit: a house number or postcode
	covered    bool // some qualifier span covers it
	partStart  bool // first word of its part
	partEnd    bool // last word of its part
}

// span is a run of tokens [i, j) whose folded text is an index key.
type span struct {
	i, j int
	e    entry
}

// qualSpan is a qualifier the query names, accepted by position.
type qualSpan struct {
	i, j int
	q    qual
}

// matcher holds the scratch space of one query; pooled to keep lookups
// free of allocations.
type matcher struct {
	buf       []byte
	toks      []token
	spans     []span
	quals     []qualSpan
	cands     []candidate
	tail      []bool
	owners    []int32
	explained []bool
}

var matchers = sync.Pool{New: func() any { return new(matcher) }}

// match scores every city the text names and returns the candidates, best
// first up to limit (at least one), the confidence of the best, and whether
// the text holds nothing but the best city and qualifiers that agree with
// it. filter is a country index or -1.
func (ix *index) match(m *matcher, text string, filter int32, limit int) ([]candidate, float64, bool) {
	if len(text) > maxTextBytes {
		cut := len(text) - maxTextBytes
		for cut < len(text) && text[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut++
		}
		text = text[cut:]
	}
	m.buf = fold.Append(m.buf[:0], text)
	m.tokenize()
	if len(m.toks) == 0 {
		return nil, 0, false
	}
	m.findSpans(ix)
	m.acceptQualifiers(ix)
	m.collect(ix, filter)
	if len(m.cands) == 0 {
		return nil, 0, false
	}
	best := m.rank(limit)
	conf, full := m.confidence(ix)
	return m.cands[:best], conf, full
}

func (m *matcher) tokenize() {
	m.toks = m.toks[:0]
	b := m.buf
	part := 0
	for i := 0; i < len(b); {
		switch b[i] {
		case ' ':
			i++
			continue
		case fold.PartSep:
			part++
			i++
			continue
		}
		t := token{start: i, part: part}
		for i < len(b) && b[i] != ' ' && b[i] != fold.PartSep {
			if '0' <= b[i] && b[i] <= '9' {
				t.digit = true
			}
			i++
		}
		t.end = i
		m.toks = append(m.toks, t)
	}
	if len(m.toks) > maxTokens {
		m.toks = m.toks[len(m.toks)-maxTokens:]
	}
	for k := range m.toks {
		t := &m.toks[k]
		t.partStart = k == 0 || m.toks[k-1].part != t.part
		t.partEnd = k == len(m.toks)-1 || m.toks[k+1].part != t.part
	}
}

// findSpans looks up every run of words within a part, extending a run only
// while it is the prefix of some key.
func (m *matcher) findSpans(ix *index) {
	m.spans = m.spans[:0]
	for i := range m.toks {
		for j := i; j < len(m.toks) && j-i < ix.maxWords; j++ {
			if j > i && m.toks[j].part != m.toks[i].part {
				break
			}
			k := ix.keys.find(ix.entries, m.buf[m.toks[i].start:m.toks[j].end])
			if k < 0 {
				break
			}
			e := ix.entries[k]
			if e.npost > 0 || e.nqual > 0 {
				m.spans = append(m.spans, span{i: i, j: j + 1, e: e})
			}
		}
	}
}

// acceptQualifiers keeps the country and division mentions that read as
// such. Names count anywhere except inside a street name ("Pennsylvania
// Avenue"); short codes, which collide with words ("IN", "DE", "and"), only
// where addresses put them: after the city, followed by nothing but other
// qualifiers and postcodes.
func (m *matcher) acceptQualifiers(ix *index) {
	n := len(m.toks)
	for k := range m.toks {
		m.toks[k].covered = false
	}
	for _, s := range m.spans {
		if s.e.nqual > 0 {
			for k := s.i; k < s.j; k++ {
				m.toks[k].covered = true
			}
		}
	}
	// tail[k]: every token from k on is a postcode-like or qualifier word.
	m.tail = append(m.tail[:0], make([]bool, n+1)...)
	m.tail[n] = true
	for k := n - 1; k >= 0; k-- {
		m.tail[k] = m.tail[k+1] && (m.toks[k].digit || m.toks[k].covered)
	}
	m.quals = m.quals[:0]
	for _, s := range m.spans {
		if s.e.nqual == 0 || m.streetContext(s.i, s.j) {
			continue
		}
		trailing := s.i > 0 && (m.toks[s.j-1].partEnd || m.tail[s.j])
		for _, q := range ix.quals[s.e.qual : s.e.qual+s.e.nqual] {
			if q.code && !trailing {
				continue
			}
			m.quals = append(m.quals, qualSpan{i: s.i, j: s.j, q: q})
		}
	}
}

// streetContext reports whether tokens [i, j) read as part of a street
// name: followed by a street type ("Madison Avenue") or preceded by one
// that comes first in some languages ("Rue de Paris", "Calle Madrid").
func (m *matcher) streetContext(i, j int) bool {
	if j < len(m.toks) && m.toks[j].part == m.toks[j-1].part {
		w := m.word(j)
		if streetAfter[w] {
			return true
		}
		// "St" folds to "saint"; ending a part, it is a street: "Madison St, New York".
		if w == "saint" && m.toks[j].partEnd {
			return true
		}
	}
	if i > 0 && m.toks[i-1].part == m.toks[i].part && streetBefore[m.word(i-1)] {
		return true
	}
	return false
}

func (m *matcher) word(k int) string {
	return string(m.buf[m.toks[k].start:m.toks[k].end])
}

var streetAfter = setOf("street", "avenue", "ave", "road", "rd", "boulevard", "blvd",
	"drive", "dr", "lane", "ln", "way", "court", "ct", "place", "pl", "terrace",
	"parkway", "pkwy", "highway", "hwy", "square", "sq", "strasse", "str", "straße")

var streetBefore = setOf("rue", "avenue", "av", "avenida", "calle", "via", "viale",
	"rua", "plaza", "piazza", "ulitsa", "boulevard", "chemin", "carrer")

func setOf(words ...string) map[string]bool {
	s := make(map[string]bool, len(words))
	for _, w := range words {
		s[fold.Key(w)] = true
	}
	return s
}
