package onnx

import (
	"fmt"
	"math"

	"github.com/nnc-go/nnc/onnx/onnxpb"
)

// The attribute readers record what a handler read: an attribute of the
// node that no handler read is one nnc does not support, and an error,
// rather than ignored.

func (im *importer) attr(name string) *onnxpb.AttributeProto {
	im.read[name] = true
	for _, a := range im.node.Attribute {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

func (im *importer) has(name string) bool { return im.attr(name) != nil }

func (im *importer) attrInt(name string, def int) (int, error) {
	a := im.attr(name)
	if a == nil {
		return def, nil
	}
	if a.GetType() != onnxpb.AttributeProto_INT && !(a.GetType() == onnxpb.AttributeProto_UNDEFINED && a.I != nil) {
		return 0, im.errorf("attribute %s is not an integer", name)
	}
	if a.GetI() > math.MaxInt32 || a.GetI() < math.MinInt32 {
		return 0, im.errorf("attribute %s = %d out of range", name, a.GetI())
	}
	return int(a.GetI()), nil
}

func (im *importer) attrInts(name string) ([]int, bool, error) {
	a := im.attr(name)
	if a == nil {
		return nil, false, nil
	}
	if a.GetType() != onnxpb.AttributeProto_INTS && a.GetType() != onnxpb.AttributeProto_UNDEFINED {
		return nil, false, im.errorf("attribute %s is not a list of integers", name)
	}
	if len(a.Ints) > MaxRank*2 {
		return nil, false, im.errorf("attribute %s: %d integers, more than %d", name, len(a.Ints), MaxRank*2)
	}
	out := make([]int, len(a.Ints))
	for i, x := range a.Ints {
		if x > math.MaxInt32 || x < math.MinInt32 {
			return nil, false, im.errorf("attribute %s: %d out of range", name, x)
		}
		out[i] = int(x)
	}
	return out, true, nil
}

func (im *importer) attrFloat(name string, def float64) (float64, error) {
	a := im.attr(name)
	if a == nil {
		return def, nil
	}
	if a.GetType() != onnxpb.AttributeProto_FLOAT && !(a.GetType() == onnxpb.AttributeProto_UNDEFINED && a.F != nil) {
		return 0, im.errorf("attribute %s is not a float", name)
	}
	return float64(a.GetF()), nil
}

func (im *importer) attrString(name, def string) (string, error) {
	a := im.attr(name)
	if a == nil {
		return def, nil
	}
	if a.GetType() != onnxpb.AttributeProto_STRING && a.GetType() != onnxpb.AttributeProto_UNDEFINED {
		return "", im.errorf("attribute %s is not a string", name)
	}
	return string(a.GetS()), nil
}

// unread returns an error naming the first attribute of the node no
// handler read.
func (im *importer) unread() error {
	for _, a := range im.node.Attribute {
		if !im.read[a.GetName()] {
			return im.errorf("attribute %s is not supported", a.GetName())
		}
	}
	return nil
}

// notSupported is the error for an attribute value nnc does not compute.
func (im *importer) notSupported(format string, a ...any) error {
	return im.errorf("%s is not supported", fmt.Sprintf(format, a...))
}
