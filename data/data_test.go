package data

import (
	"slices"
	"testing"
)

func TestRow(t *testing.T) {
	ds := indexed(3, Classes)
	row := ds.Row(1)
	if !slices.Equal(row, []float32{1, -1}) || cap(row) != 2 {
		t.Errorf("Row(1) = %v with capacity %d, want [1 -1] with capacity 2", row, cap(row))
	}
}

func TestTargetKindString(t *testing.T) {
	for k, want := range map[TargetKind]string{Classes: "classes", Values: "values", Binary: "binary", 3: "TargetKind(3)"} {
		if got := k.String(); got != want {
			t.Errorf("TargetKind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
