package data

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/nnc-go/nnc/ir"
)

func TestLoadText(t *testing.T) {
	// L = 11 characters: "hello world". Vocabulary " dehlorw" (space
	// first, by code point): ids h=3 e=2 l=4 o=5 ' '=0 w=7 r=6 d=1.
	path := writeFile(t, "hello.txt", "hello world")
	ds, err := LoadText(path, TextOptions{Seq: 3})
	if err != nil {
		t.Fatal(err)
	}
	// ⌊(11-1)/3⌋ = 3 samples: "hel"→"ell", "lo "→"o w", "wor"→"orl";
	// the final "ld" is not used.
	want := &Dataset{
		Name:         "hello.txt",
		N:            3,
		Features:     3,
		Tokens:       []int64{3, 2, 4, 4, 5, 0, 7, 5, 6},
		TokenTargets: []int64{2, 4, 4, 5, 0, 7, 5, 6, 4},
		Classes:      8,
		Vocab:        []rune(" dehlorw"),
	}
	if diff := cmp.Diff(want, ds); diff != "" {
		t.Errorf("LoadText (-want +got):\n%s", diff)
	}
	checkTextDataset(t, ds, "hello world")
}

func TestLoadTextExactFit(t *testing.T) {
	// L - 1 = N·T exactly: the last character is only a target.
	ds, err := parseText("abab.txt", []byte("abababa"), TextOptions{Seq: 2})
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 3 || !slices.Equal(ds.Tokens, []int64{0, 1, 0, 1, 0, 1}) || !slices.Equal(ds.TokenTargets, []int64{1, 0, 1, 0, 1, 0}) {
		t.Errorf("N = %d, Tokens %v, TokenTargets %v", ds.N, ds.Tokens, ds.TokenTargets)
	}
	// One sample of T = 6 needs 7 characters: exactly the file.
	ds, err = parseText("abab.txt", []byte("abababa"), TextOptions{Seq: 6})
	if err != nil || ds.N != 1 {
		t.Fatalf("T = 6: %v, %+v", err, ds)
	}
}

