package nncrt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nnc-go/nnc/kernels"
)

// entry is a tensor's line of a safetensors header.
type entry struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// floatDType returns the safetensors dtype of T and its size in bytes.
func (s *Store[T]) floatDType() (string, int) {
	var z T
	if _, ok := any(z).(float32); ok {
		return "F32", 4
	}
	return "F64", 8
}

// Encode returns the state_dict (parameters and buffers, under PyTorch's
// names) in the safetensors format, which PyTorch's
// safetensors.torch.load_file reads. The header's keys are sorted; the
// data follows in table order.
func (s *Store[T]) Encode() []byte {
	dtype, size := s.floatDType()
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	for k, t := range s.tensors {
		if t.State {
			continue
		}
		begin := len(data)
		switch {
		case t.I64:
			for _, v := range s.i[s.index[k]] {
				data = binary.LittleEndian.AppendUint64(data, uint64(v))
			}
			header[t.Name] = entry{"I64", t.Shape, [2]int{begin, len(data)}}
			continue
		case t.I32:
			for _, v := range s.i32[s.index[k]] {
				data = binary.LittleEndian.AppendUint32(data, uint32(v))
			}
			header[t.Name] = entry{"I32", t.Shape, [2]int{begin, len(data)}}
			continue
		case t.I8:
			w := s.i8[s.index[k]]
			name, shape := t.file()
			if t.Packed != nil {
				w = make([]int8, shape[0]*shape[1])
				kernels.QUnpackLinear(w, s.i8[s.index[k]], shape[0], shape[1])
			}
			for _, v := range w {
				data = append(data, byte(v))
			}
			header[name] = entry{"I8", shape, [2]int{begin, len(data)}}
			continue
		}
		p := s.f[s.index[k]]
		buf := make([]byte, len(p)*size)
		for i, v := range p {
			if size == 4 {
				binary.LittleEndian.PutUint32(buf[i*4:], math.Float32bits(float32(v)))
			} else {
				binary.LittleEndian.PutUint64(buf[i*8:], math.Float64bits(float64(v)))
			}
		}
		data = append(data, buf...)
		header[t.Name] = entry{dtype, t.Shape, [2]int{begin, len(data)}}
	}
	h, _ := json.Marshal(header)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), data...)
}

// Decode replaces the parameters and buffers by those of a safetensors
// file, which must hold exactly the model's tensors with their shapes and
// dtypes; a tensor that is missing, extra or mis-shaped is an error naming
// it. Optimizer state (optimizer.NAME...), which checkpoints nnc saves
// hold, is loaded when the model keeps it and ignored otherwise. On an
// error, some tensors may have been replaced already.
func (s *Store[T]) Decode(file []byte) error {
	if len(file) < 8 {
		return fmt.Errorf("safetensors: %d bytes, too short", len(file))
	}
	n := binary.LittleEndian.Uint64(file)
	if n > uint64(len(file)-8) {
		return fmt.Errorf("safetensors: header of %d bytes in a file of %d", n, len(file))
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(file[8:8+n], &header); err != nil {
		return fmt.Errorf("safetensors: header: %v", err)
	}
	data := file[8+n:]
	fdtype, fsize := s.floatDType()
	want := map[string]bool{}
	for k, t := range s.tensors {
		name, shape := t.file()
		want[name] = true
		raw, ok := header[name]
		if !ok {
			if t.State {
				continue // optimizer state is optional: PyTorch's files have none
			}
			return fmt.Errorf("safetensors: tensor %q is missing", name)
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("safetensors: tensor %q: %v", name, err)
		}
		dt, size := fdtype, fsize
		switch {
		case t.I64:
			dt, size = "I64", 8
		case t.I32:
			dt, size = "I32", 4
		case t.I8:
			dt, size = "I8", 1
		}
		count := 1
		for _, d := range shape {
			count *= d
		}
		if e.DType != dt || fmt.Sprint(e.Shape) != fmt.Sprint(shape) {
			return fmt.Errorf("safetensors: tensor %q is %s %v, the model's is %s %v", name, e.DType, e.Shape, dt, shape)
		}
		if e.Offsets[0] < 0 || e.Offsets[1] > len(data) || e.Offsets[0] > e.Offsets[1] || e.Offsets[1]-e.Offsets[0] != count*size {
			return fmt.Errorf("safetensors: tensor %q: bad data offsets %v", name, e.Offsets)
		}
		raw2 := data[e.Offsets[0]:e.Offsets[1]]
		switch {
		case t.I64:
			p := s.i[s.index[k]]
			for i := range p {
				p[i] = int64(binary.LittleEndian.Uint64(raw2[i*8:]))
			}
			continue
		case t.I32:
			p := s.i32[s.index[k]]
			for i := range p {
				p[i] = int32(binary.LittleEndian.Uint32(raw2[i*4:]))
			}
			continue
		case t.I8:
			p := s.i8[s.index[k]]
			if t.Packed != nil {
				p = make([]int8, count)
			}
			for i := range p {
				p[i] = int8(raw2[i])
			}
			if t.Packed != nil {
				kernels.QPackLinear(s.i8[s.index[k]], p, shape[0], shape[1])
			}
			continue
		}
		p := s.f[s.index[k]]
		for i := range p {
			if size == 4 {
				p[i] = T(math.Float32frombits(binary.LittleEndian.Uint32(raw2[i*4:])))
			} else {
				p[i] = T(math.Float64frombits(binary.LittleEndian.Uint64(raw2[i*8:])))
			}
		}
	}
	var extra []string
	for name := range header {
		if name != "__metadata__" && !want[name] && !strings.HasPrefix(name, "optimizer.") {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return fmt.Errorf("safetensors: unexpected tensor %q, the model has no such parameter", extra[0])
	}
	return nil
}

// Save writes the state_dict to path in the safetensors format, through a
// temporary file and a rename, so that path is never half-written.
func (s *Store[T]) Save(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(s.Encode())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// Load replaces the parameters and buffers by those of the safetensors
// file at path, as Decode does; errors about the contents name the file.
func (s *Store[T]) Load(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := s.Decode(b); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}
