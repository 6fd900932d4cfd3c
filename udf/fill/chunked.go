package fill

// chunked is an append-only list stored in fixed-size chunks. Unlike a
// slice it never copies itself to grow, so a million-row sheet does not need
// twice its size in memory for a moment, and pointers to elements stay valid.
type chunked[T any] struct {
	chunks [][]T
	n      int
}

const (
	chunkBits = 16
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
)

// at returns element i; i must be below len.
func (c *chunked[T]) at(i int) *T { return &c.chunks[i>>chunkBits][i&chunkMask] }

func (c *chunked[T]) len() int { return c.n }

func (c *chunked[T]) add(v T) {
	if c.n&chunkMask == 0 {
		c.chunks = append(c.chunks, make([]T, 0, chunkSize))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, v)
	c.n++
}

// sortable adapts a chunked list to sort.Interface.
type sortable[T any] struct {
	c    *chunked[T]
	less func(a, b *T) bool
}

func (s sortable[T]) Len() int           { return s.c.n }
func (s sortable[T]) Less(i, j int) bool { return s.less(s.c.at(i), s.c.at(j)) }
func (s sortable[T]) Swap(i, j int)      { a, b := s.c.at(i), s.c.at(j); *a, *b = *b, *a }
