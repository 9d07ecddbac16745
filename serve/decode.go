package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/nnc-go/nnc/train"
)

// decodeJSON reads {"inputs": {"NAME": [row, row, ...]}}: each row a
// number array (nested as the input's shape, or flat) of one row's values.
// Float32 inputs parse each number straight to float32, as nnc predict
// parses a CSV file, so that a row gives the same bits either way.
func (s *Server) decodeJSON(body []byte) (map[string]any, int, error) {
	if in, rows, ok := s.fastDecode(body); ok {
		return in, rows, nil
	}
	return s.decodeJSONGeneral(body)
}

// decodeJSONGeneral reads any request encoding/json can, and explains
// what is wrong with the others.
func (s *Server) decodeJSONGeneral(body []byte) (map[string]any, int, error) {
	var req struct {
		Inputs map[string]json.RawMessage `json:"inputs"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, 0, badRequest("malformed", "malformed JSON: %v", err)
	}
	if dec.More() {
		return nil, 0, badRequest("malformed", "malformed JSON: more after the request object")
	}
	if req.Inputs == nil {
		return nil, 0, badRequest("malformed", `the request has no "inputs" object`)
	}
	for name := range req.Inputs {
		if !s.hasInput(name) {
			return nil, 0, badRequest("shape", "unknown input %q; the model takes %s", name, s.inputNames())
		}
	}
	in := map[string]any{}
	rows := -1
	for _, t := range s.in {
		raw, ok := req.Inputs[t.Name]
		if !ok {
			return nil, 0, badRequest("shape", "input %s is missing", t.Name)
		}
		// Flat rows of floats, the usual request, decode straight into
		// their type; anything else goes through the general reader.
		if x, n, ok := flatRows(t.DType, raw, t.RowSize()); ok {
			switch {
			case n == 0:
				return nil, 0, badRequest("shape", "input %s has no rows", t.Name)
			case n > s.cfg.MaxRows:
				return nil, 0, badRequest("too_many_rows", "input %s has %d rows, the most a request may hold is %d", t.Name, n, s.cfg.MaxRows)
			case rows >= 0 && n != rows:
				return nil, 0, badRequest("shape", "input %s has %d rows, %s has %d", t.Name, n, s.in[0].Name, rows)
			}
			rows = n
			in[t.Name] = x
			continue
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, 0, badRequest("malformed", "input %s: %v", t.Name, err)
		}
		list, ok := v.([]any)
		if !ok {
			return nil, 0, badRequest("shape", "input %s: want an array of rows", t.Name)
		}
		switch {
		case len(list) == 0:
			return nil, 0, badRequest("shape", "input %s has no rows", t.Name)
		case len(list) > s.cfg.MaxRows:
			return nil, 0, badRequest("too_many_rows", "input %s has %d rows, the most a request may hold is %d", t.Name, len(list), s.cfg.MaxRows)
		case rows >= 0 && len(list) != rows:
			return nil, 0, badRequest("shape", "input %s has %d rows, %s has %d", t.Name, len(list), s.in[0].Name, rows)
		}
		rows = len(list)
		size := t.RowSize()
		nums := make([]json.Number, 0, rows*size)
		for i, row := range list {
			before := len(nums)
			var err error
			if nums, err = flatten(row, nums, 0); err != nil {
				return nil, 0, badRequest("shape", "input %s: row %d: %v", t.Name, i+1, err)
			}
			if got := len(nums) - before; got != size {
				return nil, 0, badRequest("shape", "input %s: row %d has %d values, want %d (shape %s)", t.Name, i+1, got, size, rowShape(t.Shape))
			}
		}
		x, err := parseNumbers(t.DType, nums)
		if err != nil {
			return nil, 0, badRequest("shape", "input %s: %v", t.Name, err)
		}
		in[t.Name] = x
	}
	return in, rows, nil
}

// flatRows decodes raw as rows of size numbers of a float input, each
// row a flat array, straight into their type (encoding/json parses a
// float32 to float32 as nnc predict does a CSV field); ok is false when raw
// is anything else, for the general reader to take, and explain, the
// problem.
func flatRows(dtype string, raw []byte, size int) (any, int, bool) {
	if bytes.Contains(raw, []byte("null")) {
		return nil, 0, false // encoding/json would read null as 0
	}
	switch dtype {
	case "f32":
		var rows [][]float32
		if json.Unmarshal(raw, &rows) != nil {
			return nil, 0, false
		}
		x := make([]float32, 0, len(rows)*size)
		for _, r := range rows {
			if len(r) != size {
				return nil, 0, false
			}
			x = append(x, r...)
		}
		return x, len(rows), true
	case "f64":
		var rows [][]float64
		if json.Unmarshal(raw, &rows) != nil {
			return nil, 0, false
		}
		x := make([]float64, 0, len(rows)*size)
		for _, r := range rows {
			if len(r) != size {
				return nil, 0, false
			}
			x = append(x, r...)
		}
		return x, len(rows), true
	}
	return nil, 0, false
}

// flatten appends the numbers of v, a number or nested arrays of them.
func flatten(v any, dst []json.Number, depth int) ([]json.Number, error) {
	if depth > 8 {
		return dst, errors.New("arrays nested too deep")
	}
	switch v := v.(type) {
	case json.Number:
		return append(dst, v), nil
	case []any:
		var err error
		for _, e := range v {
			if dst, err = flatten(e, dst, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	if v == nil {
		return dst, errors.New("null is not a number")
	}
	return dst, fmt.Errorf("%v is not a number", v)
}

func parseNumbers(dtype string, nums []json.Number) (any, error) {
	switch dtype {
	case "f32":
		x := make([]float32, len(nums))
		for i, n := range nums {
			v, err := strconv.ParseFloat(string(n), 32)
			if err != nil {
				return nil, fmt.Errorf("%s is not a float32", n)
			}
			x[i] = float32(v)
		}
		return x, nil
	case "f64":
		x := make([]float64, len(nums))
		for i, n := range nums {
			v, err := strconv.ParseFloat(string(n), 64)
			if err != nil {
				return nil, fmt.Errorf("%s is not a float64", n)
			}
			x[i] = v
		}
		return x, nil
	case "i64":
		x := make([]int64, len(nums))
		for i, n := range nums {
			v, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s is not an integer", n)
			}
			x[i] = v
		}
		return x, nil
	}
	return nil, fmt.Errorf("inputs of type %s cannot be served", dtype)
}

// decodeNPY reads a .npy body for a model of one float input: its first
// dimension is the rows, the rest one row's values.
func (s *Server) decodeNPY(body []byte) (map[string]any, int, error) {
	if len(s.in) != 1 || (s.in[0].DType != "f32" && s.in[0].DType != "f64") {
		return nil, 0, badRequest("shape", "a .npy body feeds a model of one float input; this one takes %s: send JSON", s.inputNames())
	}
	t := s.in[0]
	shape, x, err := train.DecodeNPY("request body", body)
	if err != nil {
		return nil, 0, badRequest("malformed", "%v", err)
	}
	if len(shape) == 0 || shape[0] == 0 {
		return nil, 0, badRequest("shape", "input %s: the array has no rows", t.Name)
	}
	rows := shape[0]
	if rows > s.cfg.MaxRows {
		return nil, 0, badRequest("too_many_rows", "input %s has %d rows, the most a request may hold is %d", t.Name, rows, s.cfg.MaxRows)
	}
	if len(x) != rows*t.RowSize() {
		return nil, 0, badRequest("shape", "input %s: an array of shape %v, want rows of shape %s", t.Name, shape, rowShape(t.Shape))
	}
	if t.DType == "f64" {
		return map[string]any{t.Name: x}, rows, nil
	}
	x32 := make([]float32, len(x))
	for i, v := range x {
		x32[i] = float32(v)
	}
	return map[string]any{t.Name: x32}, rows, nil
}

func rowShape(shape []int) string {
	return fmt.Sprint(shape[1:])
}

func (s *Server) hasInput(name string) bool {
	for _, t := range s.in {
		if t.Name == name {
			return true
		}
	}
	return false
}

func (s *Server) inputNames() string {
	var b bytes.Buffer
	for i, t := range s.in {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s%s)", t.Name, t.DType, rowShape(t.Shape))
	}
	return b.String()
}

func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
