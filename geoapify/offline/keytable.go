package offline

import (
	"hash/maphash"
	"math/bits"
)

// keyTable finds index keys by their folded text. It is an open-addressing
// hash table of entry indices: one pointer-free slice, so building it at
// load is a few milliseconds and the garbage collector never scans it,
// where a map[string]entry of the same size cost most of the load time.
type keyTable struct {
	seed  maphash.Seed
	slots []uint32 // entry index + 1; 0 marks an empty slot
	mask  uint64
}

func newKeyTable(entries []entry) keyTable {
	// At most half full, so probe runs stay short.
	size := uint64(1) << bits.Len(uint(2*len(entries)))
	t := keyTable{seed: maphash.MakeSeed(), slots: make([]uint32, size), mask: size - 1}
	for i := range entries {
		h := maphash.String(t.seed, entries[i].name) & t.mask
		for t.slots[h] != 0 {
			h = (h + 1) & t.mask
		}
		t.slots[h] = uint32(i + 1)
	}
	return t
}

// find returns the index of the entry whose name is key, or -1.
func (t *keyTable) find(entries []entry, key []byte) int {
	h := maphash.Bytes(t.seed, key) & t.mask
	for {
		s := t.slots[h]
		if s == 0 {
			return -1
		}
		if entries[s-1].name == string(key) {
			return int(s - 1)
		}
		h = (h + 1) & t.mask
	}
}
