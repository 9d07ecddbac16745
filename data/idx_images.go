package data

import "path/filepath"

// LoadIDXImages reads images without labels from an IDX file, as inputs to
// predict on: like LoadIDX, the file may be gzip-compressed, pixels are
// scaled to [0, 1] and each image is one row of rows*cols features. The
// data set has no targets, and its Name is the file's base name.
func LoadIDXImages(path string) (*Dataset, error) {
	images, err := readIDXFile(path, idxImages)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{
		Name:     filepath.Base(path),
		N:        int(images.dims[0]),
		Features: int(images.dims[1]) * int(images.dims[2]),
		Pixels:   images.body,
	}
	return ds, nil
}
