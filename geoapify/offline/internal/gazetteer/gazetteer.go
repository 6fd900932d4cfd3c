// Package gazetteer defines the compact form in which the offline geocoder
// embeds GeoNames data, with its encoder (used by the generator) and its
// decoder (used at run time).
//
// The data is GeoNames (GeoNames, geonames.org), licensed CC BY 4.0.
//
// Layout: the magic line, then sections of unsigned varints and
// length-prefixed strings, in this order: attribution; countries (ISO alpha-2,
// alpha-3, name); first-level divisions (country index, code, name, ASCII
// name); cities sorted by population, largest first (GeoNames id, name,
// latitude and longitude in units of 1e-5 degree, population, country index,
// division index plus one or zero); and the name index: the number of keys
// and the number of postings, then the folded keys in byte order, each with
// its cities as (city index << 1 | alternate-name bit). Every word-prefix
// of a key is itself a key, with no cities if it names none.
package gazetteer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Magic starts every encoded file; the digit is the format version.
const Magic = "xlbatch gazetteer 1\n"

// Attribution is the credit GeoNames' licence asks for.
const Attribution = "GeoNames, geonames.org"

// Data is the whole gazetteer.
type Data struct {
	Attribution string
	Countries   []Country
	Admins      []Admin
	Cities      []City
	Keys        []Key
	// Postings holds every key's postings back to back, in key order.
	// Decode sets it; Encode ignores it.
	Postings []Posting
}

// Country is one row of countryInfo.txt.
type Country struct {
	ISO2, ISO3, Name string
}

// Admin is one first-level division (state, province, region).
type Admin struct {
	Country   int    // index into Data.Countries
	Code      string // GeoNames admin1 code, e.g. "NY" or "08"
	Name      string
	ASCIIName string
}

// City is one populated place.
type City struct {
	ID         uint32
	Name       string
	LatE5      int32 // latitude × 1e5; GeoNames gives five decimals
	LonE5      int32
	Population uint32
	Country    int // index into Data.Countries
	Admin      int // index into Data.Admins plus one; zero when unknown
}

// Key is one folded name and the cities it names. A key without postings is
// the word-prefix of longer keys ("new" of "new york").
type Key struct {
	Name     string
	Postings []Posting
}

// Posting names one city under a key: the city's index in Data.Cities,
// shifted left once, with the low bit set when the key comes from an
// alternate name only.
type Posting uint32

// NewPosting returns the posting of city under a key.
func NewPosting(city int, alternate bool) Posting {
	p := Posting(city) << 1
	if alternate {
		p |= 1
	}
	return p
}

// City is the index of the posting's city in Data.Cities.
func (p Posting) City() int { return int(p >> 1) }

// Alternate reports whether the key is only an alternate name of the city.
func (p Posting) Alternate() bool { return p&1 == 1 }

// Encode returns the encoding of d. Equal Data give byte-identical output.
//
// The output is not compressed: it is a couple of megabytes, git compresses
// it in the repository anyway, and loading it then costs no inflating and
// does not depend on a compressor's version.
func Encode(d *Data) []byte {
	var w encoder
	w.buf = append(w.buf, Magic...)
	w.str(d.Attribution)
	w.uint(uint64(len(d.Countries)))
	for _, c := range d.Countries {
		w.str(c.ISO2)
		w.str(c.ISO3)
		w.str(c.Name)
	}
	w.uint(uint64(len(d.Admins)))
	for _, a := range d.Admins {
		w.uint(uint64(a.Country))
		w.str(a.Code)
		w.str(a.Name)
		w.str(a.ASCIIName)
	}
	w.uint(uint64(len(d.Cities)))
	for _, c := range d.Cities {
		w.uint(uint64(c.ID))
		w.str(c.Name)
		w.int(int64(c.LatE5))
		w.int(int64(c.LonE5))
		w.uint(uint64(c.Population))
		w.uint(uint64(c.Country))
		w.uint(uint64(c.Admin))
	}
	w.uint(uint64(len(d.Keys)))
	total := 0
	for _, k := range d.Keys {
		total += len(k.Postings)
	}
	w.uint(uint64(total))
	for _, k := range d.Keys {
		w.str(k.Name)
		w.uint(uint64(len(k.Postings)))
		for _, p := range k.Postings {
			w.uint(uint64(p))
		}
	}
	return w.buf
}

