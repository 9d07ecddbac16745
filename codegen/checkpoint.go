package codegen

import (
	"bytes"
	"strings"
)

// checkpointFuncs writes Encode, Decode, Save and Load: the safetensors
// format of nnc's checkpoint package, standard library only, so that the
// generated package needs nothing but the kernels.
func (g *gen) checkpointFuncs(b *bytes.Buffer) {
	dtype, size, bits := "F32", "4", "math.Float32bits(float32(v))"
	from := g.elem + "(math.Float32frombits(binary.LittleEndian.Uint32(raw[i*4:])))"
	put := "binary.LittleEndian.PutUint32(buf[i*4:], " + bits + ")"
	if g.elem == "float64" {
		dtype, size = "F64", "8"
		from = g.elem + "(math.Float64frombits(binary.LittleEndian.Uint64(raw[i*8:])))"
		put = "binary.LittleEndian.PutUint64(buf[i*8:], math.Float64bits(float64(v)))"
	}
	src := strings.NewReplacer("MARKSTALE\n", g.markStale(), "ELEMDTYPE", dtype, "ELEMSIZE", size, "FROMRAW", from, "PUTRAW", put, "ELEM", g.elem).Replace(checkpointTemplate)
	b.WriteString(src)
}

const checkpointTemplate = `// Encode returns the model's state_dict (parameters and buffers, under
// PyTorch's names) in the safetensors format, which PyTorch's
// safetensors.torch.load_file reads.
func (m *Model) Encode() []byte {
	type entry struct {
		DType string ` + "`json:\"dtype\"`" + `
		Shape []int ` + "`json:\"shape\"`" + `
		Offsets [2]int ` + "`json:\"data_offsets\"`" + `
	}
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	for _, t := range tensors {
		if t.state {
			continue
		}
		begin := len(data)
		if t.i64 {
			for _, v := range m.pi[t.index] {
				data = binary.LittleEndian.AppendUint64(data, uint64(v))
			}
			header[t.name] = entry{"I64", t.shape, [2]int{begin, len(data)}}
			continue
		}
		buf := make([]byte, len(m.p[t.index])*ELEMSIZE)
		for i, v := range m.p[t.index] {
			PUTRAW
		}
		data = append(data, buf...)
		header[t.name] = entry{"ELEMDTYPE", t.shape, [2]int{begin, len(data)}}
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
// hold, is loaded when the model keeps it and ignored otherwise.
func (m *Model) Decode(file []byte) error {
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
	want := map[string]bool{}
	for _, t := range tensors {
		want[t.name] = true
		raw, ok := header[t.name]
		if !ok {
			if t.state {
				continue // optimizer state is optional: PyTorch's files have none
			}
			return fmt.Errorf("safetensors: tensor %q is missing", t.name)
		}
		var e struct {
			DType   string ` + "`json:\"dtype\"`" + `
			Shape   []int  ` + "`json:\"shape\"`" + `
			Offsets [2]int ` + "`json:\"data_offsets\"`" + `
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("safetensors: tensor %q: %v", t.name, err)
		}
		dt, size := "ELEMDTYPE", ELEMSIZE
		if t.i64 {
			dt, size = "I64", 8
		}
		count := 1
		for _, d := range t.shape {
			count *= d
		}
		if e.DType != dt || fmt.Sprint(e.Shape) != fmt.Sprint(t.shape) {
			return fmt.Errorf("safetensors: tensor %q is %s %v, the model's is %s %v", t.name, e.DType, e.Shape, dt, t.shape)
		}
		if e.Offsets[0] < 0 || e.Offsets[1] > len(data) || e.Offsets[1]-e.Offsets[0] != count*size {
			return fmt.Errorf("safetensors: tensor %q: bad data offsets %v", t.name, e.Offsets)
		}
		raw2 := data[e.Offsets[0]:e.Offsets[1]]
		if t.i64 {
			for i := range m.pi[t.index] {
				m.pi[t.index][i] = int64(binary.LittleEndian.Uint64(raw2[i*8:]))
			}
			continue
		}
		p := m.p[t.index]
		decodeInto(p, raw2)
	}
	var extra []string
	for name := range header {
		if name != "__metadata__" && !want[name] && !strings.HasPrefix(name, "optimizer.") {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("safetensors: unexpected tensor %q, the model has no such parameter", extra[0])
	}
	MARKSTALE
	return nil
}

func decodeInto(p []ELEM, raw []byte) {
	for i := range p {
		p[i] = FROMRAW
	}
}

// Save writes the state_dict to path in the safetensors format, through a
// temporary file and a rename, so that path is never half-written.
func (m *Model) Save(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(m.Encode())
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
// file at path, as Decode does.
func (m *Model) Load(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := m.Decode(b); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}
`
