package rest

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestLinkRewriter(t *testing.T) {
	l := linkRewriter{prefix: "/api/v1/namespaces/ns/pods/https:web:443/proxy"}
	for _, tc := range []struct{ name, in, want string }{
		{"an absolute path moves under the proxy", `<a href="/rewriteme">test</a>`,
			`<a href="/api/v1/namespaces/ns/pods/https:web:443/proxy/rewriteme">test</a>`},
		{"a trailing slash stays", `<img src="/static/"/>`, `<img src="/api/v1/namespaces/ns/pods/https:web:443/proxy/static/"/>`},
		{"relative links and other hosts stay", `<a href="page.html">x</a><script src="https://cdn.example/x.js"></script>`,
			`<a href="page.html">x</a><script src="https://cdn.example/x.js"></script>`},
		{"everything else is left byte for byte", "<!DOCTYPE html>\n<P class=x>Hello <b>world</b>&amp; more<!-- c --></P>",
			"<!DOCTYPE html>\n<P class=x>Hello <b>world</b>&amp; more<!-- c --></P>"},
		{"query and fragment kept", `<form action="/submit?x=1#top"></form>`,
			`<form action="/api/v1/namespaces/ns/pods/https:web:443/proxy/submit?x=1#top"></form>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := l.html(strings.NewReader(tc.in), &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %s, want %s", out.String(), tc.want)
			}
		})
	}
}

func TestLinkRewriterResponses(t *testing.T) {
	l := linkRewriter{prefix: "/api/v1/namespaces/ns/services/web:http/proxy"}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = io.WriteString(zw, `<a href="/x">x</a>`)
	_ = zw.Close()
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Content-Encoding": {"gzip"}},
		Body: io.NopCloser(&zipped)}
	if err := l.response(resp); err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if want := `<a href="/api/v1/namespaces/ns/services/web:http/proxy/x">x</a>`; string(body) != want || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzipped page: got %q (encoding %q), want %q unencoded", body, resp.Header.Get("Content-Encoding"), want)
	}
	redirect := &http.Response{StatusCode: 302, Header: http.Header{"Location": {"/login"}}}
	if err := l.response(redirect); err != nil {
		t.Fatal(err)
	}
	if got, want := redirect.Header.Get("Location"), "/api/v1/namespaces/ns/services/web:http/proxy/login"; got != want {
		t.Errorf("redirect: got Location %q, want %q", got, want)
	}
	plain := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader(`<a href="/x">`))}
	_ = l.response(plain)
	if body, _ := io.ReadAll(plain.Body); string(body) != `<a href="/x">` {
		t.Errorf("text/plain was changed: %q", body)
	}
}
