package train

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/ir"
)

// Checkpoint metadata keys beyond the model's name and source hash. The
// lists are JSON-encoded, as safetensors metadata values are strings.
const (
	metaLoss     = "loss"            // the train block's loss
	metaClasses  = "classes"         // ["setosa","versicolor",...]: class k's name
	metaFeatures = "features"        // ["sepal_length",...]: the CSV's feature columns
	metaTarget   = "target"          // the CSV's target column
	metaMean     = "feature_mean"    // [55000.5,...]: csv(normalize = true)'s statistics
	metaStd      = "feature_std"     // [1021.3,...]
	metaModel    = "model"           // the model's name
	metaHParams  = "hyperparameters" // "hid=8, lr=0.01": the model's, in declaration order
	metaVocab    = "vocab"           // "\n aehilnorst": text()'s characters in id order, as a JSON string
)

// DataInfo is what a checkpoint records about the data its model was
// trained on, so that predictions can name classes and inputs can be
// matched to the training features by name.
type DataInfo struct {
	// Loss is the train block's loss; NoLoss when the checkpoint records
	// none that nnc knows.
	Loss ir.Loss
	// Classes holds the class names in class order (Classes[k] is class k)
	// when the training target column held names; nil otherwise.
	Classes []string
	// Features holds the names of the feature columns, in the order the
	// model takes them, when the training data was a CSV file with a
	// header; nil otherwise.
	Features []string
	// Target is the name of the training CSV's target column, when it has
	// a header.
	Target string
	// Norm holds the statistics the features were standardised with
	// (csv(..., normalize = true)), in the model's feature order; nil when
	// they were not.
	Norm *data.Standardization
	// Vocab holds, for a text data set, its characters in id order: the
	// character of id k is Vocab[k]. Nil otherwise.
	Vocab []rune
}

// metadata adds d's fields to m.
func (d DataInfo) metadata(m map[string]string) {
	if d.Loss.Valid() {
		m[metaLoss] = d.Loss.String()
	}
	if d.Classes != nil {
		b, _ := json.Marshal(d.Classes)
		m[metaClasses] = string(b)
	}
	if d.Features != nil {
		b, _ := json.Marshal(d.Features)
		m[metaFeatures] = string(b)
	}
	if d.Target != "" {
		m[metaTarget] = d.Target
	}
	if d.Vocab != nil {
		b, _ := json.Marshal(string(d.Vocab))
		m[metaVocab] = string(b)
	}
	if d.Norm != nil {
		mean, _ := json.Marshal(d.Norm.Mean) // finite: Standardization.Check
		std, _ := json.Marshal(d.Norm.Std)
		m[metaMean], m[metaStd] = string(mean), string(std)
	}
}

// modelMetadata records in m the model p was compiled for: its name and
// its hyper-parameters, which a checkpoint that does not fit names.
func modelMetadata(m map[string]string, p *ir.Program) {
	m[metaModel] = p.Model
	hps := make([]string, len(p.HParams))
	for i, hp := range p.HParams {
		hps[i] = hp.Name + "=" + fmt.Sprint(hp.Value)
	}
	if len(hps) > 0 {
		m[metaHParams] = strings.Join(hps, ", ")
	}
}

// savedFrom describes the model a checkpoint was saved from, for an error
// about a checkpoint that does not fit: " (the file was saved from model
// Flowers with hid=8)", or "" when its metadata does not say.
func savedFrom(m map[string]string) string {
	name := m[metaModel]
	if name == "" {
		return ""
	}
	if hps := m[metaHParams]; hps != "" {
		return fmt.Sprintf(" (the file was saved from model %s with %s)", name, hps)
	}
	return fmt.Sprintf(" (the file was saved from model %s)", name)
}

// dataInfo reads a DataInfo from checkpoint metadata; keys it does not know
// are ignored, and a checkpoint without them (such as PyTorch's) gives the
// zero DataInfo.
func dataInfo(m map[string]string) (DataInfo, error) {
	loss, _ := ir.ParseLoss(m[metaLoss])
	d := DataInfo{Loss: loss, Target: m[metaTarget]}
	for _, l := range []struct {
		key string
		dst *[]string
	}{{metaClasses, &d.Classes}, {metaFeatures, &d.Features}} {
		s, ok := m[l.key]
		if !ok {
			continue
		}
		if err := json.Unmarshal([]byte(s), l.dst); err != nil || *l.dst == nil {
			return DataInfo{}, fmt.Errorf("metadata %q is not a JSON list of strings", l.key)
		}
	}
	if s, ok := m[metaVocab]; ok {
		var v string
		if err := json.Unmarshal([]byte(s), &v); err != nil || v == "" {
			return DataInfo{}, fmt.Errorf("metadata %q is not a JSON string of characters", metaVocab)
		}
		d.Vocab = []rune(v)
	}
	mean, hasMean := m[metaMean]
	std, hasStd := m[metaStd]
	if hasMean || hasStd {
		n := &data.Standardization{}
		if json.Unmarshal([]byte(mean), &n.Mean) != nil || json.Unmarshal([]byte(std), &n.Std) != nil || n.Check(len(n.Mean)) != nil {
			return DataInfo{}, fmt.Errorf("metadata %q and %q are not lists of as many finite numbers, the standard deviations positive", metaMean, metaStd)
		}
		d.Norm = n
	}
	return d, nil
}

// ReadDataInfo returns what the metadata of a checkpoint records about the
// data its model was trained on (see DataInfo); a checkpoint that records
// nothing, such as PyTorch's, gives the zero DataInfo.
func ReadDataInfo(metadata map[string]string) (DataInfo, error) { return dataInfo(metadata) }

// trainingInfo describes the training data ds, loaded from src, for the
// checkpoint. Feature names are best effort: a header that cannot be read
// again, or whose names are empty or repeated, records none.
func trainingInfo(src *ir.DataSource, dir string, loss ir.Loss, ds *data.Dataset) DataInfo {
	d := DataInfo{Loss: loss, Classes: ds.ClassNames, Vocab: ds.Vocab}
	if src.Kind != "csv" || !src.Header {
		return d
	}
	names, err := csvHeader(data.Resolve(dir, src.Path))
	if err != nil {
		return d
	}
	target := src.TargetIndex
	if src.Target != "" {
		target = slices.Index(names, src.Target)
	} else if target < 0 {
		target += len(names)
	}
	if target < 0 || target >= len(names) {
		return d
	}
	d.Target = names[target]
	features := slices.Delete(slices.Clone(names), target, target+1)
	if len(features) != ds.Features || !distinctNames(features) {
		return d
	}
	d.Features = features
	return d
}

// distinctNames reports whether names are non-empty and distinct.
func distinctNames(names []string) bool {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" || seen[n] {
			return false
		}
		seen[n] = true
	}
	return true
}

// csvHeader returns the first record of the CSV file at path, trimmed as
// data.LoadCSV trims it: a byte order mark, blank lines and the spaces
// around each field are ignored.
func csvHeader(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\uFEFF")) {
		br.Discard(3)
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	for {
		rec, err := r.Read()
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			return nil, fmt.Errorf("%s: empty file", path)
		case errors.As(err, &pe):
			return nil, fmt.Errorf("%s:%d:%d: %v", path, pe.Line, pe.Column, pe.Err)
		case err != nil:
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		for i, s := range rec {
			rec[i] = strings.TrimSpace(s)
		}
		return rec, nil
	}
}
