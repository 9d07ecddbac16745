package main

import (
	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/train"
)

// trainedScaling returns the per-feature statistics a checkpoint (its
// bytes) records when its model was trained on standardised features
// (csv(..., normalize = true)), for the generated Forward to apply; nil
// when it records none.
func trainedScaling(ckpt []byte) (mean, std []float64, err error) {
	f, err := checkpoint.Decode(ckpt)
	if err != nil {
		return nil, nil, err
	}
	info, err := train.ReadDataInfo(f.Metadata)
	if err != nil || info.Norm == nil {
		return nil, nil, err
	}
	return info.Norm.Mean, info.Norm.Std, nil
}
