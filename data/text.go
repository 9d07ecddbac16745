package data

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"unicode/utf8"
)

// TextOptions says how LoadText cuts a text into samples.
type TextOptions struct {
	// Seq is the number of characters per sample, T: the second dimension
	// of the model's input i64[N, T].
	Seq int
	// Vocab, when > 0, is the number of ids the model's embedding holds:
	// a text with more distinct characters is an error. 0 accepts any.
	Vocab int
}

// LoadText reads the text file at path as a data set of character ids for
// next-character prediction, the language's text("file.txt"):
//
//   - the file's characters are its UTF-8 code points, all of them: a byte
//     order mark, carriage returns and a final newline count like any other;
//   - the vocabulary is the distinct characters sorted by code point, with
//     ids 0..V-1 (Dataset.Vocab, Dataset.Classes = V);
//   - of the L characters, sample i, for 0 ≤ i < ⌊(L−1)/T⌋, has the ids of
//     characters [iT, iT+T) as its features (Dataset.Tokens) and those of
//     [iT+1, iT+T+1) as its targets (Dataset.TokenTargets), one class per
//     position. The characters after the last whole sample are not used.
//
// The data set's Name is the file's base name. Errors about the contents
// name the path, as in
//
//	corpus.txt:3: invalid UTF-8 (byte 0xff at offset 57)
//	corpus.txt: 5 characters, too short for one sample of 8 (it needs 9)
func LoadText(path string, opt TextOptions) (*Dataset, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ds, err := parseText(path, src, opt)
	if err != nil {
		return nil, err
	}
	ds.Name = filepath.Base(path)
	return ds, nil
}

// parseText builds the data set of src, the contents of the file called
// name.
func parseText(name string, src []byte, opt TextOptions) (*Dataset, error) {
	if opt.Seq < 1 {
		return nil, fmt.Errorf("%s: %d characters per sample, want at least 1", name, opt.Seq)
	}
	// Every character takes at least a byte, so len(src) bounds the ids.
	if len(src) > maxElements {
		return nil, fmt.Errorf("%s: %d bytes is too large for a text data set", name, len(src))
	}
	// One pass checks the encoding, counts the characters and collects the
	// vocabulary; a second maps each character to its id.
	var (
		seenASCII [utf8.RuneSelf]bool
		others    = map[rune]bool{}
		L         int
	)
	for off := 0; off < len(src); L++ {
		r, size := utf8.DecodeRune(src[off:])
		switch {
		case r == utf8.RuneError && size <= 1:
			line := 1 + bytes.Count(src[:off], []byte{'\n'})
			return nil, fmt.Errorf("%s:%d: invalid UTF-8 (byte %#02x at offset %d)", name, line, src[off], off)
		case r < utf8.RuneSelf:
			seenASCII[r] = true
		default:
			others[r] = true
		}
		off += size
	}
	T := opt.Seq
	if L < T+1 {
		return nil, fmt.Errorf("%s: %s, too short for one sample of %d (it needs %d)", name, plural(L, "character"), T, T+1)
	}
	n := (L - 1) / T

	var vocab []rune
	for r, seen := range seenASCII {
		if seen {
			vocab = append(vocab, rune(r))
		}
	}
	ascii := len(vocab)
	for r := range others {
		vocab = append(vocab, r)
	}
	slices.Sort(vocab[ascii:])
	if opt.Vocab > 0 && len(vocab) > opt.Vocab {
		return nil, fmt.Errorf("%s has %s, more than the %d ids of the model's embedding", name, plural(len(vocab), "distinct character"), opt.Vocab)
	}
	// ASCII characters, the common case, find their id in a table; the
	// others by binary search in the sorted rest of the vocabulary.
	var asciiID [utf8.RuneSelf]int64
	for id, r := range vocab[:ascii] {
		asciiID[r] = int64(id)
	}
	ids := make([]int64, n*T+1)
	for i, off := 0, 0; i < len(ids); i++ {
		r, size := utf8.DecodeRune(src[off:])
		off += size
		if r < utf8.RuneSelf {
			ids[i] = asciiID[r]
			continue
		}
		id, _ := slices.BinarySearch(vocab[ascii:], r)
		ids[i] = int64(ascii + id)
	}
	// The targets are the features shifted by one character: both are
	// windows of the same ids.
	return &Dataset{
		Name:         name,
		N:            n,
		Features:     T,
		Tokens:       ids[: n*T : n*T],
		TokenTargets: ids[1 : n*T+1 : n*T+1],
		Classes:      len(vocab),
		Vocab:        vocab,
	}, nil
}

// BatchTokens is Batch for a data set of token ids (Dataset.Tokens): it
// copies batch i of the current epoch into x[:r*Features] and, when the
// data set has them and targets is not nil, the per-position class targets
// into targets[:r*Features], and returns the number of rows r. It does not
// allocate.
//
// BatchTokens panics if the data set holds no tokens, if i is not in
// [0, Batches()), or if x, or a non-nil targets buffer, is too short for
// the batch.
func (l *Loader) BatchTokens(i int, x, targets []int64) int {
	if i < 0 || i >= l.Batches() {
		panic(fmt.Sprintf("data: Loader.BatchTokens: batch %d out of range [0, %d)", i, l.Batches()))
	}
	ds := l.ds
	if ds.Tokens == nil {
		panic("data: Loader.BatchTokens: " + ds.Name + " holds no tokens")
	}
	rows := l.rows(i)
	f := ds.Features
	x = x[:len(rows)*f]
	for r, s := range rows {
		copy(x[r*f:(r+1)*f], ds.Tokens[s*f:(s+1)*f])
	}
	if targets != nil && ds.TokenTargets != nil {
		targets = targets[:len(rows)*f]
		for r, s := range rows {
			copy(targets[r*f:(r+1)*f], ds.TokenTargets[s*f:(s+1)*f])
		}
	}
	return len(rows)
}