func TestLoadTextUnicode(t *testing.T) {
	// Characters, not bytes: é (U+00E9) and 😀 (U+1F600) are one id each,
	// sorted by code point after the ASCII ones; a byte order mark
	// (U+FEFF), a carriage return and a final newline are characters too,
	// as is a correctly encoded U+FFFD.
	src := "\uFEFFé😀a\r\né\uFFFDa\n"
	ds, err := parseText("u.txt", []byte(src), TextOptions{Seq: 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := []rune("\n\raé\uFEFF\uFFFD😀"); !slices.Equal(ds.Vocab, want) {
		t.Errorf("Vocab = %q, want %q", ds.Vocab, want)
	}
	checkTextDataset(t, ds, src)
}

// checkTextDataset checks ds against the definition: sample i's features
// are the ids of characters [iT, iT+T) of src, its targets those of
// [iT+1, iT+T+1), and an id is the rank of its character in the sorted
// distinct characters.
func checkTextDataset(t *testing.T, ds *Dataset, src string) {
	t.Helper()
	chars := []rune(src)
	vocab := slices.Compact(slices.Sorted(slices.Values(chars)))
	if !slices.Equal(ds.Vocab, vocab) || ds.Classes != len(vocab) {
		t.Fatalf("Vocab %q, Classes %d; want %q", ds.Vocab, ds.Classes, vocab)
	}
	T := ds.Features
	if ds.N != (len(chars)-1)/T || len(ds.Tokens) != ds.N*T || len(ds.TokenTargets) != ds.N*T {
		t.Fatalf("N = %d, %d tokens, %d targets for %d characters, T = %d", ds.N, len(ds.Tokens), len(ds.TokenTargets), len(chars), T)
	}
	if ds.X != nil || ds.Labels != nil || ds.Targets != nil || ds.Pixels != nil {
		t.Fatal("a text data set with float features or per-sample targets")
	}
	id := func(r rune) int64 { i, _ := slices.BinarySearch(vocab, r); return int64(i) }
	for i := range ds.N {
		for p := range T {
			if x, y := ds.Tokens[i*T+p], ds.TokenTargets[i*T+p]; x != id(chars[i*T+p]) || y != id(chars[i*T+p+1]) {
				t.Fatalf("sample %d position %d: x %d, y %d; want %d (%q), %d (%q)",
					i, p, x, y, id(chars[i*T+p]), chars[i*T+p], id(chars[i*T+p+1]), chars[i*T+p+1])
			}
		}
	}
}

func TestLoadTextErrors(t *testing.T) {
	for _, tc := range []struct {
		src  string
		opt  TextOptions
		want string
	}{
		{"", TextOptions{Seq: 4}, "c.txt: 0 characters, too short for one sample of 4 (it needs 5)"},
		{"abcd", TextOptions{Seq: 4}, "c.txt: 4 characters, too short for one sample of 4 (it needs 5)"},
		{"é", TextOptions{Seq: 1}, "c.txt: 1 character, too short for one sample of 1 (it needs 2)"},
		{"ab\ncd\xffef", TextOptions{Seq: 2}, "c.txt:2: invalid UTF-8 (byte 0xff at offset 5)"},
		{"ab\xc3", TextOptions{Seq: 1}, "c.txt:1: invalid UTF-8 (byte 0xc3 at offset 2)"},
		{"\xed\xa0\x80abc", TextOptions{Seq: 1}, "c.txt:1: invalid UTF-8 (byte 0xed at offset 0)"}, // a surrogate
		{"abcabc", TextOptions{Seq: 0}, "c.txt: 0 characters per sample, want at least 1"},
		{"abcdabcd", TextOptions{Seq: 2, Vocab: 3}, "c.txt has 4 distinct characters, more than the 3 ids of the model's embedding"},
	} {
		_, err := parseText("c.txt", []byte(tc.src), tc.opt)
		if err == nil || err.Error() != tc.want {
			t.Errorf("parseText(%q, %+v) = %v, want %q", tc.src, tc.opt, err, tc.want)
		}
	}
	if _, err := parseText("c.txt", []byte("abcdabcd"), TextOptions{Seq: 2, Vocab: 4}); err != nil {
		t.Errorf("vocabulary of exactly the embedding's size: %v", err)
	}

	_, err := LoadText(filepath.Join(t.TempDir(), "missing.txt"), TextOptions{Seq: 4})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("LoadText of a missing file: error %v, want fs.ErrNotExist naming the file", err)
	}
	short := writeFile(t, "short.txt", "ab")
	_, err = LoadText(short, TextOptions{Seq: 4})
	if want := short + ": 2 characters, too short for one sample of 4 (it needs 5)"; err == nil || err.Error() != want {
		t.Errorf("LoadText of a short file: %v, want %q", err, want)
	}
}

func TestLoaderBatchTokens(t *testing.T) {
	// Five samples of T = 2 whose ids encode the sample: x = (i, 10+i),
	// targets from the same text shifted by one.
	ds, err := parseText("t.txt", []byte("abcdefghijk"), TextOptions{Seq: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, shuffle := range []bool{false, true} {
		l := NewLoader(ds, 2, shuffle, 3)
		x, y := make([]int64, 4), make([]int64, 4)
		var order []int
		for e := range 2 {
			order = order[:0]
			for b := range l.Batches() {
				n := l.BatchTokens(b, x, y)
				for r := range n {
					i := int(x[2*r]) / 2
					if x[2*r] != int64(2*i) || x[2*r+1] != int64(2*i+1) || y[2*r] != int64(2*i+1) || y[2*r+1] != int64(2*i+2) {
						t.Fatalf("epoch %d batch %d row %d: x %v, y %v", e, b, r, x[2*r:2*r+2], y[2*r:2*r+2])
					}
					order = append(order, i)
				}
			}
			if !isPermutation(order, 5) || !shuffle && !slices.Equal(order, []int{0, 1, 2, 3, 4}) {
				t.Errorf("shuffle %v, epoch %d: order %v", shuffle, e, order)
			}
			l.Epoch()
		}
		if a := testing.AllocsPerRun(10, func() { l.BatchTokens(1, x, y) }); a != 0 {
			t.Errorf("BatchTokens: %v allocations", a)
		}
		// Targets may be skipped.
		if n := l.BatchTokens(2, x, nil); n != 1 {
			t.Errorf("last batch: %d rows, want 1", n)
		}
	}
	mustPanic(t, "batch out of range", func() { NewLoader(ds, 2, false, 0).BatchTokens(3, make([]int64, 4), nil) })
	mustPanic(t, "short x", func() { NewLoader(ds, 2, false, 0).BatchTokens(0, make([]int64, 3), nil) })
	mustPanic(t, "no tokens", func() { NewLoader(indexed(3, ir.CrossEntropy), 2, false, 0).BatchTokens(0, make([]int64, 4), nil) })
	mustPanic(t, "Row of tokens", func() { ds.Row(0) })
}

// mustPanic fails t unless f panics.
func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}

func FuzzLoadText(f *testing.F) {
	f.Add([]byte("hello world"), uint8(3), uint8(0))
	f.Add([]byte("\uFEFFé😀a\r\n"), uint8(1), uint8(4))
	f.Add([]byte("ab\xffc"), uint8(1), uint8(0))
	f.Add([]byte(""), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, src []byte, seq, vocab uint8) {
		ds, err := parseText("fuzz.txt", src, TextOptions{Seq: int(seq), Vocab: int(vocab)})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.txt") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: not one line naming the file", err)
			}
			return
		}
		if !utf8.Valid(src) || int(vocab) > 0 && ds.Classes > int(vocab) {
			t.Fatalf("accepted %q (vocab %d) with %d classes", src, vocab, ds.Classes)
		}
		checkTextDataset(t, ds, string(src))
	})
}
