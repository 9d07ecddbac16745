// Package onnxpb holds the Go types of ONNX's protobuf schema, generated
// from onnx.proto as Debian's python3-onnx ships it (ONNX 1.12,
// /usr/lib/python3/dist-packages/onnx/onnx.proto), copied here unchanged.
//
// Regenerate with protoc (Debian's protobuf-compiler) and protoc-gen-go:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go generate ./onnx/onnxpb
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/nnc-go/nnc/onnx/onnxpb onnx.proto
