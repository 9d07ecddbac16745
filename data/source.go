package data

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nnc-go/nnc/ir"
)

// Source names a data set as a train block's data or test field does:
// random(samples, classes, seed), csv(path, target), idx(images, labels)
// or mnist(split).
type Source struct {
	Kind string // random, csv, idx or mnist

	Samples, Classes int // random; Classes 0 means the caller's
	Seed             uint64

	Path        string // csv
	Target      string // csv: the target column's name, or ""
	TargetIndex int    // csv: its index when Target is "", -1 for the last
	Header      bool

	Split          string // mnist: train or test
	Images, Labels string // idx

	// Vocab, for text, is the number of ids the model's first embedding
	// holds (0: no bound).
	Vocab int
}

// Open loads the data set src names for a model whose samples have
// features input values and outputs output values, trained with loss
// (which says what the targets are). Relative paths are relative to dir. The data set must
// fit: a CSV's float targets are outputs wide, an IDX file's images have
// features values and labels below outputs (which then is its number of
// classes).
func Open(src Source, dir string, features, outputs int, loss ir.Loss) (*Dataset, error) {
	classes := outputs
	switch src.Kind {
	case "random":
		if loss == ir.CrossEntropy && src.Classes > 0 {
			classes = src.Classes
		}
		return Random(src.Samples, features, classes, loss, src.Seed)
	case "csv":
		opt := CSVOptions{Target: src.Target, TargetIndex: src.TargetIndex, Header: src.Header, Loss: loss, Features: features}
		if loss == ir.CrossEntropy {
			opt.Classes = classes
		}
		ds, err := LoadCSV(Resolve(dir, src.Path), opt)
		if err != nil {
			return nil, err
		}
		if loss != ir.CrossEntropy && ds.TargetWidth != outputs {
			return nil, fmt.Errorf("%s: %d target column(s), the model outputs %d values per sample", src.Path, ds.TargetWidth, outputs)
		}
		return ds, nil
	case "idx":
		return openIDX(Resolve(dir, src.Images), Resolve(dir, src.Labels), features, outputs, loss)
	case "text":
		if loss != ir.CrossEntropy {
			return nil, fmt.Errorf("text: the next character is a class: train it with cross_entropy")
		}
		return LoadText(Resolve(dir, src.Path), TextOptions{Seq: features, Vocab: src.Vocab})
	case "mnist":
		images, labels, err := MNIST(src.Split)
		if err != nil {
			return nil, err
		}
		return openIDX(images, labels, features, outputs, loss)
	}
	return nil, fmt.Errorf("unknown data source %s", src.Kind)
}

func openIDX(images, labels string, features, outputs int, loss ir.Loss) (*Dataset, error) {
	if loss != ir.CrossEntropy {
		return nil, fmt.Errorf("IDX data has class labels: train it with cross_entropy")
	}
	ds, err := LoadIDX(images, labels)
	if err != nil {
		return nil, err
	}
	if ds.Features != features {
		return nil, fmt.Errorf("%s holds samples of %d values, the model's input takes %d", images, ds.Features, features)
	}
	if ds.Classes > outputs {
		return nil, fmt.Errorf("%s holds labels up to %d, the model scores %d classes", labels, ds.Classes-1, outputs)
	}
	ds.Classes = outputs
	return ds, nil
}

// Resolve returns path, relative to dir when it is not absolute.
func Resolve(dir, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// SameClasses renumbers the class labels of test, a CSV whose target
// column holds names, after the classes of train: each file numbers its
// own sorted names, which differ when the test set lacks a class. A test
// class that the training data does not have is an error.
func SameClasses(test, train *Dataset) error {
	if test.ClassNames == nil || train.ClassNames == nil || slices.Equal(test.ClassNames, train.ClassNames) {
		return nil
	}
	ids := make([]int32, len(test.ClassNames))
	for k, name := range test.ClassNames {
		i := slices.Index(train.ClassNames, name)
		if i < 0 {
			return fmt.Errorf("%s: class %q does not occur in the training data %s (its classes are %s)", test.Name, name, train.Name, strings.Join(train.ClassNames, ", "))
		}
		ids[k] = int32(i)
	}
	for i, l := range test.Labels {
		test.Labels[i] = ids[l]
	}
	test.ClassNames = train.ClassNames
	return nil
}
