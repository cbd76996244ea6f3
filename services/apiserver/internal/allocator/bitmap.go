// Package allocator hands out integers of a fixed range (node ports;
// cluster IPs are IPAddress objects, see ipalloc) from a bitmap kept in
// one etcd key. Every change is a compare-and-swap on the key's mod
// revision, so several apiservers sharing the key never hand out the same
// value.
package allocator

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"math/bits"
)

// Bitmap is a set of offsets in [0, Size).
type Bitmap struct {
	words []uint64
	size  int
}

// NewBitmap is an empty bitmap of size offsets.
func NewBitmap(size int) *Bitmap {
	return &Bitmap{words: make([]uint64, (size+63)/64), size: size}
}

// Size is how many offsets the bitmap holds.
func (b *Bitmap) Size() int { return b.size }

// Has reports whether offset i is set.
func (b *Bitmap) Has(i int) bool {
	return i >= 0 && i < b.size && b.words[i/64]&(1<<(i%64)) != 0
}

// Set marks offset i.
func (b *Bitmap) Set(i int) { b.words[i/64] |= 1 << (i % 64) }

// Clear unmarks offset i.
func (b *Bitmap) Clear(i int) { b.words[i/64] &^= 1 << (i % 64) }

// Count is how many offsets are set.
func (b *Bitmap) Count() int {
	n := 0
	for _, w := range b.words {
		n += bits.OnesCount64(w)
	}
	return n
}

// Each calls fn with every set offset, in order.
func (b *Bitmap) Each(fn func(int)) {
	for wi, w := range b.words {
		for w != 0 {
			i := bits.TrailingZeros64(w)
			fn(wi*64 + i)
			w &^= 1 << i
		}
	}
}

// FreeFrom returns the first clear offset at or after start, wrapping
// around; false when there is none.
func (b *Bitmap) FreeFrom(start int) (int, bool) {
	for n := 0; n < b.size; n++ {
		i := (start + n) % b.size
		if b.words[i/64] == ^uint64(0) {
			// A full word: jump to the next one.
			next := (i/64 + 1) * 64
			n += next - i - 1
			continue
		}
		if !b.Has(i) {
			return i, true
		}
	}
	return 0, false
}

// marshal is the bitmap, little-endian words, deflated: a sparse bitmap of
// a /12 is a few hundred bytes instead of 128 KiB.
func (b *Bitmap) marshal() []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	raw := make([]byte, 8)
	for _, word := range b.words {
		for k := range raw {
			raw[k] = byte(word >> (8 * k))
		}
		_, _ = w.Write(raw)
	}
	_ = w.Close()
	return buf.Bytes()
}

func unmarshalBitmap(data []byte, size int) (*Bitmap, error) {
	b := NewBitmap(size)
	raw, err := io.ReadAll(flate.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, fmt.Errorf("inflate the bitmap: %w", err)
	}
	if len(raw) != len(b.words)*8 {
		return nil, fmt.Errorf("the bitmap holds %d bytes, want %d", len(raw), len(b.words)*8)
	}
	for i := range b.words {
		for k := 0; k < 8; k++ {
			b.words[i] |= uint64(raw[i*8+k]) << (8 * k)
		}
	}
	return b, nil
}
