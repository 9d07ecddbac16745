package onnx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nnc-go/nnc/onnx/onnxpb"
)

// FuzzDecode: no input makes reading or importing a model panic. The seeds
// are the PyTorch-exported models, the QDQ models the importer lowers to
// int8, and the pinned bad cases of testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"mlp", "cnn", "depthwise", "encoder", "qdq_mlp", "qdq_cnn", "qdq_cnn_s8"} {
		if b, err := os.ReadFile(filepath.Join("..", "testdata", "onnx", name+".onnx")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		m.Path = filepath.Join(t.TempDir(), "model.onnx")
		if _, err := Import(m, Options{}); err != nil && strings.Contains(err.Error(), "internal error") {
			t.Errorf("%v", err)
		}
	})
}

// hostile builds a model whose one initializer is t, used by an Add.
func hostile(t *onnxpb.TensorProto) []byte {
	s := proto.String
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{
			Name:        s("g"),
			Initializer: []*onnxpb.TensorProto{t},
			Input: []*onnxpb.ValueInfoProto{{Name: s("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
				ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
				Shape:    &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 2}}}},
			}}}}},
			Node:   []*onnxpb.NodeProto{{OpType: s("Add"), Input: []string{"x", t.GetName()}, Output: []string{"y"}}},
			Output: []*onnxpb.ValueInfoProto{{Name: s("y")}},
		},
	}
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// TestHostile: sizes that disagree with the bytes behind them, and
// external data outside the model's folder, are errors before any
// allocation of their size.
func TestHostile(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(filepath.Dir(dir), "secret.bin")
	os.WriteFile(secret, make([]byte, 8), 0o644)
	defer os.Remove(secret)
	os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 8), 0o644)
	os.Symlink(secret, filepath.Join(dir, "link.bin"))
	f32 := proto.Int32(int32(onnxpb.TensorProto_FLOAT))
	ext := func(loc string, kv ...string) *onnxpb.TensorProto {
		t := &onnxpb.TensorProto{Name: proto.String("w"), DataType: f32, Dims: []int64{2},
			DataLocation: onnxpb.TensorProto_EXTERNAL.Enum()}
		t.ExternalData = append(t.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String("location"), Value: proto.String(loc)})
		for i := 0; i < len(kv); i += 2 {
			t.ExternalData = append(t.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
		}
		return t
	}
	for _, tc := range []struct {
		name string
		t    *onnxpb.TensorProto
		want string
	}{
		{"huge dims", &onnxpb.TensorProto{Name: proto.String("w"), DataType: f32, Dims: []int64{1 << 30, 1 << 30}}, "more than"},
		{"negative dim", &onnxpb.TensorProto{Name: proto.String("w"), DataType: f32, Dims: []int64{-1}}, "out of range"},
		{"short raw", &onnxpb.TensorProto{Name: proto.String("w"), DataType: f32, Dims: []int64{1 << 20}, RawData: []byte{1, 2, 3, 4}}, "raw data of 4 bytes"},
		{"short floats", &onnxpb.TensorProto{Name: proto.String("w"), DataType: f32, Dims: []int64{3}, FloatData: []float32{1}}, "1 values"},
		{"float16", &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT16)), Dims: []int64{1}}, "float16 is not supported"},
		{"absolute", ext(secret), "outside the model's folder"},
		{"dotdot", ext("../secret.bin"), "outside the model's folder"},
		{"symlink out", ext("link.bin"), "external data"},
		{"beyond end", ext("w.bin", "offset", "4"), "beyond its end"},
		{"bad length", ext("w.bin", "length", "99999999999"), "length"},
		{"bad offset", ext("w.bin", "offset", "-3"), "not a size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(hostile(tc.t))
			if err != nil {
				t.Fatal(err)
			}
			m.Path = filepath.Join(dir, "model.onnx")
			_, err = Import(m, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	// The same external file inside the folder reads.
	m, err := Decode(hostile(ext("w.bin")))
	if err != nil {
		t.Fatal(err)
	}
	m.Path = filepath.Join(dir, "model.onnx")
	if _, err := Import(m, Options{}); err != nil {
		t.Errorf("external data inside the folder: %v", err)
	}
}
