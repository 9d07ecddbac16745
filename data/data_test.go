package data

import (
	"slices"
	"testing"

	"github.com/nnc-go/nnc/ir"
)

func TestRow(t *testing.T) {
	ds := indexed(3, ir.CrossEntropy)
	row := ds.Row(1)
	if !slices.Equal(row, []float32{1, -1}) || cap(row) != 2 {
		t.Errorf("Row(1) = %v with capacity %d, want [1 -1] with capacity 2", row, cap(row))
	}
}
