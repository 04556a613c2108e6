package agent

import (
	"archive/tar"
	"archive/zip"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// extract unpacks the archive name (a path inside root) into root when its
// extension is one the Mesos fetcher unpacks; other files are left alone.
// All writes go through root, so entries (or symlinks) that try to leave
// the sandbox fail instead of writing outside it.
func extract(root *os.Root, name string) error {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
		return withFile(root, name, func(f *os.File) error {
			zr, err := gzip.NewReader(f)
			if err != nil {
				return err
			}
			defer zr.Close()
			return untar(root, zr)
		})
	case strings.HasSuffix(lower, ".tar.bz2"), strings.HasSuffix(lower, ".tbz2"):
		return withFile(root, name, func(f *os.File) error { return untar(root, bzip2.NewReader(f)) })
	case strings.HasSuffix(lower, ".tar"):
		return withFile(root, name, func(f *os.File) error { return untar(root, f) })
	case strings.HasSuffix(lower, ".zip"):
		return withFile(root, name, func(f *os.File) error { return unzip(root, f) })
	case strings.HasSuffix(lower, ".gz"):
		return withFile(root, name, func(f *os.File) error {
			zr, err := gzip.NewReader(f)
			if err != nil {
				return err
			}
			defer zr.Close()
			return writeEntry(root, strings.TrimSuffix(name, filepath.Ext(name)), zr, 0o644)
		})
	}
	return nil
}

func withFile(root *os.Root, name string, fn func(*os.File) error) error {
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return fn(f)
}

func untar(root *os.Root, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeEntry(root, name, tr, hdr.FileInfo().Mode().Perm()); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := mkParent(root, name); err != nil {
				return err
			}
			if err := root.Symlink(hdr.Linkname, name); err != nil {
				return err
			}
		case tar.TypeLink:
			target, err := entryName(hdr.Linkname)
			if err != nil {
				return err
			}
			if err := mkParent(root, name); err != nil {
				return err
			}
			if err := root.Link(target, name); err != nil {
				return err
			}
		default:
			// Devices, fifos and the like have no place in a sandbox.
		}
	}
}

func unzip(root *os.Root, f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return fmt.Errorf("read zip: %w", err)
	}
	for _, zf := range zr.File {
		name, err := entryName(zf.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		mode := zf.Mode()
		if mode.IsDir() {
			if err := root.MkdirAll(name, 0o755); err != nil {
				return err
			}
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("read zip entry %s: %w", zf.Name, err)
		}
		if mode&os.ModeSymlink != 0 {
			target, rerr := io.ReadAll(io.LimitReader(rc, 4096))
			rc.Close()
			if rerr != nil {
				return rerr
			}
			if err := mkParent(root, name); err != nil {
				return err
			}
			if err := root.Symlink(string(target), name); err != nil {
				return err
			}
			continue
		}
		perm := mode.Perm()
		if perm == 0 {
			perm = 0o644
		}
		err = writeEntry(root, name, rc, perm)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func entryName(n string) (string, error) {
	clean := filepath.Clean(strings.TrimPrefix(n, "./"))
	if clean != "." && !filepath.IsLocal(clean) {
		return "", fmt.Errorf("archive entry %q leaves the sandbox", n)
	}
	return clean, nil
}

func mkParent(root *os.Root, name string) error {
	if dir := filepath.Dir(name); dir != "." {
		return root.MkdirAll(dir, 0o755)
	}
	return nil
}

func writeEntry(root *os.Root, name string, r io.Reader, perm os.FileMode) error {
	if err := mkParent(root, name); err != nil {
		return err
	}
	f, err := root.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return root.Chmod(name, perm)
}
