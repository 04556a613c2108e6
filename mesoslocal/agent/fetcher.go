package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// fetcher downloads CommandInfo.uris into a sandbox before the container
// starts, like the Mesos fetcher: http(s) URLs and local paths (plain or
// file://), renamed by output_file, made executable or unpacked. A local
// executable is hard-linked instead of copied where that is safe (see
// linkExecutable).
type fetcher struct {
	client  *http.Client
	timeout time.Duration
}

func newFetcher(timeout time.Duration) *fetcher {
	return &fetcher{
		client:  &http.Client{Transport: http.DefaultTransport},
		timeout: timeout,
	}
}

// fetchAll fetches every URI in order and stops at the first failure; the
// error names the URI so the task's failure message does.
func (f *fetcher) fetchAll(ctx context.Context, sandbox string, uris []mesos.CommandInfo_URI) error {
	if len(uris) == 0 {
		return nil
	}
	root, err := os.OpenRoot(sandbox)
	if err != nil {
		return fmt.Errorf("open sandbox: %w", err)
	}
	defer root.Close()
	for _, u := range uris {
		if err := f.fetch(ctx, root, u); err != nil {
			return fmt.Errorf("failed to fetch '%s': %w", u.Value, err)
		}
	}
	return nil
}

func (f *fetcher) fetch(ctx context.Context, root *os.Root, u mesos.CommandInfo_URI) error {
	src, base, err := f.open(ctx, u.Value)
	if err != nil {
		return err
	}
	defer src.Close()

	name := base
	if u.GetOutputFile() != "" {
		name = u.GetOutputFile()
	}
	name = filepath.Clean(name)
	if !filepath.IsLocal(name) {
		return fmt.Errorf("destination %q is outside the sandbox", name)
	}
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	// A file already there is replaced, never written through: it may be
	// a hard link to a host file that an earlier URI shared.
	if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replace %s: %w", name, err)
	}
	if local, ok := src.(*os.File); ok && u.GetExecutable() && linkExecutable(root, local, name) {
		return nil
	}
	mode := os.FileMode(0o644)
	if u.GetExecutable() {
		mode = 0o755
	}
	dst, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if u.GetExecutable() {
		// OpenFile's mode is filtered by the umask; the run bit must stick.
		return root.Chmod(name, 0o755)
	}
	// extract defaults to true; an executable is never unpacked.
	if u.Extract == nil || u.GetExtract() {
		if err := extract(root, name); err != nil {
			return fmt.Errorf("extract %s: %w", name, err)
		}
	}
	return nil
}

// open returns a reader for the URI and the file name it suggests.
func (f *fetcher) open(ctx context.Context, value string) (io.ReadCloser, string, error) {
	if !strings.Contains(value, "://") {
		return openLocal(value)
	}
	u, err := url.Parse(value)
	if err != nil {
		return nil, "", fmt.Errorf("parse uri: %w", err)
	}
	switch u.Scheme {
	case "file":
		return openLocal(u.Path)
	case "http", "https":
	default:
		return nil, "", fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	base := path.Base(u.Path)
	if base == "." || base == "/" {
		return nil, "", errors.New("cannot derive a file name from the uri; set output_file")
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, value, nil)
	if err != nil {
		cancel()
		return nil, "", fmt.Errorf("build request: %w", err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		cancel()
		return nil, "", fmt.Errorf("download: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		cancel()
		return nil, "", fmt.Errorf("download: HTTP %s", resp.Status)
	}
	return &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}, base, nil
}

func openLocal(p string) (io.ReadCloser, string, error) {
	if p == "" {
		return nil, "", errors.New("empty path")
	}
	fh, err := os.Open(p)
	if err != nil {
		return nil, "", fmt.Errorf("open local file: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, "", fmt.Errorf("stat local file: %w", err)
	}
	if st.IsDir() {
		fh.Close()
		return nil, "", fmt.Errorf("%s is a directory", p)
	}
	return fh, filepath.Base(p), nil
}

// cancelOnClose keeps a download's context alive until the body is read.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
