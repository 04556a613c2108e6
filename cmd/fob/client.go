package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// client is what the client verbs share: where the API is and how to
// authenticate to it.
type client struct {
	base  string
	token string
	http  *http.Client
}

func clientFlags(fs *flag.FlagSet) (*string, *string) {
	api := fs.String("api", "http://127.0.0.1:9999", "fob API URL")
	token := fs.String("api-token", "", "API bearer token, if the API is secured")
	return api, token
}

func (c *client) do(ctx context.Context, method, path, contentType string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.base, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(out, &e) == nil && e.Error != "" {
			return out, fmt.Errorf("%s: %s", resp.Status, e.Error)
		}
		return out, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// newClient parses the verb's flags and builds a client.
func newClient(fs *flag.FlagSet, args []string) (*client, error) {
	api, token := clientFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	// FOB_API and FOB_API_TOKEN fill what the command line left out.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v, ok := os.LookupEnv("FOB_API"); ok && !set["api"] {
		*api = v
	}
	if v, ok := os.LookupEnv("FOB_API_TOKEN"); ok && !set["api-token"] {
		*token = v
	}
	return &client{base: *api, token: *token, http: &http.Client{Timeout: 15 * time.Minute}}, nil
}

// runGen registers the code in a file (or standard input with "-").
func runGen(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	lang := fs.String("lang", "", "language (default: from the file extension, else python)")
	name := fs.String("name", "", "optional unique name")
	wait := fs.Bool("wait", false, "wait until the function runs or fails to load")
	c, err := newClient(fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: fob gen [flags] FILE|-")
	}
	file := fs.Arg(0)
	var code []byte
	if file == "-" {
		code, err = io.ReadAll(os.Stdin)
	} else {
		code, err = os.ReadFile(file)
	}
	if err != nil {
		return err
	}
	if *lang == "" && strings.HasSuffix(file, ".js") {
		*lang = "node"
	}
	q := url.Values{}
	for k, v := range map[string]string{"lang": *lang, "name": *name} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *wait {
		q.Set("wait", "true")
	}
	out, err := c.do(ctx, http.MethodPost, "/api/gen?"+q.Encode(), "text/plain", code)
	if err != nil {
		return err
	}
	os.Stdout.Write(out)
	return nil
}

// runCall calls a function with name=value arguments (strings) or a JSON
// object (typed).
func runCall(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	body := fs.String("json", "", "parameters as a JSON object (typed values)")
	c, err := newClient(fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() < 1 {
		return errors.New("usage: fob call [--json '{...}'] ID|NAME [name=value ...]")
	}
	q := url.Values{}
	for _, kv := range fs.Args()[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("argument %q is not name=value", kv)
		}
		q.Add(k, v)
	}
	path := "/api/call/" + url.PathEscape(fs.Arg(0))
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	method := http.MethodGet
	if *body != "" {
		method = http.MethodPost
	}
	out, err := c.do(ctx, method, path, "application/json", []byte(*body))
	os.Stdout.Write(out)
	return err
}

// runList prints every function with its state.
func runList(ctx context.Context, args []string) error {
	c, err := newClient(flag.NewFlagSet("ls", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	out, err := c.do(ctx, http.MethodGet, "/api/functions", "", nil)
	if err != nil {
		return err
	}
	var list struct {
		Functions []struct {
			ID, Name, Language, State string
			Version                   uint64
			LastError                 string `json:"last_error"`
		} `json:"functions"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return fmt.Errorf("decode list: %w", err)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tLANG\tVERSION\tSTATE\tERROR")
	for _, f := range list.Functions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", f.ID, f.Name, f.Language, f.Version, f.State, firstLine(f.LastError))
	}
	return tw.Flush()
}

// runRemove deletes functions.
func runRemove(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rm", flag.ContinueOnError)
	c, err := newClient(fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: fob rm ID|NAME ...")
	}
	for _, ref := range fs.Args() {
		if _, err := c.do(ctx, http.MethodDelete, "/api/functions/"+url.PathEscape(ref), "", nil); err != nil {
			return fmt.Errorf("%s: %w", ref, err)
		}
		fmt.Println("removed", ref)
	}
	return nil
}

// runLogs prints the tail of a function's log, as text.
func runLogs(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	tail := fs.Int("tail", 100, "number of lines from each running instance")
	c, err := newClient(fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: fob logs [--tail N] ID|NAME")
	}
	path := fmt.Sprintf("/api/logs/%s?tail=%d&format=text", url.PathEscape(fs.Arg(0)), *tail)
	out, err := c.do(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	os.Stdout.Write(out)
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
