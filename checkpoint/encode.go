package checkpoint

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Encode returns f in the safetensors format.
//
// The output depends only on the content of f: the header lists
// "__metadata__" first (if f.Metadata is non-nil) with its keys sorted,
// then the tensors in name order, and is padded with spaces to a multiple
// of 8 bytes. The data holds the 8-byte tensors (F64, I64) before the
// 4-byte ones (F32, I32), then the 1-byte ones (I8), each group in name order, so every tensor is aligned
// to its element size within the file.
//
// Encode returns an error if a tensor's name is not valid UTF-8, is
// "__metadata__" or is used twice, if a tensor does not have exactly one
// non-nil data slice, or if its data length differs from the product of
// its shape.
func Encode(f *File) ([]byte, error) {
	b, err := encode(f)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return b, nil
}

func encode(f *File) ([]byte, error) {
	if err := validate(f); err != nil {
		return nil, err
	}
	byName := slices.Clone(f.Tensors)
	slices.SortFunc(byName, func(a, b *Tensor) int { return strings.Compare(a.Name, b.Name) })
	byData := slices.Clone(byName)
	slices.SortStableFunc(byData, func(a, b *Tensor) int {
		return cmp.Compare(b.DType().size(), a.DType().size())
	})

	offset := make(map[*Tensor][2]int, len(byData))
	total := 0
	for _, t := range byData {
		n := t.len() * t.DType().size()
		offset[t] = [2]int{total, total + n}
		total += n
	}

	var h bytes.Buffer
	h.WriteByte('{')
	if f.Metadata != nil {
		h.WriteString(`"__metadata__":{`)
		for i, k := range slices.Sorted(maps.Keys(f.Metadata)) {
			if i > 0 {
				h.WriteByte(',')
			}
			writeString(&h, k)
			h.WriteByte(':')
			writeString(&h, f.Metadata[k])
		}
		h.WriteByte('}')
	}
	for i, t := range byName {
		if i > 0 || f.Metadata != nil {
			h.WriteByte(',')
		}
		writeString(&h, t.Name)
		fmt.Fprintf(&h, `:{"dtype":"%s","shape":[`, t.DType())
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		o := offset[t]
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, o[0], o[1])
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}

	out := make([]byte, 8, 8+h.Len()+total)
	binary.LittleEndian.PutUint64(out, uint64(h.Len()))
	out = append(out, h.Bytes()...)
	for _, t := range byData {
		switch {
		case t.F32 != nil:
			for _, v := range t.F32 {
				out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
			}
		case t.F64 != nil:
			for _, v := range t.F64 {
				out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
			}
		case t.I32 != nil:
			for _, v := range t.I32 {
				out = binary.LittleEndian.AppendUint32(out, uint32(v))
			}
		case t.I8 != nil:
			for _, v := range t.I8 {
				out = append(out, byte(v))
			}
		default:
			for _, v := range t.I64 {
				out = binary.LittleEndian.AppendUint64(out, uint64(v))
			}
		}
	}
	return out, nil
}

// validate checks that f can be encoded.
func validate(f *File) error {
	if f == nil {
		return errors.New("nil File")
	}
	for k, v := range f.Metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("metadata %q: %q is not valid UTF-8", k, v)
		}
	}
	seen := make(map[string]bool, len(f.Tensors))
	for i, t := range f.Tensors {
		if t == nil {
			return fmt.Errorf("tensor %d is nil", i)
		}
		switch {
		case !utf8.ValidString(t.Name):
			return fmt.Errorf("tensor name %q is not valid UTF-8", t.Name)
		case t.Name == metadataKey:
			return fmt.Errorf("tensor name %q is reserved for metadata", t.Name)
		case seen[t.Name]:
			return fmt.Errorf("tensor %q appears more than once", t.Name)
		}
		seen[t.Name] = true
		d := t.DType()
		if d == "" {
			return fmt.Errorf("tensor %q must have exactly one of F32, F64, I64, I32 and I8 non-nil", t.Name)
		}
		n, ok := numElements(t.Shape, d.size())
		if !ok {
			return fmt.Errorf("tensor %q has shape %s, which has a negative dimension or too many elements", t.Name, shapeString(t.Shape))
		}
		if t.len() != n {
			return fmt.Errorf("tensor %q has %d elements, but shape %s takes %d", t.Name, t.len(), shapeString(t.Shape), n)
		}
	}
	return nil
}

// writeString writes s to b as a JSON string.
func writeString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // Marshal cannot fail on a string.
	b.Write(q)
}
