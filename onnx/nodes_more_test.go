package onnx

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nnc-go/nnc/onnx/onnxpb"
)

// oneNode builds a model of one node of op over float inputs [2, 3] and
// an i64 input t [2], with the attributes given.
func oneNode(op string, inputs []string, attrs ...*onnxpb.AttributeProto) *Model {
	s := proto.String
	vi := func(name string, dt onnxpb.TensorProto_DataType, dims ...int64) *onnxpb.ValueInfoProto {
		var ds []*onnxpb.TensorShapeProto_Dimension
		for _, d := range dims {
			ds = append(ds, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
		return &onnxpb.ValueInfoProto{Name: s(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(dt)), Shape: &onnxpb.TensorShapeProto{Dim: ds}}}}}
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{
			Name: s("g"),
			Input: []*onnxpb.ValueInfoProto{vi("x", onnxpb.TensorProto_FLOAT, 2, 3), vi("w", onnxpb.TensorProto_FLOAT, 3),
				vi("t", onnxpb.TensorProto_INT64, 2), vi("k", onnxpb.TensorProto_INT64)},
			Node:   []*onnxpb.NodeProto{{OpType: s(op), Input: inputs, Output: []string{"y"}, Attribute: attrs}},
			Output: []*onnxpb.ValueInfoProto{{Name: s("y")}},
		},
	}
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	d, err := Decode(b)
	if err != nil {
		panic(err)
	}
	return d
}

// TestRefusedAttributes: attribute values and run-time inputs the new ops
// do not compute are the importer's error naming the node, never a wrong
// answer.
func TestRefusedAttributes(t *testing.T) {
	i := func(name string, v int64) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
	}
	str := func(name, v string) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
	}
	for _, tc := range []struct {
		op     string
		inputs []string
		attrs  []*onnxpb.AttributeProto
		want   string
	}{
		{"LayerNormalization", []string{"x", "w", "w"}, []*onnxpb.AttributeProto{i("stash_type", 11)}, "(LayerNormalization, opset 17): stash_type = 11 for f32 input"},
		{"NegativeLogLikelihoodLoss", []string{"x", "t"}, []*onnxpb.AttributeProto{str("reduction", "max")}, `(NegativeLogLikelihoodLoss, opset 17): reduction = "max" is not supported`},
		{"SoftmaxCrossEntropyLoss", []string{"x", "x"}, nil, "targets of type f32 (nnc takes i64 class indices) is not supported"},
		{"Trilu", []string{"x", "k"}, nil, "(Trilu, opset 17): input 1 computed at run time (nnc folds it when compiling) is not supported"},
		{"ArgMax", []string{"x"}, []*onnxpb.AttributeProto{i("select_last_index", 2)}, "attribute select_last_index = 2, not 0 or 1"},
		{"ArgMin", []string{"x"}, []*onnxpb.AttributeProto{i("axis", 2)}, "axis 2 out of range"},
		{"Hardmax", []string{"x"}, []*onnxpb.AttributeProto{i("axis", -3)}, "axis -3 out of range"},
	} {
		_, err := Import(oneNode(tc.op, tc.inputs, tc.attrs...), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.op, err, tc.want)
		}
	}
}
