package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
)

// IDX files (the format of MNIST) start with a magic number whose third
// byte is the element type (0x08, unsigned byte, is the only one read here)
// and whose fourth is the number of dimensions, followed by each dimension
// as a big-endian uint32 and then the elements, row-major.
const (
	idxLabels = 0x00000801 // unsigned bytes, one dimension: labels
	idxImages = 0x00000803 // unsigned bytes, three dimensions: images
)

// LoadIDX reads a data set of images and class labels from two IDX files
// such as MNIST's: imagesPath holds N images of rows×cols unsigned bytes
// (IDX3), labelsPath N labels (IDX1). Either file may be gzip-compressed,
// which is detected by its first bytes, not its name. Pixels are scaled
// to [0, 1] (divided by 255) and each image is one row of rows*cols
// features. The data set has one class more than its largest label, and
// its Name is the base name of imagesPath.
//
// LoadIDX checks each header against the data that follows before
// allocating for it, so a corrupt header cannot make it allocate more than
// the file holds. Errors name the file, as in
//
//	train-images-idx3-ubyte.gz: truncated: header says 60000 images of 28x28, file holds 1234
func LoadIDX(imagesPath, labelsPath string) (*Dataset, error) {
	images, err := readIDXFile(imagesPath, idxImages)
	if err != nil {
		return nil, err
	}
	labels, err := readIDXFile(labelsPath, idxLabels)
	if err != nil {
		return nil, err
	}
	ds, err := idxDataset(images, labels)
	if err != nil {
		return nil, err
	}
	ds.Name = filepath.Base(imagesPath)
	return ds, nil
}

// idxData is the contents of an IDX file of unsigned bytes.
type idxData struct {
	name string   // the file, for messages
	dims []uint32 // from the header; dims[0] is the number of items
	body []byte   // the elements
}

// describe says what n items of d are: "60000 images of 28x28" or
// "60000 labels".
func (d *idxData) describe(n uint64) string {
	if len(d.dims) == 3 {
		return fmt.Sprintf("%d images of %dx%d", n, d.dims[1], d.dims[2])
	}
	return fmt.Sprintf("%d labels", n)
}

// readIDXFile reads the IDX file at path, which must have the given magic
// number.
func readIDXFile(path string, magic uint32) (*idxData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return readIDX(path, f, size, magic)
}

// readIDX reads an IDX file with the given magic number from r, which
// holds size bytes when size >= 0. The file called name may be
// gzip-compressed.
// maxIDXBytes bounds the data of one IDX file: a compressed file claims
// its size only in its header, and decompressing gigabytes that no model
// can hold helps nobody. MNIST's training images are 47 MB.
var maxIDXBytes uint64 = 8 << 30

func readIDX(name string, r io.Reader, size int64, magic uint32) (*idxData, error) {
	br := bufio.NewReader(r)
	if b, _ := br.Peek(2); len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, idxError(name, err)
		}
		defer zr.Close()
		r, size = zr, -1
	} else {
		r = br
	}

	kind := "label"
	if magic == idxImages {
		kind = "image"
	}
	ndim := int(magic & 0xff)
	header := make([]byte, 4+4*ndim)
	// The magic number is checked before the rest of the header is read,
	// so that a file of the wrong kind is reported as such even when it is
	// shorter than the header expected.
	if n, err := io.ReadFull(r, header[:4]); err != nil {
		if n == 0 && err == io.EOF {
			return nil, fmt.Errorf("%s: empty file", name)
		}
		return nil, headerError(name, n, len(header), err)
	}
	if got := binary.BigEndian.Uint32(header); got != magic {
		return nil, fmt.Errorf("%s: not an IDX %s file: magic number %#08x, want %#08x", name, kind, got, magic)
	}
	if n, err := io.ReadFull(r, header[4:]); err != nil {
		return nil, headerError(name, 4+n, len(header), err)
	}
	d := &idxData{name: name, dims: make([]uint32, ndim)}
	item := uint64(1) // bytes per item
	for i := range d.dims {
		d.dims[i] = binary.BigEndian.Uint32(header[4+4*i:])
		if i > 0 {
			item *= uint64(d.dims[i]) // at most two factors below 2³²: no overflow
		}
	}
	switch {
	case d.dims[0] == 0:
		return nil, fmt.Errorf("%s: no %ss", name, kind)
	case item == 0:
		return nil, fmt.Errorf("%s: %s are empty", name, d.describe(uint64(d.dims[0])))
	}
	hi, want := bits.Mul64(uint64(d.dims[0]), item)
	if hi != 0 || want > math.MaxInt {
		want = math.MaxInt // more than any file holds: reported as truncated below
	}

	var body bytes.Buffer
	if size >= 0 {
		if held := uint64(max(size-int64(len(header)), 0)); held < want {
			return nil, fmt.Errorf("%s: truncated: header says %s, file holds %d", name, d.describe(uint64(d.dims[0])), held/item)
		}
		body.Grow(int(want))
	}
	// Without a size, the buffer grows with the data that is there.
	if _, err := body.ReadFrom(io.LimitReader(r, int64(min(want, maxIDXBytes+1)))); err != nil && err != io.ErrUnexpectedEOF {
		return nil, idxError(name, err)
	}
	if uint64(body.Len()) > maxIDXBytes {
		return nil, fmt.Errorf("%s: header says %s: more than the %d bytes an IDX file may hold", name, d.describe(uint64(d.dims[0])), uint64(maxIDXBytes))
	}
	if held := uint64(body.Len()); held < want {
		return nil, fmt.Errorf("%s: truncated: header says %s, file holds %d", name, d.describe(uint64(d.dims[0])), held/item)
	}
	// Reading past the end also makes gzip verify its checksum.
	switch n, err := io.ReadFull(r, make([]byte, 1)); {
	case n > 0:
		return nil, fmt.Errorf("%s: header says %s, but the file holds more", name, d.describe(uint64(d.dims[0])))
	case err != io.EOF:
		return nil, idxError(name, err)
	}
	d.body = body.Bytes()
	return d, nil
}

// idxError reports err, met reading the file called name.
func idxError(name string, err error) error {
	if err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%s: truncated gzip data", name)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// headerError reports err, met after reading n bytes of a header of size
// bytes of the file called name.
func headerError(name string, n, size int, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%s: truncated header: %d of %d bytes", name, n, size)
	}
	return idxError(name, err)
}

// idxDataset pairs images with labels.
func idxDataset(images, labels *idxData) (*Dataset, error) {
	if images.dims[0] != labels.dims[0] {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels", images.name, images.dims[0], labels.name, labels.dims[0])
	}
	ds := &Dataset{
		Name:     images.name,
		N:        int(images.dims[0]),
		Features: int(images.dims[1]) * int(images.dims[2]),
		Pixels:   images.body,
		Labels:   make([]int32, len(labels.body)),
	}
	for i, b := range labels.body {
		ds.Labels[i] = int32(b)
		ds.Classes = max(ds.Classes, int(b)+1)
	}
	return ds, nil
}