type encoder struct{ buf []byte }

func (w *encoder) uint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }
func (w *encoder) int(v int64)   { w.buf = binary.AppendVarint(w.buf, v) }
func (w *encoder) str(s string) {
	w.uint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// Decode parses the output of Encode. Strings in the result share one
// copy of raw.
func Decode(raw []byte) (*Data, error) {
	if !bytes.HasPrefix(raw, []byte(Magic)) {
		return nil, errors.New("gazetteer: not a gazetteer file (bad magic)")
	}
	r := decoder{s: string(raw), off: len(Magic)}
	d := &Data{Attribution: r.str()}

	d.Countries = make([]Country, r.count(3))
	for i := range d.Countries {
		d.Countries[i] = Country{ISO2: r.str(), ISO3: r.str(), Name: r.str()}
	}
	d.Admins = make([]Admin, r.count(4))
	for i := range d.Admins {
		d.Admins[i] = Admin{Country: r.index(len(d.Countries)), Code: r.str(), Name: r.str(), ASCIIName: r.str()}
	}
	d.Cities = make([]City, r.count(7))
	for i := range d.Cities {
		c := &d.Cities[i]
		c.ID = uint32(r.bounded(math.MaxUint32))
		c.Name = r.str()
		c.LatE5 = int32(r.signed(90e5))
		c.LonE5 = int32(r.signed(180e5))
		c.Population = uint32(r.bounded(math.MaxUint32))
		c.Country = r.index(len(d.Countries))
		c.Admin = r.index(len(d.Admins) + 1)
	}
	d.Keys = make([]Key, r.count(2))
	d.Postings = make([]Posting, 0, r.count(1))
	maxPosting := uint64(len(d.Cities))<<1 - 1
	for i := range d.Keys {
		name := r.str()
		n := r.count(1)
		start := len(d.Postings)
		if n > cap(d.Postings)-start {
			r.fail("more postings than announced")
			break
		}
		for range n {
			d.Postings = append(d.Postings, Posting(r.bounded(maxPosting)))
		}
		d.Keys[i] = Key{Name: name, Postings: d.Postings[start:len(d.Postings):len(d.Postings)]}
	}
	if r.err != nil {
		return nil, fmt.Errorf("gazetteer: %w", r.err)
	}
	if r.off != len(r.s) {
		return nil, fmt.Errorf("gazetteer: %d trailing bytes", len(r.s)-r.off)
	}
	return d, nil
}

// decoder reads from s; after the first error every read returns zero and
// err keeps the first error.
type decoder struct {
	s   string
	off int
	err error
}

func (r *decoder) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("offset %d: %s", r.off, fmt.Sprintf(format, args...))
	}
}

func (r *decoder) uint() uint64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	var shift uint
	for i := 0; ; i++ {
		if r.off >= len(r.s) || i == binary.MaxVarintLen64 {
			r.fail("truncated or overlong varint")
			return 0
		}
		b := r.s[r.off]
		r.off++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v
		}
		shift += 7
	}
}

func (r *decoder) bounded(max uint64) uint64 {
	v := r.uint()
	if v > max {
		r.fail("value %d out of range (max %d)", v, max)
		return 0
	}
	return v
}

func (r *decoder) signed(abs int64) int64 {
	u := r.uint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	if v < -abs || v > abs {
		r.fail("value %d out of range ±%d", v, abs)
		return 0
	}
	return v
}

// count reads a length and checks it against the bytes left, given that
// every element takes at least minBytes.
func (r *decoder) count(minBytes int) int {
	n := r.uint()
	if n > uint64((len(r.s)-r.off)/minBytes) {
		r.fail("count %d exceeds remaining data", n)
		return 0
	}
	return int(n)
}

// index reads an index into a table of n entries.
func (r *decoder) index(n int) int {
	if n == 0 {
		r.fail("index into an empty table")
		return 0
	}
	return int(r.bounded(uint64(n) - 1))
}

func (r *decoder) str() string {
	n := r.uint()
	if n > uint64(len(r.s)-r.off) {
		r.fail("string length %d exceeds remaining data", n)
		return ""
	}
	s := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}
